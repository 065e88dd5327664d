//! `--history`: Kuma's heartbeats into Hale's store, so the uptime bars
//! and windows show the months before the move.
//!
//! Each heartbeat of an imported monitor becomes a result of its service:
//! up (1) a success, down (0) and pending (2, a failed check Kuma was
//! still retrying) failures, with Kuma's time, ping as the latency and
//! message (`200 - OK` gives the status code too). A maintenance beat (3)
//! judged nothing, so it is no result: the service is `maintenance` from
//! it on, as a status change. Changes follow the beats (up operational,
//! down down, pending keeps the state before it) and end `unknown` at the
//! last beat, as when Hale stops. Only the beats Hale's hourly retention
//! keeps (the last 90 days by default) are read: a roll-up drops older
//! hours without counting them into days. The store's roll-up then runs,
//! so the results sit in hourly and daily buckets as if Hale had taken
//! them. A service that already has history in the store is left alone,
//! so running the import twice adds nothing.

use super::db::{Beat, KumaDb, KumaError};
use super::plan::Plan;
use crate::config::Config;
use crate::event::{cap_message, ProbeResult, StatusChange};
use crate::history::{floor_to, Resolution, RollupPlan, RollupReport, DAY_MS, DEFAULT_CAP_MS};
use crate::store::{Store, StoreError};
use chrono::{DateTime, SubsecRound, Utc};
use std::sync::Arc;
use std::time::Duration;
use wire::ServiceStatus;

/// Results per insert: one transaction each.
const BATCH: usize = 5_000;

/// How long after an hour ends `hale serve` rolls it up (as its
/// roll-up does): results of the last minutes stay hot until then.
const ROLLUP_GRACE_MS: i64 = 2 * 60_000;

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error(transparent)]
    Kuma(#[from] KumaError),
    #[error("writing Hale's store: {0}")]
    Store(#[from] StoreError),
}

/// What was brought over for one service.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServiceHistory {
    pub name: String,
    pub kuma_id: i64,
    pub results: u64,
    pub successes: u64,
    /// Maintenance beats: status changes, no results.
    pub maintenance: u64,
    pub changes: u64,
    /// Beats before `since`, left out.
    pub older: u64,
    pub unreadable: u64,
    /// The store had history for it already: nothing was written.
    pub already: bool,
}

/// What `--history` did.
#[derive(Clone, Debug)]
pub struct HistoryImport {
    pub since: DateTime<Utc>,
    pub services: Vec<ServiceHistory>,
    pub rollup: RollupReport,
}

/// Brings the heartbeats of every planned service into `store`.
pub async fn import(
    db: &KumaDb,
    plan: &Plan,
    config: &Config,
    store: &dyn Store,
    now: DateTime<Utc>,
) -> Result<HistoryImport, HistoryError> {
    let settings = config.history_settings();
    let now_ms = now.timestamp_millis();
    let since_ms = floor_to(now_ms - settings.retention.hourly_ms, DAY_MS);
    let since = DateTime::from_timestamp_millis(since_ms).unwrap_or(now);
    let mut services = Vec::new();
    for service in &plan.services {
        let mut outcome = ServiceHistory {
            name: service.name.clone(),
            kuma_id: service.kuma_id,
            ..ServiceHistory::default()
        };
        if has_history(store, &service.name).await? {
            outcome.already = true;
            services.push(outcome);
            continue;
        }
        outcome.older = db.count_before(service.kuma_id, since).await?;
        let beats = db
            .heartbeats(service.kuma_id, since, &mut outcome.unreadable)
            .await?;
        let beats: Vec<Beat> = beats.into_iter().filter(|b| b.at <= now).collect();
        let name: Arc<str> = Arc::from(service.name.as_str());
        let http = matches!(
            service.kuma_type.as_str(),
            "http" | "keyword" | "json-query"
        );
        let results: Vec<ProbeResult> = beats
            .iter()
            .filter_map(|beat| result(&name, beat, http))
            .collect();
        for batch in results.chunks(BATCH) {
            store.insert_results(batch).await?;
        }
        let changes = changes(&service.name, &beats);
        store.insert_status_changes(&changes).await?;
        outcome.results = results.len() as u64;
        outcome.successes = results.iter().filter(|r| r.success).count() as u64;
        outcome.maintenance = beats.iter().filter(|b| b.status == 3).count() as u64;
        outcome.changes = changes.len() as u64;
        services.push(outcome);
    }
    let rollup = store
        .roll_up(&RollupPlan {
            now_ms,
            grace_ms: ROLLUP_GRACE_MS,
            retention: settings.retention,
            caps: settings.caps.clone(),
            default_cap_ms: DEFAULT_CAP_MS,
        })
        .await?;
    Ok(HistoryImport {
        since,
        services,
        rollup,
    })
}

/// Whether the store has results or buckets of `service`.
async fn has_history(store: &dyn Store, service: &str) -> Result<bool, StoreError> {
    if !store.recent_results(service, 1).await?.is_empty() {
        return Ok(true);
    }
    let names = [service.to_string()];
    let days = store
        .buckets(Resolution::Day, &names, i64::MIN, i64::MAX)
        .await?;
    Ok(!days.is_empty())
}

/// A heartbeat as a result; `None` for a maintenance beat.
fn result(service: &Arc<str>, beat: &Beat, http: bool) -> Option<ProbeResult> {
    let status = match beat.status {
        3 => return None,
        1 => "up",
        2 => "pending",
        _ => "down",
    };
    let mut message = match beat.msg.trim() {
        "" => format!("{status} (Uptime Kuma)"),
        msg => msg.to_string(),
    };
    cap_message(&mut message);
    let latency = beat
        .ping_ms
        .map(|ms| Duration::from_secs_f64(ms / 1_000.0))
        .unwrap_or_default();
    // Made as a failure, then set: the fields are the store's, whatever
    // else a result carries in memory.
    let mut result = ProbeResult::failed(service.clone(), latency, message);
    result.checked_at = beat.at.trunc_subsecs(3);
    result.success = beat.status == 1;
    if http {
        result.status_code = http_status(&beat.msg);
    }
    Some(result)
}

/// `200` of Kuma's HTTP messages, `200 - OK` or `503 - Service
/// Unavailable, but keyword…`.
fn http_status(msg: &str) -> Option<u16> {
    let (code, _) = msg.split_once(" - ")?;
    code.trim().parse().ok().filter(|c| (100..=999).contains(c))
}

/// The status changes the beats tell, ending `unknown` at the last.
fn changes(service: &str, beats: &[Beat]) -> Vec<StatusChange> {
    let mut changes = Vec::new();
    let mut state = ServiceStatus::Unknown;
    for beat in beats {
        let next = match beat.status {
            1 => ServiceStatus::Operational,
            0 => ServiceStatus::Down,
            3 => ServiceStatus::Maintenance,
            // Pending: a failure Kuma was still confirming.
            _ => state,
        };
        if next != state {
            let msg = match beat.msg.trim() {
                "" => next.as_str().to_string(),
                msg => super::convert::one_line(msg),
            };
            changes.push(StatusChange {
                service: service.to_string(),
                from: state,
                to: next,
                at: beat.at.trunc_subsecs(3),
                cause: format!("Uptime Kuma: {msg}"),
            });
            state = next;
        }
    }
    if let (Some(last), false) = (beats.last(), state == ServiceStatus::Unknown) {
        changes.push(StatusChange {
            service: service.to_string(),
            from: state,
            to: ServiceStatus::Unknown,
            at: last.at.trunc_subsecs(3),
            cause: "the history imported from Uptime Kuma ends here".into(),
        });
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn beat(second: i64, status: i64, msg: &str) -> Beat {
        Beat {
            at: Utc.timestamp_opt(1_700_000_000 + second, 0).unwrap(),
            status,
            ping_ms: Some(12.5),
            msg: msg.into(),
        }
    }

    #[test]
    fn beats_become_results_and_maintenance_none() {
        let name: Arc<str> = Arc::from("api");
        let up = result(&name, &beat(0, 1, "200 - OK"), true).unwrap();
        assert!(up.success);
        assert_eq!(up.status_code, Some(200));
        assert_eq!(up.latency, Duration::from_micros(12_500));
        assert_eq!(up.message, "200 - OK");
        let pending = result(&name, &beat(1, 2, ""), false).unwrap();
        assert!(!pending.success);
        assert_eq!(pending.message, "pending (Uptime Kuma)");
        assert_eq!(pending.status_code, None);
        assert!(result(&name, &beat(2, 3, "Monitor under maintenance"), true).is_none());
        assert_eq!(
            http_status("503 - Service Unavailable, but keyword"),
            Some(503)
        );
        assert_eq!(http_status("connect ECONNREFUSED"), None);
    }

    #[test]
    fn changes_follow_the_beats_and_end_unknown() {
        use ServiceStatus::*;
        let beats = [
            beat(0, 2, ""),
            beat(1, 1, ""),
            beat(2, 1, ""),
            beat(3, 2, "timeout"),
            beat(4, 0, "timeout"),
            beat(5, 3, ""),
            beat(6, 1, ""),
        ];
        let seen: Vec<(ServiceStatus, ServiceStatus, i64)> = changes("api", &beats)
            .iter()
            .map(|c| (c.from, c.to, c.at.timestamp() - 1_700_000_000))
            .collect();
        assert_eq!(
            seen,
            [
                (Unknown, Operational, 1),
                (Operational, Down, 4),
                (Down, Maintenance, 5),
                (Maintenance, Operational, 6),
                (Operational, Unknown, 6),
            ]
        );
        assert!(changes("api", &[]).is_empty());
    }
}
