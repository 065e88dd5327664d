//! `GET /api/reports`: numbers against the synthetic day's brute-force
//! answers on both backends, the schema, CSV, the download headers and bad
//! parameters.

use crate::helpers::*;
use crate::history::{brute_force, percentile, synthetic, synthetic_day};
use crate::history_api::{day_failing_every, every_thirty_seconds, rfc3339, seeded_app};
use crate::on_both_backends;
use serde_json::Value;
use server::history::{DAY_MS, HOUR_MS};

fn schema() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(server::api::reports::SCHEMA).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

pub(crate) fn assert_valid(report: &Value) {
    let validator = schema();
    let errors: Vec<String> = validator
        .iter_errors(report)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "report fails its schema: {errors:?}\n{report:#}"
    );
}

on_both_backends!(
    a_report_over_the_synthetic_day_has_its_exact_figures,
    |backend| async move {
        let day = synthetic_day();
        let results = synthetic("api", day);
        let app = seeded_app(backend, &results, &every_thirty_seconds(ONE_SERVICE)).await;
        let query = format!(
            "/api/reports?from={}&to={}",
            rfc3339(day),
            rfc3339(day + DAY_MS)
        );
        let response = app.get(&query).await;
        assert_eq!(response.status(), 200);
        let disposition = response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            disposition.starts_with("attachment; filename=\"hale-report-all-"),
            "{disposition}"
        );
        assert!(disposition.ends_with(".json\""), "{disposition}");
        let report: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
        assert_valid(&report);

        let (total, ok, latencies) = brute_force(&results);
        assert_eq!(report["period"]["start"], rfc3339(day));
        assert_eq!(report["period"]["end"], rfc3339(day + DAY_MS));
        let api = &report["services"][0];
        assert_eq!(api["name"], "api");
        assert_eq!(api["reliability"]["total_attempts"], total);
        assert_eq!(api["reliability"]["successful"], ok);
        assert_eq!(api["reliability"]["failed"], total - ok);
        let pct = ((ok as f64 * 100.0 / total as f64) * 1_000.0).round() / 1_000.0;
        assert_eq!(api["uptime_pct"], pct);
        assert_eq!(api["reliability"]["success_rate_pct"], pct);
        assert_eq!(api["latency"]["num_requests"], total);
        assert_eq!(api["latency"]["min_ms"], 12.0);
        assert_eq!(api["latency"]["max_ms"], 100.0);
        assert_eq!(api["latency"]["median_ms"], percentile(&latencies, 0.5));
        assert_eq!(api["latency"]["p95_ms"], percentile(&latencies, 0.95));
        assert_eq!(api["latency"]["p99_ms"], percentile(&latencies, 0.99));
        // Two of 24 hours had no results: unknown, not up.
        assert_eq!(api["unknown_pct"], 8.333);
        // 2 % errors: healthy; the newest distinct failure first.
        assert_eq!(api["healthy"], true);
        assert_eq!(report["overall_healthy"], true);
        let newest_failure = results.iter().rev().find(|r| !r.success).unwrap();
        assert_eq!(
            api["reliability"]["errors"][0],
            newest_failure.message.as_str()
        );
        assert_eq!(api["reliability"]["errors"].as_array().unwrap().len(), 5);
        app.hale.shutdown().await;
    }
);

on_both_backends!(
    a_failing_page_is_unhealthy_and_csv_has_a_row_per_service,
    |backend| async move {
        let day = synthetic_day();
        let mut results = day_failing_every("api", day, 5);
        results.extend(day_failing_every("web", day, 1_000));
        results.sort_by_key(|r| r.checked_at);
        let yaml = "
title: Test status
services:
  - name: api
    url: '{target}/health'
    interval: 30s
  - name: web
    url: '{target}/health'
    interval: 30s
status_pages:
  - slug: public
    title: Public status
    services: [api, web]
";
        let app = seeded_app(backend, &results, yaml).await;
        let range = format!("from={}&to={}", rfc3339(day), rfc3339(day + DAY_MS));
        let (status, report) = app
            .get_json(&format!("/api/reports?page=public&{range}"))
            .await;
        assert_eq!(status, 200, "{report}");
        assert_valid(&report);
        assert_eq!(report["page"], "public");
        assert_eq!(report["overall_healthy"], false);
        assert_eq!(report["services"][0]["name"], "api");
        assert_eq!(report["services"][0]["healthy"], false, "20 % errors");
        assert_eq!(report["services"][0]["error_rate_band"], "critical");
        assert_eq!(
            report["services"][0]["reliability"]["errors"],
            serde_json::json!(["HTTP 500"])
        );
        assert_eq!(report["services"][1]["healthy"], true);

        let (_, one) = app
            .get_json(&format!("/api/reports?service=web&{range}"))
            .await;
        assert_eq!(one["services"].as_array().unwrap().len(), 1);
        assert_eq!(one["overall_healthy"], true);

        let response = app
            .get(&format!("/api/reports?page=public&format=csv&{range}"))
            .await;
        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv"));
        let disposition = response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            disposition.contains("hale-report-public-") && disposition.ends_with(".csv\""),
            "{disposition}"
        );
        let csv = response.text().await.unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 3, "a header and a row per service:\n{csv}");
        assert!(lines[0].starts_with("name,healthy,status,uptime_pct"));
        assert!(lines[1].starts_with("api,false,"), "{}", lines[1]);
        assert!(lines[2].starts_with("web,true,"), "{}", lines[2]);
        app.hale.shutdown().await;
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_report_parameters_are_400_naming_the_parameter() {
    let app = spawn_app(Backend::Sqlite, ONE_SERVICE).await;
    for (query, parameter) in [
        ("from=2026-01-02&to=2026-01-01", "from"),
        ("from=yesterday", "from"),
        ("to=soon", "to"),
        ("service=nope", "service"),
        ("page=nope", "page"),
        ("page=public&service=nope", "service"),
        ("format=xml", "format"),
    ] {
        let (status, body) = app.get_json(&format!("/api/reports?{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["parameter"], parameter, "{query}: {body}");
        assert!(
            body["error"].as_str().unwrap().starts_with(parameter),
            "{body}"
        );
    }
    // The default range is the last 24 hours, and the schema is served.
    let (status, report) = app.get_json("/api/reports").await;
    assert_eq!(status, 200);
    assert_valid(&report);
    let start =
        chrono::DateTime::parse_from_rfc3339(report["period"]["start"].as_str().unwrap()).unwrap();
    let end =
        chrono::DateTime::parse_from_rfc3339(report["period"]["end"].as_str().unwrap()).unwrap();
    let span = (end - start).num_milliseconds();
    assert!(
        span > DAY_MS - HOUR_MS && span <= DAY_MS + HOUR_MS,
        "{span}"
    );
    let (status, schema) = app.get_json("/api/reports/schema").await;
    assert_eq!(status, 200);
    assert_eq!(schema["title"], "Hale health report");
    // The schema can fail: a report without services, or with a string count.
    let mut broken = report.clone();
    broken.as_object_mut().unwrap().remove("services");
    assert!(!self::schema().is_valid(&broken));
    let mut broken = report.clone();
    broken["services"][0]["reliability"]["failed"] = Value::from("none");
    assert!(!self::schema().is_valid(&broken));
    app.hale.shutdown().await;
}
