//! What operators run and read besides the page: `hale check`
//! ([`check`]), `hale user` and `hale api-token` ([`accounts`]), `hale
//! backup` ([`backup`]), on-demand
//! [`diagnostics`] of a service, `hale import uptime-kuma` ([`kuma`]),
//! and the counters
//! behind `/metrics` ([`telemetry`], with the [`histogram`] of lateness
//! and latency).

pub mod accounts;
pub mod backup;
pub mod check;
pub mod diagnostics;
pub mod histogram;
pub mod kuma;
pub mod telemetry;
