//! The SQL behind both backends. Both schemas store times as Unix
//! milliseconds and latencies as microseconds, and sqlx accepts `$n`
//! parameters on SQLite as on Postgres, so one body of queries, written
//! once in `sql_store!`, serves both.

use super::{Store, StoreError};
use crate::event::ProbeResult;
use crate::event::StatusChange;
use crate::history::sketch::Sketch;
use crate::history::{
    floor_to, pack, Bucket, Counted, Resolution, RollupPlan, RollupReport, DAY_MS, HOUR_MS,
};
use crate::store::{Detail, HistoryData, HistoryRead};
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
use wire::{ConditionOutcome, ServiceStatus};

/// How long a caller waits for a pooled connection before the store is
/// called unreachable (keeps `/api/health` quick when the database is gone).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// Rows per INSERT: well under SQLite's 32,766 bound parameters.
///
/// A many-rows statement is not kept prepared (`persistent(false)`): its
/// text changes with the batch's size, and sqlx kept one for each size in
/// every connection's statement cache (up to 100 each). SQLite's prepared
/// form of a 50-row insert is tens of KiB: 3.4 MiB of the probe engine's
/// 20 MiB heap at 1,000 services every 20 s (docs/benchmarks.md). Preparing
/// one again is a parse, once a write of up to this many rows.
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
            certificate_expiration: None,
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

#[derive(sqlx::FromRow)]
struct BucketRow {
    name: String,
    start_ms: i64,
    total: i32,
    successful: i32,
    known_ms: i32,
    latency_sum_us: i64,
    latency_min_us: i32,
    latency_max_us: i32,
    last_at_ms: Option<i64>,
    /// `None` when read for counting only.
    histogram: Option<Vec<u8>>,
}

impl TryFrom<BucketRow> for (String, Bucket) {
    type Error = StoreError;
    fn try_from(row: BucketRow) -> Result<Self, StoreError> {
        let sketch = Sketch::decode(row.histogram.as_deref().unwrap_or_default()).map_err(|e| {
            StoreError::Corrupt(format!(
                "latency histogram of {} at {}: {e}",
                row.name, row.start_ms
            ))
        })?;
        let count = |v: i32| u64::try_from(v).unwrap_or(0);
        Ok((
            row.name,
            Bucket {
                start_ms: row.start_ms,
                total: count(row.total),
                successful: count(row.successful),
                known_ms: i64::from(row.known_ms),
                latency_sum_us: u64::try_from(row.latency_sum_us).unwrap_or(0),
                latency_min_us: count(row.latency_min_us),
                latency_max_us: count(row.latency_max_us),
                sketch,
                last_at_ms: row.last_at_ms,
            },
        ))
    }
}

/// A hot row as the roll-up takes it out of `probe_results`.
#[derive(sqlx::FromRow)]
struct HotRow {
    service_id: i64,
    checked_at_ms: i64,
    success: bool,
    latency_us: i64,
    status_code: Option<i32>,
    message: String,
    conditions: String,
    region: Option<String>,
}

impl HotRow {
    fn into_result(self, name: Arc<str>) -> Result<ProbeResult, StoreError> {
        ProbeResult::try_from(ResultRow {
            name: name.to_string(),
            checked_at_ms: self.checked_at_ms,
            success: self.success,
            latency_us: self.latency_us,
            status_code: self.status_code,
            message: self.message,
            conditions: self.conditions,
            region: self.region,
        })
        .map(|r| ProbeResult { service: name, ..r })
    }
}

/// A hot row as the roll-up of the hour under way counts it. A minute
/// at 10,000 services every 10 s is 60,000 rows: read whole, as
/// [`HotRow`]s made into results, they took about 120 MiB for the second
/// the roll-up ran (docs/benchmarks.md, the soak).
#[derive(sqlx::FromRow)]
struct CountedRow {
    service_id: i64,
    checked_at_ms: i64,
    success: bool,
    latency_us: i64,
}

impl Counted for CountedRow {
    fn at_ms(&self) -> i64 {
        self.checked_at_ms
    }

    fn success(&self) -> bool {
        self.success
    }

    fn latency_us(&self) -> u64 {
        u64::try_from(self.latency_us).unwrap_or(0)
    }
}

#[derive(sqlx::FromRow)]
struct PackedRow {
    name: String,
    start_ms: i64,
    results: Vec<u8>,
}

impl PackedRow {
    fn unpack(self) -> Result<Vec<ProbeResult>, StoreError> {
        let service: Arc<str> = Arc::from(self.name.as_str());
        pack::unpack(&service, &self.results).map_err(|e| {
            StoreError::Corrupt(format!(
                "packed results of {} at {}: {e}",
                self.name, self.start_ms
            ))
        })
    }
}

/// `start,total,successful,known,last_at` (last_at -1 for none).
fn parse_counts(text: &str) -> Option<Bucket> {
    let mut fields = text.split(',').map(|f| f.trim().parse::<i64>().ok());
    let mut next = || fields.next().flatten();
    let (start_ms, total, successful, known_ms, last_at) =
        (next()?, next()?, next()?, next()?, next()?);
    Some(Bucket {
        start_ms,
        total: u64::try_from(total).ok()?,
        successful: u64::try_from(successful).ok()?,
        known_ms,
        last_at_ms: (last_at >= 0).then_some(last_at),
        ..Bucket::default()
    })
}

/// `<joiner> s.name IN (…)` when `services` names any.
fn push_names<'a, DB: sqlx::Database>(
    q: &mut QueryBuilder<'a, DB>,
    joiner: &str,
    services: &[String],
) where
    String: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    if services.is_empty() {
        return;
    }
    q.push(joiner).push(" s.name IN (");
    let mut list = q.separated(", ");
    for name in services {
        list.push_bind(name.clone());
    }
    q.push(")");
}

/// `<table> b` joined to `s` for buckets starting in `[from, to)`, of
/// `services` (all when empty): what every bucket read selects from.
fn push_buckets_in<'a, DB: sqlx::Database>(
    q: &mut QueryBuilder<'a, DB>,
    resolution: Resolution,
    services: &[String],
    from_ms: i64,
    to_ms: i64,
) where
    String: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    q.push(resolution.table())
        .push(" b ON b.service_id = s.id AND b.start_ms >= ")
        .push_bind(from_ms)
        .push(" AND b.start_ms < ")
        .push_bind(to_ms);
    push_names(q, " WHERE", services);
}

/// A count or duration as the INTEGER columns of buckets hold it.
fn int(v: impl TryInto<i32>) -> i32 {
    v.try_into().unwrap_or(i32::MAX)
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
    WHERE s.name = $1 AND r.checked_at_ms >= $2 AND r.checked_at_ms < $3
    ORDER BY r.checked_at_ms DESC, r.id DESC LIMIT $4";

/// Up to six packed hours of a service starting in `[from, before)`, newest first.
const PACKED_BEFORE: &str = "
    SELECT s.name, b.start_ms, b.results
    FROM services s JOIN raw_hours b ON b.service_id = s.id
    WHERE s.name = $1 AND b.start_ms >= $2 AND b.start_ms < $3
    ORDER BY b.start_ms DESC LIMIT 6";

/// Each service's newest packed hour.
const LATEST_PACKED: &str = "
    SELECT s.name, b.start_ms, b.results
    FROM services s JOIN raw_hours b ON b.service_id = s.id AND b.start_ms = (
        SELECT MAX(start_ms) FROM raw_hours WHERE service_id = s.id)";

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

const BUCKET_COLUMNS: &str = "s.name, b.start_ms, b.total, b.successful, b.known_ms, \
    b.latency_sum_us, b.latency_min_us, b.latency_max_us, b.last_at_ms, b.histogram";

const HOT_COLUMNS: &str = "s.name, r.checked_at_ms, r.success, r.latency_us, r.status_code, \
    r.message, r.conditions, r.region";

/// How many services a roll-up holds at once: a finished hour's group is
/// its own transaction; the hour under way's groups share one.
const ROLLUP_GROUP: usize = 250;

/// Takes one hour's hot rows of the services with ids in `[$3, $4)` out,
/// returning them, in one statement, so a row written meanwhile is either
/// taken and rolled up or left for later.
const TAKE_HOUR: &str = "
    DELETE FROM probe_results
    WHERE checked_at_ms >= $1 AND checked_at_ms < $2 AND service_id >= $3 AND service_id < $4
    RETURNING service_id, checked_at_ms, success, latency_us, status_code, message, conditions, region";

/// The newest result time before an hour, per service, looking back a day.
const PREVIOUS_LAST_AT: &str = "
    SELECT s.id, (SELECT b.last_at_ms FROM hourly_buckets b
                  WHERE b.service_id = s.id AND b.start_ms < $1 AND b.start_ms >= $2
                  ORDER BY b.start_ms DESC LIMIT 1)
    FROM services s";

const UPSERT_HOUR: &str = "
    INSERT INTO hourly_buckets (service_id, start_ms, total, successful, known_ms, latency_sum_us,
        latency_min_us, latency_max_us, last_at_ms, histogram, through_ms)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
    ON CONFLICT (service_id, start_ms) DO UPDATE SET total = excluded.total,
        successful = excluded.successful, known_ms = excluded.known_ms,
        latency_sum_us = excluded.latency_sum_us, latency_min_us = excluded.latency_min_us,
        latency_max_us = excluded.latency_max_us, last_at_ms = excluded.last_at_ms,
        histogram = excluded.histogram, through_ms = excluded.through_ms";

/// Reads the hour under way's hot rows up to a time, leaving them hot:
/// only what the roll-up counts, no message or condition results.
const COUNT_HOUR: &str = "
    SELECT service_id, checked_at_ms, success, latency_us
    FROM probe_results WHERE checked_at_ms >= $1 AND checked_at_ms < $2";

/// Hot rows checked before the watermark are all counted in buckets
/// (final or provisional); readers add only the rows from it on.
const SET_WATERMARK: &str = "
    INSERT INTO history_state (name, value) VALUES ('provisional_through_ms', $1)
    ON CONFLICT (name) DO UPDATE SET value = excluded.value";

/// Marks that finished hours changed: cached days must be read again.
const BUMP_GENERATION: &str = "
    INSERT INTO history_state (name, value) VALUES ('generation', 1)
    ON CONFLICT (name) DO UPDATE SET value = history_state.value + 1";

const UPSERT_RAW: &str = "
    INSERT INTO raw_hours (service_id, start_ms, results) VALUES ($1, $2, $3)
    ON CONFLICT (service_id, start_ms) DO UPDATE SET results = excluded.results";

const UPSERT_DAY: &str = "
    INSERT INTO daily_buckets (service_id, start_ms, total, successful, known_ms, latency_sum_us,
        latency_min_us, latency_max_us, last_at_ms, histogram)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
    ON CONFLICT (service_id, start_ms) DO UPDATE SET total = excluded.total,
        successful = excluded.successful, known_ms = excluded.known_ms,
        latency_sum_us = excluded.latency_sum_us, latency_min_us = excluded.latency_min_us,
        latency_max_us = excluded.latency_max_us, last_at_ms = excluded.last_at_ms,
        histogram = excluded.histogram";

const UPSERT_SERVICE: &str = "
    INSERT INTO services (name, created_at_ms) VALUES ($1, $2)
    ON CONFLICT (name) DO UPDATE SET name = excluded.name
    RETURNING id";

macro_rules! sql_store {
    ($store:ident, $db:ty, $pool:ty, $backend:literal, $migrator:expr, $size_sql:expr, $snapshot_sql:expr, $write_begin:expr, $concat:literal) => {
        /// The store on
        #[doc = $backend]
        pub struct $store {
            pub(super) pool: $pool,
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

            async fn read_buckets(
                tx: &mut sqlx::Transaction<'static, $db>,
                resolution: Resolution,
                services: &[String],
                from_ms: i64,
                to_ms: i64,
                detail: Detail,
            ) -> Result<Vec<(String, Bucket)>, StoreError> {
                match detail {
                    Detail::Full => {}
                    Detail::Counts => {
                        return Self::read_bucket_counts(tx, resolution, services, from_ms, to_ms).await
                    }
                    Detail::Sums => {
                        return Self::read_bucket_sums(tx, resolution, services, from_ms, to_ms).await
                    }
                }
                let mut q = QueryBuilder::<$db>::new("SELECT ");
                q.push(BUCKET_COLUMNS).push(" FROM services s JOIN ");
                push_buckets_in(&mut q, resolution, services, from_ms, to_ms);
                q.push(" ORDER BY s.name, b.start_ms");
                let rows: Vec<BucketRow> = q.build_query_as().fetch_all(&mut **tx).await?;
                rows.into_iter().map(<(String, Bucket)>::try_from).collect()
            }

            /// Buckets' counts only, one row per service: rows cost more
            /// than bytes (sqlx hands SQLite rows over one at a time), and
            /// 90 days of 100 services are 9,000 of them.
            async fn read_bucket_counts(
                tx: &mut sqlx::Transaction<'static, $db>,
                resolution: Resolution,
                services: &[String],
                from_ms: i64,
                to_ms: i64,
            ) -> Result<Vec<(String, Bucket)>, StoreError> {
                let mut q = QueryBuilder::<$db>::new(concat!(
                    "SELECT s.name, ",
                    $concat,
                    "(b.start_ms || ',' || b.total || ',' || b.successful || ',' || b.known_ms \
                     || ',' || COALESCE(b.last_at_ms, -1), ';') FROM services s JOIN "
                ));
                push_buckets_in(&mut q, resolution, services, from_ms, to_ms);
                q.push(" GROUP BY s.name ORDER BY s.name");
                let rows: Vec<(String, String)> = q.build_query_as().fetch_all(&mut **tx).await?;
                let mut buckets = Vec::new();
                for (name, packed) in rows {
                    let mut mine = packed
                        .split(';')
                        .map(|b| parse_counts(b).ok_or_else(|| StoreError::Corrupt(format!("bucket counts {b:?} of {name}"))))
                        .collect::<Result<Vec<_>, _>>()?;
                    mine.sort_by_key(|b| b.start_ms);
                    buckets.extend(mine.into_iter().map(|b| (name.clone(), b)));
                }
                Ok(buckets)
            }

            /// Buckets' totals and successes summed over the services,
            /// one row per start.
            async fn read_bucket_sums(
                tx: &mut sqlx::Transaction<'static, $db>,
                resolution: Resolution,
                services: &[String],
                from_ms: i64,
                to_ms: i64,
            ) -> Result<Vec<(String, Bucket)>, StoreError> {
                // Postgres sums BIGINT to NUMERIC: cast back.
                let mut q = QueryBuilder::<$db>::new(
                    "SELECT b.start_ms, CAST(SUM(b.total) AS BIGINT), CAST(SUM(b.successful) AS BIGINT) \
                     FROM services s JOIN ",
                );
                push_buckets_in(&mut q, resolution, services, from_ms, to_ms);
                q.push(" GROUP BY b.start_ms ORDER BY b.start_ms");
                let rows: Vec<(i64, i64, i64)> = q.build_query_as().fetch_all(&mut **tx).await?;
                Ok(rows
                    .into_iter()
                    .map(|(start_ms, total, successful)| {
                        let bucket = Bucket {
                            start_ms,
                            total: u64::try_from(total).unwrap_or(0),
                            successful: u64::try_from(successful).unwrap_or(0),
                            ..Bucket::default()
                        };
                        (String::new(), bucket)
                    })
                    .collect())
            }

            async fn read_hot(
                tx: &mut sqlx::Transaction<'static, $db>,
                services: &[String],
                from_ms: i64,
                to_ms: i64,
                detail: Detail,
            ) -> Result<Vec<ProbeResult>, StoreError> {
                if matches!(detail, Detail::Counts | Detail::Sums) {
                    return Self::read_hot_counts(tx, services, from_ms, to_ms).await;
                }
                let mut q = QueryBuilder::<$db>::new("SELECT ");
                q.push(HOT_COLUMNS)
                .push(" FROM probe_results r JOIN services s ON s.id = r.service_id WHERE r.checked_at_ms >= ")
                .push_bind(from_ms)
                .push(" AND r.checked_at_ms < ")
                .push_bind(to_ms);
                push_names(&mut q, " AND", services);
                q.push(" ORDER BY r.checked_at_ms, r.id");
                let rows: Vec<ResultRow> = q.build_query_as().fetch_all(&mut **tx).await?;
                // One shared name per service, not one allocation per row.
                let mut names: HashMap<String, Arc<str>> = HashMap::new();
                rows.into_iter()
                    .map(|row| {
                        let name = names
                            .entry(row.name.clone())
                            .or_insert_with(|| Arc::from(row.name.as_str()))
                            .clone();
                        ProbeResult::try_from(row).map(|r| ProbeResult { service: name, ..r })
                    })
                    .collect()
            }

            /// Hot results with only what counting needs: four narrow
            /// columns, names joined in memory, nothing decoded per row.
            async fn read_hot_counts(
                tx: &mut sqlx::Transaction<'static, $db>,
                services: &[String],
                from_ms: i64,
                to_ms: i64,
            ) -> Result<Vec<ProbeResult>, StoreError> {
                let mut q = QueryBuilder::<$db>::new("SELECT s.id, s.name FROM services s");
                push_names(&mut q, " WHERE", services);
                let names: HashMap<i64, Arc<str>> = q
                    .build_query_as::<(i64, String)>()
                    .fetch_all(&mut **tx)
                    .await?
                    .into_iter()
                    .map(|(id, name)| (id, Arc::from(name)))
                    .collect();
                let rows: Vec<(i64, i64, bool, i64)> = sqlx::query_as(
                    "SELECT service_id, checked_at_ms, success, latency_us FROM probe_results
                     WHERE checked_at_ms >= $1 AND checked_at_ms < $2 ORDER BY checked_at_ms, id",
                )
                .bind(from_ms)
                .bind(to_ms)
                .fetch_all(&mut **tx)
                .await?;
                rows.into_iter()
                    .filter_map(|(id, at, success, latency_us)| {
                        let service = names.get(&id)?.clone();
                        Some(self::from_ms(at).map(|checked_at| ProbeResult {
                            service,
                            checked_at,
                            success,
                            latency: Duration::from_micros(latency_us.max(0) as u64),
                            status_code: None,
                            message: String::new(),
                            conditions: Vec::new(),
                            region: None,
                            certificate_expiration: None,
                        }))
                    })
                    .collect()
            }

            async fn read_changes(
                tx: &mut sqlx::Transaction<'static, $db>,
                services: &[String],
                from_ms: i64,
                to_ms: i64,
            ) -> Result<Vec<StatusChange>, StoreError> {
                let mut q = QueryBuilder::<$db>::new(
                    "SELECT s.name, c.at_ms, c.from_status, c.to_status, c.cause
                     FROM services s JOIN status_changes c ON c.service_id = s.id
                     WHERE ((c.at_ms >= ",
                );
                q.push_bind(from_ms)
                    .push(" AND c.at_ms < ")
                    .push_bind(to_ms)
                    .push(") OR c.id = (SELECT id FROM status_changes WHERE service_id = s.id AND at_ms < ")
                    .push_bind(from_ms)
                    .push(" ORDER BY at_ms DESC, id DESC LIMIT 1))");
                push_names(&mut q, " AND", services);
                q.push(" ORDER BY c.at_ms, c.id");
                let rows: Vec<ChangeRow> = q.build_query_as().fetch_all(&mut **tx).await?;
                rows.into_iter().map(StatusChange::try_from).collect()
            }

            /// Binds a bucket's columns in the order both upserts list them:
            /// service, start, counts, latency, last result, histogram.
            fn bind_bucket<'q>(
                query: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>>,
                service_id: i64,
                bucket: &Bucket,
            ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>> {
                query
                    .bind(service_id)
                    .bind(bucket.start_ms)
                    .bind(int(bucket.total))
                    .bind(int(bucket.successful))
                    .bind(int(bucket.known_ms))
                    .bind(i64::try_from(bucket.latency_sum_us).unwrap_or(i64::MAX))
                    .bind(int(bucket.latency_min_us))
                    .bind(int(bucket.latency_max_us))
                    .bind(bucket.last_at_ms)
                    .bind(bucket.sketch.encode())
            }

            /// Service id → name, for rows that carry ids.
            async fn names(&self) -> Result<HashMap<i64, Arc<str>>, StoreError> {
                let rows: Vec<(i64, String)> = sqlx::query_as("SELECT id, name FROM services")
                    .fetch_all(&self.pool)
                    .await?;
                Ok(rows.into_iter().map(|(id, name)| (id, Arc::from(name))).collect())
            }

            /// A transaction that will write. On SQLite it takes the
            /// write lock at its start: one that read first and then
            /// wrote would fail with "database is locked" (a busy
            /// snapshot, which no busy timeout waits out) whenever the
            /// history writer committed in between.
            async fn begin_write(&self) -> Result<sqlx::Transaction<'static, $db>, StoreError> {
                Ok(match $write_begin {
                    Some(sql) => self.pool.begin_with(sql).await?,
                    None => self.pool.begin().await?,
                })
            }

            /// Rolls up a finished hour: its hot rows, taken out, into
            /// hourly buckets, then the day's bucket. Returns the results
            /// and buckets it wrote.
            ///
            /// A few hundred services at a time,
            /// each group in its own transaction: the whole hour at once
            /// held every result of 10,000 services in memory (3.6 million
            /// at one probe each 10 s: 1 GiB of RSS, never given back) and
            /// the write lock for over a minute (docs/benchmarks.md).
            async fn roll_up_hour(
                &self,
                hour: i64,
                plan: &RollupPlan,
                names: &mut HashMap<i64, Arc<str>>,
            ) -> Result<(u64, u64), StoreError> {
                *names = self.names().await?;
                let mut ids: Vec<i64> = names.keys().copied().collect();
                ids.sort_unstable();
                // Groups `[from, to)`; the first and last are open-ended,
                // so a service added meanwhile is in one of them.
                let mut cuts: Vec<i64> = ids.iter().step_by(ROLLUP_GROUP).skip(1).copied().collect();
                cuts.push(i64::MAX);
                let mut previous = None;
                let (mut taken, mut buckets) = (0, 0);
                let mut from = i64::MIN;
                for to in cuts {
                    let (t, b) = self.roll_up_group(hour, (from, to), &mut previous, plan, names).await?;
                    taken += t;
                    buckets += b;
                    from = to;
                }
                Ok((taken, buckets))
            }

            async fn roll_up_group(
                &self,
                hour: i64,
                (from, to): (i64, i64),
                previous: &mut Option<HashMap<i64, Option<i64>>>,
                plan: &RollupPlan,
                names: &mut HashMap<i64, Arc<str>>,
            ) -> Result<(u64, u64), StoreError> {
                let mut tx = self.begin_write().await?;
                let rows: Vec<HotRow> = sqlx::query_as(TAKE_HOUR)
                    .bind(hour)
                    .bind(hour + HOUR_MS)
                    .bind(from)
                    .bind(to)
                    .fetch_all(&mut *tx)
                    .await?;
                if rows.is_empty() {
                    tx.commit().await?;
                    return Ok((0, 0));
                }
                let taken = rows.len() as u64;
                let mut by_service = self.by_service(rows, names).await?;
                // Buckets before this hour: the same for every group.
                if previous.is_none() {
                    *previous = Some(Self::previous_last_at(&mut tx, hour).await?);
                }
                let previous = previous.as_ref().expect("read above");
                let keep_raw = hour + HOUR_MS > plan.now_ms - plan.retention.raw_ms;
                for (&id, fresh) in by_service.iter_mut() {
                    let name = names[&id].clone();
                    // Results that came late for an hour already rolled up
                    // join the ones packed there; past the raw window the
                    // old bucket is merged as it is.
                    let packed: Option<(Vec<u8>,)> = sqlx::query_as(
                        "SELECT results FROM raw_hours WHERE service_id = $1 AND start_ms = $2",
                    )
                    .bind(id)
                    .bind(hour)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let mut carried: Option<Bucket> = None;
                    if let Some((blob,)) = packed {
                        let packed = PackedRow { name: name.to_string(), start_ms: hour, results: blob };
                        fresh.extend(packed.unpack()?);
                    } else {
                        // A provisional bucket counted rows that are among
                        // these: it is replaced, not merged.
                        carried = Self::hour_bucket(&mut tx, id, hour, false).await?;
                    }
                    fresh.sort_by_key(|r| r.checked_at);
                    let prev = previous.get(&id).copied().flatten();
                    let mut bucket = Bucket::build(hour, hour + HOUR_MS, &fresh[..], prev, plan.cap(&name));
                    // Past the raw window (an old bucket without its results)
                    // late results are counted but not kept raw.
                    let blob = (keep_raw && carried.is_none()).then(|| pack::pack(fresh));
                    if let Some(old) = carried {
                        // Coverage can't be rebuilt without the old
                        // results: the larger of the two stands.
                        let known = bucket.known_ms.max(old.known_ms);
                        bucket.merge(&old);
                        bucket.known_ms = known.min(HOUR_MS);
                    }
                    Self::bind_bucket(sqlx::query(UPSERT_HOUR), id, &bucket)
                        .bind(None::<i64>)
                        .execute(&mut *tx)
                        .await?;
                    if let Some(blob) = blob {
                        sqlx::query(UPSERT_RAW)
                            .bind(id)
                            .bind(hour)
                            .bind(blob)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                let ids: Vec<i64> = by_service.keys().copied().collect();
                Self::refresh_days(&mut tx, hour, plan, &ids, names).await?;
                sqlx::query(BUMP_GENERATION).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok((taken, by_service.len() as u64))
            }

            /// Counts the hour under way up to `through`, leaving its rows
            /// hot, so readers meet only the last minutes of hot rows.
            ///
            /// Incremental: only the rows since the last run (the
            /// watermark) are read, and merged into each service's
            /// provisional bucket and into its day's. Rebuilding from all
            /// of the hour's rows every minute cost 601 ms a run with
            /// 1,000 services every 20 s half an hour in, on SQLite
            /// (docs/benchmarks.md). A result that arrives after the
            /// watermark passed its time is counted when the hour is rolled
            /// up for good, which rebuilds the hour from all its rows.
            async fn roll_up_under_way(
                &self,
                hour: i64,
                through: i64,
                plan: &RollupPlan,
                names: &mut HashMap<i64, Arc<str>>,
            ) -> Result<u64, StoreError> {
                let mut tx = self.begin_write().await?;
                let mark: Option<i64> = sqlx::query_scalar(
                    "SELECT value FROM history_state WHERE name = 'provisional_through_ms'",
                )
                .fetch_optional(&mut *tx)
                .await?;
                // The last run's mark, when it was in this hour.
                let since = mark.filter(|m| *m > hour && *m <= through);
                let rows: Vec<CountedRow> = sqlx::query_as(COUNT_HOUR)
                    .bind(since.unwrap_or(hour))
                    .bind(through)
                    .fetch_all(&mut *tx)
                    .await?;
                let mut by_service: Vec<(i64, Vec<CountedRow>)> =
                    self.grouped(rows, |r| r.service_id, names).await?.into_iter().collect();
                by_service.sort_unstable_by_key(|(id, _)| *id);
                let ids_by_name: HashMap<Arc<str>, i64> =
                    names.iter().map(|(id, name)| (name.clone(), *id)).collect();
                let day = floor_to(hour, DAY_MS);
                let keep_days = day >= floor_to(plan.now_ms - plan.retention.hourly_ms, DAY_MS);
                let mut previous = None;
                let mut counted_services = 0;
                // A group of services at a time, in the one transaction (the
                // watermark is one for all): every service's hour and day
                // sketches at once lifted RSS by 120-150 MiB for the second
                // the run took at 10,000 services (docs/benchmarks.md).
                for group in by_service.chunks_mut(ROLLUP_GROUP) {
                    let span = (group[0].0, group[group.len() - 1].0);
                    // What earlier runs counted: the group's provisional
                    // hours and day, each in one read.
                    let mut counted = match since {
                        Some(_) => {
                            Self::buckets_at(&mut tx, "hourly_buckets", hour, Some(true), span, &ids_by_name).await?
                        }
                        None => HashMap::new(),
                    };
                    let mut days = match (since, keep_days) {
                        (Some(_), true) => {
                            Self::buckets_at(&mut tx, "daily_buckets", day, None, span, &ids_by_name).await?
                        }
                        _ => HashMap::new(),
                    };
                    if previous.is_none() && group.iter().any(|(id, _)| !counted.contains_key(id)) {
                        previous = Some(Self::previous_last_at(&mut tx, hour).await?);
                    }
                    let mut hours = Vec::with_capacity(group.len());
                    let mut summed_days = Vec::new();
                    let mut days_to_sum = Vec::new();
                    for (id, fresh) in group.iter_mut() {
                        let id = *id;
                        let cap = plan.cap(&names[&id]);
                        fresh.sort_by_key(|r| r.checked_at_ms);
                        let (bucket, added) = match (since, counted.remove(&id)) {
                            (Some(since), Some(mut bucket)) => {
                                let added = Bucket::build(since, through, &fresh[..], bucket.last_at_ms, cap);
                                bucket.merge(&added);
                                (bucket, added)
                            }
                            // The service's first rows this hour.
                            _ => {
                                let prev = previous.as_ref().and_then(|p| p.get(&id).copied().flatten());
                                let bucket = Bucket::build(hour, through, &fresh[..], prev, cap);
                                (bucket.clone(), bucket)
                            }
                        };
                        hours.push((id, bucket));
                        // The day holds the hour as counted so far: what
                        // this run added goes into it too. A new day or a
                        // new hour is summed from its hours instead.
                        match days.remove(&id) {
                            Some(mut daily) if since.is_some() => {
                                daily.merge(&added);
                                summed_days.push((id, daily));
                            }
                            _ => days_to_sum.push(id),
                        }
                    }
                    Self::upsert_buckets(&mut tx, "hourly_buckets", &hours, Some(through)).await?;
                    if keep_days {
                        Self::upsert_buckets(&mut tx, "daily_buckets", &summed_days, None).await?;
                        Self::refresh_days(&mut tx, hour, plan, &days_to_sum, names).await?;
                    }
                    counted_services += hours.len() as u64;
                }
                sqlx::query(SET_WATERMARK).bind(through).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(counted_services)
            }

            /// The bucket starting at `start` in `table` of every service
            /// with an id in `[first, last]`, by service id (`provisional`:
            /// hourly buckets of the hour under way, or finished ones).
            async fn buckets_at(
                tx: &mut sqlx::Transaction<'static, $db>,
                table: &str,
                start: i64,
                provisional: Option<bool>,
                (first, last): (i64, i64),
                ids: &HashMap<Arc<str>, i64>,
            ) -> Result<HashMap<i64, Bucket>, StoreError> {
                let mut q = QueryBuilder::<$db>::new("SELECT ");
                q.push(BUCKET_COLUMNS)
                    .push(format_args!(" FROM {table} b JOIN services s ON s.id = b.service_id WHERE b.start_ms = "))
                    .push_bind(start)
                    .push(" AND b.service_id >= ")
                    .push_bind(first)
                    .push(" AND b.service_id <= ")
                    .push_bind(last);
                match provisional {
                    Some(true) => q.push(" AND b.through_ms IS NOT NULL"),
                    Some(false) => q.push(" AND b.through_ms IS NULL"),
                    None => &mut q,
                };
                let rows: Vec<BucketRow> = q.build_query_as().fetch_all(&mut **tx).await?;
                let mut buckets = HashMap::with_capacity(rows.len());
                for row in rows {
                    let (name, bucket) = <(String, Bucket)>::try_from(row)?;
                    if let Some(id) = ids.get(name.as_str()) {
                        buckets.insert(*id, bucket);
                    }
                }
                Ok(buckets)
            }

            /// Writes buckets, many rows a statement: hourly ones with
            /// `through` (provisional up to then), daily ones without.
            async fn upsert_buckets(
                tx: &mut sqlx::Transaction<'static, $db>,
                table: &str,
                buckets: &[(i64, Bucket)],
                through: Option<i64>,
            ) -> Result<(), StoreError> {
                let hourly = table == "hourly_buckets";
                for chunk in buckets.chunks(ROWS_PER_INSERT) {
                    let mut q = QueryBuilder::<$db>::new(format!(
                        "INSERT INTO {table} (service_id, start_ms, total, successful, known_ms, \
                         latency_sum_us, latency_min_us, latency_max_us, last_at_ms, histogram{}) ",
                        if hourly { ", through_ms" } else { "" }
                    ));
                    q.push_values(chunk, |mut row, (id, bucket)| {
                        row.push_bind(*id)
                            .push_bind(bucket.start_ms)
                            .push_bind(int(bucket.total))
                            .push_bind(int(bucket.successful))
                            .push_bind(int(bucket.known_ms))
                            .push_bind(i64::try_from(bucket.latency_sum_us).unwrap_or(i64::MAX))
                            .push_bind(int(bucket.latency_min_us))
                            .push_bind(int(bucket.latency_max_us))
                            .push_bind(bucket.last_at_ms)
                            .push_bind(bucket.sketch.encode());
                        if hourly {
                            row.push_bind(through);
                        }
                    });
                    q.push(
                        " ON CONFLICT (service_id, start_ms) DO UPDATE SET total = excluded.total, \
                         successful = excluded.successful, known_ms = excluded.known_ms, \
                         latency_sum_us = excluded.latency_sum_us, latency_min_us = excluded.latency_min_us, \
                         latency_max_us = excluded.latency_max_us, last_at_ms = excluded.last_at_ms, \
                         histogram = excluded.histogram",
                    );
                    if hourly {
                        q.push(", through_ms = excluded.through_ms");
                    }
                    // Not kept prepared: see `ROWS_PER_INSERT`.
                    q.build().persistent(false).execute(&mut **tx).await?;
                }
                Ok(())
            }

            /// Hot rows by service id, as results.
            async fn by_service(
                &self,
                rows: Vec<HotRow>,
                names: &mut HashMap<i64, Arc<str>>,
            ) -> Result<HashMap<i64, Vec<ProbeResult>>, StoreError> {
                let grouped = self.grouped(rows, |r| r.service_id, names).await?;
                grouped
                    .into_iter()
                    .map(|(id, rows)| {
                        let name = &names[&id];
                        let results = rows.into_iter().map(|r| r.into_result(name.clone()));
                        Ok((id, results.collect::<Result<Vec<_>, _>>()?))
                    })
                    .collect()
            }

            /// `rows` by their service's id, every id named in `names`
            /// (read again when a service is new to it); a row of a
            /// service that has no name is corrupt.
            async fn grouped<R: Send>(
                &self,
                rows: Vec<R>,
                id_of: fn(&R) -> i64,
                names: &mut HashMap<i64, Arc<str>>,
            ) -> Result<HashMap<i64, Vec<R>>, StoreError> {
                if rows.iter().any(|r| !names.contains_key(&id_of(r))) {
                    *names = self.names().await?;
                }
                let mut by_service: HashMap<i64, Vec<R>> = HashMap::new();
                for row in rows {
                    let id = id_of(&row);
                    if !names.contains_key(&id) {
                        return Err(StoreError::Corrupt(format!("result of unknown service {id}")));
                    }
                    by_service.entry(id).or_default().push(row);
                }
                Ok(by_service)
            }

            /// Each service's newest result time before `hour` (looking
            /// back a day), from its hourly buckets.
            async fn previous_last_at(
                tx: &mut sqlx::Transaction<'static, $db>,
                hour: i64,
            ) -> Result<HashMap<i64, Option<i64>>, StoreError> {
                Ok(sqlx::query_as(PREVIOUS_LAST_AT)
                    .bind(hour)
                    .bind(hour - DAY_MS)
                    .fetch_all(&mut **tx)
                    .await?
                    .into_iter()
                    .collect())
            }

            /// A service's bucket of `hour`: its provisional one, or its
            /// finished one.
            async fn hour_bucket(
                tx: &mut sqlx::Transaction<'static, $db>,
                id: i64,
                hour: i64,
                provisional: bool,
            ) -> Result<Option<Bucket>, StoreError> {
                let mut q = QueryBuilder::<$db>::new("SELECT ");
                q.push(BUCKET_COLUMNS)
                    .push(" FROM hourly_buckets b JOIN services s ON s.id = b.service_id WHERE b.service_id = ")
                    .push_bind(id)
                    .push(" AND b.start_ms = ")
                    .push_bind(hour)
                    .push(if provisional {
                        " AND b.through_ms IS NOT NULL"
                    } else {
                        " AND b.through_ms IS NULL"
                    });
                match q.build_query_as::<BucketRow>().fetch_optional(&mut **tx).await? {
                    Some(row) => Ok(Some(<(String, Bucket)>::try_from(row)?.1)),
                    None => Ok(None),
                }
            }

            /// The day of `hour`, for services `ids`: the sum of its hours,
            /// while they are all kept.
            async fn refresh_days(
                tx: &mut sqlx::Transaction<'static, $db>,
                hour: i64,
                plan: &RollupPlan,
                ids: &[i64],
                names: &HashMap<i64, Arc<str>>,
            ) -> Result<(), StoreError> {
                let day = floor_to(hour, DAY_MS);
                if ids.is_empty() || day < floor_to(plan.now_ms - plan.retention.hourly_ms, DAY_MS) {
                    return Ok(());
                }
                let mut q = QueryBuilder::<$db>::new("SELECT ");
                q.push(BUCKET_COLUMNS)
                    .push(" FROM services s JOIN hourly_buckets b ON b.service_id = s.id AND b.start_ms >= ")
                    .push_bind(day)
                    .push(" AND b.start_ms < ")
                    .push_bind(day + DAY_MS)
                    .push(" WHERE s.id IN (");
                let mut list = q.separated(", ");
                for id in ids {
                    list.push_bind(*id);
                }
                q.push(")");
                let rows: Vec<BucketRow> = q.build_query_as().fetch_all(&mut **tx).await?;
                let mut days: HashMap<String, Bucket> = HashMap::new();
                for row in rows {
                    let (name, hour_bucket) = <(String, Bucket)>::try_from(row)?;
                    days.entry(name).or_insert_with(|| Bucket::empty(day)).merge(&hour_bucket);
                }
                let ids_by_name: HashMap<&str, i64> =
                    ids.iter().map(|id| (&*names[id], *id)).collect();
                for (name, bucket) in &days {
                    Self::bind_bucket(sqlx::query(UPSERT_DAY), ids_by_name[name.as_str()], bucket)
                        .execute(&mut **tx)
                        .await?;
                }
                Ok(())
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
                let mut tx = self.begin_write().await?;
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
                    // Not kept prepared: see `ROWS_PER_INSERT`.
                    insert.build().persistent(false).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn insert_status_changes(&self, changes: &[StatusChange]) -> Result<(), StoreError> {
                if changes.is_empty() {
                    return Ok(());
                }
                let ids = self.service_ids(changes.iter().map(|c| c.service.as_str())).await?;
                let mut tx = self.begin_write().await?;
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
                    // Not kept prepared: see `ROWS_PER_INSERT`.
                    insert.build().persistent(false).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn latest_results(&self) -> Result<Vec<ProbeResult>, StoreError> {
                let rows: Vec<ResultRow> = sqlx::query_as(LATEST_RESULTS).fetch_all(&self.pool).await?;
                let mut latest: Vec<ProbeResult> =
                    rows.into_iter().map(ProbeResult::try_from).collect::<Result<_, _>>()?;
                // Services without hot rows (Hale was off for over an hour):
                // their newest packed hour.
                let packed: Vec<PackedRow> = sqlx::query_as(LATEST_PACKED).fetch_all(&self.pool).await?;
                for row in packed {
                    if latest.iter().any(|r| *r.service == *row.name) {
                        continue;
                    }
                    if let Some(last) = row.unpack()?.pop() {
                        latest.push(last);
                    }
                }
                latest.sort_by(|a, b| a.service.cmp(&b.service));
                Ok(latest)
            }

            async fn recent_results(&self, service: &str, limit: u32) -> Result<Vec<ProbeResult>, StoreError> {
                self.results_between(service, i64::MIN, i64::MAX, limit).await
            }

            async fn results_between(
                &self,
                service: &str,
                from_ms: i64,
                to_ms: i64,
                limit: u32,
            ) -> Result<Vec<ProbeResult>, StoreError> {
                // One snapshot: an hour rolled up between reading the hot
                // rows and the packed hours would otherwise be read twice.
                let mut tx = self.pool.begin().await?;
                if let Some(sql) = $snapshot_sql {
                    sqlx::query(sql).execute(&mut *tx).await?;
                }
                let rows: Vec<ResultRow> = sqlx::query_as(RECENT_RESULTS)
                    .bind(service)
                    .bind(from_ms)
                    .bind(to_ms)
                    .bind(i64::from(limit))
                    .fetch_all(&mut *tx)
                    .await?;
                let mut results: Vec<ProbeResult> =
                    rows.into_iter().map(ProbeResult::try_from).collect::<Result<_, _>>()?;
                // Then packed hours, newest first, a few at a time.
                let mut before = to_ms;
                while results.len() < limit as usize {
                    let packed: Vec<PackedRow> = sqlx::query_as(PACKED_BEFORE)
                        .bind(service)
                        .bind(floor_to(from_ms, HOUR_MS))
                        .bind(before)
                        .fetch_all(&mut *tx)
                        .await?;
                    let Some(oldest) = packed.last().map(|p| p.start_ms) else {
                        break;
                    };
                    for row in packed {
                        let mut hour = row.unpack()?;
                        hour.retain(|r| (from_ms..to_ms).contains(&r.checked_at.timestamp_millis()));
                        results.extend(hour.into_iter().rev());
                    }
                    before = oldest;
                }
                tx.commit().await?;
                results.truncate(limit as usize);
                Ok(results)
            }

            async fn roll_up(&self, plan: &RollupPlan) -> Result<RollupReport, StoreError> {
                let cutoff = floor_to(plan.now_ms - plan.grace_ms, HOUR_MS);
                let mut names = self.names().await?;
                let mut report = RollupReport::default();
                loop {
                    let first: Option<i64> =
                        sqlx::query_scalar("SELECT MIN(checked_at_ms) FROM probe_results WHERE checked_at_ms < $1")
                            .bind(cutoff)
                            .fetch_one(&self.pool)
                            .await?;
                    let Some(first) = first else { break };
                    let (results, buckets) = self.roll_up_hour(floor_to(first, HOUR_MS), plan, &mut names).await?;
                    report.results += results;
                    report.hours += buckets;
                }
                // The hour under way, up to the grace before now: readers
                // then meet at most a few minutes of hot rows.
                let through = plan.now_ms - plan.grace_ms;
                report.provisional = self.roll_up_under_way(cutoff, through, plan, &mut names).await?;
                let raw_cutoff = plan.now_ms - plan.retention.raw_ms;
                report.raw_dropped = sqlx::query(
                    "DELETE FROM raw_hours WHERE start_ms + $1 <= $2",
                )
                .bind(HOUR_MS)
                .bind(raw_cutoff)
                .execute(&self.pool)
                .await?
                .rows_affected();
                report.hours_dropped = sqlx::query("DELETE FROM hourly_buckets WHERE start_ms < $1")
                    .bind(floor_to(plan.now_ms - plan.retention.hourly_ms, DAY_MS))
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
                Ok(report)
            }

            async fn read_history(&self, read: &HistoryRead) -> Result<HistoryData, StoreError> {
                let mut tx = self.pool.begin().await?;
                if let Some(sql) = $snapshot_sql {
                    sqlx::query(sql).execute(&mut *tx).await?;
                }
                let mut data = HistoryData::default();
                if read.days.is_some() {
                    data.generation =
                        sqlx::query_scalar("SELECT value FROM history_state WHERE name = 'generation'")
                            .fetch_optional(&mut *tx)
                            .await?;
                }
                if let Some((from, to)) = read.days {
                    data.days = Self::read_buckets(&mut tx, Resolution::Day, &read.services, from, to, read.detail).await?;
                }
                if let Some((from, to)) = read.hours {
                    data.hours = Self::read_buckets(&mut tx, Resolution::Hour, &read.services, from, to, read.detail).await?;
                }
                if let Some((from, to)) = read.hot {
                    data.watermark_ms = sqlx::query_scalar(
                        "SELECT value FROM history_state WHERE name = 'provisional_through_ms'",
                    )
                    .fetch_optional(&mut *tx)
                    .await?;
                    let from = from.max(data.watermark_ms.unwrap_or(i64::MIN));
                    if from < to {
                        data.hot = Self::read_hot(&mut tx, &read.services, from, to, read.detail).await?;
                    }
                }
                if let Some((from, to)) = read.changes {
                    data.changes = Self::read_changes(&mut tx, &read.services, from, to).await?;
                }
                tx.commit().await?;
                Ok(data)
            }

            async fn storage_bytes(&self) -> Result<u64, StoreError> {
                let bytes: i64 = sqlx::query_scalar($size_sql).fetch_one(&self.pool).await?;
                Ok(u64::try_from(bytes).unwrap_or(0))
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

            fn accounts(&self) -> &dyn super::accounts::AccountStore {
                self
            }

            fn alerts(&self) -> &dyn super::alerts::AlertStore {
                self
            }
        }
    };
}

sql_store!(
    SqliteStore,
    Sqlite,
    SqlitePool,
    "sqlite",
    sqlx::migrate!("../migrations/sqlite"),
    "SELECT (p.page_count - f.freelist_count) * s.page_size
     FROM pragma_page_count() p, pragma_freelist_count() f, pragma_page_size() s",
    // A deferred transaction reads one snapshot in WAL mode.
    None::<&str>,
    Some("BEGIN IMMEDIATE"),
    "group_concat"
);
sql_store!(
    PostgresStore,
    Postgres,
    PgPool,
    "postgres",
    sqlx::migrate!("../migrations/postgres"),
    "SELECT CAST(pg_total_relation_size('services') + pg_total_relation_size('probe_results')
        + pg_total_relation_size('status_changes') + pg_total_relation_size('hourly_buckets')
        + pg_total_relation_size('daily_buckets') + pg_total_relation_size('raw_hours') AS BIGINT)",
    // Every read of a history answer sees the same roll-up state.
    Some("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"),
    // Row locks: the roll-up and the writer touch different rows.
    None::<&str>,
    "string_agg"
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
