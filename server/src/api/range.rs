//! The range every history endpoint takes: `window=` (`24h`, `7d`, `30d`,
//! `90d` or a duration), or `from=`/`to=`, bounded to ten years.

use super::{bad_parameter as bad, ApiError};
use crate::duration::HumanDuration;
use crate::history::DAY_MS;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::Deserialize;

/// The windows every service is summed over, in order.
pub const WINDOWS: [(&str, i64); 4] = [
    ("24h", DAY_MS),
    ("7d", 7 * DAY_MS),
    ("30d", 30 * DAY_MS),
    ("90d", 90 * DAY_MS),
];

/// The longest range asked about: ten years of daily buckets.
const MAX_RANGE_MS: i64 = 3_660 * DAY_MS;

/// `window=` or `from=`/`to=`, as every history endpoint takes them.
#[derive(Debug, Default, Deserialize)]
pub struct RangeQuery {
    pub window: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub resolution: Option<String>,
}

/// A resolved range: `[from, to)` in Unix milliseconds, and its name.
#[derive(Clone, Debug, PartialEq)]
pub struct Range {
    pub name: String,
    pub from_ms: i64,
    pub to_ms: i64,
}

/// A time as people write it in a URL: RFC 3339
/// (`2026-11-20T10:00:00Z`), a date (`2026-11-20`, its midnight UTC), or
/// Unix seconds.
pub fn parse_time(parameter: &'static str, text: &str) -> Result<i64, ApiError> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.timestamp_millis());
    }
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(day
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc()
            .timestamp_millis());
    }
    if let Ok(seconds) = text.parse::<i64>() {
        if let Some(at) = Utc.timestamp_opt(seconds, 0).single() {
            return Ok(at.timestamp_millis());
        }
    }
    Err(bad(
        parameter,
        format!("{text:?} is not a time (expected RFC 3339 like 2026-01-15T10:00:00Z, a date like 2026-01-15, or Unix seconds)"),
    ))
}

impl RangeQuery {
    /// The range asked for; `default_ms` back from now when nothing is.
    pub fn resolve(&self, now_ms: i64, default: (&str, i64)) -> Result<Range, ApiError> {
        if self.window.is_some() && (self.from.is_some() || self.to.is_some()) {
            return Err(bad("window", "give either window or from/to, not both"));
        }
        if let Some(window) = &self.window {
            let span = WINDOWS
                .iter()
                .find(|(name, _)| name == window)
                .map(|(_, span)| *span)
                .or_else(|| {
                    window
                        .parse::<HumanDuration>()
                        .ok()
                        .and_then(|d| i64::try_from(d.0.as_millis()).ok())
                })
                .filter(|span| *span > 0)
                .ok_or_else(|| {
                    bad(
                        "window",
                        format!(
                            "{window:?} is not a window (24h, 7d, 30d, 90d, or a duration like 6h)"
                        ),
                    )
                })?;
            if span > MAX_RANGE_MS {
                return Err(bad(
                    "window",
                    format!("{window:?} is longer than {} days", MAX_RANGE_MS / DAY_MS),
                ));
            }
            return Ok(Range {
                name: window.clone(),
                from_ms: now_ms - span,
                to_ms: now_ms,
            });
        }
        let to_ms = match &self.to {
            Some(to) => parse_time("to", to)?,
            None => now_ms,
        };
        let from_ms = match &self.from {
            Some(from) => parse_time("from", from)?,
            None => to_ms - default.1,
        };
        if from_ms >= to_ms {
            return Err(bad("from", "from must be before to"));
        }
        if from_ms < 0 {
            return Err(bad("from", "from must not be before 1970-01-01"));
        }
        if to_ms - from_ms > MAX_RANGE_MS {
            return Err(bad(
                "from",
                format!("the range is longer than {} days", MAX_RANGE_MS / DAY_MS),
            ));
        }
        let name = if self.from.is_none() && self.to.is_none() {
            default.0.to_string()
        } else {
            "custom".to_string()
        };
        Ok(Range {
            name,
            from_ms,
            to_ms,
        })
    }
}

/// Unix milliseconds as a time for JSON.
pub fn at(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::HOUR_MS;

    #[test]
    fn times_read_in_three_forms_and_errors_name_the_parameter() {
        assert_eq!(parse_time("from", "1970-01-02").unwrap(), DAY_MS);
        assert_eq!(parse_time("from", "1970-01-01T01:00:00Z").unwrap(), HOUR_MS);
        assert_eq!(parse_time("from", "3600").unwrap(), HOUR_MS);
        let err = parse_time("to", "yesterday").unwrap_err();
        assert!(
            matches!(
                err,
                ApiError::BadParameter {
                    parameter: "to",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn ranges_come_from_a_window_or_from_and_to() {
        let now = 100 * DAY_MS;
        let q = RangeQuery {
            window: Some("7d".into()),
            ..Default::default()
        };
        assert_eq!(
            q.resolve(now, WINDOWS[0]).unwrap(),
            Range {
                name: "7d".into(),
                from_ms: now - 7 * DAY_MS,
                to_ms: now
            }
        );
        let q = RangeQuery {
            window: Some("6h".into()),
            ..Default::default()
        };
        assert_eq!(
            q.resolve(now, WINDOWS[0]).unwrap().from_ms,
            now - 6 * HOUR_MS
        );
        let q = RangeQuery::default();
        assert_eq!(q.resolve(now, WINDOWS[0]).unwrap().name, "24h");
        let q = RangeQuery {
            from: Some("1970-01-05".into()),
            to: Some("1970-01-03".into()),
            ..Default::default()
        };
        assert!(matches!(
            q.resolve(now, WINDOWS[0]),
            Err(ApiError::BadParameter {
                parameter: "from",
                ..
            })
        ));
        let q = RangeQuery {
            window: Some("forever".into()),
            ..Default::default()
        };
        assert!(matches!(
            q.resolve(now, WINDOWS[0]),
            Err(ApiError::BadParameter {
                parameter: "window",
                ..
            })
        ));
    }
}
