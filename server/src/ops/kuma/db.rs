//! Reading an Uptime Kuma database, read-only: 1.23's schema or 2.x's.
//!
//! Kuma's schema grew by a patch or a migration at a time, and a column
//! one version has another lacks, so rows are read by column name, every
//! value as text: a column that isn't there reads as unset, and nothing
//! here needs to know which release added what. The versions are told
//! apart by the tables 2.x added (`knex_migrations`, `stat_daily`).

use chrono::{DateTime, NaiveDateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::Row as _;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// Why a Kuma database could not be read.
#[derive(Debug, thiserror::Error)]
pub enum KumaError {
    #[error("cannot open {}: {source}", path.display())]
    Open { path: PathBuf, source: sqlx::Error },
    #[error("{} is not an Uptime Kuma database: it has no `monitor` table", .0.display())]
    NotKuma(PathBuf),
    #[error("reading the Kuma database: {0}")]
    Read(#[from] sqlx::Error),
}

/// Which of Kuma's schemas a database has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Schema {
    /// 1.23 and the 1.x releases before it: `db/patch-*.sql`.
    V1,
    /// 2.x: knex migrations, aggregate `stat_*` tables.
    V2,
}

impl Schema {
    pub fn label(self) -> &'static str {
        match self {
            Schema::V1 => "1.23",
            Schema::V2 => "2.x",
        }
    }
}

/// One row, every non-null column as text.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Row(pub BTreeMap<String, String>);

impl Row {
    /// The column's text, `None` when null, absent or blank.
    pub fn text(&self, column: &str) -> Option<&str> {
        self.0
            .get(column)
            .map(String::as_str)
            .filter(|t| !t.trim().is_empty())
    }

    /// The column as a number (a real is cut to a whole one).
    pub fn int(&self, column: &str) -> Option<i64> {
        let text = self.text(column)?.trim();
        text.parse()
            .ok()
            .or_else(|| text.parse::<f64>().ok().map(|f| f as i64))
    }

    pub fn real(&self, column: &str) -> Option<f64> {
        self.text(column)?
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
    }

    /// A BOOLEAN column: `1` or `true`.
    pub fn flag(&self, column: &str) -> bool {
        matches!(self.text(column).map(str::trim), Some("1" | "true"))
    }
}

/// A monitor of these columns and nothing else, for tests.
#[cfg(test)]
pub fn monitor(id: i64, columns: &[(&str, &str)]) -> Monitor {
    Monitor {
        id,
        row: Row(columns
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()),
        ..Monitor::default()
    }
}

/// A monitor, with what hangs off it in other tables.
#[derive(Clone, Debug, Default)]
pub struct Monitor {
    pub id: i64,
    pub row: Row,
    /// Names of the notifications it sends to.
    pub notifications: Vec<String>,
    /// `name` or `name:value`.
    pub tags: Vec<String>,
    /// Titles of the maintenance windows it is in.
    pub maintenance: Vec<String>,
}

impl Monitor {
    pub fn name(&self) -> &str {
        self.row.text("name").map_or("", str::trim)
    }

    pub fn kind(&self) -> &str {
        self.row.text("type").map_or("", str::trim)
    }
}

/// A status page and its groups of monitors, in Kuma's order.
#[derive(Clone, Debug, Default)]
pub struct Page {
    pub id: i64,
    pub row: Row,
    pub groups: Vec<PageGroup>,
    pub incidents: usize,
    pub domains: Vec<String>,
    pub maintenance: usize,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct PageGroup {
    pub name: String,
    pub monitors: Vec<i64>,
}

/// One heartbeat, as Kuma stored it.
#[derive(Clone, Debug, PartialEq)]
pub struct Beat {
    pub at: DateTime<Utc>,
    /// 0 down, 1 up, 2 pending, 3 maintenance.
    pub status: i64,
    pub ping_ms: Option<f64>,
    pub msg: String,
}

/// A heartbeat as read: status, time, ping and message.
type BeatRow = (Option<i64>, Option<String>, Option<f64>, Option<String>);

/// An opened Kuma database and everything but its heartbeats.
pub struct KumaDb {
    pub schema: Schema,
    pub monitors: Vec<Monitor>,
    pub pages: Vec<Page>,
    pool: SqlitePool,
}

impl KumaDb {
    /// Opens `path` read-only and reads its monitors and status pages.
    pub async fn open(path: &Path) -> Result<KumaDb, KumaError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .read_only(true)
            .create_if_missing(false);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(|source| KumaError::Open {
                path: path.to_path_buf(),
                source,
            })?;
        let tables: BTreeSet<String> =
            sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
                .fetch_all(&pool)
                .await
                .map_err(|source| KumaError::Open {
                    path: path.to_path_buf(),
                    source,
                })?
                .into_iter()
                .collect();
        if !tables.contains("monitor") {
            return Err(KumaError::NotKuma(path.to_path_buf()));
        }
        let schema = if tables.contains("knex_migrations") || tables.contains("stat_daily") {
            Schema::V2
        } else {
            Schema::V1
        };
        let mut monitors: Vec<Monitor> = rows(&pool, "monitor", "id")
            .await?
            .into_iter()
            .map(|row| Monitor {
                id: row.int("id").unwrap_or_default(),
                row,
                ..Monitor::default()
            })
            .collect();
        let mut by_id: HashMap<i64, usize> = HashMap::new();
        for (i, m) in monitors.iter().enumerate() {
            by_id.insert(m.id, i);
        }
        let mut attach = |pairs: Vec<(i64, String)>, pick: fn(&mut Monitor) -> &mut Vec<String>| {
            for (id, what) in pairs {
                if let Some(&i) = by_id.get(&id) {
                    pick(&mut monitors[i]).push(what);
                }
            }
        };
        if tables.contains("monitor_notification") && tables.contains("notification") {
            let pairs = pairs(
                &pool,
                "SELECT mn.monitor_id, COALESCE(n.name, '#' || mn.notification_id)
                 FROM monitor_notification mn LEFT JOIN notification n ON n.id = mn.notification_id
                 ORDER BY mn.monitor_id, mn.id",
            )
            .await?;
            attach(pairs, |m| &mut m.notifications);
        }
        if tables.contains("monitor_tag") && tables.contains("tag") {
            let pairs = pairs(
                &pool,
                "SELECT mt.monitor_id, t.name || CASE WHEN COALESCE(mt.value, '') = '' THEN ''
                        ELSE ':' || mt.value END
                 FROM monitor_tag mt JOIN tag t ON t.id = mt.tag_id
                 ORDER BY mt.monitor_id, mt.id",
            )
            .await?;
            attach(pairs, |m| &mut m.tags);
        }
        if tables.contains("monitor_maintenance") && tables.contains("maintenance") {
            let pairs = pairs(
                &pool,
                "SELECT mm.monitor_id, m.title
                 FROM monitor_maintenance mm JOIN maintenance m ON m.id = mm.maintenance_id
                 ORDER BY mm.monitor_id, mm.id",
            )
            .await?;
            attach(pairs, |m| &mut m.maintenance);
        }
        let pages = if tables.contains("status_page") {
            read_pages(&pool, &tables).await?
        } else {
            Vec::new()
        };
        Ok(KumaDb {
            schema,
            monitors,
            pages,
            pool,
        })
    }

    pub fn monitor(&self, id: i64) -> Option<&Monitor> {
        self.monitors.iter().find(|m| m.id == id)
    }

    /// A monitor's heartbeats from `since` on, oldest first; `unreadable`
    /// counts the ones whose time could not be read.
    pub async fn heartbeats(
        &self,
        monitor: i64,
        since: DateTime<Utc>,
        unreadable: &mut u64,
    ) -> Result<Vec<Beat>, KumaError> {
        // Kuma writes `YYYY-MM-DD HH:MM:SS.SSS` in UTC, which sorts as
        // text; a day's slack lets other spellings through to the exact
        // comparison below.
        let from = (since - chrono::Duration::days(1))
            .format("%Y-%m-%d %H:%M:%S")
            .to_string();
        let rows: Vec<BeatRow> = sqlx::query_as(
            "SELECT CAST(status AS INTEGER), CAST(time AS TEXT), CAST(ping AS REAL),
                        CAST(msg AS TEXT)
                 FROM heartbeat WHERE monitor_id = ? AND time >= ? ORDER BY time, id",
        )
        .bind(monitor)
        .bind(from)
        .fetch_all(&self.pool)
        .await?;
        let mut beats = Vec::with_capacity(rows.len());
        for (status, time, ping, msg) in rows {
            let Some(at) = time.as_deref().and_then(parse_time) else {
                *unreadable += 1;
                continue;
            };
            if at < since {
                continue;
            }
            beats.push(Beat {
                at,
                status: status.unwrap_or(0),
                ping_ms: ping.filter(|p| p.is_finite() && *p >= 0.0),
                msg: msg.unwrap_or_default(),
            });
        }
        beats.sort_by_key(|b| b.at);
        Ok(beats)
    }

    /// How many of a monitor's heartbeats are older than `before`.
    pub async fn count_before(
        &self,
        monitor: i64,
        before: DateTime<Utc>,
    ) -> Result<u64, KumaError> {
        let before = before.format("%Y-%m-%d %H:%M:%S").to_string();
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM heartbeat WHERE monitor_id = ? AND time < ?")
                .bind(monitor)
                .bind(before)
                .fetch_one(&self.pool)
                .await?;
        Ok(count.max(0) as u64)
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Kuma's heartbeat times: UTC, `2024-05-01 12:00:00.123` (1.23 and 2.x
/// alike), with or without the fraction; ISO spellings are taken too.
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .map(|naive| naive.and_utc())
}

/// Every row of `table`, each column as text, ordered by `order`.
async fn rows(pool: &SqlitePool, table: &str, order: &str) -> Result<Vec<Row>, sqlx::Error> {
    let columns: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info(?)")
        .bind(table)
        .fetch_all(pool)
        .await?;
    let quote = |name: &str| format!("\"{}\"", name.replace('"', "\"\""));
    let select: Vec<String> = columns
        .iter()
        .map(|c| format!("CAST({} AS TEXT)", quote(c)))
        .collect();
    let sql = format!(
        "SELECT {} FROM {} ORDER BY {order}",
        select.join(", "),
        quote(table)
    );
    let mut out = Vec::new();
    for row in sqlx::query(&sql).fetch_all(pool).await? {
        let mut values = BTreeMap::new();
        for (i, column) in columns.iter().enumerate() {
            if let Some(value) = row.try_get::<Option<String>, _>(i)? {
                values.insert(column.clone(), value);
            }
        }
        out.push(Row(values));
    }
    Ok(out)
}

/// `(monitor or page id, text)` pairs a query returns.
async fn pairs(pool: &SqlitePool, sql: &str) -> Result<Vec<(i64, String)>, sqlx::Error> {
    let rows: Vec<(Option<i64>, Option<String>)> = sqlx::query_as(sql).fetch_all(pool).await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, text)| Some((id?, text.unwrap_or_default())))
        .collect())
}

async fn read_pages(
    pool: &SqlitePool,
    tables: &BTreeSet<String>,
) -> Result<Vec<Page>, sqlx::Error> {
    let mut pages: Vec<Page> = rows(pool, "status_page", "id")
        .await?
        .into_iter()
        .map(|row| Page {
            id: row.int("id").unwrap_or_default(),
            row,
            ..Page::default()
        })
        .collect();
    let mut groups: Vec<(i64, i64, PageGroup)> = Vec::new();
    if tables.contains("group") {
        let rows: Vec<(i64, Option<i64>, Option<String>)> = sqlx::query_as(
            "SELECT id, CAST(status_page_id AS INTEGER), CAST(name AS TEXT) FROM \"group\"
             WHERE status_page_id IS NOT NULL ORDER BY weight, id",
        )
        .fetch_all(pool)
        .await?;
        for (id, page, name) in rows {
            let group = PageGroup {
                name: name.unwrap_or_default(),
                monitors: Vec::new(),
            };
            groups.push((id, page.unwrap_or_default(), group));
        }
    }
    if tables.contains("monitor_group") {
        let members: Vec<(i64, i64)> =
            sqlx::query_as("SELECT group_id, monitor_id FROM monitor_group ORDER BY weight, id")
                .fetch_all(pool)
                .await?;
        for (group, monitor) in members {
            if let Some((_, _, g)) = groups.iter_mut().find(|(id, _, _)| *id == group) {
                g.monitors.push(monitor);
            }
        }
    }
    for (_, page_id, group) in groups {
        if let Some(page) = pages.iter_mut().find(|p| p.id == page_id) {
            page.groups.push(group);
        }
    }
    let counts = |table: &'static str| async move {
        if !tables.contains(table) {
            return Ok::<_, sqlx::Error>(Vec::new());
        }
        pairs(
            pool,
            &format!("SELECT status_page_id, '' FROM {table} WHERE status_page_id IS NOT NULL"),
        )
        .await
    };
    for (page, _) in counts("incident").await? {
        if let Some(p) = pages.iter_mut().find(|p| p.id == page) {
            p.incidents += 1;
        }
    }
    for (page, _) in counts("maintenance_status_page").await? {
        if let Some(p) = pages.iter_mut().find(|p| p.id == page) {
            p.maintenance += 1;
        }
    }
    if tables.contains("status_page_cname") {
        let domains = pairs(
            pool,
            "SELECT status_page_id, domain FROM status_page_cname ORDER BY id",
        )
        .await?;
        for (page, domain) in domains {
            if let Some(p) = pages.iter_mut().find(|p| p.id == page) {
                p.domains.push(domain);
            }
        }
    }
    Ok(pages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kuma_times_read_as_utc() {
        let at = |s: &str| parse_time(s).map(|t| t.timestamp_millis());
        assert_eq!(at("2024-05-01 12:00:00.123"), Some(1_714_564_800_123));
        assert_eq!(at("2024-05-01 12:00:00"), Some(1_714_564_800_000));
        assert_eq!(at("2024-05-01T12:00:00.123Z"), Some(1_714_564_800_123));
        assert_eq!(at("2024-05-01T14:00:00+02:00"), Some(1_714_564_800_000));
        assert_eq!(at("yesterday"), None);
    }

    #[test]
    fn columns_read_as_kuma_writes_them() {
        let row = Row(BTreeMap::from([
            ("interval".to_string(), "60".to_string()),
            ("timeout".to_string(), "48.0".to_string()),
            ("active".to_string(), "1".to_string()),
            ("ignore_tls".to_string(), "0".to_string()),
            ("keyword".to_string(), "  ".to_string()),
        ]));
        assert_eq!(row.int("interval"), Some(60));
        assert_eq!(row.int("timeout"), Some(48));
        assert_eq!(row.real("timeout"), Some(48.0));
        assert!(row.flag("active"));
        assert!(!row.flag("ignore_tls"));
        assert!(!row.flag("upside_down"));
        assert_eq!(row.text("keyword"), None);
        assert_eq!(row.int("port"), None);
    }
}
