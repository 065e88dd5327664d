//! Kuma's HTTP checks as Hale conditions: the accepted status codes, the
//! keyword (and its inversion) and the JSON query. Each is written out
//! and then parsed by Hale's own condition parser, so a condition that
//! comes out of here is one the config will load; what can't be said
//! exactly comes back as the reason, for the report.

use crate::condition::Condition;
use std::str::FromStr;

/// The tokens Hale splits a condition at: a value holding one would be
/// cut in two.
const OPERATORS: [&str; 6] = [" == ", " != ", " <= ", " >= ", " > ", " < "];

/// `accepted_statuscodes_json` (`["200-299"]`, `["200-299", "301"]`, …)
/// as conditions that all hold exactly when Kuma accepts the code: one
/// range as `>=` and `<=`, several as `any()` of every code they hold.
pub fn status(json: Option<&str>) -> Result<Vec<String>, String> {
    let text = json.unwrap_or(r#"["200-299"]"#);
    let entries: Vec<serde_json::Value> = serde_json::from_str(text)
        .map_err(|_| format!("accepted status codes {text} are not a JSON list"))?;
    let mut ranges = Vec::new();
    for entry in &entries {
        let written = match entry {
            serde_json::Value::String(s) => s.trim().to_string(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => {
                return Err(format!(
                    "accepted status code {entry} is not a code or a range"
                ))
            }
        };
        let (lo, hi) = written.split_once('-').unwrap_or((&written, &written));
        let code = |t: &str| {
            t.trim()
                .parse::<u16>()
                .ok()
                .filter(|c| (100..=999).contains(c))
        };
        match (code(lo), code(hi)) {
            (Some(lo), Some(hi)) if lo <= hi => ranges.push((lo, hi)),
            _ => {
                return Err(format!(
                    "accepted status code {written:?} is not a code or a range"
                ))
            }
        }
    }
    if ranges.is_empty() {
        return Err("no accepted status codes (Kuma failed every check)".into());
    }
    ranges.sort_unstable();
    let mut merged: Vec<(u16, u16)> = Vec::new();
    for (lo, hi) in ranges {
        match merged.last_mut() {
            Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
            _ => merged.push((lo, hi)),
        }
    }
    Ok(match merged[..] {
        [(lo, hi)] if lo == hi => vec![format!("[STATUS] == {lo}")],
        [(lo, hi)] => vec![format!("[STATUS] >= {lo}"), format!("[STATUS] <= {hi}")],
        _ => {
            let codes: Vec<String> = merged
                .iter()
                .flat_map(|&(lo, hi)| lo..=hi)
                .map(|c| c.to_string())
                .collect();
            vec![format!("[STATUS] == any({})", codes.join(", "))]
        }
    })
}

/// Kuma's keyword check (the body holds `keyword`, or with `invert` does
/// not) as a glob over the body.
pub fn keyword(keyword: &str, invert: bool) -> Result<String, String> {
    if keyword.is_empty() {
        return Err("a keyword monitor without a keyword".into());
    }
    if let Some(op) = OPERATORS.iter().find(|op| keyword.contains(*op)) {
        return Err(format!(
            "keyword {keyword:?} holds {:?}, which a Hale condition can't",
            op.trim()
        ));
    }
    let op = if invert { "!=" } else { "==" };
    checked(format!("[BODY] {op} pat(*{}*)", glob_literal(keyword)))
}

/// Kuma's JSON query — a JSONata expression, an operator (`==` in 1.23,
/// which has no operator column) and the expected value — as a condition
/// on a body path, when the expression is a plain path.
pub fn json_query(
    expression: &str,
    operator: Option<&str>,
    expected: Option<&str>,
) -> Result<String, String> {
    let path = body_path(expression).ok_or_else(|| {
        format!("JSON query {expression:?} is more than a path to one value (JSONata)")
    })?;
    let expected = expected.unwrap_or_default();
    if expected.is_empty() || expected.trim() != expected {
        return Err(format!(
            "JSON query {expression:?}: the expected value {expected:?} is blank or has spaces around it"
        ));
    }
    if let Some(op) = OPERATORS.iter().find(|op| expected.contains(*op)) {
        return Err(format!(
            "JSON query {expression:?}: the expected value holds {:?}, which a Hale condition can't",
            op.trim()
        ));
    }
    let operator = operator.map_or("==", str::trim);
    let condition = match operator {
        "==" | "!=" => {
            if !reads_back_as_written(expected) {
                return Err(format!(
                    "JSON query {expression:?}: Hale prints JSON numbers as Gatus does, and {expected} would not read back as written"
                ));
            }
            format!("{path} {operator} {}", literal(expected))
        }
        "<" | "<=" | ">" | ">=" => {
            if expected.parse::<i64>().is_err() {
                return Err(format!(
                    "JSON query {expression:?} {operator} {expected}: Hale orders whole numbers only"
                ));
            }
            format!("{path} {operator} {expected}")
        }
        "contains" => format!("{path} == pat(*{}*)", glob_literal(expected)),
        other => return Err(format!("JSON query operator {other:?} is unknown")),
    };
    checked(condition)
}

/// `[BODY].a.b[0]` for a JSONata path such as `a.b[0]` or `$.a.b[0]`;
/// `None` for anything more (filters, functions, wildcards, arithmetic).
fn body_path(expression: &str) -> Option<String> {
    let trimmed = expression.trim();
    let rest = trimmed
        .strip_prefix("$.")
        .or_else(|| trimmed.strip_prefix('$'))
        .unwrap_or(trimmed);
    if rest.is_empty() {
        return Some("[BODY]".into());
    }
    let mut path = String::from("[BODY]");
    for step in rest.split('.') {
        let (key, mut indexes) = step.split_at(step.find('[').unwrap_or(step.len()));
        let key = key
            .strip_prefix('`')
            .and_then(|k| k.strip_suffix('`'))
            .unwrap_or(key);
        let plain_key = !key.is_empty()
            && !key.starts_with(|c: char| c.is_ascii_digit())
            && key
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '-');
        if !plain_key {
            return None;
        }
        path.push('.');
        path.push_str(key);
        while let Some(inside) = indexes.strip_prefix('[') {
            let (index, after) = inside.split_once(']')?;
            index.trim().parse::<usize>().ok()?;
            path.push_str(&format!("[{}]", index.trim()));
            indexes = after;
        }
        if !indexes.is_empty() {
            return None;
        }
    }
    Some(path)
}

/// A value Hale compares as written: quoted when it would otherwise read
/// as a placeholder or a function.
fn literal(value: &str) -> String {
    let special = value.starts_with(['[', '"'])
        || ["pat(", "any(", "len(", "has("]
            .iter()
            .any(|f| value.to_ascii_lowercase().starts_with(f));
    if special {
        format!("\"{value}\"")
    } else {
        value.to_string()
    }
}

/// Whether a number Kuma compares as JavaScript prints it reads the
/// same through Hale, which prints JSON numbers as Go does (`1e+06`).
fn reads_back_as_written(expected: &str) -> bool {
    let Ok(number) = expected.parse::<f64>() else {
        return true;
    };
    if number == 0.0 {
        return expected == "0";
    }
    (1e-4..1e6).contains(&number.abs()) && format!("{number}") == expected
}

/// `text` matched literally by Hale's globs.
fn glob_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn checked(condition: String) -> Result<String, String> {
    Condition::from_str(&condition).map(|_| condition)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::condition::{BodyJson, Observation};

    fn holds(condition: &str, status: Option<u16>, body: &str) -> bool {
        let condition = Condition::from_str(condition).unwrap();
        let observation = Observation {
            status,
            body: Some(body.as_bytes().to_vec()),
            connected: true,
            ..Observation::default()
        };
        condition
            .evaluate(&observation, &mut BodyJson::default())
            .outcome
            .success
    }

    #[test]
    fn accepted_status_codes_become_conditions() {
        let cases: &[(Option<&str>, &[&str])] = &[
            (None, &["[STATUS] >= 200", "[STATUS] <= 299"]),
            (
                Some(r#"["200-299"]"#),
                &["[STATUS] >= 200", "[STATUS] <= 299"],
            ),
            (Some(r#"["418"]"#), &["[STATUS] == 418"]),
            (
                Some(r#"["200-299","300-399"]"#),
                &["[STATUS] >= 200", "[STATUS] <= 399"],
            ),
            (
                Some(r#"["201","200"]"#),
                &["[STATUS] >= 200", "[STATUS] <= 201"],
            ),
            (Some(r#"["200","204"]"#), &["[STATUS] == any(200, 204)"]),
        ];
        for (json, expected) in cases {
            assert_eq!(status(*json).unwrap(), *expected, "{json:?}");
        }
        let union = status(Some(r#"["200-202","301"]"#)).unwrap();
        assert_eq!(union, ["[STATUS] == any(200, 201, 202, 301)"]);
        for (code, accepted) in [
            (200, true),
            (202, true),
            (203, false),
            (301, true),
            (404, false),
        ] {
            assert_eq!(holds(&union[0], Some(code), ""), accepted, "{code}");
        }
        for bad in [r#"["2xx"]"#, r#"["299-200"]"#, "[]", "200", r#"[{"a":1}]"#] {
            assert!(status(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn keywords_match_literally_inverted_or_not() {
        let found = keyword("All good", false).unwrap();
        assert_eq!(found, "[BODY] == pat(*All good*)");
        assert!(holds(&found, Some(200), "<p>All good here</p>"));
        assert!(!holds(&found, Some(200), "all good"));
        let absent = keyword("error", true).unwrap();
        assert_eq!(absent, "[BODY] != pat(*error*)");
        assert!(holds(&absent, Some(200), "fine"));
        assert!(!holds(&absent, Some(200), "an error"));
        // Glob characters are matched as themselves.
        let star = keyword("a*b?[c]", false).unwrap();
        assert!(holds(&star, Some(200), "x a*b?[c] y"));
        assert!(!holds(&star, Some(200), "aXXbYc"));
        assert!(keyword("a == b", false).is_err());
        assert!(keyword("", false).is_err());
    }

    #[test]
    fn json_queries_that_are_paths_become_body_conditions() {
        let body = r#"{"status":"ok","data":{"items":[{"n":3}],"ready":true},"v":1.5}"#;
        let cases = [
            ("status", None, "ok", "[BODY].status == ok", true),
            (
                "$.status",
                Some("!="),
                "down",
                "[BODY].status != down",
                true,
            ),
            (
                "data.items[0].n",
                Some(">="),
                "3",
                "[BODY].data.items[0].n >= 3",
                true,
            ),
            (
                "data.items[0].n",
                Some("<"),
                "3",
                "[BODY].data.items[0].n < 3",
                false,
            ),
            (
                "data.ready",
                Some("=="),
                "true",
                "[BODY].data.ready == true",
                true,
            ),
            ("v", None, "1.5", "[BODY].v == 1.5", true),
            (
                "status",
                Some("contains"),
                "o",
                "[BODY].status == pat(*o*)",
                true,
            ),
            (
                "$",
                Some("contains"),
                "ready",
                "[BODY] == pat(*ready*)",
                true,
            ),
            ("status", None, "[x]", "[BODY].status == \"[x]\"", false),
        ];
        for (path, op, expected, condition, verdict) in cases {
            assert_eq!(json_query(path, op, Some(expected)).unwrap(), condition);
            assert_eq!(holds(condition, Some(200), body), verdict, "{condition}");
        }
        for (path, op, expected) in [
            ("$count(items)", None, "1"),
            ("items[type='a'].n", None, "1"),
            ("a.b", Some("<"), "1.5"),
            ("a", None, "1000000"),
            ("a", None, " x"),
            ("a", None, ""),
            ("a", Some("~"), "x"),
        ] {
            assert!(
                json_query(path, op, Some(expected)).is_err(),
                "{path} {op:?} {expected}"
            );
        }
    }
}
