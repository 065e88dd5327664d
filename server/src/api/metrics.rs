//! `GET /metrics`: Prometheus text exposition (format 0.0.4).

use super::AppState;
use crate::histogram::Snapshot;
use app::model::ServiceStatus;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use std::fmt::Write;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Bucket bounds for the lateness histogram, in seconds.
const LATENESS_BUCKETS: [f64; 12] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Bucket bounds for probe and store latencies, in seconds.
const LATENCY_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// A label value as the exposition format wants it.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// The sample lines of one histogram; `labels` is empty or `k="v",`.
fn histogram(out: &mut String, name: &str, labels: &str, snapshot: &Snapshot, bounds: &[f64]) {
    for bound in bounds {
        let count = snapshot.count_at_most(Duration::from_secs_f64(*bound));
        let _ = writeln!(out, "{name}_bucket{{{labels}le=\"{bound}\"}} {count}");
    }
    let total = snapshot.count();
    let _ = writeln!(out, "{name}_bucket{{{labels}le=\"+Inf\"}} {total}");
    let labels = labels.trim_end_matches(',');
    let braces = |l: &str| {
        if l.is_empty() {
            String::new()
        } else {
            format!("{{{l}}}")
        }
    };
    let _ = writeln!(
        out,
        "{name}_sum{} {}",
        braces(labels),
        snapshot.sum().as_secs_f64()
    );
    let _ = writeln!(out, "{name}_count{} {total}", braces(labels));
}

pub async fn prometheus(State(state): State<AppState>) -> impl IntoResponse {
    let mut out = String::with_capacity(4096);
    header(
        &mut out,
        "hale_scheduler_lateness_seconds",
        "histogram",
        "Actual minus planned start of each probe.",
    );
    histogram(
        &mut out,
        "hale_scheduler_lateness_seconds",
        "",
        &state.scheduler.lateness.snapshot(),
        &LATENESS_BUCKETS,
    );

    header(
        &mut out,
        "hale_scheduled_services",
        "gauge",
        "Services the scheduler probes.",
    );
    let _ = writeln!(
        out,
        "hale_scheduled_services {}",
        state.scheduler.services.load(Ordering::Relaxed)
    );

    header(
        &mut out,
        "hale_services",
        "gauge",
        "Configured services by status.",
    );
    for (status, count) in state.board.counts() {
        let _ = writeln!(out, "hale_services{{status=\"{status}\"}} {count}");
    }

    let views = state.board.views();
    header(
        &mut out,
        "hale_service_up",
        "gauge",
        "1 when a service is operational or degraded, 0 when down; absent while unknown.",
    );
    for view in &views {
        let up = match view.status {
            ServiceStatus::Operational | ServiceStatus::Degraded => 1,
            ServiceStatus::Down => 0,
            ServiceStatus::Maintenance | ServiceStatus::Unknown => continue,
        };
        let _ = writeln!(
            out,
            "hale_service_up{{service=\"{}\"}} {up}",
            label(&view.name)
        );
    }

    header(
        &mut out,
        "hale_probes_total",
        "counter",
        "Probes run in this process, by service and outcome.",
    );
    let counters: Vec<_> = views
        .iter()
        .filter_map(|v| state.probes.get(&v.name).map(|c| (label(&v.name), c)))
        .collect();
    for (name, c) in &counters {
        let _ = writeln!(
            out,
            "hale_probes_total{{service=\"{name}\",outcome=\"success\"}} {}",
            c.successes.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "hale_probes_total{{service=\"{name}\",outcome=\"failure\"}} {}",
            c.failures.load(Ordering::Relaxed)
        );
    }
    header(
        &mut out,
        "hale_probe_duration_seconds",
        "histogram",
        "Probe latency, by service.",
    );
    for (name, c) in &counters {
        histogram(
            &mut out,
            "hale_probe_duration_seconds",
            &format!("service=\"{name}\","),
            &c.latency.snapshot(),
            &LATENCY_BUCKETS,
        );
    }

    header(
        &mut out,
        "hale_store_write_seconds",
        "histogram",
        "Time to store one batch of probe results.",
    );
    histogram(
        &mut out,
        "hale_store_write_seconds",
        "",
        &state.writes.latency.snapshot(),
        &LATENCY_BUCKETS,
    );
    header(
        &mut out,
        "hale_store_written_results_total",
        "counter",
        "Probe results stored.",
    );
    let _ = writeln!(
        out,
        "hale_store_written_results_total {}",
        state.writes.rows.load(Ordering::Relaxed)
    );
    header(
        &mut out,
        "hale_store_write_failures_total",
        "counter",
        "Batch writes that failed (and were retried).",
    );
    let _ = writeln!(
        out,
        "hale_store_write_failures_total {}",
        state.writes.failures.load(Ordering::Relaxed)
    );
    if let Ok(bytes) = state.store.storage_bytes().await {
        header(
            &mut out,
            "hale_store_size_bytes",
            "gauge",
            "Bytes the history takes in the database.",
        );
        let _ = writeln!(
            out,
            "hale_store_size_bytes{{backend=\"{}\"}} {bytes}",
            state.store.backend()
        );
    }

    header(
        &mut out,
        "hale_websocket_clients",
        "gauge",
        "Connected live-page clients.",
    );
    let _ = writeln!(out, "hale_websocket_clients {}", state.hub.client_count());

    header(&mut out, "hale_build_info", "gauge", "Hale's version.");
    let _ = writeln!(
        out,
        "hale_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    );
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(label("x\ny"), "x\\ny");
    }
}
