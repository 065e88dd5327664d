//! Gatus-style conditions, parsed once at config load and evaluated against
//! every probe result.
//!
//! A condition means here what it means in Gatus (`config/endpoint/
//! condition.go` and `placeholder.go`): Gatus's own test table passes row
//! for row (see the tests), so a config brought over from Gatus keeps its
//! verdicts. In short:
//!
//! - The operator is `==`, `!=`, `<=`, `>=`, `>` or `<` with a space on each
//!   side, looked for in that order in the whole text: `[BODY].msg == a < b`
//!   compares the message with `a < b`. Without one the condition is refused.
//! - Each side is a placeholder — `[STATUS]`, `[RESPONSE_TIME]`, `[BODY]`
//!   with an optional path (`[BODY].data.items[0].status`), `[CONNECTED]`,
//!   `[IP]`, `[DNS_RCODE]`, `[CERTIFICATE_EXPIRATION]`,
//!   `[DOMAIN_EXPIRATION]`, in any case — perhaps inside `len(…)` or
//!   `has(…)`; or `pat(glob)` / `any(a, b, …)`; or text taken as written.
//! - A placeholder resolves to text, as in Gatus. What was not observed is
//!   Go's zero value (no response is status `0`, no certificate `0`), and a
//!   body path that leads nowhere is `<path> (INVALID)`, which equals
//!   nothing and orders as 0. JSON numbers print as Go prints a float64
//!   (`1e+06`), arrays as `[a b c]`, objects as sorted compact JSON.
//! - `==`/`!=`: `pat()`/`any()` on either side; otherwise two integers in
//!   Go syntax (`0x1F`, `0o17`, `0b101`, `017`, `1_000`) compare as
//!   integers, anything else as exact text.
//! - `<`, `<=`, `>`, `>=`: each side becomes an integer: a Go duration in
//!   milliseconds (`1s`, `1.5s`, `48h`), else a Go integer, else a float
//!   truncated toward zero, else 0 — so `[RESPONSE_TIME] < potato` is valid
//!   and false.
//!
//! Hale departs from Gatus only where Gatus would run a condition that can
//! only be a mistake, or where Hale reads more than Gatus does:
//!
//! - Refused at load, with the fix: an uppercase `[NAME]` that is no
//!   placeholder (`[STATUSS]`), a placeholder without brackets in a condition
//!   that has none (`STATUS == 200`), `[CONTEXT]` (Gatus suites only), a
//!   malformed body path, `len()`/`has()` of anything but a placeholder,
//!   `has()`/`[CONNECTED]` compared with anything but `true`/`false` by
//!   `==`/`!=`, `pat()`/`any()` with an ordering operator, an empty `any()`
//!   option, and the same operator twice (Gatus silently drops the rest).
//! - Accepted beyond Gatus: a literal in double quotes also equals its text
//!   without them (`[BODY].status == "UP"`), written durations may use Hale's
//!   units such as days (`[CERTIFICATE_EXPIRATION] > 14d`), and `len ( x )`
//!   may have spaces. `pat()`/`any()` count only where written, not when a
//!   body value happens to spell one.
//! - `[DOMAIN_EXPIRATION]` is accepted but always 0: Hale looks up no WHOIS.

use serde::{Deserialize, Deserializer};
use serde_json::Value as Json;
use std::{str::FromStr, time::Duration};
use wire::ConditionOutcome;

use crate::duration::HumanDuration;

/// A parsed condition; keeps its source text for outcomes and messages.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    text: String,
    left: Side,
    op: Op,
    right: Side,
}

/// One side of a condition, with its text as written (trimmed), which is
/// what Gatus compares when the side is not a placeholder.
#[derive(Clone, Debug, PartialEq)]
struct Side {
    text: String,
    term: Term,
}

#[derive(Clone, Debug, PartialEq)]
enum Term {
    Placeholder(Function, Placeholder),
    /// `pat(…)`: the glob inside.
    Pattern(String),
    /// `any(…)`: the comma-separated options inside.
    Any(String),
    Literal,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Function {
    Value,
    Len,
    Has,
}

#[derive(Clone, Debug, PartialEq)]
enum Placeholder {
    Field(Field),
    /// `[BODY]` itself when the path is empty.
    Body(Vec<Step>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Status,
    ResponseTime,
    Connected,
    Ip,
    DnsRcode,
    CertificateExpiration,
    /// Hale looks up no WHOIS, so this is always Gatus's zero value, 0.
    DomainExpiration,
}

const FIELDS: [(&str, Field); 7] = [
    ("[STATUS]", Field::Status),
    ("[RESPONSE_TIME]", Field::ResponseTime),
    ("[CONNECTED]", Field::Connected),
    ("[IP]", Field::Ip),
    ("[DNS_RCODE]", Field::DnsRcode),
    ("[CERTIFICATE_EXPIRATION]", Field::CertificateExpiration),
    ("[DOMAIN_EXPIRATION]", Field::DomainExpiration),
];

const PLACEHOLDERS: &str = "[STATUS], [RESPONSE_TIME], [BODY], [BODY].path, [CONNECTED], [IP], [DNS_RCODE], [CERTIFICATE_EXPIRATION] or [DOMAIN_EXPIRATION]";

/// One dot-separated key of a body path, as Gatus walks it: `items[0][1]`
/// is the key `items` then two indexes; a path may start with bare indexes
/// (`[BODY][0].id`).
#[derive(Clone, Debug, PartialEq)]
struct Step {
    key: Option<String>,
    indices: Vec<usize>,
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

/// Gatus's search order: the first token found anywhere wins.
const OPERATORS: [(&str, Op); 6] = [
    (" == ", Op::Eq),
    (" != ", Op::Ne),
    (" <= ", Op::Le),
    (" >= ", Op::Ge),
    (" > ", Op::Gt),
    (" < ", Op::Lt),
];

impl Op {
    fn orders(self) -> bool {
        !matches!(self, Op::Eq | Op::Ne)
    }
}

/// What a condition is evaluated against: one probe's observations.
#[derive(Debug, Default)]
pub struct Observation {
    pub status: Option<u16>,
    pub response_time: Duration,
    pub body: Option<Vec<u8>>,
    pub connected: bool,
    pub ip: Option<String>,
    pub dns_rcode: Option<String>,
    pub certificate_expiration: Option<Duration>,
}

/// A condition's result, with what it saw for the message.
#[derive(Debug)]
pub struct Evaluation {
    pub outcome: ConditionOutcome,
    /// e.g. `[STATUS] == 200 (got 500)` when it failed.
    pub explanation: Option<String>,
}

/// One side's value: text, as Gatus compares it.
struct Resolved {
    text: String,
    /// Stands for something not observed (no response, a body path that
    /// leads nowhere), so explanations say "nothing" rather than `0`.
    missing: bool,
}

impl Resolved {
    fn seen(text: String) -> Resolved {
        Resolved {
            text,
            missing: false,
        }
    }

    /// Numbers bare, text quoted, long text cut.
    fn shown(&self) -> String {
        if self.missing {
            return "nothing".into();
        }
        let text = &self.text;
        if go_int(text).is_some() || go_float(text).is_some() {
            return text.clone();
        }
        if text.chars().count() > 80 {
            return format!("{:?}…", text.chars().take(80).collect::<String>());
        }
        format!("{text:?}")
    }
}

impl Condition {
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether evaluating needs the response body (so probes can skip it).
    pub fn needs_body(&self) -> bool {
        self.sides()
            .any(|s| matches!(s.term, Term::Placeholder(_, Placeholder::Body(_))))
    }

    /// Whether the condition looks at `[CONNECTED]`, so that a probe that
    /// could not connect still judges it (`[CONNECTED] == false` holds on a
    /// closed port, as in Gatus) instead of failing outright.
    pub fn mentions_connected(&self) -> bool {
        self.sides().any(|s| {
            matches!(
                s.term,
                Term::Placeholder(_, Placeholder::Field(Field::Connected))
            )
        })
    }

    fn sides(&self) -> impl Iterator<Item = &Side> {
        [&self.left, &self.right].into_iter()
    }

    /// Evaluates against one observation. The body is parsed as JSON at most
    /// once per probe by the caller-provided cache.
    pub fn evaluate(&self, observation: &Observation, json: &mut BodyJson) -> Evaluation {
        let left = self.left.resolve(observation, json);
        let right = self.right.resolve(observation, json);
        let success = match self.op {
            Op::Eq => self.equal(&left, &right),
            Op::Ne => !self.equal(&left, &right),
            op => {
                let a = self.left.ordinal(&left).unwrap_or(0);
                let b = self.right.ordinal(&right).unwrap_or(0);
                match op {
                    Op::Lt => a < b,
                    Op::Le => a <= b,
                    Op::Gt => a > b,
                    _ => a >= b,
                }
            }
        };
        Evaluation {
            explanation: (!success).then(|| self.explain(&left, &right)),
            outcome: ConditionOutcome {
                condition: self.text.clone(),
                success,
            },
        }
    }

    /// Gatus's `isEqual`, with `pat()`/`any()` taken from what was written.
    fn equal(&self, left: &Resolved, right: &Resolved) -> bool {
        match (&self.left.term, &self.right.term) {
            // Both wrapped: Gatus strips the wrappers and compares the rest.
            (Term::Pattern(a), Term::Pattern(b)) | (Term::Any(a), Term::Any(b)) => same(a, b),
            (Term::Pattern(glob), _) => glob_matches(glob, &right.text),
            (_, Term::Pattern(glob)) => glob_matches(glob, &left.text),
            (Term::Any(options), _) => any_matches(options, &right.text),
            (_, Term::Any(options)) => any_matches(options, &left.text),
            _ => {
                same(&left.text, &right.text)
                    || self.left.unquoted_equals(&right.text)
                    || self.right.unquoted_equals(&left.text)
            }
        }
    }

    /// `[STATUS] == 200 (got 503)`: what each placeholder held, and which
    /// written values an ordering counted as 0.
    fn explain(&self, left: &Resolved, right: &Resolved) -> String {
        let mut got = Vec::new();
        let mut notes = Vec::new();
        for (side, value) in [(&self.left, left), (&self.right, right)] {
            let zero = self.op.orders() && side.ordinal(value).is_none();
            match side.term {
                Term::Placeholder(..) if zero => {
                    got.push(format!("{}, which counts as 0", value.shown()))
                }
                Term::Placeholder(..) => got.push(value.shown()),
                _ if zero => notes.push(format!(
                    "{:?} is not a number or duration, so it counts as 0",
                    side.text
                )),
                _ => {}
            }
        }
        let mut parts = vec![if got.is_empty() {
            "no placeholder, so it never holds".to_string()
        } else {
            format!("got {}", got.join(" and "))
        }];
        parts.extend(notes);
        format!("{} ({})", self.text, parts.join("; "))
    }
}

impl Side {
    fn resolve(&self, o: &Observation, json: &mut BodyJson) -> Resolved {
        match &self.term {
            Term::Placeholder(function, Placeholder::Field(field)) => {
                resolve_field(*function, *field, o)
            }
            Term::Placeholder(function, Placeholder::Body(path)) => {
                resolve_body(*function, path, &self.text, o, json)
            }
            _ => Resolved::seen(self.text.clone()),
        }
    }

    /// The integer an ordering operator compares; `None` counts as 0.
    fn ordinal(&self, value: &Resolved) -> Option<i64> {
        go_ordinal(&value.text).or_else(|| match self.term {
            Term::Literal => hale_ordinal(&self.text),
            _ => None,
        })
    }

    /// Hale's quotes: a written `"UP"` also equals `UP`.
    fn unquoted_equals(&self, other: &str) -> bool {
        self.term == Term::Literal && unquote(&self.text).is_some_and(|bare| same(bare, other))
    }

    fn is_boolean(&self) -> bool {
        matches!(
            self.term,
            Term::Placeholder(Function::Has, _)
                | Term::Placeholder(Function::Value, Placeholder::Field(Field::Connected))
        )
    }

    fn is_boolean_literal(&self) -> bool {
        let bare = unquote(&self.text).unwrap_or(&self.text);
        self.term == Term::Literal && matches!(bare, "true" | "false")
    }

    fn is_placeholder(&self) -> bool {
        matches!(self.term, Term::Placeholder(..))
    }
}

fn resolve_field(function: Function, field: Field, o: &Observation) -> Resolved {
    let millis = |d: Duration| d.as_millis().to_string();
    let (text, missing) = match field {
        Field::Status => o
            .status
            .map_or(("0".into(), true), |s| (s.to_string(), false)),
        Field::ResponseTime => (millis(o.response_time), false),
        Field::Connected => (o.connected.to_string(), false),
        Field::Ip => o.ip.clone().map_or((String::new(), true), |ip| (ip, false)),
        Field::DnsRcode => o
            .dns_rcode
            .clone()
            .map_or((String::new(), true), |code| (code, false)),
        Field::CertificateExpiration => o
            .certificate_expiration
            .map_or(("0".into(), true), |d| (millis(d), false)),
        Field::DomainExpiration => ("0".into(), true),
    };
    match function {
        Function::Value => Resolved { text, missing },
        Function::Len => Resolved::seen(text.len().to_string()),
        Function::Has => Resolved::seen((!text.is_empty()).to_string()),
    }
}

fn resolve_body(
    function: Function,
    path: &[Step],
    written: &str,
    o: &Observation,
    json: &mut BodyJson,
) -> Resolved {
    let raw = o.body.as_deref().unwrap_or_default();
    if path.is_empty() {
        let trimmed = String::from_utf8_lossy(raw).trim().to_string();
        return match function {
            Function::Value => Resolved {
                text: trimmed,
                missing: o.body.is_none(),
            },
            Function::Has => Resolved::seen((!trimmed.is_empty()).to_string()),
            Function::Len => Resolved::seen(body_len(raw, trimmed.len(), json).to_string()),
        };
    }
    match json.get(raw).and_then(|root| walk(path, root)) {
        Some(found) => Resolved::seen(match function {
            Function::Value => found.text,
            Function::Len => found.len.to_string(),
            Function::Has => "true".into(),
        }),
        None if function == Function::Has => Resolved::seen("false".into()),
        None => Resolved {
            text: format!("{written} (INVALID)"),
            missing: true,
        },
    }
}

/// `len([BODY])`: an array's elements when the raw body is one, otherwise
/// the raw body's bytes — even for a JSON object, as in Gatus.
fn body_len(raw: &[u8], trimmed_len: usize, json: &mut BodyJson) -> usize {
    if raw.first() != Some(&b'[') || raw.last() != Some(&b']') {
        return raw.len();
    }
    match json.get(raw) {
        Some(Json::Array(items)) => items.len(),
        _ => trimmed_len,
    }
}

/// The response body parsed as JSON, lazily and once.
#[derive(Default)]
pub struct BodyJson(Option<Option<Json>>);

impl BodyJson {
    fn get(&mut self, body: &[u8]) -> Option<&Json> {
        self.0
            .get_or_insert_with(|| serde_json::from_slice(body).ok())
            .as_ref()
    }
}

/// What a body path found: its text and what `len()` says of it.
struct Found {
    text: String,
    len: usize,
}

impl Found {
    fn bytes(text: String) -> Found {
        Found {
            len: text.len(),
            text,
        }
    }
}

/// Gatus's `jsonpath.walk`: `None` where Gatus reports an error (a missing
/// key, `null`, an index out of range, a key below a string).
fn walk(path: &[Step], root: &Json) -> Option<Found> {
    let mut node = root;
    for (i, step) in path.iter().enumerate() {
        let last = i + 1 == path.len();
        let value = step.extract(node)?;
        match value {
            Json::Object(_) if !last => node = value,
            Json::Object(_) => return Some(Found::bytes(go_json(value))),
            Json::String(s) => return last.then(|| Found::bytes(s.clone())),
            // Gatus stops at an array or a scalar and ignores any keys left.
            Json::Array(items) => {
                return Some(Found {
                    text: go_print(value),
                    len: items.len(),
                })
            }
            Json::Null => return None,
            scalar => return Some(Found::bytes(go_print(scalar))),
        }
    }
    None
}

impl Step {
    /// Gatus's `extractValue`; `None` is Go's `nil`, which JSON `null` is too.
    fn extract<'j>(&self, value: &'j Json) -> Option<&'j Json> {
        let found = match (&self.key, self.indices.is_empty()) {
            // A plain key: arrays and scalars come back whole, as in Gatus.
            (Some(key), true) => match value {
                Json::Object(map) => map.get(key)?,
                other => other,
            },
            // Gatus panics on a key below anything but an object; Hale
            // finds nothing there.
            (Some(key), false) => value.as_object()?.get(key)?,
            (None, _) => value,
        };
        let found = self
            .indices
            .iter()
            .try_fold(found, |node, &i| node.as_array()?.get(i))?;
        (!found.is_null()).then_some(found)
    }
}

/// Go's `fmt.Sprint` of what `encoding/json` decodes into `interface{}`.
fn go_print(value: &Json) -> String {
    match value {
        Json::Null => "<nil>".into(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => go_float_text(n.as_f64().unwrap_or(f64::NAN)),
        Json::String(s) => s.clone(),
        Json::Array(items) => {
            let items: Vec<String> = items.iter().map(go_print).collect();
            format!("[{}]", items.join(" "))
        }
        Json::Object(map) => {
            let entries: Vec<String> = sorted(map)
                .into_iter()
                .map(|(k, v)| format!("{k}:{}", go_print(v)))
                .collect();
            format!("map[{}]", entries.join(" "))
        }
    }
}

/// Go sorts map keys when printing or marshalling; serde_json may keep
/// insertion order if a dependency turns on `preserve_order`.
fn sorted(map: &serde_json::Map<String, Json>) -> Vec<(&String, &Json)> {
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

/// Go's `json.Marshal` of a decoded value: compact, sorted keys, HTML
/// characters escaped.
fn go_json(value: &Json) -> String {
    match value {
        Json::Null => "null".into(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => go_json_number(n.as_f64().unwrap_or(f64::NAN)),
        Json::String(s) => go_json_string(s),
        Json::Array(items) => {
            let items: Vec<String> = items.iter().map(go_json).collect();
            format!("[{}]", items.join(","))
        }
        Json::Object(map) => {
            let entries: Vec<String> = sorted(map)
                .into_iter()
                .map(|(k, v)| format!("{}:{}", go_json_string(k), go_json(v)))
                .collect();
            format!("{{{}}}", entries.join(","))
        }
    }
}

fn go_json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)))
            }
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The shortest digits that round-trip `f` (positive, finite, non-zero)
/// and the decimal exponent of the first one.
fn shortest_digits(f: f64) -> (String, i32) {
    let text = format!("{f:e}");
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    (mantissa.replace('.', ""), exponent.parse().unwrap_or(0))
}

/// The digits with the decimal point after `exponent + 1` of them.
fn fixed_notation(digits: &str, exponent: i32) -> String {
    let point = exponent + 1;
    match usize::try_from(point) {
        Err(_) | Ok(0) => format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize)),
        Ok(p) if p >= digits.len() => format!("{digits}{}", "0".repeat(p - digits.len())),
        Ok(p) => format!("{}.{}", &digits[..p], &digits[p..]),
    }
}

fn exponent_notation(digits: &str, exponent: i32, width: usize) -> String {
    let (first, rest) = digits.split_at(1);
    let dot = if rest.is_empty() { "" } else { "." };
    let sign = if exponent < 0 { '-' } else { '+' };
    let magnitude = exponent.unsigned_abs();
    format!("{first}{dot}{rest}e{sign}{magnitude:0width$}")
}

/// Go's `%v` of a float64 (`strconv.FormatFloat(f, 'g', -1, 64)`):
/// `18`, `1.5`, `1e+06`, `1e-05`.
fn go_float_text(f: f64) -> String {
    go_float_with(f, |digits, exponent| {
        if !(-4..6).contains(&exponent) {
            exponent_notation(digits, exponent, 2)
        } else {
            fixed_notation(digits, exponent)
        }
    })
}

/// A float64 as `encoding/json` writes it: exponents only below 1e-6 and
/// from 1e21, written `1e-7` and `1e+21`.
fn go_json_number(f: f64) -> String {
    go_float_with(f, |digits, exponent| {
        if (-6..21).contains(&exponent) {
            fixed_notation(digits, exponent)
        } else {
            exponent_notation(digits, exponent, 1 + usize::from(exponent > 0))
        }
    })
}

fn go_float_with(f: f64, layout: impl Fn(&str, i32) -> String) -> String {
    let sign = if f.is_sign_negative() { "-" } else { "" };
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return format!("{}Inf", if f < 0.0 { '-' } else { '+' });
    }
    if f == 0.0 {
        return format!("{sign}0");
    }
    let (digits, exponent) = shortest_digits(f.abs());
    format!("{sign}{}", layout(&digits, exponent))
}

/// Gatus's `isEqual` after `pat()`/`any()`: as integers when both are Go
/// integers, otherwise as exact text.
fn same(a: &str, b: &str) -> bool {
    match (go_int(a), go_int(b)) {
        (Some(a), Some(b)) => a == b,
        _ => a == b,
    }
}

/// Options are trimmed and compared as exact text, as in Gatus: `any(200)`
/// matches `200` but not `0xC8`.
fn any_matches(options: &str, value: &str) -> bool {
    options
        .split(',')
        .map(str::trim)
        .any(|option| option == value || unquote(option) == Some(value))
}

fn unquote(text: &str) -> Option<&str> {
    text.strip_prefix('"')?.strip_suffix('"')
}

/// Gatus's `pattern.Match`: `*` alone matches anything; otherwise Go's
/// `filepath.Match` with every `/` taken out of both sides, so `*` spans
/// slashes too. A malformed pattern matches nothing.
fn glob_matches(glob: &str, text: &str) -> bool {
    if glob == "*" {
        return true;
    }
    let strip = |s: &str| s.chars().filter(|c| *c != '/').collect::<Vec<char>>();
    let text = strip(text);
    let matches = |glob: &str| go_match(&strip(glob), &text).unwrap_or(false);
    matches(glob) || unquote(glob).is_some_and(matches)
}

/// Go's `filepath.Match` for a name without separators; `None` for a
/// malformed pattern.
fn go_match(mut pattern: &[char], mut name: &[char]) -> Option<bool> {
    'chunks: while !pattern.is_empty() {
        let (star, chunk, rest) = scan_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            return Some(true);
        }
        let (after, ok) = match_chunk(chunk, name)?;
        // The last chunk must use up the name, or a star may still do it.
        if ok && (after.is_empty() || !pattern.is_empty()) {
            name = after;
            continue;
        }
        if star {
            for i in 0..name.len() {
                let (after, ok) = match_chunk(chunk, &name[i + 1..])?;
                if ok && (after.is_empty() || !pattern.is_empty()) {
                    name = after;
                    continue 'chunks;
                }
            }
        }
        return Some(false);
    }
    Some(name.is_empty())
}

/// Splits off leading stars and the chunk up to the next star outside a
/// character class.
fn scan_chunk(pattern: &[char]) -> (bool, &[char], &[char]) {
    let stars = pattern.iter().take_while(|c| **c == '*').count();
    let pattern = &pattern[stars..];
    let (mut i, mut in_class) = (0, false);
    while i < pattern.len() {
        match pattern[i] {
            '\\' if i + 1 < pattern.len() => i += 1,
            '[' => in_class = true,
            ']' => in_class = false,
            '*' if !in_class => break,
            _ => {}
        }
        i += 1;
    }
    (stars > 0, &pattern[..i], &pattern[i..])
}

/// Matches a star-free chunk at the start of `s`: what is left of `s` and
/// whether it matched; `None` for a malformed chunk.
fn match_chunk<'s>(mut chunk: &[char], mut s: &'s [char]) -> Option<(&'s [char], bool)> {
    let mut failed = false;
    while let Some(&c) = chunk.first() {
        failed |= s.is_empty();
        match c {
            '[' => {
                let r = (!failed).then(|| s[0]);
                if !failed {
                    s = &s[1..];
                }
                chunk = &chunk[1..];
                let negated = chunk.first() == Some(&'^');
                if negated {
                    chunk = &chunk[1..];
                }
                let (mut matched, mut ranges) = (false, 0);
                loop {
                    if chunk.first() == Some(&']') && ranges > 0 {
                        chunk = &chunk[1..];
                        break;
                    }
                    let (lo, rest) = class_char(chunk)?;
                    chunk = rest;
                    let mut hi = lo;
                    if chunk.first() == Some(&'-') {
                        (hi, chunk) = class_char(&chunk[1..])?;
                    }
                    matched |= r.is_some_and(|r| lo <= r && r <= hi);
                    ranges += 1;
                }
                failed |= matched == negated;
            }
            '?' => {
                if !failed {
                    s = &s[1..];
                }
                chunk = &chunk[1..];
            }
            _ => {
                if c == '\\' {
                    chunk = &chunk[1..];
                    if chunk.is_empty() {
                        return None;
                    }
                }
                if !failed {
                    failed = chunk[0] != s[0];
                    s = &s[1..];
                }
                chunk = &chunk[1..];
            }
        }
    }
    Some(if failed { (&[], false) } else { (s, true) })
}

/// One character of a class, perhaps escaped (Go's `getEsc`).
fn class_char(chunk: &[char]) -> Option<(char, &[char])> {
    let chunk = match chunk.first()? {
        '-' | ']' => return None,
        '\\' => &chunk[1..],
        _ => chunk,
    };
    let (&c, rest) = chunk.split_first()?;
    (!rest.is_empty()).then_some((c, rest))
}

/// Gatus's number for ordering: a non-zero Go duration in milliseconds,
/// else a Go integer, else a float truncated toward zero.
fn go_ordinal(text: &str) -> Option<i64> {
    if let Some(ns) = go_duration(text).filter(|ns| *ns != 0) {
        return Some(ns / 1_000_000);
    }
    go_int(text).or_else(|| go_float(text).map(go_truncate))
}

/// What Hale also reads in a written value: its own durations (`14d`),
/// and numbers or durations in quotes.
fn hale_ordinal(text: &str) -> Option<i64> {
    // Go's reading first, so a quoted `"5"` is 5 as it would be bare.
    unquote(text).and_then(go_ordinal).or_else(|| {
        unquote(text)
            .unwrap_or(text)
            .parse::<HumanDuration>()
            .ok()
            .and_then(|d| i64::try_from(d.0.as_millis()).ok())
    })
}

/// Go's `int64(f)` on amd64: NaN and out-of-range values give the minimum.
fn go_truncate(f: f64) -> i64 {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if f.is_nan() || !(-LIMIT..LIMIT).contains(&f) {
        i64::MIN
    } else {
        f as i64
    }
}

/// Go's `time.ParseDuration`, in nanoseconds: `1h30m`, `1.5s`, `-2ms`,
/// `300us`; no days.
fn go_duration(text: &str) -> Option<i64> {
    const MAX: u64 = 1 << 63;
    let (negative, mut s) = split_sign(text);
    if s == "0" {
        return Some(0);
    }
    if s.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    while !s.is_empty() {
        let (whole, rest) = leading_digits(s);
        let mut value = whole
            .bytes()
            .try_fold(0u64, |v, d| {
                (v <= MAX / 10).then(|| v * 10 + u64::from(d - b'0'))
            })
            .filter(|v| *v <= MAX)?;
        s = rest;
        let (mut fraction, mut scale, mut has_fraction) = (0u64, 1f64, false);
        if let Some(rest) = s.strip_prefix('.') {
            let (digits, rest) = leading_digits(rest);
            (fraction, scale) = go_fraction(digits);
            has_fraction = !digits.is_empty();
            s = rest;
        }
        if whole.is_empty() && !has_fraction {
            return None;
        }
        let unit_len = s
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        let unit: u64 = match &s[..unit_len] {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        s = &s[unit_len..];
        if value > MAX / unit {
            return None;
        }
        value *= unit;
        if fraction > 0 {
            // Go goes through float64 here too, to be exact to the
            // nanosecond for fractions of hours.
            value += (fraction as f64 * (unit as f64 / scale)) as u64;
        }
        total = total.checked_add(value).filter(|t| *t <= MAX)?;
    }
    if negative {
        return Some(0i64.wrapping_sub_unsigned(total));
    }
    i64::try_from(total).ok()
}

/// Go's `leadingFraction`: the digits it can hold, and their scale.
fn go_fraction(digits: &str) -> (u64, f64) {
    let (mut value, mut scale) = (0u64, 1f64);
    for d in digits.bytes() {
        match value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(d - b'0')))
        {
            Some(v) if v <= 1 << 63 => {
                value = v;
                scale *= 10.0;
            }
            _ => break,
        }
    }
    (value, scale)
}

fn leading_digits(s: &str) -> (&str, &str) {
    s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()))
}

fn split_sign(text: &str) -> (bool, &str) {
    match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    }
}

/// Go's `strconv.ParseInt(text, 0, 64)`: Go literal syntax, so `0x1F`,
/// `0o17`, `0b101`, `017` (octal) and `1_000` are integers.
fn go_int(text: &str) -> Option<i64> {
    let (negative, unsigned) = split_sign(text);
    let magnitude = go_uint(unsigned)?;
    if !underscores_ok(text) {
        return None;
    }
    if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

fn go_uint(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    let (radix, digits): (u64, &[u8]) = match bytes {
        [] => return None,
        [b'0', prefix, _, ..] if matches!(prefix.to_ascii_lowercase(), b'b' | b'o' | b'x') => {
            let radix = match prefix.to_ascii_lowercase() {
                b'b' => 2,
                b'o' => 8,
                _ => 16,
            };
            (radix, &bytes[2..])
        }
        [b'0', rest @ ..] => (8, rest),
        _ => (10, bytes),
    };
    digits
        .iter()
        .filter(|c| **c != b'_')
        .try_fold(0u64, |n, &c| {
            let digit = match c.to_ascii_lowercase() {
                c @ b'0'..=b'9' => c - b'0',
                c @ b'a'..=b'z' => c - b'a' + 10,
                _ => return None,
            };
            let digit = u64::from(digit);
            (digit < radix).then_some(())?;
            n.checked_mul(radix)?.checked_add(digit)
        })
}

/// Go's `underscoreOK`: underscores only between digits, or after a base
/// prefix.
fn underscores_ok(text: &str) -> bool {
    if !text.contains('_') {
        return true;
    }
    let s = text.strip_prefix(['+', '-']).unwrap_or(text).as_bytes();
    let (mut saw, mut start, mut hex) = (b'^', 0, false);
    if s.len() >= 2 && s[0] == b'0' && matches!(s[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        (saw, start, hex) = (b'0', 2, s[1].eq_ignore_ascii_case(&b'x'));
    }
    for &c in &s[start..] {
        if c.is_ascii_digit() || hex && c.is_ascii_hexdigit() {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
    }
    saw != b'_'
}

/// Go's `strconv.ParseFloat(text, 64)`: decimal and hexadecimal (`0x1p4`)
/// forms, `inf`, `nan`; a value out of range fails.
fn go_float(text: &str) -> Option<f64> {
    let (negative, body) = split_sign(text);
    let sign = if negative { -1.0 } else { 1.0 };
    let lower = body.to_ascii_lowercase();
    if lower == "inf" || lower == "infinity" {
        return Some(sign * f64::INFINITY);
    }
    if lower == "nan" && body.len() == text.len() {
        return Some(f64::NAN);
    }
    if !underscores_ok(text) {
        return None;
    }
    let digits = body.replace('_', "");
    let value = match digits.get(..2) {
        Some("0x" | "0X") => go_hex_float(&digits[2..])?,
        _ if digits.starts_with(|c: char| c.is_ascii_digit() || c == '.') => {
            digits.parse::<f64>().ok()?
        }
        _ => return None,
    };
    value.is_finite().then_some(sign * value)
}

/// A hexadecimal mantissa with its required binary exponent: `1.8p1` is 3.
fn go_hex_float(text: &str) -> Option<f64> {
    let (mantissa, exponent) = text.split_once(['p', 'P'])?;
    let exponent: i32 = exponent.parse().ok()?;
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let value = whole
        .chars()
        .chain(fraction.chars())
        .try_fold(0f64, |v, c| Some(v * 16.0 + f64::from(c.to_digit(16)?)))?;
    let shift = i32::try_from(fraction.len()).ok()?.checked_mul(4)?;
    Some(value * 2f64.powi(exponent.checked_sub(shift)?))
}

impl FromStr for Condition {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let (left, op, right) = split_operator(text)?;
        let side = |t: &str| parse_side(t.trim()).map_err(|e| format!("condition {text:?}: {e}"));
        let (left, right) = (side(left)?, side(right)?);
        check(&left, op, &right).map_err(|e| format!("condition {text:?}: {e}"))?;
        Ok(Condition {
            text: text.to_string(),
            left,
            op,
            right,
        })
    }
}

/// Gatus's tokens, in Gatus's order, over the whole text.
fn split_operator(text: &str) -> Result<(&str, Op, &str), String> {
    let Some((token, op)) = OPERATORS.iter().find(|(token, _)| text.contains(token)) else {
        return Err(no_operator(text));
    };
    let (left, right) = text.split_once(token).unwrap_or((text, ""));
    if right.contains(token) {
        // Gatus would compare the first two parts and drop the rest.
        return Err(format!(
            "condition {text:?} has {:?} more than once: write one comparison per condition",
            token.trim()
        ));
    }
    Ok((left, *op, right))
}

/// The refusal for a condition without a spaced operator, naming the fix.
fn no_operator(text: &str) -> String {
    const OPERATOR_CHARS: [char; 4] = ['=', '!', '<', '>'];
    let bare = text.find(OPERATOR_CHARS).and_then(|at| {
        let op = ["==", "!=", "<=", ">=", "<", ">", "="]
            .into_iter()
            .find(|op| text[at..].starts_with(op))?;
        let (left, right) = (text[..at].trim(), text[at + op.len()..].trim());
        let clean = !left.ends_with(OPERATOR_CHARS) && !right.starts_with(OPERATOR_CHARS);
        clean.then_some((left, if op == "=" { "==" } else { op }, right))
    });
    let fix = match bare {
        Some((_, op, "")) => format!("there is nothing to compare with after {op}"),
        Some(("", op, _)) => format!("there is nothing to compare with before {op}"),
        Some((left, op, right)) => format!(
            "write it with spaces, as in {:?}",
            format!("{left} {op} {right}")
        ),
        None => "write <value> <operator> <value>, with one of ==, !=, <, <=, >, >= and a space on each side".into(),
    };
    format!("condition {text:?} has no operator: {fix}")
}

fn parse_side(text: &str) -> Result<Side, String> {
    if text.is_empty() {
        return Err("nothing to compare with on one side".into());
    }
    let term = if let Some(inner) = call_argument(text, "len") {
        Term::Placeholder(Function::Len, function_argument("len", inner)?)
    } else if let Some(inner) = call_argument(text, "has") {
        Term::Placeholder(Function::Has, function_argument("has", inner)?)
    } else if let Some(inner) = call_argument(text, "pat") {
        Term::Pattern(inner.to_string())
    } else if let Some(inner) = call_argument(text, "any") {
        if inner.split(',').any(|option| option.trim().is_empty()) {
            return Err("any() needs values separated by commas".into());
        }
        Term::Any(inner.to_string())
    } else {
        match parse_placeholder(text)? {
            Some(p) => Term::Placeholder(Function::Value, p),
            None => Term::Literal,
        }
    };
    Ok(Side {
        text: text.to_string(),
        term,
    })
}

fn call_argument<'t>(text: &'t str, function: &str) -> Option<&'t str> {
    text.strip_prefix(function)?
        .trim_start()
        .strip_prefix('(')?
        .strip_suffix(')')
        .map(str::trim)
}

fn function_argument(function: &str, inner: &str) -> Result<Placeholder, String> {
    parse_placeholder(inner)?.ok_or_else(|| {
        format!("{function}() takes a placeholder such as [BODY].items, and {inner:?} is not a placeholder")
    })
}

/// A placeholder, in any case as in Gatus; `None` for text to take as
/// written. Bracketed names that look like placeholders but are none are
/// refused: Gatus would compare the typo as text, and it would never hold.
fn parse_placeholder(text: &str) -> Result<Option<Placeholder>, String> {
    if let Some((_, field)) = FIELDS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(text))
    {
        return Ok(Some(Placeholder::Field(*field)));
    }
    let body = text.get(..6).filter(|p| p.eq_ignore_ascii_case("[BODY]"));
    if body.is_some() {
        return parse_body_path(&text[6..]).map(|path| Some(Placeholder::Body(path)));
    }
    match bracketed_name(text) {
        Some("CONTEXT") => Err(
            "[CONTEXT] only exists in Gatus suites, which Hale does not have".into(),
        ),
        Some(_) => Err(format!(
            "{text:?} is not a placeholder (expected {PLACEHOLDERS}; to compare with the text itself, quote it: \"{text}\")"
        )),
        None => Ok(None),
    }
}

/// `NAME` of a text that starts like a placeholder: `[NAME]` in capitals,
/// then nothing or a path.
fn bracketed_name(text: &str) -> Option<&str> {
    let (name, rest) = text.strip_prefix('[')?.split_once(']')?;
    let capitals = name.len() >= 2 && name.bytes().all(|b| b.is_ascii_uppercase() || b == b'_');
    (capitals && (rest.is_empty() || rest.starts_with(['.', '[']))).then_some(name)
}

/// A placeholder's name written without brackets (`STATUS`, `body.id`),
/// which in a condition with no placeholder can only be a slip.
fn unbracketed_placeholder(text: &str) -> Option<String> {
    let name_len = text
        .find(['.', '['])
        .filter(|_| {
            text.get(..4)
                .is_some_and(|p| p.eq_ignore_ascii_case("body"))
        })
        .unwrap_or(text.len());
    let (name, rest) = text.split_at(name_len);
    let upper = format!("[{}]", name.to_ascii_uppercase());
    let known = upper == "[BODY]" || FIELDS.iter().any(|(n, _)| *n == upper);
    known.then(|| format!("{upper}{rest}"))
}

/// `[BODY]` paths as Gatus walks them: `.key`, `[index]`, and keys with
/// indexes (`.items[0][1]`). What Gatus would only ever find nothing at
/// (an empty key, a negative or non-numeric index) is refused.
fn parse_body_path(path: &str) -> Result<Vec<Step>, String> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let (mut rest, mut bare_first) = match path.strip_prefix('.') {
        Some(rest) => (rest, false),
        None if path.starts_with('[') => (path, true),
        None => {
            return Err(format!(
                "body path must continue with .key or [index], not {path:?}"
            ))
        }
    };
    let mut steps = Vec::new();
    loop {
        let (step, after) = parse_step(rest, bare_first)?;
        steps.push(step);
        bare_first = false;
        match after.strip_prefix('.') {
            Some(next) => rest = next,
            None if after.is_empty() => return Ok(steps),
            None => {
                return Err(format!(
                    "body path must continue with .key or [index], not {after:?}"
                ))
            }
        }
    }
}

fn parse_step(text: &str, bare: bool) -> Result<(Step, &str), String> {
    let end = text.find(['.', '[']).unwrap_or(text.len());
    let key = &text[..end];
    if key.is_empty() && !(bare && text.starts_with('[')) {
        return Err(format!("empty key in body path at {text:?}"));
    }
    let mut rest = &text[end..];
    let mut indices = Vec::new();
    while let Some(inside) = rest.strip_prefix('[') {
        let close = inside
            .find(']')
            .ok_or_else(|| format!("unbalanced [ in body path at {rest:?}"))?;
        let index = inside[..close]
            .trim()
            .parse()
            .map_err(|_| format!("{:?} is not an array index", &inside[..close]))?;
        indices.push(index);
        rest = &inside[close + 1..];
    }
    let key = (!key.is_empty()).then(|| key.to_string());
    Ok((Step { key, indices }, rest))
}

/// Load-time checks for conditions Gatus would run but that can only be
/// mistakes.
fn check(left: &Side, op: Op, right: &Side) -> Result<(), String> {
    let wrapped = |s: &Side| matches!(s.term, Term::Pattern(_) | Term::Any(_));
    if op.orders() && (wrapped(left) || wrapped(right)) {
        return Err("pat() and any() only go with == and !=".into());
    }
    for (side, other) in [(left, right), (right, left)] {
        if side.is_boolean() && (op.orders() || !other.is_boolean_literal()) {
            return Err(format!(
                "compare {} with true or false (== or !=)",
                side.text
            ));
        }
    }
    if !left.is_placeholder() && !right.is_placeholder() {
        for side in [left, right] {
            if let Some(fix) = unbracketed_placeholder(&side.text) {
                return Err(format!(
                    "{:?} is not a placeholder: placeholders go in brackets, as in {fix}",
                    side.text
                ));
            }
        }
    }
    Ok(())
}

impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::de::parse_str(
            deserializer,
            "a condition such as \"[STATUS] == 200\"",
            str::parse,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observation(status: u16, ms: u64, body: &'static str) -> Observation {
        Observation {
            status: Some(status),
            response_time: Duration::from_millis(ms),
            body: Some(body.as_bytes().to_vec()),
            connected: true,
            certificate_expiration: Some(Duration::from_secs(72 * 3600)),
            ..Default::default()
        }
    }

    fn holds(condition: &str, o: &Observation) -> bool {
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
        assert!("[STATUS] == [body].status"
            .parse::<Condition>()
            .unwrap()
            .needs_body());
    }

    #[test]
    fn knows_when_it_looks_at_the_connection() {
        let mentions = |t: &str| t.parse::<Condition>().unwrap().mentions_connected();
        assert!(mentions("[CONNECTED] == false"));
        assert!(mentions("true == [connected]"));
        assert!(!mentions("[STATUS] == 200"));
    }

    /// One row of Gatus's `TestCondition_evaluate` table
    /// (`config/endpoint/condition_test.go`); `null` is Go's zero value.
    #[derive(Deserialize)]
    struct EvaluateRow {
        name: String,
        condition: String,
        status: Option<u16>,
        body: Option<String>,
        response_time_ms: Option<u64>,
        connected: Option<bool>,
        ip: Option<String>,
        dns_rcode: Option<String>,
        certificate_expiration_ms: Option<u64>,
        expected_success: bool,
    }

    #[test]
    fn agrees_with_every_row_of_gatus_evaluate_table() {
        let rows: Vec<EvaluateRow> =
            serde_json::from_str(include_str!("../tests/data/gatus-conditions.json"))
                .expect("the table parses");
        assert_eq!(rows.len(), 98);
        let wrong: Vec<String> = rows
            .iter()
            .filter_map(|row| {
                let o = Observation {
                    status: row.status,
                    response_time: Duration::from_millis(row.response_time_ms.unwrap_or(0)),
                    body: row.body.clone().map(String::into_bytes),
                    connected: row.connected.unwrap_or(false),
                    ip: row.ip.clone(),
                    dns_rcode: row.dns_rcode.clone(),
                    certificate_expiration: row
                        .certificate_expiration_ms
                        .map(Duration::from_millis),
                };
                let outcome = row
                    .condition
                    .parse::<Condition>()
                    .map(|c| c.evaluate(&o, &mut BodyJson::default()).outcome.success);
                match outcome {
                    Ok(success) if success == row.expected_success => None,
                    Ok(success) => {
                        Some(format!("{}: {:?} gave {success}", row.name, row.condition))
                    }
                    Err(e) => Some(format!("{}: {e}", row.name)),
                }
            })
            .collect();
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    /// One row of Gatus's `TestCondition_Validate` table.
    #[derive(Deserialize)]
    struct ValidateRow {
        condition: String,
        valid: bool,
    }

    #[test]
    fn accepts_and_refuses_what_gatus_validate_table_does() {
        let rows: Vec<ValidateRow> =
            serde_json::from_str(include_str!("../tests/data/gatus-conditions-validate.json"))
                .expect("the table parses");
        assert_eq!(rows.len(), 29);
        let wrong: Vec<String> = rows
            .iter()
            .filter_map(|row| match row.condition.parse::<Condition>() {
                Ok(_) if row.valid => None,
                Err(_) if !row.valid => None,
                Ok(_) => Some(format!("{:?} was accepted", row.condition)),
                Err(e) => Some(format!("{:?} was refused: {e}", row.condition)),
            })
            .collect();
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn reads_values_as_go_does() {
        let table = [
            (r#"{"count":1000000}"#, "[BODY].count == 1000000", false),
            (r#"{"count":1000000}"#, "[BODY].count == 1e+06", true),
            (r#"{"count":1000000}"#, "[BODY].count > 999999", true),
            (r#"{"v":1}"#, "[BODY].v == 1.0", false),
            (r#"{"v":1.9}"#, "[BODY].v > 1.5", false),
            (r#"{"v":"010"}"#, "[BODY].v == 8", true),
            (r#"{"v":1000}"#, "[BODY].v == 1_000", true),
            (r#"{"v":"5m"}"#, "[BODY].v > 1m", true),
            (r#"{"v":0.00001}"#, "[BODY].v == 1e-05", true),
            (r#"{"data":null}"#, "[BODY].data == null", false),
            (r#"{"items":[1,2,3]}"#, "[BODY].items == [1 2 3]", true),
            (
                r#"{"obj":{"b":1,"a":"<"}}"#,
                r#"[BODY].obj == {"a":"\u003c","b":1}"#,
                true,
            ),
            (r#"{"id":1}"#, "[BODY].id.x == 1", true),
            (r#""hello""#, "[BODY].anything == hello", true),
            ("[1,2,3]", "len([BODY].x) == 3", true),
            ("[[1,2],[3,4]]", "[BODY][1][0] == 3", true),
            ("[[1,2],[3,4]]", "[BODY].a[0] == 3", false),
            ("{}", "[BODY].missing < 5", true),
            ("{}", "len([BODY]) == 2", true),
            (r#"{"name":"josé"}"#, "len([BODY].name) == 5", true),
            ("pong", "has([BODY]) == true", true),
            (r#"{"msg":"a < b"}"#, "[BODY].msg == a < b", true),
            (
                r#"{"path":"/api/v1/x"}"#,
                "[BODY].path == pat(/api/*)",
                true,
            ),
            (r#"{"a":"x","b":"x"}"#, "[BODY].a == [BODY].b", true),
        ];
        for (body, condition, expected) in table {
            assert_eq!(
                holds(condition, &observation(200, 1, body)),
                expected,
                "{condition} on {body}"
            );
        }
    }

    #[test]
    fn uses_zero_values_for_what_was_not_observed() {
        let none = Observation::default();
        assert!(holds("[STATUS] == 0", &none));
        assert!(holds("[CERTIFICATE_EXPIRATION] < 48h", &none));
        assert!(!holds("[CERTIFICATE_EXPIRATION] > 0", &none));
        assert!(holds("has([STATUS]) == true", &none));
        assert!(holds("has([IP]) == false", &none));
        assert!(holds("[DOMAIN_EXPIRATION] == 0", &none));
    }

    #[test]
    fn compares_numbers_in_go_syntax_and_durations_in_milliseconds() {
        let o = observation(200, 1000, "");
        let table = [
            ("[STATUS] == 0xC8", true),
            ("[STATUS] == 0200", false),
            ("[STATUS] == any(0xC8)", false),
            ("[STATUS] == pat([23]*)", true),
            ("[STATUS] == pat([^2]*)", false),
            ("[RESPONSE_TIME] < 1.5s", true),
            ("[RESPONSE_TIME] < 1m30s", true),
            ("[RESPONSE_TIME] <= 1000", true),
            ("[RESPONSE_TIME] > potato", true),
            ("[RESPONSE_TIME] < \"1001\"", true),
            ("[CERTIFICATE_EXPIRATION] > 2d", true),
            ("[CERTIFICATE_EXPIRATION] > 4d", false),
            ("1 == 2", false),
            ("raw == raw", true),
            ("5 > 3", true),
        ];
        for (condition, expected) in table {
            assert_eq!(holds(condition, &o), expected, "{condition}");
        }
    }

    #[test]
    fn says_what_it_saw_and_what_counted_as_zero() {
        let o = observation(200, 50, r#"{"a":"x","b":"y"}"#);
        let table = [
            (
                "[RESPONSE_TIME] < potato",
                "[RESPONSE_TIME] < potato (got 50; \"potato\" is not a number or duration, so it counts as 0)",
            ),
            ("[BODY].c == x", "[BODY].c == x (got nothing)"),
            ("[BODY].c > 1", "[BODY].c > 1 (got nothing, which counts as 0)"),
            ("[BODY].a == [BODY].b", r#"[BODY].a == [BODY].b (got "x" and "y")"#),
            ("1 == 2", "1 == 2 (no placeholder, so it never holds)"),
            ("[IP] == 10.0.0.1", "[IP] == 10.0.0.1 (got nothing)"),
        ];
        for (condition, explanation) in table {
            let c: Condition = condition.parse().unwrap();
            let e = c.evaluate(&o, &mut BodyJson::default());
            assert_eq!(e.explanation.as_deref(), Some(explanation), "{condition}");
        }
    }

    /// Expected values checked against a port of the Go standard library
    /// (`strconv`, `time.ParseDuration`, `fmt`, `encoding/json`,
    /// `filepath.Match`).
    #[test]
    fn go_helpers_behave_as_the_go_standard_library() {
        let printed = [
            (18.0, "18"),
            (123.40000000000005, "123.40000000000005"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (1e-5, "1e-05"),
            (-2.5, "-2.5"),
            (123456.0, "123456"),
            (1e100, "1e+100"),
        ];
        for (f, text) in printed {
            assert_eq!(go_float_text(f), text, "%v of {f}");
        }
        let marshalled = [
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (1e-7, "1e-7"),
            (0.000001, "0.000001"),
            (1.5e-10, "1.5e-10"),
            (-0.0, "-0"),
        ];
        for (f, text) in marshalled {
            assert_eq!(go_json_number(f), text, "json of {f}");
        }
        let durations = [
            ("1h30m", Some(5_400_000_000_000)),
            ("1.5s", Some(1_500_000_000)),
            ("-2ms", Some(-2_000_000)),
            ("300us", Some(300_000)),
            ("1µs", Some(1_000)),
            (".5s", Some(500_000_000)),
            ("1.s", Some(1_000_000_000)),
            ("0", Some(0)),
            ("2d", None),
            ("5", None),
            (".", None),
            ("1h-1m", None),
        ];
        for (text, ns) in durations {
            assert_eq!(go_duration(text), ns, "{text}");
        }
        let integers = [
            ("0x1F", Some(31)),
            ("-0b11", Some(-3)),
            ("017", Some(15)),
            ("0_7", Some(7)),
            ("1_000", Some(1000)),
            ("+5", Some(5)),
            ("9223372036854775807", Some(i64::MAX)),
            ("-9223372036854775808", Some(i64::MIN)),
            ("9223372036854775808", None),
            ("08", None),
            ("1__0", None),
            ("_1", None),
            ("0x", None),
            ("-", None),
            ("", None),
        ];
        for (text, n) in integers {
            assert_eq!(go_int(text), n, "{text:?}");
        }
        let floats = [
            ("1_0.5", Some(10.5)),
            (".5", Some(0.5)),
            ("5.", Some(5.0)),
            ("-1.5e2", Some(-150.0)),
            ("0x1p4", Some(16.0)),
            ("inf", Some(f64::INFINITY)),
            ("+nan", None),
            ("1e400", None),
        ];
        for (text, f) in floats {
            assert_eq!(go_float(text), f, "{text:?}");
        }
        let globs = [
            ("[a-c]x", "bx", true),
            ("\\*", "*", true),
            ("*a*b", "xaxb", true),
            ("a?c", "abc", true),
            ("[^a]", "a", false),
            ("a[", "a", false),
            ("[]a]", "]", false),
            ("[a-]", "a", false),
        ];
        for (glob, text, matches) in globs {
            assert_eq!(glob_matches(glob, text), matches, "{glob} on {text}");
        }
    }

    #[test]
    fn names_the_fix_for_what_gatus_would_run_but_never_holds() {
        let table = [
            (
                "[STATUS]==200",
                r#"write it with spaces, as in "[STATUS] == 200""#,
            ),
            ("[STATUS] = 200", r#"as in "[STATUS] == 200""#),
            ("[BODY].a == x == y", "more than once"),
            ("[CONTEXT].x == 1", "Gatus suites"),
            ("len(foo) == 3", "takes a placeholder"),
            ("body.status == UP", "as in [BODY].status"),
        ];
        for (text, reason) in table {
            let err = text.parse::<Condition>().expect_err(text);
            assert!(err.contains(reason), "{text}: {err}");
        }
    }
}
