//! `hale check`: probe one target from the command line — or every service
//! of a config once — and print latency and reliability figures. Exit 0
//! when healthy, 1 when not, 2 on bad usage: a container health check or a
//! cron job as it is.

use crate::config::{Config, ServiceConfig};
use crate::event::ProbeResult;
use crate::probe::{AnyProber, Prober};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::time::Instant;
use wire::diagnosis::{ErrorCount, Summary};
use wire::LatencySummary;

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// The target: http(s)://, tcp://, tls://, dns://, icmp:// as in the config.
    pub url: Option<String>,
    /// Check every service of this config once and print a table.
    #[arg(long, conflicts_with = "url")]
    pub config: Option<PathBuf>,
    /// One check, then exit (the default when neither --count nor --duration is given).
    #[arg(long, conflicts_with_all = ["count", "duration"])]
    pub single_check: bool,
    /// Checks to run.
    #[arg(long)]
    pub count: Option<u64>,
    /// Time between the starts of checks.
    #[arg(long, default_value = "1s")]
    pub interval: crate::duration::HumanDuration,
    /// Keep checking this long (with --count, whichever ends first).
    #[arg(long)]
    pub duration: Option<crate::duration::HumanDuration>,
    /// Each check's timeout.
    #[arg(long, default_value = "10s")]
    pub timeout: crate::duration::HumanDuration,
    /// A condition, as in the config (`[STATUS] == 200`); repeatable.
    #[arg(long = "condition")]
    pub conditions: Vec<String>,
    /// Print the figures as JSON.
    #[arg(long)]
    pub json: bool,
    /// Write the figures (JSON) to this file as well.
    #[arg(long)]
    pub output: Option<PathBuf>,
}

/// Healthy below the default warning band of errors.
const HEALTHY_ERROR_RATE: f64 = 0.05;

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1]
}

pub fn summarize(target: &str, results: &[ProbeResult], elapsed: Duration) -> Summary {
    let checks = results.len() as u64;
    let successful = results.iter().filter(|r| r.success).count() as u64;
    let mut latencies: Vec<Duration> = results.iter().map(|r| r.latency).collect();
    latencies.sort();
    let latency = (!latencies.is_empty()).then(|| LatencySummary {
        min_ms: ms(latencies[0]),
        max_ms: ms(latencies[latencies.len() - 1]),
        avg_ms: ms(latencies.iter().sum::<Duration>() / latencies.len() as u32),
        median_ms: ms(percentile(&latencies, 0.5)),
        p95_ms: ms(percentile(&latencies, 0.95)),
        p99_ms: ms(percentile(&latencies, 0.99)),
        num_requests: checks,
    });
    let mut errors: Vec<ErrorCount> = Vec::new();
    for r in results.iter().filter(|r| !r.success) {
        match errors.iter_mut().find(|e| e.message == r.message) {
            Some(e) => e.count += 1,
            None => errors.push(ErrorCount {
                message: r.message.clone(),
                count: 1,
            }),
        }
    }
    let mut status_codes = BTreeMap::new();
    for code in results.iter().filter_map(|r| r.status_code) {
        *status_codes.entry(code.to_string()).or_default() += 1;
    }
    let failed = checks - successful;
    let rate = if checks == 0 {
        0.0
    } else {
        successful as f64 / checks as f64
    };
    Summary {
        target: target.to_string(),
        healthy: checks > 0 && (failed as f64 / checks as f64) < HEALTHY_ERROR_RATE,
        checks,
        successful,
        failed,
        success_rate_pct: (rate * 100_000.0).round() / 1_000.0,
        latency,
        errors,
        status_codes,
        duration_s: (elapsed.as_secs_f64() * 1_000.0).round() / 1_000.0,
        throughput_per_s: if elapsed.is_zero() {
            0.0
        } else {
            ((checks as f64 / elapsed.as_secs_f64()) * 1_000.0).round() / 1_000.0
        },
    }
}

/// The one-service config a URL and the flags make, validated as a config
/// file would be (so errors read the same).
fn service_for(args: &CheckArgs, url: &str) -> Result<ServiceConfig, String> {
    // The config's interval is not used here (checks follow --interval,
    // one after another); one at least as long as the timeout keeps the
    // config's rules happy.
    let interval = crate::duration::HumanDuration(args.timeout.0.max(Duration::from_secs(1)));
    let mut service = serde_json::json!({
        "name": "check",
        "url": url,
        "interval": interval.to_string(),
        "timeout": args.timeout.to_string(),
    });
    if !args.conditions.is_empty() {
        service["conditions"] = serde_json::json!(args.conditions);
    }
    // JSON is YAML (flow style): the text parses as a config file would.
    let yaml = serde_json::json!({ "services": [service] }).to_string();
    let config = Config::parse(&yaml, Path::new("<command line>"), |_| None).map_err(|e| {
        e.issues
            .iter()
            .map(|i| {
                format!(
                    "{}: {}",
                    i.field.trim_start_matches("services[0]."),
                    i.message
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    Ok(config.services.into_iter().next().expect("one service"))
}

fn draw_progress(done: u64, total: Option<u64>, started: Instant, deadline: Option<Duration>) {
    let fraction = match (total, deadline) {
        (Some(t), _) if t > 0 => done as f64 / t as f64,
        (_, Some(d)) if !d.is_zero() => started.elapsed().as_secs_f64() / d.as_secs_f64(),
        _ => 0.0,
    }
    .clamp(0.0, 1.0);
    let width = 30;
    let filled = (fraction * width as f64) as usize;
    let mut err = std::io::stderr();
    let _ = write!(
        err,
        "\r[{}{}] {done} checks, {:.0}%",
        "#".repeat(filled),
        ".".repeat(width - filled),
        fraction * 100.0
    );
    let _ = err.flush();
}

/// Runs the checks of one target.
pub async fn run_target(
    args: &CheckArgs,
    url: &str,
    prober: &dyn Prober,
) -> Result<Summary, String> {
    let service = service_for(args, url)?;
    let count = match (args.count, args.duration, args.single_check) {
        (_, _, true) | (None, None, false) => Some(1),
        (count, _, false) => count,
    };
    if count == Some(0) {
        return Err("--count must be at least 1".into());
    }
    let deadline = args.duration.map(|d| d.0);
    let progress = std::io::stderr().is_terminal() && count != Some(1);
    let started = Instant::now();
    let mut ticks = tokio::time::interval(args.interval.0);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut results = Vec::new();
    loop {
        ticks.tick().await;
        if deadline.is_some_and(|d| started.elapsed() >= d) && !results.is_empty() {
            break;
        }
        results.push(prober.probe(&service.probe).await);
        if progress {
            draw_progress(results.len() as u64, count, started, deadline);
        }
        if count.is_some_and(|c| results.len() as u64 >= c) {
            break;
        }
    }
    if progress {
        eprintln!();
    }
    Ok(summarize(url, &results, started.elapsed()))
}

/// Checks every service of a config once, concurrently; the table.
pub async fn run_config(
    path: &Path,
    prober: &dyn Prober,
) -> Result<(bool, String, Vec<ProbeResult>), String> {
    let config = Config::load(path).map_err(|e| e.to_string())?;
    let probed: Vec<&ServiceConfig> = config
        .services
        .iter()
        .filter(|s| s.kind() != crate::probe::ProbeKind::Push)
        .collect();
    let results =
        futures_util::future::join_all(probed.iter().map(|s| prober.probe(&s.probe))).await;
    let width = probed
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(4)
        .max(7);
    let mut table = format!(
        "{:<width$}  {:<6}  {:>10}  {}\n",
        "SERVICE", "RESULT", "LATENCY", "MESSAGE"
    );
    for r in &results {
        table.push_str(&format!(
            "{:<width$}  {:<6}  {:>7.1} ms  {}\n",
            r.service,
            if r.success { "ok" } else { "FAIL" },
            r.latency_ms(),
            r.message
        ));
    }
    let skipped = config.services.len() - probed.len();
    if skipped > 0 {
        table.push_str(&format!("({skipped} push services are not probed)\n"));
    }
    Ok((results.iter().all(|r| r.success), table, results))
}

/// `hale check`: the exit code.
pub async fn main(args: CheckArgs) -> std::process::ExitCode {
    use std::process::ExitCode;
    let prober = match AnyProber::new() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("hale check: building the HTTP client: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(path) = &args.config {
        return match run_config(path, &prober).await {
            Ok((healthy, table, _)) => {
                print!("{table}");
                if healthy {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                }
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(2)
            }
        };
    }
    let Some(url) = &args.url else {
        eprintln!("hale check: give a URL or --config FILE");
        return ExitCode::from(2);
    };
    let summary = match run_target(&args, url, &prober).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("hale check: {e}");
            return ExitCode::from(2);
        }
    };
    let json = serde_json::to_string_pretty(&summary).expect("summaries serialize");
    if let Some(path) = &args.output {
        if let Err(e) = std::fs::write(path, format!("{json}\n")) {
            eprintln!("hale check: writing {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    if args.json {
        println!("{json}");
    } else {
        print!("{summary}");
    }
    if summary.healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use std::sync::Arc;

    fn result(success: bool, ms: u64, message: &str) -> ProbeResult {
        ProbeResult {
            service: Arc::from("check"),
            checked_at: Utc::now(),
            success,
            latency: Duration::from_millis(ms),
            status_code: Some(if success { 200 } else { 503 }),
            message: message.into(),
            conditions: vec![],
            region: None,
            certificate_expiration: None,
        }
    }

    struct Instantly;

    #[async_trait::async_trait]
    impl Prober for Instantly {
        async fn probe(&self, _: &crate::probe::ProbeSpec) -> ProbeResult {
            result(true, 1, "HTTP 200")
        }
    }

    fn args(extra: &[&str]) -> CheckArgs {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct Wrapper {
            #[command(flatten)]
            check: CheckArgs,
        }
        let mut argv = vec!["hale", "http://127.0.0.1:1/"];
        argv.extend_from_slice(extra);
        Wrapper::parse_from(argv).check
    }

    #[tokio::test(start_paused = true)]
    async fn a_duration_runs_a_check_per_interval_until_it_ends() {
        let summary = run_target(
            &args(&["--duration", "10s", "--interval", "1s"]),
            "http://127.0.0.1:1/",
            &Instantly,
        )
        .await
        .unwrap();
        assert_eq!(summary.checks, 10);
        // With --count too, whichever ends first.
        let summary = run_target(
            &args(&["--duration", "10s", "--interval", "2s", "--count", "3"]),
            "http://127.0.0.1:1/",
            &Instantly,
        )
        .await
        .unwrap();
        assert_eq!(summary.checks, 3);
        let summary = run_target(&args(&[]), "http://127.0.0.1:1/", &Instantly)
            .await
            .unwrap();
        assert_eq!(summary.checks, 1, "one check by default");
    }

    #[test]
    fn a_summary_has_exact_percentiles_and_counted_errors() {
        let mut results: Vec<_> = (1..=100).map(|i| result(true, i, "HTTP 200")).collect();
        results[9] = result(false, 10, "HTTP 503");
        results[19] = result(false, 20, "HTTP 503");
        results[29] = result(false, 30, "timed out");
        let s = summarize("http://x", &results, Duration::from_secs(10));
        assert_eq!((s.checks, s.successful, s.failed), (100, 97, 3));
        assert!(s.healthy, "3 % errors is below the warning band");
        let l = s.latency.unwrap();
        assert_eq!(
            (l.min_ms, l.median_ms, l.p95_ms, l.p99_ms, l.max_ms),
            (1.0, 50.0, 95.0, 99.0, 100.0)
        );
        assert_eq!(l.avg_ms, 50.5);
        assert_eq!(s.errors[0].message, "HTTP 503");
        assert_eq!(s.errors[0].count, 2);
        assert_eq!(s.status_codes["503"], 3);
        assert_eq!(s.throughput_per_s, 10.0);
        let six_pct: Vec<_> = (0..100).map(|i| result(i >= 6, 1, "x")).collect();
        assert!(!summarize("x", &six_pct, Duration::from_secs(1)).healthy);
    }
}
