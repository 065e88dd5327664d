//! A service's figures over a window, and what its detail page shows.

use crate::{Band, ProbeEvent, ServiceView};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A window's latency figures, in milliseconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    pub min_ms: f64,
    pub max_ms: f64,
    pub avg_ms: f64,
    pub median_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub num_requests: u64,
}

/// A service's objective and how its error budget stands (docs/api.md,
/// "SLO").
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SloFigures {
    /// The objective, in percent: `99.9`.
    pub objective_pct: f64,
    /// The rolling window it is measured over: `"30d"`.
    pub window: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub total_count: u64,
    pub error_count: u64,
    /// The share of results the objective lets fail (0–1): `0.001`.
    pub error_budget: f64,
    /// The budget not spent over the window, in percent: 100 untouched,
    /// 0 spent, below 0 overspent; `None` without results.
    pub error_budget_left_pct: Option<f64>,
    /// How many times as fast as the objective allows the budget burns,
    /// over the last `5m`, `30m`, `1h` and `6h` (1: the whole budget over
    /// the whole window); `None` without results.
    pub burn_rates: std::collections::BTreeMap<String, Option<f64>>,
}

/// A service's figures over one window (24 h, 7 d, 30 d, 90 d or a range).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WindowFigures {
    /// `"24h"`, `"7d"`, `"30d"`, `"90d"`, or `"custom"`.
    pub window: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Successful share of results, in percent; `None` without results.
    /// Time without data is not in it: see `unknown_pct`.
    pub uptime_pct: Option<f64>,
    /// Share of the window without data, in percent.
    pub unknown_pct: f64,
    pub total_count: u64,
    pub error_count: u64,
    /// Failed share of results (0–1); `None` without results.
    pub error_rate: Option<f64>,
    pub band: Option<Band>,
    pub latency: Option<LatencySummary>,
}

/// One point of a latency chart: a bucket's median and 95th percentile.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LatencyPoint {
    pub start: DateTime<Utc>,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub count: u64,
}

/// What a service's detail page (`/status/<slug>/<service>`) shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceDetail {
    pub page_slug: String,
    pub page_title: String,
    pub service: ServiceView,
    /// 24 h, 7 d, 30 d and 90 d, in that order.
    pub windows: Vec<WindowFigures>,
    /// Hourly points over the last 24 hours, oldest first.
    pub latency: Vec<LatencyPoint>,
    /// The newest results, newest first.
    pub recent: Vec<ProbeEvent>,
    pub generated_at: DateTime<Utc>,
    /// Its objective's figures, for a service that declares one.
    #[serde(default)]
    pub slo: Option<SloFigures>,
}
