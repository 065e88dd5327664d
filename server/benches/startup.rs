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

use common::args::Args;
use common::db::temp_db;
use common::fleet::Fleet;
use common::hale::{fleet_config, service_names, Hale};
use common::report::{self, percentile, Row};
use std::time::Duration;

struct Options {
    runs: usize,
    services: usize,
    days: i64,
    backends: Vec<&'static str>,
}

fn options() -> Options {
    let args = Args::parse();
    Options {
        runs: args.number("--runs", 10, 2) as usize,
        services: args.number("--services", 50, 5) as usize,
        days: args.number("--days", 90, 3) as i64,
        backends: args.backends(),
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
    let names = service_names(o.services);
    let config = fleet_config("Start-up benchmark", &fleet, &names);
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
    common::main(|| run(options()));
}
