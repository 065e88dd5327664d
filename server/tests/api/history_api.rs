//! The history endpoints over HTTP (`/api/metrics`, `/api/metrics/health`,
//! `/api/metrics/<service>`, `/api/services/<name>/history`), on both
//! backends: a seeded synthetic day checked against brute force, alert
//! bands, bad parameters, and live results that are not yet rolled up.

use crate::helpers::*;
use crate::history::{percentile, synthetic, synthetic_day, GAP};
use crate::on_both_backends;
use chrono::{SecondsFormat, TimeZone, Utc};
use serde_json::{json, Value};
use server::event::ProbeResult;
use server::history::{DAY_MS, HOUR_MS};
use server::store;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wire::ConditionOutcome;

/// How long anything a test waits for may take.
const DEADLINE: Duration = Duration::from_secs(30);

/// `ms` as the API writes times: RFC 3339, UTC, `Z`.
pub(crate) fn rfc3339(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .unwrap()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `?from=…&to=…` for `[from, to)`.
fn range(from_ms: i64, to_ms: i64) -> String {
    format!("from={}&to={}", rfc3339(from_ms), rfc3339(to_ms))
}

/// A JSON time as Unix milliseconds; panics unless it is RFC 3339.
fn time_ms(value: &Value) -> i64 {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("{value} is not a string"));
    chrono::DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text:?} is not RFC 3339: {e}"))
        .timestamp_millis()
}

fn round3(v: f64) -> f64 {
    (v * 1_000.0).round() / 1_000.0
}

fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// ONE_SERVICE probing every 30 s, as the synthetic history was: each
/// result then covers the 30 s to the next (a result covers at most twice
/// the service's interval), so only the two missing hours are unknown.
pub(crate) fn every_thirty_seconds(yaml: &str) -> String {
    let slow = yaml.replace("interval: 1s", "interval: 30s");
    assert_ne!(slow, yaml, "the config sets interval: 1s");
    slow
}

/// `api` as in ONE_SERVICE, and `web`, both probed every 30 s.
const TWO_SERVICES: &str = "
title: Test status
services:
  - name: api
    group: Core
    url: '{target}/health'
    interval: 30s
    failure_threshold: 1
    success_threshold: 1
    conditions: ['[STATUS] == 200', '[BODY].status == UP']
  - name: web
    group: Core
    url: '{target}/health'
    interval: 30s
    failure_threshold: 1
    success_threshold: 1
    conditions: ['[STATUS] == 200', '[BODY].status == UP']
status_pages:
  - slug: public
    title: Public status
    services: [api, web]
";

/// A whole day of `service` probed every 30 s, every `nth` result failing
/// (the first among them), latency 10–40 ms.
pub(crate) fn day_failing_every(service: &str, day_ms: i64, nth: u64) -> Vec<ProbeResult> {
    let service: Arc<str> = Arc::from(service);
    (0..(DAY_MS / 30_000) as u64)
        .map(|i| {
            let success = i % nth != 0;
            ProbeResult {
                service: service.clone(),
                checked_at: Utc
                    .timestamp_millis_opt(day_ms + i as i64 * 30_000)
                    .unwrap(),
                success,
                latency: Duration::from_millis(10 + (i % 4) * 10),
                status_code: Some(if success { 200 } else { 500 }),
                message: if success {
                    "HTTP 200".into()
                } else {
                    "HTTP 500".into()
                },
                conditions: vec![ConditionOutcome {
                    condition: "[STATUS] == 200".into(),
                    success,
                }],
                region: None,
                certificate_expiration: None,
            }
        })
        .collect()
}

/// Hale started with `yaml` on a fresh database already holding `results`,
/// once its first roll-up has moved the seeded (finished) hours into
/// buckets, so that no answer races the roll-up.
pub(crate) async fn seeded_app(backend: Backend, results: &[ProbeResult], yaml: &str) -> TestApp {
    let db = TestDb::new(backend).await;
    {
        let store = store::connect(&db.url).await.unwrap();
        store.insert_results(results).await.unwrap();
        store.close().await;
    }
    let app = spawn_app_on(db, yaml).await;
    let from = results.first().unwrap().checked_at.timestamp_millis();
    let to = results.last().unwrap().checked_at.timestamp_millis() + 1;
    let started = Instant::now();
    loop {
        let hot = app.store().hot_results(&[], from, to).await.unwrap();
        if hot.is_empty() {
            break;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "the roll-up left {} seeded results hot",
            hot.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app
}

async fn get_ok(app: &TestApp, path: &str) -> Value {
    let (status, body) = app.get_json(path).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

on_both_backends!(
    a_seeded_day_reads_as_brute_force_says,
    |backend| async move {
        let day = synthetic_day();
        let results = synthetic("api", day);
        let app = seeded_app(backend, &results, &every_thirty_seconds(ONE_SERVICE)).await;
        let day_range = range(day, day + DAY_MS);

        let total = results.len() as u64;
        let failed = results.iter().filter(|r| !r.success).count() as u64;
        let mut latencies: Vec<u64> = results
            .iter()
            .map(|r| r.latency.as_micros() as u64)
            .collect();
        latencies.sort_unstable();
        let sum: u64 = latencies.iter().sum();
        assert_eq!((total, failed), (22 * 120, 53), "the synthetic day");

        // One service's figures.
        let body = get_ok(&app, &format!("/api/metrics/api?{day_range}")).await;
        assert_eq!(body["service"], "api");
        let windows = body["windows"].as_array().unwrap();
        assert_eq!(windows.len(), 1, "{body}");
        let w = &windows[0];
        assert_eq!(w["window"], "custom");
        assert_eq!(
            (time_ms(&w["start"]), time_ms(&w["end"])),
            (day, day + DAY_MS)
        );
        assert_eq!(w["total_count"], total);
        assert_eq!(w["error_count"], failed);
        assert_eq!(
            w["uptime_pct"].as_f64(),
            Some(round3((total - failed) as f64 * 100.0 / total as f64))
        );
        assert_eq!(
            w["unknown_pct"].as_f64(),
            Some(8.333),
            "two hours of 24 unknown: {w}"
        );
        assert_eq!(
            w["error_rate"].as_f64(),
            Some(round6(failed as f64 / total as f64))
        );
        assert_eq!(w["band"], "healthy");
        let latency = &w["latency"];
        assert_eq!(latency["min_ms"].as_f64(), Some(12.0));
        assert_eq!(latency["max_ms"].as_f64(), Some(100.0));
        assert_eq!(
            latency["avg_ms"].as_f64(),
            Some(round3(sum as f64 / total as f64 / 1_000.0))
        );
        assert_eq!(
            latency["median_ms"].as_f64(),
            Some(percentile(&latencies, 0.5))
        );
        assert_eq!(
            latency["p95_ms"].as_f64(),
            Some(percentile(&latencies, 0.95))
        );
        assert_eq!(
            latency["p99_ms"].as_f64(),
            Some(percentile(&latencies, 0.99))
        );
        assert_eq!(latency["num_requests"], total);

        // A date and Unix seconds name the same range.
        let date = Utc.timestamp_millis_opt(day).unwrap().format("%Y-%m-%d");
        let other = get_ok(
            &app,
            &format!("/api/metrics/api?from={date}&to={}", (day + DAY_MS) / 1_000),
        )
        .await;
        assert_eq!(other["windows"], body["windows"]);

        // Every service at once, in the DESIGN.md shape.
        let body = get_ok(&app, &format!("/api/metrics?{day_range}")).await;
        assert_eq!(
            body["error_rate_by_service"],
            json!({"api": round6(failed as f64 / total as f64)})
        );
        assert_eq!(body["service_distribution"], json!({"api": total}));
        assert!(body["status_distribution"].is_object(), "{body}");
        assert!(body["status_distribution"]
            .as_object()
            .unwrap()
            .values()
            .all(Value::is_u64));
        assert_eq!(
            body["analysis_period"],
            json!({"start": rfc3339(day), "end": rfc3339(day + DAY_MS)})
        );
        let by_hour = body["probe_count_by_hour"].as_array().unwrap();
        let expected: Vec<Value> = (0..24)
            .map(|h| {
                json!({
                    "hour": rfc3339(day + h * HOUR_MS),
                    "count": if GAP.contains(&h) { 0 } else { 120 },
                })
            })
            .collect();
        assert_eq!(*by_hour, expected);

        // Health: 2 % errors is healthy and raises nothing.
        let body = get_ok(&app, &format!("/api/metrics/health?{day_range}")).await;
        assert_eq!(body["status"], "healthy", "{body}");
        assert_eq!(
            body["services"],
            json!({"api": {
                "status": "healthy",
                "error_rate": round6(failed as f64 / total as f64),
                "error_count": failed,
                "total_count": total,
            }})
        );
        assert_eq!(body["alerts"], json!([]));

        // History: a day by the hour, only hours with data.
        let body = get_ok(&app, &format!("/api/services/api/history?{day_range}")).await;
        assert_eq!(body["service"], "api");
        assert_eq!(body["resolution"], "hour", "{body}");
        assert_eq!(
            (time_ms(&body["from"]), time_ms(&body["to"])),
            (day, day + DAY_MS)
        );
        let points = body["points"].as_array().unwrap();
        assert_eq!(points.len(), 22);
        let starts: Vec<i64> = points.iter().map(|p| time_ms(&p["start"])).collect();
        let hours: Vec<i64> = (0..24)
            .filter(|h| !GAP.contains(h))
            .map(|h| day + h * HOUR_MS)
            .collect();
        assert_eq!(starts, hours, "oldest first, the gap left out");
        assert!(points.iter().all(|p| p["total"] == 120), "{body}");
        assert_eq!(
            points
                .iter()
                .map(|p| p["total"].as_u64().unwrap())
                .sum::<u64>(),
            total
        );
        assert_eq!(
            points
                .iter()
                .map(|p| p["successful"].as_u64().unwrap())
                .sum::<u64>(),
            total - failed
        );

        // The same day by the day: one point.
        let body = get_ok(
            &app,
            &format!("/api/services/api/history?{day_range}&resolution=day"),
        )
        .await;
        assert_eq!(body["resolution"], "day");
        let points = body["points"].as_array().unwrap();
        assert_eq!(points.len(), 1, "{body}");
        assert_eq!(time_ms(&points[0]["start"]), day);
        assert_eq!(points[0]["total"], total);

        // An hour: its raw results, oldest first.
        let three = day + 3 * HOUR_MS;
        let body = get_ok(
            &app,
            &format!(
                "/api/services/api/history?{}",
                range(three, three + HOUR_MS)
            ),
        )
        .await;
        assert_eq!(body["resolution"], "raw", "{body}");
        let points = body["points"].as_array().unwrap();
        let expected: Vec<&ProbeResult> = results
            .iter()
            .filter(|r| {
                let at = r.checked_at.timestamp_millis();
                at >= three && at < three + HOUR_MS
            })
            .collect();
        assert_eq!((points.len(), expected.len()), (120, 120));
        for (point, result) in points.iter().zip(&expected) {
            assert_eq!(
                time_ms(&point["timestamp"]),
                result.checked_at.timestamp_millis(),
                "{point}"
            );
            assert_eq!(point["success"], result.success, "{point}");
            assert_eq!(
                point["latency_ms"].as_f64(),
                Some(result.latency.as_millis() as f64),
                "{point}"
            );
        }
        assert!(
            points.iter().any(|p| p["success"] == false),
            "hour 3 holds a failure"
        );
    }
);

on_both_backends!(
    a_failing_service_is_critical_and_raises_an_alert,
    |backend| async move {
        let day = synthetic_day();
        // Every fifth result fails: 20 %.
        let results = day_failing_every("api", day, 5);
        let app = seeded_app(backend, &results, ONE_SERVICE).await;
        let day_range = range(day, day + DAY_MS);
        let total = results.len() as u64;
        let failed = results.iter().filter(|r| !r.success).count() as u64;
        assert_eq!((total, failed), (2880, 576));

        let body = get_ok(&app, &format!("/api/metrics/health?{day_range}")).await;
        assert_eq!(body["status"], "critical", "{body}");
        assert_eq!(
            body["services"]["api"],
            json!({"status": "critical", "error_rate": 0.2, "error_count": failed, "total_count": total})
        );
        let alerts = body["alerts"].as_array().unwrap();
        assert_eq!(alerts.len(), 1, "{body}");
        assert_eq!(alerts[0]["service"], "api");
        assert_eq!(alerts[0]["message"], "Error rate above 10% threshold");

        let body = get_ok(&app, &format!("/api/metrics/api?{day_range}")).await;
        let w = &body["windows"][0];
        assert_eq!(w["band"], "critical", "{body}");
        assert_eq!(w["error_rate"].as_f64(), Some(0.2));
        assert_eq!(w["uptime_pct"].as_f64(), Some(80.0));
        // ONE_SERVICE probes every second, so a result covers at most 2 s:
        // results 30 s apart leave 28 s of every 30 unknown.
        assert_eq!(
            w["unknown_pct"].as_f64(),
            Some(round3(
                100.0 * (1.0 - (total * 2_000) as f64 / DAY_MS as f64)
            )),
            "{w}"
        );

        let body = get_ok(&app, &format!("/api/metrics?{day_range}")).await;
        assert_eq!(body["error_rate_by_service"], json!({"api": 0.2}));
        assert_eq!(body["service_distribution"], json!({"api": total}));
    }
);

on_both_backends!(
    the_worst_band_is_the_status_and_each_alert_names_its_threshold,
    |backend| async move {
        let day = synthetic_day();
        // api: every 14th fails (7.2 %, warning); web: every 100th (1 %).
        let mut results = day_failing_every("api", day, 14);
        results.extend(day_failing_every("web", day, 100));
        let app = seeded_app(backend, &results, TWO_SERVICES).await;
        let day_range = range(day, day + DAY_MS);

        let body = get_ok(&app, &format!("/api/metrics/health?{day_range}")).await;
        assert_eq!(body["status"], "warning", "{body}");
        assert_eq!(body["services"]["api"]["status"], "warning");
        assert_eq!(body["services"]["api"]["error_count"], 206);
        assert_eq!(body["services"]["web"]["status"], "healthy");
        assert_eq!(body["services"]["web"]["error_count"], 29);
        let alerts = body["alerts"].as_array().unwrap();
        assert_eq!(alerts.len(), 1, "{body}");
        assert_eq!(alerts[0]["service"], "api");
        assert_eq!(alerts[0]["message"], "Error rate above 5% threshold");

        let body = get_ok(&app, &format!("/api/metrics?{day_range}")).await;
        assert_eq!(
            body["service_distribution"],
            json!({"api": 2880, "web": 2880})
        );
        assert_eq!(
            body["error_rate_by_service"],
            json!({"api": round6(206.0 / 2880.0), "web": round6(29.0 / 2880.0)})
        );
        let by_hour = body["probe_count_by_hour"].as_array().unwrap();
        assert_eq!(by_hour.len(), 24);
        assert!(
            by_hour.iter().all(|h| h["count"] == 240),
            "both services count in every hour: {body}"
        );
    }
);

on_both_backends!(
    bad_parameters_are_400_naming_the_parameter,
    |backend| async move {
        let app = spawn_app(backend, ONE_SERVICE).await;
        let endpoints = [
            "/api/metrics",
            "/api/metrics/health",
            "/api/metrics/api",
            "/api/services/api/history",
        ];
        let bad = [
            ("from=2024-01-03&to=2024-01-02", "from"),
            ("from=2024-01-02&to=2024-01-02", "from"),
            ("from=2024-01-02T00:00:00Z&to=2024-01-01", "from"),
            ("from=yesterday", "from"),
            ("to=tomorrow", "to"),
            ("from=2024-01-01&to=2024-13-01", "to"),
            ("window=forever", "window"),
            ("window=0s", "window"),
            ("window=24h&from=2024-01-01", "window"),
            ("window=7d&to=2024-01-01", "window"),
        ];
        for endpoint in endpoints {
            for (query, parameter) in bad {
                let path = format!("{endpoint}?{query}");
                let (status, body) = app.get_json(&path).await;
                assert_eq!(status, 400, "GET {path}: {body}");
                assert_eq!(body["parameter"], parameter, "GET {path}: {body}");
                assert!(
                    body["error"].as_str().is_some_and(|e| !e.is_empty()),
                    "GET {path}: {body}"
                );
            }
        }
        for query in ["resolution=minute", "window=6h&resolution=minute"] {
            let path = format!("/api/services/api/history?{query}");
            let (status, body) = app.get_json(&path).await;
            assert_eq!(status, 400, "GET {path}: {body}");
            assert_eq!(body["parameter"], "resolution", "GET {path}: {body}");
            assert!(body["error"].as_str().unwrap().contains("minute"), "{body}");
        }
        // Good forms of every parameter are accepted.
        for query in [
            "window=24h",
            "window=6h",
            "window=90d",
            "from=2024-01-01&to=2024-01-02T00:00:00Z",
            "from=1704067200&to=1704153600",
        ] {
            for endpoint in endpoints {
                let path = format!("{endpoint}?{query}");
                let (status, body) = app.get_json(&path).await;
                assert_eq!(status, 200, "GET {path}: {body}");
            }
        }

        for path in [
            "/api/metrics/nope",
            "/api/metrics/nope?window=24h",
            "/api/services/nope/history",
            "/api/services/nope/history?window=6h",
        ] {
            let (status, body) = app.get_json(path).await;
            assert_eq!(status, 404, "GET {path}: {body}");
            assert!(
                body["error"].as_str().is_some_and(|e| !e.is_empty()),
                "GET {path}: {body}"
            );
        }
    }
);

on_both_backends!(
    live_results_count_before_they_are_rolled_up,
    |backend| async move {
        let app = spawn_app(backend, ONE_SERVICE).await;
        let started = Instant::now();
        let body = loop {
            let body = get_ok(&app, "/api/metrics/api?window=24h").await;
            if body["windows"][0]["total_count"]
                .as_u64()
                .is_some_and(|n| n >= 2)
            {
                break body;
            }
            assert!(
                started.elapsed() < DEADLINE,
                "probes every second, yet after {DEADLINE:?}: {body}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let w = &body["windows"][0];
        assert_eq!(w["window"], "24h");
        assert!(w["latency"]["num_requests"].as_u64().unwrap() >= 2, "{w}");

        // The same hot results everywhere else.
        let standard = get_ok(&app, "/api/metrics/api").await;
        let names: Vec<&str> = standard["windows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["window"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["24h", "7d", "30d", "90d"]);
        assert!(
            standard["windows"]
                .as_array()
                .unwrap()
                .iter()
                .all(|w| w["total_count"].as_u64().unwrap() >= 2),
            "{standard}"
        );
        let metrics = get_ok(&app, "/api/metrics?window=24h").await;
        assert!(metrics["service_distribution"]["api"].as_u64().unwrap() >= 2);
        let counted: u64 = metrics["probe_count_by_hour"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["count"].as_u64().unwrap())
            .sum();
        assert!(counted >= 2, "{metrics}");
        let health = get_ok(&app, "/api/metrics/health?window=24h").await;
        assert!(
            health["services"]["api"]["total_count"].as_u64().unwrap() >= 2,
            "{health}"
        );
        assert_eq!(health["services"]["api"]["status"], "healthy", "{health}");
        let history = get_ok(&app, "/api/services/api/history?window=1h").await;
        assert_eq!(history["resolution"], "raw");
        assert!(
            history["points"].as_array().unwrap().len() >= 2,
            "{history}"
        );
        assert!(
            history["points"]
                .as_array()
                .unwrap()
                .iter()
                .all(|p| p["success"] == true && p["service"] == "api"),
            "{history}"
        );
    }
);

on_both_backends!(
    answers_read_during_a_roll_up_count_every_result_once,
    |backend| async move {
        // Eight synthetic days: a roll-up long enough to read in the middle of.
        let first = synthetic_day() - 7 * DAY_MS;
        let results: Vec<ProbeResult> = (0..8)
            .flat_map(|d| synthetic("api", first + d * DAY_MS))
            .collect();
        let total = results.len() as u64;
        let db = TestDb::new(backend).await;
        {
            let store = store::connect(&db.url).await.unwrap();
            store.insert_results(&results).await.unwrap();
            store.close().await;
        }
        // Hale rolls the seeded hours up as it starts; ask while it does:
        // the figures of all eight days, and the raw results of the last
        // three (fewer than the endpoint's limit of raw points).
        let app = spawn_app_on(db, &every_thirty_seconds(ONE_SERVICE)).await;
        let figures = format!("/api/metrics/api?{}", range(first, first + 8 * DAY_MS));
        let last_three = first + 5 * DAY_MS;
        let raw = format!(
            "/api/services/api/history?{}&resolution=raw",
            range(last_three, last_three + 3 * DAY_MS)
        );
        let expected_raw: Vec<i64> = results
            .iter()
            .map(|r| r.checked_at.timestamp_millis())
            .filter(|at| *at >= last_three)
            .collect();
        let started = Instant::now();
        let (mut answers, mut wrong_totals, mut wrong_raw) = (0, Vec::new(), Vec::new());
        loop {
            let rolled = app
                .store()
                .hot_results(&[], first, first + 8 * DAY_MS)
                .await
                .unwrap()
                .is_empty();
            let (a, b) = tokio::join!(get_ok(&app, &figures), get_ok(&app, &raw));
            answers += 1;
            let counted = a["windows"][0]["total_count"].as_u64().unwrap();
            if counted != total {
                wrong_totals.push(counted);
            }
            let times: Vec<i64> = b["points"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| time_ms(&p["timestamp"]))
                .collect();
            if times != expected_raw {
                let mut distinct = times.clone();
                distinct.sort_unstable();
                distinct.dedup();
                wrong_raw.push((times.len(), distinct.len()));
            }
            if rolled {
                break;
            }
            assert!(started.elapsed() < DEADLINE, "the roll-up never ended");
        }
        assert!(
            wrong_totals.is_empty() && wrong_raw.is_empty(),
            "of {answers} pairs of answers read while the seeded hours were \
             rolled up, {} counted other than {total} results: {wrong_totals:?}, \
             and {} listed other than the {} raw results (points, distinct): {wrong_raw:?}",
            wrong_totals.len(),
            wrong_raw.len(),
            expected_raw.len()
        );
    }
);

on_both_backends!(
    a_cards_days_read_as_the_store_has_them,
    |backend| async move {
        let day = synthetic_day();
        let results = synthetic("api", day);
        let app = seeded_app(backend, &results, &every_thirty_seconds(ONE_SERVICE)).await;
        let total = results.len() as u64;
        let ok = results.iter().filter(|r| r.success).count() as u64;
        let date = chrono::DateTime::from_timestamp_millis(day)
            .unwrap()
            .date_naive();
        // The board loads its bars after start-up.
        let bar = eventually("the bars loaded", || async {
            let (status, bar) = app.get_json("/api/services/api/days").await;
            assert_eq!(status, 200, "{bar}");
            (bar["days"].as_array().is_some_and(|d| d.len() >= 3)).then_some(bar)
        })
        .await;
        let first =
            chrono::NaiveDate::parse_from_str(bar["first_day"].as_str().unwrap(), "%Y-%m-%d")
                .unwrap();
        let days = bar["days"].as_array().unwrap();
        let today = chrono::Utc::now().date_naive();
        assert_eq!(
            first + chrono::Days::new(days.len() as u64 - 1),
            today,
            "ends today"
        );
        let index = (date - first).num_days() as usize;
        let seeded = &days[index];
        assert_eq!(seeded[0].as_u64(), Some(total), "{seeded}");
        assert_eq!(seeded[1].as_u64(), Some(ok), "{seeded}");
        assert!(
            seeded[2].as_u64().unwrap() > 0,
            "the day's gap is without data: {seeded}"
        );
        assert_eq!(bar["bands"]["warning"], 0.05);

        let (status, body) = app.get_json("/api/services/nope/days").await;
        assert_eq!(status, 404);
        assert!(body["error"].as_str().unwrap().contains("nope"), "{body}");
    }
);

on_both_backends!(
    a_services_slo_shows_its_budget_left_and_burn_rates_everywhere,
    |backend| async move {
        // Six hours of a push service's results, every 30 s and 15 s off
        // every window's edge; four fail: two in the last 5 minutes, one
        // in the last hour, one in the last 6 hours.
        let now = Utc::now().timestamp_millis();
        let service: Arc<str> = Arc::from("backup");
        let offsets: Vec<i64> = (0..720).map(|k| 75_000 + k * 30_000).collect();
        let failing = [0usize, 3, 100, 500];
        let results: Vec<ProbeResult> = offsets
            .iter()
            .enumerate()
            .rev()
            .map(|(k, offset)| ProbeResult {
                service: service.clone(),
                checked_at: Utc.timestamp_millis_opt(now - offset).unwrap(),
                success: !failing.contains(&k),
                latency: Duration::from_millis(20),
                status_code: None,
                message: String::new(),
                conditions: Vec::new(),
                region: None,
                certificate_expiration: None,
            })
            .collect();
        let yaml = "services:\n  - name: backup\n    url: 'push://slo-token-0123456789abcdef'\n    interval: 1h\n    slo: {objective: 99%, window: 1d}\n";
        // Seeded as they are: the last hour's stay hot, the rest rolls up
        // as Hale starts; every read takes both.
        let db = TestDb::new(backend).await;
        {
            let store = store::connect(&db.url).await.unwrap();
            store.insert_results(&results).await.unwrap();
            store.close().await;
        }
        let app = spawn_app_on(db, yaml).await;
        // Brute force: the failed share of each window's results over the
        // 1 % budget.
        let burn = |minutes: i64| {
            let within: Vec<usize> = (0..720)
                .filter(|&k| offsets[k] < minutes * 60_000)
                .collect();
            let failed = within.iter().filter(|k| failing.contains(k)).count();
            failed as f64 / within.len() as f64 / 0.01
        };
        let expected_left = 100.0 * (1.0 - (4.0 / 720.0) / 0.01);

        let (status, metrics) = app.get_json("/api/metrics/backup").await;
        assert_eq!(status, 200, "{metrics}");
        let slo = &metrics["slo"];
        assert_eq!(slo["objective_pct"], 99.0);
        assert_eq!(slo["window"], "1d");
        assert_eq!(
            (slo["total_count"].as_u64(), slo["error_count"].as_u64()),
            (Some(720), Some(4))
        );
        assert_eq!(round6(slo["error_budget"].as_f64().unwrap()), 0.01);
        assert_eq!(
            round3(slo["error_budget_left_pct"].as_f64().unwrap()),
            round3(expected_left)
        );
        for (window, minutes) in [("5m", 5), ("30m", 30), ("1h", 60), ("6h", 360)] {
            assert_eq!(
                round3(slo["burn_rates"][window].as_f64().unwrap()),
                round3(burn(minutes)),
                "{window}"
            );
        }
        assert_eq!(
            round3(burn(5)),
            25.0,
            "two of the last 5 minutes' 8 results"
        );

        // A report to now carries the same, and its schema holds it.
        let query = format!(
            "/api/reports?from={}&to={}",
            rfc3339(now - DAY_MS),
            rfc3339(now + 60_000)
        );
        let (status, report) = app.get_json(&query).await;
        assert_eq!(status, 200, "{report}");
        crate::reports::assert_valid(&report);
        let reported = &report["services"][0]["slo"];
        assert_eq!(reported["error_count"], 4);
        assert_eq!(reported["burn_rates"]["5m"], slo["burn_rates"]["5m"]);

        // The service's page shows the budget left.
        let page = app.get("/services/backup").await.text().await.unwrap();
        assert!(
            page.contains(&format!("{expected_left:.1}%")) && page.contains("data-budget-left"),
            "no budget on the page"
        );
        assert!(
            page.contains("Objective: 99% over 1d"),
            "no objective on the page"
        );
        app.hale.shutdown().await;
    }
);
