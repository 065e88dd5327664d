//! Accounts, roles, sessions and API tokens (docs/api.md, "Accounts and
//! roles"): who a request is from, and what they may do.
//!
//! - Passwords are argon2id hashes ([`password`]); an account is made with
//!   `hale user add`, or once from `HALE_ADMIN_PASSWORD` when there is none.
//! - A browser signs in for a session (tower-sessions, kept in Hale's own
//!   database by [`sessions::DbSessions`]); its cookie is HttpOnly and
//!   SameSite=Strict, and every write it makes carries the session's CSRF
//!   token.
//! - Automation uses API tokens ([`tokens`]): 256 random bits, shown once,
//!   kept as their SHA-256, sent as `Authorization: Bearer`.
//! - Sign-ins are limited per account and client, and per client.
//! - Every sign-in and every change made by someone signed in goes to the
//!   audit log.

pub mod password;
pub mod sessions;
pub mod tokens;

use crate::clock::WallClock;
use crate::store::accounts::{AccountRow, AuditRow, TokenRow};
use crate::store::{Store, StoreError};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
use wire::account::{Role, SignedIn};

/// The session key under which the signed-in account's id is kept.
pub const ACCOUNT_KEY: &str = "account";
/// The session key of the session's CSRF token.
pub const CSRF_KEY: &str = "csrf";
/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 10;
/// Longest: argon2 hashes every byte, and a request body may be 64 KiB.
pub const MAX_PASSWORD: usize = 1_024;

/// What someone may do beyond their role's reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    /// At least this role.
    Role(Role),
    /// Read the audit log: admins, and accounts or tokens given it.
    AuditLog,
}

/// How a request proved who it is from.
#[derive(Clone, Debug, PartialEq)]
pub enum Via {
    /// A browser's session, with the CSRF token its writes must carry.
    Session { csrf: String },
    /// An API token (no cookie, so no CSRF to guard against).
    Token,
}

/// Who a request is from.
#[derive(Clone, Debug, PartialEq)]
pub struct Principal {
    pub name: String,
    pub role: Role,
    pub audit_log_viewer: bool,
    pub via: Via,
}

impl Principal {
    pub fn may(&self, permission: Permission) -> bool {
        match permission {
            Permission::Role(role) => self.role >= role,
            Permission::AuditLog => self.audit_log_viewer || self.role == Role::Admin,
        }
    }

    /// The audit log's name for them: the account, or `token:NAME`.
    pub fn actor(&self) -> String {
        match self.via {
            Via::Session { .. } => self.name.clone(),
            Via::Token => format!("token:{}", self.name),
        }
    }

    pub fn signed_in(&self) -> SignedIn {
        let (via, csrf) = match &self.via {
            Via::Session { csrf } => ("session", Some(csrf.clone())),
            Via::Token => ("token", None),
        };
        SignedIn {
            name: self.name.clone(),
            role: self.role,
            audit_log_viewer: self.may(Permission::AuditLog),
            via: via.into(),
            csrf,
        }
    }
}

/// How accounts behave: set at start (`hale serve`'s flags).
#[derive(Clone, Debug)]
pub struct AccountRules {
    /// How long a sign-in lasts.
    pub session_lifetime: Duration,
    /// Mark the session cookie `Secure` (Hale is reached over TLS).
    pub secure_cookies: bool,
    /// Sign-in attempts for one account from one client: a burst, then
    /// one per `sign_in_every`.
    pub sign_in_burst: u32,
    /// Sign-in attempts from one client, any account: a burst, then one
    /// per `sign_in_every` / 4.
    pub client_sign_in_burst: u32,
    pub sign_in_every: Duration,
    /// Expiry of sessions and tokens, moved by tests.
    pub clock: WallClock,
}

impl Default for AccountRules {
    fn default() -> Self {
        AccountRules {
            session_lifetime: Duration::from_secs(12 * 3600),
            secure_cookies: false,
            sign_in_burst: 5,
            client_sign_in_burst: 20,
            sign_in_every: Duration::from_secs(60),
            clock: WallClock::default(),
        }
    }
}

/// Why a sign-in failed.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("wrong name or password")]
    Wrong,
    #[error("too many sign-in attempts; try again later")]
    Limited { retry_after: Duration },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A token or account change that can't be made.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The accounts: sign-in, tokens, the audit log.
#[derive(Clone)]
pub struct Accounts {
    store: Arc<dyn Store>,
    pub rules: AccountRules,
    per_account: Arc<DefaultKeyedRateLimiter<(String, IpAddr)>>,
    per_client: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

/// A burst, then one more every `every`.
pub fn quota(burst: u32, every: Duration) -> Quota {
    let burst = NonZeroU32::new(burst.max(1)).expect("at least 1");
    Quota::with_period(every.max(Duration::from_millis(1)))
        .expect("a period above zero")
        .allow_burst(burst)
}

impl Accounts {
    pub fn new(store: Arc<dyn Store>, rules: AccountRules) -> Accounts {
        Accounts {
            per_account: Arc::new(DefaultKeyedRateLimiter::keyed(quota(
                rules.sign_in_burst,
                rules.sign_in_every,
            ))),
            per_client: Arc::new(DefaultKeyedRateLimiter::keyed(quota(
                rules.client_sign_in_burst,
                rules.sign_in_every / 4,
            ))),
            store,
            rules,
        }
    }

    pub fn now_ms(&self) -> i64 {
        self.rules.clock.now_ms()
    }

    /// The session store for tower-sessions.
    pub fn sessions(&self) -> sessions::DbSessions {
        sessions::DbSessions::new(self.store.clone(), self.rules.clock.clone())
    }

    /// Checks a name and password, counting the attempt against the
    /// client and the account. The hash is checked even for a name that
    /// does not exist, so the answer's time does not tell.
    pub async fn sign_in(
        &self,
        name: &str,
        password: &str,
        client: IpAddr,
    ) -> Result<AccountRow, SignInError> {
        let limited = |not_until: governor::NotUntil<_>| SignInError::Limited {
            retry_after: not_until
                .wait_time_from(governor::clock::Clock::now(self.per_client.clock())),
        };
        self.per_client.check_key(&client).map_err(limited)?;
        // No name an account can't have reaches the per-account limiter
        // (whose keys it would grow) or the audit log.
        if check_name(name).is_err() || password.len() > MAX_PASSWORD {
            return Err(SignInError::Wrong);
        }
        // Keys of attempts long over are dropped now and then, so a
        // stream of names costs bounded memory.
        if self.per_account.len() > 10_000 {
            self.per_account.retain_recent();
            self.per_client.retain_recent();
        }
        self.per_account
            .check_key(&(name.to_string(), client))
            .map_err(limited)?;
        let account = self.store.accounts().account_by_name(name).await?;
        let hash = account.as_ref().map(|a| a.password_hash.clone());
        let password = password.to_string();
        // The dummy hash, made on first use, is made off the async threads
        // too.
        let matches = tokio::task::spawn_blocking(move || {
            password::verify(hash.as_deref().unwrap_or(&password::DUMMY_HASH), &password)
        })
        .await
        .unwrap_or(false);
        match account {
            Some(account) if matches => Ok(account),
            _ => Err(SignInError::Wrong),
        }
    }

    /// The principal a session's account id names (`None` once the account
    /// is gone).
    pub async fn session_principal(
        &self,
        account_id: i64,
        csrf: String,
    ) -> Result<Option<Principal>, StoreError> {
        Ok(self
            .store
            .accounts()
            .account_by_id(account_id)
            .await?
            .map(|a| Principal {
                name: a.name,
                role: a.role,
                audit_log_viewer: a.audit_log_viewer,
                via: Via::Session { csrf },
            }))
    }

    /// The principal a bearer token names, unless unknown or expired.
    pub async fn token_principal(&self, token: &str) -> Result<Option<Principal>, StoreError> {
        let Some(row) = self
            .store
            .accounts()
            .token_by_hash(&tokens::hash(token))
            .await?
        else {
            return Ok(None);
        };
        let now = self.now_ms();
        if row.expires_at_ms.is_some_and(|at| at <= now) {
            return Ok(None);
        }
        // Noted at most once a minute: a busy token costs no write per call.
        if row.last_used_at_ms.is_none_or(|at| now - at >= 60_000) {
            self.store.accounts().token_used(row.id, now).await?;
        }
        Ok(Some(Principal {
            name: row.name,
            role: row.role,
            audit_log_viewer: row.audit_log_viewer,
            via: Via::Token,
        }))
    }

    /// Adds an account with a password checked for length.
    pub async fn add_account(
        &self,
        name: &str,
        password: &str,
        role: Role,
        audit_log_viewer: bool,
    ) -> Result<(), AccountError> {
        check_name(name)?;
        let hash = hash_checked(password).await?;
        self.store
            .accounts()
            .add_account(&AccountRow {
                id: 0,
                name: name.to_string(),
                password_hash: hash,
                role,
                audit_log_viewer,
                created_at_ms: self.now_ms(),
            })
            .await?;
        Ok(())
    }

    /// Sets an account's password (ending its sessions); whether it exists.
    pub async fn set_password(&self, name: &str, password: &str) -> Result<bool, AccountError> {
        let hash = hash_checked(password).await?;
        Ok(self.store.accounts().set_password(name, &hash).await?)
    }

    /// Makes an API token; the token itself is returned once and kept
    /// only as its hash.
    pub async fn add_token(
        &self,
        name: &str,
        role: Role,
        audit_log_viewer: bool,
        expires_in: Option<Duration>,
        created_by: &str,
    ) -> Result<(String, TokenRow), AccountError> {
        check_name(name)?;
        let token = tokens::new_token();
        let now = self.now_ms();
        let row = TokenRow {
            id: 0,
            name: name.to_string(),
            token_hash: tokens::hash(&token),
            role,
            audit_log_viewer,
            created_by: created_by.to_string(),
            created_at_ms: now,
            expires_at_ms: expires_in
                .map(|d| now.saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))),
            last_used_at_ms: None,
        };
        self.store.accounts().add_token(&row).await?;
        Ok((token, row))
    }

    /// Writes a line of the audit log. A failure is logged, not returned:
    /// the change it records was made.
    pub async fn audit(&self, actor: &str, action: &str, target: &str, detail: &str, client: &str) {
        let row = AuditRow {
            id: 0,
            at_ms: self.now_ms(),
            actor: actor.into(),
            action: action.into(),
            target: target.into(),
            detail: detail.into(),
            client: client.into(),
        };
        if let Err(error) = self.store.accounts().audit(&row).await {
            tracing::error!(%error, actor, action, target, "could not write the audit log");
        }
    }

    pub fn store(&self) -> &dyn crate::store::accounts::AccountStore {
        self.store.accounts()
    }
}

/// Account and token names: 1 to 64 letters, digits, `.`, `_`, `-`, `@`.
pub fn check_name(name: &str) -> Result<(), AccountError> {
    let fine = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if fine {
        Ok(())
    } else {
        Err(AccountError::Invalid(format!(
            "{name:?} is not a name: use 1 to 64 letters, digits, '.', '_', '-' or '@'"
        )))
    }
}

/// Hashes a password off the async threads, after checking its length.
async fn hash_checked(password: &str) -> Result<String, AccountError> {
    let length = password.chars().count();
    if length < MIN_PASSWORD {
        return Err(AccountError::Invalid(format!(
            "a password needs at least {MIN_PASSWORD} characters"
        )));
    }
    if password.len() > MAX_PASSWORD {
        return Err(AccountError::Invalid(format!(
            "a password may have at most {MAX_PASSWORD} bytes"
        )));
    }
    let password = password.to_string();
    tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .map_err(|e| AccountError::Invalid(format!("hashing failed: {e}")))
}
