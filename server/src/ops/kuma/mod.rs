//! `hale import uptime-kuma kuma.db`: a Hale config from an Uptime Kuma
//! database (the 1.23 schema or 2.x's), and with `--history` its
//! heartbeats in Hale's store.
//!
//! - [`db`] reads Kuma's SQLite file, read-only, by column name;
//! - [`convert`] maps each monitor to a service, noting what doesn't
//!   come along ([`http`] the HTTP kinds, whose checks [`conditions`]
//!   writes as conditions), with its secrets as [`secrets`];
//! - [`plan`] names and groups the services, plans the status pages and
//!   puts each service through Hale's config loader;
//! - [`yaml`] writes the file; [`history`] brings the heartbeats over.
//!
//! Nothing is dropped silently: a monitor, a page or a setting that
//! doesn't come along is in the report (standard error) with the reason,
//! and as a comment in the file. Secrets (basic auth, bearer tokens,
//! secret-looking headers, push tokens) are written as `${KUMA_…}`
//! placeholders, and the report says what each must hold.
//! docs/configuration.md, "Importing from Uptime Kuma", has the table.

pub mod conditions;
pub mod convert;
pub mod db;
pub mod history;
pub mod http;
pub mod plan;
pub mod secrets;
pub mod yaml;

use crate::config::Config;
use anyhow::Context;
use convert::count;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum ImportCommand {
    /// Write a Hale config from an Uptime Kuma database (1.23 or 2.x):
    /// monitors, groups and status pages; what can't come along is
    /// listed on standard error.
    #[command(name = "uptime-kuma")]
    UptimeKuma(KumaArgs),
}

#[derive(clap::Args, Debug)]
pub struct KumaArgs {
    /// Kuma's SQLite database (`data/kuma.db`), opened read-only.
    pub kuma_db: PathBuf,
    /// Write the config to this file (default: standard output).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace the --out file if it exists.
    #[arg(long)]
    pub force: bool,
    /// Also bring Kuma's heartbeats of the imported monitors (those
    /// Hale's retention keeps: 90 days) into Hale's store.
    #[arg(long)]
    pub history: bool,
    #[command(flatten)]
    pub database: crate::ops::accounts::Database,
}

/// Runs `hale import …`; the exit code: 0 written, 1 not.
pub async fn main(command: ImportCommand) -> ExitCode {
    let ImportCommand::UptimeKuma(args) = command;
    match uptime_kuma(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hale: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// What an import made: the file's text, loaded as Hale loads it.
pub struct Import {
    pub plan: plan::Plan,
    pub yaml: String,
    pub config: Config,
}

/// Reads `db` and writes the config for it, checked by Hale's loader.
pub fn import(db: &db::KumaDb, source: &str) -> anyhow::Result<Import> {
    let plan = plan::plan(db);
    let yaml = yaml::document(&plan, source);
    // Every service loaded on its own; the whole file must too.
    let config = Config::parse(&yaml, Path::new(source), plan.stand_ins()).map_err(|e| {
        anyhow::anyhow!("the config written does not load (a bug in the import):\n{e}")
    })?;
    Ok(Import { plan, yaml, config })
}

async fn uptime_kuma(args: KumaArgs) -> anyhow::Result<()> {
    if let Some(out) = &args.out {
        anyhow::ensure!(
            args.force || !out.exists(),
            "{} exists: pass --force to replace it",
            out.display()
        );
    }
    let kuma = db::KumaDb::open(&args.kuma_db).await?;
    let source = args.kuma_db.file_name().map_or_else(
        || args.kuma_db.display().to_string(),
        |n| n.to_string_lossy().into(),
    );
    let made = import(&kuma, &source)?;
    match &args.out {
        Some(out) => {
            std::fs::write(out, &made.yaml).with_context(|| format!("writing {}", out.display()))?
        }
        None => print!("{}", made.yaml),
    }
    let written = args.out.as_ref().map_or_else(
        || "standard output".to_string(),
        |p| p.display().to_string(),
    );
    eprint!("{}", report(&made.plan, &source, &written));
    if args.history {
        let url = &args.database.database_url;
        let store = crate::store::connect(url)
            .await
            .with_context(|| format!("opening the database {}", crate::store::redact(url)))?;
        let outcome = history::import(
            &kuma,
            &made.plan,
            &made.config,
            store.as_ref(),
            crate::clock::now(),
        )
        .await;
        store.close().await;
        let outcome = outcome?;
        eprint!("{}", history_report(&outcome, &crate::store::redact(url)));
    }
    kuma.close().await;
    Ok(())
}

/// The report: what came along with notes, and what did not.
pub fn report(plan: &plan::Plan, source: &str, written: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{source}: Uptime Kuma {} schema, {}, {}.",
        plan.schema.label(),
        count(plan.monitors, "monitor"),
        count(plan.pages.len() + plan.skipped_pages.len(), "status page")
    );
    let _ = writeln!(
        out,
        "Wrote {}, {} and {} to {written}; not imported: {} and {}.",
        count(plan.services.len(), "service"),
        count(plan.groups.len(), "group"),
        count(plan.pages.len(), "status page"),
        count(plan.skipped.len(), "monitor"),
        count(plan.skipped_pages.len(), "status page")
    );
    if !plan.skipped.is_empty() {
        out.push_str("\nNot imported:\n");
        for s in &plan.skipped {
            let _ = writeln!(
                out,
                "  #{} {:?} ({}): {}",
                s.kuma_id, s.name, s.kind, s.reason
            );
        }
    }
    let noted: Vec<_> = plan
        .services
        .iter()
        .filter(|s| !s.notes.is_empty())
        .collect();
    if !noted.is_empty() {
        out.push_str("\nImported, with what did not come along:\n");
        for s in noted {
            let _ = writeln!(
                out,
                "  #{} {:?} ({}) as {:?}:",
                s.kuma_id, s.kuma_name, s.kuma_type, s.name
            );
            for note in &s.notes {
                let _ = writeln!(out, "    - {note}");
            }
        }
    }
    if !plan.groups.is_empty() {
        out.push_str("\nGroups (Kuma's group monitors are each member's `group:`):\n");
        for g in &plan.groups {
            let _ = writeln!(
                out,
                "  #{} {:?}: {} services",
                g.kuma_id, g.path, g.services
            );
            for note in &g.notes {
                let _ = writeln!(out, "    - not carried over: {note}");
            }
        }
    }
    if !plan.pages.is_empty() || !plan.skipped_pages.is_empty() {
        out.push_str("\nStatus pages:\n");
        for p in &plan.pages {
            let _ = writeln!(
                out,
                "  #{} /status/{}: {}",
                p.kuma_id,
                p.slug,
                count(p.services.len(), "service")
            );
            for note in &p.notes {
                let _ = writeln!(out, "    - not carried over: {note}");
            }
        }
        for p in &plan.skipped_pages {
            let _ = writeln!(
                out,
                "  #{} {:?}: not imported: {}",
                p.kuma_id, p.name, p.reason
            );
        }
    }
    if !plan.secrets.is_empty() {
        out.push_str("\nSet these environment variables before `hale validate` or `hale serve` (the config reads them):\n");
        for s in &plan.secrets {
            let _ = writeln!(out, "  {}: {}", s.var, s.what);
        }
    }
    out
}

fn history_report(outcome: &history::HistoryImport, database: &str) -> String {
    let mut out = String::new();
    let total: u64 = outcome.services.iter().map(|s| s.results).sum();
    let _ = writeln!(
        out,
        "\nHistory: {total} results from heartbeats since {} into {database}:",
        outcome.since.format("%Y-%m-%d")
    );
    for s in &outcome.services {
        if s.already {
            let _ = writeln!(
                out,
                "  {:?}: already has history in the store, left alone",
                s.name
            );
            continue;
        }
        let _ = write!(
            out,
            "  {:?}: {} results ({} up)",
            s.name, s.results, s.successes
        );
        for (count, what) in [
            (
                s.maintenance,
                "maintenance beats kept as status changes only",
            ),
            (
                s.older,
                "older beats left out (past Hale's hourly retention)",
            ),
            (s.unreadable, "beats with an unreadable time left out"),
        ] {
            if count > 0 {
                let _ = write!(out, ", {count} {what}");
            }
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "Rolled up into {} hourly buckets.",
        outcome.rollup.hours + outcome.rollup.provisional
    );
    out
}
