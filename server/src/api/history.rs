//! History over HTTP: `/api/metrics`, `/api/metrics/health`,
//! `/api/metrics/<service>` and `/api/services/<name>/history`, each
//! answering one of `wire::api`'s types.

use super::range::{at, RangeQuery, WINDOWS};
use super::{bad_parameter as bad, ApiError, HistoryState};
use crate::engine::board::StatusBoard;
use crate::history::{figures, floor_to, Bucket, Resolution, DAY_MS, HOUR_MS};
use crate::store::{History, StoreError};
use axum::extract::{Path, Query, State};
use axum::Json;
use std::collections::BTreeMap;
use wire::api::{
    BucketPoint, HealthMetrics, HistoryPoints, HourCount, Metrics, Period, RateAlert, RateStatus,
    ServiceHealth, ServiceHistory, ServiceMetrics,
};
use wire::{Band, WindowFigures};

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
    if board.config().service(name).is_some() {
        Ok(())
    } else {
        Err(ApiError::NotFound(format!("no service named {name:?}")))
    }
}

fn period(start_ms: i64, end_ms: i64) -> Period {
    Period {
        start: at(start_ms),
        end: at(end_ms),
    }
}

/// `GET /api/metrics`
pub async fn metrics(
    State(state): State<HistoryState>,
    Query(query): Query<RangeQuery>,
) -> Result<Json<Metrics>, ApiError> {
    let now = crate::clock::now_ms();
    let range = query.resolve(now, WINDOWS[0])?;
    let services = configured(&state.board);
    let settings = state.history.settings();
    // Hours are listed where hourly buckets are kept (90 days by default).
    let hourly_from = floor_to(now - settings.retention.hourly_ms, DAY_MS);
    let first_hour = floor_to(range.from_ms.max(hourly_from), HOUR_MS);
    let counts = state
        .history
        .hourly_counts(&services, first_hour, range.to_ms.min(now), now)
        .await?;
    let totals = state
        .history
        .totals(&services, range.from_ms, range.to_ms, now)
        .await?;
    let mut by_hour: BTreeMap<i64, u64> = BTreeMap::new();
    let mut hour = first_hour;
    while hour < range.to_ms.min(now) {
        by_hour.insert(hour, counts.get(&hour).copied().unwrap_or(0));
        hour += HOUR_MS;
    }
    let empty = Bucket::default();
    let mut metrics = Metrics {
        error_rate_by_service: BTreeMap::new(),
        probe_count_by_hour: by_hour
            .into_iter()
            .map(|(hour, count)| HourCount {
                hour: at(hour),
                count,
            })
            .collect(),
        status_distribution: state
            .board
            .counts()
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(status, n)| (status.to_string(), n as u64))
            .collect(),
        service_distribution: BTreeMap::new(),
        analysis_period: period(totals.start_ms, totals.end_ms),
        window: range.name.clone(),
        services: BTreeMap::new(),
    };
    for name in services {
        let bucket = totals.services.get(&name).unwrap_or(&empty);
        let figures = figures::window(
            &range.name,
            at(totals.start_ms),
            at(totals.end_ms),
            bucket,
            &settings.bands,
        );
        // A number, as scripts expect; `services` tells no data (null) apart.
        metrics
            .error_rate_by_service
            .insert(name.clone(), figures.error_rate.unwrap_or(0.0));
        metrics
            .service_distribution
            .insert(name.clone(), bucket.total);
        metrics.services.insert(name, figures);
    }
    Ok(Json(metrics))
}

/// `GET /api/metrics/health`
pub async fn health(
    State(state): State<HistoryState>,
    Query(query): Query<RangeQuery>,
) -> Result<Json<HealthMetrics>, ApiError> {
    let now = crate::clock::now_ms();
    let range = query.resolve(now, WINDOWS[0])?;
    let services = configured(&state.board);
    let bands = state.history.settings().bands;
    let totals = state
        .history
        .totals(&services, range.from_ms, range.to_ms, now)
        .await?;
    let mut worst: Option<Band> = None;
    let mut per_service = BTreeMap::new();
    let mut alerts = Vec::new();
    let empty = Bucket::default();
    for name in &services {
        let bucket = totals.services.get(name).unwrap_or(&empty);
        let rate = (bucket.total > 0).then(|| bucket.failed() as f64 / bucket.total as f64);
        let band = rate.map(|r| bands.classify(r));
        if let Some(band) = band {
            worst = worst.max(Some(band));
            if let Some(message) = figures::rate_alert(band, &bands) {
                alerts.push(RateAlert {
                    service: name.clone(),
                    message,
                    band,
                    error_rate: rate.map(figures::round6),
                });
            }
        }
        per_service.insert(
            name.clone(),
            ServiceHealth {
                status: band.into(),
                error_rate: rate.map_or(0.0, figures::round6),
                error_count: bucket.failed(),
                total_count: bucket.total,
            },
        );
    }
    let status = match worst {
        None if services.is_empty() => RateStatus::Healthy,
        worst => worst.into(),
    };
    Ok(Json(HealthMetrics {
        status,
        services: per_service,
        alerts,
        thresholds: bands,
        analysis_period: period(totals.start_ms, totals.end_ms),
    }))
}

/// A service's figures over each standard window, from one read of its
/// hourly buckets.
pub async fn standard_windows(
    history: &History,
    service: &str,
    now: i64,
) -> Result<(Vec<WindowFigures>, Vec<(String, Bucket)>), StoreError> {
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

/// `GET /api/services/<service>/days`: the service's 90-day bar, a
/// segment per UTC day (`[total, successful, unknown_ms, worst]`), as the
/// status page's cards show it; their per-day detail reads it on demand.
pub async fn service_days(
    State(state): State<HistoryState>,
    Path(name): Path<String>,
) -> Result<Json<std::sync::Arc<wire::UptimeBar>>, ApiError> {
    service_known(&state.board, &name)?;
    let (_, _, view) = state
        .board
        .page_service(None, &name)
        .ok_or_else(|| ApiError::NotFound(format!("no service named {name:?}")))?;
    Ok(Json(view.uptime))
}

/// `GET /api/metrics/<service>`
pub async fn service_metrics(
    State(state): State<HistoryState>,
    Path(name): Path<String>,
    Query(query): Query<RangeQuery>,
) -> Result<Json<ServiceMetrics>, ApiError> {
    service_known(&state.board, &name)?;
    let now = crate::clock::now_ms();
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
            .await?;
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
    let slo = match service_slo(&state.board, &name) {
        Some(slo) => Some(slo_figures(&state.history, &name, &slo, now, now).await?),
        None => None,
    };
    Ok(Json(ServiceMetrics {
        service: name,
        status,
        windows,
        slo,
    }))
}

/// The objective `service` declares, if any.
pub fn service_slo(board: &StatusBoard, service: &str) -> Option<crate::config::Slo> {
    board.config().service(service).and_then(|s| s.slo)
}

/// `slo`'s figures for `service` as of `end` (now, or a report's end):
/// the error budget left over its window (from the hour the window starts
/// in), and the burn rates over the minutes before `end`, from the
/// results themselves.
pub async fn slo_figures(
    history: &History,
    service: &str,
    slo: &crate::config::Slo,
    end: i64,
    now: i64,
) -> Result<wire::SloFigures, StoreError> {
    let end = end.min(now);
    let span = i64::try_from(slo.window.as_millis()).unwrap_or(i64::MAX / 2);
    let totals = history
        .totals(&[service.to_string()], end - span, end, now)
        .await?;
    let bucket = totals
        .services
        .get(service)
        .cloned()
        .unwrap_or_else(|| Bucket::empty(totals.start_ms));
    let failed = bucket.total - bucket.successful;
    let left = crate::alert::rules::burn_rate(slo, bucket.total, failed)
        .map(|burned| 100.0 * (1.0 - burned));
    use crate::alert::rules::BURN_WINDOWS;
    let longest = BURN_WINDOWS[BURN_WINDOWS.len() - 1].1 * 60_000;
    let recent = history
        .store
        .results_between(service, end - longest, end + 1, 1_000_000)
        .await?;
    let burn_rates = BURN_WINDOWS
        .iter()
        .map(|(name, minutes)| {
            let since = end - minutes * 60_000;
            let (total, failed) = recent
                .iter()
                .filter(|r| r.checked_at.timestamp_millis() > since)
                .fold((0u64, 0u64), |(t, f), r| (t + 1, f + u64::from(!r.success)));
            (
                name.to_string(),
                crate::alert::rules::burn_rate(slo, total, failed),
            )
        })
        .collect();
    Ok(wire::SloFigures {
        objective_pct: slo.objective * 100.0,
        window: crate::duration::HumanDuration(slo.window).to_string(),
        start: at(totals.start_ms),
        end: at(totals.end_ms),
        total_count: bucket.total,
        error_count: failed,
        error_budget: slo.error_budget(),
        error_budget_left_pct: left,
        burn_rates,
    })
}

/// Raw results are listed for ranges up to this long; longer ones by hour.
const RAW_UP_TO_MS: i64 = 6 * HOUR_MS;
/// Hourly points for ranges up to this long; longer ones by day.
const HOURLY_UP_TO_MS: i64 = 14 * DAY_MS;
const MAX_RAW_POINTS: u32 = 10_000;

/// `GET /api/services/<name>/history?from&to[&resolution=raw|hour|day]`
pub async fn service_history(
    State(state): State<HistoryState>,
    Path(name): Path<String>,
    Query(query): Query<RangeQuery>,
) -> Result<Json<ServiceHistory>, ApiError> {
    service_known(&state.board, &name)?;
    let now = crate::clock::now_ms();
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
    let points = match resolution {
        "raw" => {
            let mut results = state
                .history
                .store
                .results_between(&name, range.from_ms, range.to_ms, MAX_RAW_POINTS + 1)
                .await?;
            // The newest are kept; `truncated` says older ones were left out.
            truncated = results.len() > MAX_RAW_POINTS as usize;
            results.truncate(MAX_RAW_POINTS as usize);
            results.reverse();
            HistoryPoints::Raw(results.iter().map(|r| r.to_event()).collect())
        }
        unit => {
            let unit_ms = if unit == "hour" { HOUR_MS } else { DAY_MS };
            let from = floor_to(range.from_ms, unit_ms);
            let to = range.to_ms.min(now);
            let mut series: BTreeMap<i64, Bucket> = BTreeMap::new();
            let hourly_from = floor_to(now - settings.retention.hourly_ms, DAY_MS);
            if unit == "day" && from < hourly_from {
                let days = state
                    .history
                    .store
                    .buckets(Resolution::Day, &services, from, hourly_from.min(to))
                    .await?;
                for (_, day) in days {
                    series.insert(day.start_ms, day);
                }
            }
            for (_, hour) in state
                .history
                .hours(&services, from.max(hourly_from), to, now, &settings)
                .await?
            {
                let key = floor_to(hour.start_ms, unit_ms);
                series
                    .entry(key)
                    .or_insert_with(|| Bucket::empty(key))
                    .merge(&hour);
            }
            HistoryPoints::Buckets(
                series
                    .values()
                    .map(|b| {
                        let end = (b.start_ms + unit_ms).min(now);
                        let f = figures::window(unit, at(b.start_ms), at(end), b, &settings.bands);
                        BucketPoint {
                            start: f.start,
                            end: f.end,
                            total: f.total_count,
                            successful: b.successful,
                            uptime_pct: f.uptime_pct,
                            unknown_pct: f.unknown_pct,
                            error_rate: f.error_rate,
                            band: f.band,
                            latency: f.latency,
                        }
                    })
                    .collect(),
            )
        }
    };
    Ok(Json(ServiceHistory {
        service: name,
        from: at(range.from_ms),
        to: at(range.to_ms),
        resolution: resolution.to_string(),
        truncated,
        points,
    }))
}
