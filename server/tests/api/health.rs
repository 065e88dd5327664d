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
        detailed["scheduler"]["lateness"]["p99_ms"].is_number(),
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
