use crate::helpers::*;
use serde_json::json;
use std::time::Duration;

const PUSHED: &str = "
services:
  - name: nightly-backup
    url: 'push://backup-token-0123456789abcdef'
    interval: 1h
    failure_threshold: 1
    allow_get: true
  - name: post-only
    url: 'push://post-only-token-0123456789'
    interval: 1h
";

async fn status_of(app: &TestApp, name: &str) -> String {
    let html = app.get("/").await.text().await.unwrap();
    let marker = format!(r#"data-service="{name}" data-status=""#);
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no card for {name}"))
        + marker.len();
    html[at..].split('"').next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_marks_the_service_up_and_a_down_push_down() {
    let app = spawn_app(Backend::Sqlite, PUSHED).await;
    assert_eq!(status_of(&app, "nightly-backup").await, "unknown");

    let response = app
        .http
        .post(format!(
            "{}/api/push/backup-token-0123456789abcdef",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(body, json!({"ok": true, "service": "nightly-backup"}));

    let mut status = String::new();
    for _ in 0..50 {
        status = status_of(&app, "nightly-backup").await;
        if status == "operational" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, "operational");

    // GET works too (for tools that can only fetch a URL), with a message.
    let down = app
        .get("/api/push/backup-token-0123456789abcdef?status=down&msg=disk%20full")
        .await;
    assert_eq!(down.status(), 200);
    for _ in 0..50 {
        status = status_of(&app, "nightly-backup").await;
        if status == "down" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, "down");
    app.hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_pushes_get_json_errors() {
    let app = spawn_app(Backend::Sqlite, PUSHED).await;
    let (code, body) = app.get_json("/api/push/not-a-token").await;
    assert_eq!((code, body), (404, json!({"error": "unknown push token"})));
    let (code, body) = app
        .get_json("/api/push/backup-token-0123456789abcdef?status=maybe")
        .await;
    assert_eq!(code, 400);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("status must be up or down"),
        "{body}"
    );
    let (code, body) = app
        .get_json("/api/push/backup-token-0123456789abcdef?ping=fast")
        .await;
    assert_eq!(code, 400);
    assert!(body["error"].as_str().unwrap().contains("ping"), "{body}");
    // Not a GET where the service did not open it: 405, and no push.
    let (code, body) = app.get_json("/api/push/post-only-token-0123456789").await;
    assert_eq!(code, 405);
    assert!(
        body["error"].as_str().unwrap().contains("allow_get"),
        "{body}"
    );
    assert_eq!(status_of(&app, "post-only").await, "unknown");
    app.hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_loop_is_answered_429_and_a_long_message_is_cut() {
    let app = spawn_app(Backend::Sqlite, PUSHED).await;
    let url = format!("{}/api/push/post-only-token-0123456789", app.base);
    let long = "x".repeat(5_000);
    let response = app
        .http
        .post(&url)
        .query(&[("msg", &long)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(body["truncated"], json!(true), "{body}");
    // The burst is ten pushes; the eleventh in the same second is refused.
    let mut codes = Vec::new();
    for _ in 0..11 {
        codes.push(app.http.post(&url).send().await.unwrap());
    }
    let refused = codes.iter().filter(|r| r.status() == 429).count();
    assert!(refused >= 1, "no push of a loop of 11 refused");
    let last = codes.pop().unwrap();
    assert_eq!(last.status(), 429);
    let retry: u64 = last.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    let body: serde_json::Value = serde_json::from_slice(&last.bytes().await.unwrap()).unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("too many pushes"),
        "{body}"
    );
    app.hale.shutdown().await;
}
