//! # Layout
//!
//! The Hale server: probes, history, the live hub and the HTTP API. The
//! binary (`src/main.rs`) only calls [`cli::main`].
//!
//! Data flows top to bottom:
//!
//! - [`config`]: the YAML file, parsed once into typed values (with
//!   [`condition`]s), errors located by file, line and field.
//! - [`scheduler`]: one task per service, spread over its interval, capped
//!   by a global semaphore; runs [`probe`]s (HTTP and TCP, by URL scheme)
//!   and measures each probe's lateness in a [`histogram`]. [`push`]
//!   services are the other way round: they call Hale, and a watchdog
//!   reports the ones that fall silent.
//! - [`runtime`]: the pipeline that takes each [`probe::ProbeResult`] to the
//!   [`board`] (current state, with [`tracker`]'s confirmation thresholds),
//!   the [`hub`] (live broadcast: messages framed once, probe results
//!   gathered for half a second) and the [`writer`] (batched history).
//! - [`store`]: one trait, SQLite and Postgres implementations.
//! - [`api`]: the axum router — health, the WebSocket (Hale's own server
//!   side, `api::websocket`), and the Leptos pages from the `app` crate,
//!   rendered from the board.
//! - [`cli`]: `hale serve` and `hale validate`.

pub mod api;
pub mod board;
pub mod check;
pub mod cli;
pub mod condition;
pub mod config;
pub mod diagnostics;
pub mod histogram;
pub mod history;
pub mod hub;
pub mod probe;
pub mod push;
pub mod runtime;
pub mod scheduler;
pub mod store;
pub mod telemetry;
pub mod tracker;
pub mod writer;
