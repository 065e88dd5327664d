//! `GET|POST /api/push/<token>[?status=up|down&msg=…&ping=<ms>]`

use super::{ApiError, PushState};
use crate::engine::push::{Push, PushError};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::Json;
use serde_json::{json, Value};

pub async fn push(
    State(state): State<PushState>,
    Path(token): Path<String>,
    query: Result<Query<Push>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(push) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let result = state.board.receive(&token, push).map_err(|e| match e {
        PushError::UnknownToken => ApiError::NotFound(e.to_string()),
        PushError::BadStatus(_) | PushError::BadPing(_) => ApiError::BadRequest(e.to_string()),
    })?;
    let service = result.service.to_string();
    let unavailable = || ApiError::Unavailable("hale is shutting down".into());
    state.events.result(result).map_err(|_| unavailable())?;
    Ok(Json(json!({ "ok": true, "service": service })))
}
