//! History: roll-up, retention and statistics, on both backends, against a
//! synthetic history whose answers are computed here by brute force.

use crate::helpers::*;
use crate::on_both_backends;
use chrono::{TimeZone, Utc};
use server::event::ProbeResult;
use server::history::HistorySettings;
use server::history::{figures, Bucket, Resolution, Retention, RollupPlan, DAY_MS, HOUR_MS};
use server::store::History;
use server::store::{self, Store};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use wire::{Bands, ConditionOutcome};

const STEP_MS: i64 = 30_000;
/// Latencies with three significant digits, so percentiles are exact.
const LATENCIES_MS: [u64; 5] = [12, 15, 20, 45, 100];
/// Hours of the synthetic day in which Hale was not running.
pub(crate) const GAP: [i64; 2] = [10, 11];

/// One day of a service probed every 30 s, failing every 50th probe
/// (offset 7), with hours 10 and 11 missing.
pub(crate) fn synthetic(service: &str, day_ms: i64) -> Vec<ProbeResult> {
    let service: Arc<str> = Arc::from(service);
    let mut out = Vec::new();
    let mut i = 0u64;
    for hour in (0..24).filter(|h| !GAP.contains(h)) {
        for k in 0..(HOUR_MS / STEP_MS) {
            let success = i % 50 != 7;
            out.push(ProbeResult {
                service: service.clone(),
                checked_at: Utc
                    .timestamp_millis_opt(day_ms + hour * HOUR_MS + k * STEP_MS)
                    .unwrap(),
                success,
                latency: Duration::from_millis(LATENCIES_MS[i as usize % 5]),
                status_code: Some(if success { 200 } else { 503 }),
                message: if success {
                    "HTTP 200".into()
                } else {
                    format!("HTTP 503 (#{i})")
                },
                conditions: vec![ConditionOutcome {
                    condition: "[STATUS] == 200".into(),
                    success,
                }],
                region: None,
                certificate_expiration: None,
            });
            i += 1;
        }
    }
    out
}

/// Nearest-rank percentile of raw values, in ms.
/// What results say by brute force: how many, how many succeeded, and
/// their latencies in microseconds, sorted.
pub(crate) fn brute_force(results: &[ProbeResult]) -> (u64, u64, Vec<u64>) {
    let total = results.len() as u64;
    let ok = results.iter().filter(|r| r.success).count() as u64;
    let mut latencies: Vec<u64> = results
        .iter()
        .map(|r| r.latency.as_micros() as u64)
        .collect();
    latencies.sort_unstable();
    (total, ok, latencies)
}

pub(crate) fn percentile(sorted_us: &[u64], q: f64) -> f64 {
    let rank = ((q * sorted_us.len() as f64).ceil() as usize).max(1);
    sorted_us[rank - 1] as f64 / 1_000.0
}

fn plan(now_ms: i64, retention: Retention) -> RollupPlan {
    RollupPlan {
        now_ms,
        grace_ms: 2 * 60_000,
        retention,
        caps: HashMap::from([("api".to_string(), 2 * STEP_MS)]),
        default_cap_ms: 120_000,
    }
}

fn settings() -> HistorySettings {
    HistorySettings {
        retention: Retention::default(),
        bands: Bands::default(),
        caps: HashMap::from([("api".to_string(), 2 * STEP_MS)]),
    }
}

/// A day two days back, so it is inside every retention window.
pub(crate) fn synthetic_day() -> i64 {
    let now = Utc::now().timestamp_millis();
    now.div_euclid(DAY_MS) * DAY_MS - 2 * DAY_MS
}

on_both_backends!(
    rollup_moves_finished_hours_into_buckets_once,
    |backend| async move {
        let db = TestDb::new(backend).await;
        let store = store::connect(&db.url).await.unwrap();
        let day = synthetic_day();
        let results = synthetic("api", day);
        store.insert_results(&results).await.unwrap();

        // At 22:05 the hours up to 21:00 are over (grace 2 min).
        let at = day + 22 * HOUR_MS + 5 * 60_000;
        let report = store
            .roll_up(&plan(at, Retention::default()))
            .await
            .unwrap();
        assert_eq!(report.hours, 20, "hours 0–21 less the two missing");
        assert_eq!(report.results, 20 * 120);
        let again = store
            .roll_up(&plan(at, Retention::default()))
            .await
            .unwrap();
        assert_eq!(
            (again.hours, again.results),
            (0, 0),
            "a second run finds nothing to do"
        );

        // Hour 22 is under way: a provisional bucket counts it up to 22:03
        // (now less the grace); readers get only the hot rows after that.
        let hot = store.hot_results(&[], day, day + DAY_MS).await.unwrap();
        assert_eq!(hot.len(), 2 * 120 - 6, "hot rows from 22:03 on");
        assert_eq!(
            hot[0].checked_at.timestamp_millis(),
            day + 22 * HOUR_MS + 3 * 60_000
        );
        assert_eq!(report.provisional, 1, "the hour under way, counted");
        assert_eq!(
            again.provisional, 0,
            "nothing new since the first run's mark: nothing rewritten"
        );

        let hours = store
            .buckets(Resolution::Hour, &[], day, day + DAY_MS)
            .await
            .unwrap();
        assert_eq!(hours.len(), 21, "20 finished hours and the provisional one");
        let provisional = &hours.last().unwrap().1;
        assert_eq!(provisional.start_ms, day + 22 * HOUR_MS);
        assert_eq!(provisional.total, 6, "22:00:00 to 22:02:30");
        assert_eq!(provisional.known_ms, 3 * 60_000);
        let hours: Vec<_> = hours.into_iter().take(20).collect();
        let first = &hours[0].1;
        assert_eq!((first.start_ms, first.total), (day, 120));
        assert_eq!(first.known_ms, HOUR_MS, "30 s probes cover their hour");
        // Hour 12 follows the gap: nothing before it covers its start, but
        // its first probe is at 12:00:00.
        let noon = hours
            .iter()
            .find(|(_, b)| b.start_ms == day + 12 * HOUR_MS)
            .unwrap();
        assert_eq!(noon.1.known_ms, HOUR_MS);

        let days = store
            .buckets(Resolution::Day, &[], day, day + DAY_MS)
            .await
            .unwrap();
        assert_eq!(days.len(), 1);
        assert_eq!(
            days[0].1.total,
            20 * 120 + 6,
            "the day is the sum of its hours, the provisional one included"
        );

        // Raw results survive, packed: the newest of hour 21 and hour 22 (hot).
        let around = store
            .results_between(
                "api",
                day + 21 * HOUR_MS + 59 * 60_000,
                day + 22 * HOUR_MS + 60_000,
                10,
            )
            .await
            .unwrap();
        let expected: Vec<ProbeResult> = results
            .iter()
            .filter(|r| {
                let t = r.checked_at.timestamp_millis();
                t >= day + 21 * HOUR_MS + 59 * 60_000 && t < day + 22 * HOUR_MS + 60_000
            })
            .rev()
            .cloned()
            .collect();
        assert_eq!(
            around, expected,
            "packed and hot results read alike, newest first"
        );
        let recent = store.recent_results("api", 300).await.unwrap();
        assert_eq!(recent.len(), 300, "recent results reach into packed hours");
        assert_eq!(recent[0], *results.last().unwrap());
    }
);

on_both_backends!(late_results_merge_into_their_hour, |backend| async move {
    let db = TestDb::new(backend).await;
    let store = store::connect(&db.url).await.unwrap();
    let day = synthetic_day();
    let results = synthetic("api", day);
    let (early, late): (Vec<_>, Vec<_>) = results
        .iter()
        .cloned()
        .partition(|r| r.checked_at.timestamp_millis() % (10 * STEP_MS) != 0);
    store.insert_results(&early).await.unwrap();
    let at = day + DAY_MS + HOUR_MS;
    store
        .roll_up(&plan(at, Retention::default()))
        .await
        .unwrap();
    store.insert_results(&late).await.unwrap();
    let report = store
        .roll_up(&plan(at, Retention::default()))
        .await
        .unwrap();
    assert_eq!(report.results, late.len() as u64);

    let days = store
        .buckets(Resolution::Day, &[], day, day + DAY_MS)
        .await
        .unwrap();
    assert_eq!(
        days[0].1.total,
        results.len() as u64,
        "late results are counted once"
    );
    let hours = store
        .buckets(Resolution::Hour, &[], day, day + DAY_MS)
        .await
        .unwrap();
    assert!(hours
        .iter()
        .all(|(_, b)| b.total == 120 && b.known_ms == HOUR_MS));
    let mut all = store
        .results_between("api", day, day + DAY_MS, 10_000)
        .await
        .unwrap();
    all.reverse();
    assert_eq!(
        all, results,
        "the packed hours hold early and late results in order"
    );
});

on_both_backends!(
    retention_drops_raw_results_then_hours_and_keeps_days,
    |backend| async move {
        let db = TestDb::new(backend).await;
        let store = store::connect(&db.url).await.unwrap();
        let day = synthetic_day() - 10 * DAY_MS;
        store.insert_results(&synthetic("api", day)).await.unwrap();
        let retention = Retention {
            raw_ms: 7 * DAY_MS,
            hourly_ms: 9 * DAY_MS,
        };
        // The day after: everything rolled, nothing dropped yet.
        store
            .roll_up(&plan(day + DAY_MS + HOUR_MS, retention))
            .await
            .unwrap();
        assert_eq!(
            store
                .results_between("api", day, day + DAY_MS, 10)
                .await
                .unwrap()
                .len(),
            10
        );

        // Eight days on: raw results are gone, hours and the day remain.
        let report = store
            .roll_up(&plan(day + 8 * DAY_MS + HOUR_MS, retention))
            .await
            .unwrap();
        assert_eq!(report.raw_dropped, 22);
        assert!(store
            .results_between("api", day, day + DAY_MS, 10)
            .await
            .unwrap()
            .is_empty());
        assert_eq!(
            store
                .buckets(Resolution::Hour, &[], day, day + DAY_MS)
                .await
                .unwrap()
                .len(),
            22
        );

        // Eleven days on: the hours are gone too; the day stays for ever.
        let report = store
            .roll_up(&plan(day + 11 * DAY_MS, retention))
            .await
            .unwrap();
        assert_eq!(report.hours_dropped, 22);
        assert!(store
            .buckets(Resolution::Hour, &[], day, day + DAY_MS)
            .await
            .unwrap()
            .is_empty());
        let days = store
            .buckets(Resolution::Day, &[], day, day + DAY_MS)
            .await
            .unwrap();
        assert_eq!(days[0].1.total, 22 * 120);
        assert_eq!(days[0].1.known_ms, 22 * HOUR_MS);
        assert!(store.storage_bytes().await.unwrap() > 0);
    }
);

on_both_backends!(
    window_figures_match_the_synthetic_truth,
    |backend| async move {
        let db = TestDb::new(backend).await;
        let store: Arc<dyn Store> = store::connect(&db.url).await.unwrap();
        let day = synthetic_day();
        let results = synthetic("api", day);
        store.insert_results(&results).await.unwrap();
        // Part rolled up, part hot: the answers must not care.
        store
            .roll_up(&plan(day + 22 * HOUR_MS + 5 * 60_000, Retention::default()))
            .await
            .unwrap();
        let history = History::new(store.clone(), settings());
        let now = day + DAY_MS + 30 * 60_000;
        let totals = history
            .totals(&["api".into()], day, day + DAY_MS, now)
            .await
            .unwrap();
        assert_eq!((totals.start_ms, totals.end_ms), (day, day + DAY_MS));
        let bucket = &totals.services["api"];
        let figures = figures::window(
            "custom",
            Utc.timestamp_millis_opt(totals.start_ms).unwrap(),
            Utc.timestamp_millis_opt(totals.end_ms).unwrap(),
            bucket,
            &Bands::default(),
        );

        let (total, ok, latencies) = brute_force(&results);
        let sum: u64 = latencies.iter().sum();
        assert_eq!(figures.total_count, total);
        assert_eq!(figures.error_count, total - ok);
        assert_eq!(
            figures.uptime_pct,
            Some(figures::round3(ok as f64 * 100.0 / total as f64))
        );
        // Two hours without Hale are unknown, not up and not down.
        assert_eq!(figures.unknown_pct, figures::round3(2.0 * 100.0 / 24.0));
        let latency = figures.latency.unwrap();
        assert_eq!(latency.min_ms, 12.0);
        assert_eq!(latency.max_ms, 100.0);
        assert_eq!(
            latency.avg_ms,
            figures::round3(sum as f64 / total as f64 / 1_000.0)
        );
        assert_eq!(latency.median_ms, percentile(&latencies, 0.5));
        assert_eq!(latency.p95_ms, percentile(&latencies, 0.95));
        assert_eq!(latency.p99_ms, percentile(&latencies, 0.99));
        assert_eq!(latency.num_requests, total);
        let rate = (total - ok) as f64 / total as f64;
        assert_eq!(figures.band, Some(Bands::default().classify(rate)));

        // The bar's day for the synthetic day says the same.
        let bars = history.bars(&["api".into()], now).await.unwrap();
        let bar = &bars["api"];
        let segment = (0..bar.days.len())
            .find(|i| bar.date(*i) == Utc.timestamp_millis_opt(day).unwrap().date_naive().into())
            .map(|i| &bar.days[i])
            .unwrap();
        assert_eq!((segment.total(), segment.successful()), (total, ok));
        assert_eq!(segment.unknown_ms(), 2 * HOUR_MS as u64);
        assert_eq!(bar.days.len(), 90);
        assert_eq!(bar.days[89].total(), 0, "nothing probed today");
    }
);

on_both_backends!(
    bars_follow_late_results_into_past_days,
    |backend| async move {
        let db = TestDb::new(backend).await;
        let store: Arc<dyn Store> = store::connect(&db.url).await.unwrap();
        let day = synthetic_day();
        let results = synthetic("api", day);
        let (early, late): (Vec<_>, Vec<_>) = results
            .iter()
            .cloned()
            .partition(|r| r.checked_at.timestamp_millis() % (10 * STEP_MS) != 0);
        store.insert_results(&early).await.unwrap();
        let now = Utc::now().timestamp_millis();
        store
            .roll_up(&plan(now, Retention::default()))
            .await
            .unwrap();
        let history = History::new(store.clone(), settings());
        let names = ["api".to_string()];
        let segment = |bars: &HashMap<String, wire::UptimeBar>| {
            let bar = &bars["api"];
            let date = Utc.timestamp_millis_opt(day).unwrap().date_naive();
            let i = (0..bar.days.len())
                .find(|i| bar.date(*i) == Some(date))
                .unwrap();
            bar.days[i].total()
        };
        assert_eq!(
            segment(&history.bars(&names, now).await.unwrap()),
            early.len() as u64
        );
        // Read again (from the cache of past days), then let late results in.
        assert_eq!(
            segment(&history.bars(&names, now).await.unwrap()),
            early.len() as u64
        );
        store.insert_results(&late).await.unwrap();
        store
            .roll_up(&plan(now, Retention::default()))
            .await
            .unwrap();
        assert_eq!(
            segment(&history.bars(&names, now).await.unwrap()),
            results.len() as u64,
            "a roll-up of a past day invalidates the cached days"
        );
    }
);

on_both_backends!(
    the_roll_up_and_the_writer_never_collide,
    |backend| async move {
        // A day of results to roll up, while the history writer stores a
        // batch of new ones every few milliseconds: on SQLite a roll-up
        // that read before taking the write lock failed with "database
        // is locked" whenever a batch committed in between.
        let db = TestDb::new(backend).await;
        let store = store::connect(&db.url).await.unwrap();
        let now = Utc::now().timestamp_millis();
        let day = server::history::floor_to(now, DAY_MS) - 2 * DAY_MS;
        let history = synthetic("api", day);
        let template = history[0].clone();
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let batches = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let writing = {
            let (store, done, batches) = (store.clone(), done.clone(), batches.clone());
            tokio::spawn(async move {
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    // Results of the hour under way, as probes send them.
                    let results: Vec<ProbeResult> = (0..10)
                        .map(|i| ProbeResult {
                            checked_at: Utc.timestamp_millis_opt(now - 10_000 + i).unwrap(),
                            ..template.clone()
                        })
                        .collect();
                    store.insert_results(&results).await.unwrap();
                    batches.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            })
        };
        // Each run rolls up a slice of the day, so every run reads and
        // writes while the writer goes on; runs go on until the writer has
        // stored batches between them.
        let mut slices = history.chunks(2 * 120);
        let mut run = 0;
        while run < 10 || batches.load(std::sync::atomic::Ordering::Relaxed) < 20 {
            if let Some(hours) = slices.next() {
                store.insert_results(hours).await.unwrap();
            }
            store
                .roll_up(&plan(now, Retention::default()))
                .await
                .unwrap_or_else(|e| panic!("roll-up {run} collided with the writer: {e}"));
            run += 1;
            assert!(run < 10_000, "the writer stored too few batches");
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        writing.await.unwrap();
        store.close().await;
    }
);

on_both_backends!(
    the_hour_under_way_counted_minute_by_minute_equals_counting_it_at_once,
    |backend| async move {
        let db = TestDb::new(backend).await;
        let store = store::connect(&db.url).await.unwrap();
        let day = synthetic_day();
        let results = synthetic("api", day);
        // The hours before 22:00 are rolled up; then hour 22 arrives a
        // minute at a time, with a roll-up after each minute.
        let hour = day + 22 * HOUR_MS;
        let (before, during): (Vec<_>, Vec<_>) = results
            .iter()
            .cloned()
            .partition(|r| r.checked_at.timestamp_millis() < hour);
        store.insert_results(&before).await.unwrap();
        store
            .roll_up(&plan(hour + 5 * 60_000, Retention::default()))
            .await
            .unwrap();
        for minute in 0..40 {
            let (from, to) = (hour + minute * 60_000, hour + (minute + 1) * 60_000);
            let arriving: Vec<_> = during
                .iter()
                .filter(|r| (from..to).contains(&r.checked_at.timestamp_millis()))
                .cloned()
                .collect();
            store.insert_results(&arriving).await.unwrap();
            store
                .roll_up(&plan(to + 2 * 60_000, Retention::default()))
                .await
                .unwrap();
        }
        // Counted at 22:40 (the last run's now, 22:42, less the grace).
        let through = hour + 40 * 60_000;
        let counted: Vec<_> = during
            .iter()
            .filter(|r| r.checked_at.timestamp_millis() < through)
            .cloned()
            .collect();
        let previous = before.last().map(|r| r.checked_at.timestamp_millis());
        let expected = Bucket::build(hour, through, &counted, previous, 2 * STEP_MS);
        let hours = store
            .buckets(Resolution::Hour, &[], hour, hour + HOUR_MS)
            .await
            .unwrap();
        assert_eq!(hours.len(), 1);
        assert_eq!(hours[0].1, expected, "the provisional hour, built once");
        // The day is its finished hours plus the hour as counted so far.
        let days = store
            .buckets(Resolution::Day, &[], day, day + DAY_MS)
            .await
            .unwrap();
        let finished = store
            .buckets(Resolution::Hour, &[], day, hour)
            .await
            .unwrap();
        let mut sum = Bucket::empty(day);
        for (_, bucket) in &finished {
            sum.merge(bucket);
        }
        sum.merge(&expected);
        assert_eq!(days[0].1, sum, "the day follows the hour under way");
        store.close().await;
    }
);

on_both_backends!(
    a_finished_hour_of_many_services_is_rolled_up_whole,
    |backend| async move {
        // More services than one roll-up group (250), so the hour is
        // taken in several transactions; none may be missed or doubled.
        let db = TestDb::new(backend).await;
        let store = store::connect(&db.url).await.unwrap();
        let day = synthetic_day();
        let services = 600;
        let per_service = 4;
        let results: Vec<ProbeResult> = (0..services)
            .flat_map(|s| {
                let name: Arc<str> = Arc::from(format!("svc-{s}"));
                (0..per_service).map(move |k| ProbeResult {
                    service: name.clone(),
                    checked_at: Utc
                        .timestamp_millis_opt(day + 10 * HOUR_MS + k * 10 * 60_000)
                        .unwrap(),
                    success: k != 3,
                    latency: Duration::from_millis(20),
                    status_code: Some(200),
                    message: "HTTP 200".into(),
                    conditions: vec![],
                    region: None,
                    certificate_expiration: None,
                })
            })
            .collect();
        store.insert_results(&results).await.unwrap();
        let report = store
            .roll_up(&plan(day + 11 * HOUR_MS + 5 * 60_000, Retention::default()))
            .await
            .unwrap();
        assert_eq!(report.hours, services as u64);
        assert_eq!(report.results, (services * per_service) as u64);
        let hours = store
            .buckets(Resolution::Hour, &[], day, day + DAY_MS)
            .await
            .unwrap();
        assert_eq!(hours.len(), services as usize);
        assert!(hours
            .iter()
            .all(|(_, b)| b.total == per_service as u64 && b.successful == 3));
        for s in [0, 249, 250, 599] {
            let kept = store
                .results_between(&format!("svc-{s}"), day, day + DAY_MS, 100)
                .await
                .unwrap();
            assert_eq!(kept.len(), per_service as usize, "svc-{s}");
        }
    }
);

on_both_backends!(
    the_hour_under_way_of_many_services_is_counted_for_each,
    |backend| async move {
        // More services than one roll-up group (250), counted a minute at
        // a time: each service's provisional hour and day must be its own
        // rows, counted once. Every fifth service starts three minutes
        // late, so some groups meet a service's first rows mid-hour.
        let db = TestDb::new(backend).await;
        let store = store::connect(&db.url).await.unwrap();
        let day = synthetic_day();
        let hour = day + 10 * HOUR_MS;
        let services = 600_i64;
        let minutes = 6;
        let probed = |s: i64, minute: i64| s % 5 != 0 || minute >= 3;
        let result = |s: i64, minute: i64| ProbeResult {
            service: Arc::from(format!("svc-{s}")),
            checked_at: Utc
                .timestamp_millis_opt(hour + minute * 60_000 + s * 50)
                .unwrap(),
            success: (s + minute) % 7 != 0,
            latency: Duration::from_micros((1_000 + s * 37 + minute * 5) as u64),
            status_code: Some(200),
            message: "HTTP 200".into(),
            conditions: vec![],
            region: None,
            certificate_expiration: None,
        };
        for minute in 0..minutes {
            let arriving: Vec<_> = (0..services)
                .filter(|&s| probed(s, minute))
                .map(|s| result(s, minute))
                .collect();
            store.insert_results(&arriving).await.unwrap();
            // The grace is two minutes: this counts through the minute's end.
            let report = store
                .roll_up(&plan(hour + (minute + 3) * 60_000, Retention::default()))
                .await
                .unwrap();
            assert_eq!(report.provisional, arriving.len() as u64, "minute {minute}");
        }
        let through = hour + minutes * 60_000;
        let hours: HashMap<String, Bucket> = store
            .buckets(Resolution::Hour, &[], hour, hour + HOUR_MS)
            .await
            .unwrap()
            .into_iter()
            .collect();
        let days: HashMap<String, Bucket> = store
            .buckets(Resolution::Day, &[], day, day + DAY_MS)
            .await
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(
            (hours.len(), days.len()),
            (services as usize, services as usize)
        );
        for s in 0..services {
            let name = format!("svc-{s}");
            let own: Vec<_> = (0..minutes)
                .filter(|&m| probed(s, m))
                .map(|m| result(s, m))
                .collect();
            let expected = Bucket::build(hour, through, &own, None, 120_000);
            assert_eq!(hours[&name], expected, "{name}'s hour");
            let mut sum = Bucket::empty(day);
            sum.merge(&expected);
            assert_eq!(days[&name], sum, "{name}'s day");
        }
        store.close().await;
    }
);

on_both_backends!(
    a_long_window_sums_whole_days_and_the_hours_at_each_end,
    |backend| async move {
        // Three synthetic days rolled up, then a few hot results: a window
        // from mid-hour of the first day to now is read as that day's
        // remaining hours, the whole days between from daily buckets, and
        // today's hours plus hot rows. The figures must equal counting
        // every result it holds.
        let db = TestDb::new(backend).await;
        let store: Arc<dyn Store> = store::connect(&db.url).await.unwrap();
        let day = synthetic_day();
        let mut results = Vec::new();
        for first in [day - 2 * DAY_MS, day - DAY_MS, day] {
            results.extend(synthetic("api", first));
        }
        store.insert_results(&results).await.unwrap();
        let now = Utc::now().timestamp_millis();
        store
            .roll_up(&plan(now, Retention::default()))
            .await
            .unwrap();
        // Newer than the roll-up's watermark (now less its grace): hot.
        let hot: Vec<ProbeResult> = [90_000, 60_000, 30_000]
            .into_iter()
            .map(|ago| ProbeResult {
                checked_at: Utc.timestamp_millis_opt(now - ago).unwrap(),
                success: ago != 60_000,
                latency: Duration::from_millis(700),
                ..results[0].clone()
            })
            .collect();
        store.insert_results(&hot).await.unwrap();
        let history = History::new(store.clone(), settings());
        let from = day - 2 * DAY_MS + 5 * HOUR_MS + 17 * 60_000;
        let totals = history
            .totals(&["api".into()], from, now + 1, now)
            .await
            .unwrap();
        let start = day - 2 * DAY_MS + 5 * HOUR_MS;
        assert_eq!((totals.start_ms, totals.end_ms), (start, now));
        let counted: Vec<ProbeResult> = results
            .iter()
            .chain(&hot)
            .filter(|r| r.checked_at.timestamp_millis() >= start)
            .cloned()
            .collect();
        let (total, ok, latencies) = brute_force(&counted);
        let figures = figures::window(
            "custom",
            Utc.timestamp_millis_opt(totals.start_ms).unwrap(),
            Utc.timestamp_millis_opt(totals.end_ms).unwrap(),
            &totals.services["api"],
            &Bands::default(),
        );
        assert_eq!(figures.total_count, total);
        assert_eq!(figures.error_count, total - ok);
        let latency = figures.latency.unwrap();
        assert_eq!(latency.max_ms, 700.0);
        assert_eq!(latency.median_ms, percentile(&latencies, 0.5));
        assert_eq!(latency.p99_ms, percentile(&latencies, 0.99));
        // Probes by hour count the same results, hour by hour.
        let by_hour = history
            .hourly_counts(&["api".into()], start, now + 1, now)
            .await
            .unwrap();
        assert_eq!(by_hour.values().sum::<u64>(), total);
        assert_eq!(by_hour[&(start + HOUR_MS)], 120);
        assert_eq!(
            by_hour[&server::history::floor_to(now - 60_000, HOUR_MS)],
            hot.iter()
                .filter(|r| r.checked_at.timestamp_millis()
                    >= server::history::floor_to(now - 60_000, HOUR_MS))
                .count() as u64
        );
    }
);
