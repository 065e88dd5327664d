//! Deciding up and down: a service changes state only after
//! `failure_threshold` consecutive failures or `success_threshold`
//! consecutive successes, so one lost packet is not an outage.

use wire::ServiceStatus;

/// `1 consecutive failure`, `3 consecutive failures`.
fn consecutive(n: u32, one: &str, many: &str) -> String {
    format!("{n} consecutive {}", if n == 1 { one } else { many })
}

/// What one result says about a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    /// Succeeded, but slower than the service's `degraded_latency`.
    Slow,
    Failed,
}

/// Results the error rate is taken over, and how many it needs first.
const RATE_WINDOW: usize = 100;
const RATE_MIN_SAMPLE: usize = 20;

/// The confirmation state machine of one service: `failure_threshold`
/// consecutive failures make it down, `success_threshold` consecutive
/// successes bring it back. Degraded is confirmed the same way — that many
/// slow answers in a row — or set by an error rate in the warning band
/// over the last 100 results.
#[derive(Clone, Debug)]
pub struct Tracker {
    status: ServiceStatus,
    failures: u32,
    successes: u32,
    slow: u32,
    good: u32,
    /// The last results, newest at the back: true for a failure.
    recent: std::collections::VecDeque<bool>,
    recent_failures: usize,
    failure_threshold: u32,
    success_threshold: u32,
    degraded_error_rate: f64,
}

impl Tracker {
    pub fn new(failure_threshold: u32, success_threshold: u32) -> Tracker {
        Tracker {
            status: ServiceStatus::Unknown,
            failures: 0,
            successes: 0,
            slow: 0,
            good: 0,
            recent: std::collections::VecDeque::with_capacity(RATE_WINDOW),
            recent_failures: 0,
            failure_threshold: failure_threshold.max(1),
            success_threshold: success_threshold.max(1),
            degraded_error_rate: 0.05,
        }
    }

    /// The error rate at or above which a service that is not failing
    /// outright is called degraded (default 5 %).
    pub fn with_degraded_error_rate(mut self, rate: f64) -> Tracker {
        self.degraded_error_rate = rate;
        self
    }

    /// New thresholds from a reloaded config; counts and status stay.
    pub fn set_thresholds(&mut self, failure: u32, success: u32, degraded_error_rate: f64) {
        self.failure_threshold = failure.max(1);
        self.success_threshold = success.max(1);
        self.degraded_error_rate = degraded_error_rate;
    }

    pub fn status(&self) -> ServiceStatus {
        self.status
    }

    /// Hale stopped: the service's state is unknown until it is checked
    /// again, and counting starts over.
    pub fn reset(&mut self) {
        *self = Tracker::new(self.failure_threshold, self.success_threshold)
            .with_degraded_error_rate(self.degraded_error_rate);
    }

    /// The failure rate over the recent window, once it holds enough results.
    pub fn error_rate(&self) -> Option<f64> {
        (self.recent.len() >= RATE_MIN_SAMPLE)
            .then(|| self.recent_failures as f64 / self.recent.len() as f64)
    }

    fn remember(&mut self, failed: bool) {
        if self.recent.len() == RATE_WINDOW && self.recent.pop_front() == Some(true) {
            self.recent_failures -= 1;
        }
        self.recent.push_back(failed);
        self.recent_failures += usize::from(failed);
    }

    /// Folds in one result; returns `(from, to, cause)` when the state
    /// changes. The first result after start decides at once: there is no
    /// earlier state to protect from flapping.
    pub fn observe(
        &mut self,
        verdict: Verdict,
        detail: &str,
    ) -> Option<(ServiceStatus, ServiceStatus, String)> {
        use ServiceStatus::*;
        let failed = verdict == Verdict::Failed;
        self.remember(failed);
        if failed {
            self.failures += 1;
            (self.successes, self.slow, self.good) = (0, 0, 0);
        } else {
            self.successes += 1;
            self.failures = 0;
            if verdict == Verdict::Slow {
                self.slow += 1;
                self.good = 0;
            } else {
                self.good += 1;
                self.slow = 0;
            }
        }
        let rate = self.error_rate().filter(|r| *r >= self.degraded_error_rate);
        let rate_cause = |r: f64| {
            format!(
                "error rate {:.0}% over the last {} checks",
                r * 100.0,
                self.recent.len()
            )
        };

        let (to, cause) = match self.status {
            Unknown => match verdict {
                Verdict::Ok => (Operational, format!("first check succeeded: {detail}")),
                Verdict::Slow => (Degraded, format!("first check was slow: {detail}")),
                Verdict::Failed => (Down, format!("first check failed: {detail}")),
            },
            Down if self.successes >= self.success_threshold => {
                // The outage's own failures are not flakiness: the window
                // restarts below, so only a slow answer keeps it degraded.
                let to = if verdict == Verdict::Slow {
                    Degraded
                } else {
                    Operational
                };
                (
                    to,
                    format!(
                        "{}: {detail}",
                        consecutive(self.successes, "success", "successes")
                    ),
                )
            }
            Operational | Degraded if self.failures >= self.failure_threshold => (
                Down,
                format!(
                    "{}: {detail}",
                    consecutive(self.failures, "failure", "failures")
                ),
            ),
            Operational if self.slow >= self.failure_threshold => (
                Degraded,
                format!(
                    "{}: {detail}",
                    consecutive(self.slow, "slow answer", "slow answers")
                ),
            ),
            Operational if rate.is_some() => (Degraded, rate_cause(rate.unwrap_or_default())),
            Degraded if self.good >= self.success_threshold && rate.is_none() => (
                Operational,
                format!(
                    "{}: {detail}",
                    consecutive(self.good, "good answer", "good answers")
                ),
            ),
            _ => return None,
        };
        let from = std::mem::replace(&mut self.status, to);
        if from == Down || to == Down {
            // The error rate measures flakiness while up; a confirmed outage
            // is accounted as down time, not carried into the rate after it.
            self.recent.clear();
            self.recent_failures = 0;
        }
        Some((from, to, cause))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ServiceStatus::*;

    fn verdict(c: char) -> Verdict {
        match c {
            '+' => Verdict::Ok,
            's' => Verdict::Slow,
            _ => Verdict::Failed,
        }
    }

    /// Feeds outcomes (`+` ok, `s` slow, `-` failed) and returns the status
    /// after each.
    fn run(thresholds: (u32, u32), outcomes: &str) -> Vec<ServiceStatus> {
        let mut tracker = Tracker::new(thresholds.0, thresholds.1);
        outcomes
            .chars()
            .map(|c| {
                tracker.observe(verdict(c), "x");
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
            // Slow answers degrade after the same confirmation, and recover.
            ((3, 2), "s", &[Degraded]),
            ((3, 2), "+ss", &[Operational; 3]),
            (
                (3, 2),
                "+sss",
                &[Operational, Operational, Operational, Degraded],
            ),
            (
                (3, 2),
                "+sss+",
                &[Operational, Operational, Operational, Degraded, Degraded],
            ),
            (
                (3, 2),
                "+sss++",
                &[
                    Operational,
                    Operational,
                    Operational,
                    Degraded,
                    Degraded,
                    Operational,
                ],
            ),
            (
                (3, 2),
                "+sss---",
                &[
                    Operational,
                    Operational,
                    Operational,
                    Degraded,
                    Degraded,
                    Degraded,
                    Down,
                ],
            ),
            ((3, 2), "-ss", &[Down, Down, Degraded]),
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
    fn an_error_rate_in_the_warning_band_degrades() {
        let mut tracker = Tracker::new(3, 2);
        for _ in 0..18 {
            tracker.observe(Verdict::Ok, "ok");
        }
        // 19 results are too few for a rate.
        assert_eq!(tracker.observe(Verdict::Failed, "HTTP 500"), None);
        assert_eq!(tracker.error_rate(), None);
        // Two failures in 20 is 10 %: degraded, though never down.
        assert_eq!(
            tracker.observe(Verdict::Failed, "HTTP 500"),
            Some((
                Operational,
                Degraded,
                "error rate 10% over the last 20 checks".into()
            ))
        );
        // Good answers don't clear it while the rate stays at or above 5 %:
        // 2 failures in 40 results is exactly 5 %.
        for _ in 0..20 {
            assert_eq!(tracker.observe(Verdict::Ok, "ok"), None);
        }
        assert_eq!(tracker.error_rate(), Some(0.05));
        assert_eq!(tracker.status(), Degraded);
        // 2 in 41 is under 5 %, and the good streak is long enough.
        assert_eq!(
            tracker.observe(Verdict::Ok, "ok"),
            Some((
                Degraded,
                Operational,
                "21 consecutive good answers: ok".into()
            ))
        );
    }

    #[test]
    fn recovering_from_an_outage_is_operational_not_degraded() {
        let mut tracker = Tracker::new(3, 2);
        for _ in 0..30 {
            tracker.observe(Verdict::Ok, "ok");
        }
        for _ in 0..3 {
            tracker.observe(Verdict::Failed, "HTTP 500");
        }
        assert_eq!(tracker.status(), Down);
        tracker.observe(Verdict::Ok, "ok");
        let change = tracker.observe(Verdict::Ok, "ok");
        assert_eq!(change.map(|c| (c.0, c.1)), Some((Down, Operational)));
        // The rate starts afresh after the outage.
        assert_eq!(tracker.error_rate(), None);
    }

    #[test]
    fn the_window_forgets_old_failures() {
        let mut tracker = Tracker::new(3, 2).with_degraded_error_rate(0.10);
        for _ in 0..10 {
            tracker.observe(Verdict::Failed, "x");
        }
        for _ in 0..100 {
            tracker.observe(Verdict::Ok, "x");
        }
        assert_eq!(tracker.error_rate(), Some(0.0));
        assert_eq!(tracker.status(), Operational);
    }

    #[test]
    fn reports_each_change_once_with_its_cause() {
        let mut tracker = Tracker::new(2, 2);
        assert_eq!(
            tracker.observe(Verdict::Ok, "HTTP 200"),
            Some((
                Unknown,
                Operational,
                "first check succeeded: HTTP 200".into()
            ))
        );
        assert_eq!(tracker.observe(Verdict::Failed, "HTTP 500"), None);
        assert_eq!(
            tracker.observe(Verdict::Failed, "HTTP 500"),
            Some((Operational, Down, "2 consecutive failures: HTTP 500".into()))
        );
        assert_eq!(tracker.observe(Verdict::Failed, "HTTP 500"), None);
    }
}
