//! Shared by the benchmarks: the fake fleet and process measurements.

#![allow(dead_code)] // each benchmark uses its own subset

pub mod fleet;
pub mod measure;
