//! History that stays small: buckets of results, and the figures made
//! from them.
//!
//! Results arrive in `probe_results` ("hot" rows). Once an hour is over,
//! the roll-up (see [`crate::store::Store::roll_up`]) turns each service's
//! hour into an hourly [`Bucket`] that also carries the hour's results
//! packed ([`pack`]) until the raw window passes, and refreshes the daily
//! bucket of its day. Hourly buckets are kept 90 days, daily ones for ever.
//!
//! Every bucket holds counts, summed/min/max latency, a mergeable latency
//! [`sketch`] and the time it *knows* about: each result covers the time
//! from its check up to the next check, at most `cap` (twice the service's
//! interval). Time no result covers — Hale not running, the service not yet
//! monitored — is unknown: reported apart, never counted as up. Buckets
//! merge by addition, so a day is the sum of its hours and a window the sum
//! of its buckets.

pub mod figures;
pub mod pack;
pub mod sketch;

use crate::duration::HumanDuration;
use crate::event::ProbeResult;
use serde::Deserialize;
use sketch::Sketch;
use std::time::Duration;

pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 24 * HOUR_MS;

pub fn floor_to(ms: i64, unit: i64) -> i64 {
    ms.div_euclid(unit).saturating_mul(unit)
}

/// Which table a bucket lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    Hour,
    Day,
}

impl Resolution {
    pub fn span_ms(self) -> i64 {
        match self {
            Resolution::Hour => HOUR_MS,
            Resolution::Day => DAY_MS,
        }
    }

    pub fn table(self) -> &'static str {
        match self {
            Resolution::Hour => "hourly_buckets",
            Resolution::Day => "daily_buckets",
        }
    }
}

/// What a bucket counts of a result: when it was checked, whether it
/// succeeded, and how long it took. The roll-up of the hour under way
/// reads only these columns; a whole [`ProbeResult`] (message, condition
/// results) is read where the hour's results are packed.
pub trait Counted {
    fn at_ms(&self) -> i64;
    fn success(&self) -> bool;
    fn latency_us(&self) -> u64;
}

impl Counted for ProbeResult {
    fn at_ms(&self) -> i64 {
        self.checked_at.timestamp_millis()
    }

    fn success(&self) -> bool {
        self.success
    }

    fn latency_us(&self) -> u64 {
        u64::try_from(self.latency.as_micros()).unwrap_or(u64::MAX)
    }
}

/// What a span of one service's results adds up to.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Bucket {
    pub start_ms: i64,
    pub total: u64,
    pub successful: u64,
    /// Milliseconds of the span covered by results; the rest is unknown.
    pub known_ms: i64,
    pub latency_sum_us: u64,
    /// Zero when empty.
    pub latency_min_us: u64,
    pub latency_max_us: u64,
    pub sketch: Sketch,
    /// The newest result's time, so the next span knows what covers its start.
    pub last_at_ms: Option<i64>,
}

impl Bucket {
    pub fn empty(start_ms: i64) -> Bucket {
        Bucket {
            start_ms,
            ..Bucket::default()
        }
    }

    /// The bucket of `results` (one service's, oldest first, all within
    /// `[start, end)`). `previous` is the time of the last result before
    /// `start`; each result covers up to `cap_ms` after it, never past
    /// `until` (the span's end, or now for the span under way).
    pub fn build<R: Counted>(
        start_ms: i64,
        until_ms: i64,
        results: &[R],
        previous_ms: Option<i64>,
        cap_ms: i64,
    ) -> Bucket {
        let mut bucket = Bucket::empty(start_ms);
        let times = previous_ms
            .into_iter()
            .chain(results.iter().map(Counted::at_ms));
        bucket.known_ms = covered(start_ms, until_ms, times, cap_ms);
        for r in results {
            bucket.add(r);
        }
        bucket
    }

    fn add<R: Counted>(&mut self, r: &R) {
        let us = r.latency_us();
        if self.total == 0 || us < self.latency_min_us {
            self.latency_min_us = us;
        }
        self.latency_max_us = self.latency_max_us.max(us);
        self.total += 1;
        self.successful += u64::from(r.success());
        self.latency_sum_us = self.latency_sum_us.saturating_add(us);
        self.sketch.record(us);
        let at = r.at_ms();
        self.last_at_ms = Some(self.last_at_ms.map_or(at, |last| last.max(at)));
    }

    /// Adds another bucket (of a disjoint span) into this one.
    pub fn merge(&mut self, other: &Bucket) {
        if other.total > 0 {
            if self.total == 0 || other.latency_min_us < self.latency_min_us {
                self.latency_min_us = other.latency_min_us;
            }
            self.latency_max_us = self.latency_max_us.max(other.latency_max_us);
        }
        self.total += other.total;
        self.successful += other.successful;
        self.known_ms += other.known_ms;
        self.latency_sum_us = self.latency_sum_us.saturating_add(other.latency_sum_us);
        self.sketch.merge(&other.sketch);
        self.last_at_ms = match (self.last_at_ms, other.last_at_ms) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }

    pub fn failed(&self) -> u64 {
        self.total - self.successful
    }
}

/// How much of `[start, until)` the checks at `times` (ascending) cover,
/// each reaching to the next check or `cap` after it, whichever is first.
pub fn covered(start: i64, until: i64, times: impl IntoIterator<Item = i64>, cap: i64) -> i64 {
    let mut known = 0;
    let mut times = times.into_iter().peekable();
    while let Some(at) = times.next() {
        let reach = match times.peek() {
            Some(next) => (*next).min(at + cap),
            None => at + cap,
        };
        let (from, to) = (at.max(start), reach.min(until));
        if to > from {
            known += to - from;
        }
    }
    known
}

/// How long history is kept.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Retention {
    /// Raw results (packed in their hourly buckets after the hour).
    pub raw_ms: i64,
    /// Hourly buckets; daily ones are kept for ever.
    pub hourly_ms: i64,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            raw_ms: 7 * DAY_MS,
            hourly_ms: 90 * DAY_MS,
        }
    }
}

/// `history:`: how long results are kept, and the error-rate bands.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryConfig {
    /// Raw results (default 7 days).
    #[serde(default = "default_raw_retention")]
    pub raw_retention: HumanDuration,
    /// Hourly buckets (default 90 days); daily ones are kept for ever.
    #[serde(default = "default_hourly_retention")]
    pub hourly_retention: HumanDuration,
    /// Error rate from which a service is in the warning band (0.05 = 5 %).
    #[serde(default = "default_warning_rate")]
    pub error_rate_warning: f64,
    /// Error rate above which it is critical.
    #[serde(default = "default_critical_rate")]
    pub error_rate_critical: f64,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        HistoryConfig {
            raw_retention: default_raw_retention(),
            hourly_retention: default_hourly_retention(),
            error_rate_warning: default_warning_rate(),
            error_rate_critical: default_critical_rate(),
        }
    }
}

fn default_raw_retention() -> HumanDuration {
    HumanDuration(Duration::from_secs(7 * 86_400))
}
fn default_hourly_retention() -> HumanDuration {
    HumanDuration(Duration::from_secs(90 * 86_400))
}
fn default_warning_rate() -> f64 {
    0.05
}
fn default_critical_rate() -> f64 {
    0.10
}

impl HistoryConfig {
    pub fn retention(&self) -> Retention {
        let ms = |d: &HumanDuration| i64::try_from(d.0.as_millis()).unwrap_or(i64::MAX / 4);
        Retention {
            raw_ms: ms(&self.raw_retention),
            hourly_ms: ms(&self.hourly_retention),
        }
    }

    pub fn bands(&self) -> wire::Bands {
        wire::Bands {
            warning: self.error_rate_warning,
            critical: self.error_rate_critical,
        }
    }

    /// What is wrong with the section, by field.
    pub fn issues(&self) -> Vec<(&'static str, String)> {
        let mut issues = Vec::new();
        let rate_ok = |r: f64| r > 0.0 && r <= 1.0;
        if !rate_ok(self.error_rate_warning) {
            issues.push((
                "error_rate_warning",
                format!(
                    "{} is not a rate between 0 and 1 (e.g. 0.05 for 5 %)",
                    self.error_rate_warning
                ),
            ));
        }
        if !rate_ok(self.error_rate_critical) {
            issues.push((
                "error_rate_critical",
                format!(
                    "{} is not a rate between 0 and 1 (e.g. 0.1 for 10 %)",
                    self.error_rate_critical
                ),
            ));
        } else if self.error_rate_critical < self.error_rate_warning {
            issues.push((
                "error_rate_critical",
                format!(
                    "{} is below error_rate_warning ({})",
                    self.error_rate_critical, self.error_rate_warning
                ),
            ));
        }
        if self.raw_retention.0 < Duration::from_secs(3_600) {
            issues.push((
                "raw_retention",
                format!("{} is shorter than an hour", self.raw_retention),
            ));
        }
        if self.hourly_retention.0 < Duration::from_secs(86_400) {
            issues.push((
                "hourly_retention",
                format!("{} is shorter than a day", self.hourly_retention),
            ));
        }
        issues
    }
}

/// How far one result covers when the service's interval is unknown.
pub const DEFAULT_CAP_MS: i64 = 120_000;

/// What history needs from the config: retention, bands, and each
/// service's coverage (twice its interval).
#[derive(Clone, Debug, Default)]
pub struct HistorySettings {
    pub retention: Retention,
    pub bands: wire::Bands,
    pub caps: std::collections::HashMap<String, i64>,
}

impl HistorySettings {
    pub fn cap(&self, service: &str) -> i64 {
        self.caps.get(service).copied().unwrap_or(DEFAULT_CAP_MS)
    }
}

/// One run of the roll-up.
#[derive(Clone, Debug)]
pub struct RollupPlan {
    pub now_ms: i64,
    /// Hours that ended at least this long ago are rolled up; results that
    /// arrive later for them are merged in by a later run.
    pub grace_ms: i64,
    pub retention: Retention,
    /// How far one result covers, per service; `default_cap_ms` for
    /// services no longer configured.
    pub caps: std::collections::HashMap<String, i64>,
    pub default_cap_ms: i64,
}

impl RollupPlan {
    pub fn cap(&self, service: &str) -> i64 {
        self.caps
            .get(service)
            .copied()
            .unwrap_or(self.default_cap_ms)
    }
}

/// What a roll-up run did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RollupReport {
    pub results: u64,
    /// Finished hours written.
    pub hours: u64,
    /// Provisional buckets of the hour under way written.
    pub provisional: u64,
    pub days: u64,
    pub raw_dropped: u64,
    pub hours_dropped: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use std::sync::Arc;
    use std::time::Duration;

    fn result(at_ms: i64, success: bool, latency_ms: u64) -> ProbeResult {
        ProbeResult {
            service: Arc::from("api"),
            checked_at: Utc.timestamp_millis_opt(at_ms).unwrap(),
            success,
            latency: Duration::from_millis(latency_ms),
            status_code: Some(200),
            message: String::new(),
            conditions: vec![],
            region: None,
            certificate_expiration: None,
        }
    }

    #[test]
    fn coverage_stops_at_the_cap_and_the_span() {
        // Checks every 30 s with a 60 s cap cover everything between them.
        assert_eq!(
            covered(0, 120_000, [0, 30_000, 60_000, 90_000], 60_000),
            120_000
        );
        // A 10-minute gap: only the cap after the last check before it counts.
        assert_eq!(covered(0, 900_000, [0, 600_000], 60_000), 120_000);
        // A check before the span covers its start.
        assert_eq!(covered(100_000, 200_000, [90_000], 60_000), 50_000);
        // Nothing at all: nothing known.
        assert_eq!(covered(0, 100, [], 60_000), 0);
    }

    #[test]
    fn a_bucket_adds_up_its_results_and_merges_by_addition() {
        let hour: Vec<_> = (0..120)
            .map(|i| result(i * 30_000, i % 40 != 0, 10 + i as u64 % 5))
            .collect();
        let bucket = Bucket::build(0, HOUR_MS, &hour[..], None, 60_000);
        assert_eq!(bucket.total, 120);
        assert_eq!(bucket.successful, 117);
        assert_eq!(bucket.known_ms, HOUR_MS);
        assert_eq!(bucket.latency_min_us, 10_000);
        assert_eq!(bucket.latency_max_us, 14_000);
        assert_eq!(bucket.last_at_ms, Some(119 * 30_000));

        let (first, second) = hour.split_at(50);
        let mut merged = Bucket::build(0, 25 * 60_000, first, None, 60_000);
        merged.merge(&Bucket::build(
            25 * 60_000,
            HOUR_MS,
            second,
            Some(49 * 30_000),
            60_000,
        ));
        assert_eq!(merged, bucket);
    }
}
