//! Values that validate must run: extreme values of every numeric key go
//! through `Config::parse` (what `hale validate` runs), and every config it
//! accepts is started and asked for everything that does arithmetic on
//! time (metrics, health, reports, a service's page, a push and the push
//! watchdog). Nothing may answer 500 or stop answering.

use crate::helpers::*;
use proptest::prelude::*;

/// Mostly a valid extreme of the key (its least and its most), sometimes
/// a value past them. Twelve keys and three cross-key rules (timeout within
/// the interval, critical at or above warning) refuse many cases anyway:
/// at 1 in 7 past values only about 9 % of cases ran, and one CI run in
/// twenty drew 32 refusals and failed. At 1 in 40 about 40 % run, so a run
/// that draws none is about one in twenty million.
fn key(valid: &'static [&'static str]) -> impl Strategy<Value = &'static str> {
    const PAST: &[&str] = &[
        "0",
        "-1",
        "32d",
        "3651d",
        "106751991167d",
        "18446744073709551615",
        "4294967296",
        "1001",
        "1.5",
        ".nan",
        ".inf",
    ];
    prop_oneof![
        39 => proptest::sample::select(valid),
        1 => proptest::sample::select(PAST),
    ]
}

fn durations(valid: &'static [&'static str]) -> impl Strategy<Value = &'static str> {
    key(valid)
}
fn rates() -> impl Strategy<Value = &'static str> {
    key(&["1e-300", "0.05", "1"])
}
fn counts() -> impl Strategy<Value = &'static str> {
    key(&["1", "1000"])
}

#[derive(Debug, Clone)]
struct Extremes {
    interval: &'static str,
    timeout: &'static str,
    grace: &'static str,
    push_interval: &'static str,
    degraded_latency: &'static str,
    degraded_error_rate: &'static str,
    failure_threshold: &'static str,
    success_threshold: &'static str,
    raw_retention: &'static str,
    hourly_retention: &'static str,
    warning: &'static str,
    critical: &'static str,
}

fn extremes() -> impl Strategy<Value = Extremes> {
    (
        (
            durations(&["1s", "31d"]),
            durations(&["1ms", "1s", "1h"]),
            durations(&["0", "31d"]),
            durations(&["1s", "31d"]),
            durations(&["1ms", "1h"]),
        ),
        (rates(), counts(), counts()),
        (
            durations(&["1h", "3650d"]),
            durations(&["1d", "3650d"]),
            rates(),
            rates(),
        ),
    )
        .prop_map(
            |(
                (interval, timeout, grace, push_interval, degraded_latency),
                (degraded_error_rate, failure_threshold, success_threshold),
                (raw_retention, hourly_retention, warning, critical),
            )| Extremes {
                interval,
                timeout,
                grace,
                push_interval,
                degraded_latency,
                degraded_error_rate,
                failure_threshold,
                success_threshold,
                raw_retention,
                hourly_retention,
                warning,
                critical,
            },
        )
}

impl Extremes {
    fn yaml(&self) -> String {
        format!(
            "history: {{raw_retention: {}, hourly_retention: {}, error_rate_warning: {}, error_rate_critical: {}}}
services:
  - {{name: web, url: '{{target}}/health', interval: {}, timeout: {}, degraded_latency: {}, degraded_error_rate: {}, failure_threshold: {}, success_threshold: {}}}
  - {{name: job, url: 'push://job-token-0123456789abcdef', interval: {}, grace: {}}}
status_pages:
  - {{slug: public, title: Public, services: [web, job]}}
",
            self.raw_retention,
            self.hourly_retention,
            self.warning,
            self.critical,
            self.interval,
            self.timeout,
            self.degraded_latency,
            self.degraded_error_rate,
            self.failure_threshold,
            self.success_threshold,
            self.push_interval,
            self.grace,
        )
    }
}

/// What validation said of each case, to show the property ran both ways.
#[derive(Default)]
struct Tally {
    accepted: usize,
    refused: usize,
}

async fn exercise(yaml: &str) -> bool {
    let config = server::config::Config::parse(
        &yaml.replace("{target}", "http://127.0.0.1:9"),
        std::path::Path::new("extreme.yaml"),
        |_| None,
    );
    if let Err(e) = config {
        // Refused with a located error, never a panic.
        assert!(
            e.issues.iter().all(|i| i.line.is_some()),
            "an issue without a line: {e}"
        );
        return false;
    }
    let app = spawn_app(Backend::Sqlite, yaml).await;
    let paths = [
        "/api/metrics",
        "/api/metrics?window=90d",
        "/api/metrics/health",
        "/api/metrics/web",
        "/api/metrics/job",
        "/api/reports",
        "/api/reports?window=90d&format=csv",
        "/api/services/web/history?resolution=day&window=90d",
        "/services/web",
        "/status/public",
        "/",
    ];
    for path in paths {
        let status = app.get(path).await.status();
        assert!(
            status.as_u16() < 500,
            "{path} answered {status} for\n{yaml}"
        );
    }
    // Twice: a push that panicked while holding the board's lock would
    // poison it for every later one. (The watchdog's own arithmetic at
    // the largest values is `engine::push`'s unit test, in paused time.)
    for _ in 0..2 {
        let pushed = app
            .http
            .post(format!("{}/api/push/job-token-0123456789abcdef", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(pushed.status(), 200, "a push for\n{yaml}");
    }
    app.hale.shutdown().await;
    true
}

#[test]
fn extreme_values_are_refused_at_load_or_run_without_a_panic() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let tally = std::cell::RefCell::new(Tally::default());
    let config = ProptestConfig {
        cases: 32,
        ..ProptestConfig::default()
    };
    proptest!(config, |(extremes in extremes())| {
        let accepted = runtime.block_on(exercise(&extremes.yaml()));
        let mut tally = tally.borrow_mut();
        if accepted { tally.accepted += 1 } else { tally.refused += 1 }
    });
    // Both ways, with the plainest values run too.
    let plain = Extremes {
        interval: "31d",
        timeout: "1h",
        grace: "31d",
        push_interval: "31d",
        degraded_latency: "1h",
        degraded_error_rate: "1",
        failure_threshold: "1000",
        success_threshold: "1000",
        raw_retention: "3650d",
        hourly_retention: "3650d",
        warning: "1e-300",
        critical: "1",
    };
    assert!(
        runtime.block_on(exercise(&plain.yaml())),
        "the largest values all valid run"
    );
    let tally = tally.into_inner();
    assert!(tally.refused > 0, "some extreme values must be refused");
    assert!(tally.accepted > 0, "some extreme values must run");
}
