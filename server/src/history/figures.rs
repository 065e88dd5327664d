//! Buckets into the figures people read: uptime, error rate and band,
//! latency percentiles.

use super::Bucket;
use chrono::{DateTime, TimeZone, Utc};
use wire::{Band, Bands, LatencyPoint, LatencySummary, WindowFigures};

fn ms(us: u64) -> f64 {
    us as f64 / 1_000.0
}

/// Latency figures of a bucket; `None` when it holds no results.
pub fn latency(bucket: &Bucket) -> Option<LatencySummary> {
    if bucket.total == 0 {
        return None;
    }
    // Sketch quantiles are at most 1 % low; the exact min and max bound them.
    let q = |q: f64| {
        let v = bucket.sketch.quantile(q).unwrap_or(0);
        ms(v.clamp(bucket.latency_min_us, bucket.latency_max_us))
    };
    Some(LatencySummary {
        min_ms: ms(bucket.latency_min_us),
        max_ms: ms(bucket.latency_max_us),
        avg_ms: round3(bucket.latency_sum_us as f64 / bucket.total as f64 / 1_000.0),
        median_ms: q(0.5),
        p95_ms: q(0.95),
        p99_ms: q(0.99),
        num_requests: bucket.total,
    })
}

/// Rounds to three decimals: figures meant for people and JSON.
pub fn round3(v: f64) -> f64 {
    (v * 1_000.0).round() / 1_000.0
}

/// Rounds a rate (0–1) to six decimals.
pub fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// The figures of `bucket`, the sum of a window `[start, end)` (`end`
/// no later than now: time not yet lived is not unknown).
pub fn window(
    name: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    bucket: &Bucket,
    bands: &Bands,
) -> WindowFigures {
    let span = (end - start).num_milliseconds().max(0);
    let unknown = (span - bucket.known_ms).max(0);
    let error_rate = (bucket.total > 0).then(|| bucket.failed() as f64 / bucket.total as f64);
    WindowFigures {
        window: name.to_string(),
        start,
        end,
        uptime_pct: (bucket.total > 0)
            .then(|| round3(bucket.successful as f64 * 100.0 / bucket.total as f64)),
        unknown_pct: if span == 0 {
            0.0
        } else {
            round3(unknown as f64 * 100.0 / span as f64)
        },
        total_count: bucket.total,
        error_count: bucket.failed(),
        error_rate: error_rate.map(round6),
        band: error_rate.map(|r| bands.classify(r)),
        latency: latency(bucket),
    }
}

/// A latency chart's points: each bucket with results, as its p50 and p95.
pub fn latency_points<'a>(buckets: impl IntoIterator<Item = &'a Bucket>) -> Vec<LatencyPoint> {
    buckets
        .into_iter()
        .filter_map(|b| {
            let summary = latency(b)?;
            Some(LatencyPoint {
                start: Utc.timestamp_millis_opt(b.start_ms).single()?,
                p50_ms: summary.median_ms,
                p95_ms: summary.p95_ms,
                count: b.total,
            })
        })
        .collect()
}

fn threshold_pct(rate: f64) -> String {
    let pct = rate * 100.0;
    if pct.fract() == 0.0 {
        format!("{pct:.0}%")
    } else {
        format!("{pct}%")
    }
}

/// The alert line for a service over a band, if it is.
pub fn rate_alert(band: Band, bands: &Bands) -> Option<String> {
    match band {
        Band::Healthy => None,
        Band::Warning => Some(format!(
            "Error rate above {} threshold",
            threshold_pct(bands.warning)
        )),
        Band::Critical => Some(format!(
            "Error rate above {} threshold",
            threshold_pct(bands.critical)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alerts_name_the_threshold_crossed() {
        let bands = Bands::default();
        assert_eq!(
            rate_alert(Band::Warning, &bands).unwrap(),
            "Error rate above 5% threshold"
        );
        assert_eq!(
            rate_alert(Band::Critical, &bands).unwrap(),
            "Error rate above 10% threshold"
        );
        assert_eq!(rate_alert(Band::Healthy, &bands), None);
    }
}
