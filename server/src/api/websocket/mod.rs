//! `GET /api/websocket`: the snapshot, then every live message.
//!
//! The handshake is done here rather than by axum's extractor so that the
//! snapshot, by far the largest message (a page of 50 services with their
//! 90-day bars is ~150 KB), can be written straight to the socket as one
//! prepared frame, serialized once and shared by every client that
//! connects while the board is unchanged. Sent through tungstenite it
//! would be copied into the connection's write buffer, which keeps its
//! largest size for the connection's life: 10,000 clients would hold
//! 1.5 GB for messages that are otherwise a few hundred bytes.

use super::page_cache::{Freshness, MAX_AGE};
use super::{ApiError, AppState};
use app::model::LiveMessage;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use hyper_util::rt::TokioIo;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::broadcast;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

/// Per connection: clients say nothing but pongs and a close, so a small
/// read buffer; messages go out as they come (no write batching).
fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(Some(64 * 1024))
        .max_frame_size(Some(64 * 1024))
}

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
        if let Some(end) = write_frame(&mut io, &snapshot, limits.send_timeout).await {
            return tracing::debug!(?end, "websocket client left");
        }
        drop(snapshot);
        let socket =
            WebSocketStream::from_raw_socket(io, Role::Server, Some(socket_config())).await;
        let (sink, stream) = socket.split();
        let end = serve_client(sink, stream, events, limits).await;
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

/// One unfragmented text frame as a server sends it: unmasked (RFC 6455
/// §5.2).
pub fn text_frame(payload: &[u8]) -> Bytes {
    let mut frame = Vec::with_capacity(payload.len() + 10);
    frame.push(0x81); // FIN, text
    match payload.len() {
        n @ 0..=125 => frame.push(n as u8),
        n @ 126..=0xFFFF => {
            frame.push(126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(payload);
    frame.into()
}

async fn write_frame<W: AsyncWrite + Unpin>(
    io: &mut W,
    frame: &[u8],
    send_timeout: Duration,
) -> Option<ClientEnd> {
    match tokio::time::timeout(send_timeout, io.write_all(frame)).await {
        Ok(Ok(())) => None,
        Ok(Err(_)) => Some(ClientEnd::Left),
        Err(_) => Some(ClientEnd::TooSlow),
    }
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
        let frame = text_frame(&json);
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

/// Why a client's connection ended.
#[derive(Debug, PartialEq, Eq)]
pub enum ClientEnd {
    /// The client closed, or its connection failed.
    Left,
    /// A send blocked past the timeout: the client stopped reading.
    TooSlow,
    /// The client fell more than the hub's backlog behind.
    Lagged,
    /// The hub shut down.
    HubClosed,
    /// Nothing came back, not even a pong, for the silence limit: the
    /// client stopped reading (its buffers may still take our writes).
    Silent,
}

/// When a client is given up on.
#[derive(Clone, Copy, Debug)]
pub struct ClientLimits {
    /// How long one send may block (the client's buffers are full).
    pub send_timeout: Duration,
    /// How often the server pings; browsers answer on their own.
    pub ping_every: Duration,
    /// How long a client may say nothing, pongs included. Checked at each
    /// ping, so a silent client goes at the first ping past this.
    pub silence_limit: Duration,
}

impl Default for ClientLimits {
    fn default() -> Self {
        ClientLimits {
            send_timeout: Duration::from_secs(10),
            ping_every: Duration::from_secs(10),
            silence_limit: Duration::from_secs(25),
        }
    }
}

/// Relays hub messages until the client leaves or stops keeping up.
/// Written over any sink and stream so it can be tested without a socket.
pub async fn serve_client<S, R, E>(
    mut sink: S,
    mut stream: R,
    mut events: broadcast::Receiver<Utf8Bytes>,
    limits: ClientLimits,
) -> ClientEnd
where
    S: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, E>> + Unpin,
{
    let send = async |sink: &mut S, message: Message| match tokio::time::timeout(
        limits.send_timeout,
        sink.send(message),
    )
    .await
    {
        Ok(Ok(())) => None,
        Ok(Err(_)) => Some(ClientEnd::Left),
        Err(_) => Some(ClientEnd::TooSlow),
    };
    let mut ping = tokio::time::interval_at(Instant::now() + limits.ping_every, limits.ping_every);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut heard = Instant::now();
    let end = loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(text) => {
                    if let Some(end) = send(&mut sink, Message::Text(text)).await {
                        break end;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => break ClientEnd::Lagged,
                Err(broadcast::error::RecvError::Closed) => break ClientEnd::HubClosed,
            },
            incoming = stream.next() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break ClientEnd::Left,
                // Pongs, and pings (answered by the socket layer).
                Some(Ok(_)) => heard = Instant::now(),
            },
            _ = ping.tick() => {
                if heard.elapsed() >= limits.silence_limit {
                    break ClientEnd::Silent;
                }
                if let Some(end) = send(&mut sink, Message::Ping(Bytes::new())).await {
                    break end;
                }
            }
        }
    };
    if end != ClientEnd::Left {
        let _ = tokio::time::timeout(Duration::from_millis(100), sink.close()).await;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::Hub;
    use futures_util::stream;
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use tokio::sync::mpsc;

    /// A sink whose reader never reads: every send stays pending.
    struct Stuck;
    impl Sink<Message> for Stuck {
        type Error = ();
        fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
            Poll::Pending
        }
        fn start_send(self: Pin<&mut Self>, _: Message) -> Result<(), ()> {
            Ok(())
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
            Poll::Pending
        }
        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
            Poll::Pending
        }
    }

    /// A sink that hands every message to a channel the test reads.
    fn reader() -> (
        impl Sink<Message, Error = ()> + Unpin,
        mpsc::UnboundedReceiver<Message>,
    ) {
        let (tx, rx) = mpsc::unbounded_channel();
        let sink = futures_util::sink::unfold(tx, |tx, message: Message| async move {
            tx.send(message).map_err(|_| ())?;
            Ok::<_, ()>(tx)
        });
        (Box::pin(sink), rx)
    }

    fn limits(send_timeout_secs: u64) -> ClientLimits {
        ClientLimits {
            send_timeout: Duration::from_secs(send_timeout_secs),
            ..Default::default()
        }
    }

    /// The next text message, past pings.
    async fn next_text(rx: &mut mpsc::UnboundedReceiver<Message>) -> String {
        loop {
            match rx.recv().await.expect("a message") {
                Message::Text(t) => return t.to_string(),
                Message::Ping(_) => continue,
                other => panic!("expected text, got {other:?}"),
            }
        }
    }

    fn silent() -> impl Stream<Item = Result<Message, ()>> + Unpin {
        stream::pending()
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_stops_reading_is_dropped_and_others_keep_receiving() {
        let hub = Hub::new(16);
        let stuck = tokio::spawn(serve_client(Stuck, silent(), hub.subscribe(), limits(5)));
        let (sink, mut healthy_rx) = reader();
        let healthy = tokio::spawn(serve_client(sink, silent(), hub.subscribe(), limits(5)));
        let _heartbeat = hub.spawn_heartbeat(Duration::from_secs(2));

        // The healthy client gets every heartbeat on time.
        let start = tokio::time::Instant::now();
        for i in 1..=5u32 {
            assert!(next_text(&mut healthy_rx).await.contains("heartbeat"));
            assert_eq!(start.elapsed(), Duration::from_secs(2) * i);
        }
        // The stuck one was cut off at its send timeout.
        assert!(stuck.is_finished());
        assert_eq!(stuck.await.unwrap(), ClientEnd::TooSlow);
        assert!(!healthy.is_finished());
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_answers_no_ping_is_dropped_and_one_that_does_stays() {
        let hub = Hub::new(16);
        let (sink, mut silent_rx) = reader();
        let start = Instant::now();
        let quiet = tokio::spawn(serve_client(sink, silent(), hub.subscribe(), limits(10)));
        // Answers each ping as a browser does.
        let (sink, mut pinged) = reader();
        let (pongs_tx, pongs) = mpsc::unbounded_channel();
        let answering = tokio::spawn(serve_client(
            sink,
            Box::pin(tokio_stream_of(pongs)),
            hub.subscribe(),
            limits(10),
        ));
        tokio::spawn(async move {
            while let Some(message) = pinged.recv().await {
                if let Message::Ping(payload) = message {
                    let _ = pongs_tx.send(Ok::<_, ()>(Message::Pong(payload)));
                }
            }
        });
        assert_eq!(quiet.await.unwrap(), ClientEnd::Silent);
        // Pinged at 10 s and 20 s, unanswered; dropped at the 30 s ping.
        assert_eq!(start.elapsed(), Duration::from_secs(30));
        let mut pings = 0;
        while let Ok(message) = silent_rx.try_recv() {
            pings += usize::from(matches!(message, Message::Ping(_)));
        }
        assert_eq!(pings, 2);
        tokio::time::sleep(Duration::from_secs(120)).await;
        assert!(!answering.is_finished(), "a client that answers stays");
    }

    fn tokio_stream_of<T>(mut rx: mpsc::UnboundedReceiver<T>) -> impl Stream<Item = T> {
        futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
    }

    #[tokio::test]
    async fn a_client_that_falls_behind_the_backlog_is_dropped() {
        let hub = Hub::new(4);
        let events = hub.subscribe();
        for _ in 0..10 {
            hub.publish(&LiveMessage::Heartbeat {
                timestamp: crate::probe::now(),
            });
        }
        let (sink, _rx) = reader();
        let end = serve_client(sink, silent(), events, limits(1)).await;
        assert_eq!(end, ClientEnd::Lagged);
    }

    #[tokio::test]
    async fn a_client_that_closes_ends_the_relay() {
        let hub = Hub::new(4);
        let (sink, mut rx) = reader();
        let closing = stream::iter(vec![Ok::<_, ()>(Message::Close(None))]);
        let end = serve_client(sink, closing, hub.subscribe(), limits(1)).await;
        assert_eq!(end, ClientEnd::Left);
        assert!(rx.try_recv().is_err(), "nothing sent after the close");
    }

    #[tokio::test]
    async fn prepared_frames_read_back_as_the_same_text_at_every_length_encoding() {
        // 7-bit, 16-bit and 64-bit payload lengths.
        for len in [0, 125, 126, 65_535, 65_536, 200_000] {
            let payload: String = "x".repeat(len);
            let (mut server, client) = tokio::io::duplex(1 << 20);
            let frame = text_frame(payload.as_bytes());
            let writer = tokio::spawn(async move {
                write_frame(&mut server, &frame, Duration::from_secs(5)).await;
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
        let frame = text_frame(&[b'x'; 10_000]);
        let end = write_frame(&mut server, &frame, Duration::from_secs(10)).await;
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
