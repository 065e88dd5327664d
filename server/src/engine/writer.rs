//! The history writer: takes results and status changes from the
//! pipeline and stores them in batches.
//!
//! The pipeline leaves its writes in a shared queue ([`WriteQueue`]); the
//! writer takes everything there once a second (sooner when 2,048 are
//! waiting), so storing costs one transaction per second (two when status
//! changes are among them), not one per result,
//! and a result costs no wake-up of the writer's task: at 50 probes a
//! second the writer's wake-ups and its five transactions a second were a
//! measurable share of a probe's CPU (docs/benchmarks.md). When the
//! database fails, the writer keeps what it holds and retries with
//! back-off, while the queue goes on taking writes, so probes never wait
//! for the database. Past `MAX_PENDING` the oldest results are dropped,
//! loudly; status changes (few, and the record of every outage) are stored
//! first and kept longest.

use crate::event::ProbeResult;
use crate::event::StatusChange;
use crate::ops::telemetry::WriteStats;
use crate::store::Store;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

pub enum Write {
    Result(ProbeResult),
    Change(StatusChange),
}

/// Writes that make the writer store at once rather than at its tick.
const BATCH: usize = 2_048;
/// How often the writer stores what was left for it. Results reach the
/// page through the hub at once; only their storing waits this long.
const GATHER: Duration = Duration::from_secs(1);
/// Writes held while the database is failing before the oldest go.
const MAX_PENDING: usize = 200_000;

/// Where the pipeline leaves writes; clones share it.
#[derive(Clone, Default)]
pub struct WriteQueue(Arc<Shared>);

#[derive(Default)]
struct Shared {
    waiting: Mutex<Pending>,
    wake: Notify,
    closed: AtomicBool,
}

impl WriteQueue {
    pub fn push(&self, write: Write) {
        let full = {
            let mut waiting = self.0.waiting.lock().expect("write queue lock");
            waiting.add(write);
            // While the writer waits on a slow or failing database, the
            // queue is bounded too (trimmed in steps, not per write).
            if waiting.len() >= MAX_PENDING + MAX_PENDING / 8 {
                waiting.cap();
            }
            waiting.len() >= BATCH
        };
        if full {
            self.0.wake.notify_one();
        }
    }

    /// Nothing more comes: the writer stores what is left and ends.
    pub fn close(&self) {
        self.0.closed.store(true, Ordering::Release);
        self.0.wake.notify_one();
    }

    fn take(&self) -> Pending {
        std::mem::take(&mut *self.0.waiting.lock().expect("write queue lock"))
    }
}

#[derive(Default)]
struct Pending {
    results: Vec<ProbeResult>,
    changes: Vec<StatusChange>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.results.is_empty() && self.changes.is_empty()
    }

    fn len(&self) -> usize {
        self.results.len() + self.changes.len()
    }

    fn add(&mut self, write: Write) {
        match write {
            Write::Result(r) => self.results.push(r),
            Write::Change(c) => self.changes.push(c),
        }
    }

    /// Adds newer writes after these.
    fn append(&mut self, mut newer: Pending) {
        self.results.append(&mut newer.results);
        self.changes.append(&mut newer.changes);
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

pub async fn run(store: Arc<dyn Store>, queue: WriteQueue, stats: Arc<WriteStats>) {
    let mut pending = Pending::default();
    let mut backoff = Duration::from_millis(100);
    loop {
        let closed = queue.0.closed.load(Ordering::Acquire);
        if !closed {
            // A full batch wakes the writer early, but not while it backs
            // off from a failing database; closing always does.
            let failing = !pending.is_empty();
            let deadline = tokio::time::Instant::now() + if failing { backoff } else { GATHER };
            loop {
                tokio::select! {
                    _ = tokio::time::sleep_until(deadline) => break,
                    _ = queue.0.wake.notified() => {
                        if !failing || queue.0.closed.load(Ordering::Acquire) {
                            break;
                        }
                    }
                }
            }
        }
        pending.append(queue.take());
        pending.cap();
        if pending.is_empty() {
            if closed {
                return;
            }
            continue;
        }
        if pending.store(&*store, &stats).await {
            backoff = Duration::from_millis(100);
        } else {
            // The database is failing: wait longer each time; the queue
            // goes on taking writes meanwhile.
            backoff = (backoff * 2).min(Duration::from_secs(5));
            if closed {
                tokio::time::sleep(backoff).await;
            }
        }
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
        batches: Mutex<u32>,
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
            *self.batches.lock().unwrap() += 1;
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
        fn accounts(&self) -> &dyn crate::store::accounts::AccountStore {
            unreachable!("the writer keeps no accounts")
        }
        fn alerts(&self) -> &dyn crate::store::alerts::AlertStore {
            unreachable!("the writer keeps no alerts")
        }
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
            certificate_expiration: None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_outage_loses_nothing_and_never_blocks_the_queue() {
        let store = Arc::new(Flaky {
            failures: Mutex::new(5),
            ..Flaky::default()
        });
        let queue = WriteQueue::default();
        let writer = tokio::spawn(run(store.clone(), queue.clone(), Arc::default()));
        queue.push(Write::Change(StatusChange {
            service: "s0".into(),
            from: ServiceStatus::Unknown,
            to: ServiceStatus::Down,
            at: crate::clock::now(),
            cause: "first check failed".into(),
        }));
        // Results keep arriving through the outage (pushing never waits),
        // some while the writer backs off.
        for i in 0..500 {
            queue.push(Write::Result(result(i)));
            if i % 50 == 0 {
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
        queue.close();
        writer.await.unwrap();
        let results = store.results.lock().unwrap();
        assert_eq!(results.len(), 500, "every result stored once");
        let order: Vec<_> = results.iter().map(|r| r.latency.as_millis()).collect();
        assert_eq!(order, (0..500).collect::<Vec<_>>(), "in order");
        assert_eq!(store.changes.lock().unwrap().len(), 1);
        assert_eq!(*store.failures.lock().unwrap(), 0, "the outage happened");
    }

    #[tokio::test(start_paused = true)]
    async fn writes_are_stored_once_a_second_together_or_at_once_when_many() {
        let store = Arc::new(Flaky::default());
        let queue = WriteQueue::default();
        let _writer = tokio::spawn(run(store.clone(), queue.clone(), Arc::default()));
        let start = tokio::time::Instant::now();
        for i in 0..10 {
            queue.push(Write::Result(result(i)));
        }
        // A tick stores them, together.
        while store.results.lock().unwrap().len() < 10 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(start.elapsed() <= GATHER + Duration::from_millis(10));
        assert_eq!(*store.batches.lock().unwrap(), 1);
        // A full batch goes at once.
        let full = tokio::time::Instant::now();
        for i in 0..BATCH as u32 {
            queue.push(Write::Result(result(i)));
        }
        while store.results.lock().unwrap().len() < 10 + BATCH {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert!(
            full.elapsed() < Duration::from_millis(10),
            "{:?}",
            full.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_batch_does_not_cut_the_back_off_short() {
        let store = Arc::new(Flaky {
            failures: Mutex::new(1_000),
            ..Flaky::default()
        });
        let queue = WriteQueue::default();
        let _writer = tokio::spawn(run(store.clone(), queue.clone(), Arc::default()));
        queue.push(Write::Result(result(0)));
        let attempts = || 1_000 - *store.failures.lock().unwrap();
        while attempts() == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let failed_at = tokio::time::Instant::now();
        for i in 0..2 * BATCH as u32 {
            queue.push(Write::Result(result(i)));
        }
        while attempts() == 1 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert!(
            // The back-off after a first failure is 200 ms; woken by the
            // batch, the writer would retry at once.
            failed_at.elapsed() >= Duration::from_millis(150),
            "retried after {:?}",
            failed_at.elapsed()
        );
    }

    #[test]
    fn the_queue_stays_bounded_while_the_writer_waits() {
        let queue = WriteQueue::default();
        for i in 0..(MAX_PENDING + MAX_PENDING / 4) as u32 {
            queue.push(Write::Result(result(i)));
        }
        let waiting = queue.take();
        assert!(
            waiting.len() < MAX_PENDING + MAX_PENDING / 8,
            "{}",
            waiting.len()
        );
        // The newest are the ones kept.
        let last = waiting.results.last().unwrap().latency;
        assert_eq!(
            last,
            Duration::from_millis((MAX_PENDING + MAX_PENDING / 4 - 1) as u64)
        );
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
