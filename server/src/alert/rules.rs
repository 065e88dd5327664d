//! The rules judged on results (docs/configuration.md, "Alerting"): each
//! service's results of the last window, kept in memory, and whether each
//! rule holds over them. Only a change of a rule's verdict leaves here,
//! so a probe costs a push and a look at its window, never a message.
//!
//! A service with an SLO is also judged by its error budget's burn rate,
//! the SRE workbook's multi-window rule: `slo_fast_burn` (critical) when
//! it burns over 14.4 times as fast as the objective allows over both the
//! last hour and the last 5 minutes, `slo_slow_burn` (warning) over 6
//! times over both the last 6 hours and the last 30 minutes. Counts by
//! minute, six hours of them, keep that cheap.

use crate::config::{AlertRule, RuleKind, Slo};
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
    /// Results by minute for the burn rates: (minute, total, failed),
    /// minute `m` at `m % BURN_MINUTES`.
    minutes: Vec<(i64, u32, u32)>,
}

/// The longest burn window, in minutes.
const BURN_MINUTES: usize = 360;

/// The burn rules: (name, severity, rate above which, long and short
/// window in minutes).
pub const BURN_RULES: [(&str, &str, f64, i64, i64); 2] = [
    ("slo_fast_burn", "critical", 14.4, 60, 5),
    ("slo_slow_burn", "warning", 6.0, 360, 30),
];

/// The burn rules' windows, shortest first, as the API names them:
/// (name, minutes).
pub const BURN_WINDOWS: [(&str, i64); 4] = [("5m", 5), ("30m", 30), ("1h", 60), ("6h", 360)];

fn minutes(n: i64) -> humantime::FormattedDuration {
    humantime::format_duration(Duration::from_secs(u64::try_from(n).unwrap_or(0) * 60))
}

impl Window {
    fn count_minute(&mut self, at_ms: i64, success: bool) {
        if self.minutes.is_empty() {
            self.minutes = vec![(i64::MIN, 0, 0); BURN_MINUTES];
        }
        let minute = at_ms.div_euclid(60_000);
        let slot = &mut self.minutes[minute.rem_euclid(BURN_MINUTES as i64) as usize];
        if slot.0 != minute {
            *slot = (minute, 0, 0);
        }
        slot.1 += 1;
        slot.2 += u32::from(!success);
    }

    /// (results, failed) of the last `n` minutes to `now_ms`'s.
    fn last_minutes(&self, now_ms: i64, n: i64) -> (u64, u64) {
        let now = now_ms.div_euclid(60_000);
        self.minutes
            .iter()
            .filter(|(minute, _, _)| *minute > now - n && *minute <= now)
            .fold((0, 0), |(t, f), (_, total, failed)| {
                (t + u64::from(*total), f + u64::from(*failed))
            })
    }
}

/// How many times as fast as `slo` allows `failed` of `total` spend its
/// error budget; `None` without results.
pub fn burn_rate(slo: &Slo, total: u64, failed: u64) -> Option<f64> {
    (total > 0).then(|| failed as f64 / total as f64 / slo.error_budget())
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
    pub fn judge(
        &self,
        result: &ProbeResult,
        rules: &[AlertRule],
        slo: Option<&Slo>,
    ) -> Vec<RuleVerdict> {
        let longest = rules
            .iter()
            .filter(|r| r.kind.windowed())
            .map(|r| r.window)
            .max();
        let certificate = result
            .certificate_expiration
            .filter(|_| rules.iter().any(|r| !r.kind.windowed()));
        if longest.is_none() && slo.is_none() && certificate.is_none() {
            return Vec::new();
        }
        let now = result.checked_at.timestamp_millis();
        let latency = u32::try_from(result.latency.as_millis()).unwrap_or(u32::MAX);
        let mut windows = self.windows.lock().expect("figures lock");
        let window = windows.entry(result.service.clone()).or_default();
        let mut changed = Vec::new();
        let mut tell = |window: &mut Window, rule: &str, severity, holds, message: String| {
            if window.verdicts.insert(rule.to_string(), holds) != Some(holds) {
                changed.push(RuleVerdict {
                    service: result.service.to_string(),
                    rule: rule.to_string(),
                    severity,
                    holds,
                    at_ms: now,
                    message: format!("{} {message}", result.service),
                });
            }
        };
        if let Some(slo) = slo {
            window.count_minute(now, result.success);
            for (rule, severity, limit, long, short) in BURN_RULES {
                let (long_total, long_failed) = window.last_minutes(now, long);
                let (short_total, short_failed) = window.last_minutes(now, short);
                if (short_total as usize) < MIN_RESULTS {
                    continue;
                }
                let long_rate = burn_rate(slo, long_total, long_failed).unwrap_or(0.0);
                let short_rate = burn_rate(slo, short_total, short_failed).unwrap_or(0.0);
                let message = format!(
                    "burns its error budget {long_rate:.1}× as fast as its {}% objective allows over the last {} (and {short_rate:.1}× over the last {}; above {limit}× alerts)",
                    slo.objective * 100.0,
                    minutes(long),
                    minutes(short),
                );
                let holds = long_rate > limit && short_rate > limit;
                tell(window, rule, severity, holds, message);
            }
        }
        if let Some(left) = certificate {
            for rule in rules {
                if let RuleKind::CertificateExpiresWithin(limit) = rule.kind {
                    let message = certificate_message(left, limit);
                    tell(window, &rule.name, rule.severity, left < limit, message);
                }
            }
        }
        let Some(longest) = longest else {
            return changed;
        };
        window.results.push_back((now, result.success, latency));
        let oldest = now - millis(longest);
        while window
            .results
            .front()
            .is_some_and(|&(at, _, _)| at <= oldest)
        {
            window.results.pop_front();
        }
        for rule in rules {
            let Some((holds, message)) = verdict(&window.results, rule, now) else {
                continue;
            };
            tell(window, &rule.name, rule.severity, holds, message);
        }
        changed
    }

    /// A reloaded config: services no longer judged are forgotten, and
    /// every rule's next verdict counts as a change again (a rule
    /// removed and written back, or changed, starts afresh).
    pub fn reconfigured(&self, keep: impl Fn(&str) -> bool) {
        let mut windows = self.windows.lock().expect("figures lock");
        windows.retain(|service, _| keep(service));
        for window in windows.values_mut() {
            window.verdicts.clear();
        }
    }
}

/// What a certificate rule saw: "certificate expires in 9 days (under
/// 14 days alerts)".
fn certificate_message(left: Duration, limit: Duration) -> String {
    let days = |d: Duration| {
        let n = d.as_secs() / 86_400;
        format!("{n} day{}", if n == 1 { "" } else { "s" })
    };
    let seen = if left.is_zero() {
        "certificate has expired".to_string()
    } else if left < Duration::from_secs(86_400) {
        format!(
            "certificate expires in {}",
            humantime::format_duration(Duration::from_secs(left.as_secs() / 60 * 60))
        )
    } else {
        format!("certificate expires in {}", days(left))
    };
    format!("{seen} (under {} alerts)", days(limit))
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
        RuleKind::CertificateExpiresWithin(_) => None,
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
            certificate_expiration: None,
        }
    }

    fn changes(figures: &Figures, r: &ProbeResult) -> Vec<(String, bool)> {
        figures
            .judge(r, &default_rules(), None)
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
        let critical = figures.judge(&result(220, false, 100), &default_rules(), None);
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
    fn certificate_rules_judge_the_certificate_each_result_saw() {
        let figures = Figures::default();
        let rules: Vec<AlertRule> = default_rules()
            .into_iter()
            .filter(|r| !r.kind.windowed())
            .collect();
        let day = 86_400;
        let judge = |s: i64, left: Option<u64>| -> Vec<(String, bool, String)> {
            let r = ProbeResult {
                certificate_expiration: left.map(Duration::from_secs),
                ..result(s, left.is_some(), 100)
            };
            figures
                .judge(&r, &rules, None)
                .into_iter()
                .map(|v| (v.rule, v.holds, v.message))
                .collect()
        };
        // No certificate seen (a failed handshake): no verdict.
        assert!(judge(0, None).is_empty());
        // 20 days: both first verdicts, neither holding; the same again
        // changes nothing.
        let first = judge(10, Some(20 * day));
        assert_eq!(
            first
                .iter()
                .map(|(r, h, _)| (r.as_str(), *h))
                .collect::<Vec<_>>(),
            [("certificate", false), ("certificate_critical", false)]
        );
        assert!(judge(20, Some(19 * day)).is_empty());
        // Nine days: the warning, on the first result, without a window.
        assert_eq!(
            judge(30, Some(9 * day + 3_600)),
            [(
                "certificate".to_string(),
                true,
                "api certificate expires in 9 days (under 14 days alerts)".to_string()
            )]
        );
        // A failed probe in between keeps the verdicts.
        assert!(judge(40, None).is_empty());
        let critical = judge(50, Some(5 * 3_600 + 59));
        assert_eq!(critical.len(), 1);
        assert_eq!(critical[0].0, "certificate_critical");
        assert_eq!(
            critical[0].2,
            "api certificate expires in 5h (under 3 days alerts)"
        );
        assert_eq!(
            judge(60, Some(0))[..],
            [],
            "an expired certificate still holds both"
        );
        // Renewed: both resolve at once.
        assert_eq!(
            judge(70, Some(90 * day))
                .iter()
                .map(|(r, h, _)| (r.as_str(), *h))
                .collect::<Vec<_>>(),
            [("certificate", false), ("certificate_critical", false)]
        );
    }

    #[test]
    fn a_burn_alert_needs_both_its_windows_over_the_rate() {
        let figures = Figures::default();
        let slo = Slo {
            objective: 0.99,
            window: Duration::from_secs(30 * 86_400),
        };
        let judge = |s: i64, ok: bool| -> Vec<RuleVerdict> {
            figures.judge(&result(s, ok, 100), &[], Some(&slo))
        };
        // An hour of results every 10 s, 7 of 360 failing: about 2× the
        // 1 % budget, burning neither fast nor slow.
        let mut seen = Vec::new();
        for i in 0..360 {
            seen.extend(
                judge(i * 10, i % 50 != 25)
                    .into_iter()
                    .map(|v| (v.rule, v.holds)),
            );
        }
        assert_eq!(
            seen,
            [
                ("slo_fast_burn".to_string(), false),
                ("slo_slow_burn".to_string(), false)
            ]
        );
        // Then everything fails. The short windows burn at 100× at once;
        // each rule fires once its long window is over its rate too: the
        // slow one (6×: 6 % of the six hours' results) after 16 failures,
        // the fast one (14.4 % of the hour's) after 46.
        let mut fired = Vec::new();
        for i in 360..420 {
            for v in judge(i * 10, false) {
                fired.push((v.rule.clone(), i - 359, v.message));
            }
        }
        let when: Vec<(&str, i64)> = fired.iter().map(|(r, n, _)| (r.as_str(), *n)).collect();
        assert_eq!(when, [("slo_slow_burn", 16), ("slo_fast_burn", 46)]);
        assert_eq!(
            fired[1].2,
            "api burns its error budget 14.5× as fast as its 99% objective allows over the last 1h (and 100.0× over the last 5m; above 14.4× alerts)"
        );
    }

    #[test]
    fn latency_p95_is_the_nearest_rank_of_the_window() {
        let figures = Figures::default();
        let rules = default_rules();
        // 19 fast and one slow: p95 of 20 is the 19th, fast.
        for s in 0..19 {
            figures.judge(&result(s, true, 100), &rules, None);
        }
        let slow = figures.judge(&result(19, true, 5_000), &rules, None);
        assert!(slow.iter().all(|v| v.rule != "latency_p95"), "{slow:?}");
        // A second slow one is the 20th of 21's rank 20: slow.
        let slow = figures.judge(&result(20, true, 5_000), &rules, None);
        assert_eq!(slow.len(), 1);
        assert_eq!(slow[0].rule, "latency_p95");
        assert!(slow[0].holds);
        assert_eq!(
            slow[0].message,
            "api latency p95 5s over the last 5m (21 results; above 2s alerts)"
        );
    }
}
