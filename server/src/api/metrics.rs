//! `GET /metrics`: Prometheus text exposition (format 0.0.4).

use super::AppState;
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

pub async fn prometheus(State(state): State<AppState>) -> impl IntoResponse {
    let mut out = String::with_capacity(2048);
    let lateness = state.scheduler.lateness.snapshot();
    let _ = writeln!(
        out,
        "# HELP hale_scheduler_lateness_seconds Actual minus planned start of each probe."
    );
    let _ = writeln!(out, "# TYPE hale_scheduler_lateness_seconds histogram");
    for bound in LATENESS_BUCKETS {
        let count = lateness.count_at_most(Duration::from_secs_f64(bound));
        let _ = writeln!(
            out,
            "hale_scheduler_lateness_seconds_bucket{{le=\"{bound}\"}} {count}"
        );
    }
    let _ = writeln!(
        out,
        "hale_scheduler_lateness_seconds_bucket{{le=\"+Inf\"}} {}",
        lateness.count()
    );
    let _ = writeln!(
        out,
        "hale_scheduler_lateness_seconds_sum {}",
        lateness.sum().as_secs_f64()
    );
    let _ = writeln!(
        out,
        "hale_scheduler_lateness_seconds_count {}",
        lateness.count()
    );

    let _ = writeln!(
        out,
        "# HELP hale_scheduled_services Services the scheduler probes."
    );
    let _ = writeln!(out, "# TYPE hale_scheduled_services gauge");
    let _ = writeln!(
        out,
        "hale_scheduled_services {}",
        state.scheduler.services.load(Ordering::Relaxed)
    );

    let _ = writeln!(out, "# HELP hale_services Configured services by status.");
    let _ = writeln!(out, "# TYPE hale_services gauge");
    for (status, count) in state.board.counts() {
        let _ = writeln!(out, "hale_services{{status=\"{status}\"}} {count}");
    }

    let _ = writeln!(
        out,
        "# HELP hale_websocket_clients Connected live-page clients."
    );
    let _ = writeln!(out, "# TYPE hale_websocket_clients gauge");
    let _ = writeln!(out, "hale_websocket_clients {}", state.hub.client_count());

    let _ = writeln!(out, "# HELP hale_build_info Hale's version.");
    let _ = writeln!(out, "# TYPE hale_build_info gauge");
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
