//! One live page's connection, after the handshake and the snapshot.
//!
//! The hub's messages arrive framed; the connection copies them to its
//! socket, and whatever is queued when it wakes goes out in one write (a
//! heartbeat that lands while a client is still waiting for the previous
//! probe reaches it with that probe, not a system call later). It reads
//! the client's pongs, pings and close, pings on its own every
//! [`ClientLimits::ping_every`], and gives up on a client that stops
//! reading.

use super::frame::{self, close_code, Inbound, Reader};
use axum::body::Bytes;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};
use tokio::time::Instant;

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
    /// The client sent what RFC 6455 forbids.
    Protocol(frame::ProtocolError),
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

/// Queued messages gathered into one write, up to about this much.
const BATCH_BYTES: usize = 64 * 1024;
/// Read in pieces this big: clients send pongs and a close.
const READ_CHUNK: usize = 256;

/// Relays the hub's frames until the client leaves or stops keeping up.
/// Written over any byte stream, so it can be tested without a socket.
pub async fn serve_client<IO>(
    io: IO,
    mut events: broadcast::Receiver<Bytes>,
    limits: ClientLimits,
) -> ClientEnd
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let mut io = io;
    let mut reader = Reader::default();
    let mut chunk = [0u8; READ_CHUNK];
    // Bytes to send that aren't one shared frame: batches, pongs, pings.
    let mut out: Vec<u8> = Vec::new();
    let mut ping = tokio::time::interval_at(Instant::now() + limits.ping_every, limits.ping_every);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut heard = Instant::now();
    let end = loop {
        // Only the read borrows the socket, and only while waiting: what
        // woke the loop is handled, and written, once it is dropped.
        // The hub's messages first: a wake for one polls nothing else.
        let woke = tokio::select! {
            biased;
            event = events.recv() => Woke::Event(event),
            read = io.read(&mut chunk) => Woke::Read(read),
            _ = ping.tick() => Woke::Ping,
        };
        // A lone message is written from the hub's frame itself; anything
        // else goes through `out`.
        let mut lone: Option<Bytes> = None;
        let mut ended = None;
        match woke {
            Woke::Event(Ok(first)) => match gather(&mut events, first, &mut out) {
                Gathered::One(frame) => lone = Some(frame),
                Gathered::Batch => {}
                Gathered::End(end) => ended = Some(end),
            },
            Woke::Event(Err(RecvError::Lagged(_))) => break ClientEnd::Lagged,
            Woke::Event(Err(RecvError::Closed)) => break ClientEnd::HubClosed,
            Woke::Read(Ok(0) | Err(_)) => break ClientEnd::Left,
            Woke::Read(Ok(n)) => {
                heard = Instant::now();
                let mut closed = None;
                let fed = reader.feed(&chunk[..n], |inbound| match inbound {
                    Inbound::Ping(payload) => frame::push_pong(&mut out, &payload),
                    Inbound::Close(code) => closed = closed.or(Some(code)),
                    Inbound::Pong | Inbound::Data => {}
                });
                if let Err(error) = fed {
                    ended = Some(ClientEnd::Protocol(error));
                } else if let Some(code) = closed {
                    // Answer the close (§5.5.1) and hang up.
                    frame::push_close(&mut out, code.unwrap_or(close_code::NORMAL), "");
                    ended = Some(ClientEnd::Left);
                }
            }
            Woke::Ping => {
                if heard.elapsed() >= limits.silence_limit {
                    break ClientEnd::Silent;
                }
                out.extend_from_slice(frame::PING);
            }
        }
        if let Some(frame) = lone {
            if let Some(end) = send(&mut io, &frame, limits.send_timeout).await {
                break end;
            }
        } else if !out.is_empty() {
            if let Some(end) = send(&mut io, &out, limits.send_timeout).await {
                break ended.unwrap_or(end);
            }
            // Let the buffer go: kept, every connection that ever gathered
            // would hold one (measured: ~1 KiB each over 10,000), and an
            // allocation is nothing next to the write it goes with.
            out = Vec::new();
        }
        if let Some(end) = ended {
            break end;
        }
    };
    if end != ClientEnd::Left {
        let (code, reason) = match &end {
            ClientEnd::HubClosed => (close_code::GOING_AWAY, "server shutting down".into()),
            ClientEnd::Protocol(error) => (close_code::PROTOCOL_ERROR, error.to_string()),
            ClientEnd::TooSlow => (close_code::POLICY, "too slow to read".into()),
            ClientEnd::Lagged => (close_code::POLICY, "fell behind the live messages".into()),
            ClientEnd::Silent => (close_code::POLICY, "no pong".into()),
            ClientEnd::Left => unreachable!("a client that left is not answered"),
        };
        let mut closing = Vec::new();
        frame::push_close(&mut closing, code, &reason);
        let _ = send(&mut io, &closing, Duration::from_millis(100)).await;
    }
    end
}

/// What woke a connection's loop.
enum Woke {
    Event(Result<Bytes, RecvError>),
    Read(std::io::Result<usize>),
    Ping,
}

enum Gathered {
    /// Only `first` was waiting.
    One(Bytes),
    /// Several were, and are now in the batch buffer.
    Batch,
    /// Those gathered are in the buffer; then the receiver ended.
    End(ClientEnd),
}

/// Gathers the frames already queued behind `first`, so they go out in one
/// write.
fn gather(events: &mut broadcast::Receiver<Bytes>, first: Bytes, out: &mut Vec<u8>) -> Gathered {
    let mut next = match events.try_recv() {
        Ok(next) => next,
        Err(TryRecvError::Empty) => return Gathered::One(first),
        Err(TryRecvError::Lagged(_)) => return Gathered::End(ClientEnd::Lagged),
        Err(TryRecvError::Closed) => {
            out.extend_from_slice(&first);
            return Gathered::End(ClientEnd::HubClosed);
        }
    };
    out.extend_from_slice(&first);
    loop {
        out.extend_from_slice(&next);
        if out.len() >= BATCH_BYTES {
            return Gathered::Batch;
        }
        next = match events.try_recv() {
            Ok(next) => next,
            Err(TryRecvError::Empty) => return Gathered::Batch,
            Err(TryRecvError::Lagged(_)) => return Gathered::End(ClientEnd::Lagged),
            Err(TryRecvError::Closed) => return Gathered::End(ClientEnd::HubClosed),
        };
    }
}

/// Writes `bytes` whole, or says why not.
pub(super) async fn send<W: AsyncWrite + Unpin>(
    tx: &mut W,
    bytes: &[u8],
    timeout: Duration,
) -> Option<ClientEnd> {
    match tokio::time::timeout(timeout, tx.write_all(bytes)).await {
        Ok(Ok(())) => None,
        Ok(Err(_)) => Some(ClientEnd::Left),
        Err(_) => Some(ClientEnd::TooSlow),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::Hub;
    use app::model::LiveMessage;
    use futures_util::{SinkExt, StreamExt};
    use std::pin::Pin;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::{Context, Poll};
    use tokio::io::DuplexStream;
    use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::WebSocketStream;

    fn limits(send_timeout_secs: u64) -> ClientLimits {
        ClientLimits {
            send_timeout: Duration::from_secs(send_timeout_secs),
            ..Default::default()
        }
    }

    /// A connection to `serve_client` through an in-memory pipe of
    /// `buffer` bytes, and a tungstenite client on the other end.
    async fn connect(
        hub: &Hub,
        buffer: usize,
        limits: ClientLimits,
    ) -> (
        tokio::task::JoinHandle<ClientEnd>,
        WebSocketStream<DuplexStream>,
    ) {
        let (server, client) = tokio::io::duplex(buffer);
        let task = tokio::spawn(serve_client(server, hub.subscribe(), limits));
        let socket = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
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

    fn heartbeat() -> LiveMessage {
        LiveMessage::Heartbeat {
            timestamp: crate::probe::now(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_stops_reading_is_dropped_and_others_keep_receiving() {
        let hub = Hub::new(64);
        // A pipe that holds little, read by nobody.
        let (stuck, _unread) = connect(&hub, 64, limits(5)).await;
        let (healthy, mut socket) = connect(&hub, 64 * 1024, limits(5)).await;
        let _heartbeat = hub.spawn_heartbeat(Duration::from_secs(2));

        let start = Instant::now();
        for i in 1..=5u32 {
            assert!(next_text(&mut socket).await.contains("heartbeat"));
            assert_eq!(start.elapsed(), Duration::from_secs(2) * i);
        }
        // The stuck one was cut off at its send timeout (the 64-byte pipe
        // filled with the first heartbeats, at 2 and 4 s).
        assert!(stuck.is_finished());
        assert_eq!(stuck.await.unwrap(), ClientEnd::TooSlow);
        assert!(!healthy.is_finished());
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_answers_no_ping_is_dropped_and_one_that_does_stays() {
        let hub = Hub::new(16);
        let start = Instant::now();
        // Never polled: it neither reads the pings nor answers them.
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
        let events = hub.subscribe();
        for _ in 0..10 {
            hub.publish(&heartbeat());
        }
        let (server, _client) = tokio::io::duplex(64 * 1024);
        let end = serve_client(server, events, limits(1)).await;
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
        match socket.next().await {
            Some(Ok(Message::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 1000),
            other => panic!("expected the close answered, got {other:?}"),
        }
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

    #[tokio::test]
    async fn a_client_that_breaks_the_protocol_is_closed_with_1002() {
        let hub = Hub::new(4);
        let (server, mut client) = tokio::io::duplex(64 * 1024);
        let task = tokio::spawn(serve_client(server, hub.subscribe(), limits(1)));
        // An unmasked text frame: only servers may send those.
        client.write_all(&[0x81, 0x02, b'h', b'i']).await.unwrap();
        assert_eq!(
            task.await.unwrap(),
            ClientEnd::Protocol(frame::ProtocolError::Unmasked)
        );
        let mut socket = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
        match socket.next().await {
            Some(Ok(Message::Close(Some(frame)))) => {
                assert_eq!(u16::from(frame.code), 1002);
                assert!(frame.reason.contains("masked"), "{}", frame.reason);
            }
            other => panic!("expected a close, got {other:?}"),
        }
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
                from: app::model::ServiceStatus::Unknown,
                to: app::model::ServiceStatus::Operational,
                at: crate::probe::now(),
                cause: "x".repeat(300),
            });
        }
        let (server, client) = tokio::io::duplex(16 * 1024);
        let writes = Arc::new(AtomicUsize::new(0));
        let server = CountingWrites(server, writes.clone());
        let task = tokio::spawn(serve_client(server, events, limits(5)));
        let mut socket = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
        for i in 0..300u32 {
            let text = next_text(&mut socket).await;
            let message: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(message["service"], format!("service-{i}"));
        }
        drop(socket);
        assert_eq!(task.await.unwrap(), ClientEnd::Left);
        // ~110 KiB in batches of 64 KiB, through a 16 KiB pipe: a few
        // dozen writes, not one per message.
        let writes = writes.load(Ordering::Relaxed);
        assert!(writes < 30, "{writes} writes for 300 messages");
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
    async fn a_shutting_down_hub_closes_its_clients_as_going_away() {
        let hub = Hub::new(4);
        let (task, mut socket) = connect(&hub, 64 * 1024, limits(1)).await;
        hub.publish(&heartbeat());
        drop(hub);
        assert!(next_text(&mut socket).await.contains("heartbeat"));
        assert_eq!(task.await.unwrap(), ClientEnd::HubClosed);
        match socket.next().await {
            Some(Ok(Message::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 1001),
            other => panic!("expected a close, got {other:?}"),
        }
    }
}
