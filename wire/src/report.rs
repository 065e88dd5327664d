//! The health report of `GET /api/reports` (its JSON Schema is
//! docs/report.schema.json; a test holds the two together).

use crate::{Band, LatencySummary, ServiceStatus};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use crate::api::Period;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub generated_at: DateTime<Utc>,
    pub period: Period,
    /// The page reported on; `null` for every configured service.
    pub page: Option<String>,
    pub overall_healthy: bool,
    pub services: Vec<ServiceReport>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceReport {
    pub name: String,
    /// Results in the period and an error rate below the warning band.
    pub healthy: bool,
    /// The status now when the period reaches now, else the worst the
    /// service was in during it.
    pub status: ServiceStatus,
    pub message: String,
    pub uptime_pct: Option<f64>,
    /// Share of the period without results: never counted as up.
    pub unknown_pct: f64,
    pub error_rate_band: Option<Band>,
    pub latency: Option<LatencySummary>,
    pub reliability: Reliability,
    /// Its objective's figures as of the period's end, for a service that
    /// declares one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo: Option<crate::SloFigures>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reliability {
    pub total_attempts: u64,
    pub successful: u64,
    pub failed: u64,
    pub success_rate_pct: Option<f64>,
    /// The newest distinct failure messages, newest first (from raw
    /// results, which are kept for the raw retention window).
    pub errors: Vec<String>,
}
