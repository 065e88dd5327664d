//! The live hub: one broadcast channel of ready WebSocket frames.
//!
//! Each message is serialized and framed once, whatever the number of
//! clients, and
//! publishing never waits for a client: a client that falls behind the
//! channel's capacity is told it lagged and is dropped by its handler.

use crate::api::frame;
use app::model::LiveMessage;
use axum::body::Bytes;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

/// How often the hub says it is alive (DESIGN.md: every 2 seconds).
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);
/// Messages a client may fall behind before it is dropped.
pub const CLIENT_BACKLOG: usize = 1_024;

#[derive(Clone)]
pub struct Hub {
    sender: broadcast::Sender<Bytes>,
    clients: Arc<AtomicUsize>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new(CLIENT_BACKLOG)
    }
}

impl Hub {
    pub fn new(backlog: usize) -> Hub {
        Hub {
            sender: broadcast::channel(backlog).0,
            clients: Arc::new(AtomicUsize::new(0)),
        }
    }

    pub fn publish(&self, message: &LiveMessage) {
        if self.sender.receiver_count() == 0 {
            return; // nobody to serialize for
        }
        let json = serde_json::to_vec(message).expect("live messages serialize");
        // An error only means nobody is listening.
        let _ = self.sender.send(frame::text(&json));
    }

    /// Every message published from now on, as a text frame.
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
