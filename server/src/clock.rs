//! The time Hale stamps results and changes with.
//!
//! Wall-clock time, at the millisecond precision the store keeps, so a
//! result read back equals the one written. Intervals, timeouts and
//! heartbeats run on tokio's clock instead (`tokio::time`), which tests
//! pause and advance.

use chrono::{DateTime, SubsecRound, Utc};

/// Now, to the millisecond.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(3)
}

/// Now in milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    now().timestamp_millis()
}

/// Wall-clock time that tests can set: the real clock, or a manual one
/// they move forward (session and token expiry).
#[derive(Clone, Debug, Default)]
pub struct WallClock(Option<std::sync::Arc<std::sync::atomic::AtomicI64>>);

impl WallClock {
    /// A clock that stands at `start_ms` until moved.
    pub fn manual(start_ms: i64) -> WallClock {
        WallClock(Some(std::sync::Arc::new(start_ms.into())))
    }

    /// Moves a manual clock forward (a real one can't be moved).
    pub fn advance(&self, by: std::time::Duration) {
        if let Some(ms) = &self.0 {
            let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
            ms.fetch_add(by, std::sync::atomic::Ordering::SeqCst);
        }
    }

    pub fn now_ms(&self) -> i64 {
        match &self.0 {
            Some(ms) => ms.load(std::sync::atomic::Ordering::SeqCst),
            None => now_ms(),
        }
    }
}
