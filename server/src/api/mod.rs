//! The HTTP surface: JSON endpoints, the WebSocket, and the Leptos pages.

mod diagnostics;
mod health;
pub mod history;
mod metrics;
pub mod page_cache;
mod push;
pub mod reports;
mod websocket;

pub use websocket::{frame, serve_client, ClientEnd, ClientLimits};

use crate::board::StatusBoard;
use crate::hub::Hub;
use crate::store::Store;
use app::status_page::ssr::Snapshots;
use app::{shell, App};
use axum::extract::FromRef;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::sync::Arc;

/// Everything a request handler may need.
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub store: Arc<dyn Store>,
    pub board: Arc<StatusBoard>,
    pub history: crate::history::query::History,
    pub hub: Hub,
    pub scheduler: Arc<crate::scheduler::SchedulerStats>,
    pub probes: Arc<crate::telemetry::ProbeStats>,
    pub writes: Arc<crate::telemetry::WriteStats>,
    /// What diagnostics probe with, and who is running them.
    pub prober: Arc<dyn crate::probe::Prober>,
    pub diagnostics: crate::diagnostics::Limits,
    pub push: crate::push::PushBoard,
    /// Where pushes go; weak so that shutdown can close the pipeline.
    pub results: tokio::sync::mpsc::WeakSender<crate::probe::ProbeResult>,
    pub started_at: DateTime<Utc>,
    /// When a WebSocket client is given up on.
    pub client_limits: websocket::ClientLimits,
    /// Status page renders, reused while the board is unchanged.
    pub pages: page_cache::PageCache,
    /// The WebSocket snapshot, likewise.
    pub snapshots: websocket::SnapshotFrames,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

pub fn router(state: AppState) -> Router {
    let snapshots = Snapshots(state.board.clone());
    let details = app::detail_page::ssr::Details(Arc::new(history::Details {
        board: state.board.clone(),
        history: state.history.clone(),
    }));
    let options = state.leptos_options.clone();
    Router::new()
        .route("/api/health", get(health::health))
        .route("/api/health/live", get(health::live))
        .route("/api/health/ready", get(health::ready))
        .route("/api/health/detailed", get(health::detailed))
        .route("/api/websocket", get(websocket::upgrade))
        .route("/api/push/{token}", get(push::push).post(push::push))
        .route("/metrics", get(metrics::prometheus))
        .route("/api/metrics", get(history::metrics))
        .route("/api/metrics/health", get(history::health))
        .route("/api/metrics/{service}", get(history::service_metrics))
        .route(
            "/api/services/{name}/history",
            get(history::service_history),
        )
        .route(
            "/api/services/{name}/diagnostics",
            axum::routing::post(diagnostics::run),
        )
        .route("/api/reports", get(reports::report))
        .route("/api/reports/schema", get(reports::schema))
        .leptos_routes_with_context(
            &state,
            generate_route_list(App),
            move || {
                provide_context(snapshots.clone());
                provide_context(details.clone());
            },
            move || shell(options.clone()),
        )
        .route(
            "/api/{*rest}",
            any(|| async { ApiError::NotFound("no such API endpoint".into()) }),
        )
        // The page's wasm, JS and CSS; a release build made with
        // `--precompress` has .br and .gz beside each file, sent to the
        // browsers that take them.
        .nest_service(
            "/pkg",
            tower::ServiceBuilder::new()
                .layer(axum::middleware::map_response(vary_on_encoding))
                .service(
                    tower_http::services::ServeDir::new(
                        std::path::Path::new(&*state.leptos_options.site_root)
                            .join(&*state.leptos_options.site_pkg_dir),
                    )
                    .precompressed_br()
                    .precompressed_gzip(),
                ),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            page_cache::status_pages,
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// Files sent precompressed differ by `Accept-Encoding`: caches in front
/// of Hale must keep them apart.
async fn vary_on_encoding<B>(mut response: Response<B>) -> Response<B> {
    response.headers_mut().insert(
        axum::http::header::VARY,
        axum::http::HeaderValue::from_static("accept-encoding"),
    );
    response
}

/// Errors an API handler returns: a status and a JSON `{"error": …}`.
/// The detail of server-side failures goes to the log, not the client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    /// A query parameter that can't be used, and why.
    #[error("{parameter}: {message}")]
    BadParameter {
        parameter: &'static str,
        message: String,
    },
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

/// A query parameter that can't be used: 400 naming it.
pub fn bad_parameter(parameter: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::BadParameter {
        parameter,
        message: message.into(),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) | ApiError::BadParameter { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(e) => {
                tracing::error!(error = ?e, "request failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let body = match &self {
            ApiError::BadParameter { parameter, .. } => {
                serde_json::json!({ "error": self.to_string(), "parameter": parameter })
            }
            _ => serde_json::json!({ "error": self.to_string() }),
        };
        (status, Json(body)).into_response()
    }
}
