//! The YAML configuration: parsed once, into typed values, at start.
//!
//! Every error names the file, the line and the field, e.g.
//! `hale.yaml:7:15: services[0].interval: invalid duration "5x" …`.
//! `${VAR}` is replaced from the environment before parsing, so secrets stay
//! out of the file.

mod duration;
mod gatus;
mod locate;

pub use duration::HumanDuration;

use crate::condition::Condition;
use serde::{de, Deserialize, Deserializer};
use std::{
    collections::BTreeMap, collections::HashSet, fmt, path::Path, path::PathBuf, time::Duration,
};

/// The whole configuration, valid by construction.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// Title of the default page at `/`.
    pub title: String,
    pub description: Option<String>,
    pub services: Vec<ServiceConfig>,
    pub status_pages: Vec<StatusPageConfig>,
    /// Things accepted but ignored (unsupported Gatus keys), located.
    pub warnings: Vec<ConfigIssue>,
    pub history: HistoryConfig,
}

/// `history:`: how long results are kept, and the error-rate bands.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryConfig {
    /// Raw results (default 7 days).
    #[serde(default = "default_raw_retention")]
    pub raw_retention: HumanDuration,
    /// Hourly buckets (default 90 days); daily ones are kept for ever.
    #[serde(default = "default_hourly_retention")]
    pub hourly_retention: HumanDuration,
    /// Error rate from which a service is in the warning band (0.05 = 5 %).
    #[serde(default = "default_warning_rate")]
    pub error_rate_warning: f64,
    /// Error rate above which it is critical.
    #[serde(default = "default_critical_rate")]
    pub error_rate_critical: f64,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        HistoryConfig {
            raw_retention: default_raw_retention(),
            hourly_retention: default_hourly_retention(),
            error_rate_warning: default_warning_rate(),
            error_rate_critical: default_critical_rate(),
        }
    }
}

fn default_raw_retention() -> HumanDuration {
    HumanDuration(Duration::from_secs(7 * 86_400))
}
fn default_hourly_retention() -> HumanDuration {
    HumanDuration(Duration::from_secs(90 * 86_400))
}
fn default_warning_rate() -> f64 {
    0.05
}
fn default_critical_rate() -> f64 {
    0.10
}

impl HistoryConfig {
    pub fn retention(&self) -> crate::history::Retention {
        let ms = |d: &HumanDuration| i64::try_from(d.0.as_millis()).unwrap_or(i64::MAX / 4);
        crate::history::Retention {
            raw_ms: ms(&self.raw_retention),
            hourly_ms: ms(&self.hourly_retention),
        }
    }

    pub fn bands(&self) -> app::model::Bands {
        app::model::Bands {
            warning: self.error_rate_warning,
            critical: self.error_rate_critical,
        }
    }

    fn issues(&self) -> Vec<(&'static str, String)> {
        let mut issues = Vec::new();
        let rate_ok = |r: f64| r > 0.0 && r <= 1.0;
        if !rate_ok(self.error_rate_warning) {
            issues.push((
                "error_rate_warning",
                format!(
                    "{} is not a rate between 0 and 1 (e.g. 0.05 for 5 %)",
                    self.error_rate_warning
                ),
            ));
        }
        if !rate_ok(self.error_rate_critical) {
            issues.push((
                "error_rate_critical",
                format!(
                    "{} is not a rate between 0 and 1 (e.g. 0.1 for 10 %)",
                    self.error_rate_critical
                ),
            ));
        } else if self.error_rate_critical < self.error_rate_warning {
            issues.push((
                "error_rate_critical",
                format!(
                    "{} is below error_rate_warning ({})",
                    self.error_rate_critical, self.error_rate_warning
                ),
            ));
        }
        if self.raw_retention.0 < Duration::from_secs(3_600) {
            issues.push((
                "raw_retention",
                format!("{} is shorter than an hour", self.raw_retention),
            ));
        }
        if self.hourly_retention.0 < Duration::from_secs(86_400) {
            issues.push((
                "hourly_retention",
                format!("{} is shorter than a day", self.hourly_retention),
            ));
        }
        issues
    }
}

/// One monitored service.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    pub name: String,
    #[serde(default)]
    pub group: Option<String>,
    #[serde(deserialize_with = "deserialize_url")]
    pub url: url::Url,
    #[serde(default)]
    pub method: HttpMethod,
    #[serde(default)]
    pub headers: Headers,
    #[serde(default)]
    pub body: Option<String>,
    /// HTTP: follow up to 10 redirects (`true`), or judge the redirect
    /// itself (`false`, so `[STATUS] == 301` can be checked).
    #[serde(default = "yes")]
    pub follow_redirects: bool,
    /// HTTPS and TLS: check the certificate chain and name (`true`), or
    /// accept any certificate (`false`; expiry is still read).
    #[serde(default = "yes")]
    pub verify_tls: bool,
    #[serde(default = "default_interval")]
    pub interval: HumanDuration,
    /// Defaults to the smaller of 10 s and the interval.
    #[serde(default)]
    pub timeout: Option<HumanDuration>,
    /// Empty means the kind's default (see [`ProbeKind::default_conditions`]).
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// DNS: the query to send to the server in `url`.
    #[serde(default)]
    pub dns: Option<DnsQuery>,
    /// Push: how late a push may be, past the interval, before it counts
    /// as missed. Default: a tenth of the interval, at least 10 s.
    #[serde(default)]
    pub grace: Option<HumanDuration>,
    /// A success slower than this counts as a slow answer; confirmed like a
    /// failure, slow answers make the service degraded.
    #[serde(default)]
    pub degraded_latency: Option<HumanDuration>,
    /// An error rate (over the last 100 results) at or above this makes a
    /// service that is not down degraded.
    #[serde(default = "default_degraded_error_rate")]
    pub degraded_error_rate: f64,
    /// Consecutive failures before a service is called down.
    #[serde(default = "default_failure_threshold")]
    pub failure_threshold: u32,
    /// Consecutive successes before a down service is called operational.
    #[serde(default = "default_success_threshold")]
    pub success_threshold: u32,
}

/// Request headers. They often carry secrets (from `${ENV}`), so their
/// values never appear in `Debug` output, and so never in a log line.
#[derive(Clone, Default, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct Headers(pub BTreeMap<String, String>);

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|k| (k, "<redacted>")))
            .finish()
    }
}

impl Headers {
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter()
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.keys()
    }
}

/// What kind of probe a service's URL asks for, by its scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeKind {
    /// `http://`, `https://`
    Http,
    /// `tcp://host:port`: a TCP connect.
    Tcp,
    /// `push://<token>`: the service calls `/api/push/<token>`.
    Push,
    /// `dns://server[:port]` with a `dns:` query.
    Dns,
    /// `tls://host[:port]`: a TLS handshake; reads the certificate.
    Tls,
    /// `icmp://host`: one echo request.
    Icmp,
}

/// A DNS record type a probe can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordType {
    A,
    Aaaa,
    Cname,
    Mx,
    Ns,
    Txt,
}

impl RecordType {
    pub fn code(self) -> u16 {
        match self {
            RecordType::A => 1,
            RecordType::Ns => 2,
            RecordType::Cname => 5,
            RecordType::Mx => 15,
            RecordType::Txt => 16,
            RecordType::Aaaa => 28,
        }
    }
}

impl<'de> Deserialize<'de> for RecordType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        parse_str(deserializer, "a DNS record type", |text| {
            Ok(match text.to_ascii_uppercase().as_str() {
                "A" => RecordType::A,
                "AAAA" => RecordType::Aaaa,
                "CNAME" => RecordType::Cname,
                "MX" => RecordType::Mx,
                "NS" => RecordType::Ns,
                "TXT" => RecordType::Txt,
                _ => {
                    return Err(format!(
                        "unsupported record type {text:?} (expected A, AAAA, CNAME, MX, NS or TXT)"
                    ))
                }
            })
        })
    }
}

/// What a DNS probe asks. Gatus's `query-name` / `query-type` work too.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsQuery {
    #[serde(alias = "query-name")]
    pub query_name: String,
    #[serde(alias = "query-type", default = "default_record_type")]
    pub query_type: RecordType,
}

fn default_record_type() -> RecordType {
    RecordType::A
}

impl ProbeKind {
    pub fn of(url: &url::Url) -> Option<ProbeKind> {
        match url.scheme() {
            "http" | "https" => Some(ProbeKind::Http),
            "tcp" => Some(ProbeKind::Tcp),
            "push" => Some(ProbeKind::Push),
            "dns" => Some(ProbeKind::Dns),
            "tls" => Some(ProbeKind::Tls),
            "icmp" => Some(ProbeKind::Icmp),
            _ => None,
        }
    }

    /// What "up" means when a service lists no conditions.
    pub fn default_conditions(self) -> Vec<Condition> {
        let texts: &[&str] = match self {
            ProbeKind::Http => &["[STATUS] < 400"],
            ProbeKind::Tcp | ProbeKind::Icmp => &["[CONNECTED] == true"],
            ProbeKind::Dns => &["[DNS_RCODE] == NOERROR"],
            ProbeKind::Tls => &["[CONNECTED] == true", "[CERTIFICATE_EXPIRATION] > 7d"],
            // A push is judged by its arrival, not by conditions.
            ProbeKind::Push => &[],
        };
        texts
            .iter()
            .map(|t| t.parse().expect("default conditions parse"))
            .collect()
    }
}

impl ServiceConfig {
    /// The probe kind; validated at load, so always known afterwards.
    pub fn kind(&self) -> ProbeKind {
        ProbeKind::of(&self.url).unwrap_or(ProbeKind::Http)
    }

    /// DNS: the server in `dns://server[:port]` (an IP address; port 53
    /// unless given).
    pub fn dns_server(&self) -> Result<std::net::SocketAddr, String> {
        let host = self.url.host_str().unwrap_or_default();
        let ip: std::net::IpAddr = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .map_err(|_| format!("the DNS server must be an IP address, not {host:?}"))?;
        Ok((ip, self.url.port().unwrap_or(53)).into())
    }

    /// Push: the token in `push://<token>`.
    pub fn push_token(&self) -> &str {
        self.url.host_str().unwrap_or_default()
    }

    pub fn push_grace(&self) -> Duration {
        self.grace
            .map(|g| g.0)
            .unwrap_or_else(|| (self.interval.0 / 10).max(Duration::from_secs(10)))
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
            .map(|t| t.0)
            .unwrap_or_else(|| self.interval.0.min(Duration::from_secs(10)))
    }
}

/// A public status page.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusPageConfig {
    pub slug: String,
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Service names, in the order shown (grouped by each service's group).
    pub services: Vec<String>,
}

/// An HTTP method, checked at load time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpMethod(pub reqwest::Method);

impl Default for HttpMethod {
    fn default() -> Self {
        HttpMethod(reqwest::Method::GET)
    }
}

impl<'de> Deserialize<'de> for HttpMethod {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        parse_str(deserializer, "an HTTP method", |text| {
            let upper = text.to_ascii_uppercase();
            match upper.as_str() {
                "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS" => {
                    upper.parse().map(HttpMethod).map_err(|e| format!("{e}"))
                }
                _ => Err(format!(
                    "unsupported HTTP method {text:?} (expected GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS)"
                )),
            }
        })
    }
}

/// Deserializes a string through `parse`. Parsing inside the visitor (not
/// after `String::deserialize` returns) keeps serde_yaml's line and column
/// on the error.
pub(crate) fn parse_str<'de, D, T>(
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

fn deserialize_url<'de, D: Deserializer<'de>>(deserializer: D) -> Result<url::Url, D::Error> {
    parse_str(deserializer, "a URL", |text| {
        url::Url::parse(text).map_err(|e| format!("invalid URL {text:?}: {e}"))
    })
}

fn valid_dns_name(name: &str) -> bool {
    let name = name.trim_end_matches('.');
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

pub(crate) fn yes() -> bool {
    true
}

pub(crate) fn default_interval() -> HumanDuration {
    HumanDuration(Duration::from_secs(60))
}
pub(crate) fn default_degraded_error_rate() -> f64 {
    0.05
}

pub(crate) fn default_failure_threshold() -> u32 {
    3
}
pub(crate) fn default_success_threshold() -> u32 {
    2
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    services: Vec<ServiceConfig>,
    /// Gatus's form of `services:`.
    #[serde(default)]
    endpoints: Vec<gatus::Endpoint>,
    #[serde(default)]
    status_pages: Vec<StatusPageConfig>,
    #[serde(default)]
    history: HistoryConfig,
    // Gatus's other top-level keys: accepted with a warning each, so a Gatus
    // config loads as it is. Inline, not flattened: flattening would make
    // serde buffer the document and lose every error's line.
    #[serde(default)]
    alerting: Option<serde_yaml::Value>,
    #[serde(default)]
    announcements: Option<serde_yaml::Value>,
    #[serde(default)]
    concurrency: Option<serde_yaml::Value>,
    #[serde(default)]
    connectivity: Option<serde_yaml::Value>,
    #[serde(default, rename = "disable-monitoring-lock")]
    disable_monitoring_lock: Option<serde_yaml::Value>,
    #[serde(default, rename = "external-endpoints")]
    external_endpoints: Option<serde_yaml::Value>,
    #[serde(default)]
    maintenance: Option<serde_yaml::Value>,
    #[serde(default)]
    metrics: Option<serde_yaml::Value>,
    #[serde(default)]
    security: Option<serde_yaml::Value>,
    #[serde(default, rename = "skip-invalid-config-update")]
    skip_invalid_config_update: Option<serde_yaml::Value>,
    #[serde(default)]
    storage: Option<serde_yaml::Value>,
    #[serde(default)]
    suites: Option<serde_yaml::Value>,
    #[serde(default)]
    ui: Option<serde_yaml::Value>,
    #[serde(default)]
    web: Option<serde_yaml::Value>,
}

impl RawConfig {
    fn gatus_settings(&self) -> Vec<&'static str> {
        let keys = [
            ("alerting", self.alerting.is_some()),
            ("announcements", self.announcements.is_some()),
            ("concurrency", self.concurrency.is_some()),
            ("connectivity", self.connectivity.is_some()),
            (
                "disable-monitoring-lock",
                self.disable_monitoring_lock.is_some(),
            ),
            ("external-endpoints", self.external_endpoints.is_some()),
            ("maintenance", self.maintenance.is_some()),
            ("metrics", self.metrics.is_some()),
            ("security", self.security.is_some()),
            (
                "skip-invalid-config-update",
                self.skip_invalid_config_update.is_some(),
            ),
            ("storage", self.storage.is_some()),
            ("suites", self.suites.is_some()),
            ("ui", self.ui.is_some()),
            ("web", self.web.is_some()),
        ];
        keys.into_iter()
            .filter(|(_, on)| *on)
            .map(|(k, _)| k)
            .collect()
    }
}

/// One problem in a config file, located.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigIssue {
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// The field, as a path: `services[2].url`.
    pub field: String,
    pub message: String,
}

/// Why a config could not be loaded: every problem found, with the file.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    pub file: PathBuf,
    pub issues: Vec<ConfigIssue>,
}

impl ConfigIssue {
    /// `FILE:LINE[:COLUMN]: FIELD: message`
    pub fn display<'a>(&'a self, file: &'a Path) -> impl fmt::Display + 'a {
        struct Located<'a>(&'a ConfigIssue, &'a Path);
        impl fmt::Display for Located<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let Located(issue, file) = self;
                write!(f, "{}", file.display())?;
                if let Some(line) = issue.line {
                    write!(f, ":{line}")?;
                    if let Some(column) = issue.column {
                        write!(f, ":{column}")?;
                    }
                }
                if issue.field.is_empty() {
                    write!(f, ": {}", issue.message)
                } else {
                    write!(f, ": {}: {}", issue.field, issue.message)
                }
            }
        }
        Located(self, file)
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, issue) in self.issues.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}", issue.display(&self.file))?;
        }
        Ok(())
    }
}

impl Config {
    /// Reads and parses a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let source = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.to_path_buf(),
            issues: vec![ConfigIssue {
                line: None,
                column: None,
                field: String::new(),
                message: format!("cannot read the file: {e}"),
            }],
        })?;
        Config::parse(&source, path, |name| std::env::var(name).ok())
    }

    /// Parses config text; `path` only names the file in errors, and `env`
    /// resolves `${VAR}`.
    pub fn parse(
        source: &str,
        path: &Path,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let fail = |issues| ConfigError {
            file: path.to_path_buf(),
            issues,
        };
        let expanded = expand_env(source, &env).map_err(|issue| fail(vec![issue]))?;
        if expanded.trim().is_empty() {
            return Ok(Config::empty());
        }
        let raw: RawConfig =
            serde_yaml::from_str(&expanded).map_err(|e| fail(vec![serde_issue(&e)]))?;
        let mut warnings: Vec<ConfigIssue> = raw
            .gatus_settings()
            .into_iter()
            .map(|key| ConfigIssue {
                line: locate::line_of(source, &[locate::Segment::Key(key)]),
                column: None,
                field: key.to_string(),
                message: format!("Gatus key `{key}` is not supported by Hale and is ignored"),
            })
            .collect();
        let gatus = gatus::convert(raw.endpoints, source);
        warnings.extend(gatus.warnings);
        let mut issues = gatus.errors;
        let native: Vec<(usize, ServiceConfig)> = raw.services.into_iter().enumerate().collect();
        issues.extend(validate(
            &[("services", &native), ("endpoints", &gatus.services)],
            &raw.status_pages,
            source,
        ));
        for (field, message) in raw.history.issues() {
            let path = [locate::Segment::Key("history"), locate::Segment::Key(field)];
            issues.push(ConfigIssue {
                line: locate::line_of(source, &path),
                column: None,
                field: locate::display(&path),
                message,
            });
        }
        if !issues.is_empty() {
            return Err(fail(issues));
        }
        let mut services: Vec<ServiceConfig> = native
            .into_iter()
            .chain(gatus.services)
            .map(|(_, s)| s)
            .collect();
        for service in &mut services {
            if service.conditions.is_empty() {
                service.conditions = service.kind().default_conditions();
            }
        }
        Ok(Config {
            title: raw.title.unwrap_or_else(|| "Service status".into()),
            description: raw.description,
            services,
            status_pages: raw.status_pages,
            warnings,
            history: raw.history,
        })
    }

    /// No services, no pages: what `hale serve` runs with no config file.
    pub fn empty() -> Config {
        Config {
            title: "Service status".into(),
            ..Default::default()
        }
    }

    pub fn service(&self, name: &str) -> Option<&ServiceConfig> {
        self.services.iter().find(|s| s.name == name)
    }
}

/// Replaces `${VAR}` with the variable's value; `$${` stays a literal `${`.
fn expand_env(source: &str, env: &impl Fn(&str) -> Option<String>) -> Result<String, ConfigIssue> {
    let mut out = String::with_capacity(source.len());
    for (index, line) in source.split_inclusive('\n').enumerate() {
        let mut rest = line;
        while let Some(start) = rest.find("${") {
            if rest[..start].ends_with('$') {
                out.push_str(&rest[..start - 1]);
                out.push_str("${");
                rest = &rest[start + 2..];
                continue;
            }
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let issue = |message: String| ConfigIssue {
                line: Some(index + 1),
                column: Some(line.len() - rest.len() + start + 1),
                field: String::new(),
                message,
            };
            let end = after
                .find('}')
                .ok_or_else(|| issue("unclosed ${ (write $${ for a literal ${)".into()))?;
            let name = &after[..end];
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(issue(format!(
                    "${{{name}}} is not a valid environment variable name"
                )));
            }
            let value = env(name)
                .ok_or_else(|| issue(format!("environment variable {name} is not set")))?;
            if value.contains('\n') {
                return Err(issue(format!(
                    "environment variable {name} contains a newline"
                )));
            }
            out.push_str(&value);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
    }
    Ok(out)
}

/// serde_yaml says `services[0].interval: message at line 7 column 15`;
/// split that into our parts.
fn serde_issue(error: &serde_yaml::Error) -> ConfigIssue {
    let mut message = error.to_string();
    if let Some(at) = message.rfind(" at line ") {
        message.truncate(at);
    }
    let (field, message) = match message.split_once(": ") {
        Some((field, rest)) if !field.contains(' ') => (field.to_string(), rest.to_string()),
        _ => (String::new(), message),
    };
    ConfigIssue {
        line: error.location().map(|l| l.line()),
        column: error.location().map(|l| l.column()),
        field,
        message,
    }
}

/// Checks what parsing alone can't: each section's services (with their
/// index in that section, for locating) and the pages' references.
fn validate(
    sections: &[(&'static str, &[(usize, ServiceConfig)])],
    status_pages: &[StatusPageConfig],
    source: &str,
) -> Vec<ConfigIssue> {
    let mut issues = Vec::new();
    let mut issue = |path: Vec<locate::Segment<'_>>, message: String| {
        issues.push(ConfigIssue {
            line: locate::line_of(source, &path),
            column: None,
            field: locate::display(&path),
            message,
        });
    };
    use locate::Segment::{Index, Key};

    let mut names = HashSet::new();
    let mut push_tokens = HashSet::new();
    let mut icmp_checked = false;
    for (section, services) in sections {
        for (i, service) in services.iter().map(|(i, s)| (*i, s)) {
            let at = |field: &'static str| {
                let mut path = vec![Key(section), Index(i)];
                // Gatus keeps the timeout under `client:`.
                if *section == "endpoints" && field == "timeout" {
                    path.push(Key("client"));
                }
                path.push(Key(field));
                path
            };
            if service.name.trim().is_empty() {
                issue(at("name"), "must not be empty".into());
            } else if !names.insert(service.name.as_str()) {
                issue(
                    at("name"),
                    format!("duplicate service name {:?}", service.name),
                );
            }
            match ProbeKind::of(&service.url) {
                None => issue(
                    at("url"),
                    format!(
                    "unsupported scheme {:?} (expected http, https, tcp, tls, icmp, dns or push)",
                    service.url.scheme()
                ),
                ),
                Some(ProbeKind::Tls) if service.url.host_str().is_none_or(str::is_empty) => issue(
                    at("url"),
                    "a tls:// URL needs a host: tls://host[:port]".into(),
                ),
                Some(ProbeKind::Icmp) => {
                    if service.url.host_str().is_none_or(str::is_empty) {
                        issue(at("url"), "an icmp:// URL needs a host: icmp://host".into());
                    } else if !icmp_checked {
                        icmp_checked = true;
                        if let Err(e) = crate::probe::icmp::check_permission() {
                            issue(at("url"), e);
                        }
                    }
                }
                Some(ProbeKind::Tcp)
                    if service.url.host_str().is_none() || service.url.port().is_none() =>
                {
                    issue(
                        at("url"),
                        "a tcp:// URL needs a host and a port: tcp://host:port".into(),
                    )
                }
                Some(ProbeKind::Push) => {
                    let token = service.push_token();
                    let valid = token.len() >= 8
                        && token
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                    if !valid {
                        issue(
                        at("url"),
                        "a push token must be at least 8 letters, digits, - or _: push://<token>"
                            .into(),
                    );
                    } else if !push_tokens.insert(token) {
                        issue(
                            at("url"),
                            "another service already uses this push token".into(),
                        );
                    }
                    if !service.conditions.is_empty() {
                        issue(
                            at("conditions"),
                            "push services are judged by their pushes and take no conditions"
                                .into(),
                        );
                    }
                }
                Some(ProbeKind::Dns) => {
                    if let Err(e) = service.dns_server() {
                        issue(at("url"), e);
                    }
                    match &service.dns {
                        None => issue(
                            at("dns"),
                            "a dns:// service needs `dns: {query_name: …, query_type: A}`".into(),
                        ),
                        Some(q) if !valid_dns_name(&q.query_name) => issue(
                            at("dns"),
                            format!("{:?} is not a valid DNS name", q.query_name),
                        ),
                        Some(_) => {}
                    }
                }
                Some(_) => {}
            }
            if service.dns.is_some() && service.kind() != ProbeKind::Dns {
                issue(at("dns"), "only dns:// services take a dns: query".into());
            }
            if service.interval.0 < Duration::from_secs(1) {
                issue(
                    at("interval"),
                    format!("{} is below the 1s minimum", service.interval),
                );
            }
            if let Some(timeout) = service.timeout {
                if timeout.0.is_zero() {
                    issue(at("timeout"), "must be above zero".into());
                } else if timeout > service.interval {
                    issue(
                        at("timeout"),
                        format!(
                            "{timeout} is longer than the interval ({})",
                            service.interval
                        ),
                    );
                }
            }
            if service.failure_threshold == 0 {
                issue(at("failure_threshold"), "must be at least 1".into());
            }
            if !(service.degraded_error_rate > 0.0 && service.degraded_error_rate <= 1.0) {
                issue(
                    at("degraded_error_rate"),
                    format!(
                        "{} is not a rate between 0 and 1 (e.g. 0.05 for 5 %)",
                        service.degraded_error_rate
                    ),
                );
            }
            if service.success_threshold == 0 {
                issue(at("success_threshold"), "must be at least 1".into());
            }
            for header in service.headers.keys() {
                if reqwest::header::HeaderName::from_bytes(header.as_bytes()).is_err() {
                    issue(
                        at("headers"),
                        format!("{header:?} is not a valid header name"),
                    );
                }
            }
        }
    }

    let mut slugs = HashSet::new();
    for (i, page) in status_pages.iter().enumerate() {
        let at = |field: &'static str| vec![Key("status_pages"), Index(i), Key(field)];
        let valid_slug = !page.slug.is_empty()
            && page
                .slug
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid_slug {
            issue(
                at("slug"),
                format!(
                    "{:?} must be lowercase letters, digits and dashes",
                    page.slug
                ),
            );
        } else if !slugs.insert(page.slug.as_str()) {
            issue(
                at("slug"),
                format!("duplicate status page slug {:?}", page.slug),
            );
        }
        for name in &page.services {
            if !names.contains(name.as_str()) {
                issue(at("services"), format!("unknown service {name:?}"));
            }
        }
    }
    issues
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(source: &str) -> Result<Config, ConfigError> {
        Config::parse(source, Path::new("hale.yaml"), |name| {
            (name == "TOKEN").then(|| "s3cret".to_string())
        })
    }

    fn error(source: &str) -> String {
        parse(source)
            .expect_err("config should be rejected")
            .to_string()
    }

    const GOOD: &str = r#"
title: Acme status
services:
  - name: api
    group: Core
    url: https://api.example.com/health
    interval: 30s
    timeout: 5s
    headers:
      Authorization: Bearer ${TOKEN}
    conditions:
      - "[STATUS] == 200"
      - "[RESPONSE_TIME] < 500"
      - "[BODY].status == UP"
  - name: web
    url: http://127.0.0.1:8080/
status_pages:
  - slug: public
    title: Acme
    services: [api, web]
"#;

    #[test]
    fn parses_a_full_config() {
        let config = parse(GOOD).unwrap();
        assert_eq!(config.title, "Acme status");
        assert_eq!(config.services.len(), 2);
        let api = &config.services[0];
        assert_eq!(api.interval.0, Duration::from_secs(30));
        assert_eq!(api.timeout(), Duration::from_secs(5));
        assert_eq!(api.conditions.len(), 3);
        assert_eq!(api.headers.0["Authorization"], "Bearer s3cret");
        let debug = format!("{api:?}");
        assert!(
            !debug.contains("s3cret"),
            "secrets stay out of Debug: {debug}"
        );
        assert!(
            debug.contains("\"Authorization\": \"<redacted>\""),
            "{debug}"
        );
        assert_eq!(api.failure_threshold, 3);
        assert_eq!(api.success_threshold, 2);
        let web = &config.services[1];
        assert_eq!(web.interval.0, Duration::from_secs(60));
        assert_eq!(web.timeout(), Duration::from_secs(10));
        assert_eq!(web.conditions[0].text(), "[STATUS] < 400");
        assert_eq!(config.status_pages[0].services, ["api", "web"]);
    }

    #[test]
    fn push_services_take_a_token_and_a_grace() {
        let config = parse("services:\n  - {name: cron, url: 'push://nightly-backup', interval: 1h}\n  - {name: q, url: 'push://queue_worker', interval: 30s, grace: 5s}\n").unwrap();
        assert_eq!(config.services[0].kind(), ProbeKind::Push);
        assert_eq!(config.services[0].push_token(), "nightly-backup");
        assert_eq!(config.services[0].push_grace(), Duration::from_secs(360));
        assert!(config.services[0].conditions.is_empty());
        assert_eq!(config.services[1].push_grace(), Duration::from_secs(5));
        let short = error("services:\n  - {name: a, url: 'push://short'}\n");
        assert!(
            short.contains("services[0].url: a push token must be at least 8"),
            "{short}"
        );
        let twice = error("services:\n  - {name: a, url: 'push://same-token'}\n  - {name: b, url: 'push://same-token'}\n");
        assert!(
            twice.contains("services[1].url: another service already uses this push token"),
            "{twice}"
        );
        let judged = error(
            "services:\n  - {name: a, url: 'push://token-123', conditions: ['[STATUS] == 200']}\n",
        );
        assert!(judged.contains("take no conditions"), "{judged}");
    }

    #[test]
    fn dns_services_take_a_server_and_a_query() {
        let config = parse("services:\n  - {name: d, url: 'dns://9.9.9.9', dns: {query_name: example.com, query_type: aaaa}}\n  - {name: g, url: 'dns://[::1]:5353', dns: {query-name: example.org}}\n").unwrap();
        let (d, g) = (&config.services[0], &config.services[1]);
        assert_eq!(d.kind(), ProbeKind::Dns);
        assert_eq!(d.dns_server().unwrap(), "9.9.9.9:53".parse().unwrap());
        assert_eq!(d.dns.as_ref().unwrap().query_type, RecordType::Aaaa);
        assert_eq!(d.conditions[0].text(), "[DNS_RCODE] == NOERROR");
        assert_eq!(g.dns_server().unwrap(), "[::1]:5353".parse().unwrap());
        assert_eq!(g.dns.as_ref().unwrap().query_type, RecordType::A);
        let table = [
            ("services:\n  - {name: d, url: 'dns://9.9.9.9'}\n", "services[0].dns: a dns:// service needs"),
            ("services:\n  - {name: d, url: 'dns://resolver.lan', dns: {query_name: x.com}}\n", "services[0].url: the DNS server must be an IP address"),
            ("services:\n  - {name: d, url: 'dns://1.1.1.1', dns: {query_name: 'bad name'}}\n", "services[0].dns: \"bad name\" is not a valid DNS name"),
            ("services:\n  - {name: d, url: 'dns://1.1.1.1', dns: {query_name: x.com, query_type: SRV}}\n", "unsupported record type \"SRV\""),
            ("services:\n  - {name: d, url: 'http://x/', dns: {query_name: x.com}}\n", "services[0].dns: only dns:// services take a dns: query"),
        ];
        for (source, expected) in table {
            let message = error(source);
            assert!(message.contains(expected), "{message}");
        }
    }

    const GATUS: &str = r#"storage:
  type: sqlite
  path: data.db
alerting:
  slack:
    webhook-url: "https://hooks.example/x"
endpoints:
  - name: website
    group: core
    url: "https://example.org/health"
    interval: 5m
    client:
      timeout: 5s
      insecure: true
      ignore-redirect: true
      dns-resolver: "tcp://1.1.1.1:53"
    conditions:
      - "[STATUS] == 200"
      - "[RESPONSE_TIME] < 300"
    alerts:
      - type: slack
  - name: resolver
    url: "8.8.8.8"
    dns:
      query-name: "example.org"
      query-type: "A"
    conditions: ["[DNS_RCODE] == NOERROR"]
  - name: retired
    url: "https://old.example.org/"
    enabled: false
"#;

    #[test]
    fn a_gatus_config_loads_with_a_warning_per_unsupported_key() {
        let config = parse(GATUS).unwrap();
        let names: Vec<_> = config.services.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["website", "resolver"]);
        let website = &config.services[0];
        assert_eq!(website.group.as_deref(), Some("core"));
        assert_eq!(website.interval.0, Duration::from_secs(300));
        assert_eq!(website.timeout(), Duration::from_secs(5));
        assert!(!website.verify_tls);
        assert!(!website.follow_redirects);
        assert_eq!(website.conditions.len(), 2);
        let resolver = &config.services[1];
        assert_eq!(resolver.kind(), ProbeKind::Dns);
        assert_eq!(
            resolver.dns_server().unwrap(),
            "8.8.8.8:53".parse().unwrap()
        );

        let warnings: Vec<String> = config
            .warnings
            .iter()
            .map(|w| w.display(Path::new("gatus.yaml")).to_string())
            .collect();
        assert_eq!(
            warnings,
            [
                "gatus.yaml:4: alerting: Gatus key `alerting` is not supported by Hale and is ignored",
                "gatus.yaml:1: storage: Gatus key `storage` is not supported by Hale and is ignored",
                "gatus.yaml:20: endpoints[0].alerts: Gatus key `alerts` is not supported by Hale and is ignored",
                "gatus.yaml:16: endpoints[0].client.dns-resolver: Gatus key `client.dns-resolver` is not supported by Hale and is ignored",
            ]
        );
    }

    #[test]
    fn gatus_endpoints_are_validated_like_services() {
        let table = [
            (
                "endpoints:\n  - name: w\n    url: 'wss://x/'\n",
                "hale.yaml:3: endpoints[0].url: Hale does not probe wss:// endpoints yet",
            ),
            (
                "services:\n  - {name: a, url: 'http://x/'}\nendpoints:\n  - name: a\n    url: 'http://y/'\n",
                "hale.yaml:4: endpoints[0].name: duplicate service name \"a\"",
            ),
            (
                "endpoints:\n  - name: a\n    url: 'http://y/'\n    interval: 10s\n    client: {timeout: 20s}\n",
                "hale.yaml:5: endpoints[0].client.timeout: 20s is longer than the interval (10s)",
            ),
        ];
        for (source, expected) in table {
            let message = error(source);
            assert!(
                message.starts_with(expected),
                "got {message}\nwanted {expected}"
            );
        }
        // Not Gatus, not Hale: still an error.
        assert!(error("servics: []\n").contains("unknown field `servics`"));
    }

    #[test]
    fn each_kind_gets_its_default_conditions() {
        let config = parse("services:\n  - {name: db, url: 'tcp://127.0.0.1:5432'}\n  - {name: web, url: 'https://x/', conditions: []}\n").unwrap();
        assert_eq!(config.services[0].kind(), ProbeKind::Tcp);
        assert_eq!(
            config.services[0].conditions[0].text(),
            "[CONNECTED] == true"
        );
        assert_eq!(config.services[1].kind(), ProbeKind::Http);
        assert_eq!(config.services[1].conditions[0].text(), "[STATUS] < 400");
    }

    #[test]
    fn empty_file_is_an_empty_config() {
        let config = parse("# nothing yet\n").unwrap();
        assert!(config.services.is_empty());
        assert_eq!(config.title, "Service status");
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let table: &[(&str, &str)] = &[
            (
                "services:\n  - name: a\n    url: http://x/\n    interval: 5x\n",
                "hale.yaml:4:15: services[0].interval: invalid duration \"5x\"",
            ),
            (
                "services:\n  - name: a\n    url: not a url\n",
                "hale.yaml:3:10: services[0].url: invalid URL \"not a url\": relative URL without a base",
            ),
            (
                "services:\n  - name: a\n    url: http://x/\n    conditions:\n      - \"[STATUS] = 200\"\n",
                "hale.yaml:5:9: services[0].conditions[0]: condition \"[STATUS] = 200\" has no operator",
            ),
            (
                "services:\n  - name: a\n    url: http://x/\n    intervall: 5s\n",
                "hale.yaml:4:5: services[0]: unknown field `intervall`",
            ),
            (
                "services:\n  - name: a\n    url: http://x/\n  - name: a\n    url: http://y/\n",
                "hale.yaml:4: services[1].name: duplicate service name \"a\"",
            ),
            (
                "services:\n  - name: a\n    url: ftp://x/\n",
                "hale.yaml:3: services[0].url: unsupported scheme \"ftp\"",
            ),
            (
                "services:\n  - name: a\n    url: tcp://db.internal\n",
                "hale.yaml:3: services[0].url: a tcp:// URL needs a host and a port",
            ),
            (
                "services:\n  - name: a\n    url: http://x/\n    interval: 10s\n    timeout: 20s\n",
                "hale.yaml:5: services[0].timeout: 20s is longer than the interval (10s)",
            ),
            (
                "services:\n  - name: a\n    url: http://x/\n    interval: 500ms\n",
                "hale.yaml:4: services[0].interval: 500ms is below the 1s minimum",
            ),
            (
                "services:\n  - name: a\n    url: http://x/\n    method: FETCH\n",
                "hale.yaml:4:13: services[0].method: unsupported HTTP method \"FETCH\"",
            ),
            (
                "services:\n  - name: a\n    url: http://x/\nstatus_pages:\n  - slug: Public Page\n    title: P\n    services: [a, b]\n",
                "hale.yaml:5: status_pages[0].slug: \"Public Page\" must be lowercase",
            ),
            (
                "services:\n  - name: a\n    url: http://x/\nstatus_pages:\n  - slug: p\n    title: P\n    services: [a, b]\n",
                "hale.yaml:7: status_pages[0].services: unknown service \"b\"",
            ),
            (
                "services:\n  - name: a\n    url: http://x/${MISSING}\n",
                "hale.yaml:3:19: environment variable MISSING is not set",
            ),
        ];
        for (source, expected) in table {
            let message = error(source);
            assert!(
                message.starts_with(expected),
                "for:\n{source}\ngot:      {message}\nexpected: {expected}"
            );
        }
    }

    #[test]
    fn reports_every_validation_problem_at_once() {
        let message =
            error("services:\n  - name: a\n    url: ftp://x/\n    failure_threshold: 0\n");
        assert_eq!(message.lines().count(), 2, "{message}");
        assert!(message.contains("hale.yaml:4: services[0].failure_threshold: must be at least 1"));
    }

    #[test]
    fn a_literal_dollar_brace_survives() {
        let config = parse("title: costs $${PRICE}\n").unwrap();
        assert_eq!(config.title, "costs ${PRICE}");
    }
}
