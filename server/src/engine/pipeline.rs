//! The pipeline: every probe result and every status change passes here,
//! and only here, on its way to the rest of Hale.
//!
//! Results come from the scheduler, the push API and the push watchdog;
//! status changes come from the board's reading of those results, and
//! from the runtime when a reload removes services, when Hale stops, and
//! when it repairs the record of an unclean stop. Each is handed, in
//! order, to the subscribers:
//!
//! 1. the [`StatusBoard`] (current state; it decides a result's status
//!    change) and the live [`Hub`] (WebSocket clients);
//! 2. the [`Notifier`]: alerting's slot. It is told, never awaited: a
//!    notifier that has to send does so from its own task;
//! 3. the history writer's queue ([`super::writer`], batched storing).
//!
//! Nothing else publishes to the hub or stores a status change, so a new
//! subscriber is added here once and sees everything.
//!
//! The pipeline runs in the caller's task, under one lock, rather than as
//! a task of its own behind a channel: none of its steps waits, and a
//! hop through a channel to another task (and another to the writer's)
//! cost each probe two thread wake-ups, most of the pipeline's CPU at a
//! realistic rate (docs/benchmarks.md).

use super::board::StatusBoard;
use super::writer::{Write, WriteQueue};
use crate::event::{ProbeResult, StatusChange};
use crate::live::hub::Hub;
use crate::ops::telemetry::ProbeStats;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use wire::LiveMessage;

/// The pipeline was stopped: nothing takes events any more.
#[derive(Debug, PartialEq, Eq)]
pub struct Closed;

/// What takes results and changes: the pipeline, or a test's channel.
pub trait Sink: Send + Sync + 'static {
    fn result(&self, result: ProbeResult) -> Result<(), Closed>;
    fn changes(&self, changes: Vec<StatusChange>) -> Result<(), Closed>;
}

/// Where results and changes are sent; clones share one pipeline.
#[derive(Clone)]
pub struct Events(Arc<dyn Sink>);

/// What a test's channel receives.
#[derive(Debug)]
pub enum Event {
    Result(ProbeResult),
    Changes(Vec<StatusChange>),
}

impl Events {
    pub fn new(sink: Arc<dyn Sink>) -> Events {
        Events(sink)
    }

    /// Events that go into a channel, for tests of what sends them.
    pub fn channel() -> (Events, mpsc::UnboundedReceiver<Event>) {
        struct Channel(mpsc::UnboundedSender<Event>);
        impl Sink for Channel {
            fn result(&self, result: ProbeResult) -> Result<(), Closed> {
                self.0.send(Event::Result(result)).map_err(|_| Closed)
            }
            fn changes(&self, changes: Vec<StatusChange>) -> Result<(), Closed> {
                self.0.send(Event::Changes(changes)).map_err(|_| Closed)
            }
        }
        let (tx, rx) = mpsc::unbounded_channel();
        (Events(Arc::new(Channel(tx))), rx)
    }

    pub fn result(&self, result: ProbeResult) -> Result<(), Closed> {
        self.0.result(result)
    }

    pub fn changes(&self, changes: Vec<StatusChange>) -> Result<(), Closed> {
        if changes.is_empty() {
            return Ok(());
        }
        self.0.changes(changes)
    }
}

/// Alerting's place in the pipeline: told of every status change and
/// every result, in order. Implementations must return at once (queue the
/// work, don't do it here).
pub trait Notifier: Send + Sync + 'static {
    fn status_changed(&self, change: &StatusChange);
    fn probed(&self, _result: &ProbeResult) {}
}

/// A notifier that tells nobody (tests that watch nothing).
pub struct Silent;

impl Notifier for Silent {
    fn status_changed(&self, _: &StatusChange) {}
}

/// Several notifiers, told in order: alerting, and a test's watcher.
pub struct Notifiers(pub Vec<Arc<dyn Notifier>>);

impl Notifier for Notifiers {
    fn status_changed(&self, change: &StatusChange) {
        for notifier in &self.0 {
            notifier.status_changed(change);
        }
    }

    fn probed(&self, result: &ProbeResult) {
        for notifier in &self.0 {
            notifier.probed(result);
        }
    }
}

/// The subscribers.
pub struct Pipeline {
    pub board: Arc<StatusBoard>,
    pub hub: Hub,
    pub writes: WriteQueue,
    pub notifier: Arc<dyn Notifier>,
    pub stats: Arc<ProbeStats>,
    /// Held while one event is handed on, so every subscriber sees events
    /// in one order.
    order: Mutex<()>,
    open: AtomicBool,
}

impl Pipeline {
    pub fn new(
        board: Arc<StatusBoard>,
        hub: Hub,
        writes: WriteQueue,
        notifier: Arc<dyn Notifier>,
        stats: Arc<ProbeStats>,
    ) -> Arc<Pipeline> {
        Arc::new(Pipeline {
            board,
            hub,
            writes,
            notifier,
            stats,
            order: Mutex::new(()),
            open: AtomicBool::new(true),
        })
    }

    /// Hale stops: takes nothing more, records every known service as
    /// unknown from `at`, and lets the writer finish what it holds. One
    /// step under the order lock, so no push slips in between the
    /// "Hale stopped" changes and the writer's end.
    pub fn stop(&self, at: chrono::DateTime<chrono::Utc>) {
        let _order = self.order.lock().expect("pipeline lock");
        self.open.store(false, Ordering::Release);
        for change in self.board.mark_stopped(at) {
            self.change(change);
        }
        self.writes.close();
    }

    fn change(&self, change: StatusChange) {
        tracing::info!(service = %change.service, from = %change.from, to = %change.to, cause = %change.cause, "status change");
        self.hub.publish(&change.to_message());
        self.notifier.status_changed(&change);
        self.writes.push(Write::Change(change));
    }
}

impl Sink for Pipeline {
    fn result(&self, mut result: ProbeResult) -> Result<(), Closed> {
        // A message is the probe's or a pusher's text: bounded here, so
        // one long answer cannot outgrow a live page's write buffer or a
        // stored row.
        crate::event::cap_message(&mut result.message);
        // Made before the lock, which is held only to hand events on.
        let event = result.to_event();
        let _order = self.order.lock().expect("pipeline lock");
        if !self.open.load(Ordering::Acquire) {
            return Err(Closed);
        }
        // A service a reload removed while its probe ran: its result goes
        // nowhere, so nothing is stored after its "removed" change.
        let Ok(change) = self.board.record(&event) else {
            return Ok(());
        };
        self.stats
            .record(&result.service, result.success, result.latency);
        self.hub.publish(&LiveMessage::Probe(event));
        self.notifier.probed(&result);
        if let Some(change) = change {
            self.change(change);
        }
        self.writes.push(Write::Result(result));
        Ok(())
    }

    fn changes(&self, changes: Vec<StatusChange>) -> Result<(), Closed> {
        let _order = self.order.lock().expect("pipeline lock");
        if !self.open.load(Ordering::Acquire) {
            return Err(Closed);
        }
        for change in changes {
            self.change(change);
        }
        Ok(())
    }
}
