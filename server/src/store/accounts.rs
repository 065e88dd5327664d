//! What the accounts keep (docs/api.md, "Accounts and roles"): accounts,
//! their sessions, API tokens and the audit log, on both backends with one
//! body of queries, as the history's are.

use super::sql::{PostgresStore, SqliteStore};
use super::StoreError;
use async_trait::async_trait;
use wire::account::Role;

/// An account as stored, with its password hash.
#[derive(Clone, Debug, PartialEq)]
pub struct AccountRow {
    pub id: i64,
    pub name: String,
    pub password_hash: String,
    pub role: Role,
    pub audit_log_viewer: bool,
    pub created_at_ms: i64,
}

/// An API token as stored: its SHA-256, never the token.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub token_hash: String,
    pub role: Role,
    pub audit_log_viewer: bool,
    pub created_by: String,
    pub created_at_ms: i64,
    pub expires_at_ms: Option<i64>,
    pub last_used_at_ms: Option<i64>,
}

/// One line of the audit log (`id` is the store's; 0 for a new one).
#[derive(Clone, Debug, PartialEq)]
pub struct AuditRow {
    pub id: i64,
    pub at_ms: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub client: String,
}

/// Accounts, sessions, tokens and the audit log.
#[async_trait]
pub trait AccountStore: Send + Sync {
    async fn count_accounts(&self) -> Result<i64, StoreError>;
    /// Adds an account; [`StoreError::Conflict`] when the name is taken.
    async fn add_account(&self, account: &AccountRow) -> Result<(), StoreError>;
    async fn account_by_name(&self, name: &str) -> Result<Option<AccountRow>, StoreError>;
    async fn account_by_id(&self, id: i64) -> Result<Option<AccountRow>, StoreError>;
    /// Every account, by name.
    async fn accounts(&self) -> Result<Vec<AccountRow>, StoreError>;
    /// Removes an account and its sessions; whether there was one.
    async fn remove_account(&self, name: &str) -> Result<bool, StoreError>;
    /// Sets a password; whether the account exists.
    async fn set_password(&self, name: &str, hash: &str) -> Result<bool, StoreError>;

    /// A session's data, unless missing or expired at `now_ms`.
    async fn load_session(&self, id_hash: &str, now_ms: i64) -> Result<Option<String>, StoreError>;
    /// Writes a session (replacing it), and drops sessions expired by
    /// `now_ms`.
    async fn save_session(
        &self,
        id_hash: &str,
        data: &str,
        account_id: Option<i64>,
        expires_at_ms: i64,
        now_ms: i64,
    ) -> Result<(), StoreError>;
    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError>;

    /// Adds a token; [`StoreError::Conflict`] when the name is taken.
    async fn add_token(&self, token: &TokenRow) -> Result<(), StoreError>;
    async fn token_by_hash(&self, token_hash: &str) -> Result<Option<TokenRow>, StoreError>;
    /// Every token, by name.
    async fn tokens(&self) -> Result<Vec<TokenRow>, StoreError>;
    /// Revokes a token; whether there was one.
    async fn remove_token(&self, name: &str) -> Result<bool, StoreError>;
    async fn token_used(&self, id: i64, at_ms: i64) -> Result<(), StoreError>;

    async fn audit(&self, entry: &AuditRow) -> Result<(), StoreError>;
    /// Entries older than `before` (an id; all when `None`), newest first.
    async fn audit_log(&self, before: Option<i64>, limit: u32)
        -> Result<Vec<AuditRow>, StoreError>;
}

#[derive(sqlx::FromRow)]
struct AccountSql {
    id: i64,
    name: String,
    password_hash: String,
    role: String,
    audit_log_viewer: bool,
    created_at_ms: i64,
}

impl TryFrom<AccountSql> for AccountRow {
    type Error = StoreError;
    fn try_from(row: AccountSql) -> Result<AccountRow, StoreError> {
        Ok(AccountRow {
            role: role(&row.role)?,
            id: row.id,
            name: row.name,
            password_hash: row.password_hash,
            audit_log_viewer: row.audit_log_viewer,
            created_at_ms: row.created_at_ms,
        })
    }
}

#[derive(sqlx::FromRow)]
struct TokenSql {
    id: i64,
    name: String,
    token_hash: String,
    role: String,
    audit_log_viewer: bool,
    created_by: String,
    created_at_ms: i64,
    expires_at_ms: Option<i64>,
    last_used_at_ms: Option<i64>,
}

impl TryFrom<TokenSql> for TokenRow {
    type Error = StoreError;
    fn try_from(row: TokenSql) -> Result<TokenRow, StoreError> {
        Ok(TokenRow {
            role: role(&row.role)?,
            id: row.id,
            name: row.name,
            token_hash: row.token_hash,
            audit_log_viewer: row.audit_log_viewer,
            created_by: row.created_by,
            created_at_ms: row.created_at_ms,
            expires_at_ms: row.expires_at_ms,
            last_used_at_ms: row.last_used_at_ms,
        })
    }
}

#[derive(sqlx::FromRow)]
struct AuditSql {
    id: i64,
    at_ms: i64,
    actor: String,
    action: String,
    target: String,
    detail: String,
    client: String,
}

fn role(text: &str) -> Result<Role, StoreError> {
    text.parse().map_err(StoreError::Corrupt)
}

/// A unique-key violation becomes [`StoreError::Conflict`] with `what`.
fn conflict(error: sqlx::Error, what: String) -> StoreError {
    match &error {
        sqlx::Error::Database(e) if e.is_unique_violation() => StoreError::Conflict(what),
        _ => StoreError::Database(error),
    }
}

const ACCOUNT_COLUMNS: &str = "id, name, password_hash, role, audit_log_viewer, created_at_ms";
const TOKEN_COLUMNS: &str = "id, name, token_hash, role, audit_log_viewer, created_by, \
     created_at_ms, expires_at_ms, last_used_at_ms";

macro_rules! account_store {
    ($store:ty) => {
        #[async_trait]
        impl AccountStore for $store {
            async fn count_accounts(&self) -> Result<i64, StoreError> {
                Ok(sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
                    .fetch_one(&self.pool)
                    .await?)
            }

            async fn add_account(&self, a: &AccountRow) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO accounts (name, password_hash, role, audit_log_viewer, created_at_ms)
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&a.name)
                .bind(&a.password_hash)
                .bind(a.role.as_str())
                .bind(a.audit_log_viewer)
                .bind(a.created_at_ms)
                .execute(&self.pool)
                .await
                .map_err(|e| conflict(e, format!("an account named {:?} exists", a.name)))?;
                Ok(())
            }

            async fn account_by_name(&self, name: &str) -> Result<Option<AccountRow>, StoreError> {
                sqlx::query_as::<_, AccountSql>(&format!(
                    "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE name = $1"
                ))
                .bind(name)
                .fetch_optional(&self.pool)
                .await?
                .map(AccountRow::try_from)
                .transpose()
            }

            async fn account_by_id(&self, id: i64) -> Result<Option<AccountRow>, StoreError> {
                sqlx::query_as::<_, AccountSql>(&format!(
                    "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1"
                ))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .map(AccountRow::try_from)
                .transpose()
            }

            async fn accounts(&self) -> Result<Vec<AccountRow>, StoreError> {
                sqlx::query_as::<_, AccountSql>(&format!(
                    "SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY name"
                ))
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(AccountRow::try_from)
                .collect()
            }

            async fn remove_account(&self, name: &str) -> Result<bool, StoreError> {
                let mut tx = self.pool.begin().await?;
                let id: Option<i64> =
                    sqlx::query_scalar("DELETE FROM accounts WHERE name = $1 RETURNING id")
                        .bind(name)
                        .fetch_optional(&mut *tx)
                        .await?;
                if let Some(id) = id {
                    sqlx::query("DELETE FROM sessions WHERE account_id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(id.is_some())
            }

            async fn set_password(&self, name: &str, hash: &str) -> Result<bool, StoreError> {
                let mut tx = self.pool.begin().await?;
                let id: Option<i64> = sqlx::query_scalar(
                    "UPDATE accounts SET password_hash = $1 WHERE name = $2 RETURNING id",
                )
                .bind(hash)
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?;
                // A new password signs out every browser the old one signed in.
                if let Some(id) = id {
                    sqlx::query("DELETE FROM sessions WHERE account_id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(id.is_some())
            }

            async fn load_session(
                &self,
                id_hash: &str,
                now_ms: i64,
            ) -> Result<Option<String>, StoreError> {
                Ok(sqlx::query_scalar(
                    "SELECT data FROM sessions WHERE id_hash = $1 AND expires_at_ms > $2",
                )
                .bind(id_hash)
                .bind(now_ms)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn save_session(
                &self,
                id_hash: &str,
                data: &str,
                account_id: Option<i64>,
                expires_at_ms: i64,
                now_ms: i64,
            ) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await?;
                sqlx::query("DELETE FROM sessions WHERE expires_at_ms <= $1")
                    .bind(now_ms)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO sessions (id_hash, data, account_id, expires_at_ms)
                     VALUES ($1, $2, $3, $4)
                     ON CONFLICT (id_hash) DO UPDATE SET data = excluded.data,
                        account_id = excluded.account_id, expires_at_ms = excluded.expires_at_ms",
                )
                .bind(id_hash)
                .bind(data)
                .bind(account_id)
                .bind(expires_at_ms)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
                    .bind(id_hash)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn add_token(&self, t: &TokenRow) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO api_tokens (name, token_hash, role, audit_log_viewer, created_by,
                        created_at_ms, expires_at_ms)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&t.name)
                .bind(&t.token_hash)
                .bind(t.role.as_str())
                .bind(t.audit_log_viewer)
                .bind(&t.created_by)
                .bind(t.created_at_ms)
                .bind(t.expires_at_ms)
                .execute(&self.pool)
                .await
                .map_err(|e| conflict(e, format!("a token named {:?} exists", t.name)))?;
                Ok(())
            }

            async fn token_by_hash(&self, token_hash: &str) -> Result<Option<TokenRow>, StoreError> {
                sqlx::query_as::<_, TokenSql>(&format!(
                    "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1"
                ))
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await?
                .map(TokenRow::try_from)
                .transpose()
            }

            async fn tokens(&self) -> Result<Vec<TokenRow>, StoreError> {
                sqlx::query_as::<_, TokenSql>(&format!(
                    "SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY name"
                ))
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(TokenRow::try_from)
                .collect()
            }

            async fn remove_token(&self, name: &str) -> Result<bool, StoreError> {
                let done = sqlx::query("DELETE FROM api_tokens WHERE name = $1")
                    .bind(name)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn token_used(&self, id: i64, at_ms: i64) -> Result<(), StoreError> {
                sqlx::query("UPDATE api_tokens SET last_used_at_ms = $1 WHERE id = $2")
                    .bind(at_ms)
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn audit(&self, e: &AuditRow) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO audit_log (at_ms, actor, action, target, detail, client)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(e.at_ms)
                .bind(&e.actor)
                .bind(&e.action)
                .bind(&e.target)
                .bind(&e.detail)
                .bind(&e.client)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn audit_log(
                &self,
                before: Option<i64>,
                limit: u32,
            ) -> Result<Vec<AuditRow>, StoreError> {
                let rows = sqlx::query_as::<_, AuditSql>(
                    "SELECT id, at_ms, actor, action, target, detail, client FROM audit_log
                     WHERE id < $1 ORDER BY id DESC LIMIT $2",
                )
                .bind(before.unwrap_or(i64::MAX))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|r| AuditRow {
                        id: r.id,
                        at_ms: r.at_ms,
                        actor: r.actor,
                        action: r.action,
                        target: r.target,
                        detail: r.detail,
                        client: r.client,
                    })
                    .collect())
            }
        }
    };
}

account_store!(SqliteStore);
account_store!(PostgresStore);
