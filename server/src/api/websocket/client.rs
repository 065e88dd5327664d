//! One live page's connection: the snapshot, then the hub's messages until
//! the client leaves or stops keeping up.
//!
//! Whatever is queued when the connection wakes goes out in one write (a
//! heartbeat that lands while a client is still waiting for the previous
//! probe reaches it with that probe, not a system call later). It reads
//! the client's pongs, pings and close (tungstenite answers pings and
//! closes), pings on its own every [`ClientLimits::ping_every`], and gives
//! up on a client that stops reading. A status page only listens: a data
//! frame from the browser is refused (1003), and so is anything RFC 6455
//! forbids (1002), text that is not UTF-8 (1007) and a frame too large
//! for what a page may send (1009).

use crate::live::hub::{push_text_frame, Live};
use axum::body::Bytes;
use futures_util::{SinkExt, StreamExt};
use std::future::Future;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

/// Why a client's connection ended.
#[derive(Debug, PartialEq, Eq)]
pub enum ClientEnd {
    /// The client closed, or its connection failed.
    Left,
    /// A send blocked past the timeout: the client stopped reading.
    TooSlow,
    /// The client fell more than the hub's backlog behind.
    Lagged,
    /// Hale is stopping.
    HubClosed,
    /// Nothing came back, not even a pong, for the silence limit: the
    /// client stopped reading (its buffers may still take our writes).
    Silent,
    /// The client sent what a live page may not: closed with this code.
    Refused(u16, String),
}

/// When a client is given up on, and the socket's sizes.
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

/// The largest frame a page may send: control frames carry at most 125
/// bytes, and a page sends nothing else.
const MAX_INBOUND_FRAME: usize = 1024;
/// Read in pieces this big (tungstenite keeps one such buffer).
const READ_BUFFER: usize = 1024;
/// Written out once this much is queued; a batch larger than this goes in
/// several writes, so no connection's buffer grows past about this much.
const WRITE_BUFFER: usize = 16 * 1024;

impl ClientLimits {
    /// The socket's settings.
    pub fn config(&self) -> WebSocketConfig {
        WebSocketConfig::default()
            .read_buffer_size(READ_BUFFER)
            .write_buffer_size(WRITE_BUFFER)
            .max_write_buffer_size(WRITE_BUFFER * 4)
            .max_frame_size(Some(MAX_INBOUND_FRAME))
            .max_message_size(Some(MAX_INBOUND_FRAME))
    }
}

/// Sends the snapshot, then relays the hub's messages until the client
/// leaves, stops keeping up, or `closed` resolves (Hale stopping).
/// Written over any byte stream, so it can be tested without a socket.
pub async fn serve_client<IO>(
    mut socket: WebSocketStream<IO>,
    snapshot: Bytes,
    mut events: broadcast::Receiver<Live>,
    closed: impl Future<Output = ()>,
    limits: ClientLimits,
) -> ClientEnd
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let end = match with_timeout(limits.send_timeout, send_snapshot(&mut socket, &snapshot)).await {
        Some(end) => end,
        None => {
            drop(snapshot);
            relay(&mut socket, &mut events, closed, limits).await
        }
    };
    let (code, reason) = match &end {
        // A client that left, or whose close tungstenite already answered.
        ClientEnd::Left => return end,
        ClientEnd::HubClosed => (CloseCode::Away, "server shutting down".to_string()),
        ClientEnd::TooSlow => (CloseCode::Policy, "too slow to read".into()),
        ClientEnd::Lagged => (CloseCode::Policy, "fell behind the live messages".into()),
        ClientEnd::Silent => (CloseCode::Policy, "no pong".into()),
        ClientEnd::Refused(code, reason) => (CloseCode::from(*code), reason.clone()),
    };
    let close = Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }));
    let _ = tokio::time::timeout(Duration::from_millis(100), socket.send(close)).await;
    end
}

/// Runs `send`, or says the client was too slow for it.
async fn with_timeout(
    timeout: Duration,
    send: impl Future<Output = Result<(), WsError>>,
) -> Option<ClientEnd> {
    match tokio::time::timeout(timeout, send).await {
        Ok(Ok(())) => None,
        // The socket would not take more: what is queued already fills
        // the connection's buffer because the client is not reading.
        Ok(Err(WsError::WriteBufferFull(_))) => Some(ClientEnd::TooSlow),
        Ok(Err(_)) => Some(ClientEnd::Left),
        Err(_) => Some(ClientEnd::TooSlow),
    }
}

/// The snapshot, one text frame framed by tungstenite into a buffer that
/// goes once it is written (tungstenite's own write buffer would keep the
/// snapshot's size for the connection's life).
async fn send_snapshot<IO>(socket: &mut WebSocketStream<IO>, json: &Bytes) -> Result<(), WsError>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let mut framed = Vec::with_capacity(json.len() + 10);
    push_text_frame(&mut framed, json.clone());
    write_frames(socket, &framed).await
}

/// Writes whole frames, formatted by tungstenite, straight to the socket:
/// the hub's are formatted once for every client, so a delivery is one
/// write and no copy, and no connection's write buffer keeps the
/// snapshot's size (18.3 KiB a connection through tungstenite's send,
/// 4.3 KiB this way: docs/benchmarks.md). Whatever tungstenite still
/// holds (a pong it queued while reading) goes first, so frames never
/// interleave.
async fn write_frames<IO>(socket: &mut WebSocketStream<IO>, bytes: &[u8]) -> Result<(), WsError>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    socket.flush().await?;
    socket.get_mut().write_all(bytes).await?;
    Ok(())
}

/// What woke a connection's loop.
enum Woke {
    Closing,
    Event(Result<Live, RecvError>),
    Read(Option<Result<Message, WsError>>),
    Ping,
}

async fn relay<IO>(
    socket: &mut WebSocketStream<IO>,
    events: &mut broadcast::Receiver<Live>,
    closed: impl Future<Output = ()>,
    limits: ClientLimits,
) -> ClientEnd
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    tokio::pin!(closed);
    let mut ping = tokio::time::interval_at(Instant::now() + limits.ping_every, limits.ping_every);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut heard = Instant::now();
    loop {
        // The hub's messages first: a wake for one polls nothing else.
        let woke = tokio::select! {
            biased;
            _ = &mut closed => Woke::Closing,
            event = events.recv() => Woke::Event(event),
            read = socket.next() => Woke::Read(read),
            _ = ping.tick() => Woke::Ping,
        };
        let ended = match woke {
            Woke::Closing => {
                // What the hub published before it closed still goes out,
                // then the 1001.
                let rest = async {
                    let mut out = Vec::new();
                    while let Ok(item) = events.try_recv() {
                        out.extend_from_slice(item.frames());
                    }
                    write_frames(socket, &out).await
                };
                return with_timeout(limits.send_timeout, rest)
                    .await
                    .unwrap_or(ClientEnd::HubClosed);
            }
            Woke::Event(Ok(first)) => {
                // What else is queued goes out in the same write, up to
                // the write buffer's size; the rest at the next turn.
                let mut stop = None;
                let mut batch: Option<Vec<u8>> = None;
                while batch.as_ref().map_or(0, Vec::len) < WRITE_BUFFER {
                    match events.try_recv() {
                        Ok(next) => batch
                            .get_or_insert_with(|| first.frames().to_vec())
                            .extend_from_slice(next.frames()),
                        Err(TryRecvError::Empty) => break,
                        Err(TryRecvError::Lagged(_)) => {
                            stop = Some(ClientEnd::Lagged);
                            break;
                        }
                        Err(TryRecvError::Closed) => {
                            stop = Some(ClientEnd::HubClosed);
                            break;
                        }
                    }
                }
                let bytes = batch.as_deref().unwrap_or(first.frames());
                with_timeout(limits.send_timeout, write_frames(socket, bytes))
                    .await
                    .or(stop)
            }
            Woke::Event(Err(RecvError::Lagged(_))) => return ClientEnd::Lagged,
            Woke::Event(Err(RecvError::Closed)) => return ClientEnd::HubClosed,
            Woke::Read(None) => return ClientEnd::Left,
            Woke::Read(Some(Err(error))) => return refused(error),
            Woke::Read(Some(Ok(message))) => {
                heard = Instant::now();
                match message {
                    // tungstenite queued the pong; it goes out now.
                    Message::Ping(_) => with_timeout(limits.send_timeout, socket.flush()).await,
                    Message::Pong(_) | Message::Frame(_) => None,
                    Message::Close(_) => {
                        // tungstenite answers the close (§5.5.1); flush it.
                        let _ = with_timeout(limits.send_timeout, socket.flush()).await;
                        return ClientEnd::Left;
                    }
                    Message::Text(_) | Message::Binary(_) => {
                        return ClientEnd::Refused(
                            1003,
                            "a status page sends no data frames".into(),
                        )
                    }
                }
            }
            Woke::Ping => {
                if heard.elapsed() >= limits.silence_limit {
                    return ClientEnd::Silent;
                }
                let ping = socket.send(Message::Ping(Bytes::new()));
                with_timeout(limits.send_timeout, ping).await
            }
        };
        if let Some(end) = ended {
            return end;
        }
    }
}

/// The close code for what the client did wrong (RFC 6455 §7.4.1).
fn refused(error: WsError) -> ClientEnd {
    use tokio_tungstenite::tungstenite::error::ProtocolError;
    match error {
        // The client went away without a close: nothing to answer.
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => ClientEnd::Left,
        WsError::Protocol(e) => ClientEnd::Refused(1002, e.to_string()),
        WsError::Utf8(_) => ClientEnd::Refused(1007, "text that is not UTF-8".into()),
        WsError::Capacity(e) => ClientEnd::Refused(1009, e.to_string()),
        _ => ClientEnd::Left,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::hub::Hub;
    use std::pin::Pin;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::{Context, Poll};
    use tokio::io::{AsyncWriteExt, DuplexStream};
    use tokio_tungstenite::tungstenite::protocol::Role;
    use wire::LiveMessage;

    fn limits(send_timeout_secs: u64) -> ClientLimits {
        ClientLimits {
            send_timeout: Duration::from_secs(send_timeout_secs),
            ..Default::default()
        }
    }

    const SNAPSHOT: &[u8] =
        br#"{"type":"snapshot","timestamp":"2026-01-01T00:00:00Z","services":[]}"#;

    /// A server side over an in-memory pipe of `buffer` bytes.
    async fn server(
        hub: &Hub,
        buffer: usize,
        limits: ClientLimits,
        snapshot: Bytes,
    ) -> (tokio::task::JoinHandle<ClientEnd>, DuplexStream) {
        let (server, client) = tokio::io::duplex(buffer);
        let socket =
            WebSocketStream::from_raw_socket(server, Role::Server, Some(limits.config())).await;
        let task = tokio::spawn(serve_client(
            socket,
            snapshot,
            hub.subscribe(),
            hub.closed(),
            limits,
        ));
        (task, client)
    }

    /// A connection to `serve_client` with a tungstenite client on the
    /// other end, past the snapshot.
    async fn connect(
        hub: &Hub,
        buffer: usize,
        limits: ClientLimits,
    ) -> (
        tokio::task::JoinHandle<ClientEnd>,
        WebSocketStream<DuplexStream>,
    ) {
        let (task, client) = server(hub, buffer, limits, Bytes::from_static(SNAPSHOT)).await;
        let mut socket = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
        assert!(next_text(&mut socket).await.contains("snapshot"));
        (task, socket)
    }

    /// The next text message, past pings (which tungstenite answers).
    async fn next_text(socket: &mut WebSocketStream<DuplexStream>) -> String {
        loop {
            match socket.next().await.expect("a message").expect("readable") {
                Message::Text(t) => return t.to_string(),
                Message::Ping(_) => continue,
                other => panic!("expected text, got {other:?}"),
            }
        }
    }

    /// The close frame the server ends with, past anything else.
    async fn close_code(socket: &mut WebSocketStream<DuplexStream>) -> (u16, String) {
        loop {
            match socket.next().await {
                Some(Ok(Message::Close(Some(frame)))) => {
                    return (u16::from(frame.code), frame.reason.to_string())
                }
                Some(Ok(_)) => continue,
                other => panic!("expected a close, got {other:?}"),
            }
        }
    }

    fn heartbeat() -> LiveMessage {
        LiveMessage::Heartbeat {
            timestamp: crate::clock::now(),
        }
    }

    #[tokio::test]
    async fn a_snapshot_of_any_size_arrives_as_one_message() {
        let hub = Hub::new(4);
        // Lengths around the frame-length encodings and the buffers' sizes.
        for len in [0, 125, 126, 8_191, 8_192, 8_193, 65_536, 200_000] {
            let text = "x".repeat(len);
            let (_task, client) = server(&hub, 1 << 16, limits(5), Bytes::from(text.clone())).await;
            let mut socket = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
            assert_eq!(next_text(&mut socket).await, text, "length {len}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_snapshot_nobody_reads_gives_up_at_the_send_timeout() {
        let hub = Hub::new(4);
        let (task, _client) =
            server(&hub, 1024, limits(10), Bytes::from(vec![b'x'; 100_000])).await;
        assert_eq!(task.await.unwrap(), ClientEnd::TooSlow);
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_stops_reading_is_dropped_and_others_keep_receiving() {
        let hub = Hub::new(64);
        // A pipe that holds little, read by nobody past the snapshot.
        let (stuck, _unread) = connect(&hub, 64, limits(5)).await;
        let (healthy, mut socket) = connect(&hub, 64 * 1024, limits(5)).await;
        let _heartbeat = hub.spawn_heartbeat(Duration::from_secs(2));

        let start = Instant::now();
        for i in 1..=5u32 {
            assert!(next_text(&mut socket).await.contains("heartbeat"));
            assert_eq!(start.elapsed(), Duration::from_secs(2) * i);
        }
        assert!(stuck.is_finished());
        assert_eq!(stuck.await.unwrap(), ClientEnd::TooSlow);
        assert!(!healthy.is_finished());
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_answers_no_ping_is_dropped_and_one_that_does_stays() {
        let hub = Hub::new(16);
        let start = Instant::now();
        // Never polled after the snapshot: it neither reads the pings nor
        // answers them.
        let (quiet, _silent) = connect(&hub, 64 * 1024, limits(10)).await;
        // Read all along, as a browser: tungstenite answers each ping.
        let (answering, mut socket) = connect(&hub, 64 * 1024, limits(10)).await;
        let reader = tokio::spawn(async move {
            let mut pings = 0;
            while let Some(Ok(message)) = socket.next().await {
                pings += usize::from(matches!(message, Message::Ping(_)));
            }
            pings
        });
        assert_eq!(quiet.await.unwrap(), ClientEnd::Silent);
        // Pinged at 10 s and 20 s, unanswered; dropped at the 30 s ping.
        assert_eq!(start.elapsed(), Duration::from_secs(30));
        tokio::time::sleep(Duration::from_secs(120)).await;
        assert!(!answering.is_finished(), "a client that answers stays");
        assert!(!reader.is_finished());
        reader.abort();
    }

    #[tokio::test]
    async fn a_client_that_falls_behind_the_backlog_is_dropped() {
        let hub = Hub::new(4);
        let (server, _client) = tokio::io::duplex(64 * 1024);
        let socket = WebSocketStream::from_raw_socket(server, Role::Server, None).await;
        let events = hub.subscribe();
        for _ in 0..10 {
            hub.publish(&heartbeat());
        }
        let end = serve_client(
            socket,
            Bytes::from_static(SNAPSHOT),
            events,
            hub.closed(),
            limits(1),
        )
        .await;
        assert_eq!(end, ClientEnd::Lagged);
    }

    #[tokio::test]
    async fn a_close_is_answered_and_ends_the_relay() {
        let hub = Hub::new(4);
        let (task, mut socket) = connect(&hub, 64 * 1024, limits(1)).await;
        socket
            .send(Message::Close(Some(CloseFrame {
                code: 1000.into(),
                reason: "bye".into(),
            })))
            .await
            .unwrap();
        assert_eq!(task.await.unwrap(), ClientEnd::Left);
        // tungstenite sees the answer: the close handshake completes.
        assert_eq!(close_code(&mut socket).await.0, 1000);
        assert!(socket.next().await.is_none(), "then the stream ends");
    }

    #[tokio::test]
    async fn a_client_ping_is_answered_with_its_payload() {
        let hub = Hub::new(4);
        let (_task, mut socket) = connect(&hub, 64 * 1024, limits(1)).await;
        socket
            .send(Message::Ping(Bytes::from_static(b"hello")))
            .await
            .unwrap();
        match socket.next().await {
            Some(Ok(Message::Pong(payload))) => assert_eq!(&payload[..], b"hello"),
            other => panic!("expected a pong, got {other:?}"),
        }
    }

    /// A client frame as RFC 6455 §5.2 lays it out, masked.
    fn client_frame(first_byte: u8, payload: &[u8]) -> Vec<u8> {
        assert!(payload.len() < 126);
        let mask = [0x12, 0x34, 0x56, 0x78];
        let mut frame = vec![first_byte, 0x80 | payload.len() as u8];
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        frame
    }

    /// What the server closes with after the client sends `bytes`.
    async fn closed_after(bytes: &[u8]) -> (ClientEnd, (u16, String)) {
        let hub = Hub::new(4);
        let (task, mut client) =
            server(&hub, 64 * 1024, limits(1), Bytes::from_static(SNAPSHOT)).await;
        client.write_all(bytes).await.unwrap();
        let mut socket = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
        let close = close_code(&mut socket).await;
        (task.await.unwrap(), close)
    }

    #[tokio::test]
    async fn what_rfc_6455_forbids_is_refused_with_its_close_code() {
        // An unmasked frame: only servers may send those.
        let (end, (code, reason)) = closed_after(&[0x81, 0x02, b'h', b'i']).await;
        assert_eq!(code, 1002, "{end:?}");
        assert!(reason.contains("mask"), "{reason}");
        // A continuation with nothing to continue.
        let (end, (code, _)) = closed_after(&client_frame(0x80, b"more")).await;
        assert_eq!(code, 1002, "{end:?}");
        // Text that is not UTF-8.
        let (end, (code, _)) = closed_after(&client_frame(0x81, &[0xff, 0xfe])).await;
        assert_eq!(code, 1007, "{end:?}");
        assert_eq!(
            end,
            ClientEnd::Refused(1007, "text that is not UTF-8".into())
        );
        // A close code no endpoint may send (1005 is "no status").
        let (_, (code, _)) = closed_after(&client_frame(0x88, &1005u16.to_be_bytes())).await;
        assert_eq!(code, 1002);
    }

    #[tokio::test]
    async fn a_data_frame_from_the_page_is_refused() {
        let (end, (code, reason)) = closed_after(&client_frame(0x81, b"hello")).await;
        assert_eq!(end, ClientEnd::Refused(1003, reason.clone()));
        assert_eq!(code, 1003);
    }

    #[tokio::test]
    async fn an_oversize_frame_is_refused_before_its_payload_arrives() {
        // The header of a 1 GiB binary frame, and nothing after it: an
        // endless frame must not hold the connection open.
        let mut header = vec![0x82, 0x80 | 127];
        header.extend_from_slice(&(1u64 << 30).to_be_bytes());
        header.extend_from_slice(&[1, 2, 3, 4]);
        let (end, (code, _)) = closed_after(&header).await;
        assert_eq!(code, 1009, "{end:?}");
    }

    #[tokio::test]
    async fn messages_queued_while_a_client_was_busy_arrive_whole_and_in_order() {
        let hub = Hub::new(1_024);
        let events = hub.subscribe();
        // Published before the relay runs: all of them are queued when it
        // first wakes, so they go out gathered.
        for i in 0..300u32 {
            hub.publish(&LiveMessage::StatusChange {
                service: format!("service-{i}"),
                from: wire::ServiceStatus::Unknown,
                to: wire::ServiceStatus::Operational,
                at: crate::clock::now(),
                cause: "x".repeat(300),
            });
        }
        let (server, client) = tokio::io::duplex(16 * 1024);
        let writes = Arc::new(AtomicUsize::new(0));
        let server = CountingWrites(server, writes.clone());
        let socket =
            WebSocketStream::from_raw_socket(server, Role::Server, Some(limits(5).config())).await;
        let task = tokio::spawn(serve_client(
            socket,
            Bytes::from_static(SNAPSHOT),
            events,
            hub.closed(),
            limits(5),
        ));
        let mut socket = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
        assert!(next_text(&mut socket).await.contains("snapshot"));
        for i in 0..300u32 {
            let text = next_text(&mut socket).await;
            let message: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(message["service"], format!("service-{i}"));
        }
        drop(socket);
        assert_eq!(task.await.unwrap(), ClientEnd::Left);
        // ~110 KiB in writes of about 16 KiB: a few dozen writes, not one
        // per message.
        let writes = writes.load(Ordering::Relaxed);
        assert!(writes < 40, "{writes} writes for 300 messages");
    }

    /// Counts the writes made through it.
    struct CountingWrites<T>(T, Arc<AtomicUsize>);

    impl<T: AsyncRead + Unpin> AsyncRead for CountingWrites<T> {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            Pin::new(&mut self.0).poll_read(cx, buf)
        }
    }

    impl<T: AsyncWrite + Unpin> AsyncWrite for CountingWrites<T> {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<std::io::Result<usize>> {
            let written = Pin::new(&mut self.0).poll_write(cx, buf);
            if written.is_ready() {
                self.1.fetch_add(1, Ordering::Relaxed);
            }
            written
        }
        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Pin::new(&mut self.0).poll_flush(cx)
        }
        fn poll_shutdown(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<std::io::Result<()>> {
            Pin::new(&mut self.0).poll_shutdown(cx)
        }
    }

    #[tokio::test]
    async fn hale_stopping_closes_its_clients_as_going_away() {
        let hub = Hub::new(4);
        let (task, mut socket) = connect(&hub, 64 * 1024, limits(1)).await;
        hub.publish(&heartbeat());
        assert!(next_text(&mut socket).await.contains("heartbeat"));
        hub.close();
        assert_eq!(task.await.unwrap(), ClientEnd::HubClosed);
        assert_eq!(close_code(&mut socket).await.0, 1001);
    }

    #[tokio::test]
    async fn what_was_published_before_the_stop_goes_out_before_the_close() {
        let hub = Hub::new(4);
        let (task, mut socket) = connect(&hub, 64 * 1024, limits(1)).await;
        // Published and closed before the connection's task can run:
        // its wake sees both at once.
        hub.publish(&heartbeat());
        hub.close();
        assert!(next_text(&mut socket).await.contains("heartbeat"));
        assert_eq!(task.await.unwrap(), ClientEnd::HubClosed);
        assert_eq!(close_code(&mut socket).await.0, 1001);
    }
}
