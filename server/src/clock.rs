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
