//! Alerting from the outside: a receiver started here stands in for every
//! channel's API and checks each payload's exact shape; a failing channel
//! is retried and recorded; a Hale killed in the middle of an outage
//! neither repeats the `down` nor forgets the `resolved`; a storm of
//! fifty alerts is folded into one message; an alert that stays is sent
//! again.

use crate::helpers::*;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: String,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("{} sent no JSON ({e}): {}", self.path, self.body))
    }

    /// The alerts a webhook message carries: itself, or a storm's each.
    fn alerts(&self) -> Vec<Value> {
        let body = self.json();
        match body["alerts"].as_array() {
            Some(folded) => folded.clone(),
            None => vec![body],
        }
    }
}

/// Every alert the webhook messages in `got` carry.
fn alerts_in(got: &[Received]) -> Vec<Value> {
    got.iter().flat_map(Received::alerts).collect()
}

#[derive(Clone, Default)]
struct Inbox {
    got: Arc<Mutex<Vec<Received>>>,
    /// Requests to `/flaky…` answered 500 before one is taken.
    flaky_failures: Arc<AtomicUsize>,
}

/// An HTTP server that records every request. `/broken…` always answers
/// 503; `/flaky…` answers 500 `flaky_failures` times first.
struct Receiver {
    base: String,
    inbox: Inbox,
}

impl Receiver {
    async fn start() -> Receiver {
        async fn take(
            State(inbox): State<Inbox>,
            uri: Uri,
            headers: HeaderMap,
            body: Bytes,
        ) -> (StatusCode, &'static str) {
            let path = uri.path().to_string();
            let answer = if path.starts_with("/broken") {
                (StatusCode::SERVICE_UNAVAILABLE, "nope")
            } else if path.starts_with("/flaky")
                && inbox
                    .flaky_failures
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok()
            {
                (StatusCode::INTERNAL_SERVER_ERROR, "try later")
            } else {
                (StatusCode::OK, "ok")
            };
            inbox.got.lock().unwrap().push(Received {
                path,
                headers,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
            answer
        }
        let inbox = Inbox::default();
        let app = axum::Router::new().fallback(take).with_state(inbox.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { base, inbox }
    }

    fn got(&self) -> Vec<Received> {
        self.inbox.got.lock().unwrap().clone()
    }

    /// Waits for `n` requests, then gives them all.
    async fn wait_for(&self, n: usize) -> Vec<Received> {
        eventually(&format!("{n} requests to the receiver"), || async {
            let got = self.got();
            (got.len() >= n).then_some(got)
        })
        .await
    }

    /// Waits for `n` alerts, however many messages carry them (alerts
    /// queued together for one channel fold into one message), then gives
    /// every request.
    async fn wait_for_alerts(&self, n: usize) -> Vec<Received> {
        eventually(&format!("{n} alerts at the receiver"), || async {
            let got = self.got();
            (alerts_in(&got).len() >= n).then_some(got)
        })
        .await
    }
}

const TOKEN: &str = "backup-token-0123456789abcdef";

fn every_channel(receiver: &str) -> String {
    format!(
        r#"
alerting:
  defaults: {{group_window: 0s}}
  channels:
    - {{name: hook, type: webhook, url: "{receiver}/hook", headers: {{X-Hale-Key: k1}}}}
    - {{name: slack, type: slack, webhook_url: "{receiver}/slack"}}
    - {{name: discord, type: discord, webhook_url: "{receiver}/discord"}}
    - {{name: teams, type: teams, webhook_url: "{receiver}/teams"}}
    - {{name: telegram, type: telegram, token: "123:abc", chat_id: -1001, api_url: "{receiver}"}}
    - {{name: pager, type: pagerduty, routing_key: "0123456789abcdef0123456789abcdef", url: "{receiver}/v2/enqueue"}}
    - {{name: ntfy, type: ntfy, url: "{receiver}", topic: hale, token: tk_secret}}
    - {{name: custom, type: custom, url: "{receiver}/custom/[ENDPOINT_NAME]", body: '{{"state": "[ALERT_TRIGGERED_OR_RESOLVED]", "text": "[ALERT_DESCRIPTION]"}}', placeholders: {{ALERT_TRIGGERED_OR_RESOLVED: {{TRIGGERED: outage, RESOLVED: ok}}}}}}
services:
  - name: backup
    group: jobs
    url: 'push://{TOKEN}'
    interval: 1h
    failure_threshold: 1
    success_threshold: 1
    alerts: [hook, slack, discord, teams, telegram, pager, ntfy, custom]
"#
    )
}

async fn push(base: &str, status: &str) {
    let response = reqwest::Client::new()
        .post(format!(
            "{base}/api/push/{TOKEN}?status={status}&msg=disk%20full"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

/// `GET /api/alerts?limit=1000` (every row here) as `client`.
async fn alert_page(client: &reqwest::Client, base: &str) -> wire::alert::AlertPage {
    let response = client
        .get(format!("{base}/api/alerts?limit=1000"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

fn by_path<'a>(got: &'a [Received], path: &str) -> Vec<&'a Received> {
    got.iter().filter(|r| r.path == path).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_channel_gets_its_own_payload_when_an_alert_fires_and_resolves() {
    let receiver = Receiver::start().await;
    let app = spawn_app(Backend::Sqlite, &every_channel(&receiver.base)).await;
    push(&app.base, "down").await;
    let got = receiver.wait_for(8).await;
    assert_eq!(got.len(), 8, "one message per channel: {got:?}");

    let hook = by_path(&got, "/hook")[0];
    assert_eq!(hook.headers["x-hale-key"], "k1");
    assert_eq!(hook.headers["content-type"], "application/json");
    let body = hook.json();
    let message = body["message"].as_str().unwrap().to_string();
    assert!(
        message.starts_with("backup is down: ") && message.contains("disk full"),
        "{message}"
    );
    let fired_at = body["fired_at"].clone();
    let alert_id = body["alert_id"].as_i64().unwrap();
    assert_eq!(
        body,
        json!({
            "id": format!("{alert_id}-firing"),
            "alert_id": alert_id,
            "event": "firing",
            "service": "backup",
            "group": "jobs",
            "rule": "down",
            "severity": "critical",
            "title": "[CRITICAL] backup: down",
            "message": message,
            "fired_at": fired_at,
            "resolved_at": null,
        })
    );
    let line = format!("[CRITICAL] backup: down\n{message}");
    assert_eq!(
        by_path(&got, "/slack")[0].json(),
        json!({"text": format!("*[CRITICAL] backup: down*\n{message}")})
    );
    assert_eq!(
        by_path(&got, "/discord")[0].json(),
        json!({"content": line})
    );
    let teams = by_path(&got, "/teams")[0].json();
    assert_eq!(teams["type"], "message");
    let card = &teams["attachments"][0];
    assert_eq!(
        card["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(card["content"]["type"], "AdaptiveCard");
    assert_eq!(card["content"]["version"], "1.4");
    assert_eq!(
        card["content"]["body"][0]["text"],
        "[CRITICAL] backup: down"
    );
    assert_eq!(card["content"]["body"][1]["text"], message.as_str());
    assert_eq!(
        by_path(&got, "/bot123:abc/sendMessage")[0].json(),
        json!({"chat_id": "-1001", "text": line})
    );
    assert_eq!(
        by_path(&got, "/v2/enqueue")[0].json(),
        json!({
            "routing_key": "0123456789abcdef0123456789abcdef",
            "event_action": "trigger",
            "dedup_key": format!("hale-{alert_id}"),
            "payload": {
                "summary": format!("[CRITICAL] backup: down: {message}"),
                "source": "backup",
                "severity": "critical",
                "timestamp": fired_at,
                "component": "backup",
                "group": "jobs",
                "class": "down",
                "custom_details": {"message": message, "rule": "down"},
            },
        })
    );
    let ntfy = by_path(&got, "/")[0];
    assert_eq!(ntfy.headers["authorization"], "Bearer tk_secret");
    assert_eq!(
        ntfy.json(),
        json!({
            "topic": "hale",
            "title": "[CRITICAL] backup: down",
            "message": message,
            "priority": 4,
            "tags": ["rotating_light"],
        })
    );
    assert_eq!(
        by_path(&got, "/custom/backup")[0].json(),
        json!({"state": "outage", "text": message})
    );

    // Recovered: each channel is told, PagerDuty by the same dedup key.
    push(&app.base, "up").await;
    let got = receiver.wait_for(16).await;
    assert_eq!(got.len(), 16, "{got:?}");
    let resolved = by_path(&got, "/hook")[1].json();
    assert_eq!(resolved["id"], format!("{alert_id}-resolved"));
    assert_eq!(resolved["event"], "resolved");
    assert_eq!(resolved["title"], "[RESOLVED] backup: down");
    assert!(resolved["resolved_at"].is_string());
    assert_eq!(
        by_path(&got, "/v2/enqueue")[1].json(),
        json!({
            "routing_key": "0123456789abcdef0123456789abcdef",
            "event_action": "resolve",
            "dedup_key": format!("hale-{alert_id}"),
        })
    );
    assert_eq!(by_path(&got, "/custom/backup")[1].json()["state"], "ok");
    assert_eq!(
        by_path(&got, "/")[1].json()["tags"],
        json!(["white_check_mark"])
    );

    // The log lists every message, delivered, to a signed-in reader only.
    let (status, _) = app.get_json("/api/alerts").await;
    assert_eq!(status, 401);
    let viewer = app.client_as(wire::account::Role::Viewer).await;
    let page = alert_page(&viewer, &app.base).await;
    assert_eq!(page.alerts.len(), 16);
    assert!(page
        .alerts
        .iter()
        .all(|a| a.state == "delivered" && a.attempts == 1 && a.service == "backup"));
    assert_eq!(
        page.alerts.iter().filter(|a| a.event == "resolved").count(),
        8
    );
    // No secret of a channel's settings is shown.
    let text = serde_json::to_string(&page).unwrap();
    assert!(!text.contains("tk_secret") && !text.contains("123:abc"));
    app.hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_channel_is_retried_with_back_off_and_every_attempt_recorded() {
    let receiver = Receiver::start().await;
    receiver.inbox.flaky_failures.store(2, Ordering::SeqCst);
    let config = format!(
        r#"
alerting:
  defaults: {{group_window: 0s}}
  channels:
    - {{name: flaky, type: webhook, url: "{r}/flaky"}}
    - {{name: broken, type: webhook, url: "{r}/broken"}}
services:
  - {{name: backup, url: 'push://{TOKEN}', interval: 1h, failure_threshold: 1, alerts: [flaky, broken]}}
"#,
        r = receiver.base
    );
    let db = TestDb::new(Backend::Sqlite).await;
    let app = spawn_app_with(db, &config, |settings| {
        settings.alerts.retry_first = Duration::from_millis(20);
        settings.alerts.give_up_after = Duration::from_millis(300);
    })
    .await;
    push(&app.base, "down").await;
    let admin = app.client_as(wire::account::Role::Admin).await;
    let entries = eventually(
        "the flaky message delivered, the broken one given up",
        || async {
            // The reminders (an hour on) wait; the firing messages are
            // done with.
            let firing: Vec<_> = alert_page(&admin, &app.base)
                .await
                .alerts
                .into_iter()
                .filter(|a| a.event == "firing")
                .collect();
            let done = firing.len() == 2
                && firing
                    .iter()
                    .all(|a| a.state == "delivered" || a.state == "failed");
            done.then_some(firing)
        },
    )
    .await;
    let flaky = entries.iter().find(|a| a.channel == "flaky").unwrap();
    assert_eq!((flaky.state.as_str(), flaky.attempts), ("delivered", 3));
    assert_eq!(flaky.last_error, None);
    let broken = entries.iter().find(|a| a.channel == "broken").unwrap();
    assert_eq!(broken.state, "failed");
    assert!(broken.attempts >= 2, "{broken:?}");
    assert_eq!(broken.last_error.as_deref(), Some("HTTP 503: nope"));
    assert_eq!(broken.next_attempt_at, None);
    assert_eq!(by_path(&receiver.got(), "/flaky").len(), 3);
    app.hale.shutdown().await;
}

/// `text` as `hale.yaml` in a new directory (kept while the first lives).
fn config_file(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hale.yaml");
    std::fs::write(&config, text).unwrap();
    (dir, config)
}

/// `hale serve` on `config`, with its SQLite file in `dir`.
async fn serve(dir: &std::path::Path, config: &std::path::Path) -> (tokio::process::Child, String) {
    let (child, url) = crate::cli::serve_file(config, dir, 2_000).await;
    (child, url.trim_end_matches('/').to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hale_killed_during_an_outage_neither_repeats_the_down_nor_forgets_the_resolved() {
    let receiver = Receiver::start().await;
    let (dir, config) = config_file(&format!(
        "alerting:\n  channels:\n    - {{name: hook, type: webhook, url: \"{}/hook\"}}\n\
         services:\n  - {{name: backup, url: 'push://{TOKEN}', interval: 1h, failure_threshold: 1, success_threshold: 1, alerts: [hook]}}\n",
        receiver.base
    ));
    let (mut hale, base) = serve(dir.path(), &config).await;
    push(&base, "down").await;
    let firing = receiver.wait_for(1).await[0].json();
    assert_eq!(firing["event"], "firing");
    hale.kill().await.unwrap(); // SIGKILL: no shutdown, no goodbye

    // Started again: still down, as the next push says.
    let (mut hale, base) = serve(dir.path(), &config).await;
    push(&base, "down").await;
    push(&base, "up").await;
    let got = receiver.wait_for(2).await;
    let events: Vec<(String, i64)> = got
        .iter()
        .map(|r| {
            let body = r.json();
            (
                body["event"].as_str().unwrap().to_string(),
                body["alert_id"].as_i64().unwrap(),
            )
        })
        .collect();
    let id = firing["alert_id"].as_i64().unwrap();
    // The resolved one came after the second `down` push was judged (the
    // rules take changes in order), so a repeated `down` would be here.
    assert_eq!(
        events,
        [("firing".to_string(), id), ("resolved".to_string(), id)]
    );
    hale.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_fifty_services_goes_out_folded_and_pagerduty_gets_each() {
    let receiver = Receiver::start().await;
    let token = |i: usize| format!("storm-token-{i:02}-0123456789abcdef");
    let mut config = format!(
        "alerting:\n  defaults: {{group_window: 3s}}\n  channels:\n    \
         - {{name: hook, type: webhook, url: \"{r}/hook\"}}\n    \
         - {{name: pager, type: pagerduty, routing_key: \"0123456789abcdef0123456789abcdef\", url: \"{r}/v2/enqueue\"}}\n\
         services:\n",
        r = receiver.base
    );
    for i in 0..50 {
        config.push_str(&format!(
            "  - {{name: job-{i:02}, url: 'push://{}', interval: 1h, failure_threshold: 1, success_threshold: 1, alerts: [hook, pager]}}\n",
            token(i)
        ));
    }
    let app = spawn_app(Backend::Sqlite, &config).await;
    let client = reqwest::Client::new();
    let pushes = (0..50).map(|i| {
        client
            .post(format!(
                "{}/api/push/{}?status=down&msg=db%20gone",
                app.base,
                token(i)
            ))
            .send()
    });
    for response in futures_util::future::join_all(pushes).await {
        assert_eq!(response.unwrap().status(), 200);
    }

    // Every service's alert reaches the webhook, in at most two messages:
    // the first at once, the rest together when the window closes.
    let services_in = |r: &Received| -> Vec<String> {
        r.alerts()
            .iter()
            .map(|a| a["service"].as_str().unwrap().to_string())
            .collect()
    };
    let hook = eventually("all fifty alerts at the webhook", || async {
        let got = receiver.got();
        let hook: Vec<Received> = by_path(&got, "/hook").into_iter().cloned().collect();
        let told: std::collections::BTreeSet<String> = hook.iter().flat_map(services_in).collect();
        (told.len() == 50).then_some(hook)
    })
    .await;
    assert!(hook.len() <= 2, "{} messages: {hook:?}", hook.len());
    let storm = hook.last().unwrap().json();
    assert_eq!(storm["event"], "storm");
    // The first message may already carry a few that were due at once.
    let folded = storm["alerts"].as_array().unwrap().len();
    let told: usize = hook.iter().map(|r| services_in(r).len()).sum();
    assert_eq!(told, 50, "each alert in one message only");
    assert_eq!(
        storm["title"],
        format!("[CRITICAL] {folded} alerts: {folded} down")
    );
    assert_eq!(
        storm["message"].as_str().unwrap().lines().count(),
        folded,
        "a line per alert"
    );
    // PagerDuty: an incident per alert.
    let pager = receiver.wait_for(hook.len() + 50).await;
    let keys: std::collections::BTreeSet<String> = by_path(&pager, "/v2/enqueue")
        .iter()
        .map(|r| r.json()["dedup_key"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(keys.len(), 50);

    // Each alert keeps its own row, delivered.
    // (recorded once the receiver has answered).
    let viewer = app.client_as(wire::account::Role::Viewer).await;
    let hook_rows = eventually("each storm row recorded delivered", || async {
        let page = alert_page(&viewer, &app.base).await;
        let rows: Vec<_> = page
            .alerts
            .into_iter()
            .filter(|a| a.channel == "hook" && a.event == "firing")
            .collect();
        rows.iter().all(|a| a.state == "delivered").then_some(rows)
    })
    .await;
    assert_eq!(hook_rows.len(), 50);
    assert!(hook_rows.iter().all(|a| a.attempts == 1), "{hook_rows:?}");

    // /metrics counts them: fifty open, a hundred delivered (the
    // reminders, an hour on, queued).
    let metrics = eventually("pagerduty's rows recorded too", || async {
        let text = reqwest::get(format!("{}/metrics", app.base))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.contains("hale_alert_messages{channel=\"pager\",outcome=\"delivered\"} 50")
            .then_some(text)
    })
    .await;
    for line in [
        "hale_alerts_open{severity=\"critical\"} 50",
        "hale_alerts_open{severity=\"warning\"} 0",
        "hale_alert_messages{channel=\"hook\",outcome=\"delivered\"} 50",
        "hale_alert_messages{channel=\"hook\",outcome=\"queued\"} 50",
    ] {
        assert!(metrics.contains(line), "no {line:?} in\n{metrics}");
    }
    app.hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_that_stays_is_sent_again_until_it_resolves() {
    let receiver = Receiver::start().await;
    let config = format!(
        "alerting:\n  defaults: {{group_window: 0s, renotify: 1s}}\n  channels:\n    \
         - {{name: hook, type: webhook, url: \"{}/hook\"}}\n\
         services:\n  - {{name: backup, url: 'push://{TOKEN}', interval: 1h, failure_threshold: 1, success_threshold: 1, alerts: [hook]}}\n",
        receiver.base
    );
    let app = spawn_app(Backend::Sqlite, &config).await;
    push(&app.base, "down").await;
    let got = receiver.wait_for(3).await;
    let events: Vec<Value> = got.iter().map(Received::json).collect();
    assert_eq!(events[0]["event"], "firing");
    for reminder in &events[1..3] {
        assert_eq!(reminder["event"], "renotify");
        assert_eq!(reminder["alert_id"], events[0]["alert_id"]);
        let message = reminder["message"].as_str().unwrap();
        assert!(message.contains("(still, after "), "{message}");
    }
    assert_ne!(events[1]["id"], events[2]["id"], "each reminder its own id");
    push(&app.base, "up").await;
    // Resolved (alone, or folded with a reminder that fell due with it),
    // every message delivered and none queued: a reminder left queued
    // would keep one queued forever, a second at a time.
    let viewer = app.client_as(wire::account::Role::Viewer).await;
    eventually(
        "the resolution delivered and no reminder queued",
        || async {
            let page = alert_page(&viewer, &app.base).await;
            let resolved = page
                .alerts
                .iter()
                .any(|a| a.event == "resolved" && a.state == "delivered");
            let settled = page.alerts.iter().all(|a| a.state == "delivered");
            (resolved && settled).then_some(())
        },
    )
    .await;
    let said_resolved = alerts_in(&receiver.got())
        .iter()
        .any(|a| a["event"] == "resolved");
    assert!(said_resolved);
    app.hale.shutdown().await;
}

/// One mail the SMTP server took: its envelope and data.
#[derive(Clone, Debug, Default)]
struct Mail {
    from: String,
    to: Vec<String>,
    data: String,
}

/// mailin's handler: what each session was sent.
#[derive(Clone, Default)]
struct MailSink {
    current: Mail,
    taken: Arc<Mutex<Vec<Mail>>>,
}

impl mailin::Handler for MailSink {
    fn data_start(
        &mut self,
        _domain: &str,
        from: &str,
        _is8bit: bool,
        to: &[String],
    ) -> mailin::Response {
        self.current = Mail {
            from: from.to_string(),
            to: to.to_vec(),
            data: String::new(),
        };
        mailin::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.current.data.push_str(&String::from_utf8_lossy(buf));
        Ok(())
    }

    fn data_end(&mut self) -> mailin::Response {
        self.taken.lock().unwrap().push(self.current.clone());
        mailin::response::OK
    }
}

/// An SMTP server on a free port: mailin's state machine speaks SMTP,
/// this moves its lines. Gives the port and the mails taken.
async fn smtp_server() -> (u16, Arc<Mutex<Vec<Mail>>>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let sink = MailSink::default();
    let taken = sink.taken.clone();
    tokio::spawn(async move {
        loop {
            let (stream, peer) = listener.accept().await.unwrap();
            let handler = sink.clone();
            tokio::spawn(async move {
                let mut session =
                    mailin::SessionBuilder::new("mail.test").build(peer.ip(), handler);
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read);
                let greeting = session.greeting().buffer().unwrap();
                write.write_all(&greeting).await.unwrap();
                let mut line = Vec::new();
                loop {
                    line.clear();
                    if lines.read_until(b'\n', &mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let response = session.process(&line);
                    match response.action {
                        mailin::Action::NoReply => {}
                        mailin::Action::Reply | mailin::Action::UpgradeTls => {
                            write.write_all(&response.buffer().unwrap()).await.unwrap();
                        }
                        mailin::Action::Close => {
                            let _ = write.write_all(&response.buffer().unwrap()).await;
                            return;
                        }
                    }
                }
            });
        }
    });
    (port, taken)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_channel_sends_a_text_and_html_mail_through_a_real_smtp_server() {
    let (port, taken) = smtp_server().await;
    let config = format!(
        "alerting:\n  defaults: {{group_window: 0s}}\n  channels:\n    \
         - {{name: mail, type: email, smtp: \"smtp://127.0.0.1:{port}?tls=none\", from: \"Hale <hale@example.org>\", to: [ops@example.org, \"On call <oncall@example.org>\"]}}\n\
         services:\n  - {{name: backup, url: 'push://{TOKEN}', interval: 1h, failure_threshold: 1, success_threshold: 1, alerts: [mail]}}\n"
    );
    let app = spawn_app(Backend::Sqlite, &config).await;
    push(&app.base, "down").await;
    let mails = eventually("a mail at the SMTP server", || async {
        let mails = taken.lock().unwrap().clone();
        (!mails.is_empty()).then_some(mails)
    })
    .await;
    let mail = &mails[0];
    assert_eq!(mail.from, "hale@example.org");
    assert_eq!(mail.to, ["ops@example.org", "oncall@example.org"]);
    let data = mail.data.replace("\r\n", "\n");
    for header in [
        "From: Hale <hale@example.org>",
        "To: ops@example.org, \"On call\" <oncall@example.org>",
        "Subject: [CRITICAL] backup: down",
        "Content-Type: multipart/alternative;",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Type: text/html; charset=utf-8",
    ] {
        assert!(data.contains(header), "no {header:?} in:\n{data}");
    }
    assert!(data.contains("backup is down: "), "{data}");
    assert!(data.contains("<h2>[CRITICAL] backup: down</h2>"), "{data}");

    push(&app.base, "up").await;
    let mails = eventually("the resolved mail", || async {
        let mails = taken.lock().unwrap().clone();
        (mails.len() == 2).then_some(mails)
    })
    .await;
    assert!(mails[1].data.contains("Subject: [RESOLVED] backup: down"));
    let viewer = app.client_as(wire::account::Role::Viewer).await;
    let page = alert_page(&viewer, &app.base).await;
    assert!(page.alerts.iter().all(|a| a.state == "delivered"));
    app.hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_server_that_refuses_is_retried_with_its_answer_recorded() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener); // nothing listens: every attempt is refused
    let config = format!(
        "alerting:\n  defaults: {{group_window: 0s}}\n  channels:\n    \
         - {{name: mail, type: email, smtp: \"smtp://127.0.0.1:{port}?tls=none\", from: hale@example.org, to: [ops@example.org]}}\n\
         services:\n  - {{name: backup, url: 'push://{TOKEN}', interval: 1h, failure_threshold: 1, alerts: [mail]}}\n"
    );
    let db = TestDb::new(Backend::Sqlite).await;
    let app = spawn_app_with(db, &config, |settings| {
        settings.alerts.retry_first = Duration::from_millis(20);
    })
    .await;
    push(&app.base, "down").await;
    let admin = app.client_as(wire::account::Role::Admin).await;
    let entry = eventually("a second failed attempt", || async {
        let page = alert_page(&admin, &app.base).await;
        page.alerts.into_iter().find(|a| a.attempts >= 2)
    })
    .await;
    assert_eq!(entry.state, "retrying");
    let error = entry.last_error.unwrap();
    assert!(error.contains("refused"), "{error}");
    app.hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_sends_a_test_message_and_it_is_audit_logged() {
    let receiver = Receiver::start().await;
    let config = format!(
        "alerting:\n  channels:\n    \
         - {{name: ops, type: slack, webhook_url: \"{r}/slack\"}}\n    \
         - {{name: dead, type: webhook, url: \"{r}/broken\"}}\n",
        r = receiver.base
    );
    let app = spawn_app(Backend::Sqlite, &config).await;
    let admin = app.client_as(wire::account::Role::Admin).await;
    let test = |channel: &str| {
        admin
            .post(format!("{}/api/alerts/test", app.base))
            .json_body(&json!({ "channel": channel }))
            .send()
    };
    let response = test("ops").await.unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = read_json(response).await;
    assert_eq!(answer, json!({"channel": "ops", "delivered": true}));
    let got = receiver.got();
    assert_eq!(
        got[0].json(),
        json!({"text": "*[INFO] Hale: test message*\nA test message from Hale to channel \"ops\": alerts sent here reach you."})
    );

    let response = test("dead").await.unwrap();
    assert_eq!(response.status(), 502);
    let answer: Value = read_json(response).await;
    assert_eq!(
        answer["error"],
        "the test message to \"dead\" was not delivered: HTTP 503: nope"
    );
    let response = test("nowhere").await.unwrap();
    assert_eq!(response.status(), 404);
    let answer: Value = read_json(response).await;
    assert_eq!(
        answer["error"],
        "no channel \"nowhere\" (the config has ops, dead)"
    );
    // A viewer may not.
    let viewer = app.client_as(wire::account::Role::Viewer).await;
    let response = viewer
        .post(format!("{}/api/alerts/test", app.base))
        .json_body(&json!({ "channel": "ops" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(receiver.got().len(), 2, "one to ops, one to dead");

    // Both tests are in the audit log, with how they went.
    let audit: wire::account::AuditPage = read_json(
        admin
            .get(format!("{}/api/audit", app.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let tests: Vec<(String, String)> = audit
        .entries
        .iter()
        .filter(|e| e.action == "alert.test")
        .map(|e| (e.target.clone(), e.detail.clone()))
        .collect();
    assert_eq!(
        tests,
        [
            ("dead".to_string(), "failed: HTTP 503: nope".to_string()),
            ("ops".to_string(), "delivered".to_string()),
        ]
    );
    app.hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hale_notify_test_sends_to_a_channel_of_the_config() {
    let receiver = Receiver::start().await;
    let (_dir, config) = config_file(&format!(
        "alerting:\n  channels:\n    - {{name: pager, type: pagerduty, routing_key: \"0123456789abcdef0123456789abcdef\", url: \"{}/v2/enqueue\"}}\n",
        receiver.base
    ));
    let run = |channel: &str| {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_hale"))
            .args(["notify-test", "--config"])
            .arg(&config)
            .args(["--channel", channel])
            .output()
    };
    let out = run("pager").await.unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "pager (pagerduty): test message delivered"
    );
    // PagerDuty: the test incident is opened, then resolved by its key.
    let got = receiver.got();
    let actions: Vec<Value> = got
        .iter()
        .map(|r| {
            let body = r.json();
            json!([body["event_action"], body["dedup_key"]])
        })
        .collect();
    assert_eq!(actions.len(), 2);
    assert_eq!(actions[0][0], "trigger");
    assert_eq!(actions[1][0], "resolve");
    assert_eq!(actions[0][1], actions[1][1]);
    assert_eq!(got[0].json()["payload"]["severity"], "info");

    let out = run("mail").await.unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no channel \"mail\" (alerting.channels has pager)"),
        "{stderr}"
    );
}

/// A 40 ms result of `api` at `at`.
fn api_result(at: chrono::DateTime<chrono::Utc>, success: bool) -> server::event::ProbeResult {
    server::event::ProbeResult {
        service: "api".into(),
        checked_at: at,
        success,
        latency: Duration::from_millis(40),
        status_code: Some(if success { 200 } else { 503 }),
        message: String::new(),
        conditions: Vec::new(),
        region: None,
        certificate_expiration: None,
    }
}

/// The error rate rules, fed results straight from a pipeline's seat:
/// the alerts they open and close in a real store.
async fn error_rate_bands_fire_and_resolve(backend: Backend) {
    use server::engine::pipeline::Notifier;
    let receiver = Receiver::start().await;
    let db = TestDb::new(backend).await;
    let store = server::store::connect(&db.url).await.unwrap();
    let config = server::config::Config::parse(
        &format!(
            "alerting:\n  defaults: {{group_window: 0s, renotify: 0s}}\n  channels:\n    \
             - {{name: hook, type: webhook, url: \"{}/hook\"}}\n\
             services:\n  - {{name: api, url: 'http://api.test/', failure_threshold: 3, alerts: [hook]}}\n",
            receiver.base
        ),
        std::path::Path::new("hale.yaml"),
        |_| None,
    )
    .unwrap();
    let alerting = server::alert::Alerting::start(store.clone(), &config, Default::default());
    // Results of the last minutes: their messages are due at once.
    let start = chrono::Utc::now() - chrono::Duration::seconds(400);
    let result = |i: i64, success: bool| api_result(start + chrono::Duration::seconds(i), success);
    let open = || async {
        let mut open: Vec<(String, String)> = store
            .alerts()
            .open_alerts()
            .await
            .unwrap()
            .into_iter()
            .map(|a| (a.rule, a.message))
            .collect();
        open.sort();
        open
    };
    // Eight good results, then a failure: 1 of 9 (11 %) is in both bands.
    for i in 0..8 {
        alerting.probed(&result(i, true));
    }
    alerting.probed(&result(8, false));
    let fired = eventually("both bands open", || async {
        let open = open().await;
        (open.len() == 2).then_some(open)
    })
    .await;
    assert_eq!(
        fired,
        [
            (
                "error_rate".to_string(),
                "api error rate 11.1% over the last 5m (1 of 9 results failed; above 5% alerts)"
                    .to_string()
            ),
            (
                "error_rate_critical".to_string(),
                "api error rate 11.1% over the last 5m (1 of 9 results failed; above 10% alerts)"
                    .to_string()
            ),
        ]
    );
    // Good results: at 1 of 10 the critical band closes; at 1 of 20
    // (5 %, not above) the warning one.
    alerting.probed(&result(9, true));
    eventually("the critical band closed", || async {
        let open = open().await;
        (open.len() == 1 && open[0].0 == "error_rate").then_some(())
    })
    .await;
    for i in 10..20 {
        alerting.probed(&result(i, true));
    }
    eventually("both closed", || async {
        open().await.is_empty().then_some(())
    })
    .await;
    // Five minutes on, the failure has left the window: nothing opens.
    for i in 300..310 {
        alerting.probed(&result(i, true));
    }
    // Each went to the channel (alone, or with others due at once), and
    // its resolution after it.
    let events: Vec<(String, String)> = alerts_in(&receiver.wait_for_alerts(4).await)
        .iter()
        .map(|b| {
            (
                b["rule"].as_str().unwrap().to_string(),
                b["event"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(events.len(), 4, "{events:?}");
    for rule in ["error_rate", "error_rate_critical"] {
        let of_rule: Vec<&str> = events
            .iter()
            .filter(|(r, _)| r == rule)
            .map(|(_, e)| e.as_str())
            .collect();
        assert_eq!(of_rule, ["firing", "resolved"], "{rule}");
    }
    alerting.stop().await;
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_rate_bands_fire_and_resolve_on_sqlite() {
    error_rate_bands_fire_and_resolve(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_rate_bands_fire_and_resolve_on_postgres() {
    error_rate_bands_fire_and_resolve(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_resolves_the_alerts_nothing_judges_any_more() {
    use server::engine::pipeline::Notifier;
    let receiver = Receiver::start().await;
    let db = TestDb::new(Backend::Sqlite).await;
    let store = server::store::connect(&db.url).await.unwrap();
    let config = |text: &str| {
        server::config::Config::parse(
            &format!(
                "alerting:\n  defaults: {{group_window: 0s, renotify: 0s}}\n  channels:\n    \
                 - {{name: hook, type: webhook, url: \"{}/hook\"}}\n{text}",
                receiver.base
            ),
            std::path::Path::new("hale.yaml"),
            |_| None,
        )
        .unwrap()
    };
    let before = config(
        "services:\n  - {name: api, url: 'http://api.test/', alerts: [hook]}\n  - {name: old, url: 'http://old.test/', alerts: [hook]}\n",
    );
    let alerting = server::alert::Alerting::start(store.clone(), &before, Default::default());
    let start = chrono::Utc::now() - chrono::Duration::seconds(60);
    for i in 0..10 {
        alerting.probed(&api_result(
            start + chrono::Duration::seconds(i),
            i % 2 == 0,
        ));
    }
    alerting.status_changed(&server::event::StatusChange {
        service: "old".into(),
        from: wire::ServiceStatus::Operational,
        to: wire::ServiceStatus::Down,
        at: start,
        cause: "HTTP 503".into(),
    });
    let open = || async {
        let mut open: Vec<(String, String)> = store
            .alerts()
            .open_alerts()
            .await
            .unwrap()
            .into_iter()
            .map(|a| (a.service, a.rule))
            .collect();
        open.sort();
        open
    };
    eventually("three alerts open", || async {
        (open().await.len() == 3).then_some(())
    })
    .await;
    assert_eq!(
        open().await,
        [
            ("api".to_string(), "error_rate".to_string()),
            ("api".to_string(), "error_rate_critical".to_string()),
            ("old".to_string(), "down".to_string()),
        ]
    );
    // Reloaded: the error rate rules replaced, `old` removed. Nothing
    // judges those alerts any more: they resolve, and `old`'s channels
    // are told.
    alerting.reconfigure(&config(
        "  rules:\n    - {name: slow, latency_p95_above: 2s}\nservices:\n  - {name: api, url: 'http://api.test/', alerts: [hook]}\n",
    ));
    eventually("every alert resolved", || async {
        open().await.is_empty().then_some(())
    })
    .await;
    let resolved = eventually("three resolutions at the channel", || async {
        let resolved: Vec<(String, String)> = alerts_in(&receiver.got())
            .iter()
            .filter(|b| b["event"] == "resolved")
            .map(|b| {
                (
                    b["service"].as_str().unwrap().to_string(),
                    b["rule"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        (resolved.len() == 3).then_some(resolved)
    })
    .await;
    assert!(resolved.contains(&("old".to_string(), "down".to_string())));
    alerting.stop().await;
    store.close().await;
}

/// A TLS server whose certificate expires in a chosen number of days,
/// replaced when the test says (a renewal).
struct RenewableTls {
    port: u16,
    config: Arc<Mutex<Arc<rustls::ServerConfig>>>,
}

impl RenewableTls {
    fn config(expires_in_days: i64) -> Arc<rustls::ServerConfig> {
        use chrono::Datelike;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
        let day = chrono::Utc::now() + chrono::Duration::days(expires_in_days);
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(day.year(), day.month() as u8, day.day() as u8);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Arc::new(
            rustls::ServerConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(cert.der().to_vec())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .unwrap(),
        )
    }

    async fn start(expires_in_days: i64) -> RenewableTls {
        let config = Arc::new(Mutex::new(Self::config(expires_in_days)));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let current = config.clone();
        tokio::spawn(async move {
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                let acceptor = tokio_rustls::TlsAcceptor::from(current.lock().unwrap().clone());
                tokio::spawn(async move {
                    use tokio::io::AsyncReadExt;
                    // Held until the prober closes it.
                    if let Ok(mut tls) = acceptor.accept(tcp).await {
                        let _ = tls.read_to_end(&mut Vec::new()).await;
                    }
                });
            }
        });
        RenewableTls { port, config }
    }

    fn renew(&self, expires_in_days: i64) {
        *self.config.lock().unwrap() = Self::config(expires_in_days);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_close_to_expiry_alerts_by_its_bands_and_a_renewal_resolves_them() {
    let receiver = Receiver::start().await;
    let tls = RenewableTls::start(2).await;
    let yaml = format!(
        "alerting:\n  defaults: {{group_window: 0s}}\n  channels:\n    \
         - {{name: hook, type: webhook, url: \"{}/hook\"}}\n\
         services:\n  - {{name: cert, url: 'tls://127.0.0.1:{}', verify_tls: false, interval: 1s, alerts: [hook], conditions: ['[CONNECTED] == true']}}\n",
        receiver.base, tls.port
    );
    let _app = spawn_app(Backend::Sqlite, &yaml).await;
    let events = |got: &[Received]| -> Vec<(String, String, String)> {
        let mut events: Vec<_> = alerts_in(got)
            .iter()
            .map(|b| {
                (
                    b["event"].as_str().unwrap().to_string(),
                    b["rule"].as_str().unwrap().to_string(),
                    b["severity"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        events.sort();
        events
    };
    // Under two days left: both bands at once, on the first result (in
    // one message or two, as the sender finds them queued).
    let got = receiver.wait_for_alerts(2).await;
    let fired = alerts_in(&got);
    assert_eq!(
        events(&got),
        [
            ("firing".into(), "certificate".into(), "warning".into()),
            (
                "firing".into(),
                "certificate_critical".into(),
                "critical".into()
            ),
        ]
    );
    let message = fired[0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("cert certificate expires in ") && message.contains("days alerts)"),
        "{message}"
    );
    // Renewed for 90 days: both resolve.
    tls.renew(90);
    let got = receiver.wait_for_alerts(4).await;
    assert_eq!(
        events(&got)
            .into_iter()
            .filter(|(event, _, _)| event == "resolved")
            .map(|(_, rule, _)| rule)
            .collect::<Vec<_>>(),
        ["certificate", "certificate_critical"]
    );
}
