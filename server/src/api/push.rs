//! `POST /api/push/<token>[?status=up|down&msg=…&ping=<ms>]`, and `GET`
//! for services with `allow_get: true`.

use super::{ApiError, PushState};
use crate::engine::push::{Method, Push, PushError};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::Json;
use serde_json::{json, Value};

type Answer = Result<Json<Value>, ApiError>;

pub async fn post(
    state: State<PushState>,
    token: Path<String>,
    query: Result<Query<Push>, QueryRejection>,
) -> Answer {
    push(state, token, Method::Post, query).await
}

pub async fn get(
    state: State<PushState>,
    token: Path<String>,
    query: Result<Query<Push>, QueryRejection>,
) -> Answer {
    push(state, token, Method::Get, query).await
}

async fn push(
    State(state): State<PushState>,
    Path(token): Path<String>,
    method: Method,
    query: Result<Query<Push>, QueryRejection>,
) -> Answer {
    let Query(push) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let received = state
        .board
        .receive(&token, method, push)
        .map_err(|e| match e {
            PushError::UnknownToken => ApiError::NotFound(e.to_string()),
            PushError::BadStatus(_) | PushError::BadPing(_) => ApiError::BadRequest(e.to_string()),
            PushError::GetNotAllowed => ApiError::MethodNotAllowed(e.to_string()),
            PushError::TooMany(retry_after) => ApiError::TooMany {
                message: e.to_string(),
                retry_after,
            },
        })?;
    let service = received.result.service.to_string();
    let truncated = received.truncated;
    let unavailable = || ApiError::Unavailable("hale is shutting down".into());
    state
        .events
        .result(received.result)
        .map_err(|_| unavailable())?;
    let mut answer = json!({ "ok": true, "service": service });
    if truncated {
        answer["truncated"] = json!(true);
    }
    Ok(Json(answer))
}
