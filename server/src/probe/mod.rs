//! Probes: one execution against a target, producing a [`ProbeResult`].
//!
//! Adding a probe kind: a module here implementing [`Prober`] for its spec,
//! a variant in the config's service kind, and a line in `docs/` — see
//! README's tour.

mod dns;
mod http;
pub mod icmp;
mod tcp;
pub mod tls;

pub use dns::DnsProber;
pub use http::HttpProber;
pub use icmp::IcmpProber;
pub use tcp::TcpProber;
pub use tls::TlsProber;

use crate::condition::{BodyJson, Observation};
use crate::config::{ProbeKind, ServiceConfig};
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
    /// A result with an empty message and no region, for probers to fill in.
    pub fn new(
        service: &ServiceConfig,
        checked_at: DateTime<Utc>,
        success: bool,
        latency: Duration,
        status_code: Option<u16>,
        conditions: Vec<ConditionOutcome>,
    ) -> ProbeResult {
        ProbeResult {
            service: Arc::from(service.name.as_str()),
            checked_at,
            success,
            latency,
            status_code,
            message: String::new(),
            conditions,
            region: None,
        }
    }

    /// A failure without an answer (the prober itself over-ran its time).
    pub fn failed(service: &ServiceConfig, latency: Duration, message: String) -> ProbeResult {
        ProbeResult {
            message,
            ..ProbeResult::new(service, now(), false, latency, None, Vec::new())
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

/// Evaluates every condition of a service: whether all held, each outcome,
/// and the first failure's explanation.
pub fn evaluate(
    service: &ServiceConfig,
    observation: &Observation<'_>,
) -> (bool, Vec<ConditionOutcome>, Option<String>) {
    let mut json = BodyJson::default();
    let mut first_failure = None;
    let outcomes: Vec<ConditionOutcome> = service
        .conditions
        .iter()
        .map(|condition| {
            let evaluation = condition.evaluate(observation, &mut json);
            if first_failure.is_none() {
                first_failure = evaluation.explanation;
            }
            evaluation.outcome
        })
        .collect();
    (outcomes.iter().all(|c| c.success), outcomes, first_failure)
}

/// Ends every probe the same way: evaluates the conditions, fails on any
/// transport error (conditions can hold without a proper answer), and says
/// why — the error, else the first failed condition, else `ok_message`.
pub fn conclude(
    service: &ServiceConfig,
    checked_at: DateTime<Utc>,
    latency: Duration,
    status_code: Option<u16>,
    observation: &Observation<'_>,
    error: Option<String>,
    ok_message: impl FnOnce() -> String,
) -> ProbeResult {
    let (held, conditions, failure) = evaluate(service, observation);
    let success = held && error.is_none();
    ProbeResult {
        message: error.or(failure).unwrap_or_else(ok_message),
        ..ProbeResult::new(
            service,
            checked_at,
            success,
            latency,
            status_code,
            conditions,
        )
    }
}

/// Runs one probe of a service. Implementations honour the service's
/// timeout and never panic on a bad target: every outcome is a result.
#[async_trait]
pub trait Prober: Send + Sync + 'static {
    async fn probe(&self, service: &ServiceConfig) -> ProbeResult;
}

/// A one-service config for probe tests: `yaml` holds the service's
/// fields after `name`, indented four spaces; `${TOKEN}` is `s3cret`.
#[cfg(test)]
pub(crate) fn test_service(yaml: &str) -> ServiceConfig {
    let source = format!("services:\n  - name: t\n{yaml}");
    crate::config::Config::parse(&source, std::path::Path::new("t.yaml"), |_| {
        Some("s3cret".into())
    })
    .unwrap()
    .services
    .remove(0)
}

/// Every probe kind behind one [`Prober`]: dispatches on the service's kind.
pub struct AnyProber {
    http: HttpProber,
    tcp: TcpProber,
    tls: TlsProber,
}

impl AnyProber {
    pub fn new() -> Result<AnyProber, reqwest::Error> {
        Ok(AnyProber {
            http: HttpProber::new()?,
            tcp: TcpProber,
            tls: TlsProber::default(),
        })
    }
}

#[async_trait]
impl Prober for AnyProber {
    async fn probe(&self, service: &ServiceConfig) -> ProbeResult {
        match service.kind() {
            ProbeKind::Http => self.http.probe(service).await,
            ProbeKind::Tcp => self.tcp.probe(service).await,
            ProbeKind::Dns => DnsProber.probe(service).await,
            ProbeKind::Tls => self.tls.probe(service).await,
            ProbeKind::Icmp => IcmpProber.probe(service).await,
            // The push watchdog, not the scheduler, handles push services.
            ProbeKind::Push => ProbeResult::failed(
                service,
                Duration::ZERO,
                "push services are not probed".into(),
            ),
        }
    }
}
