//! `GET /api/alerts`: every message of every alert to a channel, newest
//! first (docs/api.md, "Alerts").

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One alert's message to one channel, and how its delivery went.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertEntry {
    /// The message's id (pages with `before=`).
    pub id: i64,
    /// When the message was queued.
    pub at: DateTime<Utc>,
    pub alert_id: i64,
    pub service: String,
    /// `down` or `degraded`.
    pub rule: String,
    /// `critical` or `warning`.
    pub severity: String,
    pub channel: String,
    /// `firing`, `resolved` or `renotify`.
    pub event: String,
    /// `pending` (not tried yet), `retrying`, `delivered` or `failed`
    /// (given up after a day).
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// When the next attempt is due, while pending or retrying.
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// The answer of `GET /api/alerts`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertPage {
    pub alerts: Vec<AlertEntry>,
    /// Pass as `before=` for the next, older page; absent at the end.
    pub next_before: Option<i64>,
}

/// The answer of `POST /api/alerts/test` when the message arrived.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChannelTested {
    pub channel: String,
    pub delivered: bool,
}
