//! `POST /api/services/<name>/diagnostics[?count=N&interval=D]`

use super::access::Caller;
use super::accounts::ClientAddress;
use super::{ApiError, AuthState, DiagnosticsState};
use crate::duration::HumanDuration;
use crate::ops::diagnostics::{self, Busy};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
pub struct DiagnosticsQuery {
    pub count: Option<String>,
    pub interval: Option<String>,
}

use super::bad_parameter as bad;

pub async fn run(
    State(state): State<DiagnosticsState>,
    State(auth): State<AuthState>,
    caller: Caller,
    client: ClientAddress,
    Path(name): Path<String>,
    Query(query): Query<DiagnosticsQuery>,
) -> Result<Response, ApiError> {
    // Open to the public (`diagnostics: public`): each client a few runs.
    if caller.0.is_none() {
        if let Some(ip) = client.0 {
            if let Err(not_until) = state.public_runs.check_key(&ip) {
                let wait = not_until
                    .wait_time_from(governor::clock::Clock::now(state.public_runs.clock()));
                return Err(ApiError::TooMany {
                    message:
                        "diagnostics are public, three runs a minute per client; try again shortly"
                            .into(),
                    retry_after: wait,
                });
            }
        }
    }
    let service = state
        .board
        .config()
        .services
        .iter()
        .find(|s| s.name == name)
        .cloned()
        .ok_or_else(|| ApiError::NotFound(format!("no service named {name:?}")))?;
    if service.kind() == crate::probe::ProbeKind::Push {
        return Err(ApiError::BadRequest(format!(
            "{name:?} is a push service: Hale does not call it"
        )));
    }
    let count = match &query.count {
        None => diagnostics::DEFAULT_SAMPLES,
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=diagnostics::MAX_SAMPLES).contains(n))
            .ok_or_else(|| {
                bad(
                    "count",
                    format!(
                        "{text:?} is not a number of samples from 1 to {}",
                        diagnostics::MAX_SAMPLES
                    ),
                )
            })?,
    };
    let interval = match &query.interval {
        None => std::time::Duration::from_millis(500),
        Some(text) => text
            .parse::<HumanDuration>()
            .ok()
            .map(|d| d.0)
            .filter(|d| (diagnostics::MIN_INTERVAL..=diagnostics::MAX_INTERVAL).contains(d))
            .ok_or_else(|| {
                bad(
                    "interval",
                    format!("{text:?} is not a duration from 100ms to 5s"),
                )
            })?,
    };
    let _slot = match state.limits.claim(&name) {
        Ok(slot) => slot,
        Err(busy) => {
            let message = match busy {
                Busy::Service => format!("diagnostics of {name:?} are already running"),
                Busy::Everything => "too many diagnostics are running; try again shortly".into(),
            };
            return Ok((
                StatusCode::TOO_MANY_REQUESTS,
                Json(serde_json::json!({ "error": message })),
            )
                .into_response());
        }
    };
    auth.record(
        &caller,
        &client,
        "diagnostics.run",
        &name,
        &format!("{count} samples"),
    )
    .await;
    let diagnosis = diagnostics::diagnose(&service, &*state.prober, count, interval).await;
    Ok(Json(diagnostics::redact(diagnosis, &service)).into_response())
}
