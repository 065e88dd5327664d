//! The SQL behind both backends. Both schemas store times as Unix
//! milliseconds and latencies as microseconds, and sqlx accepts `$n`
//! parameters on SQLite as on Postgres, so one body of queries, written
//! once in `sql_store!`, serves both.

use super::{Store, StoreError};
use crate::probe::ProbeResult;
use crate::tracker::StatusChange;
use app::model::{ConditionOutcome, ServiceStatus};
use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Postgres, QueryBuilder, Sqlite};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// How long a caller waits for a pooled connection before the store is
/// called unreachable (keeps `/api/health` quick when the database is gone).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// Rows per INSERT: well under SQLite's 32,766 bound parameters.
const ROWS_PER_INSERT: usize = 1_000;

#[derive(sqlx::FromRow)]
struct ResultRow {
    name: String,
    checked_at_ms: i64,
    success: bool,
    latency_us: i64,
    status_code: Option<i32>,
    message: String,
    conditions: String,
    region: Option<String>,
}

impl TryFrom<ResultRow> for ProbeResult {
    type Error = StoreError;
    fn try_from(row: ResultRow) -> Result<Self, StoreError> {
        let conditions: Vec<ConditionOutcome> =
            serde_json::from_str(&row.conditions).map_err(|e| {
                StoreError::Corrupt(format!("conditions of a result of {}: {e}", row.name))
            })?;
        Ok(ProbeResult {
            service: Arc::from(row.name),
            checked_at: from_ms(row.checked_at_ms)?,
            success: row.success,
            latency: Duration::from_micros(row.latency_us.max(0) as u64),
            status_code: row.status_code.and_then(|c| u16::try_from(c).ok()),
            message: row.message,
            conditions,
            region: row.region,
        })
    }
}

#[derive(sqlx::FromRow)]
struct ChangeRow {
    name: String,
    at_ms: i64,
    from_status: String,
    to_status: String,
    cause: String,
}

impl TryFrom<ChangeRow> for StatusChange {
    type Error = StoreError;
    fn try_from(row: ChangeRow) -> Result<Self, StoreError> {
        let status = |s: &str| ServiceStatus::from_str(s).map_err(StoreError::Corrupt);
        Ok(StatusChange {
            from: status(&row.from_status)?,
            to: status(&row.to_status)?,
            at: from_ms(row.at_ms)?,
            service: row.name,
            cause: row.cause,
        })
    }
}

/// Text as both backends accept it: Postgres refuses NUL characters, and
/// one in a message (from a push or a DNS TXT record) would fail its whole
/// batch on every retry.
fn text(value: &str) -> String {
    value.replace('\0', "\u{FFFD}")
}

fn from_ms(ms: i64) -> Result<DateTime<Utc>, StoreError> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {ms} out of range")))
}

const LATEST_RESULTS: &str = "
    SELECT s.name, r.checked_at_ms, r.success, r.latency_us, r.status_code, r.message, r.conditions, r.region
    FROM services s
    JOIN probe_results r ON r.id = (
        SELECT id FROM probe_results WHERE service_id = s.id
        ORDER BY checked_at_ms DESC, id DESC LIMIT 1)
    ORDER BY s.name";

const RECENT_RESULTS: &str = "
    SELECT s.name, r.checked_at_ms, r.success, r.latency_us, r.status_code, r.message, r.conditions, r.region
    FROM probe_results r JOIN services s ON s.id = r.service_id
    WHERE s.name = $1
    ORDER BY r.checked_at_ms DESC, r.id DESC LIMIT $2";

const RECENT_CHANGES: &str = "
    SELECT s.name, c.at_ms, c.from_status, c.to_status, c.cause
    FROM status_changes c JOIN services s ON s.id = c.service_id
    WHERE s.name = $1
    ORDER BY c.at_ms DESC, c.id DESC LIMIT $2";

const LATEST_CHANGES: &str = "
    SELECT s.name, c.at_ms, c.from_status, c.to_status, c.cause
    FROM services s
    JOIN status_changes c ON c.id = (
        SELECT id FROM status_changes WHERE service_id = s.id
        ORDER BY at_ms DESC, id DESC LIMIT 1)
    ORDER BY s.name";

const UPSERT_SERVICE: &str = "
    INSERT INTO services (name, created_at_ms) VALUES ($1, $2)
    ON CONFLICT (name) DO UPDATE SET name = excluded.name
    RETURNING id";

macro_rules! sql_store {
    ($store:ident, $db:ty, $pool:ty, $backend:literal, $migrator:expr) => {
        /// The store on
        #[doc = $backend]
        pub struct $store {
            pool: $pool,
            /// Service name → row id, filled on first use of each name.
            ids: RwLock<HashMap<String, i64>>,
        }

        impl $store {
            /// Runs the migrations, then serves from `pool`.
            pub async fn from_pool(pool: $pool) -> Result<Self, StoreError> {
                $migrator.run(&pool).await?;
                Ok($store {
                    pool,
                    ids: RwLock::new(HashMap::new()),
                })
            }

            async fn service_ids(&self, names: impl Iterator<Item = &str>) -> Result<HashMap<String, i64>, StoreError> {
                let mut ids = HashMap::new();
                for name in names {
                    if ids.contains_key(name) {
                        continue;
                    }
                    let cached = self.ids.read().expect("id cache lock").get(name).copied();
                    let id = match cached {
                        Some(id) => id,
                        None => {
                            let id: i64 = sqlx::query_scalar(UPSERT_SERVICE)
                                .bind(name)
                                .bind(Utc::now().timestamp_millis())
                                .fetch_one(&self.pool)
                                .await?;
                            self.ids.write().expect("id cache lock").insert(name.to_string(), id);
                            id
                        }
                    };
                    ids.insert(name.to_string(), id);
                }
                Ok(ids)
            }
        }

        #[async_trait]
        impl Store for $store {
            fn backend(&self) -> &'static str {
                $backend
            }

            async fn ping(&self) -> Result<(), StoreError> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            #[tracing::instrument(skip_all, fields(count = results.len()))]
            async fn insert_results(&self, results: &[ProbeResult]) -> Result<(), StoreError> {
                if results.is_empty() {
                    return Ok(());
                }
                let ids = self.service_ids(results.iter().map(|r| &*r.service)).await?;
                let mut tx = self.pool.begin().await?;
                for chunk in results.chunks(ROWS_PER_INSERT) {
                    let mut insert = QueryBuilder::<$db>::new(
                        "INSERT INTO probe_results (service_id, checked_at_ms, success, latency_us, status_code, message, conditions, region) ",
                    );
                    insert.push_values(chunk, |mut row, r| {
                        row.push_bind(ids[&*r.service])
                            .push_bind(r.checked_at.timestamp_millis())
                            .push_bind(r.success)
                            .push_bind(i64::try_from(r.latency.as_micros()).unwrap_or(i64::MAX))
                            .push_bind(r.status_code.map(i32::from))
                            .push_bind(text(&r.message))
                            .push_bind(serde_json::to_string(&r.conditions).expect("outcomes serialize"))
                            .push_bind(r.region.clone());
                    });
                    insert.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn insert_status_changes(&self, changes: &[StatusChange]) -> Result<(), StoreError> {
                if changes.is_empty() {
                    return Ok(());
                }
                let ids = self.service_ids(changes.iter().map(|c| c.service.as_str())).await?;
                let mut tx = self.pool.begin().await?;
                for chunk in changes.chunks(ROWS_PER_INSERT) {
                    let mut insert = QueryBuilder::<$db>::new(
                        "INSERT INTO status_changes (service_id, at_ms, from_status, to_status, cause) ",
                    );
                    insert.push_values(chunk, |mut row, c| {
                        row.push_bind(ids[&c.service])
                            .push_bind(c.at.timestamp_millis())
                            .push_bind(c.from.as_str())
                            .push_bind(c.to.as_str())
                            .push_bind(text(&c.cause));
                    });
                    insert.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn latest_results(&self) -> Result<Vec<ProbeResult>, StoreError> {
                let rows: Vec<ResultRow> = sqlx::query_as(LATEST_RESULTS).fetch_all(&self.pool).await?;
                rows.into_iter().map(ProbeResult::try_from).collect()
            }

            async fn recent_results(&self, service: &str, limit: u32) -> Result<Vec<ProbeResult>, StoreError> {
                let rows: Vec<ResultRow> = sqlx::query_as(RECENT_RESULTS)
                    .bind(service)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                rows.into_iter().map(ProbeResult::try_from).collect()
            }

            async fn latest_status_changes(&self) -> Result<Vec<StatusChange>, StoreError> {
                let rows: Vec<ChangeRow> = sqlx::query_as(LATEST_CHANGES).fetch_all(&self.pool).await?;
                rows.into_iter().map(StatusChange::try_from).collect()
            }

            async fn recent_status_changes(&self, service: &str, limit: u32) -> Result<Vec<StatusChange>, StoreError> {
                let rows: Vec<ChangeRow> = sqlx::query_as(RECENT_CHANGES)
                    .bind(service)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                rows.into_iter().map(StatusChange::try_from).collect()
            }

            async fn close(&self) {
                self.pool.close().await;
            }
        }
    };
}

sql_store!(
    SqliteStore,
    Sqlite,
    SqlitePool,
    "sqlite",
    sqlx::migrate!("../migrations/sqlite")
);
sql_store!(
    PostgresStore,
    Postgres,
    PgPool,
    "postgres",
    sqlx::migrate!("../migrations/postgres")
);

impl SqliteStore {
    /// Opens (creating if missing) the SQLite file a `sqlite://` URL names.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        Self::from_pool(pool).await
    }
}

impl PostgresStore {
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url)
            .await?;
        Self::from_pool(pool).await
    }
}
