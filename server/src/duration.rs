//! Human durations as configs and command lines write them: `500ms`,
//! `30s`, `5m`, `1h30m`, `2d`, `1.5s` (humantime's grammar, without spaces
//! inside), or a bare number of seconds in YAML.
//!
//! Every duration is at most [`MAX`], so that adding one to a point in
//! time can't overflow anywhere; fields bound theirs further (an interval
//! is at most a month).

use serde::{de, Deserialize, Deserializer};
use std::{fmt, str::FromStr, time::Duration};

/// Ten years: more than any interval, timeout, grace or retention needs.
pub const MAX: Duration = Duration::from_secs(10 * 365 * 86_400);

/// A duration parsed from config text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HumanDuration(pub Duration);

fn too_long(text: impl fmt::Display) -> String {
    format!("{text} is longer than the 10-year maximum")
}

impl FromStr for HumanDuration {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        let invalid = || format!("invalid duration {text:?} (expected e.g. 500ms, 30s, 5m, 1h30m)");
        // Spaces may separate parts (`1h 30m`, as durations are printed),
        // but not a number from its unit: humantime reads `1 0s` as ten
        // seconds, and a config that says so is more likely a typo.
        let number_then_space = trimmed
            .as_bytes()
            .windows(2)
            .any(|pair| pair[0].is_ascii_digit() && pair[1].is_ascii_whitespace());
        if trimmed.is_empty() || number_then_space {
            return Err(invalid());
        }
        let duration = humantime::parse_duration(trimmed).map_err(|_| invalid())?;
        if duration > MAX {
            return Err(too_long(format!("{text:?}")));
        }
        Ok(HumanDuration(duration))
    }
}

impl fmt::Display for HumanDuration {
    /// `500ms`, `30s`, `1h 30m`, `32d`: the units configs use, largest
    /// first, so the text reads back as the same duration.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ms = self.0.as_millis();
        if ms == 0 {
            return f.write_str("0s");
        }
        let mut first = true;
        for (unit, size) in [
            ("d", 86_400_000),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1_000),
            ("ms", 1),
        ] {
            let count = ms / size;
            if count > 0 {
                if !first {
                    f.write_str(" ")?;
                }
                write!(f, "{count}{unit}")?;
                first = false;
                ms %= size;
            }
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    /// Accepts `30s` and a bare number of seconds (`30`). A visitor rather
    /// than an untagged enum: buffering the value would lose the position
    /// the YAML parser reports errors at.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = HumanDuration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration such as 500ms, 30s, 5m or 1h30m")
            }
            fn visit_u64<E: de::Error>(self, seconds: u64) -> Result<HumanDuration, E> {
                let duration = Duration::from_secs(seconds);
                if duration > MAX {
                    return Err(E::custom(too_long(format!("{seconds}s"))));
                }
                Ok(HumanDuration(duration))
            }
            fn visit_i64<E: de::Error>(self, seconds: i64) -> Result<HumanDuration, E> {
                let seconds = u64::try_from(seconds).map_err(|_| {
                    E::custom(format!("invalid duration {seconds} (must not be negative)"))
                })?;
                self.visit_u64(seconds)
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<HumanDuration, E> {
                text.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_configs_use() {
        let cases = [
            ("500ms", 500),
            ("30s", 30_000),
            ("5m", 300_000),
            ("1h30m", 5_400_000),
            ("2d", 172_800_000),
            (" 10s ", 10_000),
            ("1.5s", 1_500),
            ("1w", 7 * 86_400_000),
        ];
        for (text, millis) in cases {
            assert_eq!(
                text.parse::<HumanDuration>().unwrap().0,
                Duration::from_millis(millis),
                "{text}"
            );
        }
    }

    #[test]
    fn rejects_what_it_cannot_read() {
        for text in [
            "",
            "10",
            "s",
            "10x",
            "1.s",
            "-1s",
            "10 s",
            "1 0s",
            "99999999999999999999d",
            "11y",
            "18446744073709551615s",
        ] {
            assert!(
                text.parse::<HumanDuration>().is_err(),
                "{text:?} should fail"
            );
        }
    }

    #[test]
    fn prints_durations_as_people_write_them() {
        for (millis, text) in [
            (500, "500ms"),
            (30_000, "30s"),
            (5_400_000, "1h 30m"),
            (32 * 86_400_000, "32d"),
            (90_061_001, "1d 1h 1m 1s 1ms"),
        ] {
            let duration = HumanDuration(Duration::from_millis(millis));
            assert_eq!(duration.to_string(), text);
            assert_eq!(text.parse::<HumanDuration>(), Ok(duration), "reads back");
        }
    }
}
