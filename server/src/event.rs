//! What flows through Hale: a probe's result, and a service's change of
//! status. Both are made once, go through the pipeline
//! (`engine::pipeline`), and are stored, published and, later, alerted on.

use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;
use wire::{ConditionOutcome, LiveMessage, ProbeEvent, ServiceStatus};

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
    /// Time left on the certificate the probe saw (HTTPS and TLS), for the
    /// certificate rules; not stored.
    pub certificate_expiration: Option<Duration>,
}

impl ProbeResult {
    /// A failure without an answer (the probe itself over-ran its time, or
    /// could not start), checked now.
    pub fn failed(service: Arc<str>, latency: Duration, message: String) -> ProbeResult {
        ProbeResult {
            service,
            checked_at: crate::clock::now(),
            success: false,
            latency,
            status_code: None,
            message,
            conditions: Vec::new(),
            region: None,
            certificate_expiration: None,
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

/// The longest message a result keeps, in bytes.
pub const MAX_MESSAGE: usize = 1024;

/// Cuts `message` to at most [`MAX_MESSAGE`] bytes, at a character
/// boundary, marking the cut with `…`.
pub fn cap_message(message: &mut String) {
    if message.len() <= MAX_MESSAGE {
        return;
    }
    let mut end = MAX_MESSAGE - '…'.len_utf8();
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    message.truncate(end);
    message.push('…');
}

/// A stored and published change of a service's state, with its cause.
#[derive(Clone, Debug, PartialEq)]
pub struct StatusChange {
    pub service: String,
    pub from: ServiceStatus,
    pub to: ServiceStatus,
    pub at: DateTime<Utc>,
    pub cause: String,
}

impl StatusChange {
    pub fn to_message(&self) -> LiveMessage {
        LiveMessage::StatusChange {
            service: self.service.clone(),
            from: self.from,
            to: self.to,
            at: self.at,
            cause: self.cause.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_message_is_cut_at_a_character_boundary() {
        let mut short = "HTTP 200".to_string();
        cap_message(&mut short);
        assert_eq!(short, "HTTP 200");

        let mut exact = "a".repeat(MAX_MESSAGE);
        cap_message(&mut exact);
        assert_eq!(exact.len(), MAX_MESSAGE);

        // Two-byte characters, so the cut falls inside one.
        let mut long = format!("x{}", "é".repeat(MAX_MESSAGE));
        cap_message(&mut long);
        assert!(long.len() <= MAX_MESSAGE, "{}", long.len());
        assert!(long.ends_with('…'));
        assert!(long.starts_with("xéé"));
    }
}
