//! `GET /api/websocket`: the snapshot, then every live message.
//!
//! The WebSocket is Hale's own, on hyper's upgrade: a live page only
//! receives, so the server side is small ([`frame`]: framing; [`client`]:
//! one connection's loop) and built for fan-out. Every message is
//! serialized and framed once, by the hub, for all clients; a connection
//! copies the shared frame to its socket, gathering whatever queued up
//! into one write. The snapshot, by far the largest message (a page of 50
//! services with their 90-day bars is ~150 KB), is framed once per board
//! version and written before the loop starts, so no connection keeps a
//! buffer of its size.

mod client;
pub mod frame;

pub use client::{serve_client, ClientEnd, ClientLimits};

use super::page_cache::{Freshness, MAX_AGE};
use super::{ApiError, AppState};
use app::model::LiveMessage;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use std::sync::{Arc, Mutex};
use tokio::time::Instant;

pub async fn upgrade(State(state): State<AppState>, mut request: Request) -> Response {
    let accept = match accept_key(request.headers()) {
        Ok(accept) => accept,
        Err(refusal) => return refusal.into_response(),
    };
    let on_upgrade = hyper::upgrade::on(&mut request);
    // A connection lives long: take what it needs, not the whole state.
    let (hub, board, frames, limits) = (
        state.hub.clone(),
        state.board.clone(),
        state.snapshots.clone(),
        state.client_limits,
    );
    tokio::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(upgraded) => upgraded,
            Err(err) => return tracing::debug!(%err, "websocket upgrade failed"),
        };
        let _guard = hub.client_guard();
        // Subscribe before taking the snapshot, so nothing falls between.
        let events = hub.subscribe();
        let snapshot = frames.frame(&board);
        drop((hub, board, frames));
        let mut io = TokioIo::new(upgraded);
        if let Some(end) = client::send(&mut io, &snapshot, limits.send_timeout).await {
            return tracing::debug!(?end, "websocket client left");
        }
        drop(snapshot);
        let end = serve_client(io, events, limits).await;
        tracing::debug!(?end, "websocket client left");
    });
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    response
}

/// Why an opening handshake was refused.
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    NotAnUpgrade,
    Version,
    NoKey,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (message, header) = match self {
            Refusal::NotAnUpgrade => (
                "this endpoint is a WebSocket: connect with `Connection: upgrade` and `Upgrade: websocket`",
                Some((header::UPGRADE, "websocket")),
            ),
            Refusal::Version => (
                "unsupported WebSocket version: use 13",
                Some((header::SEC_WEBSOCKET_VERSION, "13")),
            ),
            Refusal::NoKey => ("Sec-WebSocket-Key is missing", None),
        };
        let mut response = ApiError::BadRequest(message.into()).into_response();
        if let Some((name, value)) = header {
            *response.status_mut() = StatusCode::UPGRADE_REQUIRED;
            response
                .headers_mut()
                .insert(name, HeaderValue::from_static(value));
        }
        response
    }
}

/// The `Sec-WebSocket-Accept` for a valid opening handshake (RFC 6455
/// §4.2.1).
fn accept_key(headers: &HeaderMap) -> Result<HeaderValue, Refusal> {
    let has = |name: header::HeaderName, token: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    };
    if !has(header::CONNECTION, "upgrade") || !has(header::UPGRADE, "websocket") {
        return Err(Refusal::NotAnUpgrade);
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .map(HeaderValue::as_bytes)
        != Some(b"13")
    {
        return Err(Refusal::Version);
    }
    let key = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .ok_or(Refusal::NoKey)?;
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    Ok(HeaderValue::from_str(&accept).expect("base64 is a valid header"))
}

/// The snapshot as a ready frame, made again only when the board changed,
/// the day turned or it is a second old: 10,000 clients connecting at once
/// cost one serialization, not 10,000.
#[derive(Default, Clone)]
pub struct SnapshotFrames(Arc<Mutex<Option<(Freshness, Instant, Bytes)>>>);

impl SnapshotFrames {
    pub fn frame(&self, board: &crate::board::StatusBoard) -> Bytes {
        let freshness = Freshness::of(board);
        if let Some((made_for, made, frame)) = self.0.lock().expect("snapshot lock").as_ref() {
            if made_for.serves(&freshness) && made.elapsed() < MAX_AGE {
                return frame.clone();
            }
        }
        // Made outside the lock: a connection storm must not queue every
        // worker thread behind one serialization.
        let snapshot = LiveMessage::Snapshot {
            timestamp: crate::probe::now(),
            services: board.views(),
        };
        let json = serde_json::to_vec(&snapshot).expect("snapshot serializes");
        let frame = frame::text(&json);
        let mut kept = self.0.lock().expect("snapshot lock");
        if kept
            .as_ref()
            .is_none_or(|(made_for, _, _)| made_for.version <= freshness.version)
        {
            *kept = Some((freshness, Instant::now(), frame.clone()));
        }
        frame
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use std::time::Duration;
    use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::WebSocketStream;

    #[tokio::test]
    async fn prepared_frames_read_back_as_the_same_text_at_every_length_encoding() {
        // 7-bit, 16-bit and 64-bit payload lengths.
        for len in [0, 125, 126, 65_535, 65_536, 200_000] {
            let payload: String = "x".repeat(len);
            let (mut server, client) = tokio::io::duplex(1 << 20);
            let frame = frame::text(payload.as_bytes());
            let writer = tokio::spawn(async move {
                client::send(&mut server, &frame, Duration::from_secs(5)).await;
                server
            });
            let config = WebSocketConfig::default()
                .max_message_size(None)
                .max_frame_size(None);
            let mut socket =
                WebSocketStream::from_raw_socket(client, Role::Client, Some(config)).await;
            let message = socket.next().await.unwrap().unwrap();
            assert_eq!(message, Message::Text(payload.into()), "length {len}");
            drop(writer.await.unwrap());
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_snapshot_nobody_reads_gives_up_at_the_send_timeout() {
        let (mut server, _client) = tokio::io::duplex(1024);
        let frame = frame::text(&[b'x'; 10_000]);
        let end = client::send(&mut server, &frame, Duration::from_secs(10)).await;
        assert_eq!(end, Some(ClientEnd::TooSlow));
    }

    #[test]
    fn answers_the_handshake_and_refuses_what_is_not_one() {
        let headers = |pairs: &[(&'static str, &'static str)]| -> HeaderMap {
            pairs
                .iter()
                .map(|(k, v)| {
                    (
                        header::HeaderName::from_static(k),
                        HeaderValue::from_static(v),
                    )
                })
                .collect()
        };
        // RFC 6455 §1.3's example.
        let valid = headers(&[
            ("connection", "keep-alive, Upgrade"),
            ("upgrade", "websocket"),
            ("sec-websocket-version", "13"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ]);
        assert_eq!(accept_key(&valid).unwrap(), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");

        let plain = accept_key(&headers(&[])).unwrap_err().into_response();
        assert_eq!(plain.status(), StatusCode::UPGRADE_REQUIRED);
        assert_eq!(plain.headers()[header::UPGRADE], "websocket");
        let old = accept_key(&headers(&[
            ("connection", "upgrade"),
            ("upgrade", "websocket"),
            ("sec-websocket-version", "8"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ]))
        .unwrap_err()
        .into_response();
        assert_eq!(old.status(), StatusCode::UPGRADE_REQUIRED);
        assert_eq!(old.headers()[header::SEC_WEBSOCKET_VERSION], "13");
        let keyless = accept_key(&headers(&[
            ("connection", "upgrade"),
            ("upgrade", "websocket"),
            ("sec-websocket-version", "13"),
        ]))
        .unwrap_err();
        assert_eq!(keyless, Refusal::NoKey);
        assert_eq!(keyless.into_response().status(), StatusCode::BAD_REQUEST);
    }
}
