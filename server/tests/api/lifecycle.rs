//! Hale's own stops and starts are recorded, so the time it was not
//! watching counts as unknown, never as up.

use crate::helpers::*;
use crate::on_both_backends;
use app::model::ServiceStatus;
use chrono::{Duration as Span, Utc};
use server::probe::ProbeResult;
use server::tracker::StatusChange;
use std::sync::Arc;
use std::time::Duration;

async fn wait_until_operational(app: &TestApp) {
    for _ in 0..100 {
        if app.hale.state.board.views()[0].status == ServiceStatus::Operational {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("api never became operational");
}

on_both_backends!(
    a_clean_stop_records_every_service_as_unknown,
    |backend| async move {
        let app = spawn_app(backend, ONE_SERVICE).await;
        wait_until_operational(&app).await;
        let url = app.db.url.clone();
        app.hale.shutdown().await;

        let store = server::store::connect(&url).await.unwrap();
        let changes = store.recent_status_changes("api", 10).await.unwrap();
        let transitions: Vec<_> = changes
            .iter()
            .map(|c| (c.from, c.to, c.cause.as_str()))
            .collect();
        assert_eq!(
            transitions[0],
            (
                ServiceStatus::Operational,
                ServiceStatus::Unknown,
                "Hale stopped"
            )
        );
        assert_eq!(
            (transitions[1].0, transitions[1].1),
            (ServiceStatus::Unknown, ServiceStatus::Operational)
        );
        store.close().await;
    }
);

on_both_backends!(
    a_start_after_a_crash_closes_the_gap_at_the_last_result,
    |backend| async move {
        let db = TestDb::new(backend).await;
        // What a crashed run leaves: api operational, last checked 10 min ago.
        let last_checked = server::probe::now() - Span::minutes(10);
        {
            let store = server::store::connect(&db.url).await.unwrap();
            store
                .insert_status_changes(&[StatusChange {
                    service: "api".into(),
                    from: ServiceStatus::Unknown,
                    to: ServiceStatus::Operational,
                    at: last_checked - Span::hours(1),
                    cause: "first check succeeded: HTTP 200".into(),
                }])
                .await
                .unwrap();
            store
                .insert_results(&[ProbeResult {
                    service: Arc::from("api"),
                    checked_at: last_checked,
                    success: true,
                    latency: Duration::from_millis(3),
                    status_code: Some(200),
                    message: "HTTP 200".into(),
                    conditions: vec![],
                    region: None,
                }])
                .await
                .unwrap();
            store.close().await;
        }

        let app = spawn_app_on(db, ONE_SERVICE).await;
        let changes = app.store().recent_status_changes("api", 10).await.unwrap();
        let gap = changes
            .iter()
            .find(|c| c.to == ServiceStatus::Unknown)
            .unwrap_or_else(|| panic!("no gap recorded: {changes:?}"));
        assert_eq!(gap.from, ServiceStatus::Operational);
        assert_eq!(
            gap.at, last_checked,
            "the gap starts at the last result Hale had"
        );
        assert!(gap.cause.contains("without recording it"), "{}", gap.cause);
        assert!(gap.at < Utc::now());
        // The page starts unknown, not at the stale operational.
        assert_eq!(
            app.hale.state.board.views()[0].status,
            ServiceStatus::Unknown
        );
        app.hale.shutdown().await;
    }
);
