//! The history writer: takes results and status changes off the pipeline
//! and stores them in batches.
//!
//! Batches gather for up to 200 ms after their first write (or 2,048
//! writes), so storing costs one transaction per window, not per result. When the database fails, the writer keeps what it
//! holds and retries with back-off while it goes on draining the queue, so
//! probes never wait for the database; past `MAX_PENDING` the oldest
//! entries are dropped, loudly.

use crate::probe::ProbeResult;
use crate::store::Store;
use crate::tracker::StatusChange;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

pub enum Write {
    Result(ProbeResult),
    Change(StatusChange),
}

/// Writes taken off the queue per batch.
const BATCH: usize = 2_048;
/// How long a batch may gather after its first write. Results reach the
/// page through the hub at once; only their storing waits this long.
const GATHER: std::time::Duration = std::time::Duration::from_millis(200);
/// Writes held while the database is failing before the oldest go.
const MAX_PENDING: usize = 200_000;

pub async fn run(store: Arc<dyn Store>, mut queue: mpsc::Receiver<Write>) {
    let mut results: Vec<ProbeResult> = Vec::new();
    let mut changes: Vec<StatusChange> = Vec::new();
    let mut backoff = Duration::from_millis(100);
    let mut incoming = Vec::with_capacity(BATCH);
    loop {
        let idle = results.is_empty() && changes.is_empty();
        if idle {
            if queue.recv_many(&mut incoming, BATCH).await == 0 {
                return;
            }
            // Let a batch gather: one transaction per window instead of one
            // per result is most of the cost of storing under load.
            let gather = tokio::time::sleep(GATHER);
            tokio::pin!(gather);
            while incoming.len() < BATCH {
                let room = BATCH - incoming.len();
                tokio::select! {
                    _ = &mut gather => break,
                    received = queue.recv_many(&mut incoming, room) => {
                        if received == 0 {
                            break;
                        }
                    }
                }
            }
        } else {
            while incoming.len() < BATCH {
                match queue.try_recv() {
                    Ok(write) => incoming.push(write),
                    Err(_) => break,
                }
            }
        }
        for write in incoming.drain(..) {
            match write {
                Write::Result(r) => results.push(r),
                Write::Change(c) => changes.push(c),
            }
        }

        let stored = store_pending(&*store, &mut results, &mut changes).await;
        if stored {
            backoff = Duration::from_millis(100);
        } else {
            let excess = (results.len() + changes.len()).saturating_sub(MAX_PENDING);
            if excess > 0 {
                tracing::error!(
                    dropped = excess,
                    "database unavailable too long; dropping the oldest probe results"
                );
                results.drain(..excess.min(results.len()));
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }
}

/// True when everything pending was stored.
async fn store_pending(
    store: &dyn Store,
    results: &mut Vec<ProbeResult>,
    changes: &mut Vec<StatusChange>,
) -> bool {
    if !results.is_empty() {
        match store.insert_results(results).await {
            Ok(()) => results.clear(),
            Err(e) => {
                tracing::warn!(error = %e, pending = results.len(), "storing probe results failed; will retry");
                return false;
            }
        }
    }
    if !changes.is_empty() {
        match store.insert_status_changes(changes).await {
            Ok(()) => changes.clear(),
            Err(e) => {
                tracing::warn!(error = %e, pending = changes.len(), "storing status changes failed; will retry");
                return false;
            }
        }
    }
    true
}
