//! What each channel is sent: one request per message, its body in the
//! shape the channel's API documents (docs/configuration.md, "Alerting").
//! An attempt succeeds on a 2xx answer; anything else is an error whose
//! text names no URL (channel URLs hold secrets).

use super::ServiceRoute;
use crate::config::{Channel, ChannelKind};
use crate::store::alerts::DeliveryRow;
use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Value};
use std::time::Duration;

/// One message, as every channel words it.
#[derive(Clone, Debug, PartialEq)]
pub struct Notice {
    /// Stable per alert and event (`42-firing`): receivers drop repeats.
    pub id: String,
    pub alert_id: i64,
    /// `firing`, `resolved` or `renotify`.
    pub event: String,
    pub service: String,
    pub group: Option<String>,
    /// The service's URL without userinfo or query.
    pub url: String,
    pub rule: String,
    pub severity: String,
    pub message: String,
    pub fired_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

fn at(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

impl Notice {
    pub fn of(delivery: &DeliveryRow, service: &ServiceRoute) -> Notice {
        let alert = &delivery.alert;
        let id = match delivery.event.as_str() {
            "renotify" => format!("{}-renotify-{}", alert.id, delivery.id),
            event => format!("{}-{event}", alert.id),
        };
        Notice {
            id,
            alert_id: alert.id,
            event: delivery.event.clone(),
            service: alert.service.clone(),
            group: service.group.clone(),
            url: service.url.clone(),
            rule: alert.rule.clone(),
            severity: alert.severity.clone(),
            message: alert.message.clone(),
            fired_at: at(alert.fired_at_ms),
            resolved_at: alert.resolved_at_ms.map(at),
        }
    }

    fn resolved(&self) -> bool {
        self.event == "resolved"
    }

    /// The one-line title: `[CRITICAL] api: down` or `[RESOLVED] api: down`.
    pub fn title(&self) -> String {
        let state = if self.resolved() {
            "RESOLVED".to_string()
        } else {
            self.severity.to_uppercase()
        };
        format!("[{state}] {}: {}", self.service, self.rule)
    }

    /// The body's text: what happened, and for how long once resolved.
    pub fn text(&self) -> String {
        match self.resolved_at.filter(|_| self.resolved()) {
            Some(end) => {
                let lasted = (end - self.fired_at).num_seconds().max(0) as u64;
                format!(
                    "{} is no longer {} after {}",
                    self.service,
                    self.rule,
                    humantime::format_duration(Duration::from_secs(lasted))
                )
            }
            None => self.message.clone(),
        }
    }

    /// Hale's own JSON (the `webhook` channel), as docs/api.md shows it.
    pub fn json(&self) -> Value {
        json!({
            "id": self.id,
            "alert_id": self.alert_id,
            "event": self.event,
            "service": self.service,
            "group": self.group,
            "rule": self.rule,
            "severity": self.severity,
            "title": self.title(),
            "message": self.text(),
            "fired_at": self.fired_at,
            "resolved_at": self.resolved_at,
        })
    }
}

/// Text cut to `max` characters, with an ellipsis when cut.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A request, as sent: method, URL, headers and a JSON or text body.
#[derive(Debug)]
pub struct Request {
    pub method: reqwest::Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Request {
    fn json(url: &url::Url, body: Value) -> Request {
        Request {
            method: reqwest::Method::POST,
            url: url.to_string(),
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string(),
        }
    }
}

/// The request `channel` is sent for `notice`.
pub fn request(channel: &Channel, notice: &Notice) -> Request {
    let title = notice.title();
    let text = notice.text();
    let line = format!("{title}\n{text}");
    match &channel.kind {
        ChannelKind::Webhook { url, headers } => {
            let mut request = Request::json(url, notice.json());
            request
                .headers
                .extend(headers.iter().map(|(k, v)| (k.clone(), v.clone())));
            request
        }
        ChannelKind::Slack { webhook_url } => {
            Request::json(webhook_url, json!({"text": format!("*{title}*\n{text}")}))
        }
        ChannelKind::Discord { webhook_url } => {
            Request::json(webhook_url, json!({"content": cut(&line, 2_000)}))
        }
        ChannelKind::Teams { webhook_url } => Request::json(
            webhook_url,
            json!({
                "type": "message",
                "attachments": [{
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": null,
                    "content": {
                        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                        "type": "AdaptiveCard",
                        "version": "1.4",
                        "body": [
                            {"type": "TextBlock", "text": title, "weight": "Bolder",
                             "size": "Medium", "wrap": true},
                            {"type": "TextBlock", "text": text, "wrap": true},
                        ],
                    },
                }],
            }),
        ),
        ChannelKind::Telegram {
            token,
            chat_id,
            api_url,
        } => {
            let mut url = api_url.clone();
            url.set_path(&format!("/bot{token}/sendMessage"));
            Request::json(&url, json!({"chat_id": chat_id, "text": cut(&line, 4_096)}))
        }
        ChannelKind::PagerDuty { routing_key, url } => {
            let dedup_key = format!("hale-{}", notice.alert_id);
            let body = if notice.resolved() {
                json!({
                    "routing_key": routing_key,
                    "event_action": "resolve",
                    "dedup_key": dedup_key,
                })
            } else {
                json!({
                    "routing_key": routing_key,
                    "event_action": "trigger",
                    "dedup_key": dedup_key,
                    "payload": {
                        "summary": cut(&format!("{title}: {text}"), 1_024),
                        "source": notice.service,
                        "severity": if notice.severity == "critical" { "critical" } else { "warning" },
                        "timestamp": notice.fired_at,
                        "component": notice.service,
                        "group": notice.group,
                        "class": notice.rule,
                        "custom_details": {"message": notice.message, "rule": notice.rule},
                    },
                })
            };
            Request::json(url, body)
        }
        ChannelKind::Ntfy {
            url,
            topic,
            token,
            priority,
        } => {
            let tag = match (notice.resolved(), notice.severity.as_str()) {
                (true, _) => "white_check_mark",
                (false, "critical") => "rotating_light",
                _ => "warning",
            };
            let mut request = Request::json(
                url,
                json!({
                    "topic": topic,
                    "title": title,
                    "message": text,
                    "priority": if notice.resolved() { 3 } else { *priority },
                    "tags": [tag],
                }),
            );
            if let Some(token) = token {
                request
                    .headers
                    .push(("Authorization".into(), format!("Bearer {token}")));
            }
            request
        }
        ChannelKind::Custom {
            url,
            method,
            headers,
            body,
            triggered,
            resolved,
        } => {
            let state = if notice.resolved() {
                resolved
            } else {
                triggered
            };
            // Values go into a URL percent-encoded, into a JSON body
            // escaped, into any other body as they are.
            let json_body = matches!(body.trim_start().chars().next(), Some('{' | '['));
            let fill = |template: &str, place: Place| {
                let value = |v: &str| match place {
                    Place::Url => url::form_urlencoded::byte_serialize(v.as_bytes()).collect(),
                    Place::Json => {
                        let quoted = Value::String(v.to_string()).to_string();
                        quoted[1..quoted.len() - 1].to_string()
                    }
                    Place::Text => v.to_string(),
                };
                template
                    .replace("[ALERT_DESCRIPTION]", &value(&text))
                    .replace("[ENDPOINT_NAME]", &value(&notice.service))
                    .replace(
                        "[ENDPOINT_GROUP]",
                        &value(notice.group.as_deref().unwrap_or("")),
                    )
                    .replace("[ENDPOINT_URL]", &value(&notice.url))
                    .replace("[RESULT_ERRORS]", &value(&notice.message))
                    .replace("[RESULT_CONDITIONS]", "")
                    .replace("[ALERT_TRIGGERED_OR_RESOLVED]", &value(state))
            };
            Request {
                method: method.clone(),
                url: fill(url, Place::Url),
                headers: headers
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                body: fill(body, if json_body { Place::Json } else { Place::Text }),
            }
        }
    }
}

/// Where a custom channel's placeholder is filled in.
#[derive(Clone, Copy)]
enum Place {
    Url,
    Json,
    Text,
}

/// Sends `notice` to `channel`; the error says why it was not delivered.
pub async fn send(
    client: &reqwest::Client,
    channel: &Channel,
    notice: &Notice,
    timeout: Duration,
) -> Result<(), String> {
    let request = request(channel, notice);
    let mut builder = client
        .request(request.method, &request.url)
        .timeout(timeout)
        .body(request.body);
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    // The probe's wording: the innermost cause, never the URL.
    let response = builder
        .send()
        .await
        .map_err(|e| crate::probe::http::describe(&e.without_url()))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body = response.text().await.unwrap_or_default();
    let body = cut(body.trim(), 200);
    Err(if body.is_empty() {
        format!("HTTP {}", status.as_u16())
    } else {
        format!("HTTP {}: {body}", status.as_u16())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::http::Headers;

    fn notice(event: &str) -> Notice {
        let fired = Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap();
        Notice {
            id: format!("7-{event}"),
            alert_id: 7,
            event: event.into(),
            service: "api \"eu\"".into(),
            group: Some("core".into()),
            url: "https://api.example/health".into(),
            rule: "down".into(),
            severity: "critical".into(),
            message: "api \"eu\" is down: 3 failures in a row: HTTP 503".into(),
            fired_at: fired,
            resolved_at: (event == "resolved").then(|| fired + chrono::Duration::seconds(125)),
        }
    }

    fn channel(kind: ChannelKind) -> Channel {
        Channel {
            name: "c".into(),
            kind,
        }
    }

    #[test]
    fn a_resolved_message_says_how_long_the_alert_lasted() {
        assert_eq!(notice("firing").title(), "[CRITICAL] api \"eu\": down");
        assert_eq!(notice("resolved").title(), "[RESOLVED] api \"eu\": down");
        assert_eq!(
            notice("resolved").text(),
            "api \"eu\" is no longer down after 2m 5s"
        );
    }

    #[test]
    fn custom_templates_fill_gatus_placeholders_and_escape_json_bodies() {
        let custom = channel(ChannelKind::Custom {
            url: "https://hooks.example/[ENDPOINT_GROUP]?s=[ALERT_TRIGGERED_OR_RESOLVED]".into(),
            method: reqwest::Method::PUT,
            headers: Headers(std::collections::BTreeMap::from([(
                "X-Key".to_string(),
                "k".to_string(),
            )])),
            body: r#"{"text": "[ALERT_TRIGGERED_OR_RESOLVED]: [ENDPOINT_NAME] - [ALERT_DESCRIPTION]"}"#
                .into(),
            triggered: "partial_outage".into(),
            resolved: "operational".into(),
        });
        let firing = request(&custom, &notice("firing"));
        assert_eq!(firing.method, reqwest::Method::PUT);
        assert_eq!(firing.url, "https://hooks.example/core?s=partial_outage");
        let body: Value = serde_json::from_str(&firing.body).expect("valid JSON");
        assert_eq!(
            body,
            json!({"text": "partial_outage: api \"eu\" - api \"eu\" is down: 3 failures in a row: HTTP 503"})
        );
        let resolved = request(&custom, &notice("resolved"));
        assert!(resolved.url.ends_with("s=operational"));
        assert_eq!(resolved.headers, [("X-Key".to_string(), "k".to_string())]);
    }

    #[test]
    fn pagerduty_triggers_and_resolves_by_one_dedup_key() {
        let pd = channel(ChannelKind::PagerDuty {
            routing_key: "k".repeat(32),
            url: url::Url::parse("https://events.pagerduty.com/v2/enqueue").unwrap(),
        });
        let trigger: Value = serde_json::from_str(&request(&pd, &notice("firing")).body).unwrap();
        assert_eq!(trigger["event_action"], "trigger");
        assert_eq!(trigger["dedup_key"], "hale-7");
        assert_eq!(trigger["payload"]["severity"], "critical");
        assert_eq!(trigger["payload"]["timestamp"], "2026-12-03T10:00:00Z");
        let resolve: Value = serde_json::from_str(&request(&pd, &notice("resolved")).body).unwrap();
        assert_eq!(
            resolve,
            json!({"routing_key": "k".repeat(32), "event_action": "resolve", "dedup_key": "hale-7"})
        );
    }
}
