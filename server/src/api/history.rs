//! History over HTTP: `/api/metrics`, `/api/metrics/health`,
//! `/api/metrics/<service>`, `/api/services/<name>/history`, and the data
//! of the service detail page.

use super::{ApiError, AppState};
use crate::board::StatusBoard;
use crate::config::HumanDuration;
use crate::history::query::History;
use crate::history::{figures, floor_to, Bucket, DAY_MS, HOUR_MS};
use app::detail_page::ssr::{DetailFuture, DetailSource};
use app::model::{Band, Bands, ServiceDetail, WindowFigures};
use axum::extract::{Path, Query, State};
use axum::Json;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The windows every service is summed over, in order.
pub const WINDOWS: [(&str, i64); 4] = [
    ("24h", DAY_MS),
    ("7d", 7 * DAY_MS),
    ("30d", 30 * DAY_MS),
    ("90d", 90 * DAY_MS),
];

/// The longest range asked about: ten years of daily buckets.
const MAX_RANGE_MS: i64 = 3_660 * DAY_MS;

/// `window=` or `from=`/`to=`, as every history endpoint takes them.
#[derive(Debug, Default, Deserialize)]
pub struct RangeQuery {
    pub window: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub resolution: Option<String>,
}

/// A resolved range: `[from, to)` in Unix milliseconds, and its name.
#[derive(Clone, Debug, PartialEq)]
pub struct Range {
    pub name: String,
    pub from_ms: i64,
    pub to_ms: i64,
}

use super::bad_parameter as bad;

/// A time as people write it in a URL: RFC 3339
/// (`2026-11-20T10:00:00Z`), a date (`2026-11-20`, its midnight UTC), or
/// Unix seconds.
pub fn parse_time(parameter: &'static str, text: &str) -> Result<i64, ApiError> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.timestamp_millis());
    }
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(day
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc()
            .timestamp_millis());
    }
    if let Ok(seconds) = text.parse::<i64>() {
        if let Some(at) = Utc.timestamp_opt(seconds, 0).single() {
            return Ok(at.timestamp_millis());
        }
    }
    Err(bad(
        parameter,
        format!("{text:?} is not a time (expected RFC 3339 like 2026-01-15T10:00:00Z, a date like 2026-01-15, or Unix seconds)"),
    ))
}

impl RangeQuery {
    /// The range asked for; `default_ms` back from now when nothing is.
    pub fn resolve(&self, now_ms: i64, default: (&str, i64)) -> Result<Range, ApiError> {
        if self.window.is_some() && (self.from.is_some() || self.to.is_some()) {
            return Err(bad("window", "give either window or from/to, not both"));
        }
        if let Some(window) = &self.window {
            let span = WINDOWS
                .iter()
                .find(|(name, _)| name == window)
                .map(|(_, span)| *span)
                .or_else(|| {
                    window
                        .parse::<HumanDuration>()
                        .ok()
                        .and_then(|d| i64::try_from(d.0.as_millis()).ok())
                })
                .filter(|span| *span > 0)
                .ok_or_else(|| {
                    bad(
                        "window",
                        format!(
                            "{window:?} is not a window (24h, 7d, 30d, 90d, or a duration like 6h)"
                        ),
                    )
                })?;
            if span > MAX_RANGE_MS {
                return Err(bad(
                    "window",
                    format!("{window:?} is longer than {} days", MAX_RANGE_MS / DAY_MS),
                ));
            }
            return Ok(Range {
                name: window.clone(),
                from_ms: now_ms - span,
                to_ms: now_ms,
            });
        }
        let to_ms = match &self.to {
            Some(to) => parse_time("to", to)?,
            None => now_ms,
        };
        let from_ms = match &self.from {
            Some(from) => parse_time("from", from)?,
            None => to_ms - default.1,
        };
        if from_ms >= to_ms {
            return Err(bad("from", "from must be before to"));
        }
        if from_ms < 0 {
            return Err(bad("from", "from must not be before 1970-01-01"));
        }
        if to_ms - from_ms > MAX_RANGE_MS {
            return Err(bad(
                "from",
                format!("the range is longer than {} days", MAX_RANGE_MS / DAY_MS),
            ));
        }
        let name = if self.from.is_none() && self.to.is_none() {
            default.0.to_string()
        } else {
            "custom".to_string()
        };
        Ok(Range {
            name,
            from_ms,
            to_ms,
        })
    }
}

/// Unix milliseconds as a time for JSON.
pub(super) fn at(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

fn now_ms() -> i64 {
    crate::probe::now().timestamp_millis()
}

/// The configured services' names, in config order.
fn configured(board: &StatusBoard) -> Vec<String> {
    board
        .config()
        .services
        .iter()
        .map(|s| s.name.clone())
        .collect()
}

fn service_known(board: &StatusBoard, name: &str) -> Result<(), ApiError> {
    if board.config().services.iter().any(|s| s.name == name) {
        Ok(())
    } else {
        Err(ApiError::NotFound(format!("no service named {name:?}")))
    }
}

/// `GET /api/metrics`
pub async fn metrics(
    State(state): State<AppState>,
    Query(query): Query<RangeQuery>,
) -> Result<Json<Value>, ApiError> {
    let now = now_ms();
    let range = query.resolve(now, WINDOWS[0])?;
    let services = configured(&state.board);
    let settings = state.history.settings();
    // Hours are listed where hourly buckets are kept (90 days by default).
    let hourly_from = floor_to(now - settings.retention.hourly_ms, DAY_MS);
    let hours = if services.is_empty() {
        Vec::new()
    } else {
        state
            .history
            .hours(
                &services,
                floor_to(range.from_ms, HOUR_MS).max(hourly_from),
                range.to_ms.min(now),
                now,
                &settings,
            )
            .await
            .map_err(anyhow::Error::from)?
    };
    let totals = state
        .history
        .totals(&services, range.from_ms, range.to_ms, now)
        .await
        .map_err(anyhow::Error::from)?;
    let mut by_hour: BTreeMap<i64, u64> = BTreeMap::new();
    let mut hour = floor_to(range.from_ms.max(hourly_from), HOUR_MS);
    while hour < range.to_ms.min(now) {
        by_hour.insert(hour, 0);
        hour += HOUR_MS;
    }
    for (_, bucket) in &hours {
        *by_hour.entry(bucket.start_ms).or_default() += bucket.total;
    }
    let empty = Bucket::default();
    let mut error_rates = Map::new();
    let mut distribution = Map::new();
    let mut figures_by_service = Map::new();
    for name in &services {
        let bucket = totals.services.get(name).unwrap_or(&empty);
        let figures = figures::window(
            &range.name,
            at(totals.start_ms),
            at(totals.end_ms),
            bucket,
            &settings.bands,
        );
        // A number, as scripts expect; `services` tells no data (null) apart.
        error_rates.insert(name.clone(), json!(figures.error_rate.unwrap_or(0.0)));
        distribution.insert(name.clone(), json!(bucket.total));
        figures_by_service.insert(
            name.clone(),
            serde_json::to_value(&figures).expect("figures serialize"),
        );
    }
    let status_distribution: Map<String, Value> = state
        .board
        .counts()
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(status, n)| (status.to_string(), json!(n)))
        .collect();
    Ok(Json(json!({
        "error_rate_by_service": error_rates,
        "probe_count_by_hour": by_hour
            .into_iter()
            .map(|(hour, count)| json!({"hour": at(hour), "count": count}))
            .collect::<Vec<_>>(),
        "status_distribution": status_distribution,
        "service_distribution": distribution,
        "analysis_period": {"start": at(totals.start_ms), "end": at(totals.end_ms)},
        "window": range.name,
        "services": figures_by_service,
    })))
}

fn threshold_pct(rate: f64) -> String {
    let pct = rate * 100.0;
    if pct.fract() == 0.0 {
        format!("{pct:.0}%")
    } else {
        format!("{pct}%")
    }
}

/// The alert line for a service over a band, if it is.
pub fn alert_message(band: Band, bands: &Bands) -> Option<String> {
    match band {
        Band::Healthy => None,
        Band::Warning => Some(format!(
            "Error rate above {} threshold",
            threshold_pct(bands.warning)
        )),
        Band::Critical => Some(format!(
            "Error rate above {} threshold",
            threshold_pct(bands.critical)
        )),
    }
}

/// `GET /api/metrics/health`
pub async fn health(
    State(state): State<AppState>,
    Query(query): Query<RangeQuery>,
) -> Result<Json<Value>, ApiError> {
    let now = now_ms();
    let range = query.resolve(now, WINDOWS[0])?;
    let services = configured(&state.board);
    let bands = state.history.settings().bands;
    let totals = state
        .history
        .totals(&services, range.from_ms, range.to_ms, now)
        .await
        .map_err(anyhow::Error::from)?;
    let mut worst: Option<Band> = None;
    let mut per_service = Map::new();
    let mut alerts = Vec::new();
    let empty = Bucket::default();
    for name in &services {
        let bucket = totals.services.get(name).unwrap_or(&empty);
        let rate = (bucket.total > 0).then(|| bucket.failed() as f64 / bucket.total as f64);
        let band = rate.map(|r| bands.classify(r));
        if let Some(band) = band {
            worst = worst.max(Some(band));
            if let Some(message) = alert_message(band, &bands) {
                alerts.push(json!({
                    "service": name,
                    "message": message,
                    "band": band,
                    "error_rate": rate.map(figures::round6),
                }));
            }
        }
        per_service.insert(
            name.clone(),
            json!({
                "status": band.map_or("unknown", Band::as_str),
                "error_rate": rate.map_or(0.0, figures::round6),
                "error_count": bucket.failed(),
                "total_count": bucket.total,
            }),
        );
    }
    Ok(Json(json!({
        "status": worst.map_or(if services.is_empty() { "healthy" } else { "unknown" }, Band::as_str),
        "services": per_service,
        "alerts": alerts,
        "thresholds": {"warning": bands.warning, "critical": bands.critical},
        "analysis_period": {"start": at(totals.start_ms), "end": at(totals.end_ms)},
    })))
}

/// A service's figures over each standard window, from one read of its
/// hourly buckets.
pub async fn standard_windows(
    history: &History,
    service: &str,
    now: i64,
) -> anyhow::Result<(Vec<WindowFigures>, Vec<(String, Bucket)>)> {
    let settings = history.settings();
    let longest = WINDOWS[WINDOWS.len() - 1].1;
    let services = [service.to_string()];
    let hours = history
        .hours(
            &services,
            floor_to(now - longest, HOUR_MS),
            now,
            now,
            &settings,
        )
        .await?;
    let windows = WINDOWS
        .iter()
        .map(|(name, span)| {
            let start = floor_to(now - span, HOUR_MS);
            let mut sum = Bucket::empty(start);
            for (_, bucket) in hours.iter().filter(|(_, b)| b.start_ms >= start) {
                sum.merge(bucket);
            }
            figures::window(name, at(start), at(now), &sum, &settings.bands)
        })
        .collect();
    Ok((windows, hours))
}

/// `GET /api/metrics/<service>`
pub async fn service_metrics(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<RangeQuery>,
) -> Result<Json<Value>, ApiError> {
    service_known(&state.board, &name)?;
    let now = now_ms();
    let status = state
        .board
        .page_service(None, &name)
        .map(|(_, _, view)| view.status)
        .unwrap_or_default();
    let windows = if query.window.is_some() || query.from.is_some() || query.to.is_some() {
        let range = query.resolve(now, WINDOWS[0])?;
        let totals = state
            .history
            .totals(std::slice::from_ref(&name), range.from_ms, range.to_ms, now)
            .await
            .map_err(anyhow::Error::from)?;
        let bucket = totals.services.get(&name).cloned().unwrap_or_default();
        vec![figures::window(
            &range.name,
            at(totals.start_ms),
            at(totals.end_ms),
            &bucket,
            &state.history.settings().bands,
        )]
    } else {
        standard_windows(&state.history, &name, now).await?.0
    };
    Ok(Json(json!({
        "service": name,
        "status": status,
        "windows": windows,
    })))
}

/// Raw results are listed for ranges up to this long; longer ones by hour.
const RAW_UP_TO_MS: i64 = 6 * HOUR_MS;
/// Hourly points for ranges up to this long; longer ones by day.
const HOURLY_UP_TO_MS: i64 = 14 * DAY_MS;
const MAX_RAW_POINTS: u32 = 10_000;

/// `GET /api/services/<name>/history?from&to[&resolution=raw|hour|day]`
pub async fn service_history(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<RangeQuery>,
) -> Result<Json<Value>, ApiError> {
    service_known(&state.board, &name)?;
    let now = now_ms();
    let range = query.resolve(now, WINDOWS[0])?;
    let settings = state.history.settings();
    let span = range.to_ms - range.from_ms;
    let resolution = match query.resolution.as_deref() {
        Some("raw") => "raw",
        Some("hour") => "hour",
        Some("day") => "day",
        Some(other) => {
            return Err(bad(
                "resolution",
                format!("{other:?} is not a resolution (raw, hour or day)"),
            ))
        }
        None if span <= RAW_UP_TO_MS && range.from_ms >= now - settings.retention.raw_ms => "raw",
        None if span <= HOURLY_UP_TO_MS && range.from_ms >= now - settings.retention.hourly_ms => {
            "hour"
        }
        None => "day",
    };
    let services = [name.clone()];
    let mut truncated = false;
    let points: Vec<Value> = match resolution {
        "raw" => {
            let mut results = state
                .store
                .results_between(&name, range.from_ms, range.to_ms, MAX_RAW_POINTS + 1)
                .await
                .map_err(anyhow::Error::from)?;
            // The newest are kept; `truncated` says older ones were left out.
            truncated = results.len() > MAX_RAW_POINTS as usize;
            results.truncate(MAX_RAW_POINTS as usize);
            results.reverse();
            results
                .iter()
                .map(|r| serde_json::to_value(r.to_event()).expect("events serialize"))
                .collect()
        }
        unit => {
            let unit_ms = if unit == "hour" { HOUR_MS } else { DAY_MS };
            let from = floor_to(range.from_ms, unit_ms);
            let to = range.to_ms.min(now);
            let mut series: BTreeMap<i64, Bucket> = BTreeMap::new();
            let hourly_from = floor_to(now - settings.retention.hourly_ms, DAY_MS);
            if unit == "day" && from < hourly_from {
                for (_, day) in state
                    .store
                    .buckets(
                        crate::history::Resolution::Day,
                        &services,
                        from,
                        hourly_from.min(to),
                    )
                    .await
                    .map_err(anyhow::Error::from)?
                {
                    series.insert(day.start_ms, day);
                }
            }
            for (_, hour) in state
                .history
                .hours(&services, from.max(hourly_from), to, now, &settings)
                .await
                .map_err(anyhow::Error::from)?
            {
                let key = floor_to(hour.start_ms, unit_ms);
                series
                    .entry(key)
                    .or_insert_with(|| Bucket::empty(key))
                    .merge(&hour);
            }
            series
                .values()
                .map(|b| {
                    let end = (b.start_ms + unit_ms).min(now);
                    let f = figures::window(unit, at(b.start_ms), at(end), b, &settings.bands);
                    json!({
                        "start": f.start,
                        "end": f.end,
                        "total": f.total_count,
                        "successful": b.successful,
                        "uptime_pct": f.uptime_pct,
                        "unknown_pct": f.unknown_pct,
                        "error_rate": f.error_rate,
                        "band": f.band,
                        "latency": f.latency,
                    })
                })
                .collect()
        }
    };
    Ok(Json(json!({
        "service": name,
        "from": at(range.from_ms),
        "to": at(range.to_ms),
        "resolution": resolution,
        "truncated": truncated,
        "points": points,
    })))
}

/// The detail page's data, for the Leptos server function.
pub struct Details {
    pub board: Arc<StatusBoard>,
    pub history: History,
}

/// Results the detail page lists.
const RECENT_RESULTS: u32 = 20;

impl DetailSource for Details {
    fn detail(&self, slug: Option<String>, service: String) -> DetailFuture {
        let board = self.board.clone();
        let history = self.history.clone();
        Box::pin(async move {
            let Some((page_slug, page_title, view)) = board.page_service(slug.as_deref(), &service)
            else {
                return Ok(None);
            };
            let now = now_ms();
            let (windows, hours) = standard_windows(&history, &service, now)
                .await
                .map_err(|e| format!("history is unavailable: {e}"))?;
            let day_ago = floor_to(now - DAY_MS, HOUR_MS);
            let latency = figures::latency_points(
                hours
                    .iter()
                    .map(|(_, b)| b)
                    .filter(|b| b.start_ms >= day_ago),
            );
            let recent = history
                .store
                .recent_results(&service, RECENT_RESULTS)
                .await
                .map_err(|e| format!("history is unavailable: {e}"))?
                .iter()
                .map(|r| r.to_event())
                .collect();
            Ok(Some(ServiceDetail {
                page_slug,
                page_title,
                service: view,
                windows,
                latency,
                recent,
                generated_at: at(now),
            }))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_in_three_forms_and_errors_name_the_parameter() {
        assert_eq!(parse_time("from", "1970-01-02").unwrap(), DAY_MS);
        assert_eq!(parse_time("from", "1970-01-01T01:00:00Z").unwrap(), HOUR_MS);
        assert_eq!(parse_time("from", "3600").unwrap(), HOUR_MS);
        let err = parse_time("to", "yesterday").unwrap_err();
        assert!(
            matches!(
                err,
                ApiError::BadParameter {
                    parameter: "to",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn ranges_come_from_a_window_or_from_and_to() {
        let now = 100 * DAY_MS;
        let q = RangeQuery {
            window: Some("7d".into()),
            ..Default::default()
        };
        assert_eq!(
            q.resolve(now, WINDOWS[0]).unwrap(),
            Range {
                name: "7d".into(),
                from_ms: now - 7 * DAY_MS,
                to_ms: now
            }
        );
        let q = RangeQuery {
            window: Some("6h".into()),
            ..Default::default()
        };
        assert_eq!(
            q.resolve(now, WINDOWS[0]).unwrap().from_ms,
            now - 6 * HOUR_MS
        );
        let q = RangeQuery::default();
        assert_eq!(q.resolve(now, WINDOWS[0]).unwrap().name, "24h");
        let q = RangeQuery {
            from: Some("1970-01-05".into()),
            to: Some("1970-01-03".into()),
            ..Default::default()
        };
        assert!(matches!(
            q.resolve(now, WINDOWS[0]),
            Err(ApiError::BadParameter {
                parameter: "from",
                ..
            })
        ));
        let q = RangeQuery {
            window: Some("forever".into()),
            ..Default::default()
        };
        assert!(matches!(
            q.resolve(now, WINDOWS[0]),
            Err(ApiError::BadParameter {
                parameter: "window",
                ..
            })
        ));
    }

    #[test]
    fn alerts_name_the_threshold_crossed() {
        let bands = Bands::default();
        assert_eq!(
            alert_message(Band::Warning, &bands).unwrap(),
            "Error rate above 5% threshold"
        );
        assert_eq!(
            alert_message(Band::Critical, &bands).unwrap(),
            "Error rate above 10% threshold"
        );
        assert_eq!(alert_message(Band::Healthy, &bands), None);
    }
}
