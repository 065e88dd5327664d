//! The live hub: one broadcast channel of ready WebSocket frames.
//!
//! Each message is serialized and framed once, whatever the number of
//! clients, and publishing never waits for a client: a client that falls
//! behind the channel's capacity is told it lagged and is dropped by its
//! handler.
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

use crate::api::frame;
use app::model::LiveMessage;
use axum::body::Bytes;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

/// How often the hub says it is alive (DESIGN.md: every 2 seconds).
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);
/// Messages a client may fall behind before it is dropped.
pub const CLIENT_BACKLOG: usize = 1_024;
/// How long probe results may wait to go out with others.
pub const PROBE_WINDOW: Duration = Duration::from_millis(500);

#[derive(Clone)]
pub struct Hub {
    sender: broadcast::Sender<Bytes>,
    clients: Arc<AtomicUsize>,
    /// Probe results gathered and not yet sent, as frames back to back.
    /// Sending happens under this lock too, so no message overtakes them.
    gathered: Arc<Mutex<Gathered>>,
    probe_window: Duration,
}

#[derive(Default)]
struct Gathered {
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
        let json = serde_json::to_vec(message).expect("live messages serialize");
        let mut gathered = self.gathered.lock().expect("hub lock");
        let gather = matches!(message, LiveMessage::Probe(_)) && !self.probe_window.is_zero();
        if gather {
            // The flush needs a runtime to wait on; without one, send now.
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                frame::push_text(&mut gathered.frames, &json);
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
        let frames = if gathered.frames.is_empty() {
            frame::text(&json)
        } else {
            frame::push_text(&mut gathered.frames, &json);
            std::mem::take(&mut gathered.frames).into()
        };
        // An error only means nobody is listening.
        let _ = self.sender.send(frames);
    }

    /// Sends the probe results gathered so far.
    fn flush(&self) {
        let mut gathered = self.gathered.lock().expect("hub lock");
        gathered.flush_due = false;
        if !gathered.frames.is_empty() {
            let frames = std::mem::take(&mut gathered.frames);
            let _ = self.sender.send(frames.into());
        }
    }

    /// Every message published from now on: each item one or more text
    /// frames, back to back.
    pub fn subscribe(&self) -> broadcast::Receiver<Bytes> {
        self.sender.subscribe()
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
                    timestamp: crate::probe::now(),
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

    #[tokio::test(start_paused = true)]
    async fn heartbeats_every_two_seconds() {
        let hub = Hub::default();
        let mut rx = hub.subscribe();
        let start = tokio::time::Instant::now();
        let _task = hub.spawn_heartbeat(HEARTBEAT_EVERY);
        let mut arrivals = Vec::new();
        for _ in 0..5 {
            let frame = rx.recv().await.unwrap();
            // FIN + text, and a 7-bit length: the JSON follows.
            assert_eq!(frame[..2], [0x81, frame.len() as u8 - 2]);
            let parsed: serde_json::Value = serde_json::from_slice(&frame[2..]).unwrap();
            assert_eq!(parsed["type"], "heartbeat");
            let stamp = parsed["timestamp"].as_str().unwrap();
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
        LiveMessage::Probe(app::model::ProbeEvent {
            service: service.into(),
            timestamp: crate::probe::now(),
            success: true,
            latency_ms: 1.0,
            status_code: Some(200),
            message: "HTTP 200".into(),
            conditions: vec![],
            region: None,
        })
    }

    /// The messages in one broadcast item: its frames, read in order.
    fn messages(frames: &[u8]) -> Vec<serde_json::Value> {
        let mut reader = FrameReader(frames);
        std::iter::from_fn(|| reader.next()).collect()
    }

    /// Reads the server's unmasked text frames back.
    struct FrameReader<'a>(&'a [u8]);

    impl FrameReader<'_> {
        fn next(&mut self) -> Option<serde_json::Value> {
            let bytes = self.0;
            let [first, second, ..] = *bytes else {
                assert!(bytes.is_empty(), "a cut frame: {bytes:?}");
                return None;
            };
            assert_eq!(first, 0x81, "FIN + text");
            let (len, at) = match second {
                126 => (u16::from_be_bytes([bytes[2], bytes[3]]) as usize, 4),
                127 => panic!("no message here is that long"),
                n => (n as usize, 2),
            };
            self.0 = &bytes[at + len..];
            Some(serde_json::from_slice(&bytes[at..at + len]).unwrap())
        }
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
            from: app::model::ServiceStatus::Operational,
            to: app::model::ServiceStatus::Down,
            at: crate::probe::now(),
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
            timestamp: crate::probe::now(),
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
    async fn without_a_window_every_message_goes_alone() {
        let hub = Hub::default();
        let mut rx = hub.subscribe();
        hub.publish(&probe("a"));
        hub.publish(&probe("b"));
        for service in ["a", "b"] {
            let item = rx.try_recv().expect("sent at once");
            assert_eq!(
                kinds_and_services(&messages(&item)),
                [("probe".into(), service.into())]
            );
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
}
