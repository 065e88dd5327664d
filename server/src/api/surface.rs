//! What every request is held to and every answer carries, whatever
//! route made it: limits on time, body and requests in flight; security
//! headers; and JSON errors under `/api/`.
//!
//! Both are layers on the whole router, so a route added later has them
//! without asking. The route walk in `tests/api/surface.rs` checks every
//! route of the router against them.

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{self, HeaderName, HeaderValue};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// The longest error body read to be wrapped as JSON: axum's rejections
/// are a line.
const MAX_ERROR_TEXT: usize = 4 * 1024;

/// The policy of answers that are not pages, made once.
static NO_NONCE_POLICY: std::sync::LazyLock<HeaderValue> = std::sync::LazyLock::new(|| {
    HeaderValue::from_str(&app::content_security_policy(None)).expect("the policy is ASCII")
});

/// Headers every answer carries unless its handler set its own.
/// Pages set their own Content-Security-Policy, naming their scripts'
/// nonce (`app::shell`); other answers get it without one.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let set = |headers: &mut axum::http::HeaderMap, name: HeaderName, value: &'static str| {
        headers
            .entry(name)
            .or_insert_with(|| HeaderValue::from_static(value));
    };
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    // Nobody frames a status page's buttons (clickjacking): the CSP's
    // frame-ancestors for browsers that read it, X-Frame-Options for
    // those that don't.
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::REFERRER_POLICY, "same-origin");
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(header::CONTENT_SECURITY_POLICY, NO_NONCE_POLICY.clone());
    }
    response
}

/// Error answers under `/api/` that are not JSON yet (axum's own
/// rejections are text, a 405 has no body) become
/// `{"error": "<their text>"}`, so every API error has the one shape
/// docs/api.md documents.
pub async fn json_errors(request: Request, next: Next) -> Response {
    let api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !api || !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_ERROR_TEXT)
        .await
        .ok()
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| default_text(status));
    let mut answer = (status, Json(serde_json::json!({ "error": text }))).into_response();
    // Keep what the answer said besides its body (Allow, Retry-After, …).
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            answer.headers_mut().entry(name).or_insert(value.clone());
        }
    }
    answer
}

fn default_text(status: StatusCode) -> String {
    match status {
        StatusCode::METHOD_NOT_ALLOWED => "method not allowed".into(),
        other => other
            .canonical_reason()
            .unwrap_or("request failed")
            .to_lowercase(),
    }
}

/// A file under `/pkg` that can't be read (a name too long for the file
/// system, say) is not there: 404, not 500.
pub async fn missing_file(mut response: Response<Body>) -> Response<Body> {
    if response.status() == StatusCode::INTERNAL_SERVER_ERROR {
        *response.status_mut() = StatusCode::NOT_FOUND;
        *response.body_mut() = Body::empty();
        response.headers_mut().remove(header::CONTENT_LENGTH);
    }
    response
}

/// A request's handler may run this long (a diagnostics run of 20
/// samples 5 s apart is the longest; a loop of them is held by the
/// concurrency limit); then 503.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(150);
/// The largest request body any route reads.
pub const MAX_BODY: usize = 64 * 1024;
/// Requests being handled at once, over every route; past it, 503 at
/// once rather than a queue. (A WebSocket holds one only while it is
/// being upgraded.)
pub const MAX_IN_FLIGHT: usize = 1_024;

/// What a request shed by the in-flight cap (or failed in the layers)
/// is answered.
pub async fn overloaded(error: tower::BoxError) -> Response {
    let message = if error.is::<tower::load_shed::error::Overloaded>() {
        "Hale is busy; try again shortly".to_string()
    } else {
        tracing::error!(%error, "a request failed in the layers");
        "request failed".to_string()
    };
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, HeaderValue::from_static("1"))],
        Json(serde_json::json!({ "error": message })),
    )
        .into_response()
}

/// Whether a browser's `Origin` is the host it connects to (`Host`, or
/// `X-Forwarded-Host` behind a proxy). Clients that are not browsers send
/// no `Origin` and are let in.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Some(origin) = origin.to_str().ok().and_then(|o| url::Url::parse(o).ok()) else {
        return false;
    };
    let Some(host) = origin.host_str() else {
        return false;
    };
    let origin_host = match origin.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    };
    ["host", "x-forwarded-host"]
        .into_iter()
        .filter_map(|name| headers.get(name)?.to_str().ok())
        .any(|h| h.trim().eq_ignore_ascii_case(&origin_host))
}

/// History reads over long ranges (reports, metrics, a service's history)
/// cost CPU in proportion to the range: at most [`HistoryGate::new`]'s
/// count run at once, so a loop of such requests can't take every core
/// from the probes. One waits up to [`HISTORY_WAIT`] for its turn, then is
/// answered 503 with Retry-After.
#[derive(Clone)]
pub struct HistoryGate(std::sync::Arc<tokio::sync::Semaphore>);

/// How long a history read waits for its turn.
pub const HISTORY_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

impl HistoryGate {
    /// Half the cores (at least one) for history reads at once.
    pub fn new() -> HistoryGate {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        HistoryGate::of((cores / 2).max(1))
    }

    pub fn of(at_once: usize) -> HistoryGate {
        HistoryGate(std::sync::Arc::new(tokio::sync::Semaphore::new(at_once)))
    }

    /// A turn, or 503 once `wait` has passed.
    pub async fn enter(
        &self,
        wait: std::time::Duration,
    ) -> Result<tokio::sync::OwnedSemaphorePermit, super::ApiError> {
        match tokio::time::timeout(wait, self.0.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(super::ApiError::Busy(
                "history reads are busy; try again shortly".into(),
            )),
        }
    }
}

impl Default for HistoryGate {
    fn default() -> Self {
        HistoryGate::new()
    }
}

/// Runs a history read in its turn ([`HistoryGate`]).
pub async fn history_turn(
    axum::extract::State(gate): axum::extract::State<HistoryGate>,
    request: Request,
    next: Next,
) -> Response {
    match gate.enter(HISTORY_WAIT).await {
        Ok(_permit) => next.run(request).await,
        Err(busy) => busy.into_response(),
    }
}

#[cfg(test)]
mod gate_tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_history_read_waits_its_turn_then_is_refused() {
        let gate = HistoryGate::of(1);
        let held = gate.enter(HISTORY_WAIT).await.unwrap();
        let started = tokio::time::Instant::now();
        let refused = gate.enter(HISTORY_WAIT).await.unwrap_err();
        assert_eq!(started.elapsed(), HISTORY_WAIT);
        let response = refused.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().contains_key(header::RETRY_AFTER));
        // Its turn comes when the one before it ends.
        let waiting = tokio::spawn({
            let gate = gate.clone();
            async move { gate.enter(HISTORY_WAIT).await.is_ok() }
        });
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        drop(held);
        assert!(waiting.await.unwrap());
    }
}
