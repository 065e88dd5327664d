//! `hale user …` and `hale api-token …`: accounts and API tokens from the
//! command line, straight in the database (Hale may be running), each
//! change written to the audit log as done by `cli`. Passwords are read
//! from a prompt or from stdin, never from an argument, where `ps` and the
//! shell's history would show them.

use crate::auth::{AccountRules, Accounts};
use crate::duration::HumanDuration;
use crate::store::Store;
use anyhow::Context;
use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;
use std::sync::Arc;
use wire::account::Role;

#[derive(clap::Args, Debug)]
pub struct Database {
    /// `sqlite://FILE` or `postgres://…`: the one `hale serve` uses.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://hale.db")]
    pub database_url: String,
}

#[derive(clap::Subcommand, Debug)]
pub enum UserCommand {
    /// Add an account; its password is asked for (or read from stdin).
    Add {
        name: String,
        /// viewer, health_checker, editor or admin.
        #[arg(long)]
        role: Role,
        /// May read the audit log (admins always may).
        #[arg(long)]
        audit_log_viewer: bool,
        #[command(flatten)]
        database: Database,
    },
    /// List the accounts.
    List {
        #[command(flatten)]
        database: Database,
    },
    /// Remove an account, ending its sessions.
    Remove {
        name: String,
        #[command(flatten)]
        database: Database,
    },
    /// Set an account's password (asked for, or read from stdin), ending
    /// its sessions.
    Password {
        name: String,
        #[command(flatten)]
        database: Database,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum TokenCommand {
    /// Make a token and print it: it is shown this once.
    Add {
        name: String,
        #[arg(long)]
        role: Role,
        #[arg(long)]
        audit_log_viewer: bool,
        /// Expire after this long (`90d`); never when absent.
        #[arg(long)]
        expires_in: Option<HumanDuration>,
        #[command(flatten)]
        database: Database,
    },
    /// List the tokens (never the tokens themselves).
    List {
        #[command(flatten)]
        database: Database,
    },
    /// Revoke a token at once.
    Revoke {
        name: String,
        #[command(flatten)]
        database: Database,
    },
}

async fn open(database: &Database) -> anyhow::Result<Accounts> {
    let store = crate::store::connect(&database.database_url)
        .await
        .with_context(|| {
            format!(
                "opening the database {}",
                crate::store::redact(&database.database_url)
            )
        })?;
    Ok(Accounts::new(store, AccountRules::default()))
}

/// A password from the terminal (asked twice) or from stdin's first line.
fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let again = rpassword::prompt_password("Again: ")?;
        anyhow::ensure!(first == again, "the passwords differ");
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        let password = line.trim_end_matches(['\n', '\r']).to_string();
        anyhow::ensure!(!password.is_empty(), "no password on stdin");
        Ok(password)
    }
}

fn finish(outcome: anyhow::Result<()>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hale: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(
        || ms.to_string(),
        |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

pub async fn user(command: UserCommand) -> ExitCode {
    finish(run_user(command).await)
}

async fn run_user(command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Add {
            name,
            role,
            audit_log_viewer,
            database,
        } => {
            let accounts = open(&database).await?;
            let password = read_password()?;
            accounts
                .add_account(&name, &password, role, audit_log_viewer)
                .await?;
            let detail = format!("role {role}, audit_log_viewer {audit_log_viewer}");
            accounts
                .audit("cli", "user.add", &name, &detail, "cli")
                .await;
            println!("added {name} ({role})");
        }
        UserCommand::List { database } => {
            let accounts = open(&database).await?;
            for a in accounts.store().accounts().await? {
                let audit = if a.audit_log_viewer {
                    " +audit_log_viewer"
                } else {
                    ""
                };
                println!(
                    "{}\t{}{audit}\tsince {}",
                    a.name,
                    a.role,
                    time(a.created_at_ms)
                );
            }
        }
        UserCommand::Remove { name, database } => {
            let accounts = open(&database).await?;
            anyhow::ensure!(
                accounts.store().remove_account(&name).await?,
                "no account named {name:?}"
            );
            accounts.audit("cli", "user.remove", &name, "", "cli").await;
            println!("removed {name}");
        }
        UserCommand::Password { name, database } => {
            let accounts = open(&database).await?;
            let password = read_password()?;
            anyhow::ensure!(
                accounts.set_password(&name, &password).await?,
                "no account named {name:?}"
            );
            accounts
                .audit("cli", "user.password", &name, "", "cli")
                .await;
            println!("set the password of {name}");
        }
    }
    Ok(())
}

pub async fn token(command: TokenCommand) -> ExitCode {
    finish(run_token(command).await)
}

async fn run_token(command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Add {
            name,
            role,
            audit_log_viewer,
            expires_in,
            database,
        } => {
            let accounts = open(&database).await?;
            let (token, _) = accounts
                .add_token(
                    &name,
                    role,
                    audit_log_viewer,
                    expires_in.map(|d| d.0),
                    "cli",
                )
                .await?;
            let detail = format!(
                "role {role}, audit_log_viewer {audit_log_viewer}, expires {}",
                expires_in.map_or_else(|| "never".into(), |d| d.to_string())
            );
            accounts
                .audit("cli", "token.add", &name, &detail, "cli")
                .await;
            println!("{token}");
        }
        TokenCommand::List { database } => {
            let accounts = open(&database).await?;
            for t in accounts.store().tokens().await? {
                let expires = t.expires_at_ms.map_or_else(|| "never".into(), time);
                let used = t.last_used_at_ms.map_or_else(|| "never".into(), time);
                println!(
                    "{}\t{}\texpires {expires}\tlast used {used}\tby {}",
                    t.name, t.role, t.created_by
                );
            }
        }
        TokenCommand::Revoke { name, database } => {
            let accounts = open(&database).await?;
            anyhow::ensure!(
                accounts.store().remove_token(&name).await?,
                "no token named {name:?}"
            );
            accounts
                .audit("cli", "token.remove", &name, "", "cli")
                .await;
            println!("revoked {name}");
        }
    }
    Ok(())
}

/// `hale serve` with no account yet: an admin from `HALE_ADMIN_PASSWORD`,
/// or a line saying how to make one.
pub async fn first_admin(
    store: &Arc<dyn Store>,
    name: &str,
    password: Option<&str>,
) -> anyhow::Result<()> {
    let accounts = Accounts::new(store.clone(), AccountRules::default());
    if accounts.store().count_accounts().await? > 0 {
        return Ok(());
    }
    match password {
        Some(password) => {
            accounts
                .add_account(name, password, Role::Admin, true)
                .await
                .context("making the first admin from HALE_ADMIN_PASSWORD")?;
            accounts
                .audit(
                    "cli",
                    "user.add",
                    name,
                    "role admin, first run, from HALE_ADMIN_PASSWORD",
                    "cli",
                )
                .await;
            tracing::info!(name, "made the first admin account from HALE_ADMIN_PASSWORD");
        }
        None => tracing::info!(
            "no accounts yet: the pages are public and nobody can sign in; add one with `hale user add NAME --role admin`"
        ),
    }
    Ok(())
}
