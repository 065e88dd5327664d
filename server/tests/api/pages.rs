use crate::helpers::*;
use crate::on_both_backends;
use std::time::Duration;

async fn page(app: &TestApp, path: &str) -> (u16, String) {
    let response = app.get(path).await;
    (response.status().as_u16(), response.text().await.unwrap())
}

on_both_backends!(status_pages_render_on_the_server, |backend| async move {
    let app = spawn_app(backend, ONE_SERVICE).await;

    let (code, html) = page(&app, "/").await;
    assert_eq!(code, 200);
    assert!(html.contains("Test status"), "the config's title");
    assert!(html.contains(r#"data-service="api""#), "{html}");
    assert!(html.contains("data-overall-status="));
    assert!(
        html.contains("/pkg/hale.js"),
        "the page loads the hydration script"
    );

    let (code, html) = page(&app, "/status/public").await;
    assert_eq!(code, 200);
    assert!(html.contains("Public status"));

    let (code, html) = page(&app, "/status/nope").await;
    assert_eq!(code, 404);
    assert!(html.contains("No status page here"));

    // Once the first probe is in, a fresh render says so.
    let mut html = String::new();
    for _ in 0..50 {
        html = page(&app, "/").await.1;
        if html.contains(r#"data-status="operational""#) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(html.contains(r#"data-status="operational""#), "{html}");
    assert!(
        html.contains(r#"data-overall-status="operational""#),
        "{html}"
    );
    assert!(html.contains("All systems operational"));
    app.hale.shutdown().await;
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_services_the_page_says_so() {
    let app = spawn_app(Backend::Sqlite, "").await;
    let (code, html) = page(&app, "/").await;
    assert_eq!(code, 200);
    assert!(html.contains("No services monitored yet"));
    assert!(html.contains(r#"data-overall-status="unknown""#));
    app.hale.shutdown().await;
}
