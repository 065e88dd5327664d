//! What the WebSocket carries: every message is one JSON object with a
//! `"type"` (docs/api.md).

use crate::{ServiceStatus, ServiceView};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The outcome of one condition of one probe, e.g. `[STATUS] == 200` → false.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConditionOutcome {
    pub condition: String,
    pub success: bool,
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

impl LiveMessage {
    /// Reads a message as the hub writes it; the same result as
    /// `serde_json::from_str::<LiveMessage>`, read differently. serde's
    /// derive for a `"type"`-tagged enum buffers the object into a generic
    /// tree first and then reads every field type a second way, from that
    /// tree: in the browser's wasm that doubled the code that reads
    /// services, bars and probes, which hydration already reads from JSON.
    /// Here the tag is read first, then the whole text again as the
    /// variant's own struct (the `"type"` field is ignored there), so every
    /// type is read by one decoder only.
    pub fn from_json(text: &str) -> serde_json::Result<Self> {
        #[derive(Deserialize)]
        struct Tag<'a> {
            #[serde(rename = "type", borrow)]
            kind: std::borrow::Cow<'a, str>,
        }
        #[derive(Deserialize)]
        struct Snapshot {
            timestamp: DateTime<Utc>,
            services: Vec<ServiceView>,
        }
        #[derive(Deserialize)]
        struct Heartbeat {
            timestamp: DateTime<Utc>,
        }
        #[derive(Deserialize)]
        struct StatusChange {
            service: String,
            from: ServiceStatus,
            to: ServiceStatus,
            at: DateTime<Utc>,
            cause: String,
        }

        let tag: Tag = serde_json::from_str(text)?;
        Ok(match tag.kind.as_ref() {
            "snapshot" => {
                let Snapshot {
                    timestamp,
                    services,
                } = serde_json::from_str(text)?;
                LiveMessage::Snapshot {
                    timestamp,
                    services,
                }
            }
            "heartbeat" => {
                let Heartbeat { timestamp } = serde_json::from_str(text)?;
                LiveMessage::Heartbeat { timestamp }
            }
            "probe" => LiveMessage::Probe(serde_json::from_str(text)?),
            "status_change" => {
                let StatusChange {
                    service,
                    from,
                    to,
                    at,
                    cause,
                } = serde_json::from_str(text)?;
                LiveMessage::StatusChange {
                    service,
                    from,
                    to,
                    at,
                    cause,
                }
            }
            other => {
                return Err(serde::de::Error::unknown_variant(
                    other,
                    &["snapshot", "heartbeat", "probe", "status_change"],
                ))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn from_json_reads_what_the_derive_reads() {
        let at = Utc.with_ymd_and_hms(2026, 1, 15, 10, 0, 0).unwrap();
        let mut api = ServiceView::new("api", Some("Core".into()));
        api.status = ServiceStatus::Degraded;
        api.latency_ms = Some(12.5);
        api.last_checked = Some(at);
        let probe = ProbeEvent {
            service: "api".into(),
            timestamp: at,
            success: false,
            latency_ms: 812.0,
            status_code: Some(503),
            message: "HTTP 503".into(),
            conditions: vec![ConditionOutcome {
                condition: "[STATUS] == 200".into(),
                success: false,
            }],
            region: Some("eu".into()),
        };
        let messages = [
            LiveMessage::Snapshot {
                timestamp: at,
                services: vec![api, ServiceView::new("db", None)],
            },
            LiveMessage::Heartbeat { timestamp: at },
            LiveMessage::Probe(probe),
            LiveMessage::StatusChange {
                service: "api".into(),
                from: ServiceStatus::Operational,
                to: ServiceStatus::Down,
                at,
                cause: "3 consecutive failures".into(),
            },
        ];
        for message in messages {
            let text = serde_json::to_string(&message).unwrap();
            assert_eq!(LiveMessage::from_json(&text).unwrap(), message, "{text}");
            assert_eq!(serde_json::from_str::<LiveMessage>(&text).unwrap(), message);
        }
        // The tag need not come first, and unknown fields are ignored.
        let reordered = r#"{"timestamp":"2026-01-15T10:00:00Z","extra":1,"type":"heartbeat"}"#;
        assert_eq!(
            LiveMessage::from_json(reordered).unwrap(),
            LiveMessage::Heartbeat { timestamp: at }
        );
        for bad in [
            r#"{"type":"gossip","timestamp":"2026-01-15T10:00:00Z"}"#,
            r#"{"timestamp":"2026-01-15T10:00:00Z"}"#,
            r#"{"type":"heartbeat"}"#,
            "not json",
        ] {
            assert!(LiveMessage::from_json(bad).is_err(), "{bad}");
        }
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
