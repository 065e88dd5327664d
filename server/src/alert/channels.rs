//! What each channel is sent: one request per message, its body in the
//! shape the channel's API documents (docs/configuration.md, "Alerting").
//! An attempt succeeds on a 2xx answer; anything else is an error whose
//! text names no URL (channel URLs hold secrets). Email goes over SMTP
//! (lettre), one mail with a text and an HTML part.

use super::ServiceRoute;
use crate::config::{Channel, ChannelKind, SmtpSecurity};
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
    /// A storm's messages folded into this one (docs/configuration.md,
    /// "Alerting"); empty for a single alert's message.
    pub folded: Vec<Notice>,
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
        let message = if delivery.event == "renotify" {
            let lasted = (delivery.created_at_ms - alert.fired_at_ms).max(0) / 1_000;
            format!(
                "{} (still, after {})",
                alert.message,
                humantime::format_duration(Duration::from_secs(lasted as u64))
            )
        } else {
            alert.message.clone()
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
            message,
            fired_at: at(alert.fired_at_ms),
            resolved_at: alert.resolved_at_ms.map(at),
            folded: Vec::new(),
        }
    }

    /// A test message to channel `channel` (`hale notify-test`).
    pub fn test(channel: &str) -> Notice {
        let now = Utc::now();
        Notice {
            id: format!("test-{}", now.timestamp_millis()),
            alert_id: 0,
            event: "test".into(),
            service: "Hale".into(),
            group: None,
            url: String::new(),
            rule: "test message".into(),
            severity: "info".into(),
            message: format!(
                "A test message from Hale to channel {channel:?}: alerts sent here reach you."
            ),
            fired_at: now,
            resolved_at: None,
            folded: Vec::new(),
        }
    }

    /// One message for several (a storm's): titled by how many of each
    /// rule fired and how many resolved, its text a line for each, its id
    /// from the first and last message's ids (`delivery_ids`).
    pub fn fold(notices: Vec<Notice>, delivery_ids: (i64, i64)) -> Notice {
        let mut tally: Vec<(String, usize)> = Vec::new();
        for notice in &notices {
            let label = if notice.resolved() {
                "resolved"
            } else {
                notice.rule.as_str()
            };
            match tally.iter_mut().find(|(l, _)| l == label) {
                Some((_, n)) => *n += 1,
                None => tally.push((label.to_string(), 1)),
            }
        }
        let severity = if notices
            .iter()
            .any(|n| !n.resolved() && n.severity == "critical")
        {
            "critical"
        } else {
            "warning"
        };
        let summary = tally
            .iter()
            .map(|(label, n)| format!("{n} {label}"))
            .collect::<Vec<_>>()
            .join(", ");
        let fired_at = notices.iter().map(|n| n.fired_at).min().unwrap_or_default();
        Notice {
            id: format!("storm-{}-{}", delivery_ids.0, delivery_ids.1),
            alert_id: 0,
            event: "storm".into(),
            service: format!("{} alerts", notices.len()),
            group: None,
            url: String::new(),
            rule: summary,
            severity: severity.into(),
            message: notices
                .iter()
                .map(|n| format!("{} — {}", n.title(), n.text()))
                .collect::<Vec<_>>()
                .join("\n"),
            fired_at,
            resolved_at: None,
            folded: notices,
        }
    }

    /// A resolved alert's message, or a storm's whose every alert resolved.
    fn resolved(&self) -> bool {
        self.event == "resolved"
            || (!self.folded.is_empty() && self.folded.iter().all(Notice::resolved))
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

    /// Hale's own JSON (the `webhook` channel), as docs/api.md shows it;
    /// a storm's lists its alerts under `alerts`.
    pub fn json(&self) -> Value {
        let mut body = self.own_json();
        if !self.folded.is_empty() {
            body["alerts"] = self.folded.iter().map(Notice::own_json).collect();
        }
        body
    }

    fn own_json(&self) -> Value {
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

/// The HTTP request `channel` is sent for `notice`; `None` for email.
pub fn request(channel: &Channel, notice: &Notice) -> Option<Request> {
    let title = notice.title();
    let text = notice.text();
    let line = format!("{title}\n{text}");
    Some(match &channel.kind {
        ChannelKind::Email { .. } => return None,
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
            let dedup_key = if notice.alert_id == 0 {
                format!("hale-{}", notice.id)
            } else {
                format!("hale-{}", notice.alert_id)
            };
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
                        "severity": match notice.severity.as_str() {
                            "critical" => "critical",
                            "warning" => "warning",
                            _ => "info",
                        },
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
    })
}

/// The mail an email channel is sent: the title as subject, the text as
/// the plain part, and both in a small HTML part.
pub fn mail(
    from: &lettre::message::Mailbox,
    to: &[lettre::message::Mailbox],
    notice: &Notice,
) -> Result<lettre::Message, String> {
    use app::board_html::escape;
    let title = notice.title();
    let text = notice.text();
    let mut html = format!("<!doctype html><html><body><h2>{}</h2>", escape(&title));
    for line in text.lines() {
        html.push_str(&format!("<p>{}</p>", escape(line)));
    }
    if !notice.url.is_empty() {
        html.push_str(&format!("<p><small>{}</small></p>", escape(&notice.url)));
    }
    html.push_str("</body></html>");
    let mut builder = lettre::Message::builder()
        .from(from.clone())
        .subject(title)
        .header(lettre::message::header::UserAgent::from(
            concat!("Hale/", env!("CARGO_PKG_VERSION")).to_string(),
        ));
    for address in to {
        builder = builder.to(address.clone());
    }
    builder
        .multipart(lettre::message::MultiPart::alternative_plain_html(
            text, html,
        ))
        .map_err(|e| format!("the mail could not be written: {e}"))
}

/// Sends `notice` to an email channel's server.
async fn send_mail(
    channel: &ChannelKind,
    notice: &Notice,
    timeout: Duration,
) -> Result<(), String> {
    use lettre::transport::smtp::authentication::Credentials;
    use lettre::transport::smtp::client::{Tls, TlsParameters};
    use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
    let ChannelKind::Email {
        host,
        port,
        security,
        login,
        from,
        to,
    } = channel
    else {
        return Err("not an email channel".into());
    };
    let message = mail(from, to, notice)?;
    let tls = |host: &str| {
        TlsParameters::new(host.to_string()).map_err(|e| format!("TLS for {host}: {e}"))
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.as_str())
        .port(*port)
        .timeout(Some(timeout));
    builder = match security {
        SmtpSecurity::StartTls => builder.tls(Tls::Required(tls(host)?)),
        SmtpSecurity::Tls => builder.tls(Tls::Wrapper(tls(host)?)),
        SmtpSecurity::None => builder.tls(Tls::None),
    };
    if let Some((user, password)) = login {
        builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
    }
    let transport = builder.build();
    // The whole exchange within the limit: a server that accepts and
    // then stalls holds up this message only.
    match tokio::time::timeout(timeout, transport.send(message)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(smtp_error(&e)),
        Err(_) => Err(format!("no answer from the mail server within {timeout:?}")),
    }
}

/// An SMTP failure in words: the server's answer when it gave one.
fn smtp_error(error: &lettre::transport::smtp::Error) -> String {
    if let Some(code) = error.status() {
        return cut(&format!("SMTP {code}: {error}"), 300);
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        text = format!("{text}: {inner}");
        source = inner.source();
    }
    cut(&text, 300)
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
    let Some(request) = request(channel, notice) else {
        return send_mail(&channel.kind, notice, timeout).await;
    };
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
            folded: Vec::new(),
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
    fn a_storm_is_one_message_counting_each_rule_and_listing_each_alert() {
        let mut degraded = notice("firing");
        degraded.rule = "degraded".into();
        degraded.severity = "warning".into();
        let storm = Notice::fold(vec![notice("firing"), degraded, notice("resolved")], (4, 9));
        assert_eq!(storm.id, "storm-4-9");
        assert_eq!(
            storm.title(),
            "[CRITICAL] 3 alerts: 1 down, 1 degraded, 1 resolved"
        );
        assert_eq!(
            storm.text().lines().collect::<Vec<_>>(),
            [
                "[CRITICAL] api \"eu\": down — api \"eu\" is down: 3 failures in a row: HTTP 503",
                "[WARNING] api \"eu\": degraded — api \"eu\" is down: 3 failures in a row: HTTP 503",
                "[RESOLVED] api \"eu\": down — api \"eu\" is no longer down after 2m 5s",
            ]
        );
        let body = storm.json();
        assert_eq!(body["event"], "storm");
        assert_eq!(body["alerts"].as_array().unwrap().len(), 3);
        assert_eq!(body["alerts"][2]["event"], "resolved");
        // Only resolutions: a resolved storm.
        let over = Notice::fold(vec![notice("resolved"), notice("resolved")], (1, 2));
        assert_eq!(over.title(), "[RESOLVED] 2 alerts: 2 resolved");
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
        let firing = request(&custom, &notice("firing")).unwrap();
        assert_eq!(firing.method, reqwest::Method::PUT);
        assert_eq!(firing.url, "https://hooks.example/core?s=partial_outage");
        let body: Value = serde_json::from_str(&firing.body).expect("valid JSON");
        assert_eq!(
            body,
            json!({"text": "partial_outage: api \"eu\" - api \"eu\" is down: 3 failures in a row: HTTP 503"})
        );
        let resolved = request(&custom, &notice("resolved")).unwrap();
        assert!(resolved.url.ends_with("s=operational"));
        assert_eq!(resolved.headers, [("X-Key".to_string(), "k".to_string())]);
    }

    #[test]
    fn pagerduty_triggers_and_resolves_by_one_dedup_key() {
        let pd = channel(ChannelKind::PagerDuty {
            routing_key: "k".repeat(32),
            url: url::Url::parse("https://events.pagerduty.com/v2/enqueue").unwrap(),
        });
        let trigger: Value =
            serde_json::from_str(&request(&pd, &notice("firing")).unwrap().body).unwrap();
        assert_eq!(trigger["event_action"], "trigger");
        assert_eq!(trigger["dedup_key"], "hale-7");
        assert_eq!(trigger["payload"]["severity"], "critical");
        assert_eq!(trigger["payload"]["timestamp"], "2026-12-03T10:00:00Z");
        let resolve: Value =
            serde_json::from_str(&request(&pd, &notice("resolved")).unwrap().body).unwrap();
        assert_eq!(
            resolve,
            json!({"routing_key": "k".repeat(32), "event_action": "resolve", "dedup_key": "hale-7"})
        );
    }
}
