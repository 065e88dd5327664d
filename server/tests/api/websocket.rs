use crate::helpers::*;
use crate::on_both_backends;
use futures_util::StreamExt;
use serde_json::Value;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next_json(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a message within 10 s")
            .expect("the socket stays open")
            .expect("a readable message");
        if let Message::Text(text) = message {
            return serde_json::from_str(text.as_str()).expect("every message is JSON");
        }
    }
}

/// Reads until a message satisfies `want`, checking every message's shape.
async fn wait_for(socket: &mut Socket, want: impl Fn(&Value) -> bool) -> Value {
    loop {
        let message = next_json(socket).await;
        assert!(
            message["type"].is_string(),
            "every message has a type: {message}"
        );
        if want(&message) {
            return message;
        }
    }
}

on_both_backends!(
    websocket_carries_the_contract_messages,
    |backend| async move {
        let app = spawn_app(backend, ONE_SERVICE).await;
        let (mut socket, _) = tokio_tungstenite::connect_async(&app.ws_url).await.unwrap();

        let snapshot = next_json(&mut socket).await;
        assert_eq!(snapshot["type"], "snapshot", "{snapshot}");
        assert_eq!(snapshot["services"][0]["name"], "api");

        let heartbeat = wait_for(&mut socket, |m| m["type"] == "heartbeat").await;
        let stamp = heartbeat["timestamp"].as_str().unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(stamp).is_ok(),
            "{stamp}"
        );
        assert!(stamp.ends_with('Z'), "UTC: {stamp}");

        let probe = wait_for(&mut socket, |m| m["type"] == "probe").await;
        assert_eq!(probe["service"], "api");
        assert_eq!(probe["success"], true);
        assert_eq!(probe["status_code"], 200);
        assert_eq!(probe["conditions"].as_array().unwrap().len(), 2);
        assert!(probe["latency_ms"].as_f64().unwrap() >= 0.0);

        let up = wait_for(&mut socket, |m| m["type"] == "status_change").await;
        assert_eq!(
            (
                up["service"].as_str(),
                up["from"].as_str(),
                up["to"].as_str()
            ),
            (Some("api"), Some("unknown"), Some("operational"))
        );
        assert!(chrono::DateTime::parse_from_rfc3339(up["at"].as_str().unwrap()).is_ok());

        app.target.answer(500);
        let down = wait_for(&mut socket, |m| m["type"] == "status_change").await;
        assert_eq!(
            (down["from"].as_str(), down["to"].as_str()),
            (Some("operational"), Some("down")),
            "{down}"
        );
        assert!(
            down["cause"]
                .as_str()
                .unwrap()
                .contains("[STATUS] == 200 (got 500)"),
            "{down}"
        );

        // The history was stored, changes with their causes: shut down (which
        // flushes the writer) and read it back through a new connection.
        app.hale.shutdown().await;
        let store = server::store::connect(&app.db.url).await.unwrap();
        let results = store.recent_results("api", 100).await.unwrap();
        assert!(
            results.iter().any(|r| r.success) && results.iter().any(|r| !r.success),
            "{results:?}"
        );
        let changes = store.recent_status_changes("api", 10).await.unwrap();
        let transitions: Vec<_> = changes
            .iter()
            .map(|c| (c.from.as_str(), c.to.as_str()))
            .collect();
        assert_eq!(
            transitions,
            [
                ("down", "unknown"),
                ("operational", "down"),
                ("unknown", "operational")
            ],
            "{changes:?}"
        );
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_clients_each_get_a_snapshot_and_heartbeats() {
    let app = spawn_app(Backend::Sqlite, ONE_SERVICE).await;
    let mut sockets = Vec::new();
    for _ in 0..20 {
        sockets.push(
            tokio_tungstenite::connect_async(&app.ws_url)
                .await
                .unwrap()
                .0,
        );
    }
    for socket in &mut sockets {
        assert_eq!(next_json(socket).await["type"], "snapshot");
        wait_for(socket, |m| m["type"] == "heartbeat").await;
    }
    let (_, detailed) = app.get_json("/api/health/detailed").await;
    assert_eq!(detailed["websocket_clients"], 20);
    drop(sockets);
    app.hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_request_is_told_to_upgrade_and_a_socket_gets_the_snapshot_frame() {
    let app = spawn_app(Backend::Sqlite, ONE_SERVICE).await;
    let response = app.get("/api/websocket").await;
    assert_eq!(response.status(), 426);
    assert_eq!(response.headers()["upgrade"], "websocket");
    let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("WebSocket"),
        "{body}"
    );

    // The snapshot is written ahead of the socket layer: it must still be
    // one well-formed text frame, followed by ordinary frames.
    let (mut socket, response) = tokio_tungstenite::connect_async(&app.ws_url).await.unwrap();
    assert_eq!(response.status(), 101);
    let snapshot = next_json(&mut socket).await;
    assert_eq!(snapshot["type"], "snapshot");
    assert_eq!(snapshot["services"].as_array().unwrap().len(), 1);
    assert_eq!(
        wait_for(&mut socket, |m| m["type"] == "heartbeat").await["type"],
        "heartbeat"
    );
    app.hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_hale_closes_its_live_pages_as_going_away() {
    let app = spawn_app(Backend::Sqlite, ONE_SERVICE).await;
    let (mut socket, _) = tokio_tungstenite::connect_async(&app.ws_url).await.unwrap();
    assert_eq!(next_json(&mut socket).await["type"], "snapshot");
    let stopping = tokio::spawn(app.hale.shutdown());
    // 1001 tells a browser to reconnect at once, to the next Hale.
    let close = loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a close within 10 s")
            .expect("a close before the stream ends")
            .expect("readable");
        if let Message::Close(frame) = message {
            break frame.expect("a close code");
        }
    };
    assert_eq!(u16::from(close.code), 1001);
    assert_eq!(close.reason.as_str(), "server shutting down");
    stopping.await.unwrap();
}
