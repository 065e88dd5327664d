//! The counters and histograms behind `/metrics`, with prometheus-client:
//! probes by service and outcome with their latency, the scheduler's
//! lateness and overruns, and the history writer's batches. Each is
//! registered once, in [`Telemetry::new`]; what is read off the board or
//! the store at scrape time is added by the handler (`api::metrics`).
//!
//! A histogram counts each value in the bucket it belongs to as it is
//! observed, so `le="0.005"` holds every probe of 5 ms or less. The
//! log-linear [`Histogram`](super::histogram::Histogram) beside them gives
//! quantiles (lateness p99 for the health API and benchmarks); it can't
//! give exact decimal buckets, which Prometheus users set alerts on.

use super::histogram::Histogram as Quantiles;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::time::Duration;

/// Bucket bounds for the lateness histogram, in seconds.
pub const LATENESS_BUCKETS: [f64; 12] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Bucket bounds for probe and store latencies, in seconds.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
enum Outcome {
    success,
    failure,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProbeLabels {
    service: String,
    outcome: Outcome,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServiceLabel {
    service: String,
}

type LatencyFamily = Family<ServiceLabel, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// Probes counted by service and outcome, with their latency.
#[derive(Clone, Debug)]
pub struct ProbeStats {
    probes: Family<ProbeLabels, Counter>,
    latency: LatencyFamily,
}

impl Default for ProbeStats {
    fn default() -> Self {
        ProbeStats {
            probes: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
        }
    }
}

impl ProbeStats {
    pub fn record(&self, service: &str, success: bool, latency: Duration) {
        let outcome = if success {
            Outcome::success
        } else {
            Outcome::failure
        };
        let service = service.to_string();
        self.latency
            .get_or_create(&ServiceLabel {
                service: service.clone(),
            })
            .observe(latency.as_secs_f64());
        let labels = ProbeLabels { service, outcome };
        if self.probes.get(&labels).is_none() {
            // Both series from a service's first probe, so a rate of
            // failures reads 0 rather than nothing before the first one.
            for outcome in [Outcome::success, Outcome::failure] {
                let _created = self.probes.get_or_create(&ProbeLabels {
                    service: labels.service.clone(),
                    outcome,
                });
            }
        }
        self.probes.get_or_create(&labels).inc();
    }

    /// Probes of `service` so far: (successes, failures).
    pub fn counts(&self, service: &str) -> (u64, u64) {
        let count = |outcome| {
            let labels = ProbeLabels {
                service: service.to_string(),
                outcome,
            };
            self.probes.get(&labels).map_or(0, |c| c.get())
        };
        (count(Outcome::success), count(Outcome::failure))
    }

    /// Forgets services no longer configured, so their series end.
    pub fn forget(&self, services: impl IntoIterator<Item = String>) {
        for service in services {
            for outcome in [Outcome::success, Outcome::failure] {
                self.probes.remove(&ProbeLabels {
                    service: service.clone(),
                    outcome,
                });
            }
            self.latency.remove(&ServiceLabel { service });
        }
    }
}

/// What the scheduler measures.
#[derive(Debug)]
pub struct SchedulerStats {
    /// Actual start minus when a probe could start (see `scheduler`), for
    /// quantiles.
    pub lateness: Quantiles,
    lateness_seconds: Histogram,
    overruns: Counter,
    /// Services being scheduled.
    pub services: std::sync::atomic::AtomicUsize,
}

impl Default for SchedulerStats {
    fn default() -> Self {
        SchedulerStats {
            lateness: Quantiles::default(),
            lateness_seconds: Histogram::new(LATENESS_BUCKETS),
            overruns: Counter::default(),
            services: Default::default(),
        }
    }
}

impl SchedulerStats {
    pub fn record_lateness(&self, lateness: Duration) {
        self.lateness.record(lateness);
        self.lateness_seconds.observe(lateness.as_secs_f64());
    }

    pub fn record_overrun(&self) {
        self.overruns.inc();
    }

    /// Probes that came due while the service's previous probe still ran.
    pub fn overruns(&self) -> u64 {
        self.overruns.get()
    }
}

/// How the history writer fares.
#[derive(Debug)]
pub struct WriteStats {
    /// Time per batch insert.
    latency: Histogram,
    rows: Counter,
    failures: Counter,
}

impl Default for WriteStats {
    fn default() -> Self {
        WriteStats {
            latency: latency_histogram(),
            rows: Counter::default(),
            failures: Counter::default(),
        }
    }
}

impl WriteStats {
    pub fn record_batch(&self, took: Duration, rows: Option<u64>) {
        self.latency.observe(took.as_secs_f64());
        match rows {
            Some(rows) => {
                self.rows.inc_by(rows);
            }
            None => {
                self.failures.inc();
            }
        }
    }

    pub fn rows(&self) -> u64 {
        self.rows.get()
    }

    pub fn failures(&self) -> u64 {
        self.failures.get()
    }
}

/// How the history roll-up fares.
#[derive(Debug, Default)]
pub struct RollupStats {
    /// Time per run, for quantiles.
    pub took: Quantiles,
    runs: Counter,
    failures: Counter,
}

impl RollupStats {
    pub fn record(&self, took: Duration, ok: bool) {
        self.took.record(took);
        self.runs.inc();
        if !ok {
            self.failures.inc();
        }
    }

    pub fn runs(&self) -> u64 {
        self.runs.get()
    }

    pub fn failures(&self) -> u64 {
        self.failures.get()
    }
}

/// Every counter and histogram, registered once.
pub struct Telemetry {
    pub registry: Registry,
}

impl Telemetry {
    pub fn new(
        probes: &ProbeStats,
        scheduler: &SchedulerStats,
        writes: &WriteStats,
        rollups: &RollupStats,
    ) -> Telemetry {
        let mut registry = Registry::default();
        registry.register(
            "hale_history_rollups",
            "Runs of the history roll-up",
            rollups.runs.clone(),
        );
        registry.register(
            "hale_history_rollup_failures",
            "Runs of the history roll-up that failed (and were retried)",
            rollups.failures.clone(),
        );
        registry.register(
            "hale_scheduler_lateness_seconds",
            "Start of each probe minus when it could start",
            scheduler.lateness_seconds.clone(),
        );
        registry.register(
            "hale_probe_overruns",
            "Probes that came due while the service's previous probe still ran",
            scheduler.overruns.clone(),
        );
        registry.register(
            "hale_probes",
            "Probes run in this process, by service and outcome",
            probes.probes.clone(),
        );
        registry.register(
            "hale_probe_duration_seconds",
            "Probe latency, by service",
            probes.latency.clone(),
        );
        registry.register(
            "hale_store_write_seconds",
            "Time to store one batch of probe results",
            writes.latency.clone(),
        );
        registry.register(
            "hale_store_written_results",
            "Probe results stored",
            writes.rows.clone(),
        );
        registry.register(
            "hale_store_write_failures",
            "Batch writes that failed (and were retried)",
            writes.failures.clone(),
        );
        Telemetry { registry }
    }

    /// The Prometheus text (format 0.0.4) of everything registered.
    pub fn encode(&self, out: &mut String) {
        prometheus_client::encoding::prometheus_text::encode(out, &self.registry)
            .expect("writing to a String never fails");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(probes: &ProbeStats) -> String {
        let telemetry = Telemetry::new(
            probes,
            &SchedulerStats::default(),
            &WriteStats::default(),
            &RollupStats::default(),
        );
        let mut out = String::new();
        telemetry.encode(&mut out);
        out
    }

    fn sample<'t>(text: &'t str, name_and_labels: &str) -> &'t str {
        text.lines()
            .find_map(|l| l.strip_prefix(name_and_labels)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("no {name_and_labels} in\n{text}"))
    }

    #[test]
    fn probes_are_counted_per_service_and_outcome() {
        let stats = ProbeStats::default();
        stats.record("api", true, Duration::from_millis(5));
        stats.record("api", false, Duration::from_millis(50));
        stats.record("web", true, Duration::from_millis(1));
        assert_eq!(stats.counts("api"), (1, 1));
        assert_eq!(stats.counts("db"), (0, 0));
        let text = text(&stats);
        assert_eq!(
            sample(
                &text,
                r#"hale_probes_total{service="api",outcome="failure"}"#
            ),
            "1"
        );
        assert_eq!(
            sample(&text, r#"hale_probe_duration_seconds_count{service="api"}"#),
            "2"
        );
    }

    #[test]
    fn a_probe_at_a_bucket_s_bound_or_inside_it_is_counted_in_it() {
        let stats = ProbeStats::default();
        // 4.5 ms straddles nothing: it is in le="0.005" (5 ms), and so is
        // exactly 5 ms; 5.001 ms is not.
        stats.record("api", true, Duration::from_micros(4_500));
        stats.record("api", true, Duration::from_millis(5));
        stats.record("api", true, Duration::from_micros(5_001));
        let text = text(&stats);
        let bucket = |le: &str| {
            sample(
                &text,
                &format!(r#"hale_probe_duration_seconds_bucket{{service="api",le="{le}"}}"#),
            )
            .to_string()
        };
        assert_eq!(bucket("0.005"), "2");
        assert_eq!(bucket("0.01"), "3");
        assert_eq!(bucket("+Inf"), "3");
    }

    #[test]
    fn label_values_are_escaped() {
        let stats = ProbeStats::default();
        stats.record("a\"b\\c\nd", true, Duration::from_millis(1));
        let text = text(&stats);
        assert!(text.contains(r#"service="a\"b\\c\nd""#), "{text}");
    }

    #[test]
    fn services_no_longer_configured_are_forgotten() {
        let stats = ProbeStats::default();
        stats.record("api", true, Duration::from_millis(1));
        stats.record("old", true, Duration::from_millis(1));
        stats.forget(["old".to_string()]);
        let text = text(&stats);
        assert!(!text.contains("old"), "{text}");
        assert!(text.contains(r#"service="api""#));
    }
}
