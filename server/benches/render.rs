//! Server render (issues 6 and 16): the status page at 50, 1,000 and
//! 10,000 services with their uptime bars, under load from wrk on
//! loopback.
//!
//! `cargo bench -p server --bench render [-- --sizes 50,1000,10000 --days D --seconds T --connections C --threads W --short]`
//!
//! For each size, Hale runs as `hale serve` with that many services (D
//! days of history each, probed every 30 s against the fake fleet, so the
//! board changes as in life) and reports:
//!
//! - the page's HTML and its gzip form, per service;
//! - the snapshot a new WebSocket client is sent, per service;
//! - kept renders under load: wrk asks for `/` with `Accept-Encoding:
//!   gzip`, as browsers do, over C keep-alive connections from W threads;
//! - a fresh render's CPU: against `hale serve --no-page-cache`, which
//!   renders every request anew, requests one after another, Hale's CPU
//!   time over them less its CPU time over as long a quiet spell (the
//!   probes), per render; and wrk's p50/p99 for fresh renders.
//!
//! Needs `wrk` (Debian's package; `scripts/bootstrap.sh --bench`).

mod common;

use common::args::Args;
use common::fleet::Fleet;
use common::hale::{fleet_config, service_names, Hale};
use common::report::{self, Row};
use futures_util::StreamExt;
use std::process::Command;
use std::time::{Duration, Instant};

struct Options {
    sizes: Vec<usize>,
    days: i64,
    seconds: u64,
    connections: u64,
    threads: u64,
}

fn options() -> Options {
    let args = Args::parse();
    let sizes = args
        .value("--sizes")
        .unwrap_or_else(|| {
            if report::short() {
                "50,300".into()
            } else {
                "50,1000,10000".into()
            }
        })
        .split(',')
        .map(|n| n.trim().parse().expect("--sizes: numbers, e.g. 50,1000"))
        .collect();
    Options {
        sizes,
        days: args.number("--days", 90, 3) as i64,
        seconds: args.number("--seconds", 10, 2),
        connections: args.number("--connections", 32, 4),
        threads: args.number("--threads", 1, 1),
    }
}

/// What wrk measured.
struct Load {
    requests_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    non_2xx: u64,
    errors: String,
}

/// `12.34us`, `1.20ms`, `2.00s` → milliseconds.
fn wrk_ms(text: &str) -> Option<f64> {
    let (number, scale) = if let Some(n) = text.strip_suffix("us") {
        (n, 1e-3)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1e3)
    } else {
        return None;
    };
    number.parse::<f64>().ok().map(|n| n * scale)
}

fn wrk(url: &str, o: &Options) -> Load {
    let output = Command::new("wrk")
        .args([
            "-t",
            &o.threads.to_string(),
            "-c",
            &o.connections.to_string(),
        ])
        .args(["-d", &format!("{}s", o.seconds), "--latency"])
        .args(["-H", "Accept-Encoding: gzip, deflate, br"])
        .arg(url)
        .output()
        .expect("running wrk (Debian's package: scripts/bootstrap.sh --bench installs it)");
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(output.status.success(), "wrk failed: {text}");
    println!("{text}");
    let line = |prefix: &str| {
        text.lines()
            .map(str::trim)
            .find(|l| l.starts_with(prefix))
            .map(|l| l[prefix.len()..].trim().to_string())
    };
    Load {
        requests_per_s: line("Requests/sec:")
            .and_then(|v| v.parse().ok())
            .expect("wrk's Requests/sec"),
        p50_ms: line("50%").and_then(|v| wrk_ms(&v)).expect("wrk's p50"),
        p99_ms: line("99%").and_then(|v| wrk_ms(&v)).expect("wrk's p99"),
        non_2xx: line("Non-2xx or 3xx responses:")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        errors: line("Socket errors:").unwrap_or_default(),
    }
}

/// The snapshot's size: the first message a new live client gets.
async fn snapshot_bytes(hale: &Hale) -> usize {
    let url = format!("{}/api/websocket", hale.base.replacen("http", "ws", 1));
    let (mut socket, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let first = socket.next().await.expect("a snapshot").unwrap();
    let text = first.into_text().unwrap();
    assert!(text.starts_with(r#"{"type":"snapshot""#), "{}", &text[..80]);
    text.len()
}

/// Hale's CPU per answer to `path`: `renders` requests one after
/// another, less what Hale spends in as long a spell without requests
/// (its probes).
async fn cpu_per_render(hale: &Hale, path: &str, renders: usize) -> f64 {
    let client = reqwest::Client::new();
    let url = format!("{}{path}", hale.base);
    let (started, cpu) = (Instant::now(), hale.cpu_time());
    for _ in 0..renders {
        let page = client.get(&url).send().await.unwrap();
        assert_eq!(page.status(), 200);
        page.bytes().await.unwrap();
    }
    let (wall, busy) = (started.elapsed(), hale.cpu_time() - cpu);
    let quiet_cpu = hale.cpu_time();
    tokio::time::sleep(wall).await;
    let quiet = hale.cpu_time() - quiet_cpu;
    busy.saturating_sub(quiet).as_secs_f64() * 1_000.0 / renders as f64
}

async fn one_size(n: usize, fleet: &Fleet, o: &Options, rows: &mut Vec<Row>) {
    let db = common::db::temp_db("sqlite").await;
    let names = service_names(n);
    common::db::seed_history(&db.url, &names, o.days).await;
    let config = fleet_config("Render benchmark", fleet, &names);
    let hale = Hale::start(&config, &db.url).await;
    // The first round of probes in (spread over the 30 s interval), so
    // most cards show latency and status.
    tokio::time::sleep(Duration::from_secs(if report::short() { 2 } else { 10 })).await;

    let page = reqwest::get(format!("{}/", hale.base)).await.unwrap();
    assert_eq!(page.status(), 200, "{n} services must render");
    let html = page.text().await.unwrap();
    if let Ok(dir) = std::env::var("HALE_BENCH_RESULTS") {
        // The page measured, to look at.
        let _ = std::fs::write(
            std::path::Path::new(&dir).join(format!("render-page-{n}.html")),
            &html,
        );
    }
    let cards = html.matches("data-service=").count();
    assert_eq!(cards, n, "every service on the page");
    let gzip = reqwest::Client::new()
        .get(format!("{}/", hale.base))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gzip.headers()["content-encoding"], "gzip");
    let gzip_bytes = gzip.bytes().await.unwrap().len();
    let snapshot = snapshot_bytes(&hale).await;
    println!(
        "page: {cards} services, {:.0} KiB HTML, {:.0} KiB gzipped, snapshot {:.0} KiB",
        html.len() as f64 / 1024.0,
        gzip_bytes as f64 / 1024.0,
        snapshot as f64 / 1024.0,
    );
    let kept = wrk(&format!("{}/", hale.base), o);
    let rss = hale.rss_bytes();
    // What the longest ranges the API takes cost (issue 17: a loop of
    // them runs in turns, so this is the most a core is asked per call).
    // Up to 1,000 services: at 10,000 one metrics read of 90 days of
    // hourly buckets outlasts the 150 s request deadline.
    let mut long_reads: Vec<(&str, f64)> = Vec::new();
    if n <= 1_000 {
        for (label, path) in [
            ("report", "/api/reports?window=3650d"),
            ("metrics", "/api/metrics?window=3650d"),
        ] {
            long_reads.push((label, cpu_per_render(&hale, path, 2).await));
        }
    }
    drop(hale);

    let hale = Hale::start_with(&config, &db.url, &["--no-page-cache"]).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let renders = (20_000 / n).clamp(3, 50);
    let cpu_ms = cpu_per_render(&hale, "/", renders).await;
    let fresh = wrk(&format!("{}/", hale.base), o);
    drop(hale);

    let per_service = html.len() as f64 / n as f64;
    let size = format!(
        "{per_service:.0} B ({:.0} KiB, {:.0} KiB gzipped)",
        html.len() as f64 / 1024.0,
        gzip_bytes as f64 / 1024.0
    );
    let size_figure = format!("Status page, {n} services: HTML per service (whole page, gzipped)");
    rows.push(if n >= 1_000 {
        Row::at_most(&size_figure, per_service, 1_024.0, size, "≤ 1 KiB")
    } else {
        Row::reported(&size_figure, size)
    });
    let snapshot_per = snapshot as f64 / n as f64;
    rows.push(Row::at_most(
        &format!("Live snapshot, {n} services: bytes per service"),
        snapshot_per,
        200.0,
        format!("{snapshot_per:.0} B ({:.0} KiB)", snapshot as f64 / 1024.0),
        "≤ 200 B",
    ));
    let cpu_figure = format!("Status page, {n} services: CPU of a fresh render");
    let cpu_shown = format!("{cpu_ms:.1} ms");
    rows.push(if n == 1_000 {
        Row::at_most(&cpu_figure, cpu_ms, 10.0, cpu_shown, "≤ 10 ms")
    } else {
        Row::reported(&cpu_figure, cpu_shown)
    });
    let kept_figure = format!(
        "Status page, {n} services: kept renders, requests/s, p50, p99 (wrk, {} connections, gzip)",
        o.connections
    );
    let kept_shown = format!(
        "{:.0}/s, {:.1} ms, {:.1} ms",
        kept.requests_per_s, kept.p50_ms, kept.p99_ms
    );
    rows.push(if n == 50 {
        // Issue 6's figure, at its size.
        Row::at_least(
            &kept_figure,
            kept.requests_per_s,
            3_000.0,
            kept_shown,
            "≥ 3,000/s",
        )
    } else {
        Row::reported(&kept_figure, kept_shown)
    });
    for (label, ms) in long_reads {
        rows.push(Row::reported(
            &format!(
                "API, {n} services: CPU of one {label} over 3,650 days ({} days of history)",
                o.days
            ),
            format!("{ms:.1} ms"),
        ));
    }
    rows.push(Row::reported(
        &format!("Status page, {n} services: every request rendered afresh, requests/s, p50, p99"),
        format!(
            "{:.0}/s, {:.1} ms, {:.1} ms",
            fresh.requests_per_s, fresh.p50_ms, fresh.p99_ms
        ),
    ));
    for (label, load) in [("kept", &kept), ("fresh", &fresh)] {
        if load.non_2xx > 0 || !load.errors.is_empty() {
            rows.push(Row::judged(
                &format!("Status page, {n} services, under load ({label}): failed answers"),
                format!("{} non-2xx; socket errors: {}", load.non_2xx, load.errors),
                "none",
                false,
            ));
        }
    }
    println!(
        "{n} services: Hale RSS after the kept-render run: {:.1} MiB",
        rss as f64 / 1_048_576.0
    );
    db.drop_now().await;
}

async fn run(o: Options) {
    let fleet = Fleet::spawn();
    let mut rows = Vec::new();
    for &n in &o.sizes {
        one_size(n, &fleet, &o, &mut rows).await;
    }
    report::publish("render", "cargo bench -p server --bench render", &rows);
    drop(fleet);
}

fn main() {
    common::main(|| run(options()));
}
