//! `GET /api/alerts`: every alert's messages to channels and how their
//! delivery went, newest first (docs/api.md, "Alerts").

use super::accounts::{time, PageQuery};
use super::{ApiError, OpsState};
use crate::store::alerts::DeliveryRow;
use axum::extract::{Query, State};
use axum::Json;
use wire::alert::{AlertEntry, AlertPage};

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
