//! The rules judged on results (docs/configuration.md, "Alerting"): each
//! service's results of the last window, kept in memory, and whether each
//! rule holds over them. Only a change of a rule's verdict leaves here,
//! so a probe costs a push and a look at its window, never a message.

use crate::config::{AlertRule, RuleKind};
use crate::event::ProbeResult;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A rule's verdict on a service that changed.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleVerdict {
    pub service: String,
    pub rule: String,
    pub severity: &'static str,
    pub holds: bool,
    pub at_ms: i64,
    /// What was seen: the alert's message when it fires.
    pub message: String,
}

/// A rule is judged once its window holds this many results: one slow or
/// failed probe of three is not yet a rate.
pub const MIN_RESULTS: usize = 5;

/// One service's recent results: (time, success, latency in ms), oldest
/// first, and each rule's last verdict.
#[derive(Debug, Default)]
struct Window {
    results: VecDeque<(i64, bool, u32)>,
    verdicts: HashMap<String, bool>,
}

/// Every service's window.
#[derive(Debug, Default)]
pub struct Figures {
    windows: Mutex<HashMap<Arc<str>, Window>>,
}

impl Figures {
    /// Adds `result` to its service's window and judges `rules` over it:
    /// the verdicts that changed (a rule's first verdict counts as a
    /// change, so an alert left open by an earlier run resolves).
    pub fn judge(&self, result: &ProbeResult, rules: &[AlertRule]) -> Vec<RuleVerdict> {
        let Some(longest) = rules.iter().map(|r| r.window).max() else {
            return Vec::new();
        };
        let now = result.checked_at.timestamp_millis();
        let latency = u32::try_from(result.latency.as_millis()).unwrap_or(u32::MAX);
        let mut windows = self.windows.lock().expect("figures lock");
        let window = windows.entry(result.service.clone()).or_default();
        window.results.push_back((now, result.success, latency));
        let oldest = now - millis(longest);
        while window
            .results
            .front()
            .is_some_and(|&(at, _, _)| at <= oldest)
        {
            window.results.pop_front();
        }
        let mut changed = Vec::new();
        for rule in rules {
            let Some((holds, message)) = verdict(&window.results, rule, now) else {
                continue;
            };
            if window.verdicts.insert(rule.name.clone(), holds) != Some(holds) {
                changed.push(RuleVerdict {
                    service: result.service.to_string(),
                    rule: rule.name.clone(),
                    severity: rule.severity,
                    holds,
                    at_ms: now,
                    message: format!("{} {message}", result.service),
                });
            }
        }
        changed
    }

    /// Forgets services no longer configured.
    pub fn retain(&self, keep: impl Fn(&str) -> bool) {
        self.windows
            .lock()
            .expect("figures lock")
            .retain(|service, _| keep(service));
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2)
}

/// Whether `rule` holds over the results of its window ending at `now`,
/// and what was seen; `None` while too few results are in it.
fn verdict(
    results: &VecDeque<(i64, bool, u32)>,
    rule: &AlertRule,
    now: i64,
) -> Option<(bool, String)> {
    let since = now - millis(rule.window);
    let recent = results.iter().rev().take_while(|&&(at, _, _)| at > since);
    let window = humantime::format_duration(rule.window);
    match rule.kind {
        RuleKind::ErrorRateAbove(limit) => {
            let (mut n, mut failed) = (0usize, 0usize);
            for &(_, success, _) in recent {
                n += 1;
                failed += usize::from(!success);
            }
            if n < MIN_RESULTS {
                return None;
            }
            let rate = failed as f64 / n as f64;
            Some((
                rate > limit,
                format!(
                    "error rate {:.1}% over the last {window} ({failed} of {n} results failed; above {}% alerts)",
                    rate * 100.0,
                    limit * 100.0
                ),
            ))
        }
        RuleKind::LatencyP95Above(limit) => {
            let mut latencies: Vec<u32> = recent.map(|&(_, _, ms)| ms).collect();
            if latencies.len() < MIN_RESULTS {
                return None;
            }
            // Nearest rank: the smallest value at or above 95 % of them.
            let rank = (latencies.len() * 95).div_ceil(100).max(1) - 1;
            let (_, &mut p95, _) = latencies.select_nth_unstable(rank);
            let p95 = Duration::from_millis(u64::from(p95));
            Some((
                p95 > limit,
                format!(
                    "latency p95 {} over the last {window} ({} results; above {} alerts)",
                    humantime::format_duration(p95),
                    latencies.len(),
                    humantime::format_duration(limit)
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::default_rules;
    use chrono::TimeZone;

    fn result(second: i64, success: bool, latency_ms: u64) -> ProbeResult {
        ProbeResult {
            service: "api".into(),
            checked_at: chrono::Utc
                .timestamp_opt(1_800_000_000 + second, 0)
                .unwrap(),
            success,
            latency: Duration::from_millis(latency_ms),
            status_code: Some(200),
            message: String::new(),
            conditions: Vec::new(),
            region: None,
        }
    }

    fn changes(figures: &Figures, r: &ProbeResult) -> Vec<(String, bool)> {
        figures
            .judge(r, &default_rules())
            .into_iter()
            .map(|v| (v.rule, v.holds))
            .collect()
    }

    #[test]
    fn error_rate_bands_fire_and_resolve_over_their_window() {
        let figures = Figures::default();
        // Four results: too few to judge.
        for s in 0..4 {
            assert!(changes(&figures, &result(s * 10, true, 100)).is_empty());
        }
        // The fifth: every rule's first verdict, none holding.
        assert_eq!(
            changes(&figures, &result(40, true, 100)),
            [
                ("error_rate".to_string(), false),
                ("error_rate_critical".to_string(), false),
                ("latency_p95".to_string(), false)
            ]
        );
        // 15 more good ones, then failures: 1 of 21 (4.8 %) holds nothing,
        // 2 of 22 (9.1 %) the warning band, 3 of 23 (13 %) the critical.
        for s in 5..20 {
            assert!(changes(&figures, &result(s * 10, true, 100)).is_empty());
        }
        assert!(changes(&figures, &result(200, false, 100)).is_empty());
        assert_eq!(
            changes(&figures, &result(210, false, 100)),
            [("error_rate".to_string(), true)]
        );
        let critical = figures.judge(&result(220, false, 100), &default_rules());
        assert_eq!(critical.len(), 1);
        assert_eq!(critical[0].rule, "error_rate_critical");
        assert_eq!(critical[0].severity, "critical");
        assert_eq!(
            critical[0].message,
            "api error rate 13.0% over the last 5m (3 of 23 results failed; above 10% alerts)"
        );
        // Five minutes of good results later the failures have left the
        // window: both resolve.
        let mut resolved = Vec::new();
        for s in 23..60 {
            resolved.extend(changes(&figures, &result(s * 10, true, 100)));
        }
        assert_eq!(
            resolved,
            [
                ("error_rate_critical".to_string(), false),
                ("error_rate".to_string(), false)
            ]
        );
    }

    #[test]
    fn latency_p95_is_the_nearest_rank_of_the_window() {
        let figures = Figures::default();
        let rules = default_rules();
        // 19 fast and one slow: p95 of 20 is the 19th, fast.
        for s in 0..19 {
            figures.judge(&result(s, true, 100), &rules);
        }
        let slow = figures.judge(&result(19, true, 5_000), &rules);
        assert!(slow.iter().all(|v| v.rule != "latency_p95"), "{slow:?}");
        // A second slow one is the 20th of 21's rank 20: slow.
        let slow = figures.judge(&result(20, true, 5_000), &rules);
        assert_eq!(slow.len(), 1);
        assert_eq!(slow[0].rule, "latency_p95");
        assert!(slow[0].holds);
        assert_eq!(
            slow[0].message,
            "api latency p95 5s over the last 5m (21 results; above 2s alerts)"
        );
    }
}
