//! What alerting keeps (docs/api.md, "Alerts"): each alert, and the
//! outbox of its messages to channels, on both backends with one body of
//! queries. An alert and its messages are written in one transaction
//! before anything is sent; the sender records every attempt.

use super::sql::{PostgresStore, SqliteStore};
use super::StoreError;
use async_trait::async_trait;

/// An alert: a rule of a service that fired, and when it resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertRow {
    /// The store's; 0 for a new one.
    pub id: i64,
    pub service: String,
    pub rule: String,
    pub severity: String,
    pub fired_at_ms: i64,
    pub resolved_at_ms: Option<i64>,
    pub message: String,
}

/// One message of an alert to one channel, with its alert.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryRow {
    pub id: i64,
    pub alert: AlertRow,
    /// `firing`, `resolved` or `renotify`.
    pub event: String,
    pub channel: String,
    pub created_at_ms: i64,
    /// When the next attempt is due; `None` once delivered or given up.
    pub due_at_ms: Option<i64>,
    pub attempts: i64,
    pub delivered_at_ms: Option<i64>,
    pub given_up_at_ms: Option<i64>,
    pub last_error: Option<String>,
}

/// Alerts and their outbox.
#[async_trait]
pub trait AlertStore: Send + Sync {
    /// Alerts not resolved yet.
    async fn open_alerts(&self) -> Result<Vec<AlertRow>, StoreError>;
    /// Opens `alert` and queues a `firing` message to each of `channels`,
    /// due at once, and a `renotify` one due at `renotify_at_ms` if given;
    /// its id. [`StoreError::Conflict`] when the rule is already open for
    /// the service.
    async fn fire(
        &self,
        alert: &AlertRow,
        channels: &[String],
        renotify_at_ms: Option<i64>,
    ) -> Result<i64, StoreError>;
    /// Resolves alert `id` at `at_ms`, drops its `renotify` messages not
    /// sent yet and queues a `resolved` message to each of `channels`;
    /// false if it was not open.
    async fn resolve(&self, id: i64, at_ms: i64, channels: &[String]) -> Result<bool, StoreError>;
    /// Queues an `event` message of alert `id` to `channels`, due at
    /// `at_ms`, if the alert is still open.
    async fn queue(
        &self,
        id: i64,
        event: &str,
        channels: &[String],
        at_ms: i64,
    ) -> Result<(), StoreError>;
    /// Messages `ids`, not sent yet, wait until `at_ms`.
    async fn postpone(&self, ids: &[i64], at_ms: i64) -> Result<(), StoreError>;
    /// Messages due by `now_ms`, oldest first, at most `limit`.
    async fn due(&self, now_ms: i64, limit: u32) -> Result<Vec<DeliveryRow>, StoreError>;
    /// When the next message is due, if any is waiting.
    async fn next_due(&self) -> Result<Option<i64>, StoreError>;
    /// An attempt that delivered messages `ids` (one message may carry
    /// several: a storm's).
    async fn delivered(&self, ids: &[i64], at_ms: i64) -> Result<(), StoreError>;
    /// An attempt at messages `ids` that failed with `error`: tried again
    /// at `retry_at_ms`, or given up at `at_ms` when `None`.
    async fn failed(
        &self,
        ids: &[i64],
        at_ms: i64,
        error: &str,
        retry_at_ms: Option<i64>,
    ) -> Result<(), StoreError>;
    /// Open alerts by severity, and messages by channel and outcome.
    async fn counts(&self) -> Result<AlertCounts, StoreError>;
    /// Messages older than `before` (an id; all when `None`), newest first.
    async fn deliveries(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<DeliveryRow>, StoreError>;
}

/// What `/metrics` shows of alerting.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AlertCounts {
    /// (severity, alerts open).
    pub open: Vec<(String, i64)>,
    /// (channel, outcome, messages): outcome `delivered`, `queued`
    /// (waiting for its time, a first attempt or a retry) or `given_up`.
    pub messages: Vec<(String, String, i64)>,
}

#[derive(sqlx::FromRow)]
struct AlertSql {
    id: i64,
    service: String,
    rule: String,
    severity: String,
    fired_at_ms: i64,
    resolved_at_ms: Option<i64>,
    message: String,
}

impl From<AlertSql> for AlertRow {
    fn from(r: AlertSql) -> AlertRow {
        AlertRow {
            id: r.id,
            service: r.service,
            rule: r.rule,
            severity: r.severity,
            fired_at_ms: r.fired_at_ms,
            resolved_at_ms: r.resolved_at_ms,
            message: r.message,
        }
    }
}

#[derive(sqlx::FromRow)]
struct DeliverySql {
    id: i64,
    alert_id: i64,
    event: String,
    channel: String,
    created_at_ms: i64,
    due_at_ms: Option<i64>,
    attempts: i64,
    delivered_at_ms: Option<i64>,
    given_up_at_ms: Option<i64>,
    last_error: Option<String>,
    service: String,
    rule: String,
    severity: String,
    fired_at_ms: i64,
    resolved_at_ms: Option<i64>,
    message: String,
}

impl From<DeliverySql> for DeliveryRow {
    fn from(r: DeliverySql) -> DeliveryRow {
        DeliveryRow {
            id: r.id,
            alert: AlertRow {
                id: r.alert_id,
                service: r.service,
                rule: r.rule,
                severity: r.severity,
                fired_at_ms: r.fired_at_ms,
                resolved_at_ms: r.resolved_at_ms,
                message: r.message,
            },
            event: r.event,
            channel: r.channel,
            created_at_ms: r.created_at_ms,
            due_at_ms: r.due_at_ms,
            attempts: r.attempts,
            delivered_at_ms: r.delivered_at_ms,
            given_up_at_ms: r.given_up_at_ms,
            last_error: r.last_error,
        }
    }
}

const ALERT_COLUMNS: &str = "id, service, rule, severity, fired_at_ms, resolved_at_ms, message";
const DELIVERY_SELECT: &str = "SELECT d.id, d.alert_id, d.event, d.channel, d.created_at_ms, \
     d.due_at_ms, d.attempts, d.delivered_at_ms, d.given_up_at_ms, d.last_error, a.service, \
     a.rule, a.severity, a.fired_at_ms, a.resolved_at_ms, a.message \
     FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id";
/// An `event` message to each of `channels`, due at `at_ms`, as
/// `insert_deliveries` takes them.
fn to_each<'a>(event: &'a str, channels: &'a [String], at_ms: i64) -> Vec<(&'a str, &'a str, i64)> {
    channels
        .iter()
        .map(|c| (event, c.as_str(), at_ms))
        .collect()
}

/// Ids bound in one statement at most (well under either backend's limit).
const IDS_AT_ONCE: usize = 1_000;

macro_rules! alert_store {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Queues messages of alert `id`, each `(event, channel, due
            /// at)`, in one statement in `tx`.
            async fn insert_deliveries(
                tx: &mut sqlx::Transaction<'static, $db>,
                id: i64,
                messages: &[(&str, &str, i64)],
            ) -> Result<(), StoreError> {
                if messages.is_empty() {
                    return Ok(());
                }
                let mut insert = sqlx::QueryBuilder::<$db>::new(
                    "INSERT INTO alert_deliveries (alert_id, event, channel, created_at_ms, due_at_ms) ",
                );
                insert.push_values(messages, |mut row, (event, channel, at_ms)| {
                    row.push_bind(id)
                        .push_bind(*event)
                        .push_bind(*channel)
                        .push_bind(*at_ms)
                        .push_bind(*at_ms);
                });
                // Its text changes with the count: not kept prepared (as
                // the store's many-row inserts, `store/sql.rs`).
                insert.build().persistent(false).execute(&mut **tx).await?;
                Ok(())
            }

            /// Runs `UPDATE alert_deliveries SET <set> WHERE <only> id IN
            /// (ids)`, `set` written by `set` onto the builder, a chunk of
            /// ids at a time, in one transaction.
            async fn update_ids(
                &self,
                ids: &[i64],
                only: &str,
                set: impl Fn(&mut sqlx::QueryBuilder<'_, $db>),
            ) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await?;
                for chunk in ids.chunks(IDS_AT_ONCE) {
                    let mut update = sqlx::QueryBuilder::<$db>::new("UPDATE alert_deliveries SET ");
                    set(&mut update);
                    update.push(" WHERE ").push(only).push(" id IN (");
                    let mut list = update.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    list.push_unseparated(")");
                    // Its text changes with the count: not kept prepared.
                    update.build().persistent(false).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }
        }

        #[async_trait]
        impl AlertStore for $store {
            async fn open_alerts(&self) -> Result<Vec<AlertRow>, StoreError> {
                Ok(sqlx::query_as::<_, AlertSql>(&format!(
                    "SELECT {ALERT_COLUMNS} FROM alerts WHERE resolved_at_ms IS NULL ORDER BY id"
                ))
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(AlertRow::from)
                .collect())
            }

            async fn fire(
                &self,
                a: &AlertRow,
                channels: &[String],
                renotify_at_ms: Option<i64>,
            ) -> Result<i64, StoreError> {
                let mut tx = self.pool.begin().await?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO alerts (service, rule, severity, fired_at_ms, message)
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(&a.service)
                .bind(&a.rule)
                .bind(&a.severity)
                .bind(a.fired_at_ms)
                .bind(&a.message)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| match &e {
                    sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict(
                        format!("{} of {} is already firing", a.rule, a.service),
                    ),
                    _ => StoreError::Database(e),
                })?;
                let mut messages = to_each("firing", channels, a.fired_at_ms);
                if let Some(at_ms) = renotify_at_ms {
                    messages.extend(to_each("renotify", channels, at_ms));
                }
                Self::insert_deliveries(&mut tx, id, &messages).await?;
                tx.commit().await?;
                Ok(id)
            }

            async fn resolve(
                &self,
                id: i64,
                at_ms: i64,
                channels: &[String],
            ) -> Result<bool, StoreError> {
                let mut tx = self.pool.begin().await?;
                let done = sqlx::query(
                    "UPDATE alerts SET resolved_at_ms = $1 WHERE id = $2 AND resolved_at_ms IS NULL",
                )
                .bind(at_ms)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                sqlx::query(
                    "DELETE FROM alert_deliveries WHERE alert_id = $1 AND event = 'renotify'
                        AND delivered_at_ms IS NULL AND given_up_at_ms IS NULL",
                )
                .bind(id)
                .execute(&mut *tx)
                .await?;
                Self::insert_deliveries(&mut tx, id, &to_each("resolved", channels, at_ms))
                    .await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn queue(
                &self,
                id: i64,
                event: &str,
                channels: &[String],
                at_ms: i64,
            ) -> Result<(), StoreError> {
                // One statement each, writing first: no read lock to
                // upgrade on SQLite.
                let mut tx = self.pool.begin().await?;
                for channel in channels {
                    sqlx::query(
                        "INSERT INTO alert_deliveries (alert_id, event, channel, created_at_ms,
                            due_at_ms) SELECT $1, $2, $3, $4, $4 WHERE EXISTS
                            (SELECT 1 FROM alerts WHERE id = $1 AND resolved_at_ms IS NULL)",
                    )
                    .bind(id)
                    .bind(event)
                    .bind(channel)
                    .bind(at_ms)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn postpone(&self, ids: &[i64], at_ms: i64) -> Result<(), StoreError> {
                self.update_ids(ids, "due_at_ms IS NOT NULL AND", |q| {
                    q.push("due_at_ms = ").push_bind(at_ms);
                })
                .await
            }

            async fn counts(&self) -> Result<AlertCounts, StoreError> {
                let open = sqlx::query_as::<_, (String, i64)>(
                    "SELECT severity, COUNT(*) FROM alerts WHERE resolved_at_ms IS NULL
                     GROUP BY severity ORDER BY severity",
                )
                .fetch_all(&self.pool)
                .await?;
                let messages = sqlx::query_as::<_, (String, String, i64)>(
                    "SELECT channel, CASE WHEN delivered_at_ms IS NOT NULL THEN 'delivered'
                        WHEN given_up_at_ms IS NOT NULL THEN 'given_up' ELSE 'queued' END AS outcome,
                        COUNT(*) FROM alert_deliveries GROUP BY 1, 2 ORDER BY 1, 2",
                )
                .fetch_all(&self.pool)
                .await?;
                Ok(AlertCounts { open, messages })
            }

            async fn due(&self, now_ms: i64, limit: u32) -> Result<Vec<DeliveryRow>, StoreError> {
                Ok(sqlx::query_as::<_, DeliverySql>(&format!(
                    "{DELIVERY_SELECT} WHERE d.due_at_ms IS NOT NULL AND d.due_at_ms <= $1
                     ORDER BY d.due_at_ms, d.id LIMIT $2"
                ))
                .bind(now_ms)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(DeliveryRow::from)
                .collect())
            }

            async fn next_due(&self) -> Result<Option<i64>, StoreError> {
                Ok(sqlx::query_scalar(
                    "SELECT MIN(due_at_ms) FROM alert_deliveries WHERE due_at_ms IS NOT NULL",
                )
                .fetch_one(&self.pool)
                .await?)
            }

            async fn delivered(&self, ids: &[i64], at_ms: i64) -> Result<(), StoreError> {
                self.update_ids(ids, "", |q| {
                    q.push("attempts = attempts + 1, delivered_at_ms = ")
                        .push_bind(at_ms)
                        .push(", due_at_ms = NULL, last_error = NULL");
                })
                .await
            }

            async fn failed(
                &self,
                ids: &[i64],
                at_ms: i64,
                error: &str,
                retry_at_ms: Option<i64>,
            ) -> Result<(), StoreError> {
                let given_up = retry_at_ms.is_none().then_some(at_ms);
                let error = error.to_string();
                self.update_ids(ids, "", |q| {
                    q.push("attempts = attempts + 1, last_error = ")
                        .push_bind(error.clone())
                        .push(", due_at_ms = ")
                        .push_bind(retry_at_ms)
                        .push(", given_up_at_ms = ")
                        .push_bind(given_up);
                })
                .await
            }

            async fn deliveries(
                &self,
                before: Option<i64>,
                limit: u32,
            ) -> Result<Vec<DeliveryRow>, StoreError> {
                Ok(sqlx::query_as::<_, DeliverySql>(&format!(
                    "{DELIVERY_SELECT} WHERE d.id < $1 ORDER BY d.id DESC LIMIT $2"
                ))
                .bind(before.unwrap_or(i64::MAX))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(DeliveryRow::from)
                .collect())
            }
        }
    };
}

alert_store!(SqliteStore, sqlx::Sqlite);
alert_store!(PostgresStore, sqlx::Postgres);
