//! The roll-up holds at scale: 10,000 services every 10 s on SQLite for
//! more than an hour, through the whole of Hale, with the history writer
//! and the roll-up sharing the database all along.
//!
//! `cargo bench -p server --bench soak [-- --services N --interval S --minutes M --short]`
//!
//! Reports: roll-up runs and failures (a failure was "database is locked"
//! before the roll-up took the write lock at its start), the roll-up's
//! time per run (p50, p99, max), and RSS each five minutes (with the
//! heap's share), judged flat after the first hour: the hour's hot rows
//! are rolled up as it goes, so memory must not follow them. RSS is read
//! each second; after the first hour it must stay within 5 % of the
//! highest it reached from minute 10 to 60.

mod common;

use common::engine;
use common::fleet::{self, Fleet};
use common::measure;
use common::report::Row;
use std::time::{Duration, Instant};

struct Options {
    services: usize,
    interval: Duration,
    minutes: u64,
    /// RSS from here to `settled_after` is the reference: the highest
    /// over one whole hourly cycle, the start's first probes left out.
    warmed_after: Duration,
    /// From here on RSS must not rise above the reference.
    settled_after: Duration,
    rollup_every: Duration,
    sample_every: Duration,
}

fn options() -> Options {
    let args = common::args::Args::parse();
    let minutes = args.number("--minutes", 70, 1);
    Options {
        services: args.number("--services", 10_000, 100) as usize,
        interval: Duration::from_secs(args.number("--interval", 10, 1)),
        minutes,
        warmed_after: Duration::from_secs(if args.short { 10 } else { 10 * 60 }),
        settled_after: Duration::from_secs(if args.short { 30 } else { 60 * 60 }),
        rollup_every: Duration::from_secs(if args.short { 5 } else { 60 }),
        sample_every: Duration::from_secs(if args.short { 10 } else { 5 * 60 }),
    }
}

fn main() {
    if std::env::args().any(|a| a == fleet::FLAG) {
        return fleet::serve_forever();
    }
    measure::raise_fd_limit();
    let o = options();
    let fleet = Fleet::spawn();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let rows = runtime.block_on(run(&fleet, &o));
    common::report::publish("soak", "cargo bench -p server --bench soak", &rows);
}

async fn run(fleet: &Fleet, o: &Options) -> Vec<Row> {
    let services = (0..o.services)
        .map(|i| {
            engine::service(
                format!("ok-{i}"),
                format!("{}/ok/{i}", fleet.base),
                o.interval,
            )
        })
        .collect();
    let (hale, _dir) =
        engine::start(services, |settings| settings.rollup_every = o.rollup_every).await;
    let rollups = hale.state.ops.rollups.clone();
    println!(
        "soak: {} services every {:?} on SQLite for {} min; {}",
        o.services,
        o.interval,
        o.minutes,
        measure::machine()
    );
    // RSS split: anonymous (heap, stacks) against mapped from files (the
    // binary), and the heap in use against what its arenas keep free.
    println!(
        "| minute | RSS | anonymous | heap in use | free in arenas | roll-ups | failures | roll-up p99 |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let mib = |b: u64| b as f64 / 1_048_576.0;
    let started = Instant::now();
    let total = Duration::from_secs(o.minutes * 60);
    // RSS each second: the highest and lowest over the reference span
    // and after it. Every minute's roll-up lifts RSS for about a second,
    // so one sample taken as "settled" lands on a peak or between peaks
    // by chance; highest against highest compares like with like.
    let mut before = Envelope::default();
    let mut after = Envelope::default();
    let mut next_sample = o.sample_every;
    while started.elapsed() < total {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let elapsed = started.elapsed();
        let rss = measure::rss_bytes();
        if elapsed >= o.settled_after {
            after.add(rss);
        } else if elapsed >= o.warmed_after {
            before.add(rss);
        }
        if elapsed >= next_sample || elapsed >= total {
            next_sample += o.sample_every;
            let (in_use, free) = measure::heap_bytes();
            let anonymous = measure::status_kib(std::process::id(), "RssAnon:") * 1024;
            println!(
                "| {:.1} | {:.1} MiB | {:.1} MiB | {:.1} MiB | {:.1} MiB | {} | {} | {:.0} ms |",
                elapsed.as_secs_f64() / 60.0,
                mib(rss),
                mib(anonymous),
                mib(in_use),
                mib(free),
                rollups.runs(),
                rollups.failures(),
                rollups.took.snapshot().quantile(0.99).as_secs_f64() * 1e3,
            );
        }
    }
    let end_rss = measure::rss_bytes();
    let took = rollups.took.snapshot();
    let (runs, failures) = (rollups.runs(), rollups.failures());
    hale.shutdown().await;
    let case = format!(
        "{} services every {:?}, SQLite, {} min",
        o.services, o.interval, o.minutes
    );
    let figure = format!(
        "RSS after the first {:.1} min: highest against the highest from {:.1} to {:.1} min ({case})",
        o.settled_after.as_secs_f64() / 60.0,
        o.warmed_after.as_secs_f64() / 60.0,
        o.settled_after.as_secs_f64() / 60.0
    );
    // Flat: after the first hour RSS rises no more than 5 % above the
    // highest it reached over that hour (a whole cycle: every minute's
    // roll-up and one finished hour's). A run that ended before then
    // measured nothing after: missed, not met.
    let flat = match (before.highest, after.highest) {
        (Some(reference), Some(peak_after)) => {
            let growth = peak_after.saturating_sub(reference) as f64 / reference.max(1) as f64;
            Row::at_most(
                &figure,
                growth * 100.0,
                5.0,
                format!(
                    "{:.1} MiB against {:.1} MiB (+{:.1} %); lowest {:.1} against {:.1} MiB; {:.1} MiB at the end",
                    mib(peak_after),
                    mib(reference),
                    growth * 100.0,
                    mib(after.lowest.unwrap_or(0)),
                    mib(before.lowest.unwrap_or(0)),
                    mib(end_rss)
                ),
                "≤ +5 %",
            )
        }
        _ => Row::judged(
            &figure,
            format!(
                "not measured: the run ended before then ({:.1} MiB at the end)",
                mib(end_rss)
            ),
            "≤ +5 %",
            false,
        ),
    };
    vec![
        Row::judged(
            &format!("Roll-up failures alongside the writer ({case})"),
            format!("{failures} of {runs} runs"),
            "0",
            failures == 0 && runs > 0,
        ),
        Row::reported(
            &format!("Roll-up time a run, p50 / p99 / max ({case})"),
            format!(
                "{:.0} / {:.0} / {:.0} ms",
                took.quantile(0.5).as_secs_f64() * 1e3,
                took.quantile(0.99).as_secs_f64() * 1e3,
                took.max().as_secs_f64() * 1e3
            ),
        ),
        flat,
    ]
}

/// The highest and lowest of a span's samples.
#[derive(Default)]
struct Envelope {
    highest: Option<u64>,
    lowest: Option<u64>,
}

impl Envelope {
    fn add(&mut self, value: u64) {
        self.highest = Some(self.highest.map_or(value, |h| h.max(value)));
        self.lowest = Some(self.lowest.map_or(value, |l| l.min(value)));
    }
}
