//! `GET /metrics`: Prometheus text exposition (format 0.0.4), by
//! prometheus-client: the engine's counters and histograms
//! (`ops::telemetry`), then what is read off the board, the hub and the
//! store at scrape time.

use super::OpsState;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::Ordering;
use wire::ServiceStatus;

type Labelled = Family<Vec<(&'static str, String)>, Gauge>;

/// A gauge family with one sample per label value.
fn labelled(
    registry: &mut Registry,
    name: &str,
    help: &str,
    label: &'static str,
    samples: impl IntoIterator<Item = (String, i64)>,
) {
    let family = Labelled::default();
    for (value, sample) in samples {
        family.get_or_create(&vec![(label, value)]).set(sample);
    }
    registry.register(name, help, family);
}

/// A counter read off an atomic (`_total` is added to its name).
fn counter(registry: &mut Registry, name: &str, help: &str, value: u64) {
    registry.register(
        name,
        help,
        prometheus_client::metrics::counter::ConstCounter::new(value),
    );
}

fn gauge(registry: &mut Registry, name: &str, help: &str, value: i64) {
    let gauge: Gauge = Gauge::default();
    gauge.set(value);
    registry.register(name, help, gauge);
}

pub async fn prometheus(State(state): State<OpsState>) -> impl IntoResponse {
    let mut out = String::with_capacity(4096);
    state.telemetry.encode(&mut out);

    let mut now = Registry::default();
    gauge(
        &mut now,
        "hale_scheduled_services",
        "Services the scheduler probes",
        state.scheduler.services.load(Ordering::Relaxed) as i64,
    );
    labelled(
        &mut now,
        "hale_services",
        "Configured services by status",
        "status",
        state
            .board
            .counts()
            .into_iter()
            .map(|(status, n)| (status.to_string(), n as i64)),
    );
    labelled(
        &mut now,
        "hale_service_up",
        "1 when a service is operational or degraded, 0 when down; absent while unknown",
        "service",
        state.board.live_views().into_iter().filter_map(|view| {
            let up = match view.status {
                ServiceStatus::Operational | ServiceStatus::Degraded => 1,
                ServiceStatus::Down => 0,
                ServiceStatus::Maintenance | ServiceStatus::Unknown => return None,
            };
            Some((view.name, up))
        }),
    );
    if let Ok(bytes) = state.store.storage_bytes().await {
        labelled(
            &mut now,
            "hale_store_size_bytes",
            "Bytes the history takes in the database",
            "backend",
            [(
                state.store.backend().to_string(),
                i64::try_from(bytes).unwrap_or(i64::MAX),
            )],
        );
    }
    if let Ok(counts) = state.store.alerts().counts().await {
        let open = |severity: &str| {
            counts
                .open
                .iter()
                .find(|(s, _)| s == severity)
                .map_or(0, |(_, n)| *n)
        };
        labelled(
            &mut now,
            "hale_alerts_open",
            "Alerts firing now, by severity",
            "severity",
            ["critical", "warning"].map(|s| (s.to_string(), open(s))),
        );
        let messages = Labelled::default();
        for (channel, outcome, n) in counts.messages {
            messages
                .get_or_create(&vec![("channel", channel), ("outcome", outcome)])
                .set(n);
        }
        now.register(
            "hale_alert_messages",
            "Alert messages in the outbox by channel and outcome (delivered, queued, given_up)",
            messages,
        );
    }
    gauge(
        &mut now,
        "hale_websocket_clients",
        "Connected live-page clients",
        state.hub.client_count() as i64,
    );
    gauge(
        &mut now,
        "hale_http_connections",
        "Open HTTP connections (live pages included)",
        state.connections.open() as i64,
    );
    counter(
        &mut now,
        "hale_http_connections_refused",
        "Connections closed at once because every slot was taken",
        state.connections.refused.load(Ordering::Relaxed),
    );
    counter(
        &mut now,
        "hale_rate_limited_requests",
        "Requests answered 429 over their client's rate",
        state.clients.refused.requests.load(Ordering::Relaxed),
    );
    counter(
        &mut now,
        "hale_rate_limited_websockets",
        "Live connections refused over their client's cap",
        state.clients.refused.websockets.load(Ordering::Relaxed),
    );
    labelled(
        &mut now,
        "hale_build_info",
        "Hale's version",
        "version",
        [(env!("CARGO_PKG_VERSION").to_string(), 1)],
    );
    prometheus_text::encode(&mut out, &now).expect("writing to a String never fails");
    ([(header::CONTENT_TYPE, prometheus_text::CONTENT_TYPE)], out)
}
