//! What a benchmark hands to the harness: its rows of the results table in
//! docs/benchmarks.md.
//!
//! Each benchmark prints its rows and, when `HALE_BENCH_RESULTS` names a
//! directory (`scripts/bench.sh` sets it), writes them there as
//! `<benchmark>.json`; `scripts/bench-table.mjs` turns the files into the
//! table.

use serde::Serialize;

/// How a figure compares with its target.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Met,
    Missed,
    /// A figure reported without a target.
    Reported,
}

#[derive(Serialize, Clone, Debug)]
pub struct Row {
    pub figure: String,
    pub measured: String,
    pub target: String,
    pub verdict: Verdict,
}

impl Row {
    /// A figure that should be at most `limit` (same unit as `value`).
    pub fn at_most(figure: &str, value: f64, limit: f64, shown: String, target: &str) -> Row {
        Row::judged(figure, shown, target, value <= limit)
    }

    /// A figure that should be at least `floor`.
    pub fn at_least(figure: &str, value: f64, floor: f64, shown: String, target: &str) -> Row {
        Row::judged(figure, shown, target, value >= floor)
    }

    pub fn judged(figure: &str, shown: String, target: &str, met: bool) -> Row {
        Row {
            figure: figure.into(),
            measured: shown,
            target: target.into(),
            verdict: if met { Verdict::Met } else { Verdict::Missed },
        }
    }

    pub fn reported(figure: &str, shown: String) -> Row {
        Row {
            figure: figure.into(),
            measured: shown,
            target: "—".into(),
            verdict: Verdict::Reported,
        }
    }
}

#[derive(Serialize)]
struct Results<'a> {
    benchmark: &'a str,
    command: &'a str,
    short: bool,
    machine: String,
    rows: &'a [Row],
}

/// Whether the harness asked for the quick pass (`--short`).
pub fn short() -> bool {
    std::env::args().any(|a| a == "--short")
}

/// Prints the rows and hands them to the harness.
pub fn publish(benchmark: &str, command: &str, rows: &[Row]) {
    println!("\n{benchmark}: {command}");
    for row in rows {
        println!(
            "  {:<58} {:>22}  target {:<14} {:?}",
            row.figure, row.measured, row.target, row.verdict
        );
    }
    let Ok(dir) = std::env::var("HALE_BENCH_RESULTS") else {
        return;
    };
    // A short pass proves the benchmark runs; its figures are not judged.
    let judged: Vec<Row>;
    let rows = if short() {
        judged = rows
            .iter()
            .cloned()
            .map(|r| Row {
                verdict: Verdict::Reported,
                ..r
            })
            .collect();
        &judged[..]
    } else {
        rows
    };
    let results = Results {
        benchmark,
        command,
        short: short(),
        machine: super::measure::machine(),
        rows,
    };
    std::fs::create_dir_all(&dir).expect("creating the results directory");
    let path = std::path::Path::new(&dir).join(format!("{benchmark}.json"));
    let json = serde_json::to_string_pretty(&results).expect("results serialize");
    std::fs::write(&path, json).expect("writing the results");
}

/// `sorted[q]`, nearest rank.
pub fn percentile<T: Copy>(sorted: &[T], q: f64) -> T {
    sorted[((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1]
}
