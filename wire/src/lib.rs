//! # Layout
//!
//! Every type that crosses the wire, defined once: the status page's
//! snapshot and the WebSocket messages (read by the browser), and the JSON
//! answers of the API (read by scripts and by the pages). No Leptos: the
//! server's engine and store use these types without the web app.
//!
//! - [`status`]: a service's status and the error-rate bands;
//! - [`page`]: what a status page shows;
//! - [`figures`]: a service's figures over a window, its detail page;
//! - [`live`]: the WebSocket messages;
//! - [`api`]: the answers of `/api/metrics…` and the history API;
//! - [`report`]: the health report;
//! - [`diagnosis`]: `hale check`'s figures and a service's diagnosis;
//! - [`account`]: roles, who is signed in, tokens and the audit log;
//! - [`alert`]: the alerts' messages and their delivery.

pub mod account;
pub mod alert;
pub mod api;
pub mod diagnosis;
pub mod figures;
pub mod live;
pub mod page;
pub mod report;
pub mod status;

pub use figures::*;
pub use live::*;
pub use page::*;
pub use status::*;
