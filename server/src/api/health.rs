//! `/api/health` and friends.

use super::OpsState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// A store that takes longer than this to answer counts as unreachable.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

struct DatabaseCheck {
    healthy: bool,
    latency: Duration,
    error: Option<String>,
}

async fn check_database(state: &OpsState) -> DatabaseCheck {
    let started = Instant::now();
    let outcome = tokio::time::timeout(PING_TIMEOUT, state.store.ping()).await;
    // The answer is public: the driver's own text (host names, users,
    // versions) goes to the log, the answer says what happened.
    let error = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health check: database unreachable");
            Some("the database refused or failed the check".to_string())
        }
        Err(_) => {
            tracing::warn!("health check: the database did not answer within {PING_TIMEOUT:?}");
            Some(format!("no answer within {PING_TIMEOUT:?}"))
        }
    };
    DatabaseCheck {
        healthy: error.is_none(),
        latency: started.elapsed(),
        error,
    }
}

fn word(healthy: bool) -> &'static str {
    if healthy {
        "healthy"
    } else {
        "unhealthy"
    }
}

fn code(healthy: bool) -> StatusCode {
    if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

/// `200 {"status":"healthy","database":"healthy"}`, or 503 when the store is
/// unreachable.
pub async fn health(State(state): State<OpsState>) -> (StatusCode, Json<Value>) {
    let db = check_database(&state).await;
    (
        code(db.healthy),
        Json(json!({ "status": word(db.healthy), "database": word(db.healthy) })),
    )
}

/// The process is up and serving (for liveness probes: no dependencies).
pub async fn live() -> Json<Value> {
    Json(json!({ "status": "alive" }))
}

/// Ready to serve traffic: the store answers.
pub async fn ready(State(state): State<OpsState>) -> (StatusCode, Json<Value>) {
    let db = check_database(&state).await;
    let body = if db.healthy {
        json!({ "status": "ready" })
    } else {
        json!({ "status": "not_ready", "reason": "database unreachable" })
    };
    (code(db.healthy), Json(body))
}

/// Everything an operator looks at first. Hale's version only for
/// someone signed in: to anyone else it would name the bugs to try.
pub async fn detailed(
    State(state): State<OpsState>,
    caller: super::access::Caller,
) -> (StatusCode, Json<Value>) {
    let db = check_database(&state).await;
    let now = crate::clock::now();
    let mut body = json!({
        "status": word(db.healthy),
        "started_at": state.started_at,
        "uptime_seconds": (now - state.started_at).num_seconds(),
        "database": {
            "status": word(db.healthy),
            "backend": state.store.backend(),
            "latency_ms": db.latency.as_secs_f64() * 1_000.0,
            "error": db.error,
        },
        "services": {
            "total": state.board.counts().values().sum::<usize>(),
            "by_status": state.board.counts(),
        },
        "websocket_clients": state.hub.client_count(),
        "scheduler": {
            "services": state.scheduler.services.load(std::sync::atomic::Ordering::Relaxed),
            "lateness": state.scheduler.lateness.snapshot().summary(),
            "overruns": state.scheduler.overruns(),
        },
    });
    if caller.0.is_some() {
        body["version"] = json!(env!("CARGO_PKG_VERSION"));
    }
    (code(db.healthy), Json(body))
}
