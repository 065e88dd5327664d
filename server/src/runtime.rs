//! Wiring: config + store → scheduler and push → pipeline → (board and
//! hub, writer, notifier), and the HTTP server on top.
//!
//! Every status change this file decides (a reload removing services, a
//! stop, an unclean stop repaired) goes into the pipeline like any other;
//! nothing here publishes or stores one itself.

use crate::alert::Alerting;
use crate::api::{self, AppState};
use crate::config::Config;
use crate::engine::board::StatusBoard;
use crate::engine::pipeline::{Events, Notifier, Notifiers, Pipeline, Silent};
use crate::engine::push::PushBoard;
use crate::engine::scheduler::{Reconciled, Scheduler, DEFAULT_CONCURRENCY};
use crate::engine::writer::{self, WriteQueue};
use crate::event::{ProbeResult, StatusChange};
use crate::history::{RollupPlan, DEFAULT_CAP_MS};
use crate::live::hub::{Hub, HEARTBEAT_EVERY, PROBE_WINDOW};
use crate::ops::telemetry::{ProbeStats, RollupStats, SchedulerStats, Telemetry, WriteStats};
use crate::probe::{AnyProber, ProbeKind, Prober};
use crate::store::{History, Store};
use anyhow::Context;
use leptos::prelude::LeptosOptions;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use wire::ServiceStatus;

/// What `hale serve` runs with.
pub struct Settings {
    pub config: Config,
    pub listen: SocketAddr,
    /// Where the page's files (`pkg/hale.js`, `.wasm`, `.css`) come from.
    pub site: api::site::Site,
    pub heartbeat_every: Duration,
    /// How long live probe results may wait to go out together
    /// (`live::hub::PROBE_WINDOW`).
    pub probe_window: Duration,
    pub send_timeout: Duration,
    pub concurrency: usize,
    /// How often the history roll-up runs.
    pub rollup_every: Duration,
    /// Whether status page renders are kept while nothing changed
    /// (`api::page_cache`); off renders every request.
    pub keep_renders: bool,
    /// Told of every status change and result, after alerting (tests
    /// watch the pipeline with it).
    pub notifier: Arc<dyn Notifier>,
    /// How alert messages are retried, and the clock they are stamped by.
    pub alerts: crate::alert::DeliveryRules,
    /// Connection hygiene: the request-head deadline and the cap on open
    /// connections (`api::serve`).
    pub serve: api::serve::ServeLimits,
    /// Per-client request rate, live connections, trusted proxies
    /// (`api::clients`).
    pub clients: api::clients::ClientRules,
    /// Sessions, sign-in limits, the clock of expiry (`auth`).
    pub accounts: crate::auth::AccountRules,
}

impl Settings {
    pub fn new(config: Config, listen: SocketAddr) -> Settings {
        Settings {
            config,
            listen,
            site: api::site::Site::default(),
            heartbeat_every: HEARTBEAT_EVERY,
            probe_window: PROBE_WINDOW,
            send_timeout: Duration::from_secs(10),
            concurrency: DEFAULT_CONCURRENCY,
            rollup_every: Duration::from_secs(60),
            keep_renders: true,
            notifier: Arc::new(Silent),
            alerts: crate::alert::DeliveryRules::default(),
            serve: Default::default(),
            clients: Default::default(),
            accounts: Default::default(),
        }
    }
}

/// A running Hale: stop it with [`Hale::shutdown`].
pub struct Hale {
    pub addr: SocketAddr,
    pub state: AppState,
    /// Where results and changes go.
    pipeline: Arc<Pipeline>,
    events: Events,
    probes: Arc<ProbeStats>,
    scheduler: Scheduler,
    push_watch: JoinHandle<()>,
    writer: JoinHandle<()>,
    alerting: Arc<Alerting>,
    heartbeat: JoinHandle<()>,
    rollup: JoinHandle<()>,
    server: JoinHandle<std::io::Result<()>>,
    stop_server: oneshot::Sender<()>,
    connections: Arc<api::serve::ConnectionStats>,
    /// Forgets clients whose allowance is whole again.
    forgetting: Option<JoinHandle<()>>,
}

/// The services the scheduler probes: all but push services.
fn probed(config: &Config) -> Vec<Arc<crate::config::ServiceConfig>> {
    config
        .services
        .iter()
        .filter(|s| s.kind() != ProbeKind::Push)
        .cloned()
        .map(Arc::new)
        .collect()
}

/// ICMP needs a socket this process may not be allowed to open: say so at
/// start (or at a reload that adds ICMP), not at every probe.
fn check_icmp(config: &Config) -> Result<(), String> {
    let pinged: Vec<&str> = config
        .services
        .iter()
        .filter(|s| s.kind() == ProbeKind::Icmp)
        .map(|s| s.name.as_str())
        .collect();
    if pinged.is_empty() {
        return Ok(());
    }
    crate::probe::icmp::check_permission()
        .map_err(|e| format!("{} (services {})", e, pinged.join(", ")))
}

impl Hale {
    /// Starts everything on an opened store; returns once it is listening.
    pub async fn start(settings: Settings, store: Arc<dyn Store>) -> anyhow::Result<Hale> {
        let prober: Arc<dyn Prober> = Arc::new(AnyProber::new()?);
        Hale::start_with_prober(settings, store, prober).await
    }

    pub async fn start_with_prober(
        settings: Settings,
        store: Arc<dyn Store>,
        prober: Arc<dyn Prober>,
    ) -> anyhow::Result<Hale> {
        check_icmp(&settings.config).map_err(anyhow::Error::msg)?;
        let config = Arc::new(settings.config);
        let board = Arc::new(StatusBoard::new(config.clone()));
        let latest = match store.latest_results().await {
            Ok(latest) => latest,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the last results; starting blank");
                Vec::new()
            }
        };
        board.seed(&latest);
        let history = History::new(store.clone(), config.history_settings());
        load_bars(&history, &board, &config).await;
        let hub = Hub::default().with_probe_window(settings.probe_window);
        let heartbeat = hub.spawn_heartbeat(settings.heartbeat_every);
        let rollups = Arc::new(RollupStats::default());
        let rollup = tokio::spawn(roll_up_every(
            settings.rollup_every,
            history.clone(),
            board.clone(),
            rollups.clone(),
        ));

        let write_queue = WriteQueue::default();
        let writes = Arc::new(WriteStats::default());
        let writer = tokio::spawn(writer::run(
            store.clone(),
            write_queue.clone(),
            writes.clone(),
        ));
        let probes = Arc::new(ProbeStats::default());
        let alerting = Alerting::start(store.clone(), &config, settings.alerts.clone());
        let notifiers = Notifiers(vec![alerting.clone(), settings.notifier]);
        let pipeline = Pipeline::new(
            board.clone(),
            hub.clone(),
            write_queue,
            Arc::new(notifiers),
            probes.clone(),
        );
        let events = Events::new(pipeline.clone());
        // The record of an unclean stop goes first, through the pipeline
        // like every change.
        let gaps = unrecorded_stops(&*store, &latest).await;
        events.changes(gaps).ok();

        let push = PushBoard::new(&config.services);
        let push_watch = tokio::spawn(push.clone().watch(events.clone()));
        let scheduler_stats = Arc::new(SchedulerStats::default());
        let scheduler = Scheduler::spawn(
            &probed(&config),
            prober.clone(),
            events.clone(),
            settings.concurrency,
            scheduler_stats.clone(),
        );
        let telemetry = Arc::new(Telemetry::new(&probes, &scheduler_stats, &writes, &rollups));

        let listener = tokio::net::TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("listening on {}", settings.listen))?;
        let addr = listener.local_addr()?;
        // An embedded site's files are asked for at `/pkg/<version>/`; a
        // site root that holds nothing keeps leptos from reading an
        // older build lying in the working directory.
        let (site_root, pkg_dir) = match &settings.site {
            api::site::Site::Disk(root) => (root.clone(), "pkg".to_string()),
            api::site::Site::Embedded(site) => ("/nonexistent/hale-site".into(), site.pkg_dir()),
        };
        let leptos_options = LeptosOptions::builder()
            .output_name("hale")
            .site_root(site_root)
            .site_pkg_dir(pkg_dir)
            .site_addr(addr)
            .build();
        let clients = api::clients::Clients::new(settings.clients.clone());
        let connections = Arc::new(api::serve::ConnectionStats::new(
            settings.serve.max_connections,
        ));
        let forgetting = clients.spawn_housekeeping();
        let state = AppState {
            leptos_options,
            site: settings.site.clone(),
            live: api::LiveState {
                board: board.clone(),
                hub: hub.clone(),
                snapshots: Default::default(),
                client_limits: api::ClientLimits {
                    send_timeout: settings.send_timeout,
                    ..Default::default()
                },
                clients: clients.clone(),
            },
            history: api::HistoryState {
                board: board.clone(),
                history,
                gate: Default::default(),
            },
            auth: api::AuthState {
                accounts: crate::auth::Accounts::new(store.clone(), settings.accounts.clone()),
                board: board.clone(),
            },
            ops: api::OpsState {
                store,
                board: board.clone(),
                hub,
                scheduler: scheduler_stats,
                rollups,
                telemetry,
                started_at: crate::clock::now(),
                connections: connections.clone(),
                clients: clients.clone(),
                alerting: alerting.clone(),
            },
            push: api::PushState {
                board: push,
                events: events.clone(),
            },
            diagnostics: api::DiagnosticsState {
                board,
                prober,
                limits: Default::default(),
                public_runs: api::DiagnosticsState::public_limiter(),
            },
            pages: api::page_cache::PageCache::new(settings.keep_renders),
        };
        let app = api::router(state.clone());
        let (stop_server, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(api::serve::serve(
            listener,
            app,
            settings.serve.clone(),
            connections.clone(),
            async {
                let _ = stopped.await;
            },
        ));
        Ok(Hale {
            addr,
            state,
            pipeline,
            events,
            probes,
            scheduler,
            push_watch,
            writer,
            alerting,
            heartbeat,
            rollup,
            server,
            stop_server,
            connections,
            forgetting,
        })
    }

    /// Open connections, and those refused for want of a slot.
    pub fn connections(&self) -> &api::serve::ConnectionStats {
        &self.connections
    }

    pub fn board(&self) -> &Arc<StatusBoard> {
        &self.state.live.board
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.state.ops.store
    }

    /// Applies a new config without losing state: unchanged services keep
    /// their schedule, status and confirmation counts; new ones start;
    /// removed ones stop, recorded as unknown from now. A config whose
    /// ICMP services this process can't ping is refused whole.
    pub async fn reload(&mut self, config: Config) -> Result<Reconciled, String> {
        check_icmp(&config)?;
        let config = Arc::new(config);
        let board = self.board().clone();
        let old = board.config();
        let removed = board.reconfigure(config.clone(), crate::clock::now());
        self.events.changes(removed).ok();
        self.probes.forget(
            old.services
                .iter()
                .filter(|s| config.service(&s.name).is_none())
                .map(|s| s.name.clone()),
        );
        let history = &self.state.history.history;
        history.reconfigure(config.history_settings());
        load_bars(history, &board, &config).await;
        self.state.push.board.reconfigure(&config.services);
        self.alerting.reconfigure(&config);
        let outcome = self.scheduler.reconcile(&probed(&config));
        tracing::info!(?outcome, "configuration reloaded");
        Ok(outcome)
    }

    /// Stops probing, stores what is in flight, records every known
    /// service as unknown from now, closes live clients with 1001 and
    /// stops serving.
    pub async fn shutdown(self) {
        self.scheduler.stop().await;
        self.push_watch.abort();
        let _ = self.push_watch.await;
        // Pushes are refused from here on; every service becomes unknown,
        // and the writer stores what it holds and ends.
        self.pipeline.stop(crate::clock::now());
        self.alerting.stop().await;
        let mut writer = self.writer;
        if tokio::time::timeout(Duration::from_secs(10), &mut writer)
            .await
            .is_err()
        {
            tracing::error!(
                "the history writer could not store what it held within 10 s; stopping it"
            );
            writer.abort();
        }
        self.heartbeat.abort();
        self.rollup.abort();
        if let Some(forgetting) = &self.forgetting {
            forgetting.abort();
        }
        self.state.live.hub.close();
        let _ = self.stop_server.send(());
        // Open WebSockets would hold a graceful shutdown forever; the hub's
        // close ends them.
        let mut server = self.server;
        if tokio::time::timeout(Duration::from_secs(2), &mut server)
            .await
            .is_err()
        {
            tracing::debug!("server did not stop within 2s; stopping it");
            server.abort();
        }
        self.state.ops.store.close().await;
    }
}

/// Gives the board each configured service's uptime bar from history.
async fn load_bars(history: &History, board: &StatusBoard, config: &Config) {
    let names: Vec<String> = config.services.iter().map(|s| s.name.clone()).collect();
    if names.is_empty() {
        return;
    }
    match history.bars(&names, crate::clock::now_ms()).await {
        Ok(bars) => board.set_bars(bars),
        Err(e) => tracing::warn!(error = %e, "could not load the uptime bars"),
    }
}

/// Rolls history up now and then: hours that are over move into buckets,
/// retention applies. After a run that moved anything, the bars are
/// reloaded, so they follow what is stored.
async fn roll_up_every(
    every: Duration,
    history: History,
    board: Arc<StatusBoard>,
    stats: Arc<RollupStats>,
) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let settings = history.settings();
        let plan = RollupPlan {
            now_ms: crate::clock::now_ms(),
            grace_ms: rollup_grace_ms(&board.config()),
            retention: settings.retention,
            caps: settings.caps.clone(),
            default_cap_ms: DEFAULT_CAP_MS,
        };
        let started = std::time::Instant::now();
        let outcome = history.store.roll_up(&plan).await;
        stats.record(started.elapsed(), outcome.is_ok());
        match outcome {
            Ok(report)
                if report.hours > 0 || report.raw_dropped > 0 || report.hours_dropped > 0 =>
            {
                tracing::info!(?report, took = ?started.elapsed(), "history rolled up");
                let config = board.config();
                load_bars(&history, &board, &config).await;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "history roll-up failed; will retry"),
        }
        // Once a minute, what a peak freed goes back (`give_back_free`).
        crate::memory::give_back_free();
    }
}

/// Hours are rolled up this long after they end, and the hour under way
/// is counted up to this long ago, so that probes under way then are in
/// (at least; see [`rollup_grace_ms`]).
pub const ROLLUP_GRACE_MS: i64 = 2 * 60_000;

/// How far behind now the roll-up counts: a result is stamped when its
/// probe starts and stored up to its timeout plus the writer's second
/// later, so the grace covers the longest configured timeout and a
/// minute's slack. A result that comes later still is counted when its
/// hour is rolled up for good, which merges it with the hour's results.
pub fn rollup_grace_ms(config: &Config) -> i64 {
    let longest = config
        .services
        .iter()
        .map(|s| s.probe.timeout)
        .max()
        .unwrap_or_default();
    let longest_ms = i64::try_from(longest.as_millis()).unwrap_or(i64::MAX);
    longest_ms.saturating_add(60_000).max(ROLLUP_GRACE_MS)
}

/// A service whose last stored state is not `unknown` was being watched
/// when Hale last ran, and nothing recorded the end: a crash or a kill.
/// The changes that close that gap at the last result Hale had, so the
/// time between counts as unknown rather than as whatever state it was in.
async fn unrecorded_stops(store: &dyn Store, latest_results: &[ProbeResult]) -> Vec<StatusChange> {
    let changes = match store.latest_status_changes().await {
        Ok(changes) => changes,
        Err(e) => {
            tracing::warn!(error = %e, "could not read the last status changes");
            return Vec::new();
        }
    };
    let gaps: Vec<StatusChange> = changes
        .into_iter()
        .filter(|c| c.to != ServiceStatus::Unknown)
        .map(|c| {
            let last_seen = latest_results
                .iter()
                .find(|r| *r.service == *c.service)
                .map_or(c.at, |r| r.checked_at.max(c.at));
            StatusChange {
                from: c.to,
                to: ServiceStatus::Unknown,
                at: last_seen,
                cause: "Hale stopped without recording it (a crash or a kill)".into(),
                service: c.service,
            }
        })
        .collect();
    if !gaps.is_empty() {
        tracing::warn!(
            services = gaps.len(),
            "the last run ended without a clean stop"
        );
    }
    gaps
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn config(yaml: &str) -> Config {
        Config::parse(yaml, Path::new("t.yaml"), |_| None).unwrap()
    }

    #[test]
    fn the_rollup_waits_out_the_longest_timeout() {
        let quick = config("services:\n  - {name: a, url: 'http://x/', timeout: 5s}\n");
        assert_eq!(rollup_grace_ms(&quick), ROLLUP_GRACE_MS);
        let slow = config(
            "services:\n  - {name: a, url: 'http://x/', timeout: 5s}\n  - {name: b, url: 'http://y/', interval: 1h, timeout: 10m}\n",
        );
        assert_eq!(rollup_grace_ms(&slow), 11 * 60_000);
        assert_eq!(rollup_grace_ms(&config("services: []\n")), ROLLUP_GRACE_MS);
    }
}
