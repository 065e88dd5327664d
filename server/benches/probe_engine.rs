//! The probe engine at scale (issue 3's figures): thousands of HTTP
//! services against a local fake fleet, through the whole of Hale — the
//! scheduler, probes, the pipeline, the live hub and SQLite history.
//!
//! `cargo bench -p server --bench probe_engine [-- --services N --interval S --hanging M --flapping F --channels C --warmup S --seconds S --workers N --rollup-seconds S --short]`
//!
//! Reports, over a measured window after a warm-up: probes per second, CPU
//! per probe (this process's CPU time over probes started), scheduler
//! lateness p50/p99/max, and RSS. By default: 10,000 services every 10 s,
//! healthy and then with 1,000 more that hang until their timeout, and
//! 1,000 every 20 s, a realistic rate where fixed costs weigh most; then
//! that rate with 20 of them flapping, without alert channels and with 10
//! (every service sends to all ten), for what alerting costs per probe;
//! and 10 channels with nothing flapping, for what judging each result
//! costs.

mod common;

use common::engine;
use common::fleet::{self, Fleet};
use common::measure;
use common::report::Row;
use std::time::{Duration, Instant};

/// One run: services every `interval`, `hanging` more that never answer.
#[derive(Clone, Copy)]
struct Scenario {
    services: usize,
    interval: Duration,
    hanging: usize,
    /// Services among them that flap (`/flap/30/<i>`): alerts fire and
    /// resolve.
    flapping: usize,
    /// Alert channels every service sends to.
    channels: usize,
    warmup: Duration,
    window: Duration,
    /// Whether RSS is judged (the realistic rate's ≤ 40 MiB).
    rss_limit_mib: Option<f64>,
}

struct Options {
    scenarios: Vec<Scenario>,
    concurrency: usize,
    /// `--workers N`: the runtime's worker threads (default: one a core).
    workers: Option<usize>,
    /// `--rollup-seconds S`: how often history rolls up (default 60).
    rollup_every: Option<Duration>,
}

/// By default: 10,000 services every 10 s, alone and with 1,000 hanging
/// (the engine at scale), then 1,000 every 20 s (a realistic rate, where
/// fixed costs — batches, timers, heartbeats, roll-ups — weigh most).
/// `--services`, `--interval` or `--hanging` run one scenario of those.
fn options() -> Options {
    let args = common::args::Args::parse();
    let secs =
        |flag: &str, long: u64, quick: u64| Duration::from_secs(args.number(flag, long, quick));
    let concurrency = args.number(
        "--concurrency",
        server::engine::scheduler::DEFAULT_CONCURRENCY as u64,
        server::engine::scheduler::DEFAULT_CONCURRENCY as u64,
    ) as usize;
    let custom = [
        "--services",
        "--interval",
        "--hanging",
        "--flapping",
        "--channels",
    ]
    .iter()
    .any(|f| args.value(f).is_some());
    let scenarios = if args.short {
        let quick = Scenario {
            services: args.number("--services", 200, 200) as usize,
            interval: secs("--interval", 1, 1),
            hanging: args.number("--hanging", 20, 20) as usize,
            flapping: 0,
            channels: 0,
            warmup: secs("--warmup", 1, 1),
            window: secs("--seconds", 2, 2),
            rss_limit_mib: None,
        };
        vec![
            quick,
            Scenario {
                flapping: 10,
                channels: 10,
                ..quick
            },
        ]
    } else if custom {
        vec![Scenario {
            services: args.number("--services", 10_000, 10_000) as usize,
            interval: secs("--interval", 10, 10),
            hanging: args.number("--hanging", 0, 0) as usize,
            flapping: args.number("--flapping", 0, 0) as usize,
            channels: args.number("--channels", 0, 0) as usize,
            warmup: secs("--warmup", 15, 15),
            window: secs("--seconds", 30, 30),
            rss_limit_mib: None,
        }]
    } else {
        let at_scale = |hanging| Scenario {
            services: 10_000,
            interval: Duration::from_secs(10),
            hanging,
            flapping: 0,
            channels: 0,
            warmup: Duration::from_secs(15),
            window: Duration::from_secs(30),
            rss_limit_mib: None,
        };
        // The realistic rate first: RSS is the process's, and memory the
        // allocator kept from 10,000 services would count against it.
        let realistic = Scenario {
            services: 1_000,
            interval: Duration::from_secs(20),
            hanging: 0,
            flapping: 0,
            channels: 0,
            // Past the first round and a roll-up, then three more
            // rounds with a roll-up in them.
            warmup: Duration::from_secs(65),
            window: Duration::from_secs(60),
            rss_limit_mib: Some(40.0),
        };
        let alerting = |channels| Scenario {
            flapping: 20,
            channels,
            rss_limit_mib: None,
            ..realistic
        };
        vec![
            realistic,
            at_scale(0),
            at_scale(1_000),
            alerting(0),
            alerting(10),
            // Ten channels with nothing to say: what judging every
            // result costs.
            Scenario {
                channels: 10,
                rss_limit_mib: None,
                ..realistic
            },
        ]
    };
    Options {
        scenarios,
        concurrency,
        workers: args.value("--workers").and_then(|v| v.parse().ok()),
        rollup_every: args
            .value("--rollup-seconds")
            .and_then(|v| v.parse().ok())
            .map(Duration::from_secs),
    }
}

struct Outcome {
    probes_per_second: f64,
    cpu_per_probe: Duration,
    p50: Duration,
    p99: Duration,
    max: Duration,
    rss_mib: f64,
}

async fn run(fleet: &Fleet, o: &Scenario, options: &Options) -> Outcome {
    let hanging = o.hanging;
    let mut services: Vec<serde_json::Value> = (0..o.services)
        .map(|i| {
            engine::service(
                format!("ok-{i}"),
                format!("{}/ok/{i}", fleet.base),
                o.interval,
            )
        })
        .collect();
    services.extend((0..hanging).map(|i| {
        engine::service(
            format!("hang-{i}"),
            format!("{}/hang/{i}", fleet.base),
            o.interval,
        )
    }));
    for (i, service) in services.iter_mut().take(o.flapping).enumerate() {
        service["url"] = format!("{}/flap/30/{i}", fleet.base).into();
        service["failure_threshold"] = 1.into();
        service["success_threshold"] = 1.into();
    }
    let channels: Vec<serde_json::Value> = (0..o.channels)
        .map(|i| {
            serde_json::json!({
                "name": format!("hook-{i}"),
                "type": "webhook",
                "url": format!("{}/hook/{i}", fleet.base),
            })
        })
        .collect();
    if !channels.is_empty() {
        let names: Vec<serde_json::Value> = channels.iter().map(|c| c["name"].clone()).collect();
        for service in &mut services {
            service["alerts"] = names.clone().into();
        }
    }
    let config = serde_json::json!({
        "alerting": {"channels": channels},
        "services": services,
    });
    let (hale, _dir) = engine::start_config(config, |settings| {
        settings.concurrency = options.concurrency;
        if let Some(every) = options.rollup_every {
            settings.rollup_every = every;
        }
    })
    .await;
    let stats = hale.state.ops.scheduler.clone();

    tokio::time::sleep(o.warmup).await;
    let (before, cpu_before, threads_before, started) = (
        stats.lateness.snapshot(),
        measure::cpu_time(),
        measure::cpu_by_thread(),
        Instant::now(),
    );
    tokio::time::sleep(o.window).await;
    let (after, cpu_after, threads_after, elapsed) = (
        stats.lateness.snapshot(),
        measure::cpu_time(),
        measure::cpu_by_thread(),
        started.elapsed(),
    );
    let rss = measure::rss_bytes();
    eprintln!("{}", measure::heap());
    hale.shutdown().await;

    let window = after.since(&before);
    let probes = window.count().max(1);
    // Where the window's CPU went, by thread, per probe.
    let split: Vec<String> = threads_after
        .iter()
        .filter_map(|(name, after)| {
            let spent = after.saturating_sub(threads_before.get(name).copied().unwrap_or_default());
            (!spent.is_zero())
                .then(|| format!("{name} {:.3} ms", spent.as_secs_f64() * 1e3 / probes as f64))
        })
        .collect();
    eprintln!("CPU per probe by thread: {}", split.join(", "));

    Outcome {
        probes_per_second: probes as f64 / elapsed.as_secs_f64(),
        cpu_per_probe: (cpu_after - cpu_before) / probes as u32,
        p50: window.quantile(0.5),
        p99: window.quantile(0.99),
        max: window.max(),
        rss_mib: rss as f64 / (1024.0 * 1024.0),
    }
}

fn main() {
    if std::env::args().any(|a| a == fleet::FLAG) {
        return fleet::serve_forever();
    }
    // As `hale serve` does first thing, so RSS is read off Hale's own
    // allocator set-up.
    server::memory::cap_arenas();
    // `cargo bench` passes `--bench`; nothing else of libtest's applies.
    measure::raise_fd_limit();
    let o = options();
    let fleet = Fleet::spawn();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = o.workers {
        builder.worker_threads(n);
    }
    let runtime = builder.enable_all().build().unwrap();
    println!(
        "probe engine: concurrency cap {}; {}",
        o.concurrency,
        measure::machine()
    );
    println!("| services | every | hanging | flapping | channels | probes/s | CPU per probe | lateness p50 | p99 | max | RSS |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let mut rows = Vec::new();
    for scenario in &o.scenarios {
        let r = runtime.block_on(run(&fleet, scenario, &o));
        let mut case = format!(
            "{} services every {:?}, {} hanging",
            scenario.services, scenario.interval, scenario.hanging
        );
        if scenario.flapping > 0 || scenario.channels > 0 {
            case.push_str(&format!(
                ", {} flapping, {} alert channels",
                scenario.flapping, scenario.channels
            ));
        }
        let cpu_ms = r.cpu_per_probe.as_secs_f64() * 1e3;
        let p99_ms = r.p99.as_secs_f64() * 1e3;
        rows.push(Row::at_most(
            &format!("Probe engine: CPU per probe ({case})"),
            cpu_ms,
            0.2,
            format!("{cpu_ms:.3} ms"),
            "≤ 0.2 ms",
        ));
        rows.push(Row::at_most(
            &format!("Probe engine: scheduler lateness p99 ({case})"),
            p99_ms,
            50.0,
            format!("{p99_ms:.1} ms"),
            "≤ 50 ms",
        ));
        match scenario.rss_limit_mib {
            Some(limit) => rows.push(Row::at_most(
                &format!("Probe engine: RSS ({case})"),
                r.rss_mib,
                limit,
                format!("{:.1} MiB", r.rss_mib),
                &format!("≤ {limit:.0} MiB"),
            )),
            None => rows.push(Row::reported(
                &format!("Probe engine: RSS ({case})"),
                format!("{:.1} MiB", r.rss_mib),
            )),
        }
        println!(
            "| {} | {:?} | {} | {} | {} | {:.0} | {:.3} ms | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} MiB |",
            scenario.services,
            scenario.interval,
            scenario.hanging,
            scenario.flapping,
            scenario.channels,
            r.probes_per_second,
            cpu_ms,
            r.p50.as_secs_f64() * 1e3,
            p99_ms,
            r.max.as_secs_f64() * 1e3,
            r.rss_mib,
        );
    }
    common::report::publish(
        "probe_engine",
        "cargo bench -p server --bench probe_engine",
        &rows,
    );
}
