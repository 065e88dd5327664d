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
        certificate_expiration: None,
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

/// `api`'s `down` alert, fired at 1 s.
fn api_down() -> server::store::alerts::AlertRow {
    server::store::alerts::AlertRow {
        id: 0,
        service: "api".into(),
        rule: "down".into(),
        severity: "critical".into(),
        fired_at_ms: 1_000,
        resolved_at_ms: None,
        message: "api is down: connection refused".into(),
    }
}

on_both_backends!(
    alerts_and_their_outbox_survive_a_reopen,
    |backend| async move {
        use server::store::alerts::AlertRow;
        use server::store::StoreError;
        let db = TestDb::new(backend).await;
        let store = store::connect(&db.url).await.unwrap();
        let alerts = store.alerts();
        let down = api_down();
        let channels = ["ops".to_string(), "team".to_string()];
        let id = alerts.fire(&down, &channels, None).await.unwrap();
        // One open alert of a rule per service: a second is refused.
        assert!(matches!(
            alerts.fire(&down, &channels, None).await,
            Err(StoreError::Conflict(_))
        ));
        let other = AlertRow {
            service: "web".into(),
            ..down.clone()
        };
        alerts.fire(&other, &[], None).await.unwrap();

        // Both messages are due at once, oldest first.
        assert_eq!(alerts.next_due().await.unwrap(), Some(1_000));
        assert!(alerts.due(999, 10).await.unwrap().is_empty());
        let due = alerts.due(1_000, 10).await.unwrap();
        assert_eq!(due.len(), 2);
        assert_eq!(due[0].alert, AlertRow { id, ..down.clone() });
        assert_eq!(
            (due[0].event.as_str(), due[0].channel.as_str()),
            ("firing", "ops")
        );
        alerts.delivered(&[due[0].id], 1_100).await.unwrap();
        alerts
            .failed(&[due[1].id], 1_100, "HTTP 500", Some(31_100))
            .await
            .unwrap();
        assert_eq!(alerts.next_due().await.unwrap(), Some(31_100));

        // A reopened store still knows what is open and what is owed.
        store.close().await;
        let store = store::connect(&db.url).await.unwrap();
        let alerts = store.alerts();
        let open = alerts.open_alerts().await.unwrap();
        assert_eq!(
            open.iter().map(|a| a.service.as_str()).collect::<Vec<_>>(),
            ["api", "web"]
        );
        let retry = alerts.due(31_100, 10).await.unwrap();
        assert_eq!(retry.len(), 1);
        assert_eq!(retry[0].attempts, 1);
        assert_eq!(retry[0].last_error.as_deref(), Some("HTTP 500"));
        alerts
            .failed(&[retry[0].id], 31_200, "HTTP 500", None)
            .await
            .unwrap();
        assert_eq!(alerts.next_due().await.unwrap(), None);

        // Resolving queues the resolved messages, once.
        assert!(alerts.resolve(id, 5_000, &channels).await.unwrap());
        assert!(!alerts.resolve(id, 6_000, &channels).await.unwrap());
        assert_eq!(alerts.open_alerts().await.unwrap().len(), 1);
        let resolved = alerts.due(5_000, 10).await.unwrap();
        assert_eq!(resolved.len(), 2);
        assert!(resolved
            .iter()
            .all(|d| d.event == "resolved" && d.alert.resolved_at_ms == Some(5_000)));
        // The rule may fire again once resolved.
        alerts.fire(&down, &channels, None).await.unwrap();

        // The log, newest first, pages by id.
        let all = alerts.deliveries(None, 100).await.unwrap();
        assert_eq!(all.len(), 6);
        assert!(all.windows(2).all(|w| w[0].id > w[1].id));
        let given_up = all.iter().find(|d| d.given_up_at_ms.is_some()).unwrap();
        assert_eq!((given_up.attempts, given_up.due_at_ms), (2, None));
        let delivered = all.iter().find(|d| d.delivered_at_ms.is_some()).unwrap();
        assert_eq!(delivered.delivered_at_ms, Some(1_100));
        let older = alerts.deliveries(Some(all[1].id), 100).await.unwrap();
        assert_eq!(older.len(), 4);
        store.close().await;
    }
);

on_both_backends!(
    reminders_wait_for_their_time_and_go_with_the_alert,
    |backend| async move {
        use server::store::alerts::AlertCounts;
        let db = TestDb::new(backend).await;
        let store = store::connect(&db.url).await.unwrap();
        let alerts = store.alerts();
        let down = api_down();
        let channels = ["ops".to_string()];
        let id = alerts.fire(&down, &channels, Some(61_000)).await.unwrap();
        // The reminder waits for its time.
        let now = alerts.due(1_000, 10).await.unwrap();
        assert_eq!(now.len(), 1);
        assert_eq!(now[0].event, "firing");
        // Held back (a storm's window), a message waits; a sent one is
        // not brought back.
        alerts.postpone(&[now[0].id], 30_000).await.unwrap();
        assert!(alerts.due(29_999, 10).await.unwrap().is_empty());
        let later = alerts.due(30_000, 10).await.unwrap();
        assert_eq!(later.len(), 1);
        alerts.delivered(&[later[0].id], 30_000).await.unwrap();
        alerts.postpone(&[later[0].id], 40_000).await.unwrap();
        assert_eq!(alerts.next_due().await.unwrap(), Some(61_000));
        let reminder = alerts.due(61_000, 10).await.unwrap();
        assert_eq!(reminder.len(), 1);
        assert_eq!(reminder[0].event, "renotify");
        assert_eq!(
            alerts.counts().await.unwrap(),
            AlertCounts {
                open: vec![("critical".into(), 1)],
                messages: vec![
                    ("ops".into(), "delivered".into(), 1),
                    ("ops".into(), "queued".into(), 1),
                ],
            }
        );
        // Resolved, the reminder not sent yet is dropped.
        assert!(alerts.resolve(id, 70_000, &channels).await.unwrap());
        // A reminder queued after it resolved is not kept.
        alerts
            .queue(id, "renotify", &channels, 80_000)
            .await
            .unwrap();
        let due = alerts.due(100_000, 10).await.unwrap();
        assert_eq!(
            due.iter().map(|d| d.event.as_str()).collect::<Vec<_>>(),
            ["resolved"]
        );
        assert!(alerts.counts().await.unwrap().open.is_empty());
        store.close().await;
    }
);
