//! `GET /api/reports`: a health report over any range, as the JSON of
//! DESIGN.md (schema: `GET /api/reports/schema`, `docs/report.schema.json`)
//! or as CSV with one row per service, served as a download.

use super::range::{at, RangeQuery, WINDOWS};
use super::{ApiError, HistoryState};
use crate::history::{figures, Bucket};
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use wire::{Band, ServiceStatus};

/// The report's JSON Schema, served and used by the tests.
pub const SCHEMA: &str = include_str!("../../../docs/report.schema.json");

/// Distinct recent errors listed per service.
const ERRORS_LISTED: usize = 5;
/// Newest results looked through for them.
const ERRORS_SCAN: u32 = 5_000;

#[derive(Debug, Default, Deserialize)]
pub struct ReportQuery {
    /// `24h`, `7d`, `30d`, `90d` (or a duration); `custom` means from/to.
    pub window: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub service: Option<String>,
    pub page: Option<String>,
    pub format: Option<String>,
}

use super::bad_parameter as bad;
use wire::report::{Period, Reliability, Report, ServiceReport};

/// `GET /api/reports/schema`
pub async fn schema() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/schema+json")], SCHEMA)
}

/// `GET /api/reports?from&to&service&page&format=json|csv`
pub async fn report(
    State(state): State<HistoryState>,
    Query(query): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let csv = match query.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(bad(
                "format",
                format!("{other:?} is not a format (json or csv)"),
            ))
        }
    };
    let config = state.board.config();
    let mut names: Vec<String> = match &query.page {
        None => config.services.iter().map(|s| s.name.clone()).collect(),
        Some(slug) => config
            .status_pages
            .iter()
            .find(|p| &p.slug == slug)
            .map(|p| p.services.clone())
            .ok_or_else(|| bad("page", format!("no status page {slug:?}")))?,
    };
    if let Some(service) = &query.service {
        if !names.contains(service) {
            return Err(bad(
                "service",
                match &query.page {
                    Some(page) => format!("no service {service:?} on page {page:?}"),
                    None => format!("no service named {service:?}"),
                },
            ));
        }
        names = vec![service.clone()];
    }
    let now = crate::clock::now_ms();
    // The page's download form sends `window=custom` with its dates.
    let window = query.window.clone().filter(|w| w != "custom");
    let (from, to) = if window.is_some() {
        (None, None)
    } else {
        let date = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
        (date(&query.from), date(&query.to))
    };
    let range = RangeQuery {
        window,
        from,
        to,
        ..RangeQuery::default()
    }
    .resolve(now, WINDOWS[0])?;
    let report = build(
        &state,
        &names,
        range.from_ms,
        range.to_ms,
        now,
        query.page.clone(),
    )
    .await?;
    let stamp = |at: DateTime<Utc>| at.format("%Y%m%dT%H%MZ").to_string();
    let filename = format!(
        "hale-report-{}-{}-{}.{}",
        query.page.as_deref().unwrap_or("all"),
        stamp(report.period.start),
        stamp(report.period.end),
        if csv { "csv" } else { "json" }
    );
    let disposition = format!("attachment; filename=\"{filename}\"");
    let (content_type, body) = if csv {
        ("text/csv; charset=utf-8", to_csv(&report))
    } else {
        (
            "application/json",
            serde_json::to_string_pretty(&report).expect("reports serialize"),
        )
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

/// The report of `names` over `[from, to)`.
pub async fn build(
    state: &HistoryState,
    names: &[String],
    from_ms: i64,
    to_ms: i64,
    now_ms: i64,
    page: Option<String>,
) -> Result<Report, ApiError> {
    let history = &state.history;
    let bands = history.settings().bands;
    let totals = history.totals(names, from_ms, to_ms, now_ms).await?;
    let worst = history
        .worst_statuses(names, totals.start_ms, totals.end_ms)
        .await?;
    let reaches_now = to_ms >= now_ms - 60_000;
    let empty = Bucket::default();
    let mut services = Vec::with_capacity(names.len());
    for name in names {
        let bucket = totals.services.get(name).unwrap_or(&empty);
        let f = figures::window(
            "report",
            at(totals.start_ms),
            at(totals.end_ms),
            bucket,
            &bands,
        );
        let errors = history
            .recent_errors(
                name,
                totals.start_ms,
                totals.end_ms,
                ERRORS_LISTED,
                ERRORS_SCAN,
            )
            .await?;
        let slo = match super::history::service_slo(&state.board, name) {
            Some(slo) => {
                Some(super::history::slo_figures(history, name, &slo, totals.end_ms, now_ms).await?)
            }
            None => None,
        };
        let status = if bucket.total == 0 && !reaches_now {
            ServiceStatus::Unknown
        } else if reaches_now {
            state
                .board
                .page_service(None, name)
                .map_or(ServiceStatus::Unknown, |(_, _, view)| view.status)
        } else {
            worst.get(name).copied().unwrap_or_default()
        };
        let message = match (f.uptime_pct, errors.first()) {
            (None, _) => "No results in this period".to_string(),
            (Some(_), _) if bucket.failed() == 0 => {
                format!("All {} checks succeeded", bucket.total)
            }
            (Some(up), Some(last)) => format!(
                "{up:.2}% up; {} of {} checks failed, the latest: {last}",
                bucket.failed(),
                bucket.total
            ),
            (Some(up), None) => format!(
                "{up:.2}% up; {} of {} checks failed",
                bucket.failed(),
                bucket.total
            ),
        };
        services.push(ServiceReport {
            name: name.clone(),
            healthy: f.band == Some(Band::Healthy),
            status,
            message,
            uptime_pct: f.uptime_pct,
            unknown_pct: f.unknown_pct,
            error_rate_band: f.band,
            latency: f.latency,
            reliability: Reliability {
                total_attempts: bucket.total,
                successful: bucket.successful,
                failed: bucket.failed(),
                success_rate_pct: f.uptime_pct,
                errors,
            },
            slo,
        });
    }
    Ok(Report {
        generated_at: at(now_ms),
        period: Period {
            start: at(totals.start_ms),
            end: at(totals.end_ms),
        },
        page,
        overall_healthy: services.iter().all(|s| s.healthy),
        services,
    })
}

const CSV_HEADER: [&str; 20] = [
    "name",
    "healthy",
    "status",
    "uptime_pct",
    "unknown_pct",
    "error_rate_band",
    "min_ms",
    "max_ms",
    "avg_ms",
    "median_ms",
    "p95_ms",
    "p99_ms",
    "num_requests",
    "total_attempts",
    "successful",
    "failed",
    "success_rate_pct",
    "latest_error",
    "period_start",
    "period_end",
];

/// A text cell as a spreadsheet may safely open it: a cell that starts
/// with `=`, `+`, `-` or `@` would be read as a formula (service names and
/// error messages come from configs and from the targets' answers), so it
/// gets a leading `'`, as OWASP's CSV injection advice says.
fn text_cell(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    }
}

/// One row per service (RFC 4180, by the csv crate), figures empty where
/// there are none.
pub fn to_csv(report: &Report) -> String {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    let mut rows = vec![CSV_HEADER.map(str::to_string).to_vec()];
    for s in &report.services {
        let l = s.latency.as_ref();
        rows.push(vec![
            text_cell(&s.name),
            s.healthy.to_string(),
            s.status.as_str().to_string(),
            opt(s.uptime_pct),
            s.unknown_pct.to_string(),
            s.error_rate_band
                .map(|b| b.as_str().to_string())
                .unwrap_or_default(),
            opt(l.map(|l| l.min_ms)),
            opt(l.map(|l| l.max_ms)),
            opt(l.map(|l| l.avg_ms)),
            opt(l.map(|l| l.median_ms)),
            opt(l.map(|l| l.p95_ms)),
            opt(l.map(|l| l.p99_ms)),
            l.map(|l| l.num_requests.to_string())
                .unwrap_or_else(|| "0".into()),
            s.reliability.total_attempts.to_string(),
            s.reliability.successful.to_string(),
            s.reliability.failed.to_string(),
            opt(s.reliability.success_rate_pct),
            text_cell(s.reliability.errors.first().map_or("", String::as_str)),
            report.period.start.to_rfc3339(),
            report.period.end.to_rfc3339(),
        ]);
    }
    for row in rows {
        writer.write_record(row).expect("writing to memory");
    }
    let bytes = writer.into_inner().expect("writing to memory");
    String::from_utf8(bytes).expect("the cells are text")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report_of(names: &[&str], error: &str) -> Report {
        let at = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        Report {
            generated_at: at,
            period: Period { start: at, end: at },
            page: None,
            overall_healthy: true,
            services: names
                .iter()
                .map(|name| ServiceReport {
                    name: name.to_string(),
                    healthy: true,
                    status: wire::ServiceStatus::Operational,
                    message: String::new(),
                    uptime_pct: Some(100.0),
                    unknown_pct: 0.0,
                    error_rate_band: None,
                    latency: None,
                    reliability: Reliability {
                        total_attempts: 1,
                        successful: 1,
                        failed: 0,
                        success_rate_pct: Some(100.0),
                        errors: vec![error.to_string()],
                    },
                    slo: None,
                })
                .collect(),
        }
    }

    /// The cells of the CSV, read back by the csv crate.
    fn cells(csv: &str) -> Vec<Vec<String>> {
        csv::Reader::from_reader(csv.as_bytes())
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect()
    }

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        let csv = to_csv(&report_of(
            &["api", "a,b", "say \"hi\""],
            "line one\nline two",
        ));
        assert!(csv.starts_with("name,healthy,status,"), "{csv}");
        assert!(csv.contains("\r\napi,true,operational,"), "{csv}");
        assert!(csv.contains("\r\n\"a,b\",true,"), "{csv}");
        let rows = cells(&csv);
        assert_eq!(rows[2][0], "say \"hi\"");
        assert_eq!(rows[2][17], "line one\nline two");
    }

    #[test]
    fn csv_cells_that_a_spreadsheet_would_run_are_neutralised() {
        let csv = to_csv(&report_of(
            &[
                "=HYPERLINK(\"http://evil\")",
                "+1",
                "-2",
                "@SUM(A1)",
                "plain",
            ],
            "=cmd|' /C calc'!A0",
        ));
        let rows = cells(&csv);
        let names: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
        assert_eq!(
            names,
            [
                "'=HYPERLINK(\"http://evil\")",
                "'+1",
                "'-2",
                "'@SUM(A1)",
                "plain"
            ]
        );
        assert!(rows.iter().all(|r| r[17] == "'=cmd|' /C calc'!A0"));
    }

    #[test]
    fn the_schema_is_json() {
        let schema: serde_json::Value = serde_json::from_str(SCHEMA).unwrap();
        assert_eq!(schema["type"], "object");
    }
}
