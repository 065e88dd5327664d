//! Accounts, roles, API tokens and the audit log, as the API answers them
//! (`/api/session`, `/api/users`, `/api/tokens`, `/api/audit`; the table of
//! what each role may do is in docs/api.md).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What an account or a token may do. Each role may do all that the roles
/// before it may.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads what the public does, and `/api/health/detailed`.
    Viewer,
    /// Runs diagnostics against services.
    HealthChecker,
    /// Changes services, pages and incidents.
    Editor,
    /// Manages accounts, tokens and channels; reads the audit log.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::HealthChecker, Role::Editor, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::HealthChecker => "health_checker",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(text: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == text)
            .ok_or_else(|| {
                format!("{text:?} is not a role (viewer, health_checker, editor or admin)")
            })
    }
}

/// Who a request is from, as `GET /api/session` tells it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignedIn {
    pub name: String,
    pub role: Role,
    /// May read the audit log (`GET /api/audit`); admins always may.
    pub audit_log_viewer: bool,
    /// `"session"` (a signed-in browser) or `"token"` (an API token).
    pub via: String,
    /// The token a browser sends back in `X-CSRF-Token` with every write
    /// (sessions only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csrf: Option<String>,
}

/// An account, as `GET /api/users` lists it (never its password hash).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub name: String,
    pub role: Role,
    pub audit_log_viewer: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// An API token, as `GET /api/tokens` lists it (never the token).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenInfo {
    pub name: String,
    pub role: Role,
    pub audit_log_viewer: bool,
    pub created_by: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// One line of the audit log: who did what, when, from where.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: chrono::DateTime<chrono::Utc>,
    /// The account (`alice`), the token (`token:deploy`), `cli` or
    /// `anonymous`.
    pub actor: String,
    /// `sign_in`, `sign_in_failed`, `sign_out`, `user.add`, …
    pub action: String,
    /// What it was done to: an account, a token, a service.
    pub target: String,
    pub detail: String,
    /// The client's address, or `cli`.
    pub client: String,
}

/// The answer of `GET /api/audit`: newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Pass as `before=` for the next, older page; absent at the end.
    pub next_before: Option<i64>,
}
