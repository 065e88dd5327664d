//! A serde helper for values written as text in configs (HTTP methods,
//! record types, conditions): parsed inside the visitor, so the YAML
//! parser's position stays on the error.

use serde::{de, Deserializer};
use std::fmt;

/// Deserializes a string through `parse`. Parsing inside the visitor (not
/// after `String::deserialize` returns) keeps the parser's position on the
/// error.
pub fn parse_str<'de, D, T>(
    deserializer: D,
    expecting: &'static str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    struct Visitor<F>(&'static str, F);
    impl<T, F: FnOnce(&str) -> Result<T, String>> de::Visitor<'_> for Visitor<F> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str(self.0)
        }
        fn visit_str<E: de::Error>(self, text: &str) -> Result<T, E> {
            (self.1)(text).map_err(E::custom)
        }
    }
    deserializer.deserialize_str(Visitor(expecting, parse))
}
