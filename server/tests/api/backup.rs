//! Backups (docs/configuration.md, "Backups"): `hale backup` copies a
//! SQLite store while it is written to, and the copy, restored as the
//! docs say, gives the same figures; a Postgres store goes through the
//! documented pg_dump and pg_restore.

use crate::helpers::*;
use crate::history::{synthetic, synthetic_day};
use chrono::{TimeZone, Utc};
use server::event::ProbeResult;
use server::history::{figures, HistorySettings, DAY_MS};
use server::store::{self, History, Store};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use wire::Bands;

const SERVICES: [&str; 3] = ["api", "web", "db"];
/// Results the load writes per transaction.
const BATCH: u64 = 25;

/// A synthetic day of every service, and what `History` makes of it: the
/// day's figures and each service's last results.
async fn figures_of(store: &Arc<dyn Store>, day: i64) -> Vec<String> {
    let history = History::new(store.clone(), HistorySettings::default());
    let names: Vec<String> = SERVICES.iter().map(|s| s.to_string()).collect();
    let totals = history
        .totals(&names, day, day + DAY_MS, day + DAY_MS + 60_000)
        .await
        .unwrap();
    let mut out = Vec::new();
    for name in SERVICES {
        let window = figures::window(
            "day",
            Utc.timestamp_millis_opt(totals.start_ms).unwrap(),
            Utc.timestamp_millis_opt(totals.end_ms).unwrap(),
            &totals.services[name],
            &Bands::default(),
        );
        out.push(serde_json::to_string(&window).unwrap());
    }
    out
}

async fn seeded(backend: Backend) -> (TestDb, Arc<dyn Store>, i64) {
    let db = TestDb::new(backend).await;
    let store = store::connect(&db.url).await.unwrap();
    let day = synthetic_day();
    for name in SERVICES {
        store.insert_results(&synthetic(name, day)).await.unwrap();
    }
    (db, store, day)
}

fn load_result(i: u64) -> ProbeResult {
    ProbeResult {
        service: Arc::from("load"),
        checked_at: Utc::now(),
        success: !i.is_multiple_of(3),
        latency: Duration::from_millis(i % 97),
        status_code: Some(200),
        message: format!("load #{i}"),
        conditions: Vec::new(),
        region: None,
        certificate_expiration: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_backup_taken_under_load_restores_to_the_same_figures() {
    let (db, store, day) = seeded(Backend::Sqlite).await;
    let before = figures_of(&store, day).await;

    // Writers keep writing, a batch per transaction, while the backup
    // runs; it must see whole batches only.
    let written = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let load = tokio::spawn({
        let (store, written, stop) = (store.clone(), written.clone(), stop.clone());
        async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let batch: Vec<_> = (i..i + BATCH).map(load_result).collect();
                store.insert_results(&batch).await.unwrap();
                i += BATCH;
                written.store(i, Ordering::Relaxed);
            }
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.db");
    // Under load: the writers are going.
    eventually("the load writes", || async {
        (written.load(Ordering::Relaxed) >= 4 * BATCH).then_some(())
    })
    .await;
    let out = tokio::task::spawn_blocking({
        let (url, copy) = (db.url.clone(), copy.clone());
        move || {
            Command::new(env!("CARGO_BIN_EXE_hale"))
                .arg("backup")
                .arg(&copy)
                .args(["--database-url", &url])
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let at_backup = written.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    load.await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("4 services"), "{stdout}");
    assert!(stdout.contains("(checked)"), "{stdout}");

    // Restored as the docs say: the copy in place of the store's file.
    let restored_dir = tempfile::tempdir().unwrap();
    let restored = restored_dir.path().join("hale.db");
    std::fs::copy(&copy, &restored).unwrap();
    let restored = store::connect(&format!("sqlite://{}", restored.display()))
        .await
        .unwrap();
    assert_eq!(figures_of(&restored, day).await, before);
    // One instant's store: whole batches, at most those written by then.
    let load_rows = restored.recent_results("load", 1_000_000).await.unwrap();
    let n = load_rows.len() as u64;
    assert!(n >= 4 * BATCH && n <= at_backup, "{n} of {at_backup}");
    assert!(
        n.is_multiple_of(BATCH),
        "{n} results: a batch was cut in half"
    );
    let mut messages: Vec<String> = load_rows.into_iter().map(|r| r.message).collect();
    messages.sort_by_key(|m| m[6..].parse::<u64>().unwrap());
    let expected: Vec<String> = (0..n).map(|i| format!("load #{i}")).collect();
    assert_eq!(messages, expected, "the first {n} written, none missing");
    restored.close().await;
    store.close().await;
}

#[tokio::test]
async fn backup_refuses_to_overwrite_or_copy_what_is_not_a_hale_store() {
    let dir = tempfile::tempdir().unwrap();
    let run = |file: &std::path::Path, url: &str| {
        Command::new(env!("CARGO_BIN_EXE_hale"))
            .arg("backup")
            .arg(file)
            .args(["--database-url", url])
            .output()
            .unwrap()
    };
    let exists = dir.path().join("exists.db");
    std::fs::write(&exists, "mine").unwrap();
    let (db, store, _) = seeded(Backend::Sqlite).await;
    let out = run(&exists, &db.url);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists; keeping it"));
    assert_eq!(std::fs::read_to_string(&exists).unwrap(), "mine");
    store.close().await;

    let out = run(
        &dir.path().join("new.db"),
        &format!("sqlite://{}", dir.path().join("missing.db").display()),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        !dir.path().join("missing.db").exists(),
        "nothing is created"
    );

    let out = run(
        &dir.path().join("new.db"),
        "postgres://hale:secret@db.example/hale",
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("pg_dump --format=custom"), "{stderr}");
    assert!(!stderr.contains("secret"), "{stderr}");
}

/// The Postgres way the docs give, run as written: pg_dump of a store in
/// use, pg_restore into an empty database, the same figures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_store_restores_from_pg_dump_to_the_same_figures() {
    let (db, store, day) = seeded(Backend::Postgres).await;
    let before = figures_of(&store, day).await;
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("hale.dump");
    let ran = |command: &mut Command| {
        let out = command.output().unwrap();
        assert!(
            out.status.success(),
            "{command:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ran(Command::new("pg_dump")
        .arg("--format=custom")
        .arg(format!("--file={}", dump.display()))
        .arg(&db.url));
    let empty = TestDb::new(Backend::Postgres).await;
    ran(Command::new("pg_restore")
        .arg("--no-owner")
        .arg(format!("--dbname={}", empty.url))
        .arg(&dump));
    let restored = store::connect(&empty.url).await.unwrap();
    assert_eq!(figures_of(&restored, day).await, before);
    restored.close().await;
    store.close().await;
}
