//! History at size (issue 4's figures): 90 days of 30-second probes, on
//! SQLite and on Postgres, through the real store — batched inserts and the
//! hourly roll-up, with retention applying as simulated time passes.
//!
//! `cargo bench -p server --bench history [-- --services N --days D --bar-services B --ingest R --backend sqlite|postgres|both --short]`
//!
//! Reports per backend:
//! - storage per service after the simulated days (bytes of tables and
//!   indexes over an empty database's, divided by the services);
//! - ingest: results per second into the store, in the history writer's
//!   batches (2,048);
//! - the 90-day uptime bars of B services (copies of the simulated
//!   history, today's hour hot): median and worst of repeated reads;
//! - the roll-up's time per simulated hour.
//!
//! Postgres: a fresh database per run at HALE_BENCH_POSTGRES_URL's server
//! (default postgres://postgres@127.0.0.1:5432/postgres), dropped after.

mod common;

use chrono::{TimeZone, Utc};
use server::event::ProbeResult;
use server::history::HistorySettings;
use server::history::{floor_to, Retention, RollupPlan, DAY_MS, HOUR_MS};
use server::store::History;
use server::store::{self, Store};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wire::ConditionOutcome;

use common::db::{copy_buckets, temp_db};
use common::report::{percentile, Row};

const STEP_MS: i64 = 30_000;
/// The history writer's batch size (`writer::BATCH`).
const WRITE_BATCH: usize = 2_048;

struct Options {
    services: usize,
    days: i64,
    bar_services: usize,
    ingest: usize,
    backends: Vec<&'static str>,
}

fn options() -> Options {
    let args = common::args::Args::parse();
    Options {
        services: args.number("--services", 10, 1) as usize,
        days: args.number("--days", 90, 3) as i64,
        bar_services: args.number("--bar-services", 100, 10) as usize,
        ingest: args.number("--ingest", 400_000, 20_000) as usize,
        backends: args.backends(),
    }
}

/// Something like real traffic: mostly fast, some slow, 1 % failures with
/// a handful of distinct messages.
fn result(service: &Arc<str>, at_ms: i64, i: u64) -> ProbeResult {
    let success = i % 100 != 17; // 1 % failures
    let jitter = (i.wrapping_mul(2_654_435_761) >> 7) % 40_000;
    ProbeResult {
        service: service.clone(),
        checked_at: Utc.timestamp_millis_opt(at_ms).unwrap(),
        success,
        latency: Duration::from_micros(
            20_000 + jitter + if i.is_multiple_of(97) { 400_000 } else { 0 },
        ),
        status_code: Some(if success { 200 } else { 503 }),
        message: if success {
            "HTTP 200".into()
        } else {
            format!("HTTP 503 ({})", i % 3)
        },
        conditions: vec![ConditionOutcome {
            condition: "[STATUS] == 200".into(),
            success,
        }],
        region: None,
        certificate_expiration: None,
    }
}

fn plan(now_ms: i64, names: &[Arc<str>]) -> RollupPlan {
    RollupPlan {
        now_ms,
        grace_ms: 2 * 60_000,
        retention: Retention::default(),
        caps: names.iter().map(|n| (n.to_string(), 2 * STEP_MS)).collect(),
        default_cap_ms: 120_000,
    }
}

/// Postgres bytes per table, indexes and TOAST included.
async fn breakdown(url: &str) -> String {
    let tables = [
        "probe_results",
        "hourly_buckets",
        "raw_hours",
        "daily_buckets",
        "status_changes",
        "services",
    ];
    let mut parts = Vec::new();
    for table in tables {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        let bytes: i64 = sqlx::query_scalar(&format!(
            "SELECT CAST(pg_total_relation_size('{table}') AS BIGINT)"
        ))
        .fetch_one(&pool)
        .await
        .unwrap();
        pool.close().await;
        parts.push(format!("{table} {:.0} KiB", bytes as f64 / 1024.0));
    }
    parts.join(", ")
}

async fn vacuum(url: &str) {
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query("VACUUM ANALYZE").execute(&pool).await.unwrap();
        pool.close().await;
    }
}

async fn run(backend: &'static str, o: &Options) -> Vec<Row> {
    let db = temp_db(backend).await;
    let store: Arc<dyn Store> = store::connect(&db.url).await.unwrap();
    let empty_bytes = store.storage_bytes().await.unwrap();

    // 1. The simulated days, an hour at a time: the hour's results in
    //    writer-sized batches, then the roll-up a few minutes after it.
    let names: Vec<Arc<str>> = (0..o.services)
        .map(|i| Arc::from(format!("svc-{i}")))
        .collect();
    let now = Utc::now().timestamp_millis();
    let end = floor_to(now, HOUR_MS);
    let start = end - o.days * DAY_MS;
    let mut i = 0u64;
    let mut rollup_time = Duration::ZERO;
    let mut hours = 0u32;
    let started = Instant::now();
    let autovacuum = if backend == "postgres" {
        Some(sqlx::PgPool::connect(&db.url).await.unwrap())
    } else {
        None
    };
    let mut hour = start;
    while hour < end {
        let mut batch = Vec::with_capacity(WRITE_BATCH);
        for step in 0..(HOUR_MS / STEP_MS) {
            for name in &names {
                batch.push(result(name, hour + step * STEP_MS, i));
                i += 1;
                if batch.len() == WRITE_BATCH {
                    store.insert_results(&batch).await.unwrap();
                    batch.clear();
                }
            }
        }
        store.insert_results(&batch).await.unwrap();
        let t = Instant::now();
        store
            .roll_up(&plan(hour + HOUR_MS + 5 * 60_000, &names))
            .await
            .unwrap();
        rollup_time += t.elapsed();
        // In real time autovacuum visits the hot table between roll-ups and
        // its pages are reused; here an hour passes in milliseconds.
        if let Some(pool) = &autovacuum {
            sqlx::query("VACUUM").execute(pool).await.unwrap();
        }
        hours += 1;
        hour += HOUR_MS;
    }
    let simulated = started.elapsed();
    vacuum(&db.url).await;
    let bytes = store.storage_bytes().await.unwrap();
    let per_service = (bytes - empty_bytes.min(bytes)) as f64 / o.services as f64;
    let tables = if backend == "postgres" {
        breakdown(&db.url).await
    } else {
        String::new()
    };

    // 2. Bars of many services: copies of svc-0's history, an hour of hot
    //    rows, and the roll-up run as it runs every minute.
    let bar_names: Vec<String> = (0..o.bar_services).map(|i| format!("bar-{i}")).collect();
    let mut hot = Vec::new();
    for (k, name) in bar_names.iter().enumerate() {
        let service: Arc<str> = Arc::from(name.as_str());
        // The most there is in steady state: a full hour not rolled up yet.
        let mut at = now - HOUR_MS;
        while at < now {
            hot.push(result(&service, at, k as u64));
            at += STEP_MS;
        }
    }
    store.insert_results(&hot).await.unwrap();
    for name in &bar_names {
        copy_buckets(&db.url, "svc-0", name).await;
    }
    let bar_arcs: Vec<Arc<str>> = bar_names.iter().map(|n| Arc::from(n.as_str())).collect();
    store.roll_up(&plan(now, &bar_arcs)).await.unwrap();
    vacuum(&db.url).await;
    let history = History::new(
        store.clone(),
        HistorySettings {
            caps: bar_names
                .iter()
                .map(|n| (n.clone(), 2 * STEP_MS))
                .collect::<HashMap<_, _>>(),
            ..HistorySettings::default()
        },
    );
    let mut reads = Vec::new();
    for _ in 0..30 {
        let t = Instant::now();
        let bars = history.bars(&bar_names, now).await.unwrap();
        reads.push(t.elapsed());
        assert_eq!(bars.len(), o.bar_services);
        assert!(bars.values().all(|b| b.days.len() == 90));
    }
    let first = reads[0];
    reads.sort();

    // 3. Ingest in the writer's batches, into services of their own.
    let ingest_names: Vec<Arc<str>> = (0..20).map(|i| Arc::from(format!("ingest-{i}"))).collect();
    let results: Vec<ProbeResult> = (0..o.ingest)
        // Long before the simulated days, so no read below meets them.
        .map(|k| {
            let at = start - 30 * DAY_MS + (k / 20) as i64 * 10;
            result(&ingest_names[k % 20], at, k as u64)
        })
        .collect();
    let t = Instant::now();
    for chunk in results.chunks(WRITE_BATCH) {
        store.insert_results(chunk).await.unwrap();
    }
    let ingest = t.elapsed();

    println!("## {backend}");
    println!(
        "simulated {} days × {} services ({} results) in {:.1} s",
        o.days,
        o.services,
        i,
        simulated.as_secs_f64()
    );
    println!(
        "storage: {:.0} KiB per service ({:.2} MiB total, empty database {:.0} KiB)",
        per_service / 1024.0,
        bytes as f64 / 1_048_576.0,
        empty_bytes as f64 / 1024.0
    );
    if !tables.is_empty() {
        println!("  by table: {tables}");
    }
    println!(
        "ingest: {:.0} results/s ({} results in batches of {WRITE_BATCH}, {:.2} s)",
        o.ingest as f64 / ingest.as_secs_f64(),
        o.ingest,
        ingest.as_secs_f64()
    );
    println!(
        "bars of {} services: median {:.2} ms, p90 {:.2} ms, max {:.2} ms (first {:.2} ms)",
        o.bar_services,
        percentile(&reads, 0.5).as_secs_f64() * 1e3,
        percentile(&reads, 0.9).as_secs_f64() * 1e3,
        reads[reads.len() - 1].as_secs_f64() * 1e3,
        first.as_secs_f64() * 1e3
    );
    println!(
        "roll-up: {:.2} ms per simulated hour of {} services",
        rollup_time.as_secs_f64() * 1e3 / f64::from(hours.max(1)),
        o.services
    );
    store.close().await;
    db.drop_now().await;
    let label = if backend == "sqlite" {
        "SQLite"
    } else {
        "Postgres"
    };
    let kib = per_service / 1024.0;
    let rate = o.ingest as f64 / ingest.as_secs_f64();
    let warm = percentile(&reads, 0.5).as_secs_f64() * 1e3;
    let days = o.days;
    vec![
        Row::at_most(
            &format!("History: storage per service, {days} days of 30 s probes ({label})"),
            kib,
            1024.0,
            format!("{kib:.0} KiB"),
            "≤ 1 MiB",
        ),
        if backend == "postgres" {
            Row::at_least(
                &format!("History: ingest in the writer's batches ({label})"),
                rate,
                20_000.0,
                format!("{rate:.0} results/s"),
                "≥ 20,000/s",
            )
        } else {
            Row::reported(
                &format!("History: ingest in the writer's batches ({label})"),
                format!("{rate:.0} results/s"),
            )
        },
        Row::at_most(
            &format!(
                "History: 90-day bars of {} services, warm median (cold) ({label})",
                o.bar_services
            ),
            warm,
            10.0,
            format!("{warm:.1} ms ({:.0} ms)", first.as_secs_f64() * 1e3),
            "≤ 10 ms",
        ),
    ]
}

/// The roll-up's steady cost at a realistic rate: 1,000 services every
/// 20 s, half an hour into the hour, once a minute (what `hale serve`
/// does). The first run builds the hour's provisional buckets from every
/// hot row; the next, a minute and 3,000 results later, is the one that
/// repeats all hour.
async fn rollup_each_minute(backend: &'static str, services: usize) -> Row {
    let db = temp_db(backend).await;
    let store = store::connect(&db.url).await.unwrap();
    let names: Vec<Arc<str>> = (0..services)
        .map(|i| Arc::from(format!("svc-{i}")))
        .collect();
    let hour = floor_to(Utc::now().timestamp_millis(), HOUR_MS) - 2 * HOUR_MS;
    let step = 20_000;
    let insert = |from: i64, to: i64| {
        let mut results = Vec::new();
        let mut i = 0;
        let mut at = from;
        while at < to {
            for name in &names {
                results.push(result(name, at, i));
                i += 1;
            }
            at += step;
        }
        results
    };
    for chunk in insert(hour, hour + 30 * 60_000).chunks(WRITE_BATCH) {
        store.insert_results(chunk).await.unwrap();
    }
    let mut plan = plan(hour + 32 * 60_000, &names);
    plan.caps = names.iter().map(|n| (n.to_string(), 2 * step)).collect();
    store.roll_up(&plan).await.unwrap();
    for chunk in insert(hour + 30 * 60_000, hour + 31 * 60_000).chunks(WRITE_BATCH) {
        store.insert_results(chunk).await.unwrap();
    }
    plan.now_ms += 60_000;
    let started = Instant::now();
    let report = store.roll_up(&plan).await.unwrap();
    let took = started.elapsed();
    assert!(report.provisional > 0, "{report:?}");
    store.close().await;
    db.drop_now().await;
    let ms = took.as_secs_f64() * 1e3;
    println!("{backend}: a minute's roll-up, {services} services every 20 s, 30 min into the hour: {ms:.1} ms");
    Row::reported(
        &format!("History: a minute's roll-up, {services} services every 20 s, 30 min into the hour ({backend})"),
        format!("{ms:.1} ms"),
    )
}

fn main() {
    let o = options();
    println!("machine: {}", common::measure::machine());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut rows = Vec::new();
    for backend in o.backends.clone() {
        rows.extend(runtime.block_on(run(backend, &o)));
        let services = if common::report::short() { 50 } else { 1_000 };
        rows.push(runtime.block_on(rollup_each_minute(backend, services)));
    }
    common::report::publish("history", "cargo bench -p server --bench history", &rows);
}
