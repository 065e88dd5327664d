//! `alerting:` — the channels alerts go to, and their defaults
//! (docs/configuration.md, "Alerting"). Each channel is checked when the
//! file loads, every problem at its value. Channel settings often carry
//! secrets (from `${ENV}`): no `Debug` output shows them, so no log line
//! does.

use super::{issue_at, ConfigIssue};
use crate::duration::HumanDuration;
use crate::probe::http::Headers;
use serde::de::{self, IgnoredAny, MapAccess};
use serde::{Deserialize, Deserializer};
use serde_saphyr::{Location, Spanned};
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::time::Duration;

/// How long an alert that stays may go before it is sent again, unless a
/// config says.
pub const DEFAULT_RENOTIFY: Duration = Duration::from_secs(3_600);
/// How long after a channel's first alert others wait, to go out together.
pub const DEFAULT_GROUP_WINDOW: Duration = Duration::from_secs(30);
/// Messages a channel is sent a minute at most, unless a config says.
pub const DEFAULT_FLOOD_LIMIT: u32 = 20;

/// Gatus's alerting providers: those of [`GATUS_LOADED`] become channels
/// named after them; the others are accepted with a warning each.
const GATUS_PROVIDERS: &[&str] = &[
    "aws-ses",
    "clickup",
    "custom",
    "datadog",
    "discord",
    "email",
    "github",
    "gitlab",
    "gitea",
    "googlechat",
    "gotify",
    "homeassistant",
    "ifttt",
    "ilert",
    "incident-io",
    "line",
    "matrix",
    "mattermost",
    "messagebird",
    "newrelic",
    "n8n",
    "ntfy",
    "opsgenie",
    "pagerduty",
    "plivo",
    "pushover",
    "rocketchat",
    "sendgrid",
    "signal",
    "signl4",
    "slack",
    "splunk",
    "squadcast",
    "teams",
    "teams-workflows",
    "telegram",
    "twilio",
    "vonage",
    "webex",
    "zapier",
    "zulip",
];

/// Gatus providers Hale loads as channels, and the channel type each is.
const GATUS_LOADED: &[(&str, &str)] = &[
    ("slack", "slack"),
    ("discord", "discord"),
    ("teams-workflows", "teams"),
    ("telegram", "telegram"),
    ("pagerduty", "pagerduty"),
    ("ntfy", "ntfy"),
    ("email", "email"),
    ("custom", "custom"),
];

/// The alerting section, ready to run.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertingConfig {
    pub renotify: Duration,
    pub group_window: Duration,
    /// Messages a minute per channel at most (0: no limit).
    pub flood_limit: u32,
    pub channels: Vec<Channel>,
    /// The rules judged on each result, beside `down` and `degraded`.
    pub rules: Vec<AlertRule>,
}

/// A rule judged on a service's recent results.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertRule {
    pub name: String,
    /// `warning` or `critical`.
    pub severity: &'static str,
    pub kind: RuleKind,
    /// The results it is judged over: those of the last `window`.
    pub window: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RuleKind {
    /// Failed results over the window above this share (0–1).
    ErrorRateAbove(f64),
    /// The window's latency p95 (nearest rank) above this.
    LatencyP95Above(Duration),
    /// The certificate the last probe saw (HTTPS, TLS) expires sooner
    /// than this; judged on each result, without a window.
    CertificateExpiresWithin(Duration),
}

impl RuleKind {
    /// Whether it is judged over a window of results (the certificate
    /// rules judge each result alone).
    pub fn windowed(&self) -> bool {
        !matches!(self, RuleKind::CertificateExpiresWithin(_))
    }
}

/// The window a rule is judged over, unless it says.
pub const DEFAULT_RULE_WINDOW: Duration = Duration::from_secs(300);

/// The rules when `alerting.rules` is not written: error rate in the
/// warning band (above 5 %) and the critical one (above 10 %), latency p95
/// above 2 s, each over 5 minutes; a certificate expiring within 14 days
/// (warning) and within 3 days (critical).
pub fn default_rules() -> Vec<AlertRule> {
    let rule = |name: &str, severity, kind: RuleKind| AlertRule {
        name: name.into(),
        severity,
        kind,
        window: if kind.windowed() {
            DEFAULT_RULE_WINDOW
        } else {
            Duration::ZERO
        },
    };
    let days = |n: u64| Duration::from_secs(n * 86_400);
    vec![
        rule("error_rate", "warning", RuleKind::ErrorRateAbove(0.05)),
        rule(
            "error_rate_critical",
            "critical",
            RuleKind::ErrorRateAbove(0.10),
        ),
        rule(
            "latency_p95",
            "warning",
            RuleKind::LatencyP95Above(Duration::from_secs(2)),
        ),
        rule(
            "certificate",
            "warning",
            RuleKind::CertificateExpiresWithin(days(14)),
        ),
        rule(
            "certificate_critical",
            "critical",
            RuleKind::CertificateExpiresWithin(days(3)),
        ),
    ]
}

impl Default for AlertingConfig {
    fn default() -> AlertingConfig {
        AlertingConfig {
            renotify: DEFAULT_RENOTIFY,
            group_window: DEFAULT_GROUP_WINDOW,
            flood_limit: DEFAULT_FLOOD_LIMIT,
            channels: Vec::new(),
            rules: default_rules(),
        }
    }
}

impl AlertingConfig {
    pub fn channel(&self, name: &str) -> Option<&Channel> {
        self.channels.iter().find(|c| c.name == name)
    }
}

/// A place alerts are sent.
#[derive(Clone, PartialEq)]
pub struct Channel {
    pub name: String,
    pub kind: ChannelKind,
}

/// Names and types only: settings hold secrets.
impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Channel({} {})", self.name, self.kind.type_name())
    }
}

/// Each type of channel, with what it needs.
#[derive(Clone, PartialEq)]
pub enum ChannelKind {
    /// Hale's JSON alert (docs/api.md, "Alerts") to any URL.
    Webhook { url: url::Url, headers: Headers },
    /// Slack's incoming webhooks.
    Slack { webhook_url: url::Url },
    /// A Discord channel's webhook.
    Discord { webhook_url: url::Url },
    /// A Microsoft Teams Workflows webhook (Adaptive Cards).
    Teams { webhook_url: url::Url },
    /// A Telegram bot's `sendMessage` to a chat.
    Telegram {
        token: String,
        chat_id: String,
        api_url: url::Url,
    },
    /// PagerDuty Events API v2: trigger and resolve by a dedup key.
    PagerDuty { routing_key: String, url: url::Url },
    /// An ntfy topic.
    Ntfy {
        url: url::Url,
        topic: String,
        token: Option<String>,
        priority: u8,
    },
    /// Mail over SMTP: text and HTML parts.
    Email {
        host: String,
        port: u16,
        security: SmtpSecurity,
        /// User and password, when the server asks for them.
        login: Option<(String, String)>,
        from: lettre::message::Mailbox,
        to: Vec<lettre::message::Mailbox>,
    },
    /// Any HTTP request, its URL and body templates with Gatus's
    /// `custom` placeholders.
    Custom {
        url: String,
        method: reqwest::Method,
        headers: Headers,
        body: String,
        /// `[ALERT_TRIGGERED_OR_RESOLVED]`'s text for each state.
        triggered: String,
        resolved: String,
    },
}

/// How an email channel reaches its server.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SmtpSecurity {
    /// `smtp://` (port 587): STARTTLS, required.
    StartTls,
    /// `smtps://` (port 465): TLS from the first byte.
    Tls,
    /// `smtp://…?tls=none`: no encryption, for a relay on the same host
    /// or network.
    None,
}

impl ChannelKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            ChannelKind::Webhook { .. } => "webhook",
            ChannelKind::Slack { .. } => "slack",
            ChannelKind::Discord { .. } => "discord",
            ChannelKind::Teams { .. } => "teams",
            ChannelKind::Telegram { .. } => "telegram",
            ChannelKind::PagerDuty { .. } => "pagerduty",
            ChannelKind::Ntfy { .. } => "ntfy",
            ChannelKind::Email { .. } => "email",
            ChannelKind::Custom { .. } => "custom",
        }
    }
}

/// The types `type:` takes.
const TYPES: &str = "webhook, slack, discord, teams, telegram, pagerduty, ntfy, email or custom";

/// `alerting:` as written.
pub struct RawAlerting {
    pub defaults: Option<Spanned<RawDefaults>>,
    pub channels: Vec<Spanned<RawChannel>>,
    pub rules: Option<Vec<Spanned<RawRule>>>,
    /// Gatus providers Hale does not load, with where: ignored, with a
    /// warning.
    pub gatus: Vec<(String, Location)>,
    /// Gatus providers Hale loads, as written.
    pub gatus_loaded: Vec<(String, Spanned<RawGatusProvider>)>,
}

/// Read key by key rather than derived, so that Gatus's providers can be
/// told from a mistyped key without buffering the section (which would
/// lose every position in it).
impl<'de> Deserialize<'de> for RawAlerting {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RawAlerting, D::Error> {
        struct Visitor;
        impl<'de> de::Visitor<'de> for Visitor {
            type Value = RawAlerting;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map with `channels` and `defaults`")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawAlerting, A::Error> {
                let mut raw = RawAlerting {
                    defaults: None,
                    channels: Vec::new(),
                    rules: None,
                    gatus: Vec::new(),
                    gatus_loaded: Vec::new(),
                };
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "defaults" => raw.defaults = Some(map.next_value()?),
                        "channels" => raw.channels = map.next_value()?,
                        "rules" => raw.rules = Some(map.next_value()?),
                        loaded if GATUS_LOADED.iter().any(|(p, _)| *p == loaded) => {
                            let value: Spanned<RawGatusProvider> = map.next_value()?;
                            raw.gatus_loaded.push((key, value));
                        }
                        gatus if GATUS_PROVIDERS.contains(&gatus) => {
                            let value: Spanned<IgnoredAny> = map.next_value()?;
                            raw.gatus.push((key, value.defined));
                        }
                        other => {
                            return Err(de::Error::unknown_field(
                                other,
                                &["defaults", "channels", "rules", "(a Gatus provider)"],
                            ))
                        }
                    }
                }
                Ok(raw)
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDefaults {
    #[serde(default)]
    pub renotify: Option<Spanned<HumanDuration>>,
    #[serde(default)]
    pub group_window: Option<Spanned<HumanDuration>>,
    #[serde(default)]
    pub flood_limit: Option<u32>,
}

/// A Gatus provider's settings, as Gatus writes them. Keys Hale has no use
/// for are named, so a mistyped one is still an error.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawGatusProvider {
    #[serde(default)]
    pub webhook_url: Option<Spanned<String>>,
    #[serde(default)]
    pub token: Option<Spanned<String>>,
    #[serde(default)]
    pub id: Option<Spanned<ChatId>>,
    #[serde(default)]
    pub api_url: Option<Spanned<String>>,
    #[serde(default)]
    pub integration_key: Option<Spanned<String>>,
    #[serde(default)]
    pub topic: Option<Spanned<String>>,
    #[serde(default)]
    pub url: Option<Spanned<String>>,
    #[serde(default)]
    pub priority: Option<Spanned<u8>>,
    #[serde(default)]
    pub from: Option<Spanned<String>>,
    #[serde(default)]
    pub username: Option<Spanned<String>>,
    #[serde(default)]
    pub password: Option<Spanned<String>>,
    #[serde(default)]
    pub host: Option<Spanned<String>>,
    #[serde(default)]
    pub port: Option<Spanned<u16>>,
    #[serde(default)]
    pub to: Option<Spanned<String>>,
    #[serde(default)]
    pub method: Option<Spanned<String>>,
    #[serde(default)]
    pub body: Option<Spanned<String>>,
    #[serde(default)]
    pub headers: Option<Spanned<Headers>>,
    #[serde(default)]
    pub placeholders: Option<Spanned<BTreeMap<String, BTreeMap<String, String>>>>,
    // Accepted and ignored, with a warning each.
    #[serde(default)]
    pub default_alert: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    pub overrides: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    pub client: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    pub title: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    pub message_content: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    pub topic_id: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    pub email: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    pub click: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    pub disable_firebase: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    pub disable_cache: Option<Spanned<IgnoredAny>>,
}

impl RawGatusProvider {
    /// The keys Hale ignores, with where.
    fn ignored(&self) -> Vec<(&'static str, Location)> {
        [
            ("default-alert", &self.default_alert),
            ("overrides", &self.overrides),
            ("client", &self.client),
            ("title", &self.title),
            ("message-content", &self.message_content),
            ("topic-id", &self.topic_id),
            ("email", &self.email),
            ("click", &self.click),
            ("disable-firebase", &self.disable_firebase),
            ("disable-cache", &self.disable_cache),
        ]
        .into_iter()
        .filter_map(|(key, value)| value.as_ref().map(|v| (key, v.defined)))
        .collect()
    }

    /// The Hale channel it is: named after the provider, of type `kind`.
    fn channel(self, provider: &str, kind: &str, at: Location) -> RawChannel {
        let spanned = |value: String| Spanned {
            value,
            referenced: at,
            defined: at,
        };
        let smtp = self.host.as_ref().map(|host| {
            let port = self.port.as_ref().map_or(587, |p| p.value);
            let scheme = if port == 465 { "smtps" } else { "smtp" };
            Spanned {
                value: format!("{scheme}://{}:{port}", host.value.trim()),
                ..host.clone()
            }
        });
        let to = self.to.map(|to| Spanned {
            value: to
                .value
                .split(',')
                .map(|a| a.trim().to_string())
                .filter(|a| !a.is_empty())
                .collect(),
            referenced: to.referenced,
            defined: to.defined,
        });
        RawChannel {
            name: spanned(provider.to_string()),
            kind: spanned(kind.to_string()),
            url: self.url,
            webhook_url: self.webhook_url,
            headers: self.headers,
            // Gatus's custom provider sends GET unless it says.
            method: self
                .method
                .or_else(|| (kind == "custom").then(|| spanned("GET".into()))),
            body: self.body,
            placeholders: self.placeholders,
            token: self.token,
            chat_id: self.id,
            api_url: self.api_url,
            routing_key: self.integration_key,
            topic: self.topic,
            priority: self.priority,
            smtp,
            username: self.username,
            password: self.password,
            from: self.from,
            to,
        }
    }
}

/// One entry of `rules:`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    pub name: Spanned<String>,
    #[serde(default)]
    pub error_rate_above: Option<Spanned<Percent>>,
    #[serde(default)]
    pub latency_p95_above: Option<Spanned<HumanDuration>>,
    #[serde(default)]
    pub certificate_expires_within: Option<Spanned<HumanDuration>>,
    #[serde(default)]
    pub window: Option<Spanned<HumanDuration>>,
    #[serde(default)]
    pub severity: Option<Spanned<String>>,
}

/// A share written `5%`, `0.5 %` or as a number of percent (`5`).
pub struct Percent(pub f64);

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Percent, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = Percent;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a percentage such as 5% or 0.5%")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Percent, E> {
                if !(0.0..100.0).contains(&v) {
                    return Err(E::custom(format!("{v}% is not from 0% to under 100%")));
                }
                Ok(Percent(v / 100.0))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Percent, E> {
                self.visit_f64(v as f64)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Percent, E> {
                self.visit_f64(v as f64)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Percent, E> {
                let number = v.trim().trim_end_matches('%').trim();
                match number.parse::<f64>() {
                    Ok(n) if n.is_finite() => self.visit_f64(n),
                    _ => Err(E::custom(format!("{v:?} is not a percentage such as 5%"))),
                }
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// One entry of `channels:`: every field any type takes; each type's
/// check says which it needs and refuses the others.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawChannel {
    pub name: Spanned<String>,
    #[serde(rename = "type")]
    pub kind: Spanned<String>,
    #[serde(default)]
    pub url: Option<Spanned<String>>,
    #[serde(default)]
    pub webhook_url: Option<Spanned<String>>,
    #[serde(default)]
    pub headers: Option<Spanned<Headers>>,
    #[serde(default)]
    pub method: Option<Spanned<String>>,
    #[serde(default)]
    pub body: Option<Spanned<String>>,
    #[serde(default)]
    pub placeholders: Option<Spanned<BTreeMap<String, BTreeMap<String, String>>>>,
    #[serde(default)]
    pub token: Option<Spanned<String>>,
    #[serde(default)]
    pub chat_id: Option<Spanned<ChatId>>,
    #[serde(default)]
    pub api_url: Option<Spanned<String>>,
    #[serde(default)]
    pub routing_key: Option<Spanned<String>>,
    #[serde(default)]
    pub topic: Option<Spanned<String>>,
    #[serde(default)]
    pub priority: Option<Spanned<u8>>,
    #[serde(default)]
    pub smtp: Option<Spanned<String>>,
    #[serde(default)]
    pub username: Option<Spanned<String>>,
    #[serde(default)]
    pub password: Option<Spanned<String>>,
    #[serde(default)]
    pub from: Option<Spanned<String>>,
    #[serde(default)]
    pub to: Option<Spanned<Vec<String>>>,
}

/// A Telegram chat id: a number (`-1001234`) or `@channel`.
pub struct ChatId(pub String);

impl<'de> Deserialize<'de> for ChatId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ChatId, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = ChatId;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a chat id: a number or @name")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ChatId, E> {
                Ok(ChatId(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ChatId, E> {
                Ok(ChatId(v.to_string()))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ChatId, E> {
                Ok(ChatId(v.to_string()))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// The section, checked: issues go to `issues`, Gatus's providers to
/// `warnings`.
pub fn build(
    raw: Option<Spanned<RawAlerting>>,
    source: &str,
    issues: &mut Vec<ConfigIssue>,
    warnings: &mut Vec<ConfigIssue>,
) -> AlertingConfig {
    let mut config = AlertingConfig::default();
    let Some(raw) = raw else {
        return config;
    };
    let raw = raw.value;
    for (provider, at) in &raw.gatus {
        warnings.push(super::key_issue(
            source,
            at,
            provider,
            format!("alerting.{provider}"),
            format!(
                "Gatus alerting provider `{provider}` is not supported by Hale yet and is \
                 ignored; write Hale's channels under `alerting.channels`"
            ),
        ));
    }
    if let Some(defaults) = raw.defaults {
        let defaults = defaults.value;
        if let Some(renotify) = defaults.renotify {
            config.renotify = renotify.value.0;
        }
        if let Some(window) = defaults.group_window {
            if window.value.0 > Duration::from_secs(3_600) {
                issues.push(issue_at(
                    &window.defined,
                    "alerting.defaults.group_window".into(),
                    "at most 1h: alerts wait this long to go out together".into(),
                ));
            }
            config.group_window = window.value.0;
        }
        if let Some(limit) = defaults.flood_limit {
            config.flood_limit = limit;
        }
    }
    if let Some(rules) = raw.rules {
        config.rules = build_rules(rules, issues);
    }
    // Gatus's providers first, as channels named after them.
    let mut entries: Vec<(String, Spanned<RawChannel>)> = Vec::new();
    for (provider, settings) in raw.gatus_loaded {
        let kind = GATUS_LOADED
            .iter()
            .find(|(p, _)| *p == provider)
            .map_or("custom", |(_, k)| k);
        for (key, at) in settings.value.ignored() {
            warnings.push(super::key_issue(
                source,
                &at,
                key,
                format!("alerting.{provider}.{key}"),
                format!("Gatus's `{key}` is not supported by Hale and is ignored"),
            ));
        }
        let at = settings.defined;
        let channel = settings.value.channel(&provider, kind, at);
        entries.push((
            format!("alerting.{provider}"),
            Spanned {
                value: channel,
                referenced: at,
                defined: at,
            },
        ));
    }
    entries.extend(
        raw.channels
            .into_iter()
            .enumerate()
            .map(|(index, entry)| (format!("alerting.channels[{index}]"), entry)),
    );
    let mut names = HashSet::new();
    for (place, entry) in entries {
        let field = |name: &str| {
            if place.starts_with("alerting.channels[") {
                format!("{place}.{name}")
            } else {
                // A Gatus provider's keys, as Gatus names them.
                let gatus = match name {
                    "routing_key" => "integration-key".to_string(),
                    "chat_id" => "id".to_string(),
                    "smtp" => "host".to_string(),
                    other => other.replace('_', "-"),
                };
                format!("{place}.{gatus}")
            }
        };
        let name_at = entry.value.name.defined;
        let name = entry.value.name.value.trim().to_string();
        if name.is_empty() {
            issues.push(issue_at(
                &name_at,
                field("name"),
                "a channel needs a name".into(),
            ));
            continue;
        }
        if !names.insert(name.clone()) {
            issues.push(issue_at(
                &name_at,
                field("name"),
                format!("duplicate channel name {name:?}"),
            ));
        }
        let mut check = Check {
            field: &field,
            issues,
        };
        if let Some(kind) = channel_kind(entry.value, &mut check) {
            config.channels.push(Channel { name, kind });
        }
    }
    config
}

/// `rules:`, checked: each has a name of its own, one condition and a
/// severity.
fn build_rules(raw: Vec<Spanned<RawRule>>, issues: &mut Vec<ConfigIssue>) -> Vec<AlertRule> {
    let mut rules: Vec<AlertRule> = Vec::new();
    for (index, entry) in raw.into_iter().enumerate() {
        let field = |name: &str| format!("alerting.rules[{index}].{name}");
        let rule = entry.value;
        let name = rule.name.value.trim().to_string();
        let name_at = &rule.name.defined;
        if name.is_empty() {
            issues.push(issue_at(
                name_at,
                field("name"),
                "a rule needs a name".into(),
            ));
            continue;
        }
        if ["down", "degraded"].contains(&name.as_str()) || rules.iter().any(|r| r.name == name) {
            issues.push(issue_at(
                name_at,
                field("name"),
                format!("{name:?} is taken (by `down`, `degraded` or another rule)"),
            ));
            continue;
        }
        let kind = match (
            rule.error_rate_above,
            rule.latency_p95_above,
            rule.certificate_expires_within,
        ) {
            (Some(rate), None, None) => RuleKind::ErrorRateAbove(rate.value.0),
            (None, Some(latency), None) => RuleKind::LatencyP95Above(latency.value.0),
            (None, None, Some(left)) => RuleKind::CertificateExpiresWithin(left.value.0),
            _ => {
                issues.push(issue_at(
                    name_at,
                    field("name"),
                    "a rule has one of `error_rate_above`, `latency_p95_above` or `certificate_expires_within`".into(),
                ));
                continue;
            }
        };
        let severity = match rule.severity {
            None => "warning",
            Some(s) => match s.value.trim() {
                "warning" => "warning",
                "critical" => "critical",
                other => {
                    issues.push(issue_at(
                        &s.defined,
                        field("severity"),
                        format!("{other:?} is not a severity (warning or critical)"),
                    ));
                    continue;
                }
            },
        };
        let window = match rule.window {
            None if !kind.windowed() => Duration::ZERO,
            Some(w) if !kind.windowed() => {
                issues.push(issue_at(
                    &w.defined,
                    field("window"),
                    "a certificate rule judges the certificate each result saw; it has no window"
                        .into(),
                ));
                continue;
            }
            None => DEFAULT_RULE_WINDOW,
            Some(w)
                if w.value.0 < Duration::from_secs(1)
                    || w.value.0 > Duration::from_secs(86_400) =>
            {
                issues.push(issue_at(
                    &w.defined,
                    field("window"),
                    "from 1s to 24h: the results a rule is judged over are kept in memory".into(),
                ));
                continue;
            }
            Some(w) => w.value.0,
        };
        rules.push(AlertRule {
            name,
            severity,
            kind,
            window,
        });
    }
    rules
}

/// "an email channel", "a slack channel".
fn article(kind: &str) -> &'static str {
    if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

/// Where a channel's problems go.
struct Check<'a> {
    field: &'a dyn Fn(&str) -> String,
    issues: &'a mut Vec<ConfigIssue>,
}

impl Check<'_> {
    fn at(&mut self, location: &Location, name: &str, message: impl Into<String>) {
        self.issues
            .push(issue_at(location, (self.field)(name), message.into()));
    }

    /// A required field's value, or an issue at the channel's type.
    fn required<T>(
        &mut self,
        value: Option<Spanned<T>>,
        name: &str,
        kind: &Spanned<String>,
    ) -> Option<Spanned<T>> {
        if value.is_none() {
            self.at(
                &kind.defined,
                name,
                format!(
                    "{} {} channel needs `{name}`",
                    article(&kind.value),
                    kind.value
                ),
            );
        }
        value
    }

    /// An http or https URL.
    fn url(&mut self, value: &Spanned<String>, name: &str) -> Option<url::Url> {
        match url::Url::parse(value.value.trim()) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Some(url),
            Ok(url) => {
                self.at(
                    &value.defined,
                    name,
                    format!("a channel's URL is http or https, not {}:", url.scheme()),
                );
                None
            }
            Err(e) => {
                self.at(&value.defined, name, format!("not a URL: {e}"));
                None
            }
        }
    }

    /// An SMTP server: `smtp://host[:587]` (STARTTLS), `smtps://host[:465]`
    /// (TLS) or `smtp://host[:25]?tls=none`, with an optional
    /// `user:password@`.
    #[allow(clippy::type_complexity)]
    fn smtp(
        &mut self,
        value: &Spanned<String>,
    ) -> Option<(String, u16, SmtpSecurity, Option<(String, String)>)> {
        let bad = |check: &mut Self, message: String| {
            check.at(&value.defined, "smtp", message);
            None
        };
        let url = match url::Url::parse(value.value.trim()) {
            Ok(url) => url,
            Err(e) => return bad(self, format!("not a URL: {e}")),
        };
        let tls = url
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        let (security, port) = match (url.scheme(), tls.as_deref()) {
            ("smtp", None | Some("starttls")) => (SmtpSecurity::StartTls, 587),
            ("smtp", Some("none")) => (SmtpSecurity::None, 25),
            ("smtps", None | Some("tls")) => (SmtpSecurity::Tls, 465),
            ("smtp" | "smtps", Some(other)) => {
                return bad(
                    self,
                    format!("`tls={other}`: starttls or none (smtp://), tls (smtps://)"),
                )
            }
            (scheme, _) => {
                return bad(
                    self,
                    format!(
                        "an SMTP server is smtp:// (STARTTLS) or smtps:// (TLS), not {scheme}:"
                    ),
                )
            }
        };
        let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
            return bad(self, "the SMTP server's URL has no host".into());
        };
        let decode = |text: &str| {
            percent_encoding::percent_decode_str(text)
                .decode_utf8_lossy()
                .into_owned()
        };
        let login = url
            .password()
            .map(|password| (decode(url.username()), decode(password)));
        Some((
            host.trim_matches(['[', ']']).to_string(),
            url.port().unwrap_or(port),
            security,
            login,
        ))
    }

    /// An email address, `ops@example` or `Ops <ops@example>`.
    fn mailbox(
        &mut self,
        text: &str,
        at: &Location,
        name: &str,
    ) -> Option<lettre::message::Mailbox> {
        match text.trim().parse() {
            Ok(mailbox) => Some(mailbox),
            Err(e) => {
                self.at(at, name, format!("{text:?} is not an email address: {e}"));
                None
            }
        }
    }

    /// A text setting that must not be empty.
    fn text(&mut self, value: Spanned<String>, name: &str) -> Option<String> {
        let text = value.value.trim().to_string();
        if text.is_empty() {
            self.at(&value.defined, name, format!("`{name}` is empty"));
            return None;
        }
        Some(text)
    }
}

/// Checks one channel's settings for its type.
fn channel_kind(raw: RawChannel, check: &mut Check) -> Option<ChannelKind> {
    let kind = raw.kind;
    let given: [(&str, Option<&Location>); 17] = [
        ("url", raw.url.as_ref().map(|v| &v.defined)),
        ("webhook_url", raw.webhook_url.as_ref().map(|v| &v.defined)),
        ("headers", raw.headers.as_ref().map(|v| &v.defined)),
        ("method", raw.method.as_ref().map(|v| &v.defined)),
        ("body", raw.body.as_ref().map(|v| &v.defined)),
        (
            "placeholders",
            raw.placeholders.as_ref().map(|v| &v.defined),
        ),
        ("token", raw.token.as_ref().map(|v| &v.defined)),
        ("chat_id", raw.chat_id.as_ref().map(|v| &v.defined)),
        ("api_url", raw.api_url.as_ref().map(|v| &v.defined)),
        ("routing_key", raw.routing_key.as_ref().map(|v| &v.defined)),
        ("topic", raw.topic.as_ref().map(|v| &v.defined)),
        ("priority", raw.priority.as_ref().map(|v| &v.defined)),
        ("smtp", raw.smtp.as_ref().map(|v| &v.defined)),
        ("username", raw.username.as_ref().map(|v| &v.defined)),
        ("password", raw.password.as_ref().map(|v| &v.defined)),
        ("from", raw.from.as_ref().map(|v| &v.defined)),
        ("to", raw.to.as_ref().map(|v| &v.defined)),
    ];
    let takes: &[&str] = match kind.value.as_str() {
        "webhook" => &["url", "headers"],
        "slack" | "discord" | "teams" => &["webhook_url"],
        "telegram" => &["token", "chat_id", "api_url"],
        "pagerduty" => &["routing_key", "url"],
        "ntfy" => &["url", "topic", "token", "priority"],
        "email" => &["smtp", "username", "password", "from", "to"],
        "custom" => &["url", "method", "headers", "body", "placeholders"],
        other => {
            check.at(
                &kind.defined,
                "type",
                format!("unknown channel type {other:?} (one of {TYPES})"),
            );
            return None;
        }
    };
    let before = check.issues.len();
    for (name, at) in given {
        if let Some(at) = at.filter(|_| !takes.contains(&name)) {
            check.at(
                at,
                name,
                format!(
                    "{} {} channel takes no `{name}`",
                    article(&kind.value),
                    kind.value
                ),
            );
        }
    }
    let headers = raw.headers.map(|h| (h.value, h.defined));
    if let Some((headers, at)) = &headers {
        if let Some(bad) = headers.invalid_name() {
            check.at(at, "headers", format!("{bad:?} is not a header name"));
        }
    }
    let headers = headers.map(|(h, _)| h).unwrap_or_default();
    let kind = match kind.value.as_str() {
        "webhook" => {
            let url = check.required(raw.url, "url", &kind)?;
            ChannelKind::Webhook {
                url: check.url(&url, "url")?,
                headers,
            }
        }
        "slack" | "discord" | "teams" => {
            let raw_url = check.required(raw.webhook_url, "webhook_url", &kind)?;
            let webhook_url = check.url(&raw_url, "webhook_url")?;
            match kind.value.as_str() {
                "slack" => ChannelKind::Slack { webhook_url },
                "discord" => ChannelKind::Discord { webhook_url },
                _ => ChannelKind::Teams { webhook_url },
            }
        }
        "telegram" => {
            let token = check.required(raw.token, "token", &kind);
            let chat_id = check.required(raw.chat_id, "chat_id", &kind);
            let api_url = match raw.api_url {
                Some(url) => check.url(&url, "api_url")?,
                None => url::Url::parse("https://api.telegram.org").expect("a URL"),
            };
            ChannelKind::Telegram {
                token: check.text(token?, "token")?,
                chat_id: chat_id?.value.0,
                api_url,
            }
        }
        "pagerduty" => {
            let key = check.required(raw.routing_key, "routing_key", &kind)?;
            if key.value.trim().len() != 32 {
                check.at(
                    &key.defined,
                    "routing_key",
                    "a PagerDuty integration key is 32 characters",
                );
                return None;
            }
            let url = match raw.url {
                Some(url) => check.url(&url, "url")?,
                None => url::Url::parse("https://events.pagerduty.com/v2/enqueue").expect("a URL"),
            };
            ChannelKind::PagerDuty {
                routing_key: key.value.trim().to_string(),
                url,
            }
        }
        "ntfy" => {
            let topic = check.required(raw.topic, "topic", &kind)?;
            let topic_at = topic.defined;
            let topic = check.text(topic, "topic")?;
            if topic.contains('/') {
                check.at(&topic_at, "topic", "a topic has no `/`");
                return None;
            }
            let url = match raw.url {
                Some(url) => check.url(&url, "url")?,
                None => url::Url::parse("https://ntfy.sh").expect("a URL"),
            };
            let priority = match raw.priority {
                Some(p) if !(1..=5).contains(&p.value) => {
                    check.at(&p.defined, "priority", "from 1 (min) to 5 (max)");
                    return None;
                }
                Some(p) => p.value,
                None => 4,
            };
            ChannelKind::Ntfy {
                url,
                topic,
                token: raw.token.map(|t| t.value.trim().to_string()),
                priority,
            }
        }
        "email" => {
            let smtp = check.required(raw.smtp, "smtp", &kind);
            let from = check.required(raw.from, "from", &kind);
            let to = check.required(raw.to, "to", &kind);
            let (smtp, from, to) = (smtp?, from?, to?);
            let server = check.smtp(&smtp);
            let from = check.mailbox(&from.value, &from.defined, "from");
            if to.value.is_empty() {
                check.at(&to.defined, "to", "no address to send to");
            }
            let to: Option<Vec<_>> = to
                .value
                .iter()
                .map(|address| check.mailbox(address, &to.defined, "to"))
                .collect();
            let (host, port, security, url_login) = server?;
            let login = match (raw.username, raw.password) {
                (Some(user), Some(password)) => {
                    Some((user.value.trim().to_string(), password.value))
                }
                (None, None) => url_login,
                (Some(user), None) => {
                    check.at(&user.defined, "username", "a `username` needs a `password`");
                    return None;
                }
                (None, Some(password)) => {
                    check.at(
                        &password.defined,
                        "password",
                        "a `password` needs a `username`",
                    );
                    return None;
                }
            };
            if login.is_some() && security == SmtpSecurity::None {
                check.at(
                    &smtp.defined,
                    "smtp",
                    "a password is never sent unencrypted: drop `tls=none` or the login",
                );
                return None;
            }
            ChannelKind::Email {
                host,
                port,
                security,
                login,
                from: from?,
                to: to?,
            }
        }
        _ => {
            let url = check.required(raw.url, "url", &kind)?;
            // The URL may hold placeholders: checked as it would be sent.
            let filled = url.value.replace(['[', ']'], "");
            if url::Url::parse(filled.trim()).is_err() {
                check.at(&url.defined, "url", "not a URL");
                return None;
            }
            let method = match raw.method {
                Some(m) => match reqwest::Method::from_bytes(m.value.trim().as_bytes()) {
                    Ok(method) => method,
                    Err(_) => {
                        check.at(
                            &m.defined,
                            "method",
                            format!("{:?} is not a method", m.value),
                        );
                        return None;
                    }
                },
                None => reqwest::Method::POST,
            };
            let state = raw
                .placeholders
                .map(|p| p.value)
                .and_then(|mut p| p.remove("ALERT_TRIGGERED_OR_RESOLVED"))
                .unwrap_or_default();
            ChannelKind::Custom {
                url: url.value.trim().to_string(),
                method,
                headers,
                body: raw.body.map(|b| b.value).unwrap_or_default(),
                triggered: state
                    .get("TRIGGERED")
                    .cloned()
                    .unwrap_or_else(|| "TRIGGERED".into()),
                resolved: state
                    .get("RESOLVED")
                    .cloned()
                    .unwrap_or_else(|| "RESOLVED".into()),
            }
        }
    };
    (check.issues.len() == before).then_some(kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, ConfigError};
    use std::path::Path;

    fn parse(source: &str) -> Result<Config, ConfigError> {
        Config::parse(source, Path::new("hale.yaml"), |name| {
            (name == "SLACK").then(|| "https://hooks.slack.com/services/T/B/secret".to_string())
        })
    }

    const GOOD: &str = r#"
alerting:
  defaults: {renotify: 2h, group_window: 10s}
  channels:
    - {name: ops, type: webhook, url: "https://hooks.example/hale", headers: {X-Key: k}}
    - {name: team, type: slack, webhook_url: "${SLACK}"}
    - {name: chat, type: telegram, token: "123:abc", chat_id: -1001234}
    - {name: pager, type: pagerduty, routing_key: "0123456789abcdef0123456789abcdef"}
    - {name: phone, type: ntfy, topic: hale-alerts}
    - {name: status, type: custom, url: "https://status.example/[ENDPOINT_NAME]", method: PUT, body: "[ALERT_TRIGGERED_OR_RESOLVED]", placeholders: {ALERT_TRIGGERED_OR_RESOLVED: {TRIGGERED: outage}}}
    - {name: mail, type: email, smtp: "smtp://mail.example", username: hale, password: "p@ss", from: "Hale <hale@example.org>", to: [ops@example.org]}
    - {name: mail2, type: email, smtp: "smtps://bot:s%2Fcret@mail.example:2465", from: hale@example.org, to: [a@example.org, b@example.org]}
    - {name: relay, type: email, smtp: "smtp://localhost?tls=none", from: hale@example.org, to: [a@example.org]}
services:
  - name: api
    url: https://api.example/health
    alerts: [ops, team, ops]
  - name: web
    url: https://web.example/
"#;

    #[test]
    fn channels_load_with_their_defaults_and_services_name_them() {
        let config = parse(GOOD).unwrap();
        let alerting = &config.alerting;
        assert_eq!(alerting.renotify, Duration::from_secs(7_200));
        assert_eq!(alerting.group_window, Duration::from_secs(10));
        let types: Vec<&str> = alerting
            .channels
            .iter()
            .map(|c| c.kind.type_name())
            .collect();
        assert_eq!(
            types,
            [
                "webhook",
                "slack",
                "telegram",
                "pagerduty",
                "ntfy",
                "custom",
                "email",
                "email",
                "email"
            ]
        );
        let server = |name: &str| match alerting.channel(name).map(|c| &c.kind) {
            Some(ChannelKind::Email {
                host,
                port,
                security,
                login,
                to,
                ..
            }) => (
                host.clone(),
                *port,
                *security,
                login.clone(),
                to.iter().map(|m| m.email.to_string()).collect::<Vec<_>>(),
            ),
            _ => panic!("an email channel"),
        };
        assert_eq!(
            server("mail"),
            (
                "mail.example".into(),
                587,
                SmtpSecurity::StartTls,
                Some(("hale".into(), "p@ss".into())),
                vec!["ops@example.org".to_string()]
            )
        );
        let (host, port, security, login, to) = server("mail2");
        assert_eq!(
            (host.as_str(), port, security, login, to.len()),
            (
                "mail.example",
                2465,
                SmtpSecurity::Tls,
                Some(("bot".into(), "s/cret".into())),
                2
            )
        );
        assert_eq!(server("relay").1, 25);
        assert_eq!(server("relay").2, SmtpSecurity::None);
        let Some(ChannelKind::Telegram {
            chat_id, api_url, ..
        }) = alerting.channel("chat").map(|c| &c.kind)
        else {
            panic!("a telegram channel")
        };
        assert_eq!(chat_id, "-1001234");
        assert_eq!(api_url.as_str(), "https://api.telegram.org/");
        let Some(ChannelKind::Ntfy { url, priority, .. }) =
            alerting.channel("phone").map(|c| &c.kind)
        else {
            panic!("an ntfy channel")
        };
        assert_eq!((url.as_str(), *priority), ("https://ntfy.sh/", 4));
        let Some(ChannelKind::Custom {
            method,
            triggered,
            resolved,
            ..
        }) = alerting.channel("status").map(|c| &c.kind)
        else {
            panic!("a custom channel")
        };
        assert_eq!(
            (method.as_str(), triggered.as_str(), resolved.as_str()),
            ("PUT", "outage", "RESOLVED")
        );
        assert_eq!(config.services[0].alerts, ["ops", "team"]);
        assert!(config.services[1].alerts.is_empty());
        // Settings hold secrets: no Debug output shows them.
        let shown = format!("{alerting:?}");
        assert!(
            !shown.contains("secret") && !shown.contains("abc"),
            "{shown}"
        );
    }

    #[test]
    fn gatus_providers_load_as_channels_named_after_them() {
        let config = parse(
            r#"
alerting:
  discord: {webhook-url: "https://discord.example/api/webhooks/1/x"}
  teams-workflows: {webhook-url: "https://teams.example/workflows/1"}
  telegram: {token: "123:abc", id: "-1001"}
  pagerduty: {integration-key: "0123456789abcdef0123456789abcdef"}
  ntfy: {topic: hale, priority: 5}
  email: {from: hale@example.org, username: hale, password: pw, host: mail.example, port: 465, to: "a@example.org, b@example.org"}
  custom: {url: "https://hooks.example/[ENDPOINT_NAME]", body: "[ALERT_DESCRIPTION]"}
"#,
        )
        .unwrap();
        let kinds: Vec<(&str, &str)> = config
            .alerting
            .channels
            .iter()
            .map(|c| (c.name.as_str(), c.kind.type_name()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("discord", "discord"),
                ("teams-workflows", "teams"),
                ("telegram", "telegram"),
                ("pagerduty", "pagerduty"),
                ("ntfy", "ntfy"),
                ("email", "email"),
                ("custom", "custom")
            ]
        );
        let kind = |name: &str| &config.alerting.channel(name).unwrap().kind;
        let ChannelKind::Email {
            host,
            port,
            security,
            login,
            to,
            ..
        } = kind("email")
        else {
            panic!("email")
        };
        assert_eq!(
            (host.as_str(), *port, *security, login.clone(), to.len()),
            (
                "mail.example",
                465,
                SmtpSecurity::Tls,
                Some(("hale".to_string(), "pw".to_string())),
                2
            )
        );
        let ChannelKind::Custom { method, .. } = kind("custom") else {
            panic!("custom")
        };
        assert_eq!(method, reqwest::Method::GET);
        let ChannelKind::Telegram { chat_id, .. } = kind("telegram") else {
            panic!("telegram")
        };
        assert_eq!(chat_id, "-1001");
        // A provider's mistake is located at its key, in its own words.
        let message = parse("alerting:\n  pagerduty: {integration-key: short}\n")
            .unwrap_err()
            .to_string();
        assert!(
            message.contains(
                "alerting.pagerduty.integration-key: a PagerDuty integration key is 32 characters"
            ),
            "{message}"
        );
    }

    #[test]
    fn channel_mistakes_are_located() {
        let table: &[(&str, &str)] = &[
            (
                "alerting:\n  channels:\n    - {name: a, type: pager}\n",
                "hale.yaml:3:23: alerting.channels[0].type: unknown channel type \"pager\" (one of webhook, slack, discord, teams, telegram, pagerduty, ntfy, email or custom)",
            ),
            (
                "alerting:\n  channels:\n    - {name: a, type: webhook}\n",
                "hale.yaml:3:23: alerting.channels[0].url: a webhook channel needs `url`",
            ),
            (
                "alerting:\n  channels:\n    - {name: a, type: slack, webhook_url: 'https://x/', topic: t}\n",
                "alerting.channels[0].topic: a slack channel takes no `topic`",
            ),
            (
                "alerting:\n  channels:\n    - {name: a, type: webhook, url: 'ftp://x/'}\n",
                "alerting.channels[0].url: a channel's URL is http or https, not ftp:",
            ),
            (
                "alerting:\n  channels:\n    - {name: a, type: pagerduty, routing_key: short}\n",
                "alerting.channels[0].routing_key: a PagerDuty integration key is 32 characters",
            ),
            (
                "alerting:\n  channels:\n    - {name: a, type: ntfy, topic: t, priority: 9}\n",
                "alerting.channels[0].priority: from 1 (min) to 5 (max)",
            ),
            (
                "alerting:\n  channels:\n    - {name: a, type: webhook, url: 'https://x/'}\n    - {name: a, type: webhook, url: 'https://y/'}\n",
                "hale.yaml:4:14: alerting.channels[1].name: duplicate channel name \"a\"",
            ),
            (
                "alerting:\n  channels:\n    - {name: a, type: webhook, url: 'https://x/', urll: y}\n",
                "unknown field `urll`",
            ),
            (
                "alerting:\n  chanels: []\n",
                "unknown field `chanels`",
            ),
            (
                "alerting:\n  channels:\n    - {name: ops, type: webhook, url: 'https://x/'}\nservices:\n  - name: a\n    url: http://x/\n    alerts: [ops, pager]\n",
                "hale.yaml:7:19: services[0].alerts[1]: no channel \"pager\" (alerting.channels has ops)",
            ),
            (
                "alerting:\n  channels:\n    - {name: m, type: email, smtp: 'http://x', from: a@b.c, to: [d@e.f]}\n",
                "alerting.channels[0].smtp: an SMTP server is smtp:// (STARTTLS) or smtps:// (TLS), not http:",
            ),
            (
                "alerting:\n  channels:\n    - {name: m, type: email, smtp: 'smtp://x?tls=maybe', from: a@b.c, to: [d@e.f]}\n",
                "alerting.channels[0].smtp: `tls=maybe`: starttls or none (smtp://), tls (smtps://)",
            ),
            (
                "alerting:\n  channels:\n    - {name: m, type: email, smtp: 'smtp://u:p@x?tls=none', from: a@b.c, to: [d@e.f]}\n",
                "alerting.channels[0].smtp: a password is never sent unencrypted",
            ),
            (
                "alerting:\n  channels:\n    - {name: m, type: email, smtp: 'smtp://x', from: a@b.c, to: [nobody]}\n",
                "hale.yaml:3:65: alerting.channels[0].to: \"nobody\" is not an email address",
            ),
            (
                "alerting:\n  channels:\n    - {name: m, type: email, smtp: 'smtp://x', to: [d@e.f]}\n",
                "alerting.channels[0].from: an email channel needs `from`",
            ),
            (
                "alerting:\n  channels:\n    - {name: m, type: email, smtp: 'smtp://x', from: a@b.c, to: [d@e.f], password: p}\n",
                "alerting.channels[0].password: a `password` needs a `username`",
            ),
            (
                "alerting:\n  defaults: {flood_limit: many}\n",
                "flood_limit",
            ),
            (
                "services:\n  - name: a\n    url: http://x/\n    alerts: [ops]\n",
                "services[0].alerts[0]: no channel \"ops\": `alerting.channels` names none",
            ),
        ];
        for (source, expected) in table {
            let message = parse(source).expect_err(source).to_string();
            assert!(message.contains(expected), "{source}\n{message}");
        }
    }
}
