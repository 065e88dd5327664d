use crate::helpers::*;
use serde_json::json;
use std::time::Duration;

const PUSHED: &str = "
services:
  - name: nightly-backup
    url: 'push://backup-token-42'
    interval: 1h
    failure_threshold: 1
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
        .post(format!("{}/api/push/backup-token-42", app.base))
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
        .get("/api/push/backup-token-42?status=down&msg=disk%20full")
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
    let (code, body) = app.get_json("/api/push/backup-token-42?status=maybe").await;
    assert_eq!(code, 400);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("status must be up or down"),
        "{body}"
    );
    let (code, body) = app.get_json("/api/push/backup-token-42?ping=fast").await;
    assert_eq!(code, 400);
    assert!(body["error"].as_str().unwrap().contains("ping"), "{body}");
    app.hale.shutdown().await;
}
