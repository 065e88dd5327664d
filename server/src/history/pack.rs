//! Raw results of one service's hour, packed into a few bytes each.
//!
//! A row per result costs Postgres some 90 bytes before any text, which is
//! too much to keep a week of 30-second probes in a megabyte. Once an hour
//! is over, its results are stored in this form: strings (messages,
//! condition texts, regions) once in a table, and per result the change in
//! the time between checks (a byte for a steady interval), the latency,
//! flags, the status code when it differs from the previous one, and table
//! indexes, all varints. A typical result takes about 7 bytes.

use super::sketch::varint;
use crate::event::ProbeResult;
use chrono::{TimeZone, Utc};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use wire::ConditionOutcome;

/// The format's first byte, so it can change later.
const VERSION: u8 = 1;

struct Strings<'a> {
    index: HashMap<&'a str, u64>,
    list: Vec<&'a str>,
}

impl<'a> Strings<'a> {
    fn id(&mut self, s: &'a str) -> u64 {
        let next = self.list.len() as u64;
        *self.index.entry(s).or_insert_with(|| {
            self.list.push(s);
            next
        })
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    varint::put(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn get_str(bytes: &mut &[u8]) -> Result<String, String> {
    let len = usize::try_from(varint::get(bytes)?).map_err(|_| "string too long")?;
    if bytes.len() < len {
        return Err("truncated string".into());
    }
    let (s, rest) = bytes.split_at(len);
    *bytes = rest;
    String::from_utf8(s.to_vec()).map_err(|_| "string is not UTF-8".into())
}

/// Packs results (of one service, in time order) to bytes.
pub fn pack(results: &[ProbeResult]) -> Vec<u8> {
    let mut strings = Strings {
        index: HashMap::new(),
        list: Vec::new(),
    };
    let mut body = Vec::with_capacity(results.len() * 8);
    let (mut previous_ms, mut previous_gap) = (0i64, 0i64);
    let mut previous_code = None;
    for r in results {
        let at = r.checked_at.timestamp_millis();
        let gap = at - previous_ms;
        varint::put_signed(&mut body, gap - previous_gap);
        (previous_ms, previous_gap) = (at, gap);
        varint::put(
            &mut body,
            u64::try_from(r.latency.as_micros()).unwrap_or(u64::MAX),
        );
        // Flags: success, has status code, has region, code as before; the
        // number of conditions follows in the upper bits.
        let same_code = r.status_code.is_some() && r.status_code == previous_code;
        let flags = u64::from(r.success)
            | u64::from(r.status_code.is_some()) << 1
            | u64::from(r.region.is_some()) << 2
            | u64::from(same_code) << 3
            | (r.conditions.len() as u64) << 4;
        varint::put(&mut body, flags);
        if let (Some(code), false) = (r.status_code, same_code) {
            varint::put(&mut body, u64::from(code));
        }
        previous_code = r.status_code;
        varint::put(&mut body, strings.id(&r.message));
        if let Some(region) = &r.region {
            varint::put(&mut body, strings.id(region));
        }
        for c in &r.conditions {
            varint::put(
                &mut body,
                strings.id(&c.condition) << 1 | u64::from(c.success),
            );
        }
    }
    let mut out = Vec::with_capacity(body.len() + 64);
    out.push(VERSION);
    varint::put(&mut out, strings.list.len() as u64);
    for s in &strings.list {
        put_str(&mut out, s);
    }
    varint::put(&mut out, results.len() as u64);
    out.extend_from_slice(&body);
    out
}

/// Unpacks what [`pack`] made, for `service`.
pub fn unpack(service: &Arc<str>, mut bytes: &[u8]) -> Result<Vec<ProbeResult>, String> {
    let bytes = &mut bytes;
    let (&version, rest) = bytes.split_first().ok_or("empty packed results")?;
    *bytes = rest;
    if version != VERSION {
        return Err(format!("packed results of version {version}"));
    }
    let count = varint::get(bytes)?;
    let strings: Vec<String> = (0..count)
        .map(|_| get_str(bytes))
        .collect::<Result<_, _>>()?;
    let string = |id: u64| -> Result<String, String> {
        strings
            .get(id as usize)
            .cloned()
            .ok_or_else(|| format!("string {id} out of range"))
    };
    let count = varint::get(bytes)?;
    let mut results = Vec::with_capacity(count.min(100_000) as usize);
    let (mut at_ms, mut gap) = (0i64, 0i64);
    let mut previous_code = None;
    for _ in 0..count {
        gap = gap
            .checked_add(varint::get_signed(bytes)?)
            .ok_or("time out of range")?;
        at_ms = at_ms.checked_add(gap).ok_or("time out of range")?;
        let latency = Duration::from_micros(varint::get(bytes)?);
        let flags = varint::get(bytes)?;
        let status_code = match (flags & 2 != 0, flags & 8 != 0) {
            (false, _) => None,
            (true, true) => Some(previous_code.ok_or("no status code to repeat")?),
            (true, false) => {
                Some(u16::try_from(varint::get(bytes)?).map_err(|_| "status code out of range")?)
            }
        };
        previous_code = status_code;
        let message = string(varint::get(bytes)?)?;
        let region = if flags & 4 != 0 {
            Some(string(varint::get(bytes)?)?)
        } else {
            None
        };
        let conditions = (0..flags >> 4)
            .map(|_| {
                let raw = varint::get(bytes)?;
                Ok(ConditionOutcome {
                    condition: string(raw >> 1)?,
                    success: raw & 1 == 1,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        results.push(ProbeResult {
            service: service.clone(),
            checked_at: Utc
                .timestamp_millis_opt(at_ms)
                .single()
                .ok_or("time out of range")?,
            success: flags & 1 == 1,
            latency,
            status_code,
            message,
            conditions,
            region,
            certificate_expiration: None,
        });
    }
    if !bytes.is_empty() {
        return Err("trailing bytes after packed results".into());
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(i: i64, success: bool) -> ProbeResult {
        ProbeResult {
            service: Arc::from("api"),
            checked_at: Utc
                .timestamp_millis_opt(1_760_000_000_000 + i * 30_000)
                .unwrap(),
            success,
            latency: Duration::from_micros(40_000 + (i as u64 % 7) * 1_234),
            status_code: Some(if success { 200 } else { 503 }),
            message: if success {
                "HTTP 200".into()
            } else {
                "HTTP 503".into()
            },
            conditions: vec![ConditionOutcome {
                condition: "[STATUS] == 200".into(),
                success,
            }],
            region: (i % 2 == 0).then(|| "eu".to_string()),
            certificate_expiration: None,
        }
    }

    #[test]
    fn an_hour_round_trips_in_a_few_bytes_a_result() {
        let results: Vec<_> = (0..120).map(|i| result(i, i % 10 != 3)).collect();
        let packed = pack(&results);
        assert!(packed.len() < 120 * 9, "{} bytes", packed.len());
        let service: Arc<str> = Arc::from("api");
        assert_eq!(unpack(&service, &packed).unwrap(), results);
    }

    #[test]
    fn results_without_codes_regions_or_conditions_round_trip() {
        let mut bare = result(0, false);
        bare.status_code = None;
        bare.region = None;
        bare.conditions.clear();
        bare.message = "connection refused: \u{1F4A5}".into();
        let service: Arc<str> = Arc::from("api");
        assert_eq!(
            unpack(&service, &pack(&[bare.clone()])).unwrap(),
            vec![bare]
        );
        assert_eq!(unpack(&service, &pack(&[])).unwrap(), vec![]);
    }

    #[test]
    fn damage_is_an_error_not_a_panic() {
        let packed = pack(&[result(0, true), result(1, true)]);
        let service: Arc<str> = Arc::from("api");
        for cut in 0..packed.len() {
            assert!(unpack(&service, &packed[..cut]).is_err(), "cut at {cut}");
        }
        assert!(unpack(&service, &[9]).is_err());
    }

    fn results() -> impl proptest::strategy::Strategy<Value = Vec<ProbeResult>> {
        use proptest::prelude::*;
        let one = (
            -1_000_000i64..1_000_000,
            any::<bool>(),
            0u64..10_000_000,
            proptest::option::of(100u16..600),
            "[a-z0-9 ]{0,12}",
            proptest::option::of("[a-z]{1,4}"),
            proptest::collection::vec(("[A-Z \\[\\]=0-9]{1,12}", any::<bool>()), 0..3),
        );
        proptest::collection::vec(one, 0..40).prop_map(|rows| {
            let mut at = 1_760_000_000_000i64;
            rows.into_iter()
                .map(
                    |(step, success, latency, code, message, region, conditions)| {
                        at += step.abs();
                        ProbeResult {
                            service: Arc::from("api"),
                            checked_at: Utc.timestamp_millis_opt(at).unwrap(),
                            success,
                            latency: Duration::from_micros(latency),
                            status_code: code,
                            message,
                            conditions: conditions
                                .into_iter()
                                .map(|(condition, success)| ConditionOutcome { condition, success })
                                .collect(),
                            region,
                            certificate_expiration: None,
                        }
                    },
                )
                .collect()
        })
    }

    proptest::proptest! {
        #[test]
        fn anything_packed_unpacks_the_same(results in results()) {
            let service: Arc<str> = Arc::from("api");
            proptest::prop_assert_eq!(unpack(&service, &pack(&results)).unwrap(), results);
        }

        #[test]
        fn damaged_packs_are_an_error_or_results_never_a_panic(
            results in results(),
            damage in proptest::collection::vec((proptest::prelude::any::<usize>(), proptest::prelude::any::<u8>()), 1..8),
        ) {
            let mut packed = pack(&results);
            for (at, byte) in damage {
                if !packed.is_empty() {
                    let at = at % packed.len();
                    packed[at] = byte;
                }
            }
            let service: Arc<str> = Arc::from("api");
            let _ = unpack(&service, &packed);
        }

        #[test]
        fn any_bytes_unpack_to_results_or_an_error_never_a_panic(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512),
        ) {
            let service: Arc<str> = Arc::from("api");
            let _ = unpack(&service, &bytes);
        }
    }
}
