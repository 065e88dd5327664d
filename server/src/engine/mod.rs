//! The engine: what runs probes and decides states, apart from storage and
//! the web.
//!
//! - [`scheduler`]: one task per probed service, on its interval, with a
//!   global cap on probes in flight; measures lateness and overruns.
//! - [`push`]: push services, which call Hale, and the watchdog that
//!   reports the silent ones.
//! - [`pipeline`]: the one path of every result and status change, to
//!   the [`board`] (current state, with [`tracker`]'s confirmations), the
//!   live hub, the history [`writer`] and the notifier.

pub mod board;
pub mod pipeline;
pub mod push;
pub mod scheduler;
pub mod tracker;
pub mod writer;
