//! Page weight and hydration (issue 6).
//!
//! `cargo bench -p server --bench page [-- --build release|debug --loads N --services S --days D --short]`
//!
//! - Weight: every wasm, JS and CSS file the status page loads from the
//!   built site (`target/site/pkg`; Chromium says which: the split
//!   chunks of the detail page are not among them, and are reported
//!   apart), gzipped at level 9 here, and as
//!   served (the `.gz`/`.br` files `cargo leptos build --release
//!   --precompress` writes, which Hale sends to browsers that accept them).
//!   The figure is for a release build; `scripts/bench.sh` makes one and
//!   passes `--build release`. On a debug build the sizes are reported, not
//!   judged.
//! - Hydration: Hale serving S services with D days of bars; Debian's
//!   Chromium loads the page N times, each in a fresh context (cold
//!   cache), and reports navigation start to the `hale:hydrated` mark
//!   (Leptos has hydrated the page) and to `hale:live` (the WebSocket's
//!   snapshot is applied) — `end2end/bench/hydrate.mjs`.
//! - At scale (`--large L`, 1,000 services; 300 with `--short`): the same
//!   loads against Hale serving L services probed every 30 s (33 results
//!   a second at 1,000), then one page kept open `--open` seconds (30)
//!   while those results arrive: the share of that time the main thread
//!   spent in long tasks (the Performance API's `longtask` entries).

mod common;

use common::args::Args;
use common::fleet::Fleet;
use common::hale::{fleet_config, service_names, site_root, Hale};
use common::report::{self, percentile, Row};
use std::io::Write;
use std::path::Path;

struct Options {
    release: bool,
    loads: usize,
    services: usize,
    days: i64,
    large: usize,
    open_seconds: u64,
}

fn options() -> Options {
    let args = Args::parse();
    Options {
        release: args.value("--build").as_deref() == Some("release"),
        loads: args.number("--loads", 20, 2) as usize,
        services: args.number("--services", 50, 5) as usize,
        days: args.number("--days", 90, 3) as i64,
        large: args.number("--large", 1_000, 300) as usize,
        open_seconds: args.number("--open", 30, 5),
    }
}

fn gzip9(bytes: &[u8]) -> usize {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap().len()
}

struct Asset {
    name: String,
    raw: usize,
    gzip: usize,
    served_gz: Option<usize>,
    served_br: Option<usize>,
}

fn assets(pkg: &Path) -> Vec<Asset> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(pkg).unwrap_or_else(|e| panic!("{}: {e}", pkg.display())) {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let kind = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !matches!(kind, "wasm" | "js" | "css") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let size_of = |suffix: &str| {
            std::fs::metadata(pkg.join(format!("{name}.{suffix}")))
                .ok()
                .map(|m| m.len() as usize)
        };
        found.push(Asset {
            raw: bytes.len(),
            gzip: gzip9(&bytes),
            served_gz: size_of("gz"),
            served_br: size_of("br"),
            name,
        });
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found
}

fn kib(bytes: usize) -> f64 {
    bytes as f64 / 1024.0
}

fn sorted(result: &serde_json::Value, key: &str) -> Vec<f64> {
    let mut v: Vec<f64> = result[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    v.sort_by(f64::total_cmp);
    v
}

/// Hale serving `services` services (every 30 s, `days` days of history)
/// loaded `loads` times by `end2end/bench/hydrate.mjs`, then kept open
/// `open_seconds`: what the script printed.
async fn chromium(
    fleet: &Fleet,
    services: usize,
    days: i64,
    loads: usize,
    open_seconds: u64,
) -> serde_json::Value {
    let db = common::db::temp_db("sqlite").await;
    let names = service_names(services);
    common::db::seed_history(&db.url, &names, days).await;
    let config = fleet_config("Page benchmark", fleet, &names);
    let hale = Hale::start(&config, &db.url).await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../end2end/bench/hydrate.mjs");
    let output = tokio::process::Command::new("node")
        .arg(&script)
        .arg(format!("{}/", hale.base))
        .arg(loads.to_string())
        .arg(open_seconds.to_string())
        .output()
        .await
        .expect("running node (the Playwright tools: scripts/bootstrap.sh --e2e)");
    assert!(
        output.status.success(),
        "{}: {}",
        script.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    drop(hale);
    db.drop_now().await;
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Each load's phases (`hydrate.mjs`): when the HTML arrived and was
/// parsed, when the wasm arrived, hydrated and live, ms from navigation.
fn print_phases(result: &serde_json::Value, services: usize) {
    for phases in result["phases"].as_array().into_iter().flatten() {
        println!("phases, {services} services: {phases}");
    }
}

async fn run(o: Options) {
    let mut rows = Vec::new();
    let build = if o.release { "release" } else { "debug" };

    let pkg = site_root().join("pkg");
    let assets = assets(&pkg);
    assert!(
        assets.iter().any(|a| a.name.ends_with(".wasm")),
        "no wasm in {}: build the site first (cargo leptos build --split [--release --precompress])",
        pkg.display()
    );

    // 1. Hydration in Chromium, which also tells which files the status
    // page loads: with the wasm split (`cargo leptos build --split`) the
    // detail page's code is in chunks that only a detail page fetches.
    let fleet = Fleet::spawn();
    let result = chromium(&fleet, o.services, o.days, o.loads, 0).await;
    print_phases(&result, o.services);
    let times = |key: &str| sorted(&result, key);
    let (hydrated, live) = (times("hydrated_ms"), times("live_ms"));
    // serde_json's maps are ordered by key: by path.
    for (name, t) in result["transferred"].as_object().into_iter().flatten() {
        println!(
            "transferred {name:<40} {:>8.1} KiB ({})",
            t["bytes"].as_f64().unwrap_or(0.0) / 1024.0,
            t["type"].as_str().unwrap_or("")
        );
    }

    // 2. Weight: what the status page loaded, and the rest (the chunks
    // other pages load when first shown).
    let requested: Vec<&str> = result["loaded"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p.as_str())
        .collect();
    for file in ["/pkg/hale.js", "/pkg/hale.wasm", "/pkg/hale.css"] {
        assert!(
            requested.contains(&file),
            "the status page did not load {file}: {requested:?}"
        );
    }
    let loaded = |a: &Asset| requested.contains(&format!("/pkg/{}", a.name).as_str());
    let (page_assets, later): (Vec<&Asset>, Vec<&Asset>) = assets.iter().partition(|a| loaded(a));
    for a in &assets {
        println!(
            "{:<40} {:>9.1} KiB raw {:>8.1} KiB gzip -9  served: gz {} br {}{}",
            a.name,
            kib(a.raw),
            kib(a.gzip),
            a.served_gz
                .map_or("—".into(), |b| format!("{:.1} KiB", kib(b))),
            a.served_br
                .map_or("—".into(), |b| format!("{:.1} KiB", kib(b))),
            if loaded(a) {
                ""
            } else {
                "  (not loaded by the status page)"
            },
        );
    }
    let gzip_total = |list: &[&Asset]| list.iter().map(|a| a.gzip).sum::<usize>();
    let total = gzip_total(&page_assets);
    let parts = page_assets
        .iter()
        .map(|a| format!("{} {:.0}", a.name, kib(a.gzip)))
        .collect::<Vec<_>>()
        .join(", ");
    let figure =
        format!("Page weight: wasm + JS + CSS the status page loads, gzipped ({build} build)");
    let shown = format!("{:.1} KiB ({parts})", kib(total));
    rows.push(if o.release {
        Row::at_most(&figure, kib(total), 250.0, shown, "≤ 250 KiB")
    } else {
        Row::reported(&figure, shown)
    });
    if page_assets.iter().all(|a| a.served_br.is_some()) {
        let br: usize = page_assets.iter().filter_map(|a| a.served_br).sum();
        rows.push(Row::reported(
            &format!("Page weight as served to a browser with brotli ({build} build)"),
            format!("{:.1} KiB", kib(br)),
        ));
    }
    if !later.is_empty() {
        rows.push(Row::reported(
            &format!(
                "Split chunks not loaded by the status page (detail page), gzipped ({build} build)"
            ),
            format!(
                "{:.1} KiB in {} file(s)",
                kib(gzip_total(&later)),
                later.len()
            ),
        ));
    }

    let n = o.loads;
    rows.push(Row::reported(
        &format!(
            "Navigation → hydrated, Chromium, {} services, cold cache, p50 (p95) of {n} ({build} build)",
            o.services
        ),
        format!(
            "{:.0} ms ({:.0})",
            percentile(&hydrated, 0.5),
            percentile(&hydrated, 0.95)
        ),
    ));
    rows.push(Row::reported(
        &format!("Navigation → live (WebSocket snapshot applied), p50 (p95) ({build} build)"),
        format!(
            "{:.0} ms ({:.0})",
            percentile(&live, 0.5),
            percentile(&live, 0.95)
        ),
    ));

    // 3. At scale: hydration, and a page kept open while results arrive.
    let large = chromium(&fleet, o.large, o.days, o.loads.min(5), o.open_seconds).await;
    print_phases(&large, o.large);
    let (hydrated, live) = (sorted(&large, "hydrated_ms"), sorted(&large, "live_ms"));
    let loads = hydrated.len();
    let figure = format!(
        "Navigation → hydrated (→ live), Chromium, {} services, cold cache, p50 of {loads} ({build} build)",
        o.large
    );
    let p50 = percentile(&hydrated, 0.5);
    let shown = format!("{p50:.0} ms ({:.0} ms)", percentile(&live, 0.5));
    rows.push(if o.release && o.large >= 1_000 {
        Row::at_most(&figure, p50, 500.0, shown, "≤ 500 ms")
    } else {
        Row::reported(&figure, shown)
    });
    let busy = large["busy_ms"].as_f64().unwrap();
    let open_ms = large["open_ms"].as_f64().unwrap();
    let changes = large["changes"].as_f64().unwrap();
    assert!(changes > 0.0, "no live result reached the open page");
    let share = busy * 100.0 / open_ms;
    let figure = format!(
        "Main thread in long tasks, page of {} services open {} s while {:.0} results/s arrive ({build} build)",
        o.large,
        o.open_seconds,
        o.large as f64 / 30.0
    );
    let shown = format!("{share:.1} % ({busy:.0} ms; {changes:.0} DOM changes)");
    rows.push(if o.release && o.large >= 1_000 {
        Row::at_most(&figure, share, 10.0, shown, "< 10 %")
    } else {
        Row::reported(&figure, shown)
    });
    drop(fleet);

    report::publish(
        "page",
        &format!("cargo bench -p server --bench page -- --build {build}"),
        &rows,
    );
}

fn main() {
    common::main(|| run(options()));
}
