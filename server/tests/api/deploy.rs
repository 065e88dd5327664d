//! The files in deploy/ against the Hale they deploy: the Grafana
//! dashboard and the Prometheus rules name only metrics, labels and label
//! values that a running Hale's /metrics holds; the rules pass `promtool
//! check rules` and their unit tests (and a check of their structure that
//! needs no promtool); the systemd unit passes `systemd-analyze verify`
//! and stays confined.

use crate::helpers::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn deploy(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy")
        .join(path)
}

fn read(path: &str) -> String {
    let path = deploy(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Whether `program` is on PATH.
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

// ---------------------------------------------------------------------
// The text exposition, as far as these checks need it.

type Labels = BTreeMap<String, String>;

/// One scrape of /metrics: each family's declared type, and every sample's
/// name and labels.
#[derive(Debug, Default)]
struct Exposition {
    types: BTreeMap<String, String>,
    samples: Vec<(String, Labels)>,
}

impl Exposition {
    fn parse(text: &str) -> Exposition {
        let mut out = Exposition::default();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').expect("# TYPE <name> <type>");
                out.types.insert(name.into(), kind.trim().into());
            } else if !line.starts_with('#') && !line.trim().is_empty() {
                let end = line.find(['{', ' ']).expect("a sample's name");
                let labels = match line[end..].strip_prefix('{') {
                    Some(rest) => read_labels(rest).0,
                    None => Labels::new(),
                };
                out.samples.push((line[..end].into(), labels));
            }
        }
        out
    }

    fn samples_of<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Labels> + 'a {
        self.samples
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, labels)| labels)
    }

    /// The family a series name belongs to, with its type: the name
    /// itself, or a histogram's `_bucket`, `_sum` or `_count`.
    fn family(&self, name: &str) -> Option<(String, String)> {
        if let Some(kind) = self.types.get(name) {
            return Some((name.into(), kind.clone()));
        }
        for (suffix, kinds) in [
            ("_bucket", &["histogram"][..]),
            ("_sum", &["histogram", "summary"][..]),
            ("_count", &["histogram", "summary"][..]),
        ] {
            let Some(base) = name.strip_suffix(suffix) else {
                continue;
            };
            if let Some(kind) = self.types.get(base) {
                if kinds.contains(&kind.as_str()) {
                    return Some((base.into(), kind.clone()));
                }
            }
        }
        None
    }
}

/// `name="value",…}` (after the `{`): the labels, and the length read.
fn read_labels(text: &str) -> (Labels, usize) {
    let chars: Vec<char> = text.chars().collect();
    let mut labels = Labels::new();
    let mut i = 0;
    loop {
        while i < chars.len() && (chars[i] == ',' || chars[i].is_whitespace()) {
            i += 1;
        }
        if i >= chars.len() || chars[i] == '}' {
            return (labels, i + 1);
        }
        let start = i;
        while chars[i] != '=' {
            i += 1;
        }
        let name: String = chars[start..i].iter().collect();
        let (value, end) = read_string(&chars, i + 1).expect("a quoted label value");
        labels.insert(name.trim().into(), value);
        i = end;
    }
}

/// The string literal opening at `chars[at]` (`"`, `'` or a backquote),
/// unescaped, and the index after it.
fn read_string(chars: &[char], at: usize) -> Result<(String, usize), String> {
    let quote = chars[at];
    let mut value = String::new();
    let mut i = at + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' if quote != '`' && i + 1 < chars.len() => {
                value.push(match chars[i + 1] {
                    'n' => '\n',
                    c => c,
                });
                i += 2;
            }
            c if c == quote => return Ok((value, i + 1)),
            c => {
                value.push(c);
                i += 1;
            }
        }
    }
    Err(format!("unterminated string from {at}"))
}

// ---------------------------------------------------------------------
// What a PromQL expression names.

/// PromQL's functions (Prometheus 2.x and 3.x).
const FUNCTIONS: &[&str] = &[
    "abs",
    "absent",
    "absent_over_time",
    "acos",
    "acosh",
    "asin",
    "asinh",
    "atan",
    "atanh",
    "avg_over_time",
    "ceil",
    "changes",
    "clamp",
    "clamp_max",
    "clamp_min",
    "cos",
    "cosh",
    "count_over_time",
    "day_of_month",
    "day_of_week",
    "day_of_year",
    "days_in_month",
    "deg",
    "delta",
    "deriv",
    "double_exponential_smoothing",
    "end",
    "exp",
    "floor",
    "histogram_avg",
    "histogram_count",
    "histogram_fraction",
    "histogram_quantile",
    "histogram_stddev",
    "histogram_stdvar",
    "histogram_sum",
    "holt_winters",
    "hour",
    "idelta",
    "increase",
    "irate",
    "label_join",
    "label_replace",
    "last_over_time",
    "ln",
    "log10",
    "log2",
    "mad_over_time",
    "max_over_time",
    "min_over_time",
    "minute",
    "month",
    "pi",
    "predict_linear",
    "present_over_time",
    "quantile_over_time",
    "rad",
    "rate",
    "resets",
    "round",
    "scalar",
    "sgn",
    "sin",
    "sinh",
    "sort",
    "sort_by_label",
    "sort_by_label_desc",
    "sort_desc",
    "sqrt",
    "start",
    "stddev_over_time",
    "stdvar_over_time",
    "sum_over_time",
    "tan",
    "tanh",
    "time",
    "timestamp",
    "vector",
    "year",
];
const AGGREGATIONS: &[&str] = &[
    "avg",
    "bottomk",
    "count",
    "count_values",
    "group",
    "limit_ratio",
    "limitk",
    "max",
    "min",
    "quantile",
    "stddev",
    "stdvar",
    "sum",
    "topk",
];
/// Keywords followed by a list of label names.
const GROUPING: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];
const KEYWORDS: &[&str] = &[
    "and", "or", "unless", "bool", "offset", "atan2", "inf", "nan",
];

/// A metric named in an expression, with its label matchers.
#[derive(Debug, Default)]
struct Selector {
    name: String,
    /// (label, operator, value)
    matchers: Vec<(String, String, String)>,
}

#[derive(Debug, Default)]
struct Named {
    selectors: Vec<Selector>,
    /// Labels of `by (…)`, `without (…)`, `on (…)` and the like.
    grouping: Vec<String>,
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// The metrics and labels a PromQL expression names (Grafana's `$var`
/// and `${var}` allowed where a value goes); an error for a function
/// PromQL lacks or a selector without a metric name.
fn names_in(expr: &str) -> Result<Named, String> {
    let chars: Vec<char> = expr.chars().collect();
    let skip_space = |mut i: usize| {
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        i
    };
    let mut named = Named::default();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if matches!(c, '"' | '\'' | '`') {
            i = read_string(&chars, i)?.1;
        } else if c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '[' {
            // A range or a subquery's: durations and $__rate_interval.
            while i < chars.len() && chars[i] != ']' {
                i += 1;
            }
            i += 1;
        } else if c == '{' {
            return Err(format!("a selector without a metric name in {expr:?}"));
        } else if c == '$' {
            i += 1;
            if chars.get(i) == Some(&'{') {
                while i < chars.len() && chars[i] != '}' {
                    i += 1;
                }
                i += 1;
            } else {
                while i < chars.len() && is_word(chars[i]) {
                    i += 1;
                }
            }
        } else if c.is_ascii_digit() || c == '.' {
            // Numbers and durations (`0.95`, `5m`, `1e3`).
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len() && is_word(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let next = skip_space(i);
            let opens = chars.get(next) == Some(&'(');
            let plain = KEYWORDS.contains(&word.as_str()) || AGGREGATIONS.contains(&word.as_str());
            if GROUPING.contains(&word.as_str()) {
                if opens {
                    let close = (next..chars.len())
                        .find(|&j| chars[j] == ')')
                        .ok_or_else(|| format!("unclosed {word} (…) in {expr:?}"))?;
                    let list: String = chars[next + 1..close].iter().collect();
                    named.grouping.extend(
                        list.split(',')
                            .map(str::trim)
                            .filter(|l| !l.is_empty())
                            .map(String::from),
                    );
                    i = close + 1;
                }
            } else if opens && !plain {
                if !FUNCTIONS.contains(&word.as_str()) {
                    return Err(format!("no PromQL function {word}() in {expr:?}"));
                }
            } else if !plain {
                let mut selector = Selector {
                    name: word,
                    ..Selector::default()
                };
                if chars.get(next) == Some(&'{') {
                    i = read_matchers(&chars, next + 1, &mut selector.matchers)?;
                }
                named.selectors.push(selector);
            }
        } else {
            i += 1;
        }
    }
    Ok(named)
}

/// Label matchers after a `{`, up to its `}`: the index after it.
fn read_matchers(
    chars: &[char],
    mut i: usize,
    into: &mut Vec<(String, String, String)>,
) -> Result<usize, String> {
    loop {
        while i < chars.len() && (chars[i] == ',' || chars[i].is_whitespace()) {
            i += 1;
        }
        match chars.get(i) {
            None => return Err("unclosed {".into()),
            Some('}') => return Ok(i + 1),
            Some(_) => {}
        }
        let start = i;
        while i < chars.len() && is_word(chars[i]) {
            i += 1;
        }
        let label: String = chars[start..i].iter().collect();
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        let op_start = i;
        while i < chars.len() && matches!(chars[i], '=' | '!' | '~') {
            i += 1;
        }
        let op: String = chars[op_start..i].iter().collect();
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if label.is_empty() || !["=", "!=", "=~", "!~"].contains(&op.as_str()) {
            return Err(format!("a bad label matcher at {label:?} {op:?}"));
        }
        if !matches!(chars.get(i), Some('"' | '\'' | '`')) {
            return Err(format!("label {label}: a value that is not quoted"));
        }
        let (value, end) = read_string(chars, i)?;
        into.push((label, op, value));
        i = end;
    }
}

/// Labels Prometheus adds to every scraped series.
const TARGET_LABELS: &[&str] = &["job", "instance"];
/// Series Prometheus makes itself, per target.
const PROMETHEUS_SERIES: &[&str] = &["up"];
/// Label values docs/api.md documents that no test can wait for: an alert
/// message is given up after a day of failed attempts.
const LATER_VALUES: &[(&str, &str, &str)] = &[("hale_alert_messages", "outcome", "given_up")];

/// What in `expr` `exposition` lacks: metrics (a histogram is named by its
/// `_bucket`, `_sum` or `_count`), the labels matched on or grouped by,
/// and label values matched exactly. `recorded` are the recording rules'
/// names, which Prometheus makes.
fn missing(expr: &str, exposition: &Exposition, recorded: &BTreeSet<String>) -> Vec<String> {
    let named = match names_in(expr) {
        Ok(named) => named,
        Err(e) => return vec![e],
    };
    let mut problems = Vec::new();
    let mut exported_labels: BTreeSet<&str> = TARGET_LABELS.iter().copied().collect();
    let mut only_exported = true;
    for selector in &named.selectors {
        let name = selector.name.as_str();
        if PROMETHEUS_SERIES.contains(&name) || recorded.contains(name) {
            only_exported = false;
            continue;
        }
        let samples: Vec<&Labels> = exposition.samples_of(name).collect();
        match exposition.family(name) {
            None => {
                problems.push(format!("{name}: no such metric in /metrics (in {expr:?})"));
                continue;
            }
            Some((_, kind)) if samples.is_empty() => {
                let hint = if kind == "histogram" {
                    ": a histogram is queried by its _bucket, _sum or _count"
                } else {
                    ""
                };
                problems.push(format!(
                    "{name}: a {kind} family without samples{hint} (in {expr:?})"
                ));
                continue;
            }
            Some(_) => {}
        }
        let labels: BTreeSet<&str> = samples
            .iter()
            .flat_map(|l| l.keys().map(String::as_str))
            .collect();
        exported_labels.extend(&labels);
        for (label, op, value) in &selector.matchers {
            if TARGET_LABELS.contains(&label.as_str()) {
                continue;
            }
            if !labels.contains(label.as_str()) {
                problems.push(format!(
                    "{name} has no label {label} (it has {labels:?}; in {expr:?})"
                ));
            } else if op == "="
                && !value.contains('$')
                && !samples.iter().any(|l| l.get(label) == Some(value))
                && !LATER_VALUES.contains(&(name, label.as_str(), value.as_str()))
            {
                problems.push(format!(
                    "{name} has no series with {label}={value:?} (in {expr:?})"
                ));
            }
        }
    }
    if only_exported {
        for label in &named.grouping {
            if !exported_labels.contains(label.as_str()) {
                problems.push(format!(
                    "grouping by {label}, which none of its metrics has (in {expr:?})"
                ));
            }
        }
    }
    problems
}

/// A Grafana variable's `label_values(selector, label)` (or
/// `label_values(label)`): what the selector and the label miss.
fn missing_in_variable(query: &str, exposition: &Exposition) -> Vec<String> {
    let Some(inner) = query
        .trim()
        .strip_prefix("label_values(")
        .and_then(|q| q.strip_suffix(')'))
    else {
        return vec![format!("not a label_values(…) query: {query:?}")];
    };
    let (selector, label) = match inner.rsplit_once(',') {
        Some((selector, label)) => (Some(selector), label.trim()),
        None => (None, inner.trim()),
    };
    let mut problems = Vec::new();
    let has_label = |name: Option<&str>| {
        exposition
            .samples
            .iter()
            .any(|(n, l)| name.is_none_or(|name| n == name) && l.contains_key(label))
    };
    match selector {
        Some(selector) => {
            problems.extend(missing(selector, exposition, &BTreeSet::new()));
            let names = names_in(selector).map(|n| n.selectors).unwrap_or_default();
            for s in &names {
                if !has_label(Some(&s.name)) && !TARGET_LABELS.contains(&label) {
                    problems.push(format!("{} has no label {label} (in {query:?})", s.name));
                }
            }
        }
        None if !has_label(None) && !TARGET_LABELS.contains(&label) => {
            problems.push(format!("no metric has the label {label} (in {query:?})"));
        }
        None => {}
    }
    problems
}

// ---------------------------------------------------------------------
// The files.

/// Every query of the dashboard: its panels' (rows' too) and its
/// variables'.
fn dashboard_queries(dashboard: &serde_json::Value) -> (Vec<String>, Vec<String>) {
    fn panels(list: &serde_json::Value, exprs: &mut Vec<String>) {
        for panel in list.as_array().into_iter().flatten() {
            for target in panel["targets"].as_array().into_iter().flatten() {
                exprs.push(target["expr"].as_str().expect("a target's expr").into());
            }
            panels(&panel["panels"], exprs);
        }
    }
    let mut exprs = Vec::new();
    panels(&dashboard["panels"], &mut exprs);
    let variables = dashboard["templating"]["list"]
        .as_array()
        .expect("templating.list")
        .iter()
        .filter(|v| v["type"] == "query")
        .map(|v| {
            let query = &v["query"];
            query["query"]
                .as_str()
                .or(query.as_str())
                .expect("a variable's query")
                .to_string()
        })
        .collect();
    (exprs, variables)
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    groups: Vec<RuleGroup>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleGroup {
    name: String,
    #[serde(default)]
    interval: Option<String>,
    rules: Vec<Rule>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Rule {
    #[serde(default)]
    alert: Option<String>,
    #[serde(default)]
    record: Option<String>,
    expr: String,
    #[serde(default, rename = "for")]
    for_: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

fn rules() -> RuleFile {
    serde_saphyr::from_str(&read("prometheus/hale-rules.yml"))
        .unwrap_or_else(|e| panic!("deploy/prometheus/hale-rules.yml: {e}"))
}

/// A Prometheus duration: `2m`, `1h30m`, `90s`.
fn is_duration(text: &str) -> bool {
    let mut rest = text;
    let mut parts = 0;
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            return false;
        }
        rest = &rest[digits..];
        let Some(unit) = ["ms", "s", "m", "h", "d", "w", "y"]
            .into_iter()
            .find(|u| rest.starts_with(u))
        else {
            return false;
        };
        rest = &rest[unit.len()..];
        parts += 1;
    }
    parts > 0
}

/// What promtool would refuse, and what these rules promise: each rule
/// an alert or a recording; durations that parse; every alert with a
/// severity, a summary and a description; the alerts the runbooks name.
fn structure_problems(file: &RuleFile) -> Vec<String> {
    let mut problems = Vec::new();
    let mut alerts = BTreeMap::new();
    let mut groups = BTreeSet::new();
    for group in &file.groups {
        if !groups.insert(group.name.as_str()) {
            problems.push(format!("group {} twice", group.name));
        }
        if group.interval.as_deref().is_some_and(|i| !is_duration(i)) {
            problems.push(format!("group {}: bad interval", group.name));
        }
        if group.rules.is_empty() {
            problems.push(format!("group {} has no rules", group.name));
        }
        for rule in &group.rules {
            let what = rule
                .alert
                .as_deref()
                .or(rule.record.as_deref())
                .unwrap_or("?");
            if rule.expr.trim().is_empty() {
                problems.push(format!("{what}: empty expr"));
            }
            if let Err(e) = names_in(&rule.expr) {
                problems.push(format!("{what}: {e}"));
            }
            match (&rule.alert, &rule.record) {
                (Some(alert), None) => {
                    if alerts.insert(alert.as_str(), rule).is_some() {
                        problems.push(format!("alert {alert} twice"));
                    }
                    if rule.for_.as_deref().is_some_and(|f| !is_duration(f)) {
                        problems.push(format!("{alert}: bad for: {:?}", rule.for_));
                    }
                    let severity = rule.labels.get("severity").map(String::as_str);
                    if !matches!(severity, Some("critical" | "warning")) {
                        problems.push(format!("{alert}: severity {severity:?}"));
                    }
                    for key in ["summary", "description"] {
                        if rule
                            .annotations
                            .get(key)
                            .is_none_or(|a| a.trim().is_empty())
                        {
                            problems.push(format!("{alert}: no {key} annotation"));
                        }
                    }
                }
                (None, Some(record)) => {
                    let valid = record.chars().all(is_word)
                        && !record.starts_with(|c: char| c.is_ascii_digit())
                        && record.contains(':');
                    if !valid {
                        problems.push(format!("record {record}: not level:metric:operations"));
                    }
                    if rule.for_.is_some() || !rule.annotations.is_empty() {
                        problems.push(format!("record {record}: for or annotations"));
                    }
                }
                _ => problems.push(format!(
                    "a rule with alert and record both or neither: {rule:?}"
                )),
            }
        }
    }
    // The runbooks' alerts, with the windows they promise.
    let promised = [
        ("HaleServiceDown", Some("2m"), "hale_service_up"),
        ("HaleServiceErrorRateHigh", None, "0.05"),
        ("HaleServiceLatencyHigh", None, "> 2"),
        ("HaleSchedulerLate", None, "lateness"),
        (
            "HaleStoreWriteFailures",
            None,
            "hale_store_write_failures_total",
        ),
    ];
    for (alert, for_, in_expr) in promised {
        match alerts.get(alert) {
            None => problems.push(format!("no alert {alert}")),
            Some(rule) => {
                if for_.is_some() && rule.for_.as_deref() != for_ {
                    problems.push(format!("{alert}: for {:?}, not {for_:?}", rule.for_));
                }
                if !rule.expr.contains(in_expr) {
                    problems.push(format!("{alert}: {:?} lacks {in_expr:?}", rule.expr));
                }
            }
        }
    }
    problems
}

fn recorded(file: &RuleFile) -> BTreeSet<String> {
    file.groups
        .iter()
        .flat_map(|g| &g.rules)
        .filter_map(|r| r.record.clone())
        .collect()
}

fn promtool(args: &[&str], dir: &Path) -> (bool, String) {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("running promtool");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

// ---------------------------------------------------------------------
// The tests.

/// A service that answers, one that refuses connections and alerts a
/// webhook that refuses the message: every family /metrics has gets
/// samples (an open alert, an alert message in the outbox, a service down).
const MONITORED: &str = "
alerting:
  defaults: {group_window: 0s}
  channels:
    - {name: hook, type: webhook, url: '{target}/hook'}
services:
  - name: api
    url: '{target}/health'
    interval: 1s
    failure_threshold: 1
    success_threshold: 1
  - name: closed
    url: tcp://127.0.0.1:1
    interval: 1s
    failure_threshold: 1
    success_threshold: 1
    alerts: [hook]
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_and_the_rules_name_only_what_metrics_exports() {
    let app = spawn_app(Backend::Sqlite, MONITORED).await;
    let text = eventually("every family of /metrics with samples", || async {
        let text = app.get("/metrics").await.text().await.unwrap();
        let ready = [
            "hale_service_up{service=\"api\"} 1",
            "hale_service_up{service=\"closed\"} 0",
            "hale_alert_messages{channel=\"hook\",",
            "hale_store_size_bytes{",
        ]
        .iter()
        .all(|line| text.contains(line))
            && !text.contains("\nhale_store_written_results_total 0\n");
        ready.then_some(text)
    })
    .await;
    app.hale.shutdown().await;
    let exposition = Exposition::parse(&text);
    let rule_file = rules();
    let recorded = recorded(&rule_file);

    let dashboard: serde_json::Value = serde_json::from_str(&read("grafana/hale.json")).unwrap();
    let (exprs, variables) = dashboard_queries(&dashboard);
    let rule_exprs: Vec<String> = rule_file
        .groups
        .iter()
        .flat_map(|g| &g.rules)
        .map(|r| r.expr.clone())
        .collect();
    assert!(exprs.len() >= 20, "{} panel queries", exprs.len());
    assert!(rule_exprs.len() >= 8, "{} rules", rule_exprs.len());

    let mut problems = Vec::new();
    let mut named = BTreeSet::new();
    for expr in exprs.iter().chain(&rule_exprs) {
        problems.extend(missing(expr, &exposition, &recorded));
        if let Ok(n) = names_in(expr) {
            named.extend(n.selectors.into_iter().map(|s| s.name));
        }
    }
    for query in &variables {
        problems.extend(missing_in_variable(query, &exposition));
    }
    assert!(
        problems.is_empty(),
        "{}\n\n/metrics:\n{text}",
        problems.join("\n")
    );

    // Between them they show every family /metrics has.
    let shown: BTreeSet<String> = named
        .iter()
        .filter_map(|n| exposition.family(n).map(|(family, _)| family))
        .collect();
    let unshown: Vec<&String> = exposition
        .types
        .keys()
        .filter(|f| !shown.contains(*f))
        .collect();
    assert!(
        unshown.is_empty(),
        "not on the dashboard nor in a rule: {unshown:?}"
    );
}

/// The check above fails on what it should: a misspelt metric, label or
/// value, a histogram without its suffix, a suffix on what is no
/// histogram, an unknown function.
#[test]
fn the_metric_check_catches_misspellings() {
    let exposition = Exposition::parse(
        "# HELP hale_probes_total Probes.\n\
         # TYPE hale_probes_total counter\n\
         hale_probes_total{service=\"api\",outcome=\"success\"} 3\n\
         hale_probes_total{service=\"api\",outcome=\"failure\"} 0\n\
         # TYPE hale_probe_duration_seconds histogram\n\
         hale_probe_duration_seconds_sum{service=\"api\"} 0.01\n\
         hale_probe_duration_seconds_count{service=\"api\"} 3\n\
         hale_probe_duration_seconds_bucket{le=\"0.005\",service=\"api\"} 3\n\
         hale_probe_duration_seconds_bucket{le=\"+Inf\",service=\"api\"} 3\n\
         # TYPE hale_scheduled_services gauge\n\
         hale_scheduled_services 1\n\
         # TYPE hale_alert_messages gauge\n",
    );
    let recorded: BTreeSet<String> = ["service:hale_probes_failed:ratio_rate5m".to_string()].into();
    let fine = [
        "histogram_quantile(0.95, sum by (service, le) (rate(hale_probe_duration_seconds_bucket{service=~\"$service\"}[$__rate_interval])))",
        "sum(rate(hale_probe_duration_seconds_sum[5m])) / sum(rate(hale_probe_duration_seconds_count[5m]))",
        "sum without (outcome) (rate(hale_probes_total{outcome=\"failure\", instance=~\"$instance\"}[5m])) > 0.05",
        "service:hale_probes_failed:ratio_rate5m > 0.05 and on (instance) up{job=\"hale\"} == 1",
        "hale_scheduled_services offset 1h",
    ];
    for expr in fine {
        assert_eq!(
            missing(expr, &exposition, &recorded),
            Vec::<String>::new(),
            "{expr}"
        );
    }
    let wrong = [
        (
            "rate(hale_probes_totl[5m])",
            "hale_probes_totl: no such metric",
        ),
        (
            "hale_probe_duration_seconds > 1",
            "a histogram is queried by its _bucket",
        ),
        (
            "hale_scheduled_services_count",
            "hale_scheduled_services_count: no such metric",
        ),
        (
            "hale_probes_total_bucket",
            "hale_probes_total_bucket: no such metric",
        ),
        (
            "hale_probes_total{outcom=\"failure\"}",
            "has no label outcom",
        ),
        (
            "hale_probes_total{outcome=\"failed\"}",
            "no series with outcome=\"failed\"",
        ),
        ("sum by (servce) (hale_probes_total)", "grouping by servce"),
        ("rat(hale_probes_total[5m])", "no PromQL function rat()"),
        ("hale_alert_messages", "a gauge family without samples"),
        ("{__name__=\"hale_probes_total\"}", "without a metric name"),
    ];
    for (expr, problem) in wrong {
        let found = missing(expr, &exposition, &recorded);
        assert!(
            found.iter().any(|p| p.contains(problem)),
            "{expr}: expected {problem:?}, found {found:?}"
        );
    }
    assert!(
        missing_in_variable("label_values(hale_probes_total, servce)", &exposition)
            .iter()
            .any(|p| p.contains("no label servce"))
    );
    assert!(missing_in_variable(
        "label_values(hale_probes_total{instance=~\"$instance\"}, service)",
        &exposition
    )
    .is_empty());
}

#[test]
fn the_dashboard_is_importable() {
    let dashboard: serde_json::Value = serde_json::from_str(&read("grafana/hale.json")).unwrap();
    let schema = dashboard["schemaVersion"].as_u64().unwrap();
    assert!((36..=41).contains(&schema), "schemaVersion {schema}");
    let inputs = dashboard["__inputs"].as_array().unwrap();
    assert!(
        inputs
            .iter()
            .any(|i| i["name"] == "DS_PROMETHEUS" && i["pluginId"] == "prometheus"),
        "{inputs:?}"
    );
    assert!(
        dashboard["id"].is_null(),
        "an exported dashboard carries no id"
    );
    let variables = dashboard["templating"]["list"].as_array().unwrap();
    let service = variables
        .iter()
        .find(|v| v["name"] == "service")
        .expect("a service variable");
    assert_eq!(service["type"], "query");
    assert!(
        service["definition"]
            .as_str()
            .unwrap()
            .starts_with("label_values("),
        "{service}"
    );
    // Every panel and variable uses the imported data source; ids are unique.
    let mut ids = BTreeSet::new();
    let mut panels: Vec<&serde_json::Value> =
        dashboard["panels"].as_array().unwrap().iter().collect();
    while let Some(panel) = panels.pop() {
        assert!(
            ids.insert(panel["id"].as_u64().unwrap()),
            "id {} twice",
            panel["id"]
        );
        assert!(panel["gridPos"]["w"].as_u64().is_some(), "{panel}");
        if panel["type"] != "row" {
            assert_eq!(
                panel["datasource"]["uid"], "${DS_PROMETHEUS}",
                "{}",
                panel["title"]
            );
            for target in panel["targets"].as_array().unwrap() {
                assert_eq!(
                    target["datasource"]["uid"], "${DS_PROMETHEUS}",
                    "{}",
                    panel["title"]
                );
            }
        }
        panels.extend(panel["panels"].as_array().into_iter().flatten());
    }
    for variable in variables {
        assert_eq!(
            variable["datasource"]["uid"], "${DS_PROMETHEUS}",
            "{variable}"
        );
    }
}

/// Structure always; with promtool on PATH, `promtool check rules`, the
/// rules' unit tests (deploy/prometheus/hale-rules.test.yml) and the
/// dashboard's queries parsed by promtool too.
#[test]
fn the_rules_pass_promtool_or_the_structure_check() {
    let file = rules();
    let problems = structure_problems(&file);
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    if !on_path("promtool") {
        eprintln!("promtool is not on PATH: only the structure of the rules was checked (apt-get install prometheus)");
        return;
    }
    let dir = deploy("prometheus");
    let (ok, out) = promtool(&["check", "rules", "hale-rules.yml"], &dir);
    assert!(ok, "promtool check rules:\n{out}");
    assert!(out.contains("SUCCESS"), "{out}");
    let (ok, out) = promtool(&["test", "rules", "hale-rules.test.yml"], &dir);
    assert!(ok, "promtool test rules:\n{out}");

    // The dashboard's queries as recording rules, Grafana's variables
    // replaced by what they stand for, so promtool parses each.
    let dashboard: serde_json::Value = serde_json::from_str(&read("grafana/hale.json")).unwrap();
    let (exprs, _) = dashboard_queries(&dashboard);
    let mut yaml = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, expr) in exprs.iter().enumerate() {
        let expr = expr
            .replace("$__rate_interval", "1m")
            .replace("$instance", ".*")
            .replace("$service", ".*");
        yaml.push_str(&format!(
            "      - record: dashboard:query:{i}\n        expr: {}\n",
            serde_json::to_string(&expr).unwrap()
        ));
    }
    let temp = tempfile::tempdir().unwrap();
    std::fs::write(temp.path().join("dashboard.yml"), &yaml).unwrap();
    let (ok, out) = promtool(&["check", "rules", "dashboard.yml"], temp.path());
    assert!(ok, "the dashboard's queries, by promtool:\n{out}\n{yaml}");

    // And promtool fails where it should: a broken copy of the rules.
    let broken = read("prometheus/hale-rules.yml")
        .replace("expr: hale_service_up == 0", "expr: hale_service_up == (0");
    std::fs::write(temp.path().join("broken.yml"), broken).unwrap();
    let (ok, out) = promtool(&["check", "rules", "broken.yml"], temp.path());
    assert!(!ok, "promtool took a broken expression:\n{out}");
}

/// `key=value` lines of a unit file, by key.
fn directives(unit: &str) -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in unit.lines().map(str::trim) {
        if line.starts_with('#') || line.starts_with('[') {
            continue;
        }
        if let Some((key, value)) = line.split_once('=') {
            map.entry(key.trim().into())
                .or_default()
                .push(value.trim().into());
        }
    }
    map
}

#[test]
fn the_systemd_unit_is_confined_and_verifies() {
    let unit = read("hale.service");
    let d = directives(&unit);
    let one = |key: &str| -> &str {
        let values = d
            .get(key)
            .unwrap_or_else(|| panic!("no {key}= in deploy/hale.service"));
        values.last().unwrap()
    };
    for (key, value) in [
        ("DynamicUser", "yes"),
        ("StateDirectory", "hale"),
        ("WorkingDirectory", "/var/lib/hale"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("ProtectKernelTunables", "yes"),
        ("ProtectKernelModules", "yes"),
        ("ProtectKernelLogs", "yes"),
        (
            "RestrictAddressFamilies",
            "AF_INET AF_INET6 AF_UNIX AF_NETLINK",
        ),
        ("AmbientCapabilities", "CAP_NET_RAW"),
        ("CapabilityBoundingSet", "CAP_NET_RAW"),
        ("Restart", "on-failure"),
        ("LimitNOFILE", "65536"),
        (
            "ExecStart",
            "/usr/local/bin/hale serve --config /etc/hale/hale.yaml",
        ),
    ] {
        assert_eq!(one(key), value, "{key}");
    }
    assert_eq!(d["SystemCallFilter"][0], "@system-service");
    let environment = &d["Environment"];
    assert!(
        environment.iter().any(|e| e.starts_with("HALE_LISTEN=")),
        "{environment:?}"
    );
    assert!(
        environment.contains(&"DATABASE_URL=sqlite:///var/lib/hale/hale.db".to_string()),
        "{environment:?}"
    );

    let analyze = Path::new("/usr/bin/systemd-analyze");
    if !analyze.exists() && !on_path("systemd-analyze") {
        eprintln!("no systemd-analyze here: deploy/hale.service was not verified");
        return;
    }
    // verify wants ExecStart's binary to exist: a copy of the unit that
    // starts the hale this test was built with.
    let temp = tempfile::tempdir().unwrap();
    let copy = unit.replace(
        "ExecStart=/usr/local/bin/hale ",
        &format!("ExecStart={} ", env!("CARGO_BIN_EXE_hale")),
    );
    assert_ne!(copy, unit);
    let path = temp.path().join("hale.service");
    std::fs::write(&path, &copy).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("running systemd-analyze");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "systemd-analyze verify:\n{said}");
    for complaint in [
        "Unknown key",
        "Unknown section",
        "Unknown lvalue",
        "ignoring",
        "Failed to parse",
        "Invalid",
    ] {
        assert!(!said.contains(complaint), "systemd-analyze verify:\n{said}");
    }

    // Confined: systemd's own exposure score stays "OK" (at most 2.0 of 10).
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--threshold=20", "--no-pager"])
        .arg(&path)
        .output()
        .expect("running systemd-analyze security");
    assert!(
        out.status.success(),
        "systemd-analyze security:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
