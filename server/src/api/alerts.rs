//! `GET /api/alerts`: every alert's messages to channels and how their
//! delivery went, newest first; `POST /api/alerts/test`: a test message
//! to a channel (docs/api.md, "Alerts").

use super::access::Caller;
use super::accounts::{time, ClientAddress, PageQuery};
use super::{ApiError, AuthState, OpsState};
use crate::store::alerts::DeliveryRow;
use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use wire::alert::{AlertEntry, AlertPage, ChannelTested};

/// The state a message is in, as the answer names it.
fn state(d: &DeliveryRow) -> &'static str {
    match (d.delivered_at_ms, d.given_up_at_ms, d.attempts) {
        (Some(_), _, _) => "delivered",
        (None, Some(_), _) => "failed",
        (None, None, 0) => "pending",
        (None, None, _) => "retrying",
    }
}

/// `GET /api/alerts[?before=ID&limit=N]`: 100 a page (at most 1,000).
pub async fn list(
    State(ops): State<OpsState>,
    Query(query): Query<PageQuery>,
) -> Result<Json<AlertPage>, ApiError> {
    let (before, limit) = query.parse()?;
    let rows = ops.store.alerts().deliveries(before, limit).await?;
    let next_before = (rows.len() == limit as usize)
        .then(|| rows.last().map(|r| r.id))
        .flatten();
    let alerts = rows
        .iter()
        .map(|d| AlertEntry {
            id: d.id,
            at: time(d.created_at_ms),
            alert_id: d.alert.id,
            service: d.alert.service.clone(),
            rule: d.alert.rule.clone(),
            severity: d.alert.severity.clone(),
            channel: d.channel.clone(),
            event: d.event.clone(),
            state: state(d).into(),
            attempts: d.attempts,
            last_error: d.last_error.clone(),
            delivered_at: d.delivered_at_ms.map(time),
            next_attempt_at: d.due_at_ms.map(time),
        })
        .collect();
    Ok(Json(AlertPage {
        alerts,
        next_before,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestRequest {
    channel: String,
}

/// `POST /api/alerts/test` `{"channel": NAME}`: sends the channel a test
/// message now (not through the outbox), and says whether it arrived:
/// 200, or 502 with the channel's answer. Audit-logged.
pub async fn test(
    State(ops): State<OpsState>,
    State(auth): State<AuthState>,
    caller: Caller,
    client: ClientAddress,
    Json(request): Json<TestRequest>,
) -> Result<Json<ChannelTested>, ApiError> {
    let name = request.channel.trim();
    let Some(outcome) = ops.alerting.send_test(name).await else {
        let known: Vec<String> = ops
            .alerting
            .channels()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        return Err(ApiError::NotFound(if known.is_empty() {
            format!("no channel {name:?}: the config names none")
        } else {
            format!("no channel {name:?} (the config has {})", known.join(", "))
        }));
    };
    let detail = match &outcome {
        Ok(()) => "delivered".to_string(),
        Err(error) => format!("failed: {error}"),
    };
    auth.record(&caller, &client, "alert.test", name, &detail)
        .await;
    match outcome {
        Ok(()) => Ok(Json(ChannelTested {
            channel: name.to_string(),
            delivered: true,
        })),
        Err(error) => Err(ApiError::Upstream(format!(
            "the test message to {name:?} was not delivered: {error}"
        ))),
    }
}
