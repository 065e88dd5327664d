//! Shared by the benchmarks: the fake fleet and process measurements.

#![allow(dead_code)] // each benchmark uses its own subset

pub mod args;
pub mod db;
pub mod engine;
pub mod fleet;
pub mod floor;
pub mod hale;
pub mod measure;
pub mod report;

/// A benchmark's `main`: the fake fleet or the floor's reader when asked to
/// be one (the child processes `fleet::Fleet::spawn` and `floor::measure`
/// start), else `run` on two worker threads with the open-files limit
/// raised.
pub fn main<F: std::future::Future<Output = ()>>(run: impl FnOnce() -> F) {
    if std::env::args().any(|a| a == fleet::FLAG) {
        return fleet::serve_forever();
    }
    if std::env::args().any(|a| a == floor::FLAG) {
        return floor::read_forever();
    }
    // As `hale serve` does first thing, so in-process benchmarks measure
    // Hale's allocator set-up.
    server::memory::cap_arenas();
    measure::raise_fd_limit();
    println!("machine: {}", measure::machine());
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(run());
}
