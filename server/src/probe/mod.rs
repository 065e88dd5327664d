//! Probes: one execution against a target, producing a [`ProbeResult`].
//!
//! Adding a probe kind: a module here implementing [`Prober`] for its spec,
//! a variant in the config's service kind, and a line in `docs/` — see
//! README's tour.

mod http;

pub use http::HttpProber;

use crate::config::ServiceConfig;
use app::model::{ConditionOutcome, ProbeEvent};
use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use std::sync::Arc;
use std::time::Duration;

/// One probe execution, as stored and published.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeResult {
    pub service: Arc<str>,
    pub checked_at: DateTime<Utc>,
    pub success: bool,
    pub latency: Duration,
    pub status_code: Option<u16>,
    /// `HTTP 200`, or why it failed.
    pub message: String,
    pub conditions: Vec<ConditionOutcome>,
    pub region: Option<String>,
}

impl ProbeResult {
    /// A failure without an answer (the prober itself over-ran its time).
    pub fn failed(service: &ServiceConfig, latency: Duration, message: String) -> ProbeResult {
        ProbeResult {
            service: Arc::from(service.name.as_str()),
            checked_at: now(),
            success: false,
            latency,
            status_code: None,
            message,
            conditions: Vec::new(),
            region: None,
        }
    }

    pub fn latency_ms(&self) -> f64 {
        self.latency.as_secs_f64() * 1_000.0
    }

    pub fn to_event(&self) -> ProbeEvent {
        ProbeEvent {
            service: self.service.to_string(),
            timestamp: self.checked_at,
            success: self.success,
            latency_ms: (self.latency_ms() * 1_000.0).round() / 1_000.0,
            status_code: self.status_code,
            message: self.message.clone(),
            conditions: self.conditions.clone(),
            region: self.region.clone(),
        }
    }
}

/// The current time at the millisecond precision the store keeps.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(3)
}

/// Runs one probe of a service. Implementations honour the service's
/// timeout and never panic on a bad target: every outcome is a result.
#[async_trait]
pub trait Prober: Send + Sync + 'static {
    async fn probe(&self, service: &ServiceConfig) -> ProbeResult;
}
