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
    /// Probe a target now and print latency and reliability figures
    /// (exit 0 healthy, 1 unhealthy, 2 bad usage).
    Check(crate::ops::check::CheckArgs),
    /// Print a new push token: 32 random letters, digits, - and _ (192
    /// bits), for `url: push://<token>`.
    Token,
    /// Manage accounts: add, list, remove, set a password.
    #[command(subcommand)]
    User(crate::ops::accounts::UserCommand),
    /// Manage API tokens for automation: add (printed once), list, revoke.
    #[command(subcommand, name = "api-token")]
    ApiToken(crate::ops::accounts::TokenCommand),
    /// Copy a SQLite store to FILE while Hale runs (online and
    /// consistent); for Postgres, print the pg_dump way.
    Backup {
        /// The copy to write (must not exist).
        file: PathBuf,
        #[arg(long, env = "DATABASE_URL", default_value = "sqlite://hale.db")]
        database_url: String,
    },
    /// Write a commented starter config that watches Hale itself (exit 1
    /// if the file exists, unless --force).
    Init {
        /// The file to write.
        #[arg(long, env = "HALE_CONFIG", default_value = "hale.yaml")]
        config: PathBuf,
        /// Where `hale serve` will listen: the starter service probes
        /// Hale's own health there.
        #[arg(long, env = "HALE_LISTEN", default_value = "127.0.0.1:3000")]
        listen: SocketAddr,
        /// Replace a file that exists.
        #[arg(long)]
        force: bool,
    },
    /// Write a Hale config from another monitor's data: `hale import
    /// uptime-kuma kuma.db` (exit 0 written, 1 not).
    #[command(subcommand)]
    Import(crate::ops::kuma::ImportCommand),
    /// Send a test message to an alert channel of the config now (exit 0
    /// delivered, 1 not delivered or no such channel).
    #[command(name = "notify-test")]
    NotifyTest {
        #[arg(long, env = "HALE_CONFIG", default_value = "hale.yaml")]
        config: PathBuf,
        /// The channel's `name`.
        #[arg(long)]
        channel: String,
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
    /// Probes in flight at once; leave room for every probe that may hang
    /// until its timeout.
    #[arg(long, env = "HALE_MAX_CONCURRENT_PROBES", default_value_t = crate::engine::scheduler::DEFAULT_CONCURRENCY)]
    pub max_concurrent_probes: usize,
    /// A built site to serve the page's wasm, JS and CSS from: `pkg/`
    /// and the favicon (default: the site this binary carries, if it
    /// was built with one by scripts/release.sh, else target/site;
    /// LEPTOS_SITE_ROOT is read too).
    #[arg(long, env = "HALE_SITE_ROOT")]
    pub site_root: Option<String>,
    /// Render status pages afresh for every request instead of reusing a
    /// render while nothing on the page changed (for measuring renders).
    #[arg(long, env = "HALE_NO_PAGE_CACHE")]
    pub no_page_cache: bool,
    /// Open HTTP connections at most (each live page holds one); past it a
    /// new connection is closed at once. Kept 1,024 under the open-files
    /// limit, which probes and the database share.
    #[arg(long, env = "HALE_MAX_CONNECTIONS", default_value_t = crate::api::serve::MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Requests a second one client may make (0: no limit); past it, 429.
    #[arg(long, env = "HALE_RATE_LIMIT", default_value_t = crate::api::clients::PER_SECOND)]
    pub rate_limit: u32,
    /// Requests one client may make in a burst above the rate.
    #[arg(long, env = "HALE_RATE_BURST", default_value_t = crate::api::clients::BURST)]
    pub rate_burst: u32,
    /// Live pages one client may hold open at once (0: no cap).
    #[arg(long, env = "HALE_MAX_WEBSOCKETS_PER_CLIENT", default_value_t = crate::api::clients::WEBSOCKETS_PER_CLIENT)]
    pub max_websockets_per_client: usize,
    /// Reverse proxies whose X-Forwarded-For tells the client: addresses or
    /// networks, comma-separated (`127.0.0.1,10.0.0.0/8`).
    #[arg(long, env = "HALE_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_network)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// How long a sign-in lasts (`12h`, `7d`).
    #[arg(long, env = "HALE_SESSION_LIFETIME", default_value = "12h")]
    pub session_lifetime: crate::duration::HumanDuration,
    /// Mark the session cookie Secure (and name it `__Host-hale_session`):
    /// set it when browsers reach Hale over HTTPS.
    #[arg(long, env = "HALE_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// With no account yet, make an `admin` with this password at start
    /// (its name from HALE_ADMIN_NAME). Ignored once any account exists.
    #[arg(long, env = "HALE_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
    #[arg(long, env = "HALE_ADMIN_NAME", default_value = "admin")]
    pub admin_name: String,
}

/// An address (`10.0.0.1`, a network of one) or a network (`10.0.0.0/8`).
fn parse_network(text: &str) -> Result<ipnet::IpNet, String> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{text:?} is not an address or a network like 10.0.0.0/8"))
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

/// The config file `serve` should use: the named one, or `hale.yaml` if
/// present, or none at all (an empty, working page).
fn config_path(path: Option<&Path>) -> Option<PathBuf> {
    match path {
        Some(path) => Some(path.to_path_buf()),
        None if Path::new("hale.yaml").exists() => Some(PathBuf::from("hale.yaml")),
        None => None,
    }
}

/// How often `serve` looks at its config file for changes.
fn config_poll_interval() -> std::time::Duration {
    std::env::var("HALE_CONFIG_POLL_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map_or(
            std::time::Duration::from_secs(2),
            std::time::Duration::from_millis,
        )
}

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Reloads the config file; a bad one is reported and the running config
/// stays, so a typo never takes monitoring down.
async fn reload(hale: &mut Hale, path: &Path, why: &str) {
    match load_config(path) {
        Ok(config) => match hale.reload(config).await {
            Ok(outcome) => tracing::info!(
                why,
                started = outcome.started,
                stopped = outcome.stopped,
                restarted = outcome.restarted,
                kept = outcome.kept,
                "reloaded {}",
                path.display()
            ),
            Err(e) => tracing::error!(why, "not reloading; keeping the running configuration: {e}"),
        },
        Err(e) => tracing::error!(
            why,
            "not reloading; keeping the running configuration:\n{e:#}"
        ),
    }
}

pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    // A bucket smaller than a second's allowance leaves the limiter no
    // room for requests that arrive together (its tolerance is the burst
    // over the rate): they would be refused at any load.
    if args.rate_limit > 0 && args.rate_burst < args.rate_limit {
        anyhow::bail!(
            "--rate-burst ({}) must be at least --rate-limit ({}): a burst smaller than a second's allowance refuses requests that arrive together",
            args.rate_burst,
            args.rate_limit
        );
    }
    let path = config_path(args.config.as_deref());
    let config = match &path {
        Some(path) => load_config(path)?,
        None => {
            tracing::info!(
                "no config file: starting with an empty status page (see docs/configuration.md)"
            );
            Config::empty()
        }
    };
    let services = config.services.len();
    let store = crate::store::connect(&args.database_url)
        .await
        .with_context(|| {
            format!(
                "opening the database {}",
                crate::store::redact(&args.database_url)
            )
        })?;
    let site = site(args.site_root.clone());
    let open_files = raise_open_files_limit();
    let mut settings = Settings::new(config, args.listen);
    settings.serve.max_connections = match open_files {
        Some(files) if files.saturating_sub(1_024) < args.max_connections => {
            let kept = files.saturating_sub(1_024).max(64);
            tracing::warn!(
                open_files = files,
                max_connections = kept,
                "the open-files limit leaves room for fewer connections than --max-connections"
            );
            kept
        }
        _ => args.max_connections,
    };
    settings.clients = crate::api::clients::ClientRules {
        per_second: args.rate_limit,
        burst: args.rate_burst,
        websockets: args.max_websockets_per_client,
        trusted_proxies: args.trusted_proxies,
    };
    settings.accounts = crate::auth::AccountRules {
        session_lifetime: args.session_lifetime.0,
        secure_cookies: args.secure_cookies,
        ..Default::default()
    };
    crate::ops::accounts::first_admin(&store, &args.admin_name, args.admin_password.as_deref())
        .await?;
    settings.site = site;
    settings.concurrency = args.max_concurrent_probes;
    settings.keep_renders = !args.no_page_cache;
    let mut hale = Hale::start(settings, store).await?;
    tracing::info!(
        services,
        database = hale.store().backend(),
        "hale is running"
    );
    println!("Hale is serving its status page at http://{}/", hale.addr);

    let stop = shutdown_signal();
    tokio::pin!(stop);
    #[cfg(unix)]
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .context("installing the SIGHUP handler")?;
    let mut poll = tokio::time::interval(config_poll_interval());
    let mut seen = path.as_deref().and_then(modified);
    loop {
        #[cfg(unix)]
        let hup = hangup.recv();
        #[cfg(not(unix))]
        let hup = std::future::pending::<Option<()>>();
        tokio::select! {
            _ = &mut stop => break,
            _ = hup => {
                if let Some(path) = &path {
                    seen = modified(path);
                    reload(&mut hale, path, "SIGHUP").await;
                }
            }
            _ = poll.tick() => {
                if let Some(path) = &path {
                    let now = modified(path);
                    if now.is_some() && now != seen {
                        seen = now;
                        reload(&mut hale, path, "file changed").await;
                    }
                }
            }
        }
    }
    tracing::info!("shutting down");
    hale.shutdown().await;
    Ok(())
}

/// A command that says what it did (exit 0) or why it failed (exit 1;
/// an error with causes names each).
fn said<E: std::fmt::Display>(outcome: Result<String, E>) -> std::process::ExitCode {
    match outcome {
        Ok(done) => {
            println!("{done}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("hale: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `hale init`: the starter config, written where `config` says (not
/// over a file unless `force`), and what to run next.
fn init(config: &Path, listen: SocketAddr, force: bool) -> anyhow::Result<String> {
    let text = include_str!("ops/starter.yaml")
        .replace("{listen}", &listen.to_string())
        .replace("{config}", &config.display().to_string());
    let mut file = std::fs::OpenOptions::new();
    if force {
        file.write(true).create(true).truncate(true);
    } else {
        file.write(true).create_new(true);
    }
    let mut file = file.open(config).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => anyhow::anyhow!(
            "{} exists; keeping it (--force replaces it)",
            config.display()
        ),
        _ => anyhow::anyhow!("writing {}: {e}", config.display()),
    })?;
    std::io::Write::write_all(&mut file, text.as_bytes())
        .with_context(|| format!("writing {}", config.display()))?;
    Ok(format!(
        "wrote {config}: one service (Hale's own health) and commented examples
         next: hale serve --config {config} --listen {listen}   (the page: http://{listen}/)",
        config = config.display()
    ))
}

/// Where the page's files come from: a site root given, else the site
/// this binary carries, else `target/site`; a site on disk that is
/// missing or half built is warned about.
fn site(given: Option<String>) -> crate::api::site::Site {
    use crate::api::site::{embedded, Site};
    let given = given.or_else(|| std::env::var("LEPTOS_SITE_ROOT").ok());
    let root = match (given, embedded()) {
        (None, Some(embedded)) => {
            tracing::info!(
                version = embedded.version,
                "serving the site this binary carries"
            );
            return Site::Embedded(embedded);
        }
        (given, _) => given.unwrap_or_else(|| "target/site".into()),
    };
    let pkg = Path::new(&root).join("pkg");
    if !pkg.exists() {
        tracing::warn!(site_root = %root, "no built site here: pages will render without styles or live updates (build with `cargo leptos build --split`, or a binary that carries its site with scripts/release.sh)");
    } else if !pkg.join("__wasm_split_manifest.json").exists() {
        tracing::warn!(site_root = %root, "the site was built without --split: pages render, but the browser's code may not load (build with `cargo leptos build --split`)");
    }
    Site::Disk(root)
}

/// Every probe in flight and every live client holds a socket: raise the
/// soft open-files limit to the hard one, as Go programs do by default.
/// Returns the limit now in force, when it can be read.
fn raise_open_files_limit() -> Option<usize> {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: plain libc calls on a struct we own.
        let read = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 };
        if !read {
            tracing::warn!("could not read the open-files limit");
            return None;
        }
        let soft = limit.rlim_cur;
        limit.rlim_cur = limit.rlim_max;
        // SAFETY: as above.
        let raised = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 };
        let now = if raised {
            tracing::debug!(open_files = limit.rlim_cur, "raised the open-files limit");
            limit.rlim_cur
        } else {
            tracing::warn!("could not raise the open-files limit");
            soft
        };
        Some(usize::try_from(now).unwrap_or(usize::MAX))
    }
    #[cfg(not(unix))]
    None
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

/// `hale notify-test`: a test message to channel `name` of `path`.
pub async fn notify_test(path: &Path, name: &str) -> Result<String, String> {
    let config = Config::load(path).map_err(|e| e.to_string())?;
    let alerting = &config.alerting;
    let Some(channel) = alerting.channel(name) else {
        let names: Vec<&str> = alerting.channels.iter().map(|c| c.name.as_str()).collect();
        return Err(if names.is_empty() {
            format!(
                "{}: no channel {name:?}: `alerting.channels` names none",
                path.display()
            )
        } else {
            format!(
                "{}: no channel {name:?} (alerting.channels has {})",
                path.display(),
                names.join(", ")
            )
        });
    };
    let timeout = crate::alert::DeliveryRules::default().send_timeout;
    crate::alert::send_test(&crate::alert::http_client(), channel, timeout)
        .await
        .map(|()| {
            format!(
                "{name} ({}): test message delivered",
                channel.kind.type_name()
            )
        })
        .map_err(|e| format!("{name} ({}): not delivered: {e}", channel.kind.type_name()))
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
        Command::Check(args) => crate::ops::check::main(args).await,
        Command::Token => {
            println!("{}", new_token());
            std::process::ExitCode::SUCCESS
        }
        Command::User(command) => crate::ops::accounts::user(command).await,
        Command::ApiToken(command) => crate::ops::accounts::token(command).await,
        Command::Import(command) => crate::ops::kuma::main(command).await,
        Command::NotifyTest { config, channel } => said(notify_test(&config, &channel).await),
        Command::Backup { file, database_url } => {
            said(crate::ops::backup::backup(&database_url, &file).await)
        }
        Command::Init {
            config,
            listen,
            force,
        } => said(init(&config, listen, force)),
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

/// A push token: 32 characters of the 64 a token may hold, 6 random bits
/// each.
pub fn new_token() -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    (0..32)
        .map(|_| ALPHABET[usize::from(rand::random::<u8>() & 63)] as char)
        .collect()
}
