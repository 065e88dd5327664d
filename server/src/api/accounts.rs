//! Signing in and out, who is signed in, and the admin's accounts, tokens
//! and audit log: `/api/session`, `/login`, `/logout`, `/api/users`,
//! `/api/tokens`, `/api/audit` (docs/api.md, "Accounts and roles").

use super::access::Caller;
use super::{bad_parameter, ApiError, AppState, AuthState};
use crate::auth::{self, Principal, SignInError, ACCOUNT_KEY, CSRF_KEY};
use crate::duration::HumanDuration;
use crate::store::accounts::{AccountRow, AuditRow, TokenRow};
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use chrono::{DateTime, TimeZone, Utc};
use serde::Deserialize;
use tower_sessions::Session;
use wire::account::{Account, AuditEntry, AuditPage, Role, SignedIn, TokenInfo};

/// The client a request is from, as the audit log writes it.
pub struct ClientAddress(pub Option<std::net::IpAddr>);

impl ClientAddress {
    pub fn text(&self) -> String {
        self.0.map_or_else(|| "unknown".into(), |ip| ip.to_string())
    }
}

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<ClientAddress, Self::Rejection> {
        Ok(ClientAddress(super::clients::client_of(
            &state.live.clients,
            &parts.extensions,
            &parts.headers,
        )))
    }
}

impl AuthState {
    /// Writes what `caller`, from `client`, did to the audit log.
    pub async fn record(
        &self,
        caller: &Caller,
        client: &ClientAddress,
        action: &str,
        target: &str,
        detail: &str,
    ) {
        self.accounts
            .audit(&caller.actor(), action, target, detail, &client.text())
            .await;
    }
}

pub(super) fn time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

#[derive(Deserialize)]
pub struct Credentials {
    name: String,
    password: String,
}

/// Checks the credentials and signs the session in: a new session id (a
/// session fixed before sign-in is worth nothing after) with a new CSRF
/// token. Audited either way.
async fn open_session(
    auth: &AuthState,
    client: &ClientAddress,
    headers: &HeaderMap,
    session: &Session,
    credentials: &Credentials,
) -> Result<Principal, ApiError> {
    // A cross-site form can't sign a browser into an attacker's account.
    if !super::surface::same_origin(headers) {
        return Err(ApiError::Forbidden(
            "a sign-in from another site's page is refused".into(),
        ));
    }
    let address = client
        .0
        .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    let name = credentials.name.trim();
    // Only names an account could have are written down.
    let name = if auth::check_name(name).is_ok() {
        name
    } else {
        "(not a name)"
    };
    let audit = |action: &'static str, detail: String| {
        let accounts = auth.accounts.clone();
        let (name, client) = (name.to_string(), client.text());
        async move { accounts.audit(&name, action, &name, &detail, &client).await }
    };
    let account = match auth
        .accounts
        .sign_in(name, &credentials.password, address)
        .await
    {
        Ok(account) => account,
        Err(SignInError::Wrong) => {
            audit("sign_in_failed", "wrong name or password".into()).await;
            return Err(ApiError::Unauthorized("wrong name or password".into()));
        }
        Err(SignInError::Limited { retry_after }) => {
            audit("sign_in_failed", "too many attempts".into()).await;
            return Err(ApiError::TooMany {
                message: "too many sign-in attempts; try again later".into(),
                retry_after,
            });
        }
        Err(SignInError::Store(e)) => return Err(e.into()),
    };
    let csrf = auth::tokens::new_token();
    session
        .cycle_id()
        .await
        .map_err(super::access::session_error)?;
    session
        .insert(ACCOUNT_KEY, account.id)
        .await
        .map_err(super::access::session_error)?;
    session
        .insert(CSRF_KEY, &csrf)
        .await
        .map_err(super::access::session_error)?;
    audit("sign_in", format!("role {}", account.role)).await;
    Ok(Principal {
        name: account.name,
        role: account.role,
        audit_log_viewer: account.audit_log_viewer,
        via: auth::Via::Session { csrf },
    })
}

/// `POST /api/session` `{"name", "password"}`: signs in, answering who.
pub async fn sign_in(
    State(auth): State<AuthState>,
    client: ClientAddress,
    session: Session,
    headers: HeaderMap,
    Json(credentials): Json<Credentials>,
) -> Result<Json<SignedIn>, ApiError> {
    let principal = open_session(&auth, &client, &headers, &session, &credentials).await?;
    Ok(Json(principal.signed_in()))
}

/// `GET /api/session`: who is signed in (401 when no one).
pub async fn who(caller: Caller) -> Result<Json<SignedIn>, ApiError> {
    match caller.0 {
        Some(principal) => Ok(Json(principal.signed_in())),
        None => Err(ApiError::Unauthorized("not signed in".into())),
    }
}

/// Signs a browser out: its session gone, the sign-out in the audit log.
async fn end_session(
    auth: &AuthState,
    caller: &Caller,
    client: &ClientAddress,
    session: &Session,
) -> Result<(), ApiError> {
    session
        .flush()
        .await
        .map_err(super::access::session_error)?;
    auth.record(caller, client, "sign_out", &caller.actor(), "")
        .await;
    Ok(())
}

/// `DELETE /api/session`: signs the browser out (a token has no session
/// to end).
pub async fn sign_out(
    State(auth): State<AuthState>,
    caller: Caller,
    client: ClientAddress,
    session: Session,
) -> Result<StatusCode, ApiError> {
    end_session(&auth, &caller, &client, &session).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Where a form goes after signing in: a path on Hale, never elsewhere.
fn local_path(next: Option<&str>) -> &str {
    match next {
        // Printable ASCII only: browsers drop tabs and newlines from a
        // URL, so `/<TAB>/evil.example` would be `//evil.example`; and no
        // backslash, which they read as a slash.
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && path.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') =>
        {
            path
        }
        _ => "/account",
    }
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[derive(Deserialize)]
pub struct SignInForm {
    name: String,
    password: String,
    next: Option<String>,
}

/// `POST /login`, the sign-in page's form (works without JavaScript):
/// 303 to `next` when signed in, back to the page with the reason if not.
pub async fn sign_in_form(
    State(auth): State<AuthState>,
    client: ClientAddress,
    session: Session,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let next = local_path(form.next.as_deref()).to_string();
    let credentials = Credentials {
        name: form.name,
        password: form.password,
    };
    match open_session(&auth, &client, &headers, &session, &credentials).await {
        Ok(_) => Redirect::to(&next).into_response(),
        Err(ApiError::Unauthorized(_)) => {
            Redirect::to(&format!("/login?failed=wrong&next={}", encode(&next))).into_response()
        }
        Err(ApiError::TooMany { .. }) => {
            Redirect::to(&format!("/login?failed=limited&next={}", encode(&next))).into_response()
        }
        Err(other) => other.into_response(),
    }
}

#[derive(Deserialize)]
pub struct SignOutForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /logout`, the account page's form: its CSRF token is a field,
/// as a form can't send headers.
pub async fn sign_out_form(
    State(auth): State<AuthState>,
    caller: Caller,
    client: ClientAddress,
    session: Session,
    headers: HeaderMap,
    Form(form): Form<SignOutForm>,
) -> Result<Response, ApiError> {
    let Some(principal) = &caller.0 else {
        return Ok(Redirect::to("/login").into_response());
    };
    let auth::Via::Session { csrf } = &principal.via else {
        return Err(ApiError::BadRequest("a token has no session to end".into()));
    };
    let matches = super::access::same_secret(form.csrf.as_bytes(), csrf.as_bytes());
    if !super::surface::same_origin(&headers) || form.csrf.is_empty() || !matches {
        return Err(ApiError::Forbidden(
            "signing out needs the account page's form".into(),
        ));
    }
    end_session(&auth, &caller, &client, &session).await?;
    Ok(Redirect::to("/login?signed_out=1").into_response())
}

fn account(row: AccountRow) -> Account {
    Account {
        name: row.name,
        role: row.role,
        audit_log_viewer: row.audit_log_viewer,
        created_at: time(row.created_at_ms),
    }
}

fn token_info(row: TokenRow) -> TokenInfo {
    TokenInfo {
        name: row.name,
        role: row.role,
        audit_log_viewer: row.audit_log_viewer,
        created_by: row.created_by,
        created_at: time(row.created_at_ms),
        expires_at: row.expires_at_ms.map(time),
        last_used_at: row.last_used_at_ms.map(time),
    }
}

/// `GET /api/users`.
pub async fn list_users(State(auth): State<AuthState>) -> Result<Json<Vec<Account>>, ApiError> {
    let rows = auth.accounts.store().accounts().await?;
    Ok(Json(rows.into_iter().map(account).collect()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    name: String,
    password: String,
    role: Role,
    #[serde(default)]
    audit_log_viewer: bool,
}

fn invalid(error: auth::AccountError) -> ApiError {
    match error {
        auth::AccountError::Invalid(message) => ApiError::BadRequest(message),
        auth::AccountError::Store(e) => e.into(),
    }
}

/// `POST /api/users` `{"name", "password", "role", "audit_log_viewer"}`.
pub async fn add_user(
    State(auth): State<AuthState>,
    caller: Caller,
    client: ClientAddress,
    Json(user): Json<NewUser>,
) -> Result<(StatusCode, Json<Account>), ApiError> {
    auth.accounts
        .add_account(&user.name, &user.password, user.role, user.audit_log_viewer)
        .await
        .map_err(invalid)?;
    let detail = format!(
        "role {}, audit_log_viewer {}",
        user.role, user.audit_log_viewer
    );
    auth.record(&caller, &client, "user.add", &user.name, &detail)
        .await;
    let row = auth
        .accounts
        .store()
        .account_by_name(&user.name)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no account named {:?}", user.name)))?;
    Ok((StatusCode::CREATED, Json(account(row))))
}

/// `DELETE /api/users/{name}`: removes an account and ends its sessions.
pub async fn remove_user(
    State(auth): State<AuthState>,
    caller: Caller,
    client: ClientAddress,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    if caller
        .0
        .as_ref()
        .is_some_and(|p| matches!(p.via, auth::Via::Session { .. }) && p.name == name)
    {
        return Err(ApiError::BadRequest(
            "you can't remove the account you are signed in with".into(),
        ));
    }
    if !auth.accounts.store().remove_account(&name).await? {
        return Err(ApiError::NotFound(format!("no account named {name:?}")));
    }
    auth.record(&caller, &client, "user.remove", &name, "")
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/tokens`: every token, never the token itself.
pub async fn list_tokens(State(auth): State<AuthState>) -> Result<Json<Vec<TokenInfo>>, ApiError> {
    let rows = auth.accounts.store().tokens().await?;
    Ok(Json(rows.into_iter().map(token_info).collect()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    name: String,
    role: Role,
    #[serde(default)]
    audit_log_viewer: bool,
    /// A duration (`90d`); no expiry when absent.
    expires_in: Option<String>,
}

/// A new token and what it is: the token is shown this once.
#[derive(serde::Serialize)]
pub struct MadeToken {
    token: String,
    #[serde(flatten)]
    info: TokenInfo,
}

/// `POST /api/tokens` `{"name", "role", "audit_log_viewer", "expires_in"}`.
pub async fn add_token(
    State(auth): State<AuthState>,
    caller: Caller,
    client: ClientAddress,
    Json(new): Json<NewToken>,
) -> Result<(StatusCode, Json<MadeToken>), ApiError> {
    let expires_in = match &new.expires_in {
        None => None,
        Some(text) => Some(
            text.parse::<HumanDuration>()
                .map_err(|e| ApiError::BadRequest(format!("expires_in: {e}")))?
                .0,
        ),
    };
    let (token, row) = auth
        .accounts
        .add_token(
            &new.name,
            new.role,
            new.audit_log_viewer,
            expires_in,
            &caller.actor(),
        )
        .await
        .map_err(invalid)?;
    let detail = format!(
        "role {}, audit_log_viewer {}, expires {}",
        new.role,
        new.audit_log_viewer,
        new.expires_in.as_deref().unwrap_or("never")
    );
    auth.record(&caller, &client, "token.add", &new.name, &detail)
        .await;
    Ok((
        StatusCode::CREATED,
        Json(MadeToken {
            token,
            info: token_info(row),
        }),
    ))
}

/// `DELETE /api/tokens/{name}`: revokes a token at once.
pub async fn remove_token(
    State(auth): State<AuthState>,
    caller: Caller,
    client: ClientAddress,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    if !auth.accounts.store().remove_token(&name).await? {
        return Err(ApiError::NotFound(format!("no token named {name:?}")));
    }
    auth.record(&caller, &client, "token.remove", &name, "")
        .await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct PageQuery {
    before: Option<String>,
    limit: Option<String>,
}

impl PageQuery {
    /// `before` (an id; from the start when absent) and `limit` (100
    /// unless given, at most 1,000).
    pub(super) fn parse(&self) -> Result<(Option<i64>, u32), ApiError> {
        let before = match &self.before {
            None => None,
            Some(text) => Some(
                text.parse::<i64>()
                    .map_err(|_| bad_parameter("before", format!("{text:?} is not an id")))?,
            ),
        };
        let limit = match &self.limit {
            None => 100,
            Some(text) => text
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=1_000).contains(n))
                .ok_or_else(|| bad_parameter("limit", format!("{text:?} is not from 1 to 1000")))?,
        };
        Ok((before, limit))
    }
}

/// `GET /api/audit[?before=ID&limit=N]`: newest first, 100 a page (at
/// most 1,000).
pub async fn audit(
    State(auth): State<AuthState>,
    Query(query): Query<PageQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    let (before, limit) = query.parse()?;
    let rows = auth.accounts.store().audit_log(before, limit).await?;
    let next_before = (rows.len() == limit as usize)
        .then(|| rows.last().map(|r| r.id))
        .flatten();
    let entries = rows
        .into_iter()
        .map(|r: AuditRow| AuditEntry {
            id: r.id,
            at: time(r.at_ms),
            actor: r.actor,
            action: r.action,
            target: r.target,
            detail: r.detail,
            client: r.client,
        })
        .collect();
    Ok(Json(AuditPage {
        entries,
        next_before,
    }))
}
