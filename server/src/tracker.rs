//! Deciding up and down: a service changes state only after
//! `failure_threshold` consecutive failures or `success_threshold`
//! consecutive successes, so one lost packet is not an outage.

use app::model::{LiveMessage, ServiceStatus};
use chrono::{DateTime, Utc};

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

/// The confirmation state machine of one service.
#[derive(Clone, Debug)]
pub struct Tracker {
    status: ServiceStatus,
    failures: u32,
    successes: u32,
    failure_threshold: u32,
    success_threshold: u32,
}

impl Tracker {
    pub fn new(failure_threshold: u32, success_threshold: u32) -> Tracker {
        Tracker {
            status: ServiceStatus::Unknown,
            failures: 0,
            successes: 0,
            failure_threshold: failure_threshold.max(1),
            success_threshold: success_threshold.max(1),
        }
    }

    pub fn status(&self) -> ServiceStatus {
        self.status
    }

    /// Folds in one result; returns `(from, to, cause)` when the state changes.
    /// The first result after start decides at once: there is no earlier
    /// state to protect from flapping.
    pub fn observe(
        &mut self,
        success: bool,
        detail: &str,
    ) -> Option<(ServiceStatus, ServiceStatus, String)> {
        if success {
            self.successes += 1;
            self.failures = 0;
        } else {
            self.failures += 1;
            self.successes = 0;
        }
        let (to, cause) = match (self.status, success) {
            (ServiceStatus::Unknown, true) => (
                ServiceStatus::Operational,
                format!("first check succeeded: {detail}"),
            ),
            (ServiceStatus::Unknown, false) => {
                (ServiceStatus::Down, format!("first check failed: {detail}"))
            }
            (ServiceStatus::Down, true) if self.successes >= self.success_threshold => (
                ServiceStatus::Operational,
                format!("{} consecutive successes: {detail}", self.successes),
            ),
            (ServiceStatus::Operational | ServiceStatus::Degraded, false)
                if self.failures >= self.failure_threshold =>
            {
                (
                    ServiceStatus::Down,
                    format!("{} consecutive failures: {detail}", self.failures),
                )
            }
            _ => return None,
        };
        let from = std::mem::replace(&mut self.status, to);
        Some((from, to, cause))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ServiceStatus::*;

    /// Feeds a sequence of outcomes (`+` success, `-` failure) and returns the
    /// status after each.
    fn run(thresholds: (u32, u32), outcomes: &str) -> Vec<ServiceStatus> {
        let mut tracker = Tracker::new(thresholds.0, thresholds.1);
        outcomes
            .chars()
            .map(|c| {
                tracker.observe(c == '+', "x");
                tracker.status()
            })
            .collect()
    }

    #[test]
    fn confirms_before_changing_state() {
        let table: &[((u32, u32), &str, &[ServiceStatus])] = &[
            ((3, 2), "+", &[Operational]),
            ((3, 2), "-", &[Down]),
            ((3, 2), "+--", &[Operational, Operational, Operational]),
            (
                (3, 2),
                "+---",
                &[Operational, Operational, Operational, Down],
            ),
            ((3, 2), "+--+--", &[Operational; 6]),
            ((3, 2), "-+", &[Down, Down]),
            ((3, 2), "-++", &[Down, Down, Operational]),
            ((3, 2), "-+-++", &[Down, Down, Down, Down, Operational]),
            ((1, 1), "+-+", &[Operational, Down, Operational]),
        ];
        for (thresholds, outcomes, expected) in table {
            assert_eq!(
                run(*thresholds, outcomes),
                *expected,
                "{thresholds:?} {outcomes}"
            );
        }
    }

    #[test]
    fn reports_each_change_once_with_its_cause() {
        let mut tracker = Tracker::new(2, 2);
        assert_eq!(
            tracker.observe(true, "HTTP 200"),
            Some((
                Unknown,
                Operational,
                "first check succeeded: HTTP 200".into()
            ))
        );
        assert_eq!(tracker.observe(false, "HTTP 500"), None);
        assert_eq!(
            tracker.observe(false, "HTTP 500"),
            Some((Operational, Down, "2 consecutive failures: HTTP 500".into()))
        );
        assert_eq!(tracker.observe(false, "HTTP 500"), None);
    }
}
