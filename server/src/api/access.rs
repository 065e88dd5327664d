//! Who may call what: each route of [`super::routes`] names its
//! [`Access`], and [`guard`] holds the route to it. The table of docs/api.md
//! ("Accounts and roles") is the same list, and the route walk in
//! `tests/api/roles.rs` calls every route as every role against it.
//!
//! A request is from an API token (`Authorization: Bearer`), a signed-in
//! browser (the session cookie), or no one. A browser's writes carry the
//! session's CSRF token in `X-CSRF-Token`, and, when the browser names
//! its `Origin`, come from Hale's own pages.

use super::{ApiError, AuthState};
use crate::auth::{Permission, Principal, CSRF_KEY};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use wire::account::Role;

/// What a route asks of whoever calls it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone.
    Public,
    /// Someone signed in, or a token, with this permission.
    Needs(Permission),
    /// Diagnostics: `health_checker`, unless the config opens them to the
    /// public (`diagnostics: public`).
    Diagnostics,
}

impl Access {
    pub const fn role(role: Role) -> Access {
        Access::Needs(Permission::Role(role))
    }

    /// As docs/api.md's table writes it.
    pub fn describe(self) -> String {
        match self {
            Access::Public => "public".into(),
            Access::Needs(Permission::Role(role)) => role.as_str().into(),
            Access::Needs(Permission::AuditLog) => "audit_log_viewer".into(),
            Access::Diagnostics => "health_checker (public with `diagnostics: public`)".into(),
        }
    }
}

/// The header a browser's writes carry the session's CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Who a request is from, worked out once (the guard's, or a public
/// handler's own asking) and kept in the request.
#[derive(Clone, Debug)]
pub struct Caller(pub Option<Principal>);

impl Caller {
    pub fn actor(&self) -> String {
        self.0
            .as_ref()
            .map_or_else(|| "anonymous".into(), Principal::actor)
    }
}

/// Works out who a request is from: an API token when it sends one (an
/// unknown or expired one is refused, never taken for no one), else its
/// session's account, else no one.
pub async fn identify(auth: &AuthState, parts: &mut Parts) -> Result<Caller, ApiError> {
    if let Some(caller) = parts.extensions.get::<Caller>() {
        return Ok(caller.clone());
    }
    let caller = if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::Unauthorized("Authorization must be `Bearer <token>`".into())
            })?;
        match auth.accounts.token_principal(token).await? {
            Some(principal) => Caller(Some(principal)),
            None => {
                return Err(ApiError::Unauthorized(
                    "the API token is unknown, revoked or expired".into(),
                ))
            }
        }
    } else if let Some(session) = parts.extensions.get::<tower_sessions::Session>().cloned() {
        let account = session
            .get::<i64>(crate::auth::ACCOUNT_KEY)
            .await
            .map_err(session_error)?;
        match account {
            None => Caller(None),
            Some(id) => {
                let csrf = session
                    .get::<String>(CSRF_KEY)
                    .await
                    .map_err(session_error)?
                    .unwrap_or_default();
                Caller(auth.accounts.session_principal(id, csrf).await?)
            }
        }
    } else {
        Caller(None)
    };
    parts.extensions.insert(caller.clone());
    Ok(caller)
}

/// A session store that failed: the database, most likely.
pub fn session_error(error: tower_sessions::session::Error) -> ApiError {
    tracing::warn!(%error, "the session store failed");
    ApiError::Unavailable("sessions are unavailable; try again shortly".into())
}

impl FromRequestParts<super::AppState> for Caller {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &super::AppState,
    ) -> Result<Caller, ApiError> {
        identify(&state.auth, parts).await
    }
}

/// Whether two secrets are equal, in time that doesn't tell how much of
/// them matched.
pub fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A browser's write must carry its session's CSRF token, and come from
/// Hale's own pages when the browser says where it comes from. Tokens
/// and reads pass.
pub fn check_csrf(principal: &Principal, parts: &Parts) -> Result<(), ApiError> {
    let crate::auth::Via::Session { csrf } = &principal.via else {
        return Ok(());
    };
    if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    if !super::surface::same_origin(&parts.headers) {
        return Err(ApiError::Forbidden(
            "a write from another site's page is refused".into(),
        ));
    }
    let sent = parts
        .headers
        .get(CSRF_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if csrf.is_empty() || !same_secret(sent, csrf.as_bytes()) {
        return Err(ApiError::Forbidden(
            "a signed-in browser's write needs the session's X-CSRF-Token (from GET /api/session)"
                .into(),
        ));
    }
    Ok(())
}

/// Holds a route to its [`Access`]: 401 for no one when someone is
/// needed, 403 for someone without the permission or a write without
/// its CSRF token.
pub async fn guard(
    State((auth, access)): State<(AuthState, Access)>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let needs = match access {
        Access::Public => None,
        Access::Needs(permission) => Some(permission),
        Access::Diagnostics => match auth.board.config().diagnostics {
            crate::config::DiagnosticsAccess::Public => None,
            crate::config::DiagnosticsAccess::HealthChecker => {
                Some(Permission::Role(Role::HealthChecker))
            }
        },
    };
    // A token sent to a public route is still checked: automation whose
    // token was revoked or expired is told so, not served as no one.
    if needs.is_none() && parts.headers.contains_key(header::AUTHORIZATION) {
        if let Err(error) = identify(&auth, &mut parts).await {
            return error.into_response();
        }
    }
    if let Some(permission) = needs {
        let caller = match identify(&auth, &mut parts).await {
            Ok(caller) => caller,
            Err(error) => return error.into_response(),
        };
        let Some(principal) = caller.0 else {
            return ApiError::Unauthorized(
                "sign in, or send an API token as `Authorization: Bearer <token>`".into(),
            )
            .into_response();
        };
        if !principal.may(permission) {
            let needed = match permission {
                Permission::Role(role) => format!("the {role} role"),
                Permission::AuditLog => "the audit_log_viewer permission".into(),
            };
            return ApiError::Forbidden(format!("{} lacks {needed}", principal.actor()))
                .into_response();
        }
        if let Err(error) = check_csrf(&principal, &parts) {
            return error.into_response();
        }
    }
    next.run(Request::from_parts(parts, body)).await
}

/// The pages about the account (`/login`, `/account`) are rendered for
/// whoever asks: this tells their render who that is, as a
/// [`wire::account::SignedIn`] in the request (none for no one). Other
/// paths pass untouched, reading no session.
pub async fn account_pages(
    State(state): State<super::AppState>,
    request: Request,
    next: Next,
) -> Response {
    if !matches!(request.uri().path(), "/login" | "/account") || request.method() != Method::GET {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    match identify(&state.auth, &mut parts).await {
        Ok(Caller(Some(principal))) => {
            parts.extensions.insert(principal.signed_in());
        }
        Ok(Caller(None)) => {}
        Err(error) => return error.into_response(),
    }
    let mut response = next.run(Request::from_parts(parts, body)).await;
    // Whom a page was rendered for is no one else's.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}
