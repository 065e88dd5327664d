//! Hale's own stops and starts are recorded, so the time it was not
//! watching counts as unknown, never as up.

use crate::helpers::*;
use crate::on_both_backends;
use chrono::Duration as Span;
use server::event::ProbeResult;
use server::event::StatusChange;
use std::sync::Arc;
use std::time::Duration;
use wire::ServiceStatus;

async fn wait_until_operational(app: &TestApp) {
    operational(app, 0, "api").await;
}

/// Waits until the `index`th service is operational.
async fn operational(app: &TestApp, index: usize, name: &str) {
    eventually(&format!("{name} operational"), || async {
        (app.hale.board().live_views()[index].status == ServiceStatus::Operational).then_some(())
    })
    .await;
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
        let last_checked = server::clock::now() - Span::minutes(10);
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
                    certificate_expiration: None,
                }])
                .await
                .unwrap();
            store.close().await;
        }

        let app = spawn_app_on(db, ONE_SERVICE).await;
        let store = app.store();
        let gap = eventually("the gap to be recorded", || async {
            let changes = store.recent_status_changes("api", 10).await.unwrap();
            changes.into_iter().find(|c| c.to == ServiceStatus::Unknown)
        })
        .await;
        assert_eq!(gap.from, ServiceStatus::Operational);
        assert_eq!(
            gap.at, last_checked,
            "the gap starts at the last result Hale had"
        );
        assert!(gap.cause.contains("without recording it"), "{}", gap.cause);
        // The service starts unknown, not at the stale operational: its
        // first change this run is from unknown.
        let first = eventually("the first check of this run", || async {
            let changes = store.recent_status_changes("api", 10).await.unwrap();
            changes
                .into_iter()
                .find(|c| c.at > last_checked && c.to != ServiceStatus::Unknown)
        })
        .await;
        assert_eq!(first.from, ServiceStatus::Unknown, "{first:?}");
        app.hale.shutdown().await;
    }
);

on_both_backends!(
    a_reload_keeps_state_and_swaps_services,
    |backend| async move {
        let mut app = spawn_app(backend, ONE_SERVICE).await;
        wait_until_operational(&app).await;
        let both = format!(
            "services:\n  - name: api\n    group: Core\n    url: '{0}/health'\n    interval: 1s\n    failure_threshold: 1\n    success_threshold: 1\n    conditions: ['[STATUS] == 200', '[BODY].status == UP']\n  - name: web\n    url: '{0}/web'\n    interval: 1s\n",
            app.target.base
        );
        let config =
            server::config::Config::parse(&both, std::path::Path::new("t.yaml"), |_| None).unwrap();
        assert_eq!(config.services.len(), 2);

        let outcome = app.hale.reload(config).await.unwrap();
        assert_eq!((outcome.kept, outcome.started), (1, 1));
        let views = app.hale.board().live_views();
        assert_eq!(
            views[0].status,
            ServiceStatus::Operational,
            "api keeps its state"
        );
        assert_eq!(views[1].name, "web");
        operational(&app, 1, "web").await;

        // Dropping `api` records it as unknown from now.
        let only_web = format!(
            "services:\n  - name: web\n    url: '{}/web'\n    interval: 1s\n",
            app.target.base
        );
        let config =
            server::config::Config::parse(&only_web, std::path::Path::new("t.yaml"), |_| None)
                .unwrap();
        let outcome = app.hale.reload(config).await.unwrap();
        assert_eq!((outcome.kept, outcome.stopped), (1, 1));
        let store = app.store();
        eventually("the removal to be recorded", || async {
            let changes = store.recent_status_changes("api", 1).await.unwrap();
            (changes[0].cause == "removed from the configuration").then_some(())
        })
        .await;
        assert_eq!(app.hale.board().live_views().len(), 1);
        app.hale.shutdown().await;
    }
);
