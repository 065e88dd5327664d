//! The `hale` command line.

use crate::config::Config;
use crate::runtime::{Hale, Settings};
use anyhow::Context;
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Parser, Debug)]
#[command(
    name = "hale",
    version,
    about = "Service health monitor with live status pages"
)]
pub struct Cli {
    /// Log format: `text` or `json`.
    #[arg(long, global = true, env = "HALE_LOG_FORMAT", default_value = "text")]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Probe the configured services and serve the status pages.
    Serve(ServeArgs),
    /// Check a config file and report every problem in it.
    Validate {
        #[arg(long, env = "HALE_CONFIG")]
        config: PathBuf,
    },
}

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// The YAML config (default: ./hale.yaml when present, else none).
    #[arg(long, env = "HALE_CONFIG")]
    pub config: Option<PathBuf>,
    #[arg(long, env = "HALE_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,
    /// `sqlite://FILE` or `postgres://…`.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://hale.db")]
    pub database_url: String,
    /// The built site: `pkg/` with the page's wasm, JS and CSS.
    #[arg(long, env = "HALE_SITE_ROOT", default_value = "target/site")]
    pub site_root: String,
}

pub fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("HALE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Loads a config and logs its warnings.
fn load_config(path: &Path) -> anyhow::Result<Config> {
    let config = Config::load(path)?;
    for warning in &config.warnings {
        tracing::warn!("{}", warning.display(path));
    }
    Ok(config)
}

/// Loads the config `serve` should use: the named file, or `hale.yaml` if
/// present, or none at all (an empty, working page).
fn serve_config(path: Option<&Path>) -> anyhow::Result<Config> {
    match path {
        Some(path) => load_config(path),
        None if Path::new("hale.yaml").exists() => load_config(Path::new("hale.yaml")),
        None => {
            tracing::info!(
                "no config file: starting with an empty status page (see docs/configuration.md)"
            );
            Ok(Config::empty())
        }
    }
}

/// Hides a password in a database URL before it is shown.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = serve_config(args.config.as_deref())?;
    let services = config.services.len();
    let store = crate::store::connect(&args.database_url)
        .await
        .with_context(|| format!("opening the database {}", redact(&args.database_url)))?;
    if !Path::new(&args.site_root).join("pkg").exists() {
        tracing::warn!(site_root = %args.site_root, "no built site here: pages will render without styles or live updates (build with `cargo leptos build`)");
    }
    let mut settings = Settings::new(config, args.listen);
    settings.site_root = args.site_root;
    let hale = Hale::start(settings, store).await?;
    tracing::info!(
        services,
        database = hale.state.store.backend(),
        "hale is running"
    );
    println!("Hale is serving its status page at http://{}/", hale.addr);
    shutdown_signal().await;
    tracing::info!("shutting down");
    hale.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing the SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// `hale validate`: every problem, or a summary after any warnings.
pub fn validate(path: &Path) -> Result<String, crate::config::ConfigError> {
    let config = Config::load(path)?;
    let mut report = String::new();
    for warning in &config.warnings {
        report.push_str(&format!("warning: {}\n", warning.display(path)));
    }
    report.push_str(&format!(
        "{}: OK ({} services, {} status pages)",
        path.display(),
        config.services.len(),
        config.status_pages.len()
    ));
    Ok(report)
}

/// Runs the command line; the process exit code.
pub async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    match cli.command {
        Command::Serve(args) => match serve(args).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("hale: {e:#}");
                std::process::ExitCode::FAILURE
            }
        },
        Command::Validate { config } => match validate(&config) {
            Ok(summary) => {
                println!("{summary}");
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                std::process::ExitCode::FAILURE
            }
        },
    }
}
