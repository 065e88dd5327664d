use crate::helpers::*;
use crate::on_both_backends;
use serde_json::json;

on_both_backends!(health_endpoints_answer, |backend| async move {
    let app = spawn_app(backend, ONE_SERVICE).await;
    assert_eq!(
        app.get_json("/api/health").await,
        (200, json!({"status": "healthy", "database": "healthy"}))
    );
    assert_eq!(
        app.get_json("/api/health/live").await,
        (200, json!({"status": "alive"}))
    );
    assert_eq!(
        app.get_json("/api/health/ready").await,
        (200, json!({"status": "ready"}))
    );
    let (code, detailed) = app.get_json("/api/health/detailed").await;
    assert_eq!(code, 200);
    assert_eq!(detailed["database"]["status"], "healthy");
    let expected_backend = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(detailed["database"]["backend"], expected_backend);
    assert_eq!(detailed["services"]["total"], 1);
    assert_eq!(detailed["scheduler"]["services"], 1);
    assert!(
        detailed["scheduler"]["lateness"]["p99_ms"].is_number()
            && detailed["scheduler"]["overruns"].is_u64(),
        "{detailed}"
    );
    app.hale.shutdown().await;
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_503_when_postgres_goes_away() {
    let app = spawn_app(Backend::Postgres, ONE_SERVICE).await;
    assert_eq!(app.get_json("/api/health").await.0, 200);
    app.db.drop_now().await;
    assert_eq!(
        app.get_json("/api/health").await,
        (503, json!({"status": "unhealthy", "database": "unhealthy"}))
    );
    assert_eq!(app.get_json("/api/health/ready").await.0, 503);
    // Liveness does not depend on the database.
    assert_eq!(app.get_json("/api/health/live").await.0, 200);
    // Pages still render from memory.
    assert_eq!(app.get("/").await.status(), 200);
    app.hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_503_when_sqlite_is_closed() {
    let app = spawn_app(Backend::Sqlite, ONE_SERVICE).await;
    app.store().close().await;
    assert_eq!(
        app.get_json("/api/health").await,
        (503, json!({"status": "unhealthy", "database": "unhealthy"}))
    );
    app.hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_api_paths_get_a_json_404() {
    let app = spawn_app(Backend::Sqlite, ONE_SERVICE).await;
    let (code, body) = app.get_json("/api/no/such/thing").await;
    assert_eq!(code, 404);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("no such API endpoint"),
        "{body}"
    );
    app.hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_metrics_export_scheduler_lateness() {
    let app = spawn_app(Backend::Sqlite, ONE_SERVICE).await;
    // Until a probe's result is stored, so every histogram has data.
    eventually("a stored result", || async {
        let response = app.get("/metrics").await;
        let text = response.text().await.unwrap();
        text.contains("\nhale_store_written_results_total 1")
            .then_some(())
    })
    .await;
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = response.text().await.unwrap();
    let value = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
            .parse()
            .unwrap()
    };
    let count = value("hale_scheduler_lateness_seconds_count");
    assert!(count >= 1.0, "{text}");
    assert_eq!(
        value("hale_scheduler_lateness_seconds_bucket{le=\"+Inf\"}"),
        count
    );
    // Cumulative buckets never decrease.
    let buckets: Vec<f64> = text
        .lines()
        .filter(|l| l.starts_with("hale_scheduler_lateness_seconds_bucket"))
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
    assert_eq!(value("hale_scheduled_services"), 1.0);
    assert_eq!(value("hale_websocket_clients"), 0.0);
    // This scrape's own connection is open; nothing was refused.
    assert!(value("hale_http_connections") >= 1.0, "{text}");
    assert_eq!(value("hale_http_connections_refused_total"), 0.0);
    assert_eq!(value("hale_rate_limited_requests_total"), 0.0);
    assert_eq!(value("hale_rate_limited_websockets_total"), 0.0);
    // Per-service figures: the fake target answers 200.
    assert_eq!(value("hale_service_up{service=\"api\"}"), 1.0);
    let successes = value("hale_probes_total{service=\"api\",outcome=\"success\"}");
    assert!(successes >= 1.0, "{text}");
    assert_eq!(
        value("hale_probes_total{service=\"api\",outcome=\"failure\"}"),
        0.0
    );
    assert_eq!(
        value("hale_probe_duration_seconds_count{service=\"api\"}"),
        successes
    );
    assert!(value("hale_store_write_seconds_count") >= 1.0, "{text}");
    assert!(value("hale_store_written_results_total") >= 1.0, "{text}");
    assert!(
        value("hale_store_size_bytes{backend=\"sqlite\"}") > 0.0,
        "{text}"
    );
    // Every sample line belongs to a declared metric family.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let name = line.split(['{', ' ']).next().unwrap();
        let family = name
            .trim_end_matches("_bucket")
            .trim_end_matches("_sum")
            .trim_end_matches("_count");
        assert!(
            text.contains(&format!("# TYPE {family} ")),
            "undeclared {name}"
        );
    }
    app.hale.shutdown().await;
}
