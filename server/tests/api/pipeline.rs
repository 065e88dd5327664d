//! Every status change, whatever decides it, goes through the one
//! pipeline: the notifier (alerting's slot) sees each change exactly as
//! the store records it, from probes, pushes, reloads, a stop and the
//! repair of an unclean stop.

use crate::helpers::*;
use server::engine::pipeline::Notifier;
use server::event::{ProbeResult, StatusChange};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use wire::ServiceStatus;

#[derive(Default)]
struct Recorder {
    changes: Mutex<Vec<StatusChange>>,
    results: AtomicUsize,
}

impl Notifier for Recorder {
    fn status_changed(&self, change: &StatusChange) {
        self.changes.lock().unwrap().push(change.clone());
    }
    fn probed(&self, _: &ProbeResult) {
        self.results.fetch_add(1, Ordering::Relaxed);
    }
}

impl Recorder {
    fn saw(&self, service: &str, to: ServiceStatus, cause: &str) -> bool {
        self.changes
            .lock()
            .unwrap()
            .iter()
            .any(|c| c.service == service && c.to == to && c.cause.contains(cause))
    }
}

const SERVICES: &str = "
services:
  - {name: api, url: '{target}/health', interval: 1s, failure_threshold: 1, success_threshold: 1}
  - {name: old, url: '{target}/old', interval: 1s, failure_threshold: 1, success_threshold: 1}
  - {name: job, url: 'push://nightly-job-token-0123456789', interval: 1h}
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_notifier_sees_every_change_the_store_records_from_every_source() {
    // The last run left `api` operational without recording its stop.
    let db = TestDb::new(Backend::Sqlite).await;
    let earlier = StatusChange {
        service: "api".into(),
        from: ServiceStatus::Unknown,
        to: ServiceStatus::Operational,
        at: server::clock::now() - chrono::Duration::hours(1),
        cause: "first check succeeded: HTTP 200".into(),
    };
    {
        let store = server::store::connect(&db.url).await.unwrap();
        store
            .insert_status_changes(std::slice::from_ref(&earlier))
            .await
            .unwrap();
        store.close().await;
    }
    let recorder = Arc::new(Recorder::default());
    let notifier = recorder.clone();
    let mut app = spawn_app_with(db, SERVICES, move |settings| settings.notifier = notifier).await;

    // Crash repair, then probes.
    eventually("the crash gap and the first probes", || async {
        (recorder.saw("api", ServiceStatus::Unknown, "without recording it")
            && recorder.saw("api", ServiceStatus::Operational, "first check")
            && recorder.saw("old", ServiceStatus::Operational, "first check"))
        .then_some(())
    })
    .await;
    assert!(recorder.results.load(Ordering::Relaxed) >= 2);

    // A push.
    let pushed = app
        .http
        .post(format!(
            "{}/api/push/nightly-job-token-0123456789",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(pushed.status(), 200);
    eventually("the push", || async {
        recorder
            .saw("job", ServiceStatus::Operational, "")
            .then_some(())
    })
    .await;

    // A reload that removes a service.
    let without_old = SERVICES
        .replace("{target}", &app.target.base)
        .lines()
        .filter(|l| !l.contains("name: old"))
        .collect::<Vec<_>>()
        .join("\n");
    let config =
        server::config::Config::parse(&without_old, std::path::Path::new("t.yaml"), |_| None)
            .unwrap();
    app.hale.reload(config).await.unwrap();
    eventually("the removal", || async {
        recorder
            .saw(
                "old",
                ServiceStatus::Unknown,
                "removed from the configuration",
            )
            .then_some(())
    })
    .await;

    // A stop.
    let store = app.store();
    app.hale.shutdown().await;
    assert!(recorder.saw("api", ServiceStatus::Unknown, "Hale stopped"));
    assert!(recorder.saw("job", ServiceStatus::Unknown, "Hale stopped"));

    // The store holds exactly what the notifier saw: nothing recorded a
    // change by another way.
    let reopened = server::store::connect(&app.db.url).await.unwrap();
    drop(store);
    let seen = recorder.changes.lock().unwrap().clone();
    for service in ["api", "old", "job"] {
        let mut stored = reopened.recent_status_changes(service, 100).await.unwrap();
        stored.reverse();
        // The change the test wrote itself, as the last run, is not news.
        stored.retain(|c| *c != earlier);
        let notified: Vec<&StatusChange> = seen.iter().filter(|c| c.service == service).collect();
        assert_eq!(
            stored.iter().collect::<Vec<_>>(),
            notified,
            "{service}: the store and the notifier disagree"
        );
    }
    reopened.close().await;
}
