//! The words of DESIGN.md as types, shared by the server and the browser.
//!
//! Everything that crosses the wire (the status page snapshot, WebSocket
//! messages) is defined here once, so the server's serializer and the
//! browser's deserializer can never disagree.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The state of one service, as shown on a status page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ServiceStatus {
    Operational,
    Degraded,
    Down,
    Maintenance,
    /// Before the first result, and while Hale itself was not running.
    #[default]
    Unknown,
}

impl ServiceStatus {
    pub const ALL: [ServiceStatus; 5] = [
        ServiceStatus::Operational,
        ServiceStatus::Degraded,
        ServiceStatus::Down,
        ServiceStatus::Maintenance,
        ServiceStatus::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ServiceStatus::Operational => "operational",
            ServiceStatus::Degraded => "degraded",
            ServiceStatus::Down => "down",
            ServiceStatus::Maintenance => "maintenance",
            ServiceStatus::Unknown => "unknown",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ServiceStatus::Operational => "Operational",
            ServiceStatus::Degraded => "Degraded",
            ServiceStatus::Down => "Down",
            ServiceStatus::Maintenance => "Maintenance",
            ServiceStatus::Unknown => "Unknown",
        }
    }

    /// How bad a status is, for "overall is the worst of the services shown".
    /// Unknown ranks above maintenance and operational: not knowing is worse
    /// than a planned pause.
    pub fn severity(self) -> u8 {
        match self {
            ServiceStatus::Operational => 0,
            ServiceStatus::Maintenance => 1,
            ServiceStatus::Unknown => 2,
            ServiceStatus::Degraded => 3,
            ServiceStatus::Down => 4,
        }
    }

    /// The worst of a set of statuses; `Unknown` for an empty set, because a
    /// page that monitors nothing can't claim everything is operational.
    pub fn worst(statuses: impl IntoIterator<Item = ServiceStatus>) -> ServiceStatus {
        statuses
            .into_iter()
            .max_by_key(|s| s.severity())
            .unwrap_or(ServiceStatus::Unknown)
    }
}

impl fmt::Display for ServiceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ServiceStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ServiceStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| format!("unknown service status {s:?}"))
    }
}

/// The outcome of one condition of one probe, e.g. `[STATUS] == 200` → false.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConditionOutcome {
    pub condition: String,
    pub success: bool,
}

/// One service as a status page shows it: the latest known truth.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceView {
    pub name: String,
    pub group: Option<String>,
    pub status: ServiceStatus,
    pub latency_ms: Option<f64>,
    pub last_checked: Option<DateTime<Utc>>,
    pub message: Option<String>,
    /// Each condition's outcome in the latest result.
    #[serde(default)]
    pub conditions: Vec<ConditionOutcome>,
}

impl ServiceView {
    pub fn new(name: impl Into<String>, group: Option<String>) -> Self {
        ServiceView {
            name: name.into(),
            group,
            status: ServiceStatus::Unknown,
            latency_ms: None,
            last_checked: None,
            message: None,
            conditions: Vec::new(),
        }
    }

    /// Folds a probe result into the view (status changes come separately).
    pub fn apply_probe(&mut self, probe: &ProbeEvent) {
        self.latency_ms = Some(probe.latency_ms);
        self.last_checked = Some(probe.timestamp);
        self.message = Some(probe.message.clone());
        self.conditions = probe.conditions.clone();
    }
}

/// A titled group of services on a page, in configuration order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupView {
    pub name: Option<String>,
    pub services: Vec<ServiceView>,
}

/// Everything a status page renders, as of `generated_at`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PageSnapshot {
    pub slug: String,
    pub title: String,
    pub description: Option<String>,
    pub overall_status: ServiceStatus,
    pub groups: Vec<GroupView>,
    pub generated_at: DateTime<Utc>,
}

impl PageSnapshot {
    pub fn services(&self) -> impl Iterator<Item = &ServiceView> {
        self.groups.iter().flat_map(|g| g.services.iter())
    }
}

/// The sentence the overall indicator shows.
pub fn overall_headline(overall: ServiceStatus, statuses: &[ServiceStatus]) -> &'static str {
    if statuses.is_empty() {
        return "No services monitored yet";
    }
    match overall {
        ServiceStatus::Operational => "All systems operational",
        ServiceStatus::Maintenance => "Scheduled maintenance in progress",
        ServiceStatus::Degraded => "Degraded performance",
        ServiceStatus::Unknown => "Checking services…",
        ServiceStatus::Down => {
            if statuses.iter().all(|s| *s == ServiceStatus::Down) {
                "Major outage"
            } else {
                "Partial outage"
            }
        }
    }
}

/// One probe result as the live hub publishes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProbeEvent {
    pub service: String,
    pub timestamp: DateTime<Utc>,
    pub success: bool,
    pub latency_ms: f64,
    pub status_code: Option<u16>,
    pub message: String,
    pub conditions: Vec<ConditionOutcome>,
    pub region: Option<String>,
}

/// Every WebSocket message: one JSON object with a `"type"` (DESIGN.md).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveMessage {
    /// Sent first, on connect: every service the client may see.
    Snapshot {
        timestamp: DateTime<Utc>,
        services: Vec<ServiceView>,
    },
    /// Every 2 seconds, so clients can tell a quiet hub from a dead one.
    Heartbeat {
        timestamp: DateTime<Utc>,
    },
    Probe(ProbeEvent),
    StatusChange {
        service: String,
        from: ServiceStatus,
        to: ServiceStatus,
        at: DateTime<Utc>,
        cause: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn worst_status_follows_severity() {
        use ServiceStatus::*;
        assert_eq!(ServiceStatus::worst([Operational, Down, Degraded]), Down);
        assert_eq!(
            ServiceStatus::worst([Operational, Maintenance]),
            Maintenance
        );
        assert_eq!(ServiceStatus::worst([Operational, Unknown]), Unknown);
        assert_eq!(ServiceStatus::worst([Operational]), Operational);
        assert_eq!(ServiceStatus::worst([]), Unknown);
    }

    #[test]
    fn headline_tells_partial_from_major_outage() {
        use ServiceStatus::*;
        assert_eq!(overall_headline(Down, &[Down, Down]), "Major outage");
        assert_eq!(
            overall_headline(Down, &[Down, Operational]),
            "Partial outage"
        );
        assert_eq!(
            overall_headline(Operational, &[Operational]),
            "All systems operational"
        );
        assert_eq!(overall_headline(Unknown, &[]), "No services monitored yet");
    }

    #[test]
    fn status_round_trips_through_strings() {
        for status in ServiceStatus::ALL {
            assert_eq!(status.as_str().parse::<ServiceStatus>(), Ok(status));
        }
        assert!("sideways".parse::<ServiceStatus>().is_err());
    }

    #[test]
    fn live_messages_have_the_contract_shapes() {
        let at = Utc.with_ymd_and_hms(2026, 1, 15, 10, 0, 0).unwrap();
        let heartbeat = serde_json::to_value(LiveMessage::Heartbeat { timestamp: at }).unwrap();
        assert_eq!(
            heartbeat,
            serde_json::json!({"type":"heartbeat","timestamp":"2026-01-15T10:00:00Z"})
        );
        let change = serde_json::to_value(LiveMessage::StatusChange {
            service: "api".into(),
            from: ServiceStatus::Operational,
            to: ServiceStatus::Down,
            at,
            cause: "3 consecutive failures".into(),
        })
        .unwrap();
        assert_eq!(change["type"], "status_change");
        assert_eq!(change["service"], "api");
        assert_eq!(change["from"], "operational");
        assert_eq!(change["to"], "down");
        assert_eq!(change["at"], "2026-01-15T10:00:00Z");
    }
}
