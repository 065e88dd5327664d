//! Server render (issue 6): the status page with S services and their
//! uptime bars, under load from wrk on loopback.
//!
//! `cargo bench -p server --bench render [-- --services S --days D --seconds T --connections C --threads W --short]`
//!
//! Hale runs as `hale serve` with S services (D days of history each,
//! probed every 30 s against the fake fleet, so the board changes as in
//! life). wrk asks for `/` with `Accept-Encoding: gzip`, as browsers do,
//! over C keep-alive connections from W threads. A second run is against
//! `hale serve --no-page-cache`, which renders every request anew: the
//! cost when the board changes faster than pages are read. Needs `wrk`
//! (Debian's package; `scripts/bootstrap.sh --bench`).

mod common;

use common::args::Args;
use common::fleet::Fleet;
use common::hale::{fleet_config, service_names, Hale};
use common::report::{self, Row};
use std::process::Command;

struct Options {
    services: usize,
    days: i64,
    seconds: u64,
    connections: u64,
    threads: u64,
}

fn options() -> Options {
    let args = Args::parse();
    Options {
        services: args.number("--services", 50, 50) as usize,
        days: args.number("--days", 90, 3) as i64,
        seconds: args.number("--seconds", 20, 2),
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

async fn run(o: Options) {
    let fleet = Fleet::spawn();
    let db = common::db::temp_db("sqlite").await;
    let names = service_names(o.services);
    common::db::seed_history(&db.url, &names, o.days).await;
    let config = fleet_config("Render benchmark", &fleet, &names);
    let hale = Hale::start(&config, &db.url).await;
    // The first round of probes in, so cards show latency and status.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;

    let page = reqwest::get(format!("{}/", hale.base)).await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    if let Ok(dir) = std::env::var("HALE_BENCH_RESULTS") {
        // The page measured, to look at.
        let _ = std::fs::write(std::path::Path::new(&dir).join("render-page.html"), &html);
    }
    let cards = html.matches("data-service=").count();
    let segments = html.matches("data-day=").count();
    assert_eq!(cards, o.services, "every service on the page");
    let gzip = reqwest::Client::new()
        .get(format!("{}/", hale.base))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gzip.headers()["content-encoding"], "gzip");
    let gzip_bytes = gzip.bytes().await.unwrap().len();
    println!(
        "page: {cards} services, {segments} bar segments, {:.0} KiB HTML, {:.0} KiB gzipped",
        html.len() as f64 / 1024.0,
        gzip_bytes as f64 / 1024.0
    );

    let kept = wrk(&format!("{}/", hale.base), &o);
    let rss = hale.rss_bytes();
    drop(hale);
    let hale = Hale::start_with(&config, &db.url, &["--no-page-cache"]).await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let fresh = wrk(&format!("{}/", hale.base), &o);
    let n = o.services;
    let mut rows = vec![
        Row::at_least(
            &format!(
                "Status page, {n} services with bars: requests/s, p99 (wrk, {} connections, gzip)",
                o.connections
            ),
            kept.requests_per_s,
            3_000.0,
            format!("{:.0}/s, p99 {:.1} ms", kept.requests_per_s, kept.p99_ms),
            "≥ 3,000/s",
        ),
        Row::reported(
            &format!(
                "Status page, {n} services, every request rendered afresh: requests/s, p50, p99"
            ),
            format!(
                "{:.0}/s, {:.1} ms, {:.1} ms",
                fresh.requests_per_s, fresh.p50_ms, fresh.p99_ms
            ),
        ),
        Row::reported(
            &format!(
                "Status page size, {n} services with {} bar segments: HTML (gzipped)",
                segments
            ),
            format!(
                "{:.0} KiB ({:.0} KiB)",
                html.len() as f64 / 1024.0,
                gzip_bytes as f64 / 1024.0
            ),
        ),
    ];
    for (label, load) in [("kept", &kept), ("fresh", &fresh)] {
        if load.non_2xx > 0 || !load.errors.is_empty() {
            rows.push(Row::judged(
                &format!("Status page under load ({label}): failed answers"),
                format!("{} non-2xx; socket errors: {}", load.non_2xx, load.errors),
                "none",
                false,
            ));
        }
    }
    println!(
        "Hale RSS after the kept-render run: {:.1} MiB",
        rss as f64 / 1_048_576.0
    );
    report::publish("render", "cargo bench -p server --bench render", &rows);
    drop(hale);
    drop(fleet);
    db.drop_now().await;
}

fn main() {
    common::main(|| run(options()));
}
