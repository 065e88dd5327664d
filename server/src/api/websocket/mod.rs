//! `GET /api/websocket`: the snapshot, then every live message.
//!
//! The protocol is tokio-tungstenite's, over hyper's upgrade: it reads
//! and validates every frame the browser sends (pongs, pings, a close),
//! answers pings, and refuses what RFC 6455 forbids. Hale only decides
//! what to send and when to give up ([`client`]).
//!
//! axum's `WebSocketUpgrade` would do the same handshake, but the socket it
//! hands over only sends whole messages, and tungstenite copies each into
//! a write buffer that never shrinks: one snapshot (a page of 50 services
//! is ~150 KB of JSON) would stay allocated in every connection for as
//! long as it lives (docs/benchmarks.md). Here the frames Hale sends are
//! formatted by tungstenite into bytes that go straight to the socket:
//! the hub formats each live message's frame once for every client, so a
//! delivery is one write of shared bytes, and the snapshot is framed into
//! a buffer freed once it is written, so a connection's buffers stay a
//! few KiB whatever the page's size. tungstenite's own send is left to
//! pings, pongs and the close.

mod client;

pub use client::{serve_client, ClientEnd, ClientLimits};

use super::{ApiError, LiveState};
use crate::engine::board::{Freshness, StatusBoard};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use std::sync::{Arc, Mutex};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::WebSocketStream;
use wire::LiveMessage;

/// How long a kept snapshot serves new clients even when nothing changed.
const SNAPSHOT_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(1);

pub async fn upgrade(State(live): State<LiveState>, mut request: Request) -> Response {
    let accept = match accept_key(request.headers()) {
        Ok(accept) => accept,
        Err(refusal) => return refusal.into_response(),
    };
    // One client's live connections are capped; it keeps its slot until
    // the connection ends.
    let slot =
        match super::clients::client_of(&live.clients, request.extensions(), request.headers()) {
            None => None,
            Some(client) => match live.clients.open_websocket(client) {
                Some(slot) => Some(slot),
                None => {
                    return ApiError::TooMany {
                        message: format!(
                            "too many live connections from {client}: at most {}",
                            live.clients.rules().websockets
                        ),
                        retry_after: std::time::Duration::from_secs(5),
                    }
                    .into_response()
                }
            },
        };
    let on_upgrade = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        let _slot = slot;
        let upgraded = match on_upgrade.await {
            Ok(upgraded) => upgraded,
            Err(err) => return tracing::debug!(%err, "websocket upgrade failed"),
        };
        let _guard = live.hub.client_guard();
        // Subscribe before taking the snapshot, so nothing falls between.
        let events = live.hub.subscribe();
        let closed = live.hub.closed();
        let snapshot = live.snapshots.json(&live.board);
        let limits = live.client_limits;
        // A connection lives long: it keeps what it needs, not the state.
        drop(live);
        let socket = WebSocketStream::from_raw_socket(
            TokioIo::new(upgraded),
            Role::Server,
            Some(limits.config()),
        )
        .await;
        let end = serve_client(socket, snapshot, events, closed, limits).await;
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
    /// A browser on another site's page (cross-site WebSocket hijacking).
    ForeignOrigin,
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
            Refusal::ForeignOrigin => {
                let mut response =
                    ApiError::BadRequest("a page of another site may not follow Hale's hub".into())
                        .into_response();
                *response.status_mut() = StatusCode::FORBIDDEN;
                return response;
            }
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
/// §4.2.1), from tungstenite's derivation.
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
    if !crate::api::surface::same_origin(headers) {
        return Err(Refusal::ForeignOrigin);
    }
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    Ok(HeaderValue::from_str(&accept).expect("base64 is a valid header"))
}

/// The snapshot's JSON, made again only when the board changed, the day
/// turned or it is a second old: 10,000 clients connecting at once cost
/// one serialization, not 10,000.
#[derive(Default, Clone)]
pub struct SnapshotFrames(Arc<Mutex<Option<(Freshness, Instant, Bytes)>>>);

impl SnapshotFrames {
    pub fn json(&self, board: &StatusBoard) -> Bytes {
        let freshness = board.freshness();
        if let Some((made_for, made, json)) = self.0.lock().expect("snapshot lock").as_ref() {
            if made_for.serves(&freshness) && made.elapsed() < SNAPSHOT_MAX_AGE {
                return json.clone();
            }
        }
        // Made outside the lock: a connection storm must not queue every
        // worker thread behind one serialization.
        let snapshot = LiveMessage::Snapshot {
            timestamp: crate::clock::now(),
            services: board.live_views(),
        };
        let json = Bytes::from(serde_json::to_vec(&snapshot).expect("snapshot serializes"));
        let mut kept = self.0.lock().expect("snapshot lock");
        if kept
            .as_ref()
            .is_none_or(|(made_for, _, _)| made_for.version <= freshness.version)
        {
            *kept = Some((freshness, Instant::now(), json.clone()));
        }
        json
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

        // A browser on Hale's own page, directly or behind a proxy, is let
        // in; one on another site's page is refused.
        let from = |origin: &'static str, host: &'static str, forwarded: Option<&'static str>| {
            let mut h = valid.clone();
            h.insert(header::ORIGIN, HeaderValue::from_static(origin));
            h.insert(header::HOST, HeaderValue::from_static(host));
            if let Some(f) = forwarded {
                h.insert("x-forwarded-host", HeaderValue::from_static(f));
            }
            accept_key(&h)
        };
        assert!(from("http://127.0.0.1:3000", "127.0.0.1:3000", None).is_ok());
        assert!(from(
            "https://status.example.com",
            "127.0.0.1:3000",
            Some("status.example.com")
        )
        .is_ok());
        let foreign = from("https://evil.example", "127.0.0.1:3000", None).unwrap_err();
        assert_eq!(foreign, Refusal::ForeignOrigin);
        assert_eq!(foreign.into_response().status(), StatusCode::FORBIDDEN);
        assert_eq!(
            from("null", "127.0.0.1:3000", None).unwrap_err(),
            Refusal::ForeignOrigin
        );

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
