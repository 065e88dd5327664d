//! Human durations as configs write them: `500ms`, `30s`, `5m`, `1h30m`, `2d`.

use serde::{de, Deserialize, Deserializer};
use std::{fmt, str::FromStr, time::Duration};

/// A duration parsed from config text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct HumanDuration(pub Duration);

impl FromStr for HumanDuration {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        let invalid = || format!("invalid duration {text:?} (expected e.g. 500ms, 30s, 5m, 1h30m)");
        if trimmed.is_empty() {
            return Err(invalid());
        }
        let mut total = Duration::ZERO;
        let mut rest = trimmed;
        while !rest.is_empty() {
            let digits = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            if digits == 0 {
                return Err(invalid());
            }
            let value: u64 = rest[..digits].parse().map_err(|_| invalid())?;
            rest = &rest[digits..];
            let unit_len = rest
                .find(|c: char| c.is_ascii_digit())
                .unwrap_or(rest.len());
            let millis_per_unit: u64 = match &rest[..unit_len] {
                "ms" => 1,
                "s" => 1_000,
                "m" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                _ => return Err(invalid()),
            };
            rest = &rest[unit_len..];
            let millis = value.checked_mul(millis_per_unit).ok_or_else(invalid)?;
            total = total
                .checked_add(Duration::from_millis(millis))
                .ok_or_else(invalid)?;
        }
        Ok(HumanDuration(total))
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if !ms.is_multiple_of(1_000) {
            write!(f, "{ms}ms")
        } else {
            write!(f, "{}s", ms / 1_000)
        }
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    /// Accepts `30s` and a bare number of seconds (`30`). A visitor rather
    /// than an untagged enum: buffering the value would lose the position
    /// serde_yaml reports errors at.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = HumanDuration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration such as 500ms, 30s, 5m or 1h30m")
            }
            fn visit_u64<E: de::Error>(self, seconds: u64) -> Result<HumanDuration, E> {
                Ok(HumanDuration(Duration::from_secs(seconds)))
            }
            fn visit_i64<E: de::Error>(self, seconds: i64) -> Result<HumanDuration, E> {
                u64::try_from(seconds)
                    .map(|s| HumanDuration(Duration::from_secs(s)))
                    .map_err(|_| {
                        E::custom(format!("invalid duration {seconds} (must not be negative)"))
                    })
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
            "1.5s",
            "-1s",
            "10 s",
            "99999999999999999999d",
        ] {
            assert!(
                text.parse::<HumanDuration>().is_err(),
                "{text:?} should fail"
            );
        }
    }
}
