//! Alerting from the outside: a receiver started here stands in for every
//! channel's API and checks each payload's exact shape; a failing channel
//! is retried and recorded; a Hale killed in the middle of an outage
//! neither repeats the `down` nor forgets the `resolved`.

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
}

const TOKEN: &str = "backup-token-0123456789abcdef";

fn every_channel(receiver: &str) -> String {
    format!(
        r#"
alerting:
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

/// `GET /api/alerts` as `client`.
async fn alert_page(client: &reqwest::Client, base: &str) -> wire::alert::AlertPage {
    let response = client
        .get(format!("{base}/api/alerts"))
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
            let page = alert_page(&admin, &app.base).await;
            let done = page.alerts.len() == 2
                && page
                    .alerts
                    .iter()
                    .all(|a| a.state == "delivered" || a.state == "failed");
            done.then_some(page.alerts)
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

/// `hale serve` on `config`, with its SQLite file in `dir`.
async fn serve(dir: &std::path::Path, config: &std::path::Path) -> (tokio::process::Child, String) {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_hale"));
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(config)
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.join("hale.db").display()),
        )
        .env("HALE_LOG", "warn");
    let (child, url) = crate::cli::spawn_serving(command).await;
    (child, url.trim_end_matches('/').to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hale_killed_during_an_outage_neither_repeats_the_down_nor_forgets_the_resolved() {
    let receiver = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hale.yaml");
    std::fs::write(
        &config,
        format!(
            "alerting:\n  channels:\n    - {{name: hook, type: webhook, url: \"{}/hook\"}}\n\
             services:\n  - {{name: backup, url: 'push://{TOKEN}', interval: 1h, failure_threshold: 1, success_threshold: 1, alerts: [hook]}}\n",
            receiver.base
        ),
    )
    .unwrap();
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
