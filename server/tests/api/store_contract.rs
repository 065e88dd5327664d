//! The storage contract, run against SQLite and Postgres alike.

use crate::helpers::*;
use crate::on_both_backends;
use chrono::{Duration as Span, TimeZone, Utc};
use server::event::ProbeResult;
use server::event::StatusChange;
use server::store;
use std::sync::Arc;
use std::time::Duration;
use wire::{ConditionOutcome, ServiceStatus};

fn result(service: &str, minute: i64, success: bool) -> ProbeResult {
    ProbeResult {
        service: Arc::from(service),
        checked_at: Utc.with_ymd_and_hms(2026, 1, 15, 10, 0, 0).unwrap() + Span::minutes(minute),
        success,
        latency: Duration::from_micros(12_345 + minute as u64),
        status_code: success.then_some(200),
        message: if success {
            "HTTP 200".into()
        } else {
            "connection failed: refused".into()
        },
        conditions: vec![ConditionOutcome {
            condition: "[STATUS] == 200".into(),
            success,
        }],
        region: (minute % 2 == 0).then(|| "eu-west".into()),
    }
}

on_both_backends!(
    results_round_trip_and_latest_is_per_service,
    |backend| async move {
        let db = TestDb::new(backend).await;
        let store = store::connect(&db.url).await.unwrap();
        store.ping().await.unwrap();
        assert!(store.latest_results().await.unwrap().is_empty());

        let written = vec![
            result("api", 0, true),
            result("api", 2, false),
            result("web", 1, true),
            result("api", 1, true),
        ];
        store.insert_results(&written).await.unwrap();

        let latest = store.latest_results().await.unwrap();
        assert_eq!(
            latest,
            vec![written[1].clone(), written[2].clone()],
            "newest per service, by name"
        );

        let recent = store.recent_results("api", 2).await.unwrap();
        assert_eq!(
            recent,
            vec![written[1].clone(), written[3].clone()],
            "newest first, limited"
        );
        assert!(store.recent_results("nobody", 5).await.unwrap().is_empty());
        store.close().await;
    }
);

on_both_backends!(large_batches_are_stored_whole, |backend| async move {
    let db = TestDb::new(backend).await;
    let store = store::connect(&db.url).await.unwrap();
    let batch: Vec<_> = (0..2_500).map(|m| result("bulk", m, m % 7 != 0)).collect();
    store.insert_results(&batch).await.unwrap();
    let stored = store.recent_results("bulk", 5_000).await.unwrap();
    assert_eq!(stored.len(), 2_500);
    assert_eq!(
        stored.iter().filter(|r| !r.success).count(),
        batch.iter().filter(|r| !r.success).count()
    );
    assert_eq!(stored[0], batch[2_499]);
    store.close().await;
});

on_both_backends!(status_changes_round_trip, |backend| async move {
    let db = TestDb::new(backend).await;
    let store = store::connect(&db.url).await.unwrap();
    let at = Utc.with_ymd_and_hms(2026, 1, 15, 10, 0, 0).unwrap();
    let changes = vec![
        StatusChange {
            service: "api".into(),
            from: ServiceStatus::Unknown,
            to: ServiceStatus::Operational,
            at,
            cause: "first check succeeded: HTTP 200".into(),
        },
        StatusChange {
            service: "api".into(),
            from: ServiceStatus::Operational,
            to: ServiceStatus::Down,
            at: at + Span::minutes(5),
            cause: "3 consecutive failures: HTTP 500".into(),
        },
    ];
    store.insert_status_changes(&changes).await.unwrap();
    let stored = store.recent_status_changes("api", 10).await.unwrap();
    assert_eq!(stored, vec![changes[1].clone(), changes[0].clone()]);

    let web = StatusChange {
        service: "web".into(),
        from: ServiceStatus::Unknown,
        to: ServiceStatus::Operational,
        at,
        cause: "first check succeeded: HTTP 200".into(),
    };
    store
        .insert_status_changes(std::slice::from_ref(&web))
        .await
        .unwrap();
    let latest = store.latest_status_changes().await.unwrap();
    assert_eq!(
        latest,
        vec![changes[1].clone(), web],
        "newest per service, by name"
    );
    store.close().await;
});

on_both_backends!(
    large_change_batches_and_nul_characters_are_stored,
    |backend| async move {
        let db = TestDb::new(backend).await;
        let store = store::connect(&db.url).await.unwrap();
        let at = Utc.with_ymd_and_hms(2026, 1, 15, 10, 0, 0).unwrap();
        // More rows than one statement may bind on SQLite (5 parameters each).
        let changes: Vec<StatusChange> = (0..7_000)
            .map(|i| StatusChange {
                service: "flappy".into(),
                from: ServiceStatus::Operational,
                to: ServiceStatus::Down,
                at: at + Span::seconds(i),
                cause: format!("change {i}"),
            })
            .collect();
        store.insert_status_changes(&changes).await.unwrap();
        assert_eq!(
            store
                .recent_status_changes("flappy", 10_000)
                .await
                .unwrap()
                .len(),
            7_000
        );

        // Postgres refuses NUL in text; a push message or DNS TXT may hold one.
        let mut odd = result("odd", 0, false);
        odd.message = "bad\0byte".into();
        store.insert_results(&[odd]).await.unwrap();
        let stored = store.recent_results("odd", 1).await.unwrap();
        assert_eq!(stored[0].message, "bad\u{FFFD}byte");
        store.close().await;
    }
);

on_both_backends!(
    reopening_keeps_data_and_migrations_are_idempotent,
    |backend| async move {
        let db = TestDb::new(backend).await;
        let first = store::connect(&db.url).await.unwrap();
        first
            .insert_results(&[result("api", 0, true)])
            .await
            .unwrap();
        first.close().await;
        let second = store::connect(&db.url).await.unwrap();
        assert_eq!(second.latest_results().await.unwrap().len(), 1);
        second.close().await;
    }
);
