//! The HTTP surface: JSON endpoints, the WebSocket, and the Leptos pages.
//!
//! Handlers take the part of the state they use ([`LiveState`],
//! [`HistoryState`], [`OpsState`], [`PushState`], [`DiagnosticsState`]),
//! each cut from [`AppState`] with `FromRef`; every failure is an
//! [`ApiError`], a status with a JSON `{"error": …}`.

pub mod access;
pub mod accounts;
mod alerts;
pub mod clients;
mod details;
mod diagnostics;
mod health;
pub mod history;
mod metrics;
pub mod openapi;
pub mod page_cache;
mod pages;
mod push;
pub mod range;
pub mod reports;
pub mod serve;
pub mod site;
pub mod surface;
mod websocket;

pub use websocket::{serve_client, ClientEnd, ClientLimits, SnapshotFrames};

use crate::engine::board::StatusBoard;
use crate::engine::pipeline::Events;
use crate::engine::push::PushBoard;
use crate::live::hub::Hub;
use crate::ops::telemetry::{RollupStats, SchedulerStats, Telemetry};
use crate::probe::Prober;
use crate::store::{History, Store, StoreError};
use app::status_page::ssr::Snapshots;
use app::{shell, App};
use axum::extract::FromRef;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post, MethodRouter};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::sync::Arc;

/// Everything a request handler may need, in the parts handlers take.
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    /// Where the page's files are served from.
    pub site: site::Site,
    pub live: LiveState,
    pub history: HistoryState,
    pub ops: OpsState,
    pub push: PushState,
    pub diagnostics: DiagnosticsState,
    pub auth: AuthState,
    /// Status page renders, reused while the board is unchanged.
    pub pages: page_cache::PageCache,
}

/// The WebSocket's: the board to snapshot, the hub to follow.
#[derive(Clone)]
pub struct LiveState {
    pub board: Arc<StatusBoard>,
    pub hub: Hub,
    pub snapshots: SnapshotFrames,
    /// When a WebSocket client is given up on.
    pub client_limits: ClientLimits,
    /// Who a request is from, and how much each client may ask: its
    /// rate over every route, and its live connections.
    pub clients: clients::Clients,
}

/// The history APIs' and reports': what is configured, and the history.
#[derive(Clone)]
pub struct HistoryState {
    pub board: Arc<StatusBoard>,
    pub history: History,
    /// History reads run in turns (`surface::HistoryGate`).
    pub gate: surface::HistoryGate,
}

/// Health and `/metrics`: the store, and what the engine counts.
#[derive(Clone)]
pub struct OpsState {
    pub store: Arc<dyn Store>,
    pub board: Arc<StatusBoard>,
    pub hub: Hub,
    pub scheduler: Arc<SchedulerStats>,
    pub rollups: Arc<RollupStats>,
    /// The counters and histograms `/metrics` shows.
    pub telemetry: Arc<Telemetry>,
    /// Open connections and those refused (`serve`).
    pub connections: Arc<serve::ConnectionStats>,
    /// Requests and live connections refused per client (`clients`).
    pub clients: clients::Clients,
    pub started_at: DateTime<Utc>,
    /// Channels to test, and what alerting has sent (`/metrics`).
    pub alerting: Arc<crate::alert::Alerting>,
}

/// Push services: who expects which token, and where results go (the
/// pipeline refuses them once Hale is stopping).
#[derive(Clone)]
pub struct PushState {
    pub board: PushBoard,
    pub events: Events,
}

/// On-demand diagnostics: what they probe with, and who runs them.
#[derive(Clone)]
pub struct DiagnosticsState {
    pub board: Arc<StatusBoard>,
    pub prober: Arc<dyn Prober>,
    pub limits: crate::ops::diagnostics::Limits,
    /// Runs each anonymous client may start when diagnostics are public.
    pub public_runs: Arc<governor::DefaultKeyedRateLimiter<std::net::IpAddr>>,
}

impl DiagnosticsState {
    /// Three runs at once, then one every 20 s, per client.
    pub fn public_limiter() -> Arc<governor::DefaultKeyedRateLimiter<std::net::IpAddr>> {
        let quota = crate::auth::quota(3, std::time::Duration::from_secs(20));
        Arc::new(governor::DefaultKeyedRateLimiter::keyed(quota))
    }
}

/// Accounts, sessions, tokens and the audit log; the board, for who may
/// run diagnostics.
#[derive(Clone)]
pub struct AuthState {
    pub accounts: crate::auth::Accounts,
    pub board: Arc<StatusBoard>,
}

macro_rules! sub_states {
    ($($field:ident: $kind:ty),* $(,)?) => {
        $(impl FromRef<AppState> for $kind {
            fn from_ref(state: &AppState) -> Self {
                state.$field.clone()
            }
        })*
    };
}

sub_states! {
    leptos_options: LeptosOptions,
    live: LiveState,
    history: HistoryState,
    ops: OpsState,
    push: PushState,
    diagnostics: DiagnosticsState,
    auth: AuthState,
}

pub fn router(state: AppState) -> Router {
    let snapshots = Snapshots(Arc::new(pages::BoardPages(state.live.board.clone())));
    let details = app::detail_page::ssr::Details(Arc::new(details::Details {
        board: state.history.board.clone(),
        history: state.history.history.clone(),
    }));
    let options = state.leptos_options.clone();
    // Leptos reads the lazy islands' chunks from the site on disk, to ask
    // browsers to preload them; an embedded site gives them here.
    let chunks = match &state.site {
        site::Site::Embedded(embedded) => embedded.split_manifest().map(|chunks| {
            leptos::WasmSplitManifest(ArcStoredValue::new((
                format!("/{}", embedded.pkg_dir()),
                chunks,
                "__wasm_split.______________________.js".to_string(),
            )))
        }),
        site::Site::Disk(_) => None,
    };
    api_router(&state)
        .leptos_routes_with_context(
            &state,
            generate_route_list(App),
            move || {
                provide_context(snapshots.clone());
                provide_context(details.clone());
                if let Some(chunks) = &chunks {
                    provide_context(chunks.clone());
                }
            },
            move || shell(options.clone()),
        )
        .route(
            "/api/{*rest}",
            any(|| async { ApiError::NotFound("no such API endpoint".into()) }),
        )
        .merge(site_files(&state.site))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            page_cache::status_pages,
        ))
        // Who is signed in, for the account pages' renders.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            access::account_pages,
        ))
        .layer(sessions(&state))
        // Every route: a deadline, the global cap on requests in flight
        // (shedding past it), and a body limit for the extractors.
        .layer(
            tower::ServiceBuilder::new()
                .layer(axum::error_handling::HandleErrorLayer::new(
                    surface::overloaded,
                ))
                .layer(tower::load_shed::LoadShedLayer::new())
                .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
                    surface::MAX_IN_FLIGHT,
                ))
                .layer(tower_http::timeout::TimeoutLayer::with_status_code(
                    StatusCode::SERVICE_UNAVAILABLE,
                    surface::REQUEST_TIMEOUT,
                )),
        )
        .layer(axum::extract::DefaultBodyLimit::max(surface::MAX_BODY))
        // Outside the in-flight cap: a client over its rate takes no slot.
        .layer(axum::middleware::from_fn_with_state(
            state.live.clients.clone(),
            clients::rate_limit,
        ))
        .layer(axum::middleware::from_fn(surface::json_errors))
        .layer(axum::middleware::from_fn(surface::security_headers))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// Sessions kept in Hale's database, their cookie HttpOnly and
/// SameSite=Strict (Secure with `--secure-cookies`), lasting
/// `--session-lifetime` from sign-in. A request without the cookie costs
/// nothing: sessions are read only when a handler asks.
fn sessions(
    state: &AppState,
) -> tower_sessions::SessionManagerLayer<crate::auth::sessions::DbSessions> {
    let rules = &state.auth.accounts.rules;
    let lifetime =
        time::Duration::try_from(rules.session_lifetime).unwrap_or(time::Duration::hours(12));
    tower_sessions::SessionManagerLayer::new(state.auth.accounts.sessions())
        .with_name(if rules.secure_cookies {
            "__Host-hale_session"
        } else {
            "hale_session"
        })
        .with_http_only(true)
        .with_same_site(tower_sessions::cookie::SameSite::Strict)
        .with_secure(rules.secure_cookies)
        .with_path("/")
        .with_expiry(tower_sessions::Expiry::OnInactivity(lifetime))
}

/// The page's wasm, JS, CSS and chunks under `/pkg`, and the favicon:
/// the binary's own (`site`), or a built site's on disk, where a release
/// build made with `--precompress` has .br and .gz beside each file, sent
/// to the browsers that take them (the favicon is then the fallback's).
fn site_files(files: &site::Site) -> Router<AppState> {
    match files {
        site::Site::Embedded(embedded) => {
            let serve = get(site::serve_embedded).with_state(*embedded);
            embedded
                .root_files()
                .fold(Router::new(), |router, file| {
                    router.route(&format!("/{file}"), serve.clone())
                })
                .route("/pkg/{*file}", serve)
        }
        site::Site::Disk(root) => Router::new().nest_service(
            "/pkg",
            tower::ServiceBuilder::new()
                .layer(axum::middleware::map_response(surface::missing_file))
                .layer(axum::middleware::map_response(vary_on_encoding))
                .service(
                    tower_http::services::ServeDir::new(std::path::Path::new(root).join("pkg"))
                        .precompressed_br()
                        .precompressed_gzip(),
                ),
        ),
    }
}

/// One route of the API: its path, method, who may call it, and its
/// handler.
pub struct Route {
    pub path: &'static str,
    pub method: axum::http::Method,
    pub access: access::Access,
    handler: MethodRouter<AppState>,
}

/// Every route but the pages' (`generate_route_list(App)`) and the
/// files under `/pkg`, with who may call it: the router is built from
/// this list, and the route walks in `tests/api/surface.rs` and
/// `tests/api/roles.rs` read it, so no route escapes them.
pub fn routes() -> Vec<Route> {
    use access::Access::{self, Diagnostics, Needs, Public};
    use axum::http::Method;
    use axum::routing::delete;
    use wire::account::Role;
    let route = |path, method, access, handler| Route {
        path,
        method,
        access,
        handler,
    };
    let admin = Access::role(Role::Admin);
    let signed_in = Access::role(Role::Viewer);
    vec![
        route("/api/health", Method::GET, Public, get(health::health)),
        route("/api/health/live", Method::GET, Public, get(health::live)),
        route("/api/health/ready", Method::GET, Public, get(health::ready)),
        route(
            "/api/health/detailed",
            Method::GET,
            Public,
            get(health::detailed),
        ),
        route(
            "/api/websocket",
            Method::GET,
            Public,
            get(websocket::upgrade),
        ),
        route("/api/push/{token}", Method::GET, Public, get(push::get)),
        route("/api/push/{token}", Method::POST, Public, post(push::post)),
        route("/metrics", Method::GET, Public, get(metrics::prometheus)),
        route("/api/metrics", Method::GET, Public, get(history::metrics)),
        route(
            "/api/metrics/health",
            Method::GET,
            Public,
            get(history::health),
        ),
        route(
            "/api/metrics/{service}",
            Method::GET,
            Public,
            get(history::service_metrics),
        ),
        route(
            "/api/services/{name}/history",
            Method::GET,
            Public,
            get(history::service_history),
        ),
        route(
            "/api/services/{name}/days",
            Method::GET,
            Public,
            get(history::service_days),
        ),
        route(
            "/api/services/{name}/diagnostics",
            Method::POST,
            Diagnostics,
            post(diagnostics::run),
        ),
        route("/api/reports", Method::GET, Public, get(reports::report)),
        route(
            "/api/reports/schema",
            Method::GET,
            Public,
            get(reports::schema),
        ),
        route("/api/session", Method::GET, Public, get(accounts::who)),
        route(
            "/api/session",
            Method::POST,
            Public,
            post(accounts::sign_in),
        ),
        route(
            "/api/session",
            Method::DELETE,
            signed_in,
            delete(accounts::sign_out),
        ),
        route("/login", Method::POST, Public, post(accounts::sign_in_form)),
        route(
            "/logout",
            Method::POST,
            Public,
            post(accounts::sign_out_form),
        ),
        route("/api/users", Method::GET, admin, get(accounts::list_users)),
        route("/api/users", Method::POST, admin, post(accounts::add_user)),
        route(
            "/api/users/{name}",
            Method::DELETE,
            admin,
            delete(accounts::remove_user),
        ),
        route(
            "/api/tokens",
            Method::GET,
            admin,
            get(accounts::list_tokens),
        ),
        route(
            "/api/tokens",
            Method::POST,
            admin,
            post(accounts::add_token),
        ),
        route(
            "/api/tokens/{name}",
            Method::DELETE,
            admin,
            delete(accounts::remove_token),
        ),
        route(
            "/api/audit",
            Method::GET,
            Needs(crate::auth::Permission::AuditLog),
            get(accounts::audit),
        ),
        route("/api/alerts", Method::GET, signed_in, get(alerts::list)),
        route("/api/alerts/test", Method::POST, admin, post(alerts::test)),
        route(
            "/api/openapi.json",
            Method::GET,
            Public,
            get(openapi::serve),
        ),
    ]
}

/// The routes whose cost grows with the range asked for: they run in
/// turns (`surface::HistoryGate`).
const HISTORY_READS: &[&str] = &[
    "/api/metrics",
    "/api/metrics/health",
    "/api/metrics/{service}",
    "/api/services/{name}/history",
    "/api/services/{name}/days",
    "/api/reports",
];

/// The paths of [`routes`], as written (`{name}` for a parameter), once
/// each.
pub fn route_paths() -> Vec<&'static str> {
    let mut paths: Vec<&'static str> = Vec::new();
    for route in routes() {
        if !paths.contains(&route.path) {
            paths.push(route.path);
        }
    }
    paths
}

/// The router of [`routes`]: each route behind the guard of its access.
fn api_router(state: &AppState) -> Router<AppState> {
    let mut by_path: Vec<(&'static str, MethodRouter<AppState>)> = Vec::new();
    for route in routes() {
        let mut handler = route.handler;
        if HISTORY_READS.contains(&route.path) {
            handler = handler.route_layer(axum::middleware::from_fn_with_state(
                state.history.gate.clone(),
                surface::history_turn,
            ));
        }
        // Outermost: no one takes a turn before being let in.
        let guarded = handler.route_layer(axum::middleware::from_fn_with_state(
            (state.auth.clone(), route.access),
            access::guard,
        ));
        match by_path.iter_mut().find(|(path, _)| *path == route.path) {
            Some((_, methods)) => *methods = methods.clone().merge(guarded),
            None => by_path.push((route.path, guarded)),
        }
    }
    by_path
        .into_iter()
        .fold(Router::new(), |router, (path, methods)| {
            router.route(path, methods)
        })
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
    /// Too much work at once: 503 with `Retry-After: 1`.
    #[error("{0}")]
    Busy(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    /// No one, or no one known: 401 with `WWW-Authenticate: Bearer`.
    #[error("{0}")]
    Unauthorized(String),
    /// Someone who may not: 403.
    #[error("{0}")]
    Forbidden(String),
    /// A name already taken: 409.
    #[error("{0}")]
    Conflict(String),
    /// Something Hale asked of another server failed: 502.
    #[error("{0}")]
    Upstream(String),
    /// Too many requests: 429 with `Retry-After` (whole seconds, at
    /// least 1).
    #[error("{message}")]
    TooMany {
        message: String,
        retry_after: std::time::Duration,
    },
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

impl From<StoreError> for ApiError {
    /// A database that can't be reached is a 503 the client may retry; the
    /// error's text goes to the log only.
    fn from(error: StoreError) -> ApiError {
        match error {
            StoreError::Database(ref e) if unreachable(e) => {
                tracing::warn!(error = %error, "database unreachable");
                ApiError::Unavailable("the database is unavailable; try again shortly".into())
            }
            StoreError::Conflict(what) => ApiError::Conflict(what),
            other => ApiError::Internal(other.into()),
        }
    }
}

/// Whether a database error means the database can't be reached now, as
/// opposed to a query that failed.
fn unreachable(error: &sqlx::Error) -> bool {
    matches!(
        error,
        sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed
    )
}

/// The body of every error answer.
#[derive(serde::Serialize)]
struct ErrorBody<'a> {
    error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    parameter: Option<&'a str>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) | ApiError::BadParameter { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unavailable(_) | ApiError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Upstream(_) => StatusCode::BAD_GATEWAY,
            ApiError::TooMany { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(e) => {
                tracing::error!(error = ?e, "request failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let parameter = match &self {
            ApiError::BadParameter { parameter, .. } => Some(*parameter),
            _ => None,
        };
        let retry_after = match &self {
            ApiError::TooMany { retry_after, .. } => {
                Some(retry_after.as_secs_f64().ceil().max(1.0))
            }
            ApiError::Busy(_) => Some(1.0),
            _ => None,
        };
        let body = ErrorBody {
            error: self.to_string(),
            parameter,
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(seconds as u64),
            );
        }
        response
    }
}
