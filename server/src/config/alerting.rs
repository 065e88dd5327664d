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

/// Gatus's alerting providers: accepted under `alerting:` with a warning
/// each (Hale's channels are written under `channels:`).
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

/// The alerting section, ready to run.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertingConfig {
    pub renotify: Duration,
    pub group_window: Duration,
    pub channels: Vec<Channel>,
}

impl Default for AlertingConfig {
    fn default() -> AlertingConfig {
        AlertingConfig {
            renotify: DEFAULT_RENOTIFY,
            group_window: DEFAULT_GROUP_WINDOW,
            channels: Vec::new(),
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
            ChannelKind::Custom { .. } => "custom",
        }
    }
}

/// The types `type:` takes.
const TYPES: &str = "webhook, slack, discord, teams, telegram, pagerduty, ntfy or custom";

/// `alerting:` as written.
pub struct RawAlerting {
    pub defaults: Option<Spanned<RawDefaults>>,
    pub channels: Vec<Spanned<RawChannel>>,
    /// Gatus providers written here, with where: ignored, with a warning.
    pub gatus: Vec<(String, Location)>,
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
                    gatus: Vec::new(),
                };
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "defaults" => raw.defaults = Some(map.next_value()?),
                        "channels" => raw.channels = map.next_value()?,
                        gatus if GATUS_PROVIDERS.contains(&gatus) => {
                            let value: Spanned<IgnoredAny> = map.next_value()?;
                            raw.gatus.push((key, value.defined));
                        }
                        other => {
                            return Err(de::Error::unknown_field(
                                other,
                                &["defaults", "channels", "(a Gatus provider)"],
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
    }
    let mut names = HashSet::new();
    for (index, entry) in raw.channels.into_iter().enumerate() {
        let field = |name: &str| format!("alerting.channels[{index}].{name}");
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
                format!("a {} channel needs `{name}`", kind.value),
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
    let given: [(&str, Option<&Location>); 12] = [
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
    ];
    let takes: &[&str] = match kind.value.as_str() {
        "webhook" => &["url", "headers"],
        "slack" | "discord" | "teams" => &["webhook_url"],
        "telegram" => &["token", "chat_id", "api_url"],
        "pagerduty" => &["routing_key", "url"],
        "ntfy" => &["url", "topic", "token", "priority"],
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
                format!("a {} channel takes no `{name}`", kind.value),
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
                "custom"
            ]
        );
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
    fn channel_mistakes_are_located() {
        let table: &[(&str, &str)] = &[
            (
                "alerting:\n  channels:\n    - {name: a, type: pager}\n",
                "hale.yaml:3:23: alerting.channels[0].type: unknown channel type \"pager\" (one of webhook, slack, discord, teams, telegram, pagerduty, ntfy or custom)",
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
