//! The history writer: takes results and status changes off the pipeline
//! and stores them in batches.
//!
//! Batches gather for up to 200 ms after their first write (or 2,048
//! writes), so storing costs one transaction per window, not per result.
//! When the database fails, the writer keeps what it holds and retries with
//! back-off, and it goes on draining the queue while it waits, so probes
//! never wait for the database. Past `MAX_PENDING` the oldest results are
//! dropped, loudly; status changes (few, and the record of every outage)
//! are stored first and kept longest.

use crate::event::ProbeResult;
use crate::event::StatusChange;
use crate::ops::telemetry::WriteStats;
use crate::store::Store;
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
const GATHER: Duration = Duration::from_millis(200);
/// Writes held while the database is failing before the oldest go.
const MAX_PENDING: usize = 200_000;

#[derive(Default)]
struct Pending {
    results: Vec<ProbeResult>,
    changes: Vec<StatusChange>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.results.is_empty() && self.changes.is_empty()
    }

    fn take(&mut self, writes: &mut Vec<Write>) {
        for write in writes.drain(..) {
            match write {
                Write::Result(r) => self.results.push(r),
                Write::Change(c) => self.changes.push(c),
            }
        }
    }

    /// Keeps at most `MAX_PENDING`, dropping the oldest results first.
    fn cap(&mut self) {
        let excess = (self.results.len() + self.changes.len()).saturating_sub(MAX_PENDING);
        if excess == 0 {
            return;
        }
        let results = excess.min(self.results.len());
        self.results.drain(..results);
        let changes = excess - results;
        self.changes.drain(..changes);
        tracing::error!(
            dropped_results = results,
            dropped_changes = changes,
            "database unavailable too long; dropped the oldest history"
        );
    }

    /// Stores what it can; true when nothing is left.
    async fn store(&mut self, store: &dyn Store, stats: &WriteStats) -> bool {
        if !self.changes.is_empty() {
            match store.insert_status_changes(&self.changes).await {
                Ok(()) => self.changes.clear(),
                Err(e) => {
                    tracing::warn!(error = %e, pending = self.changes.len(), "storing status changes failed; will retry");
                    return false;
                }
            }
        }
        if !self.results.is_empty() {
            let started = std::time::Instant::now();
            let outcome = store.insert_results(&self.results).await;
            let stored = outcome.is_ok().then_some(self.results.len() as u64);
            stats.record_batch(started.elapsed(), stored);
            match outcome {
                Ok(()) => self.results.clear(),
                Err(e) => {
                    tracing::warn!(error = %e, pending = self.results.len(), "storing probe results failed; will retry");
                    return false;
                }
            }
        }
        true
    }
}

/// Takes what arrives within `window` (at most `BATCH`); false once the
/// queue is closed and empty.
async fn gather(
    queue: &mut mpsc::Receiver<Write>,
    incoming: &mut Vec<Write>,
    window: Duration,
) -> bool {
    let deadline = tokio::time::sleep(window);
    tokio::pin!(deadline);
    while incoming.len() < BATCH {
        let room = BATCH - incoming.len();
        tokio::select! {
            _ = &mut deadline => return true,
            received = queue.recv_many(incoming, room) => {
                if received == 0 {
                    return false;
                }
            }
        }
    }
    true
}

pub async fn run(store: Arc<dyn Store>, mut queue: mpsc::Receiver<Write>, stats: Arc<WriteStats>) {
    let mut pending = Pending::default();
    let mut incoming = Vec::with_capacity(BATCH);
    let mut backoff = Duration::from_millis(100);
    let mut open = true;
    loop {
        if pending.is_empty() {
            if !open || queue.recv_many(&mut incoming, BATCH).await == 0 {
                return;
            }
            open = gather(&mut queue, &mut incoming, GATHER).await;
        }
        pending.take(&mut incoming);
        if pending.store(&*store, &stats).await {
            backoff = Duration::from_millis(100);
            continue;
        }
        // The database is failing: wait, but keep taking writes meanwhile
        // so nothing upstream blocks on a full queue.
        if open {
            open = gather(&mut queue, &mut incoming, backoff).await;
        } else {
            tokio::time::sleep(backoff).await;
        }
        pending.take(&mut incoming);
        pending.cap();
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreError;
    use async_trait::async_trait;
    use std::sync::Mutex;
    use wire::ServiceStatus;

    /// A store that fails its first `failures` calls, then records.
    #[derive(Default)]
    struct Flaky {
        failures: Mutex<u32>,
        results: Mutex<Vec<ProbeResult>>,
        changes: Mutex<Vec<StatusChange>>,
    }

    impl Flaky {
        fn fail(&self) -> Result<(), StoreError> {
            let mut left = self.failures.lock().unwrap();
            if *left > 0 {
                *left -= 1;
                return Err(StoreError::Corrupt("down".into()));
            }
            Ok(())
        }
    }

    #[async_trait]
    impl Store for Flaky {
        fn backend(&self) -> &'static str {
            "flaky"
        }
        async fn ping(&self) -> Result<(), StoreError> {
            Ok(())
        }
        async fn insert_results(&self, results: &[ProbeResult]) -> Result<(), StoreError> {
            self.fail()?;
            self.results.lock().unwrap().extend_from_slice(results);
            Ok(())
        }
        async fn insert_status_changes(&self, changes: &[StatusChange]) -> Result<(), StoreError> {
            self.fail()?;
            self.changes.lock().unwrap().extend_from_slice(changes);
            Ok(())
        }
        async fn latest_results(&self) -> Result<Vec<ProbeResult>, StoreError> {
            Ok(vec![])
        }
        async fn recent_results(&self, _: &str, _: u32) -> Result<Vec<ProbeResult>, StoreError> {
            Ok(vec![])
        }
        async fn latest_status_changes(&self) -> Result<Vec<StatusChange>, StoreError> {
            Ok(vec![])
        }
        async fn recent_status_changes(
            &self,
            _: &str,
            _: u32,
        ) -> Result<Vec<StatusChange>, StoreError> {
            Ok(vec![])
        }
        // The writer only appends; reading history is not its business.
        async fn roll_up(
            &self,
            _: &crate::history::RollupPlan,
        ) -> Result<crate::history::RollupReport, StoreError> {
            Ok(Default::default())
        }
        async fn read_history(
            &self,
            _: &crate::store::HistoryRead,
        ) -> Result<crate::store::HistoryData, StoreError> {
            Ok(Default::default())
        }
        async fn results_between(
            &self,
            _: &str,
            _: i64,
            _: i64,
            _: u32,
        ) -> Result<Vec<ProbeResult>, StoreError> {
            Ok(vec![])
        }
        async fn storage_bytes(&self) -> Result<u64, StoreError> {
            Ok(0)
        }
        async fn close(&self) {}
    }

    fn result(i: u32) -> ProbeResult {
        ProbeResult {
            service: Arc::from(format!("s{i}")),
            checked_at: crate::clock::now(),
            success: true,
            latency: Duration::from_millis(u64::from(i)),
            status_code: Some(200),
            message: "HTTP 200".into(),
            conditions: vec![],
            region: None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_outage_loses_nothing_and_never_blocks_the_queue() {
        let store = Arc::new(Flaky {
            failures: Mutex::new(5),
            ..Flaky::default()
        });
        // A queue far smaller than what arrives during the outage: if the
        // writer stopped draining while it backs off, sends would block.
        let (tx, rx) = mpsc::channel(8);
        let writer = tokio::spawn(run(store.clone(), rx, Arc::default()));
        tx.send(Write::Change(StatusChange {
            service: "s0".into(),
            from: ServiceStatus::Unknown,
            to: ServiceStatus::Down,
            at: crate::clock::now(),
            cause: "first check failed".into(),
        }))
        .await
        .unwrap();
        for i in 0..500 {
            tokio::time::timeout(Duration::from_secs(1), tx.send(Write::Result(result(i))))
                .await
                .expect("the queue keeps moving during the outage")
                .unwrap();
        }
        drop(tx);
        writer.await.unwrap();
        let results = store.results.lock().unwrap();
        assert_eq!(results.len(), 500, "every result stored once");
        let order: Vec<_> = results.iter().map(|r| r.latency.as_millis()).collect();
        assert_eq!(order, (0..500).collect::<Vec<_>>(), "in order");
        assert_eq!(store.changes.lock().unwrap().len(), 1);
    }

    #[test]
    fn the_cap_drops_oldest_results_before_changes() {
        let mut pending = Pending {
            results: (0..(MAX_PENDING as u32 + 10)).map(result).collect(),
            ..Pending::default()
        };
        pending.changes.push(StatusChange {
            service: "s".into(),
            from: ServiceStatus::Operational,
            to: ServiceStatus::Down,
            at: crate::clock::now(),
            cause: "x".into(),
        });
        pending.cap();
        assert_eq!(pending.results.len() + pending.changes.len(), MAX_PENDING);
        assert_eq!(pending.changes.len(), 1);
        assert_eq!(pending.results[0].latency, Duration::from_millis(11));
    }
}
