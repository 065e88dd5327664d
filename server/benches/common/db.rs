//! Databases for benchmarks, and history to put in them.

use chrono::{TimeZone, Utc};
use server::event::ProbeResult;
use server::history::{floor_to, Retention, RollupPlan, DAY_MS, HOUR_MS};
use server::store;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use wire::ConditionOutcome;

fn next_seq() -> usize {
    static SEQ: AtomicUsize = AtomicUsize::new(0);
    SEQ.fetch_add(1, Ordering::Relaxed)
}

pub struct TempDb {
    pub url: String,
    drop: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

/// A database of its own: a file in a temporary directory, or a fresh
/// Postgres database at `HALE_BENCH_POSTGRES_URL`'s server (default
/// postgres://postgres@127.0.0.1:5432/postgres), dropped by `drop_now`.
pub async fn temp_db(backend: &str) -> TempDb {
    if backend == "sqlite" {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        return TempDb {
            url,
            drop: None,
            _dir: Some(dir),
        };
    }
    let admin = std::env::var("HALE_BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!(
        "hale_bench_{}_{backend_seq}",
        std::process::id(),
        backend_seq = next_seq()
    );
    let pool = sqlx::PgPool::connect(&admin)
        .await
        .expect("Postgres for the benchmark");
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&pool)
        .await
        .unwrap();
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(b, _)| b)
        .to_string();
    TempDb {
        url: format!("{base}/{name}"),
        drop: Some((admin, name)),
        _dir: None,
    }
}

impl TempDb {
    pub async fn drop_now(self) {
        if let Some((admin, name)) = self.drop {
            let pool = sqlx::PgPool::connect(&admin).await.unwrap();
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&pool)
                .await;
        }
    }
}

/// Copies one service's buckets to another, as SQL both backends take.
pub async fn copy_buckets(url: &str, from: &str, to: &str) {
    let copy = |table: &str, extra: &str| {
        format!(
            "INSERT INTO {table} (service_id, start_ms, total, successful, known_ms, latency_sum_us, \
             latency_min_us, latency_max_us, last_at_ms, histogram{extra}) \
             SELECT (SELECT id FROM services WHERE name = $2), start_ms, total, successful, known_ms, \
             latency_sum_us, latency_min_us, latency_max_us, last_at_ms, histogram{extra} \
             FROM {table} WHERE service_id = (SELECT id FROM services WHERE name = $1)"
        )
    };
    let raw = "INSERT INTO raw_hours (service_id, start_ms, results) \
               SELECT (SELECT id FROM services WHERE name = $2), start_ms, results \
               FROM raw_hours WHERE service_id = (SELECT id FROM services WHERE name = $1)"
        .to_string();
    let statements = [copy("hourly_buckets", ""), copy("daily_buckets", ""), raw];
    if url.starts_with("sqlite") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        for sql in &statements {
            sqlx::query(sql)
                .bind(from)
                .bind(to)
                .execute(&pool)
                .await
                .unwrap();
        }
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        for sql in &statements {
            sqlx::query(sql)
                .bind(from)
                .bind(to)
                .execute(&pool)
                .await
                .unwrap();
        }
        pool.close().await;
    }
}

/// Gives every service in `names` `days` of history before today: uptime
/// bars full to the last day, with now and then a bad hour. The first
/// service gets a result every half hour (so every hour is covered; the
/// bars' labels read like a real service's), rolled up as Hale does; the
/// others get copies of its buckets, plus one result in the hour under way.
pub async fn seed_history(url: &str, names: &[String], days: i64) {
    const SPACING_MS: i64 = HOUR_MS / 2;
    let store = store::connect(url).await.expect("the benchmark's database");
    let now = Utc::now().timestamp_millis();
    let today = floor_to(now, DAY_MS);
    let first: Arc<str> = Arc::from(names[0].as_str());
    let result = |service: &Arc<str>, at_ms: i64, success: bool| ProbeResult {
        service: service.clone(),
        checked_at: Utc.timestamp_millis_opt(at_ms).unwrap(),
        success,
        latency: Duration::from_micros(20_000 + (at_ms as u64 / 1_000) % 30_000),
        status_code: Some(if success { 200 } else { 503 }),
        message: if success { "HTTP 200" } else { "HTTP 503" }.into(),
        conditions: vec![ConditionOutcome {
            condition: "[STATUS] == 200".into(),
            success,
        }],
        region: None,
        certificate_expiration: None,
    };
    let mut seeded = Vec::new();
    let mut at = today - days * DAY_MS;
    let mut k = 0i64;
    while at < today {
        // A failure every ~9 days' worth of checks, on varying hours.
        let success = (k * 7) % 433 != 0;
        seeded.push(result(&first, at, success));
        at += SPACING_MS;
        k += 1;
    }
    store.insert_results(&seeded).await.unwrap();
    let hot: Vec<ProbeResult> = names[1..]
        .iter()
        .map(|n| result(&Arc::from(n.as_str()), now - 60_000, true))
        .collect();
    store.insert_results(&hot).await.unwrap();
    let plan = RollupPlan {
        now_ms: now,
        grace_ms: 2 * 60_000,
        retention: Retention::default(),
        caps: names.iter().map(|n| (n.clone(), 2 * SPACING_MS)).collect(),
        default_cap_ms: 2 * SPACING_MS,
    };
    store.roll_up(&plan).await.unwrap();
    store.close().await;
    for name in &names[1..] {
        copy_buckets(url, &names[0], name).await;
    }
}
