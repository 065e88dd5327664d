//! # Layout
//!
//! The Hale server: probes, history, the live hub and the HTTP API. The
//! binary (`src/main.rs`) only calls [`memory::cap_arenas`] and [`cli::main`].
//!
//! Leaves first; a module imports only modules above it in this list
//! (`tests/api/layers.rs` checks it):
//!
//! - [`memory`]: the allocator, set up before any thread starts.
//! - [`de`], [`duration`], [`clock`], [`event`]: text values read from
//!   configs, durations as configs write them, the time results are
//!   stamped with, and what flows through Hale (a probe's result, a
//!   service's status change).
//! - [`condition`]: Gatus-style conditions, parsed once.
//! - [`probe`]: one file per kind (target, defaults, probe) and the frame
//!   they share.
//! - [`history`]: buckets, the latency sketch, packed results, retention:
//!   what history is, without a database.
//! - [`config`]: the YAML file, parsed once into typed services with their
//!   targets; errors located by file, line and field.
//! - [`store`]: one trait, SQLite and Postgres implementations, and the
//!   history read from it.
//! - [`auth`]: accounts, roles, sessions, API tokens and the audit log:
//!   who a request is from and what they may do.
//! - [`live`]: the hub that fans live messages out to WebSocket clients.
//! - [`ops`]: `hale check`, diagnostics, and the counters of `/metrics`.
//! - [`engine`]: the scheduler, push services, and the pipeline every
//!   result and status change goes through, to the board, the live hub,
//!   the history writer and the notifier.
//! - [`alert`]: alerting, the pipeline's notifier: rules, the outbox in
//!   the store, and the channels messages are sent to.
//! - [`api`]: the axum router: health, the WebSocket, the JSON APIs and the
//!   Leptos pages from the `app` crate, rendered from the board.
//! - [`runtime`] wires it all; [`cli`] is `hale serve`, `hale validate` and
//!   `hale check`.
//!
//! # Adding a probe kind
//!
//! 1. `src/probe/<kind>.rs`: its target type implementing `probe::Kind`
//!    (schemes, the fields it takes, default conditions, parsing and
//!    validation from the config's fields) and its prober implementing
//!    `probe::KindProber` (what it keeps between probes, and `observe`).
//! 2. One line in the `kinds!` table in `src/probe/mod.rs`.
//! 3. A new config field, if the kind takes one: in `config/raw.rs`, in
//!    `probe::Fields` and in the list of given fields in `config/build.rs`.
//! 4. A line in docs/configuration.md.

pub mod alert;
pub mod api;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod condition;
pub mod config;
pub mod de;
pub mod duration;
pub mod engine;
pub mod event;
pub mod history;
pub mod live;
pub mod memory;
pub mod ops;
pub mod probe;
pub mod runtime;
pub mod store;
