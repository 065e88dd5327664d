//! `hale backup FILE`: an online, consistent copy of a SQLite store,
//! taken while Hale runs and writes (docs/configuration.md, "Backups").
//! SQLite's `VACUUM INTO` copies what one read transaction sees, so the
//! copy is the store as it stood at one instant, compacted, and never
//! blocks Hale's writers for longer than a page read. A Postgres store is
//! backed up with `pg_dump`, which does the same for Postgres.

use anyhow::{bail, Context};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};
use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, Instant};

/// Copies the store `database_url` names to `to` (which must not exist),
/// checks the copy, and says what it holds.
pub async fn backup(database_url: &str, to: &Path) -> anyhow::Result<String> {
    let shown = crate::store::redact(database_url);
    if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
        bail!(
            "{shown} is a Postgres store: back it up with pg_dump, online and consistent:\n  \
             pg_dump --format=custom --file=hale.dump '{shown}'\n\
             and restore it into an empty database with\n  \
             pg_restore --no-owner --dbname='<url>' hale.dump\n\
             (docs/configuration.md, \"Backups\")"
        );
    }
    if !database_url.starts_with("sqlite:") {
        bail!("{shown}: not a sqlite:// or postgres:// URL");
    }
    if to.exists() {
        bail!("{} exists; keeping it (choose a new file)", to.display());
    }
    let target = to
        .to_str()
        .with_context(|| format!("{}: the path is not UTF-8", to.display()))?;
    let started = Instant::now();
    let mut source = SqliteConnectOptions::from_str(database_url)?
        .create_if_missing(false)
        .busy_timeout(Duration::from_secs(5))
        .connect()
        .await
        .with_context(|| format!("opening {shown}"))?;
    let hale: Option<(String,)> = sqlx::query_as(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'probe_results'",
    )
    .fetch_optional(&mut source)
    .await?;
    if hale.is_none() {
        bail!("{shown} is not a Hale store (it has no probe_results table)");
    }
    sqlx::query("VACUUM INTO ?")
        .bind(target)
        .execute(&mut source)
        .await
        .with_context(|| format!("copying {shown} to {}", to.display()))?;
    source.close().await?;
    let took = started.elapsed();

    // The copy opens, is whole, and holds what it should.
    let mut copy = SqliteConnectOptions::new()
        .filename(to)
        .read_only(true)
        .connect()
        .await
        .with_context(|| format!("opening the copy {}", to.display()))?;
    let (check,): (String,) = sqlx::query_as("PRAGMA quick_check")
        .fetch_one(&mut copy)
        .await?;
    if check != "ok" {
        bail!("the copy {} fails SQLite's check: {check}", to.display());
    }
    let (services, results): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM services), (SELECT count(*) FROM probe_results)",
    )
    .fetch_one(&mut copy)
    .await?;
    copy.close().await?;
    let bytes = std::fs::metadata(to)?.len();
    Ok(format!(
        "backed up {shown} to {} in {} ms: {bytes} bytes, {services} services, {results} recent results (checked)\n\
         restore: stop Hale, copy it over the store's file, delete the file's -wal and -shm beside it, start Hale",
        to.display(),
        took.as_millis()
    ))
}
