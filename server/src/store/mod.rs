//! Storage: one trait, a SQLite and a Postgres implementation.
//!
//! The database URL decides: `sqlite://…` (the embedded default, created on
//! first use) or `postgres://…`. Migrations for each live in
//! `migrations/<backend>` and run at connect. Both backends share their
//! queries (see `sql.rs`) and one contract test suite.

pub mod accounts;
pub mod alerts;
mod history;
mod sql;

pub use history::{History, Totals};
pub use sql::{PostgresStore, SqliteStore};

use crate::event::ProbeResult;
use crate::event::StatusChange;
use crate::history::{Bucket, Resolution, RollupPlan, RollupReport};
use async_trait::async_trait;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL {0:?} (expected sqlite://… or postgres://…)")]
    UnsupportedUrl(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// A name already taken (an account, a token).
    #[error("{0}")]
    Conflict(String),
}

/// Everything Hale keeps. Implementations must be safe to share.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// `"sqlite"` or `"postgres"`.
    fn backend(&self) -> &'static str;

    /// A cheap round trip, for health checks.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Appends probe results, in one transaction per call.
    async fn insert_results(&self, results: &[ProbeResult]) -> Result<(), StoreError>;

    /// Appends status changes.
    async fn insert_status_changes(&self, changes: &[StatusChange]) -> Result<(), StoreError>;

    /// The newest result of every service that has one.
    async fn latest_results(&self) -> Result<Vec<ProbeResult>, StoreError>;

    /// A service's newest results, newest first.
    async fn recent_results(
        &self,
        service: &str,
        limit: u32,
    ) -> Result<Vec<ProbeResult>, StoreError>;

    /// The newest status change of every service that has one.
    async fn latest_status_changes(&self) -> Result<Vec<StatusChange>, StoreError>;

    /// A service's newest status changes, newest first.
    async fn recent_status_changes(
        &self,
        service: &str,
        limit: u32,
    ) -> Result<Vec<StatusChange>, StoreError>;

    /// Moves the results of hours that are over into hourly buckets
    /// (merging with a bucket already there, for late results), refreshes
    /// the daily buckets of the days touched, and applies retention. Safe
    /// to run at any time, twice, or from two processes.
    async fn roll_up(&self, plan: &RollupPlan) -> Result<RollupReport, StoreError>;

    /// Reads what `read` asks for as one consistent snapshot, so a roll-up
    /// running meanwhile can't make a result appear twice or not at all.
    async fn read_history(&self, read: &HistoryRead) -> Result<HistoryData, StoreError>;

    /// Buckets whose start is in `[from, to)`, of the named services (all
    /// when `services` is empty), ordered by service and start.
    async fn buckets(
        &self,
        resolution: Resolution,
        services: &[String],
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(String, Bucket)>, StoreError> {
        let mut read = HistoryRead::of(services);
        match resolution {
            Resolution::Hour => read.hours = Some((from_ms, to_ms)),
            Resolution::Day => read.days = Some((from_ms, to_ms)),
        }
        let data = self.read_history(&read).await?;
        Ok(match resolution {
            Resolution::Hour => data.hours,
            Resolution::Day => data.days,
        })
    }

    /// Results not yet rolled up, checked in `[from, to)`, of the named
    /// services (all when empty), oldest first.
    async fn hot_results(
        &self,
        services: &[String],
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<ProbeResult>, StoreError> {
        let mut read = HistoryRead::of(services);
        read.hot = Some((from_ms, to_ms));
        Ok(self.read_history(&read).await?.hot)
    }

    /// A service's raw results checked in `[from, to)`, hot and packed
    /// alike, newest first, at most `limit`.
    async fn results_between(
        &self,
        service: &str,
        from_ms: i64,
        to_ms: i64,
        limit: u32,
    ) -> Result<Vec<ProbeResult>, StoreError>;

    /// Bytes the history takes on disk (tables and indexes), for
    /// benchmarks and `/metrics`.
    async fn storage_bytes(&self) -> Result<u64, StoreError>;

    /// Closes the connections (at shutdown, and in tests of an outage).
    async fn close(&self);

    /// Accounts, sessions, tokens and the audit log.
    fn accounts(&self) -> &dyn accounts::AccountStore;

    /// Alerts and their outbox.
    fn alerts(&self) -> &dyn alerts::AlertStore;
}

/// What one [`Store::read_history`] reads: each part a `[from, to)` range
/// in Unix milliseconds, for the named services (all when empty).
#[derive(Clone, Debug, Default)]
pub struct HistoryRead {
    pub services: Vec<String>,
    pub days: Option<(i64, i64)>,
    pub hours: Option<(i64, i64)>,
    /// Results not yet rolled up, by check time.
    pub hot: Option<(i64, i64)>,
    /// How much of each bucket and hot result to read.
    pub detail: Detail,
    /// Status changes, plus each service's last one before the range.
    pub changes: Option<(i64, i64)>,
}

impl HistoryRead {
    pub fn of(services: &[String]) -> HistoryRead {
        HistoryRead {
            services: services.to_vec(),
            ..HistoryRead::default()
        }
    }
}

/// How much of each bucket and hot result to read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Detail {
    /// Everything: latency histograms; messages, conditions and regions.
    #[default]
    Full,
    /// Counts, times and latency bounds only: enough for uptime bars.
    Counts,
    /// Buckets summed over the services read, one per start (named ""),
    /// with totals and successes only; hot results as for `Counts`.
    /// Enough to count probes by hour, at a row per hour.
    Sums,
}

/// What [`Store::read_history`] found, each part in time order per service.
#[derive(Clone, Debug, Default)]
pub struct HistoryData {
    pub days: Vec<(String, Bucket)>,
    pub hours: Vec<(String, Bucket)>,
    /// Only hot results checked from here on are read: the ones before
    /// are counted in (possibly provisional) hourly buckets.
    pub watermark_ms: Option<i64>,
    /// Counts roll-ups of finished hours (read with `days`): while it is
    /// unchanged, so are the buckets of days before today.
    pub generation: Option<i64>,
    pub hot: Vec<ProbeResult>,
    pub changes: Vec<StatusChange>,
}

/// Hides a password in a database URL before it is shown.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

/// Opens the store a URL names, creating and migrating it as needed.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::connect(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl(redact(url)))
    }
}
