//! Shared by the benchmarks: the fake fleet and process measurements.

#![allow(dead_code)] // each benchmark uses its own subset

pub mod db;
pub mod fleet;
pub mod hale;
pub mod measure;
pub mod report;
