//! Per-client limits (`api::clients`) through the real server: the request
//! rate, the live connections, and clients told apart behind a trusted
//! proxy.

use crate::helpers::*;
use server::api::clients::ClientRules;

async fn limited(rules: ClientRules) -> TestApp {
    let db = TestDb::new(Backend::Sqlite).await;
    spawn_app_with(db, ONE_SERVICE, |settings| settings.clients = rules).await
}

/// Status codes of `n` requests to `/api/health`, forwarded for `client`.
async fn codes(app: &TestApp, n: usize, client: Option<&str>) -> Vec<u16> {
    let mut codes = Vec::new();
    for _ in 0..n {
        let mut request = app.http.get(format!("{}/api/health", app.base));
        if let Some(client) = client {
            request = request.header("x-forwarded-for", client);
        }
        codes.push(request.send().await.unwrap().status().as_u16());
    }
    codes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_past_its_burst_is_answered_429_with_json_and_retry_after() {
    let app = limited(ClientRules {
        per_second: 1,
        burst: 5,
        ..ClientRules::default()
    })
    .await;
    let first = codes(&app, 5, None).await;
    assert_eq!(first, [200; 5]);
    let response = app.get("/api/health").await;
    assert_eq!(response.status(), 429);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    assert!(response.headers().contains_key("x-content-type-options"));
    let body: serde_json::Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("too many requests"),
        "{body}"
    );
    // X-Forwarded-For from an untrusted peer changes nothing.
    assert_eq!(codes(&app, 1, Some("198.51.100.7")).await, [429]);
    // /metrics counts the refusals once the allowance lets it answer.
    let text = eventually("a scrape within the allowance", || async {
        let response = app.get("/metrics").await;
        (response.status() == 200).then_some(())?;
        response.text().await.ok()
    })
    .await;
    let refused: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("hale_rate_limited_requests_total "))
        .unwrap_or_else(|| panic!("no counter in\n{text}"))
        .parse()
        .unwrap();
    assert!(refused >= 2.0, "{text}");
    app.hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_allowance() {
    let app = limited(ClientRules {
        per_second: 1,
        burst: 3,
        trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
        ..ClientRules::default()
    })
    .await;
    assert_eq!(
        codes(&app, 4, Some("198.51.100.1")).await,
        [200, 200, 200, 429]
    );
    assert_eq!(codes(&app, 3, Some("198.51.100.2")).await, [200, 200, 200]);
    // The proxy's own requests are its own client.
    assert_eq!(codes(&app, 3, None).await, [200, 200, 200]);
    app.hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_holds_at_most_its_live_connections() {
    let app = limited(ClientRules {
        websockets: 2,
        ..ClientRules::default()
    })
    .await;
    let (first, _) = tokio_tungstenite::connect_async(&app.ws_url).await.unwrap();
    let (_second, _) = tokio_tungstenite::connect_async(&app.ws_url).await.unwrap();
    let refused = tokio_tungstenite::connect_async(&app.ws_url)
        .await
        .unwrap_err();
    match refused {
        tokio_tungstenite::tungstenite::Error::Http(response) => {
            assert_eq!(response.status(), 429);
            let body = String::from_utf8(response.body().clone().unwrap_or_default()).unwrap();
            assert!(body.contains("too many live connections"), "{body}");
        }
        other => panic!("the third connection was not refused with 429: {other}"),
    }
    // One closes: its slot comes back once the server has seen it go.
    drop(first);
    eventually("a live connection's slot given back", || async {
        tokio_tungstenite::connect_async(&app.ws_url)
            .await
            .ok()
            .map(|_| ())
    })
    .await;
    app.hale.shutdown().await;
}
