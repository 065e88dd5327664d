//! Counters for `/metrics`: probes by service and outcome with their
//! latency, and the history writer's store latency. Lock-free on the hot
//! path once a service has its counters.

use crate::histogram::Histogram;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// One service's probe counters.
#[derive(Default)]
pub struct ServiceCounters {
    pub successes: AtomicU64,
    pub failures: AtomicU64,
    pub latency: Histogram,
}

/// Probe counters of every service that has probed in this run.
#[derive(Default)]
pub struct ProbeStats {
    services: RwLock<HashMap<String, Arc<ServiceCounters>>>,
}

impl ProbeStats {
    pub fn record(&self, service: &str, success: bool, latency: Duration) {
        let existing = self
            .services
            .read()
            .expect("probe stats lock")
            .get(service)
            .cloned();
        let counters = match existing {
            Some(c) => c,
            None => self
                .services
                .write()
                .expect("probe stats lock")
                .entry(service.to_string())
                .or_default()
                .clone(),
        };
        let outcome = if success {
            &counters.successes
        } else {
            &counters.failures
        };
        outcome.fetch_add(1, Ordering::Relaxed);
        counters.latency.record(latency);
    }

    pub fn get(&self, service: &str) -> Option<Arc<ServiceCounters>> {
        self.services
            .read()
            .expect("probe stats lock")
            .get(service)
            .cloned()
    }
}

/// How the history writer fares.
#[derive(Default)]
pub struct WriteStats {
    /// Time per batch insert.
    pub latency: Histogram,
    pub rows: AtomicU64,
    pub failures: AtomicU64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_are_counted_per_service_and_outcome() {
        let stats = ProbeStats::default();
        stats.record("api", true, Duration::from_millis(5));
        stats.record("api", false, Duration::from_millis(50));
        stats.record("web", true, Duration::from_millis(1));
        let api = stats.get("api").unwrap();
        assert_eq!(api.successes.load(Ordering::Relaxed), 1);
        assert_eq!(api.failures.load(Ordering::Relaxed), 1);
        assert_eq!(api.latency.snapshot().count(), 2);
        assert!(stats.get("db").is_none());
    }
}
