//! The pipeline: every probe result and every status change passes here,
//! and only here, on its way to the rest of Hale.
//!
//! Results come from the scheduler, the push API and the push watchdog;
//! status changes come from the board's reading of those results, and
//! from the runtime when a reload removes services, when Hale stops, and
//! when it repairs the record of an unclean stop. One task takes them in
//! the order they were sent and hands each to the subscribers:
//!
//! 1. the [`StatusBoard`] (current state; it decides a result's status
//!    change) and the live [`Hub`] (WebSocket clients);
//! 2. the history writer ([`super::writer`], batched storing);
//! 3. the [`Notifier`]: alerting's slot. It is told, never awaited: a
//!    notifier that has to send does so from its own task.
//!
//! Nothing else publishes to the hub or stores a status change, so a new
//! subscriber is added here once and sees everything.

use super::board::StatusBoard;
use super::writer::Write;
use crate::event::{ProbeResult, StatusChange};
use crate::live::hub::Hub;
use crate::ops::telemetry::ProbeStats;
use std::sync::Arc;
use tokio::sync::mpsc;
use wire::LiveMessage;

/// What goes through the pipeline.
#[derive(Debug)]
pub enum Event {
    /// A probe's or a push's result; the board decides whether it changes
    /// the service's status.
    Result(ProbeResult),
    /// Changes decided outside the board's reading of results (a reload, a
    /// stop, an unclean stop repaired), already applied to the board.
    Changes(Vec<StatusChange>),
}

/// The pipeline was stopped: nothing takes events any more.
#[derive(Debug, PartialEq, Eq)]
pub struct Closed;

/// Where results and changes are sent; clones share one queue, in order.
#[derive(Clone, Debug)]
pub struct Events(mpsc::Sender<Event>);

/// An [`Events`] that does not keep the pipeline running (held by the API,
/// so that shutdown can close the queue).
#[derive(Clone, Debug)]
pub struct WeakEvents(mpsc::WeakSender<Event>);

/// Events queued before the pipeline task applies back-pressure.
pub const QUEUE: usize = 8_192;

impl Events {
    /// A queue and its receiving end, for [`Pipeline::run`] (or a test).
    pub fn channel(capacity: usize) -> (Events, mpsc::Receiver<Event>) {
        let (tx, rx) = mpsc::channel(capacity);
        (Events(tx), rx)
    }

    pub async fn result(&self, result: ProbeResult) -> Result<(), Closed> {
        self.0.send(Event::Result(result)).await.map_err(|_| Closed)
    }

    pub async fn changes(&self, changes: Vec<StatusChange>) -> Result<(), Closed> {
        if changes.is_empty() {
            return Ok(());
        }
        self.0
            .send(Event::Changes(changes))
            .await
            .map_err(|_| Closed)
    }

    pub fn downgrade(&self) -> WeakEvents {
        WeakEvents(self.0.downgrade())
    }
}

impl WeakEvents {
    /// The queue, while the pipeline runs.
    pub fn upgrade(&self) -> Option<Events> {
        self.0.upgrade().map(Events)
    }
}

/// Alerting's place in the pipeline: told of every status change and
/// every result, in order, from the pipeline's task. Implementations must
/// return at once (queue the work, don't do it here).
pub trait Notifier: Send + Sync + 'static {
    fn status_changed(&self, change: &StatusChange);
    fn probed(&self, _result: &ProbeResult) {}
}

/// The notifier until alerting exists: tells nobody.
pub struct Silent;

impl Notifier for Silent {
    fn status_changed(&self, _: &StatusChange) {}
}

/// The subscribers, and the task that feeds them.
pub struct Pipeline {
    pub board: Arc<StatusBoard>,
    pub hub: Hub,
    pub writes: mpsc::Sender<Write>,
    pub notifier: Arc<dyn Notifier>,
    pub stats: Arc<ProbeStats>,
}

impl Pipeline {
    /// Feeds every event to the subscribers until every [`Events`] is
    /// dropped; then the writer's queue closes too, so it flushes and ends.
    pub async fn run(self, mut events: mpsc::Receiver<Event>) {
        while let Some(event) = events.recv().await {
            match event {
                Event::Result(result) => self.result(result).await,
                Event::Changes(changes) => {
                    for change in changes {
                        self.change(change).await;
                    }
                }
            }
        }
    }

    async fn result(&self, result: ProbeResult) {
        let event = result.to_event();
        // A service a reload removed while its probe ran: its result goes
        // nowhere, so nothing is stored after its "removed" change.
        let Ok(change) = self.board.record(&event) else {
            return;
        };
        self.stats
            .record(&result.service, result.success, result.latency);
        self.hub.publish(&LiveMessage::Probe(event));
        self.notifier.probed(&result);
        if let Some(change) = change {
            self.change(change).await;
        }
        // Status changes are queued before the result that caused them:
        // the writer stores them first anyway.
        let _ = self.writes.send(Write::Result(result)).await;
    }

    async fn change(&self, change: StatusChange) {
        tracing::info!(service = %change.service, from = %change.from, to = %change.to, cause = %change.cause, "status change");
        self.hub.publish(&change.to_message());
        self.notifier.status_changed(&change);
        let _ = self.writes.send(Write::Change(change)).await;
    }
}
