//! The public surface, walked route by route from the router's own list
//! (`server::api::route_paths` and the pages Leptos serves): every answer
//! carries the security headers, no input makes a 5xx, and every error
//! under `/api/` is the documented `{"error": …}`.

use crate::helpers::*;
use reqwest::Method;

const WALKED: &str = "
title: Walk
services:
  - name: api
    url: '{target}/health'
    interval: 1h
  - name: job
    url: 'push://walk-token-0123456789abcdef'
    interval: 1h
status_pages:
  - slug: public
    title: Public
    services: [api]
";

/// The paths to visit for one route: its parameters filled with a known
/// name, an unknown one, and bytes that are not UTF-8.
fn fillings(path: &str) -> Vec<String> {
    if !path.contains('{') && !path.contains(':') {
        return vec![path.to_string()];
    }
    let fill = |value: &str| {
        path.split('/')
            .map(|part| {
                if part.starts_with('{') || part.starts_with(':') || part.starts_with('*') {
                    value
                } else {
                    part
                }
            })
            .collect::<Vec<_>>()
            .join("/")
    };
    let known = if path.contains("push") {
        "walk-token-0123456789abcdef"
    } else if path.contains("status") {
        "public"
    } else {
        "api"
    };
    vec![fill(known), fill("no-such-thing"), fill("%FF%FE")]
}

fn all_paths() -> Vec<String> {
    let mut paths: Vec<String> = server::api::route_paths()
        .into_iter()
        .map(str::to_string)
        .collect();
    paths.extend(
        leptos_axum::generate_route_list(app::App)
            .iter()
            .map(|route| route.path().to_string()),
    );
    paths.sort();
    paths.dedup();
    paths
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_with_the_security_headers_and_json_errors() {
    let app = spawn_app(Backend::Sqlite, WALKED).await;
    let paths = all_paths();
    assert!(paths.iter().any(|p| p.contains("diagnostics")), "{paths:?}");
    assert!(paths.iter().any(|p| p.starts_with("/status")), "{paths:?}");
    let queries = [
        "",
        // Repeated keys, bad numbers and bad percent-escapes.
        "?window=24h&window=7d&count=x&interval=forever&from=%ZZ&status=sideways",
    ];
    let methods = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
    ];
    let mut visited = 0;
    for route in &paths {
        for path in fillings(route) {
            for query in queries {
                for method in &methods {
                    // A real diagnostics run is another test's; here its
                    // refusals are walked.
                    if route.contains("diagnostics")
                        && method == Method::POST
                        && query.is_empty()
                        && path.contains("/api/services/api/")
                    {
                        continue;
                    }
                    let url = format!("{}{path}{query}", app.base);
                    let response = app.http.request(method.clone(), &url).send().await.unwrap();
                    visited += 1;
                    let status = response.status();
                    let what = format!("{method} {path}{query} answered {status}");
                    let headers = response.headers().clone();
                    let header = |name: &str| {
                        headers
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_string()
                    };
                    assert_eq!(header("x-content-type-options"), "nosniff", "{what}");
                    assert_eq!(header("x-frame-options"), "DENY", "{what}");
                    assert!(
                        header("content-security-policy").contains("frame-ancestors 'none'"),
                        "{what}"
                    );
                    assert!(!header("referrer-policy").is_empty(), "{what}");
                    assert!(
                        !status.is_server_error(),
                        "{what}: {}",
                        response.text().await.unwrap()
                    );
                    let api = path.starts_with("/api/");
                    if api && status.is_client_error() {
                        assert!(
                            header("content-type").starts_with("application/json"),
                            "{what}: {}",
                            header("content-type")
                        );
                        let body: serde_json::Value =
                            serde_json::from_str(&response.text().await.unwrap())
                                .unwrap_or_else(|e| panic!("{what}: not JSON: {e}"));
                        assert!(
                            body["error"].as_str().is_some_and(|e| !e.is_empty()),
                            "{what}: {body}"
                        );
                    }
                }
            }
        }
    }
    assert!(visited > 200, "{visited}");
    app.hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_requests_get_the_documented_errors() {
    let app = spawn_app(Backend::Sqlite, WALKED).await;
    // A method a route does not take: 405 with a JSON message and Allow.
    let response = app
        .http
        .delete(format!("{}/api/reports", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert!(response.headers().contains_key("allow"));
    let body: serde_json::Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(body["error"], "method not allowed");
    // A path parameter that is not UTF-8: 400 with JSON, not text.
    let (code, body) = app.get_json("/api/services/%FF/history").await;
    assert_eq!(code, 400, "{body}");
    // A file name longer than the file system takes is missing, not a 500.
    let long = "a".repeat(300);
    let response = app.get(&format!("/pkg/{long}.js")).await;
    assert_eq!(response.status(), 404);
    app.hale.shutdown().await;
}
