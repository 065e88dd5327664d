//! Gatus-style conditions, parsed once at config load and evaluated against
//! every probe result.
//!
//! A condition is `<left> <op> <right>`:
//! - left: a placeholder — `[STATUS]`, `[RESPONSE_TIME]`, `[BODY]` with an
//!   optional path (`[BODY].data.items[0].status`), `[CONNECTED]`, `[IP]`,
//!   `[DNS_RCODE]`, `[CERTIFICATE_EXPIRATION]` — or `len(…)` / `has(…)` of one;
//! - op: `==`, `!=`, `<`, `<=`, `>`, `>=`;
//! - right: a literal (number, duration such as `48h`, `true`, text), or
//!   `pat(glob*)` / `any(a, b, …)` with `==` and `!=`.

use app::model::ConditionOutcome;
use serde::{Deserialize, Deserializer};
use serde_json::Value as Json;
use std::{fmt, str::FromStr, time::Duration};

use crate::config::HumanDuration;

/// A parsed condition; keeps its source text for outcomes and messages.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    text: String,
    left: Operand,
    op: Op,
    right: Expected,
}

#[derive(Clone, Debug, PartialEq)]
enum Operand {
    Value(Placeholder),
    Len(Placeholder),
    Has(Placeholder),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Placeholder {
    Status,
    ResponseTime,
    Body(Vec<PathSegment>),
    Connected,
    Ip,
    DnsRcode,
    CertificateExpiration,
}

#[derive(Clone, Debug, PartialEq)]
pub enum PathSegment {
    Key(String),
    Index(usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Clone, Debug, PartialEq)]
enum Expected {
    Literal(Literal),
    Pattern(String),
    Any(Vec<Literal>),
}

#[derive(Clone, Debug, PartialEq)]
struct Literal {
    text: String,
    /// The literal read as a number: plain numbers as they are, durations in
    /// milliseconds (so `[RESPONSE_TIME] < 1s` and `< 1000` agree).
    number: Option<f64>,
}

impl Literal {
    fn new(text: &str) -> Literal {
        let text = unquote(text.trim()).to_string();
        let number = text.parse::<f64>().ok().or_else(|| {
            text.parse::<HumanDuration>()
                .ok()
                .map(|d| d.0.as_secs_f64() * 1_000.0)
        });
        Literal { text, number }
    }
}

fn unquote(text: &str) -> &str {
    text.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text)
}

/// What a condition is evaluated against: one probe's observations.
#[derive(Debug, Default)]
pub struct Observation<'a> {
    pub status: Option<u16>,
    pub response_time: Duration,
    pub body: Option<&'a [u8]>,
    pub connected: bool,
    pub ip: Option<String>,
    pub dns_rcode: Option<String>,
    pub certificate_expiration: Option<Duration>,
}

/// A placeholder's value in one observation.
#[derive(Debug, PartialEq)]
enum Actual {
    Number(f64),
    Text(String),
    Missing,
}

impl fmt::Display for Actual {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actual::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => write!(f, "{}", *n as i64),
            Actual::Number(n) => write!(f, "{n:.1}"),
            Actual::Text(t) if t.chars().count() > 80 => {
                write!(f, "{:?}…", t.chars().take(80).collect::<String>())
            }
            Actual::Text(t) => write!(f, "{t:?}"),
            Actual::Missing => f.write_str("nothing"),
        }
    }
}

/// A condition's result, with what it saw for the message.
#[derive(Debug)]
pub struct Evaluation {
    pub outcome: ConditionOutcome,
    /// e.g. `[STATUS] == 200 (got 500)` when it failed.
    pub explanation: Option<String>,
}

impl Condition {
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether evaluating needs the response body (so probes can skip it).
    pub fn needs_body(&self) -> bool {
        matches!(
            &self.left,
            Operand::Value(Placeholder::Body(_))
                | Operand::Len(Placeholder::Body(_))
                | Operand::Has(Placeholder::Body(_))
        )
    }

    /// Evaluates against one observation. The body is parsed as JSON at most
    /// once per probe by the caller-provided cache.
    pub fn evaluate(&self, observation: &Observation<'_>, json: &mut BodyJson) -> Evaluation {
        let actual = match &self.left {
            Operand::Value(p) => resolve(p, observation, json),
            Operand::Len(p) => match resolve_json(p, observation, json) {
                Some(Json::Array(a)) => Actual::Number(a.len() as f64),
                Some(Json::Object(o)) => Actual::Number(o.len() as f64),
                Some(Json::String(s)) => Actual::Number(s.chars().count() as f64),
                Some(Json::Null) | None => match p {
                    Placeholder::Body(path) if path.is_empty() => {
                        Actual::Number(observation.body.map_or(0, |b| b.len()) as f64)
                    }
                    _ => Actual::Missing,
                },
                Some(other) => Actual::Number(other.to_string().len() as f64),
            },
            Operand::Has(p) => {
                let present = match p {
                    Placeholder::Body(_) => {
                        resolve_json(p, observation, json).is_some_and(|v| !v.is_null())
                    }
                    other => resolve(other, observation, json) != Actual::Missing,
                };
                Actual::Text(present.to_string())
            }
        };
        let success = match &self.right {
            Expected::Literal(lit) => compare(&actual, self.op, lit),
            Expected::Any(options) => {
                let found = options.iter().any(|lit| compare(&actual, Op::Eq, lit));
                found == (self.op == Op::Eq)
            }
            Expected::Pattern(glob) => {
                let text = match &actual {
                    Actual::Text(t) => t.clone(),
                    Actual::Number(_) => actual.to_string(),
                    Actual::Missing => String::new(),
                };
                glob_match(glob, &text) == (self.op == Op::Eq)
            }
        };
        Evaluation {
            explanation: (!success).then(|| format!("{} (got {actual})", self.text)),
            outcome: ConditionOutcome {
                condition: self.text.clone(),
                success,
            },
        }
    }
}

/// The response body parsed as JSON, lazily and once.
#[derive(Default)]
pub struct BodyJson(Option<Option<Json>>);

impl BodyJson {
    fn get(&mut self, body: Option<&[u8]>) -> Option<&Json> {
        self.0
            .get_or_insert_with(|| body.and_then(|b| serde_json::from_slice(b).ok()))
            .as_ref()
    }
}

fn resolve_json<'j>(
    p: &Placeholder,
    o: &Observation<'_>,
    json: &'j mut BodyJson,
) -> Option<&'j Json> {
    let Placeholder::Body(path) = p else {
        return None;
    };
    let mut node = json.get(o.body)?;
    for segment in path {
        node = match segment {
            PathSegment::Key(k) => node.get(k.as_str())?,
            PathSegment::Index(i) => node.get(*i)?,
        };
    }
    Some(node)
}

fn resolve(p: &Placeholder, o: &Observation<'_>, json: &mut BodyJson) -> Actual {
    match p {
        Placeholder::Status => o
            .status
            .map_or(Actual::Missing, |s| Actual::Number(s.into())),
        Placeholder::ResponseTime => Actual::Number(o.response_time.as_secs_f64() * 1_000.0),
        Placeholder::Connected => Actual::Text(o.connected.to_string()),
        Placeholder::Ip => o.ip.clone().map_or(Actual::Missing, Actual::Text),
        Placeholder::DnsRcode => o.dns_rcode.clone().map_or(Actual::Missing, Actual::Text),
        Placeholder::CertificateExpiration => {
            o.certificate_expiration.map_or(Actual::Missing, |d| {
                Actual::Number(d.as_secs_f64() * 1_000.0)
            })
        }
        Placeholder::Body(path) if path.is_empty() => match o.body {
            Some(b) => Actual::Text(String::from_utf8_lossy(b).trim().to_string()),
            None => Actual::Missing,
        },
        Placeholder::Body(_) => match resolve_json(p, o, json) {
            None => Actual::Missing,
            Some(Json::Number(n)) => n.as_f64().map_or(Actual::Missing, Actual::Number),
            Some(Json::String(s)) => Actual::Text(s.clone()),
            Some(other) => Actual::Text(other.to_string()),
        },
    }
}

fn compare(actual: &Actual, op: Op, expected: &Literal) -> bool {
    let ordering = match (actual, expected.number) {
        (Actual::Number(a), Some(e)) => a.partial_cmp(&e),
        (Actual::Text(a), Some(e)) => a.parse::<f64>().ok().and_then(|a| a.partial_cmp(&e)),
        (Actual::Text(a), None) if matches!(op, Op::Eq | Op::Ne) => {
            Some(a.as_str().cmp(expected.text.as_str()))
        }
        (Actual::Number(_), None) if matches!(op, Op::Eq | Op::Ne) => {
            Some(actual.to_string().as_str().cmp(expected.text.as_str()))
        }
        _ => None,
    };
    let Some(ordering) = ordering else {
        // Missing values and incomparable types only satisfy `!=`.
        return op == Op::Ne;
    };
    use std::cmp::Ordering::*;
    match op {
        Op::Eq => ordering == Equal,
        Op::Ne => ordering != Equal,
        Op::Lt => ordering == Less,
        Op::Le => ordering != Greater,
        Op::Gt => ordering == Greater,
        Op::Ge => ordering != Less,
    }
}

/// `*` matches any run of characters, `?` any one character.
fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

impl FromStr for Condition {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let (left_text, op, right_text) = split_operator(text)?;
        let left =
            parse_operand(left_text.trim()).map_err(|e| format!("condition {text:?}: {e}"))?;
        let right =
            parse_expected(right_text.trim()).map_err(|e| format!("condition {text:?}: {e}"))?;

        let ordering = !matches!(op, Op::Eq | Op::Ne);
        match &right {
            Expected::Pattern(_) | Expected::Any(_) if ordering => {
                return Err(format!(
                    "condition {text:?}: pat() and any() only go with == and !="
                ));
            }
            Expected::Literal(lit) if ordering && lit.number.is_none() => {
                return Err(format!(
                    "condition {text:?}: {:?} is not a number or duration, so it can't be compared with an ordering operator",
                    lit.text
                ));
            }
            _ => {}
        }
        let left_text = left_text.trim();
        let boolean = matches!(
            left,
            Operand::Has(_) | Operand::Value(Placeholder::Connected)
        );
        if boolean {
            let Expected::Literal(lit) = &right else {
                return Err(format!(
                    "condition {text:?}: compare {left_text} with true or false (== or !=)"
                ));
            };
            if ordering || !matches!(lit.text.as_str(), "true" | "false") {
                return Err(format!(
                    "condition {text:?}: compare {left_text} with true or false (== or !=)"
                ));
            }
        }
        Ok(Condition {
            text: text.to_string(),
            left,
            op,
            right,
        })
    }
}

fn split_operator(text: &str) -> Result<(&str, Op, &str), String> {
    let bytes = text.as_bytes();
    let mut depth = 0i32;
    for i in 0..bytes.len() {
        match bytes[i] {
            b'(' | b'[' => depth += 1,
            b')' | b']' => depth -= 1,
            _ if depth > 0 => {}
            b'=' | b'!' | b'<' | b'>' => {
                let two = bytes.get(i + 1) == Some(&b'=');
                let op = match (bytes[i], two) {
                    (b'=', true) => Op::Eq,
                    (b'!', true) => Op::Ne,
                    (b'<', true) => Op::Le,
                    (b'>', true) => Op::Ge,
                    (b'<', false) => Op::Lt,
                    (b'>', false) => Op::Gt,
                    _ => continue,
                };
                let end = if two { i + 2 } else { i + 1 };
                return Ok((&text[..i], op, &text[end..]));
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(format!(
            "condition {text:?} has unbalanced brackets or parentheses"
        ));
    }
    Err(format!(
        "condition {text:?} has no operator (==, !=, <, <=, >, >=)"
    ))
}

fn parse_operand(text: &str) -> Result<Operand, String> {
    if let Some(inner) = call_argument(text, "len") {
        return Ok(Operand::Len(parse_placeholder(inner)?));
    }
    if let Some(inner) = call_argument(text, "has") {
        return Ok(Operand::Has(parse_placeholder(inner)?));
    }
    Ok(Operand::Value(parse_placeholder(text)?))
}

fn call_argument<'t>(text: &'t str, function: &str) -> Option<&'t str> {
    text.strip_prefix(function)?
        .trim_start()
        .strip_prefix('(')?
        .strip_suffix(')')
        .map(str::trim)
}

fn parse_placeholder(text: &str) -> Result<Placeholder, String> {
    let simple = [
        ("[STATUS]", Placeholder::Status),
        ("[RESPONSE_TIME]", Placeholder::ResponseTime),
        ("[CONNECTED]", Placeholder::Connected),
        ("[IP]", Placeholder::Ip),
        ("[DNS_RCODE]", Placeholder::DnsRcode),
        (
            "[CERTIFICATE_EXPIRATION]",
            Placeholder::CertificateExpiration,
        ),
    ];
    if let Some((_, p)) = simple.iter().find(|(name, _)| *name == text) {
        return Ok(p.clone());
    }
    if let Some(path) = text.strip_prefix("[BODY]") {
        return parse_body_path(path).map(Placeholder::Body);
    }
    Err(format!(
        "{text:?} is not a placeholder (expected [STATUS], [RESPONSE_TIME], [BODY], [BODY].path, [CONNECTED], [IP], [DNS_RCODE] or [CERTIFICATE_EXPIRATION])"
    ))
}

fn parse_body_path(mut path: &str) -> Result<Vec<PathSegment>, String> {
    let mut segments = Vec::new();
    while !path.is_empty() {
        if let Some(rest) = path.strip_prefix('.') {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            if end == 0 {
                return Err(format!("empty key in body path at {path:?}"));
            }
            segments.push(PathSegment::Key(rest[..end].to_string()));
            path = &rest[end..];
        } else if let Some(rest) = path.strip_prefix('[') {
            let end = rest
                .find(']')
                .ok_or_else(|| format!("unclosed [ in body path at {path:?}"))?;
            let index = rest[..end]
                .trim()
                .parse()
                .map_err(|_| format!("{:?} is not an array index", &rest[..end]))?;
            segments.push(PathSegment::Index(index));
            path = &rest[end + 1..];
        } else {
            return Err(format!(
                "body path must continue with .key or [index], not {path:?}"
            ));
        }
    }
    Ok(segments)
}

fn parse_expected(text: &str) -> Result<Expected, String> {
    if text.is_empty() {
        return Err("nothing to compare with".into());
    }
    if let Some(inner) = call_argument(text, "pat") {
        return Ok(Expected::Pattern(unquote(inner).to_string()));
    }
    if let Some(inner) = call_argument(text, "any") {
        let options: Vec<Literal> = inner.split(',').map(Literal::new).collect();
        if options.iter().any(|o| o.text.is_empty()) {
            return Err("any() needs values separated by commas".into());
        }
        return Ok(Expected::Any(options));
    }
    Ok(Expected::Literal(Literal::new(text)))
}

impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::config::parse_str(
            deserializer,
            "a condition such as \"[STATUS] == 200\"",
            str::parse,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observation(status: u16, ms: u64, body: &'static str) -> Observation<'static> {
        Observation {
            status: Some(status),
            response_time: Duration::from_millis(ms),
            body: Some(body.as_bytes()),
            connected: true,
            certificate_expiration: Some(Duration::from_secs(72 * 3600)),
            ..Default::default()
        }
    }

    fn holds(condition: &str, o: &Observation<'_>) -> bool {
        let c: Condition = condition.parse().unwrap_or_else(|e| panic!("{e}"));
        c.evaluate(o, &mut BodyJson::default()).outcome.success
    }

    #[test]
    fn evaluates_the_gatus_language() {
        let body = r#"{"status":"UP","data":{"items":[{"status":"ok"},{"status":"bad"}],"count":2},"name":"john-smith","errors":null}"#;
        let o = observation(200, 120, body);
        let table = [
            ("[STATUS] == 200", true),
            ("[STATUS] != 200", false),
            ("[STATUS] < 300", true),
            ("[STATUS] >= 500", false),
            ("[STATUS] == any(200, 201)", true),
            ("[STATUS] == any(500, 503)", false),
            ("[STATUS] != any(500, 503)", true),
            ("[RESPONSE_TIME] < 500", true),
            ("[RESPONSE_TIME] < 100", false),
            ("[RESPONSE_TIME] <= 120", true),
            ("[RESPONSE_TIME] < 1s", true),
            ("[BODY].status == UP", true),
            ("[BODY].status == \"UP\"", true),
            ("[BODY].status == DOWN", false),
            ("[BODY].data.items[0].status == ok", true),
            ("[BODY].data.items[1].status == ok", false),
            ("[BODY].data.count > 1", true),
            ("[BODY].data.missing == x", false),
            ("[BODY].data.missing != x", true),
            ("len([BODY].data.items) == 2", true),
            ("len([BODY].name) == 10", true),
            ("has([BODY].data) == true", true),
            ("has([BODY].errors) == false", true),
            ("has([BODY].nope) == false", true),
            ("[BODY].name == pat(john*)", true),
            ("[BODY].name == pat(*smith)", true),
            ("[BODY].name == pat(j?hn*)", true),
            ("[BODY].name == pat(jane*)", false),
            ("[BODY].name != pat(jane*)", true),
            ("[CONNECTED] == true", true),
            ("[CERTIFICATE_EXPIRATION] > 48h", true),
            ("[CERTIFICATE_EXPIRATION] > 96h", false),
            ("[DNS_RCODE] == NOERROR", false),
        ];
        for (condition, expected) in table {
            assert_eq!(holds(condition, &o), expected, "{condition}");
        }
    }

    #[test]
    fn a_plain_body_compares_as_text() {
        let o = observation(200, 5, "pong\n");
        assert!(holds("[BODY] == pong", &o));
        assert!(holds("len([BODY]) == 5", &o));
        assert!(!holds("[BODY] == ping", &o));
    }

    #[test]
    fn a_failed_connection_fails_everything_but_connected_false() {
        let o = Observation {
            connected: false,
            ..Default::default()
        };
        assert!(!holds("[STATUS] == 200", &o));
        assert!(holds("[CONNECTED] == false", &o));
        assert!(!holds("[BODY].status == UP", &o));
    }

    #[test]
    fn explains_a_failure_with_what_it_saw() {
        let c: Condition = "[STATUS] == 200".parse().unwrap();
        let e = c.evaluate(&observation(503, 1, ""), &mut BodyJson::default());
        assert!(!e.outcome.success);
        assert_eq!(e.explanation.as_deref(), Some("[STATUS] == 200 (got 503)"));
    }

    #[test]
    fn rejects_malformed_conditions_with_the_reason() {
        let table = [
            ("[STATUS] 200", "no operator"),
            ("[STATUSS] == 200", "is not a placeholder"),
            ("STATUS == 200", "is not a placeholder"),
            ("[STATUS] ==", "nothing to compare"),
            ("[STATUS] < pat(2*)", "only go with == and !="),
            ("[RESPONSE_TIME] < fast", "not a number or duration"),
            ("[CONNECTED] == yes", "true or false"),
            ("has([BODY].x) > 1", "true or false"),
            ("[BODY].a..b == 1", "empty key"),
            ("[BODY].a[x] == 1", "not an array index"),
            ("[BODY].a[1 == 1", "unbalanced"),
            ("[BODY]x == 1", "must continue"),
            ("[STATUS] == any(200,,201)", "separated by commas"),
        ];
        for (text, reason) in table {
            let err = text.parse::<Condition>().expect_err(text);
            assert!(err.contains(reason), "{text}: {err}");
        }
    }

    #[test]
    fn knows_when_it_needs_the_body() {
        assert!("[BODY].a == 1".parse::<Condition>().unwrap().needs_body());
        assert!("len([BODY]) > 1".parse::<Condition>().unwrap().needs_body());
        assert!(!"[STATUS] == 200".parse::<Condition>().unwrap().needs_body());
    }
}
