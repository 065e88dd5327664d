//! A lock-free, log-linear histogram of durations: four buckets per power
//! of two of microseconds (a value is reported at most 25 % high), from
//! 1 µs to about 4.8 hours. Recording is a couple of atomic adds; snapshots can be merged.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const SUB_BUCKETS: usize = 4;
/// Powers of two covered: values up to 2^34 µs, about 4.8 hours.
const POWERS: usize = 33;
const BUCKETS: usize = POWERS * SUB_BUCKETS;

#[derive(Debug)]
pub struct Histogram {
    counts: Box<[AtomicU64; BUCKETS]>,
    max_us: AtomicU64,
    sum_us: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: Box::new(std::array::from_fn(|_| AtomicU64::new(0))),
            max_us: AtomicU64::new(0),
            sum_us: AtomicU64::new(0),
        }
    }
}

/// The bucket a value in microseconds falls in.
fn bucket(us: u64) -> usize {
    if us < SUB_BUCKETS as u64 {
        return us as usize;
    }
    // Values in [2^p, 2^(p+1)) for p ≥ 2 split into four buckets.
    let power = 63 - us.leading_zeros() as usize;
    let sub = ((us >> (power - 2)) & 0b11) as usize;
    ((power - 1) * SUB_BUCKETS + sub).min(BUCKETS - 1)
}

/// The largest value a bucket holds (what quantiles report: never low).
fn upper_bound_us(index: usize) -> u64 {
    if index < SUB_BUCKETS {
        return index as u64;
    }
    let power = index / SUB_BUCKETS + 1;
    let sub = (index % SUB_BUCKETS) as u64;
    ((4 + sub + 1) << (power - 2)) - 1
}

impl Histogram {
    pub fn record(&self, value: Duration) {
        let us = u64::try_from(value.as_micros()).unwrap_or(u64::MAX);
        self.counts[bucket(us)].fetch_add(1, Ordering::Relaxed);
        self.max_us.fetch_max(us, Ordering::Relaxed);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            counts: self
                .counts
                .iter()
                .map(|c| c.load(Ordering::Relaxed))
                .collect(),
            max_us: self.max_us.load(Ordering::Relaxed),
            sum_us: self.sum_us.load(Ordering::Relaxed),
        }
    }
}

/// A point-in-time copy, for quantiles and merging.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    counts: Vec<u64>,
    max_us: u64,
    sum_us: u64,
}

impl Snapshot {
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    pub fn max(&self) -> Duration {
        Duration::from_micros(self.max_us)
    }

    pub fn mean(&self) -> Duration {
        Duration::from_micros(self.sum_us.checked_div(self.count()).unwrap_or(0))
    }

    /// The value at quantile `q` (0–1), rounded up to its bucket's bound and
    /// never above the largest value seen; zero when empty.
    pub fn quantile(&self, q: f64) -> Duration {
        let total = self.count();
        if total == 0 {
            return Duration::ZERO;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (index, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Duration::from_micros(upper_bound_us(index).min(self.max_us));
            }
        }
        self.max()
    }

    /// What was recorded after `earlier` (a snapshot of the same
    /// histogram). Maxima can't be subtracted, so the window's max is the
    /// bound of its highest non-empty bucket (capped by the run's max).
    pub fn since(&self, earlier: &Snapshot) -> Snapshot {
        let counts: Vec<u64> = self
            .counts
            .iter()
            .zip(&earlier.counts)
            .map(|(now, then)| now.saturating_sub(*then))
            .collect();
        let max_us = counts
            .iter()
            .rposition(|c| *c > 0)
            .map_or(0, |i| upper_bound_us(i).min(self.max_us));
        Snapshot {
            counts,
            max_us,
            sum_us: self.sum_us.saturating_sub(earlier.sum_us),
        }
    }

    /// How many values were at most `bound`, counting a bucket only when
    /// all of it is within the bound (Prometheus' cumulative `le` buckets).
    pub fn count_at_most(&self, bound: Duration) -> u64 {
        let bound_us = u64::try_from(bound.as_micros()).unwrap_or(u64::MAX);
        self.counts
            .iter()
            .enumerate()
            .take_while(|(i, _)| upper_bound_us(*i) <= bound_us)
            .map(|(_, c)| c)
            .sum()
    }

    /// The sum of all values.
    pub fn sum(&self) -> Duration {
        Duration::from_micros(self.sum_us)
    }

    pub fn merge(&mut self, other: &Snapshot) {
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.max_us = self.max_us.max(other.max_us);
        self.sum_us += other.sum_us;
    }

    /// `{"count", "mean_ms", "p50_ms", "p99_ms", "max_ms"}` for JSON APIs.
    pub fn summary(&self) -> serde_json::Value {
        let ms = |d: Duration| (d.as_secs_f64() * 1e6).round() / 1e3;
        serde_json::json!({
            "count": self.count(),
            "mean_ms": ms(self.mean()),
            "p50_ms": ms(self.quantile(0.5)),
            "p99_ms": ms(self.quantile(0.99)),
            "max_ms": ms(self.max()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_bounds_hold_their_values() {
        let mut previous = None;
        for us in 0..100_000u64 {
            let b = bucket(us);
            assert!(
                us <= upper_bound_us(b),
                "{us} in bucket {b} above its bound"
            );
            if let Some(p) = previous {
                assert!(b == p || b == p + 1, "bucket jumped at {us}");
            }
            previous = Some(b);
        }
    }

    #[test]
    fn quantiles_are_within_the_bucket_error() {
        let h = Histogram::default();
        for ms in 1..=1000u64 {
            h.record(Duration::from_millis(ms));
        }
        let s = h.snapshot();
        assert_eq!(s.count(), 1000);
        for (q, exact_ms) in [(0.5, 500.0), (0.95, 950.0), (0.99, 990.0)] {
            let got = s.quantile(q).as_secs_f64() * 1000.0;
            assert!(
                got >= exact_ms && got <= exact_ms * 1.25,
                "q{q}: {got} vs {exact_ms}"
            );
        }
        assert_eq!(s.max(), Duration::from_millis(1000));
        assert_eq!(s.quantile(1.0), Duration::from_millis(1000));
        assert_eq!(s.mean(), Duration::from_micros(500_500));
    }

    #[test]
    fn snapshots_merge() {
        let (a, b) = (Histogram::default(), Histogram::default());
        a.record(Duration::from_millis(1));
        b.record(Duration::from_millis(100));
        let mut merged = a.snapshot();
        merged.merge(&b.snapshot());
        assert_eq!(merged.count(), 2);
        assert_eq!(merged.max(), Duration::from_millis(100));
        assert_eq!(
            Histogram::default().snapshot().quantile(0.99),
            Duration::ZERO
        );
    }

    #[test]
    fn a_window_excludes_what_came_before() {
        let h = Histogram::default();
        h.record(Duration::from_secs(9)); // a start-up spike
        let before = h.snapshot();
        for _ in 0..100 {
            h.record(Duration::from_millis(2));
        }
        let window = h.snapshot().since(&before);
        assert_eq!(window.count(), 100);
        assert!(
            window.max() >= Duration::from_millis(2) && window.max() < Duration::from_millis(3)
        );
        assert_eq!(window.mean(), Duration::from_millis(2));
    }
}
