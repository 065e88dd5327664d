//! The live hub: one broadcast channel of ready WebSocket payloads.
//!
//! Each message is serialized and framed once, whatever the number of
//! clients, into a shared buffer that every connection writes, and
//! publishing never waits for a client: a client that falls behind the
//! channel's capacity is told it lagged and is dropped by its handler.
//!
//! Probe results, the bulk of the traffic, are gathered for up to a short
//! window and go out together, as one write per client; heartbeats and
//! status changes go out at once, with any results gathered so far ahead
//! of them so that order is kept. Every message is still its own frame:
//! only the system calls are shared. A fan-out costs a system call per
//! client (measured at ~8 µs each on loopback, docs/benchmarks.md), so
//! with 10,000 clients the number of fan-outs a second is what the
//! machine can afford, and without the window it would grow with the
//! number of services probed.
//!
//! When Hale stops, [`Hub::close`] tells every connection to close with
//! 1001 ("going away"), so browsers reconnect at once to the next Hale.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::Bytes;
use wire::LiveMessage;

/// How often the hub says it is alive (docs/api.md: every 2 seconds).
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);
/// Items a client may fall behind before it is dropped.
pub const CLIENT_BACKLOG: usize = 1_024;
/// How long probe results may wait to go out with others.
pub const PROBE_WINDOW: Duration = Duration::from_millis(500);

/// One item of the hub's channel: one message, or several gathered to go
/// out in one write, as the WebSocket frames a server sends for them, in
/// order. Clones share the bytes.
#[derive(Clone, Debug)]
pub struct Live(Bytes);

impl Live {
    /// The messages' frames, as one run of bytes.
    pub fn frames(&self) -> &Bytes {
        &self.0
    }
}

/// Appends `message` to `frames` as tungstenite frames it: once here for
/// every client.
fn push_frame(frames: &mut Vec<u8>, message: &LiveMessage) {
    let json = serde_json::to_vec(message).expect("live messages serialize");
    push_text_frame(frames, json);
}

/// Appends `payload` to `out` as one final text frame, unmasked as a
/// server's are, formatted by tungstenite.
pub fn push_text_frame(out: &mut Vec<u8>, payload: impl Into<Bytes>) {
    Frame::message(payload, OpCode::Data(Data::Text), true)
        .format(out)
        .expect("a Vec takes any frame");
}

#[derive(Clone)]
pub struct Hub {
    sender: broadcast::Sender<Live>,
    clients: Arc<AtomicUsize>,
    /// Probe results gathered and not yet sent. Sending happens under this
    /// lock too, so no message overtakes them.
    gathered: Arc<Mutex<Gathered>>,
    probe_window: Duration,
    closing: watch::Sender<bool>,
}

#[derive(Default)]
struct Gathered {
    /// Their frames, in order.
    frames: Vec<u8>,
    /// A send of `frames` is on its way.
    flush_due: bool,
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new(CLIENT_BACKLOG)
    }
}

impl Hub {
    /// A hub that sends every message at once.
    pub fn new(backlog: usize) -> Hub {
        Hub {
            sender: broadcast::channel(backlog).0,
            clients: Arc::new(AtomicUsize::new(0)),
            gathered: Arc::default(),
            probe_window: Duration::ZERO,
            closing: watch::channel(false).0,
        }
    }

    /// Gathers probe results for up to `window` (zero: none).
    pub fn with_probe_window(mut self, window: Duration) -> Hub {
        self.probe_window = window;
        self
    }

    pub fn publish(&self, message: &LiveMessage) {
        if self.sender.receiver_count() == 0 {
            return; // nobody to serialize for
        }
        let mut gathered = self.gathered.lock().expect("hub lock");
        let gather = matches!(message, LiveMessage::Probe(_)) && !self.probe_window.is_zero();
        if gather {
            // The flush needs a runtime to wait on; without one, send now.
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                push_frame(&mut gathered.frames, message);
                if !gathered.flush_due {
                    gathered.flush_due = true;
                    let (hub, window) = (self.clone(), self.probe_window);
                    runtime.spawn(async move {
                        tokio::time::sleep(window).await;
                        hub.flush();
                    });
                }
                return;
            }
        }
        push_frame(&mut gathered.frames, message);
        let item = Live(std::mem::take(&mut gathered.frames).into());
        // An error only means nobody is listening.
        let _ = self.sender.send(item);
    }

    /// Sends the probe results gathered so far.
    fn flush(&self) {
        let mut gathered = self.gathered.lock().expect("hub lock");
        gathered.flush_due = false;
        if !gathered.frames.is_empty() {
            let frames = std::mem::take(&mut gathered.frames);
            let _ = self.sender.send(Live(frames.into()));
        }
    }

    /// Every message published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Live> {
        self.sender.subscribe()
    }

    /// Tells every connection that Hale is stopping.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Resolves once [`Hub::close`] was called (at once if it was).
    pub fn closed(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut closing = self.closing.subscribe();
        async move {
            let _ = closing.wait_for(|closed| *closed).await;
        }
    }

    /// Counts a connected client for as long as the guard lives.
    pub fn client_guard(&self) -> ClientGuard {
        self.clients.fetch_add(1, Ordering::Relaxed);
        ClientGuard(self.clients.clone())
    }

    pub fn client_count(&self) -> usize {
        self.clients.load(Ordering::Relaxed)
    }

    /// Publishes a heartbeat every `period`, from one task for all clients.
    pub fn spawn_heartbeat(&self, period: Duration) -> JoinHandle<()> {
        let hub = self.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                hub.publish(&LiveMessage::Heartbeat {
                    timestamp: crate::clock::now(),
                });
            }
        })
    }
}

pub struct ClientGuard(Arc<AtomicUsize>);

impl Drop for ClientGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The messages of one item, parsed from its frames.
    fn messages(item: &Live) -> Vec<serde_json::Value> {
        use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;
        let mut cursor = std::io::Cursor::new(item.frames().as_ref());
        let mut parsed = Vec::new();
        while let Some((header, len)) = FrameHeader::parse(&mut cursor).unwrap() {
            assert!(header.is_final && header.opcode == OpCode::Data(Data::Text));
            let start = cursor.position() as usize;
            let end = start + len as usize;
            parsed.push(serde_json::from_slice(&item.frames()[start..end]).unwrap());
            cursor.set_position(end as u64);
        }
        parsed
    }

    #[tokio::test(start_paused = true)]
    async fn heartbeats_every_two_seconds() {
        let hub = Hub::default();
        let mut rx = hub.subscribe();
        let start = tokio::time::Instant::now();
        let _task = hub.spawn_heartbeat(HEARTBEAT_EVERY);
        let mut arrivals = Vec::new();
        for _ in 0..5 {
            let item = rx.recv().await.unwrap();
            let parsed = messages(&item);
            assert_eq!(parsed.len(), 1);
            assert_eq!(parsed[0]["type"], "heartbeat");
            let stamp = parsed[0]["timestamp"].as_str().unwrap();
            assert!(
                chrono::DateTime::parse_from_rfc3339(stamp).is_ok(),
                "{stamp}"
            );
            arrivals.push(start.elapsed());
        }
        let expected: Vec<Duration> = (1..=5).map(|i| HEARTBEAT_EVERY * i).collect();
        assert_eq!(arrivals, expected);
    }

    fn probe(service: &str) -> LiveMessage {
        LiveMessage::Probe(wire::ProbeEvent {
            service: service.into(),
            timestamp: crate::clock::now(),
            success: true,
            latency_ms: 1.0,
            status_code: Some(200),
            message: "HTTP 200".into(),
            conditions: vec![],
            region: None,
        })
    }

    fn kinds_and_services(messages: &[serde_json::Value]) -> Vec<(String, String)> {
        messages
            .iter()
            .map(|m| {
                let service = m["service"].as_str().unwrap_or("");
                (m["type"].as_str().unwrap().to_string(), service.to_string())
            })
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn probe_results_within_the_window_go_out_together() {
        let hub = Hub::default().with_probe_window(Duration::from_millis(500));
        let mut rx = hub.subscribe();
        let start = tokio::time::Instant::now();
        hub.publish(&probe("a"));
        tokio::time::sleep(Duration::from_millis(200)).await;
        hub.publish(&probe("b"));
        assert!(rx.try_recv().is_err(), "held for the window");
        let item = rx.recv().await.unwrap();
        assert_eq!(
            start.elapsed(),
            Duration::from_millis(500),
            "the first one's window"
        );
        assert_eq!(
            kinds_and_services(&messages(&item)),
            [("probe".into(), "a".into()), ("probe".into(), "b".into())]
        );
        // The next result opens a new window.
        hub.publish(&probe("c"));
        let item = rx.recv().await.unwrap();
        assert_eq!(start.elapsed(), Duration::from_millis(1_000));
        assert_eq!(messages(&item).len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_status_change_or_heartbeat_goes_at_once_behind_the_gathered_results() {
        let hub = Hub::default().with_probe_window(Duration::from_millis(500));
        let mut rx = hub.subscribe();
        let start = tokio::time::Instant::now();
        hub.publish(&probe("a"));
        hub.publish(&LiveMessage::StatusChange {
            service: "a".into(),
            from: wire::ServiceStatus::Operational,
            to: wire::ServiceStatus::Down,
            at: crate::clock::now(),
            cause: "3 failures".into(),
        });
        let item = rx.try_recv().expect("sent at once");
        assert_eq!(
            kinds_and_services(&messages(&item)),
            [
                ("probe".into(), "a".into()),
                ("status_change".into(), "a".into())
            ]
        );
        hub.publish(&probe("b"));
        hub.publish(&LiveMessage::Heartbeat {
            timestamp: crate::clock::now(),
        });
        let item = rx.try_recv().expect("sent at once");
        assert_eq!(
            kinds_and_services(&messages(&item)),
            [
                ("probe".into(), "b".into()),
                ("heartbeat".into(), "".into())
            ]
        );
        // Nothing is left for the window's end to send.
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(rx.try_recv().is_err());
        assert_eq!(start.elapsed(), Duration::from_secs(1));
    }

    #[tokio::test]
    async fn without_a_window_every_message_goes_alone_and_is_shared() {
        let hub = Hub::default();
        let mut first = hub.subscribe();
        let mut second = hub.subscribe();
        hub.publish(&probe("a"));
        hub.publish(&probe("b"));
        for service in ["a", "b"] {
            let (one, other) = (first.try_recv().unwrap(), second.try_recv().unwrap());
            assert_eq!(
                kinds_and_services(&messages(&one)),
                [("probe".into(), service.into())]
            );
            // Serialized once: both clients' payloads are the same bytes.
            assert_eq!(one.frames().as_ptr(), other.frames().as_ptr());
        }
    }

    #[test]
    fn counts_clients_while_their_guards_live() {
        let hub = Hub::default();
        let a = hub.client_guard();
        let b = hub.client_guard();
        assert_eq!(hub.client_count(), 2);
        drop(a);
        assert_eq!(hub.client_count(), 1);
        drop(b);
        assert_eq!(hub.client_count(), 0);
    }

    #[tokio::test]
    async fn closing_reaches_every_waiter_even_late_ones() {
        let hub = Hub::default();
        let early = tokio::spawn(hub.closed());
        hub.close();
        early.await.unwrap();
        // One that starts waiting after the close is told at once.
        tokio::time::timeout(Duration::from_secs(1), hub.closed())
            .await
            .expect("closed already");
    }
}
