//! The YAML configuration: parsed once, into typed values, at start.
//!
//! - `raw`: what serde reads from the file (serde-saphyr, which keeps the
//!   position of every value it reads);
//! - `build`: every check across values, every bound, and each service's
//!   typed target;
//! - `gatus`: Gatus's `endpoints:` form, turned into services;
//! - `env`: `${VAR}` from the environment, before parsing.
//!
//! Every error names the file, the line and the field, e.g.
//! `hale.yaml:7:15: services[0].interval: invalid duration "5x" …`, and
//! every problem is reported at once. Checking a file touches nothing but
//! the file: `hale validate` gives the same answer on any machine.

pub mod alerting;
mod build;
mod env;
mod gatus;
mod raw;

pub use build::limits;

use crate::history::{HistoryConfig, HistorySettings};
use crate::probe::ProbeSpec;
pub use alerting::{
    default_rules, AlertRule, AlertingConfig, Channel, ChannelKind, RuleKind, SmtpSecurity,
};
use serde_saphyr::{Location, Spanned};
use std::{collections::HashSet, fmt, path::Path, path::PathBuf, time::Duration};

/// Files larger than this are refused: a config of 10,000 services is
/// about 2 MiB.
pub const MAX_FILE_BYTES: usize = 16 * 1024 * 1024;
/// Deeper nesting than this is refused (a config needs about six levels);
/// the parser's work stays linear in the file's size.
pub const MAX_DEPTH: usize = 64;

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
    /// Who may run diagnostics (`diagnostics:`).
    pub diagnostics: DiagnosticsAccess,
    /// Where alerts go (`alerting:`).
    pub alerting: AlertingConfig,
}

/// `diagnostics:` — who may run a service's diagnostics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiagnosticsAccess {
    /// Accounts and tokens with the `health_checker` role or above.
    #[default]
    HealthChecker,
    /// Anyone, each client held to a few runs a minute.
    Public,
}

/// One monitored service, ready to run.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceConfig {
    pub name: String,
    pub group: Option<String>,
    /// The target as written, for people (reports, `hale check`).
    pub url: url::Url,
    /// What to probe, with what timeout, judged by which conditions.
    pub probe: ProbeSpec,
    pub interval: Duration,
    /// A success slower than this counts as a slow answer; confirmed like a
    /// failure, slow answers make the service degraded.
    pub degraded_latency: Option<Duration>,
    /// An error rate (over the last 100 results) at or above this makes a
    /// service that is not down degraded.
    pub degraded_error_rate: f64,
    /// Consecutive failures before a service is called down.
    pub failure_threshold: u32,
    /// Consecutive successes before a down service is called operational.
    pub success_threshold: u32,
    /// The alerting channels its alerts go to, by name.
    pub alerts: Vec<String>,
    /// Its service level objective, if it declares one.
    pub slo: Option<Slo>,
}

/// A service level objective: the share of results that should succeed
/// over a rolling window (docs/configuration.md, "SLO").
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Slo {
    /// 0.999 for 99.9 %.
    pub objective: f64,
    pub window: std::time::Duration,
}

impl Slo {
    /// The share of results that may fail: 0.001 for 99.9 %.
    pub fn error_budget(&self) -> f64 {
        1.0 - self.objective
    }
}

impl ServiceConfig {
    pub fn kind(&self) -> crate::probe::ProbeKind {
        self.probe.target.kind()
    }
}

/// A public status page.
#[derive(Clone, Debug)]
pub struct StatusPageConfig {
    pub slug: String,
    pub title: String,
    pub description: Option<String>,
    /// Service names, in the order shown (grouped by each service's group).
    pub services: Vec<String>,
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

/// An issue at a value the parser located.
pub(crate) fn issue_at(location: &Location, field: String, message: String) -> ConfigIssue {
    let known = |n: u64| (n > 0).then_some(n as usize);
    ConfigIssue {
        line: known(location.line()),
        column: known(location.line()).and(known(location.column())),
        field,
        message,
    }
}

/// An issue about a key, at the key rather than its value: `at` is where
/// the parser put the value, and the key is the last `key:` before it
/// (block or flow style alike).
pub(crate) fn key_issue(
    text: &str,
    at: &Location,
    key: &str,
    field: String,
    message: String,
) -> ConfigIssue {
    let before = at
        .span()
        .byte_offset()
        .and_then(|offset| text.get(..offset as usize));
    let found = before.and_then(|before| {
        [
            format!("{key}:"),
            format!("\"{key}\":"),
            format!("'{key}':"),
        ]
        .iter()
        .filter_map(|written| before.rfind(written.as_str()))
        .max()
    });
    match found {
        Some(offset) => ConfigIssue {
            field,
            ..at_offset(text.as_bytes(), offset, message)
        },
        None => issue_at(at, field, message),
    }
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

/// An issue about the file as a whole, at a byte offset of it.
fn at_offset(source: &[u8], offset: usize, message: String) -> ConfigIssue {
    let before = &source[..offset.min(source.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    ConfigIssue {
        line: Some(line),
        column: Some(column),
        field: String::new(),
        message,
    }
}

impl Config {
    /// Reads and parses a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let fail = |issue| ConfigError {
            file: path.to_path_buf(),
            issues: vec![issue],
        };
        let bytes = std::fs::read(path).map_err(|e| {
            fail(ConfigIssue {
                line: None,
                column: None,
                field: String::new(),
                message: format!("cannot read the file: {e}"),
            })
        })?;
        if bytes.len() > MAX_FILE_BYTES {
            return Err(fail(at_offset(
                &bytes,
                MAX_FILE_BYTES,
                format!(
                    "the file is {} bytes, over the {MAX_FILE_BYTES}-byte limit",
                    bytes.len()
                ),
            )));
        }
        let source = std::str::from_utf8(&bytes).map_err(|e| {
            fail(at_offset(
                &bytes,
                e.valid_up_to(),
                "the file is not UTF-8 text".into(),
            ))
        })?;
        Config::parse(source, path, |name| std::env::var(name).ok())
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
        if source.len() > MAX_FILE_BYTES {
            let message = format!("the text is over the {MAX_FILE_BYTES}-byte limit");
            return Err(fail(vec![at_offset(
                source.as_bytes(),
                MAX_FILE_BYTES,
                message,
            )]));
        }
        let expanded = env::expand_env(source, &env).map_err(|issue| fail(vec![issue]))?;
        if expanded.trim().is_empty() {
            return Ok(Config::empty());
        }
        let raw = read(&expanded).map_err(|issue| fail(vec![issue]))?;
        let mut warnings: Vec<ConfigIssue> = raw
            .gatus_settings()
            .into_iter()
            .map(|(key, at)| {
                let message = format!("Gatus key `{key}` is not supported by Hale and is ignored");
                key_issue(&expanded, at, key, key.to_string(), message)
            })
            .collect();
        let mut issues = build::Issues(Vec::new());
        let alerting = alerting::build(raw.alerting, &expanded, &mut issues.0, &mut warnings);
        let channels: HashSet<&str> = alerting.channels.iter().map(|c| c.name.as_str()).collect();
        let gatus = gatus::convert(raw.endpoints, &expanded, &channels);
        warnings.extend(gatus.warnings);
        issues.0.extend(gatus.errors);
        let native: Vec<_> = raw.services.into_iter().enumerate().collect();
        // Every name written counts for the pages, so a service with a
        // mistake of its own doesn't also make every page that lists it
        // wrong.
        let written: HashSet<String> = native
            .iter()
            .chain(gatus.services.iter())
            .map(|(_, s)| s.value.name.value.trim().to_string())
            .collect();
        let services = build::services(
            vec![("services", native), ("endpoints", gatus.services)],
            &channels,
            &mut issues,
        );
        let names = written.iter().map(String::as_str).collect();
        let status_pages = build::pages(raw.status_pages, &names, &mut issues);
        let history = match raw.history {
            None => HistoryConfig::default(),
            Some(Spanned { value, defined, .. }) => {
                for (field, message) in value.issues() {
                    issues
                        .0
                        .push(issue_at(&defined, format!("history.{field}"), message));
                }
                value
            }
        };
        if !issues.0.is_empty() {
            return Err(fail(issues.0));
        }
        Ok(Config {
            title: raw.title.unwrap_or_else(|| "Service status".into()),
            description: raw.description,
            services,
            status_pages,
            warnings,
            history,
            diagnostics: raw.diagnostics.unwrap_or_default(),
            alerting,
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

    /// What history needs: retention, bands, and how far each service's
    /// results cover (twice its interval).
    pub fn history_settings(&self) -> HistorySettings {
        HistorySettings {
            retention: self.history.retention(),
            bands: self.history.bands(),
            caps: self
                .services
                .iter()
                .map(|s| {
                    // Intervals are at most a month: this can't overflow.
                    let interval = s.interval.as_millis() as i64;
                    (s.name.clone(), interval * 2)
                })
                .collect(),
        }
    }
}

/// A one-service config, for tests: `yaml` holds the service's fields
/// after `name`, indented four spaces; `${TOKEN}` is `s3cret`.
#[cfg(test)]
pub(crate) fn test_service(yaml: &str) -> ServiceConfig {
    let source = format!("services:\n  - name: t\n{yaml}");
    Config::parse(&source, Path::new("t.yaml"), |_| Some("s3cret".into()))
        .unwrap_or_else(|e| panic!("{e}"))
        .services
        .remove(0)
}

/// Reads the text into the raw config, with the path of the field that
/// failed and its position.
fn read(text: &str) -> Result<raw::RawConfig, ConfigIssue> {
    let mut options = serde_saphyr::Options::default();
    // YAML 1.2: `yes`, `no`, `on` and `off` are text, as they were with
    // serde_yaml.
    options.strict_booleans = true;
    options.with_snippet = false;
    if let Some(budget) = options.budget.as_mut() {
        budget.max_depth = MAX_DEPTH;
    }
    let mut failed_at: Option<String> = None;
    let outcome = serde_saphyr::with_deserializer_from_str_with_options(text, options, |de| {
        serde_path_to_error::deserialize(de).map_err(|e| {
            // `Spanned` values read as a struct of their own: leave its
            // `value` out of the path people see.
            let path = e.path().to_string().replace(".value", "");
            failed_at = (path != ".").then_some(path);
            e.into_inner()
        })
    });
    outcome.map_err(|e| {
        let location = e.location().unwrap_or(Location::UNKNOWN);
        let mut message = e.without_snippet().to_string();
        // The position is given apart; the message need not repeat it.
        if let Some(at) = message.rfind(" at line ") {
            message.truncate(at);
        }
        issue_at(&location, failed_at.unwrap_or_default(), message)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{ProbeKind, Target};
    use hickory_proto::rr::RecordType;

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
        assert_eq!(api.interval, Duration::from_secs(30));
        assert_eq!(api.probe.timeout, Duration::from_secs(5));
        assert_eq!(api.probe.conditions.len(), 3);
        let Target::Http(http) = &api.probe.target else {
            panic!("an http target")
        };
        assert_eq!(http.headers.0["Authorization"], "Bearer s3cret");
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
        assert_eq!(web.interval, Duration::from_secs(60));
        assert_eq!(web.probe.timeout, Duration::from_secs(10));
        assert_eq!(web.probe.conditions[0].text(), "[STATUS] < 400");
        assert_eq!(config.status_pages[0].services, ["api", "web"]);
    }

    #[test]
    fn push_services_take_a_token_and_a_grace() {
        let config = parse("services:\n  - {name: cron, url: 'push://nightly-backup-0123456789', interval: 1h}\n  - {name: q, url: 'push://queue_worker_0123456789ab', interval: 30s, grace: 5s}\n").unwrap();
        let push = |i: usize| match &config.services[i].probe.target {
            Target::Push(push) => push.clone(),
            other => panic!("not a push target: {other:?}"),
        };
        assert_eq!(config.services[0].kind(), ProbeKind::Push);
        assert_eq!(push(0).token, "nightly-backup-0123456789");
        assert_eq!(push(0).grace, Duration::from_secs(360));
        assert!(config.services[0].probe.conditions.is_empty());
        assert_eq!(push(1).grace, Duration::from_secs(5));
        let short = error("services:\n  - {name: a, url: 'push://short'}\n");
        assert!(
            short.contains("services[0].url: a push token must be at least 22"),
            "{short}"
        );
        let twice = error("services:\n  - {name: a, url: 'push://same-token-0123456789abcd'}\n  - {name: b, url: 'push://same-token-0123456789abcd'}\n");
        assert!(
            twice.contains("services[1].url: another service already uses this push token"),
            "{twice}"
        );
        let judged = error(
            "services:\n  - {name: a, url: 'push://token-123-0123456789abcde', conditions: ['[STATUS] == 200']}\n",
        );
        assert!(judged.contains("take no conditions"), "{judged}");
    }

    #[test]
    fn dns_services_take_a_server_and_a_query() {
        let config = parse("services:\n  - {name: d, url: 'dns://9.9.9.9', dns: {query_name: example.com, query_type: aaaa}}\n  - {name: g, url: 'dns://[::1]:5353', dns: {query-name: example.org}}\n").unwrap();
        let (d, g) = (&config.services[0], &config.services[1]);
        let dns = |s: &ServiceConfig| match &s.probe.target {
            Target::Dns(dns) => dns.clone(),
            other => panic!("not a dns target: {other:?}"),
        };
        assert_eq!(d.kind(), ProbeKind::Dns);
        assert_eq!(dns(d).server, "9.9.9.9:53".parse().unwrap());
        assert_eq!(dns(d).question.query_type(), RecordType::AAAA);
        assert_eq!(d.probe.conditions[0].text(), "[DNS_RCODE] == NOERROR");
        assert_eq!(dns(g).server, "[::1]:5353".parse().unwrap());
        assert_eq!(dns(g).question.query_type(), RecordType::A);
        // Every record type, by name.
        let srv = parse("services:\n  - {name: d, url: 'dns://1.1.1.1', dns: {query_name: _sip._tcp.x.com, query_type: SRV}}\n").unwrap();
        assert_eq!(dns(&srv.services[0]).question.query_type(), RecordType::SRV);
        let table = [
            ("services:\n  - {name: d, url: 'dns://9.9.9.9'}\n", "services[0].dns: a dns:// service needs"),
            ("services:\n  - {name: d, url: 'dns://resolver.lan', dns: {query_name: x.com}}\n", "services[0].url: the DNS server must be an IP address"),
            ("services:\n  - {name: d, url: 'dns://1.1.1.1', dns: {query_name: 'bad name'}}\n", "services[0].dns: \"bad name\" is not a valid DNS name"),
            ("services:\n  - {name: d, url: 'dns://1.1.1.1', dns: {query_name: x.com, query_type: BOGUS}}\n", "unsupported record type \"BOGUS\""),
            ("services:\n  - {name: d, url: 'http://x/', dns: {query_name: x.com}}\n", "services[0].dns: only dns:// services take dns"),
            ("services:\n  - {name: t, url: 'tcp://db:5432', method: POST}\n", "services[0].method: only http:// services take method"),
            ("services:\n  - {name: t, url: 'icmp://db', verify_tls: false}\n", "services[0].verify_tls: only http:// and tls:// services take verify_tls"),
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
    default-alert:
      failure-threshold: 5
  gotify:
    server-url: "https://gotify.example"
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
        send-on-resolved: true
      - type: slack
        enabled: false
        failure-threshold: 9
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
        assert_eq!(website.interval, Duration::from_secs(300));
        assert_eq!(website.probe.timeout, Duration::from_secs(5));
        let Target::Http(http) = &website.probe.target else {
            panic!("an http target")
        };
        assert!(!http.verify_tls);
        assert!(!http.follows_redirects());
        assert_eq!(website.probe.conditions.len(), 2);
        let resolver = &config.services[1];
        let Target::Dns(dns) = &resolver.probe.target else {
            panic!("a dns target")
        };
        assert_eq!(dns.server, "8.8.8.8:53".parse().unwrap());
        // Gatus's slack provider is a channel named slack; the website's
        // alert goes there, with Gatus's thresholds (3 and 2) as its own.
        let slack = config.alerting.channel("slack").expect("a slack channel");
        let ChannelKind::Slack { webhook_url } = &slack.kind else {
            panic!("slack, not {slack:?}")
        };
        assert_eq!(webhook_url.as_str(), "https://hooks.example/x");
        assert_eq!(website.alerts, ["slack"]);
        assert_eq!(
            (website.failure_threshold, website.success_threshold),
            (3, 2)
        );
        assert!(resolver.alerts.is_empty());

        let warnings: Vec<String> = config
            .warnings
            .iter()
            .map(|w| w.display(Path::new("gatus.yaml")).to_string())
            .collect();
        assert_eq!(
            warnings,
            [
                "gatus.yaml:1:1: storage: Gatus key `storage` is not supported by Hale and is ignored",
                "gatus.yaml:9:3: alerting.gotify: Gatus alerting provider `gotify` is not supported by Hale yet and is ignored; write Hale's channels under `alerting.channels`",
                "gatus.yaml:7:5: alerting.slack.default-alert: Gatus's `default-alert` is not supported by Hale and is ignored",
                "gatus.yaml:20:7: endpoints[0].client.dns-resolver: Gatus key `client.dns-resolver` is not supported by Hale and is ignored",
                "gatus.yaml:26:9: endpoints[0].alerts[0].send-on-resolved: Gatus key `send-on-resolved` is not supported by Hale and is ignored",
            ]
        );
    }

    #[test]
    fn gatus_endpoints_are_validated_like_services() {
        let table = [
            (
                "endpoints:\n  - name: w\n    url: 'wss://x/'\n",
                "hale.yaml:3:10: endpoints[0].url: Hale does not probe wss:// endpoints yet",
            ),
            (
                "services:\n  - {name: a, url: 'http://x/'}\nendpoints:\n  - name: a\n    url: 'http://y/'\n",
                "hale.yaml:4:11: endpoints[0].name: duplicate service name \"a\"",
            ),
            (
                "endpoints:\n  - name: a\n    url: 'http://y/'\n    interval: 10s\n    client: {timeout: 20s}\n",
                "hale.yaml:5:23: endpoints[0].client.timeout: 20s is longer than the interval (10s)",
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
            config.services[0].probe.conditions[0].text(),
            "[CONNECTED] == true"
        );
        assert_eq!(config.services[1].kind(), ProbeKind::Http);
        assert_eq!(
            config.services[1].probe.conditions[0].text(),
            "[STATUS] < 400"
        );
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
                "hale.yaml:4:5: services[0].intervall: unknown field `intervall`",
            ),
            (
                "services:\n  - name: a\n    url: http://x/\n  - name: a\n    url: http://y/\n",
                "hale.yaml:4:11: services[1].name: duplicate service name \"a\"",
            ),
            (
                "services:\n  - name: a\n    url: ftp://x/\n",
                "hale.yaml:3:10: services[0].url: unsupported scheme \"ftp\"",
            ),
            (
                "services:\n  - name: a\n    url: tcp://db.internal\n",
                "hale.yaml:3:10: services[0].url: a tcp:// URL needs a host and a port",
            ),
            (
                "services:\n  - name: a\n    url: http://x/\n    interval: 10s\n    timeout: 20s\n",
                "hale.yaml:5:14: services[0].timeout: 20s is longer than the interval (10s)",
            ),
            (
                "services:\n  - name: a\n    url: http://x/\n    interval: 500ms\n",
                "hale.yaml:4:15: services[0].interval: 500ms is below the 1s minimum",
            ),
            (
                "services:\n  - name: a\n    url: http://x/\n    method: FETCH\n",
                "hale.yaml:4:13: services[0].method: unsupported HTTP method \"FETCH\"",
            ),
            (
                "services:\n  - name: a\n    url: http://x/\nstatus_pages:\n  - slug: Public Page\n    title: P\n    services: [a, b]\n",
                "hale.yaml:5:11: status_pages[0].slug: \"Public Page\" must be lowercase",
            ),
            (
                "services:\n  - name: a\n    url: http://x/\nstatus_pages:\n  - slug: p\n    title: P\n    services: [a, b]\n",
                "hale.yaml:7:19: status_pages[0].services: unknown service \"b\"",
            ),
            (
                "services:\n  - name: a\n    url: http://x/${MISSING}\n",
                "hale.yaml:3:19: environment variable MISSING is not set",
            ),
        ];
        let wrong: Vec<String> = table
            .iter()
            .filter_map(|(source, expected)| {
                let message = error(source);
                (!message.starts_with(expected))
                    .then(|| format!("for:\n{source}\ngot:      {message}\nexpected: {expected}"))
            })
            .collect();
        assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
    }

    #[test]
    fn reports_every_validation_problem_at_once() {
        let message =
            error("services:\n  - name: a\n    url: ftp://x/\n    failure_threshold: 0\n");
        assert_eq!(message.lines().count(), 2, "{message}");
        assert!(
            message.contains("services[0].failure_threshold: must be between 1 and 1000"),
            "{message}"
        );
    }

    #[test]
    fn every_number_and_duration_is_bounded_where_it_is_written() {
        let service = |extra: &str| {
            format!("services:\n  - name: a\n    url: 'push://token-1234-0123456789abcd'\n{extra}")
        };
        let table = [
            (
                "    grace: 18446744073709551615\n",
                "services[0].grace: 18446744073709551615s is longer than the 10-year maximum",
            ),
            (
                "    grace: 32d\n",
                "services[0].grace: 32d is above the 31-day maximum",
            ),
            (
                "    interval: 106751991167d\n",
                "services[0].interval: \"106751991167d\" is longer than the 10-year maximum",
            ),
            (
                "    interval: 32d\n",
                "services[0].interval: 32d is above the 31-day maximum",
            ),
            (
                "    failure_threshold: 4294967295\n",
                "services[0].failure_threshold: must be between 1 and 1000",
            ),
            (
                "    failure_threshold: 4294967296\n",
                "services[0].failure_threshold:",
            ),
            (
                "    success_threshold: 0\n",
                "services[0].success_threshold: must be between 1 and 1000",
            ),
            (
                "    degraded_error_rate: 1.5\n",
                "services[0].degraded_error_rate: 1.5 is not a rate",
            ),
            (
                "    degraded_error_rate: .nan\n",
                "services[0].degraded_error_rate:",
            ),
            (
                "    degraded_latency: 2h\n",
                "services[0].degraded_latency: 2h is above the 1h maximum",
            ),
        ];
        for (extra, expected) in table {
            let message = error(&service(extra));
            assert!(message.contains(expected), "{extra}: {message}");
            assert!(message.starts_with("hale.yaml:4:"), "{extra}: {message}");
        }
        let history = error("history:\n  raw_retention: 11y\n");
        assert!(history.contains("history.raw_retention:"), "{history}");
    }

    #[test]
    fn flow_style_values_are_located_too() {
        let message = error("services:\n  - {name: a, url: 'http://x/'}\n  - {name: b, url: 'http://y/', interval: 10s, timeout: 20s}\n");
        assert!(
            message.starts_with("hale.yaml:3:57: services[1].timeout: 20s is longer"),
            "{message}"
        );
    }

    #[test]
    fn files_that_are_too_deep_too_big_or_not_text_are_refused_with_a_position() {
        // Nesting: a hundred thousand levels, refused at the limit.
        let deep = "a: ".to_string() + &"[".repeat(100_000);
        let message = error(&deep);
        assert!(message.starts_with("hale.yaml:1:"), "{message}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hale.yaml");
        std::fs::write(&path, b"title: ok\nservices:\n  - name: caf\xe9\n").unwrap();
        let message = Config::load(&path).unwrap_err().to_string();
        assert!(
            message.ends_with(":3:14: the file is not UTF-8 text"),
            "{message}"
        );
        let big = "#".repeat(MAX_FILE_BYTES + 1);
        std::fs::write(&path, &big).unwrap();
        let message = Config::load(&path).unwrap_err().to_string();
        assert!(message.contains(":1:"), "{message}");
        assert!(
            message.contains("over the 16777216-byte limit"),
            "{message}"
        );
    }

    #[test]
    fn a_literal_dollar_brace_survives() {
        let config = parse("title: costs $${PRICE}\n").unwrap();
        assert_eq!(config.title, "costs ${PRICE}");
    }
}
