//! A mergeable latency histogram that keeps three significant digits.
//!
//! Values are microseconds. Below 1 ms every microsecond has its own
//! bucket; above, a bucket spans one unit of the third significant digit
//! (10.0–10.1 ms, 123–124 ms, 1.23–1.24 s). So a quantile is exact for any
//! latency with at most three significant digits in microseconds and at
//! most 1 % low otherwise, and buckets from any number of hours or days
//! merge without losing that. Only non-empty buckets are kept, so an hour
//! of one service's probes costs a few dozen bytes.

use std::collections::BTreeMap;

/// Buckets below this are single microseconds.
const LINEAR: u64 = 1_000;
/// Buckets per decade above it (100–999 of the leading digits).
const PER_DECADE: u32 = 900;

/// The bucket of a value.
pub fn bucket(us: u64) -> u32 {
    if us < LINEAR {
        return us as u32;
    }
    let mut mantissa = us;
    let mut exponent = 0u32;
    while mantissa >= 1_000 {
        mantissa /= 10;
        exponent += 1;
    }
    LINEAR as u32 + (exponent - 1) * PER_DECADE + (mantissa as u32 - 100)
}

/// The smallest value of a bucket (what quantiles report).
pub fn lower_bound(index: u32) -> u64 {
    if u64::from(index) < LINEAR {
        return u64::from(index);
    }
    let offset = index - LINEAR as u32;
    let exponent = offset / PER_DECADE + 1;
    let mantissa = u64::from(offset % PER_DECADE + 100);
    mantissa.saturating_mul(10u64.saturating_pow(exponent))
}

/// Counts per bucket, sorted by bucket.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sketch {
    buckets: BTreeMap<u32, u64>,
}

impl Sketch {
    pub fn record(&mut self, us: u64) {
        *self.buckets.entry(bucket(us)).or_default() += 1;
    }

    /// Values recorded. Counts saturate rather than wrap: a sketch read
    /// from damaged bytes must not panic anything that sums it.
    pub fn count(&self) -> u64 {
        self.buckets
            .values()
            .fold(0u64, |sum, count| sum.saturating_add(*count))
    }

    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    pub fn merge(&mut self, other: &Sketch) {
        for (bucket, count) in &other.buckets {
            let mine = self.buckets.entry(*bucket).or_default();
            *mine = mine.saturating_add(*count);
        }
    }

    /// The nearest-rank quantile `q` (0–1): the smallest recorded bucket
    /// whose cumulative count reaches `ceil(q · n)`, as its lower bound;
    /// `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (bucket, count) in &self.buckets {
            seen = u64::saturating_add(seen, *count);
            if seen >= rank {
                return Some(lower_bound(*bucket));
            }
        }
        None
    }

    /// Compact bytes: for each non-empty bucket, a varint of the gap from
    /// the previous bucket, shifted left one bit with the low bit set when a
    /// count other than 1 follows (as a varint). Most buckets of an hour hold
    /// a single value, so most cost one or two bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.buckets.len() * 2);
        let mut previous = 0u32;
        for (bucket, count) in &self.buckets {
            let gap = u64::from(bucket - previous);
            varint::put(&mut out, gap << 1 | u64::from(*count != 1));
            if *count != 1 {
                varint::put(&mut out, *count);
            }
            previous = *bucket;
        }
        out
    }

    pub fn decode(mut bytes: &[u8]) -> Result<Sketch, String> {
        let mut buckets = BTreeMap::new();
        let mut previous = 0u64;
        while !bytes.is_empty() {
            let head = varint::get(&mut bytes)?;
            let (gap, count) = if head & 1 == 1 {
                (head >> 1, varint::get(&mut bytes)?)
            } else {
                (head >> 1, 1)
            };
            // At most u32::MAX before, and a gap below 2^63: no overflow.
            previous += gap;
            let bucket = u32::try_from(previous).map_err(|_| "histogram bucket out of range")?;
            buckets.insert(bucket, count);
        }
        Ok(Sketch { buckets })
    }
}

/// LEB128 unsigned varints, shared with the packed results.
pub mod varint {
    pub fn put(out: &mut Vec<u8>, mut value: u64) {
        while value >= 0x80 {
            out.push((value as u8) | 0x80);
            value >>= 7;
        }
        out.push(value as u8);
    }

    pub fn get(bytes: &mut &[u8]) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = bytes.split_first().ok_or("truncated varint")?;
            *bytes = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("varint too long".into())
    }

    /// Zig-zag, for signed values.
    pub fn put_signed(out: &mut Vec<u8>, value: i64) {
        put(out, ((value << 1) ^ (value >> 63)) as u64);
    }

    pub fn get_signed(bytes: &mut &[u8]) -> Result<i64, String> {
        let raw = get(bytes)?;
        Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_significant_digits_are_exact() {
        for us in [
            0, 1, 999, 1_000, 1_230, 12_300, 45_600, 999_000, 1_230_000, 30_000_000,
        ] {
            assert_eq!(lower_bound(bucket(us)), us, "{us} µs");
        }
        // Other values come back at most 1 % low, never high.
        for us in [1_234u64, 98_765, 4_321_987, 123_456_789_012] {
            let reported = lower_bound(bucket(us));
            assert!(
                reported <= us && (us - reported) as f64 / us as f64 <= 0.01,
                "{us} → {reported}"
            );
        }
    }

    #[test]
    fn buckets_are_ordered_like_values() {
        let mut last = 0;
        for us in (0..5_000_000u64).step_by(997) {
            let b = bucket(us);
            assert!(b >= last);
            last = b;
        }
    }

    #[test]
    fn quantiles_follow_nearest_rank_and_survive_merging() {
        let values: Vec<u64> = (1..=100).map(|i| i * 1_000).collect();
        let (mut a, mut b) = (Sketch::default(), Sketch::default());
        for (i, v) in values.iter().enumerate() {
            if i % 3 == 0 {
                a.record(*v)
            } else {
                b.record(*v)
            }
        }
        a.merge(&b);
        assert_eq!(a.count(), 100);
        assert_eq!(a.quantile(0.5), Some(50_000));
        assert_eq!(a.quantile(0.95), Some(95_000));
        assert_eq!(a.quantile(0.99), Some(99_000));
        assert_eq!(a.quantile(0.0), Some(1_000));
        assert_eq!(a.quantile(1.0), Some(100_000));
        assert_eq!(Sketch::default().quantile(0.5), None);
    }

    #[test]
    fn encoding_round_trips_and_is_small() {
        let mut sketch = Sketch::default();
        for i in 0..120u64 {
            sketch.record(40_000 + (i % 17) * 1_000);
        }
        let bytes = sketch.encode();
        assert!(bytes.len() < 60, "{} bytes", bytes.len());
        assert_eq!(Sketch::decode(&bytes).unwrap(), sketch);
        assert!(Sketch::decode(&[0x80]).is_err());
    }

    #[test]
    fn signed_varints_round_trip() {
        for v in [0i64, 1, -1, 63, -64, 1 << 40, i64::MIN, i64::MAX] {
            let mut out = Vec::new();
            varint::put_signed(&mut out, v);
            assert_eq!(varint::get_signed(&mut out.as_slice()).unwrap(), v);
        }
    }

    #[test]
    fn extreme_counts_and_gaps_from_damaged_bytes_do_not_panic() {
        // A bucket holding u64::MAX values: summing or merging it must not
        // overflow.
        let mut bytes = Vec::new();
        varint::put(&mut bytes, (5 << 1) | 1);
        varint::put(&mut bytes, u64::MAX);
        let sketch = Sketch::decode(&bytes).unwrap();
        let mut merged = sketch.clone();
        merged.merge(&sketch);
        assert_eq!(merged.count(), u64::MAX);
        assert_eq!(merged.quantile(1.0), Some(lower_bound(5)));
        // A gap past the last bucket there can be.
        let mut bytes = Vec::new();
        varint::put(&mut bytes, 10 << 1);
        varint::put(&mut bytes, !1);
        assert!(Sketch::decode(&bytes).is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_decode_to_a_sketch_or_an_error_never_a_panic(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256),
        ) {
            if let Ok(sketch) = Sketch::decode(&bytes) {
                // Whatever came out can be used as any sketch is.
                let mut merged = sketch.clone();
                merged.merge(&sketch);
                let _ = (merged.count(), merged.quantile(0.99), merged.encode());
            }
        }

        #[test]
        fn any_values_round_trip(values in proptest::collection::vec(0u64..u64::MAX / 2, 0..300)) {
            let mut sketch = Sketch::default();
            for value in &values {
                sketch.record(*value);
            }
            proptest::prop_assert_eq!(Sketch::decode(&sketch.encode()).unwrap(), sketch.clone());
            proptest::prop_assert_eq!(sketch.count(), values.len() as u64);
        }
    }
}
