//! The JSON answers of `/api/metrics`, `/api/metrics/health`,
//! `/api/metrics/<service>` and `/api/services/<name>/history`
//! (docs/api.md has their shapes and an example of each).

use crate::{Band, Bands, LatencySummary, ProbeEvent, ServiceStatus, WindowFigures};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The span a figure covers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Period {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// `GET /api/metrics`: every service's figures over a window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Failed share of results, 0 without any (see `services` for null).
    pub error_rate_by_service: BTreeMap<String, f64>,
    pub probe_count_by_hour: Vec<HourCount>,
    /// Services by current status, the statuses some service is in.
    pub status_distribution: BTreeMap<String, u64>,
    /// Results per service in the window.
    pub service_distribution: BTreeMap<String, u64>,
    pub analysis_period: Period,
    /// `24h`, `7d`, …, or `custom`.
    pub window: String,
    pub services: BTreeMap<String, WindowFigures>,
}

/// Results in one hour, across services.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HourCount {
    pub hour: DateTime<Utc>,
    pub count: u64,
}

/// A service's (or every service's) error-rate class; `unknown` without
/// results.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateStatus {
    Healthy,
    Warning,
    Critical,
    Unknown,
}

impl From<Option<Band>> for RateStatus {
    fn from(band: Option<Band>) -> RateStatus {
        match band {
            None => RateStatus::Unknown,
            Some(Band::Healthy) => RateStatus::Healthy,
            Some(Band::Warning) => RateStatus::Warning,
            Some(Band::Critical) => RateStatus::Critical,
        }
    }
}

/// `GET /api/metrics/health`: each service's error-rate class.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HealthMetrics {
    /// The worst class of any service; `healthy` with no services.
    pub status: RateStatus,
    pub services: BTreeMap<String, ServiceHealth>,
    /// One per service in the warning or critical band.
    pub alerts: Vec<RateAlert>,
    pub thresholds: Bands,
    pub analysis_period: Period,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceHealth {
    pub status: RateStatus,
    pub error_rate: f64,
    pub error_count: u64,
    pub total_count: u64,
}

/// A service over a band's threshold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RateAlert {
    pub service: String,
    /// `Error rate above 5% threshold`
    pub message: String,
    pub band: Band,
    pub error_rate: Option<f64>,
}

/// `GET /api/metrics/<service>`: one service's windows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceMetrics {
    pub service: String,
    pub status: ServiceStatus,
    pub windows: Vec<WindowFigures>,
    /// Its objective's figures, for a service that declares one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo: Option<crate::SloFigures>,
}

/// `GET /api/services/<name>/history`: results or buckets over a range.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceHistory {
    pub service: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// `raw`, `hour` or `day`.
    pub resolution: String,
    /// Raw results beyond the cap were left out (the newest are kept).
    pub truncated: bool,
    pub points: HistoryPoints,
}

/// Raw results (oldest first), or one point per hour or day.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum HistoryPoints {
    Raw(Vec<ProbeEvent>),
    Buckets(Vec<BucketPoint>),
}

/// An hour's or a day's figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BucketPoint {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub total: u64,
    pub successful: u64,
    pub uptime_pct: Option<f64>,
    pub unknown_pct: f64,
    pub error_rate: Option<f64>,
    pub band: Option<Band>,
    pub latency: Option<LatencySummary>,
}
