//! Half-sent request heads (issue 17): clients that open a connection,
//! send part of a request head and then nothing. Before connection
//! hygiene, 2,000 of them stayed connected for ever and Hale kept 126 MiB
//! more after they left.
//!
//! `cargo bench -p server --bench halfopen [-- --clients N --rounds R --short]`
//!
//! `hale serve` runs with ten services; each round opens N connections,
//! each sending a request line and 1 KiB of an unfinished header, then
//! waits for Hale to close them all (its 10 s header-read deadline), and
//! for `hale_http_connections` to be back at one (the `/metrics` request
//! itself). Reported: how long the last close took, and Hale's RSS before
//! the first round, with the connections open, and after each round
//! (6 s after the last close: Hale checks every 5 s whether a burst of
//! connections ended, and then hands their memory back).

mod common;

use common::args::Args;
use common::hale::Hale;
use common::report::{self, Row};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const CONFIG: &str = "
title: Half-open benchmark
services:
";

fn config() -> String {
    let mut yaml = CONFIG.to_string();
    for i in 0..10 {
        yaml.push_str(&format!(
            "  - {{name: svc-{i}, url: 'tcp://127.0.0.1:9', interval: 30s}}\n"
        ));
    }
    yaml
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / 1_048_576.0
}

/// Opens `clients` half-sent heads; the time until Hale closed the last.
async fn round(hale: &Hale, clients: usize) -> (Duration, u64) {
    let addr = hale.base.trim_start_matches("http://").to_string();
    let filler = "x".repeat(1_024);
    let mut sockets = Vec::with_capacity(clients);
    for _ in 0..clients {
        let mut socket = TcpStream::connect(&addr).await.expect("connecting");
        let head = format!("GET /api/health HTTP/1.1\r\nHost: hale\r\nX-Half: {filler}");
        socket.write_all(head.as_bytes()).await.expect("writing");
        sockets.push(socket);
    }
    let opened = Instant::now();
    let open = hale.metric("hale_http_connections").await.unwrap_or(0.0);
    let rss_open = hale.rss_bytes();
    println!(
        "{clients} half heads sent; Hale counts {open} open; RSS {:.1} MiB",
        mib(rss_open)
    );
    let closes: Vec<_> = sockets
        .into_iter()
        .map(|mut socket| {
            tokio::spawn(async move {
                let mut buf = [0u8; 512];
                let deadline = Duration::from_secs(60);
                let _ = tokio::time::timeout(deadline, async {
                    loop {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(_) => continue,
                        }
                    }
                })
                .await;
            })
        })
        .collect();
    for close in closes {
        close.await.unwrap();
    }
    let closed_in = opened.elapsed();
    // Until Hale's own count says they are gone.
    let started = Instant::now();
    while hale
        .metric("hale_http_connections")
        .await
        .unwrap_or(f64::MAX)
        > 1.0
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "connections never closed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (closed_in, rss_open)
}

async fn run() {
    let args = Args::parse();
    let clients = args.number("--clients", 2_000, 200) as usize;
    let rounds = args.number("--rounds", 3, 2) as usize;
    let db = common::db::temp_db("sqlite").await;
    let hale = Hale::start(&config(), &db.url).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = hale.rss_bytes();
    let mut afters = Vec::new();
    let mut worst_close = Duration::ZERO;
    let mut highest_open = 0;
    for r in 0..rounds {
        let (closed_in, rss_open) = round(&hale, clients).await;
        worst_close = worst_close.max(closed_in);
        highest_open = highest_open.max(rss_open);
        // Past Hale's check for a finished burst (every 5 s), which hands
        // the freed memory back.
        tokio::time::sleep(Duration::from_secs(6)).await;
        let after = hale.rss_bytes();
        println!(
            "round {}: closed in {:.1} s; RSS after {:.1} MiB",
            r + 1,
            closed_in.as_secs_f64(),
            mib(after)
        );
        afters.push(after);
    }
    let last = *afters.last().expect("a round");
    let first = afters[0];
    let kept = last.saturating_sub(before);
    let rows = vec![
        Row::at_most(
            &format!("Half-sent request heads: {clients} held, all closed by Hale within"),
            worst_close.as_secs_f64(),
            11.0,
            format!("{:.1} s", worst_close.as_secs_f64()),
            "≤ 11 s (10 s deadline)",
        ),
        Row::reported(
            &format!("Half-sent request heads: Hale's RSS before, with {clients} open, after {rounds} rounds"),
            format!("{:.1} / {:.1} / {:.1} MiB", mib(before), mib(highest_open), mib(last)),
        ),
        Row::at_most(
            &format!("Half-sent request heads: memory kept after {rounds} rounds of {clients} (last round against the first)"),
            mib(last.saturating_sub(first)),
            5.0,
            format!("+{:.1} MiB (+{:.1} MiB against before any)", mib(last.saturating_sub(first)), mib(kept)),
            "≤ 5 MiB",
        ),
    ];
    report::publish("halfopen", "cargo bench -p server --bench halfopen", &rows);
    drop(hale);
    db.drop_now().await;
}

fn main() {
    common::main(run);
}
