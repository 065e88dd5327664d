//! Start-up (issue 6): `hale serve` from launch to its first `200` from
//! `/api/health`, with SQLite and with Postgres.
//!
//! `cargo bench -p server --bench startup [-- --runs N --services S --days D --backend sqlite|postgres|both --short]`
//!
//! Two cases per backend, N launches each (median and worst reported):
//! - a fresh database: migrations run, then the first page is served;
//! - a database with S services' D days of history: the uptime bars are
//!   read in before the first page.
//!
//! The time is the process's whole start: loading the binary, reading the
//! config, connecting, migrating, reading history, binding the socket. The
//! health check is polled every millisecond.

mod common;

use common::db::temp_db;
use common::fleet::{self, Fleet};
use common::hale::Hale;
use common::report::{self, percentile, Row};
use std::time::Duration;

struct Options {
    runs: usize,
    services: usize,
    days: i64,
    backends: Vec<&'static str>,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().collect();
    let short = report::short();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let number = |flag: &str, long: u64, quick: u64| {
        value(flag)
            .and_then(|v| v.parse().ok())
            .unwrap_or(if short { quick } else { long })
    };
    Options {
        runs: number("--runs", 10, 2) as usize,
        services: number("--services", 50, 5) as usize,
        days: number("--days", 90, 3) as i64,
        backends: match value("--backend").as_deref() {
            Some("sqlite") => vec!["sqlite"],
            Some("postgres") => vec!["postgres"],
            _ => vec!["sqlite", "postgres"],
        },
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

async fn launches(config: &str, url: &str, runs: usize) -> Vec<Duration> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let hale = Hale::start(config, url).await;
        times.push(hale.started_in);
        drop(hale); // killed: the next launch starts cold again
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    times.sort();
    times
}

async fn run(o: Options) {
    let fleet = Fleet::spawn();
    let names: Vec<String> = (0..o.services).map(|i| format!("svc-{i}")).collect();
    let mut config = String::from("title: Start-up benchmark\nservices:\n");
    for (i, name) in names.iter().enumerate() {
        config.push_str(&format!(
            "  - {{name: {name}, url: '{}/ok/{i}', interval: 30s}}\n",
            fleet.base
        ));
    }
    let mut rows = Vec::new();
    for backend in &o.backends {
        let label = if *backend == "sqlite" {
            "SQLite"
        } else {
            "Postgres"
        };
        // A fresh database each launch.
        let mut fresh = Vec::new();
        for _ in 0..o.runs {
            let db = temp_db(backend).await;
            fresh.extend(launches(&config, &db.url, 1).await);
            db.drop_now().await;
        }
        fresh.sort();
        // One database with history, launched again and again.
        let db = temp_db(backend).await;
        common::db::seed_history(&db.url, &names, o.days).await;
        let seeded = launches(&config, &db.url, o.runs).await;
        db.drop_now().await;
        for (case, times) in [
            ("fresh database".to_string(), &fresh),
            (
                format!("{} services with {} days of history", o.services, o.days),
                &seeded,
            ),
        ] {
            let (p50, worst) = (percentile(times, 0.5), times[times.len() - 1]);
            println!(
                "{label}, {case}: median {:.1} ms, max {:.1} ms",
                ms(p50),
                ms(worst)
            );
            rows.push(Row::reported(
                &format!(
                    "Start-up to /api/health 200, {label}, {case}: median (max) of {}",
                    o.runs
                ),
                format!("{:.0} ms ({:.0})", ms(p50), ms(worst)),
            ));
        }
    }
    report::publish("startup", "cargo bench -p server --bench startup", &rows);
    drop(fleet);
}

fn main() {
    if std::env::args().any(|a| a == fleet::FLAG) {
        return fleet::serve_forever();
    }
    println!("machine: {}", common::measure::machine());
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(run(options()));
}
