//! `hale check`'s figures, and the diagnosis of one service that the
//! detail page's "Run diagnostics" button shows.

use crate::LatencySummary;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorCount {
    pub message: String,
    pub count: u64,
}

/// The figures of a run of checks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub target: String,
    pub healthy: bool,
    pub checks: u64,
    pub successful: u64,
    pub failed: u64,
    pub success_rate_pct: f64,
    /// The same figures, under the same names, as reports and the API.
    pub latency: Option<LatencySummary>,
    pub errors: Vec<ErrorCount>,
    pub status_codes: BTreeMap<String, u64>,
    pub duration_s: f64,
    pub throughput_per_s: f64,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: {}",
            self.target,
            if self.healthy { "HEALTHY" } else { "UNHEALTHY" }
        )?;
        writeln!(
            f,
            "  checks      {} ({} ok, {} failed, {:.2}% success) in {:.1} s, {:.2}/s",
            self.checks,
            self.successful,
            self.failed,
            self.success_rate_pct,
            self.duration_s,
            self.throughput_per_s
        )?;
        if let Some(l) = &self.latency {
            writeln!(
                f,
                "  latency     min {:.1} · avg {:.1} · median {:.1} · p95 {:.1} · p99 {:.1} · max {:.1} ms",
                l.min_ms, l.avg_ms, l.median_ms, l.p95_ms, l.p99_ms, l.max_ms
            )?;
        }
        if !self.status_codes.is_empty() {
            let codes: Vec<String> = self
                .status_codes
                .iter()
                .map(|(c, n)| format!("{c} ×{n}"))
                .collect();
            writeln!(f, "  status      {}", codes.join(", "))?;
        }
        for e in &self.errors {
            writeln!(f, "  error ×{:<4} {}", e.count, e.message)?;
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    pub ok: bool,
    pub address: String,
    pub latency_ms: Option<f64>,
    pub error: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Certificate {
    pub ok: bool,
    pub expires_at: Option<DateTime<Utc>>,
    pub days_left: Option<i64>,
    pub error: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dns {
    pub ok: bool,
    pub host: String,
    pub addresses: Vec<String>,
    pub error: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// `high_latency`, `low_success_rate`, `connection_failed`,
    /// `certificate_expiring`, `certificate_invalid`, `dns_failed`.
    pub kind: String,
    pub issue: String,
    pub recommendation: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Diagnosis {
    pub service: String,
    pub target: String,
    pub started_at: DateTime<Utc>,
    pub duration_ms: f64,
    pub healthy: bool,
    pub dns: Option<Dns>,
    pub connection: Option<Connection>,
    pub certificate: Option<Certificate>,
    /// Latency samples and the reliability run: the same probes.
    pub samples: Summary,
    pub issues: Vec<Finding>,
}
