//! `POST /api/services/<name>/diagnostics` against a real local target,
//! called with a `health_checker` token (who may call it is `roles.rs`'s).

use crate::helpers::*;

async fn post(app: &TestApp, path: &str) -> (u16, serde_json::Value) {
    let response = app
        .http
        .post(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (
        status,
        serde_json::from_str(&response.text().await.unwrap()).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diagnostics_of_a_healthy_target_find_nothing_wrong() {
    let mut app = spawn_app(Backend::Sqlite, ONE_SERVICE).await;
    app.http = app.client_as(wire::account::Role::HealthChecker).await;
    let (status, d) = post(&app, "/api/services/api/diagnostics?count=3&interval=100ms").await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["service"], "api");
    assert_eq!(d["connection"]["ok"], true, "{d}");
    assert!(d["connection"]["latency_ms"].as_f64().unwrap() >= 0.0);
    assert!(d["dns"].is_null(), "an IP address needs no lookup");
    assert!(d["certificate"].is_null(), "plain HTTP has no certificate");
    assert_eq!(d["samples"]["checks"], 3);
    assert_eq!(d["samples"]["successful"], 3);
    assert_eq!(d["samples"]["latency"]["num_requests"], 3);
    assert_eq!(d["issues"], serde_json::json!([]));
    assert_eq!(d["healthy"], true);
    app.hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_target_gets_issues_and_recommendations() {
    let mut app = spawn_app(Backend::Sqlite, ONE_SERVICE).await;
    app.http = app.client_as(wire::account::Role::HealthChecker).await;
    app.target.answer(500);
    let (status, d) = post(&app, "/api/services/api/diagnostics?count=2&interval=100ms").await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["samples"]["failed"], 2);
    assert_eq!(d["healthy"], false);
    let issue = &d["issues"][0];
    assert_eq!(issue["kind"], "low_success_rate");
    assert!(
        issue["issue"].as_str().unwrap().contains("0% of 2 checks"),
        "{issue}"
    );
    assert!(!issue["recommendation"].as_str().unwrap().is_empty());
    app.hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diagnostics_are_bounded_and_bad_input_is_named() {
    let mut app = spawn_app(Backend::Sqlite, ONE_SERVICE).await;
    app.http = app.client_as(wire::account::Role::HealthChecker).await;
    for (query, parameter) in [
        ("count=0", "count"),
        ("count=21", "count"),
        ("count=many", "count"),
        ("interval=10ms", "interval"),
        ("interval=1m", "interval"),
    ] {
        let (status, body) = post(&app, &format!("/api/services/api/diagnostics?{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["parameter"], parameter);
    }
    let (status, _) = post(&app, "/api/services/nope/diagnostics").await;
    assert_eq!(status, 404);
    // A second run of the same service while one runs is refused.
    let first = {
        let http = app.http.clone();
        let url = format!(
            "{}/api/services/api/diagnostics?count=4&interval=500ms",
            app.base
        );
        tokio::spawn(async move { http.post(url).send().await.unwrap().status().as_u16() })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (status, body) = post(&app, "/api/services/api/diagnostics?count=1").await;
    assert_eq!(status, 429, "{body}");
    assert!(body["error"].as_str().unwrap().contains("already running"));
    assert_eq!(first.await.unwrap(), 200);
    let (status, _) = post(&app, "/api/services/api/diagnostics?count=1").await;
    assert_eq!(status, 200, "the slot is free again");
    app.hale.shutdown().await;
}
