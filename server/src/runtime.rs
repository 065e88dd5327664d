//! Wiring: config + store → scheduler → pipeline → (board, hub, writer),
//! and the HTTP server on top.

use crate::api::{self, AppState};
use crate::board::StatusBoard;
use crate::config::{Config, ProbeKind};
use crate::history::query::{History, HistorySettings, DEFAULT_CAP_MS};
use crate::history::RollupPlan;
use crate::hub::{Hub, HEARTBEAT_EVERY, PROBE_WINDOW};
use crate::probe::{AnyProber, ProbeResult, Prober};
use crate::push::PushBoard;
use crate::scheduler::{Reconciled, Scheduler, SchedulerStats, DEFAULT_CONCURRENCY};
use crate::store::Store;
use crate::telemetry::{ProbeStats, WriteStats};
use crate::tracker::StatusChange;
use crate::writer::{self, Write};
use anyhow::Context;
use app::model::{LiveMessage, ServiceStatus};
use leptos::prelude::LeptosOptions;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// What `hale serve` runs with.
pub struct Settings {
    pub config: Config,
    pub listen: SocketAddr,
    /// Where the built site (`pkg/hale.js`, `.wasm`, `.css`) lives.
    pub site_root: String,
    pub heartbeat_every: Duration,
    /// How long live probe results may wait to go out together
    /// (`hub::PROBE_WINDOW`).
    pub probe_window: Duration,
    pub send_timeout: Duration,
    pub concurrency: usize,
    /// How often the history roll-up runs.
    pub rollup_every: Duration,
    /// Whether status page renders are kept while nothing changed
    /// (`api::page_cache`); off renders every request.
    pub keep_renders: bool,
}

impl Settings {
    pub fn new(config: Config, listen: SocketAddr) -> Settings {
        Settings {
            config,
            listen,
            site_root: "target/site".into(),
            heartbeat_every: HEARTBEAT_EVERY,
            probe_window: PROBE_WINDOW,
            send_timeout: Duration::from_secs(10),
            concurrency: DEFAULT_CONCURRENCY,
            rollup_every: Duration::from_secs(60),
            keep_renders: true,
        }
    }
}

/// A running Hale: stop it with [`Hale::shutdown`].
pub struct Hale {
    pub addr: SocketAddr,
    pub state: AppState,
    scheduler: Scheduler,
    push_watch: JoinHandle<()>,
    pipeline: JoinHandle<()>,
    writer: JoinHandle<()>,
    heartbeat: JoinHandle<()>,
    rollup: JoinHandle<()>,
    server: JoinHandle<std::io::Result<()>>,
    stop_server: oneshot::Sender<()>,
}

impl Hale {
    /// Starts everything on an opened store; returns once it is listening.
    pub async fn start(settings: Settings, store: Arc<dyn Store>) -> anyhow::Result<Hale> {
        let prober: Arc<dyn Prober> =
            Arc::new(AnyProber::new().context("building the HTTP client")?);
        Hale::start_with_prober(settings, store, prober).await
    }

    pub async fn start_with_prober(
        settings: Settings,
        store: Arc<dyn Store>,
        prober: Arc<dyn Prober>,
    ) -> anyhow::Result<Hale> {
        let config = Arc::new(settings.config);
        let board = Arc::new(StatusBoard::new(config.clone()));
        match store.latest_results().await {
            Ok(latest) => {
                board.seed(&latest);
                close_unrecorded_stops(&*store, &latest).await;
            }
            Err(e) => tracing::warn!(error = %e, "could not read the last results; starting blank"),
        }
        let history = History::new(store.clone(), HistorySettings::from_config(&config));
        load_bars(&history, &board, &config).await;
        let hub = Hub::default().with_probe_window(settings.probe_window);
        let heartbeat = hub.spawn_heartbeat(settings.heartbeat_every);
        let rollup = tokio::spawn(roll_up_every(
            settings.rollup_every,
            history.clone(),
            board.clone(),
        ));

        let (write_tx, write_rx) = mpsc::channel(8_192);
        let write_stats = Arc::new(WriteStats::default());
        let writer = tokio::spawn(writer::run(store.clone(), write_rx, write_stats.clone()));
        let probe_stats = Arc::new(ProbeStats::default());
        let (result_tx, result_rx) = mpsc::channel(8_192);
        let pipeline = tokio::spawn(pipeline(
            result_rx,
            board.clone(),
            hub.clone(),
            write_tx,
            probe_stats.clone(),
        ));
        let services: Vec<_> = config.services.iter().cloned().map(Arc::new).collect();
        let push = PushBoard::new(&services);
        let push_watch = tokio::spawn(push.clone().watch(result_tx.clone()));
        let results = result_tx.downgrade();
        let services: Vec<_> = services
            .into_iter()
            .filter(|s| s.kind() != ProbeKind::Push)
            .collect();
        let scheduler_stats = Arc::new(SchedulerStats::default());
        let scheduler = Scheduler::spawn(
            &services,
            prober.clone(),
            result_tx,
            settings.concurrency,
            scheduler_stats.clone(),
        );

        let listener = tokio::net::TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("listening on {}", settings.listen))?;
        let addr = listener.local_addr()?;
        let leptos_options = LeptosOptions::builder()
            .output_name("hale")
            .site_root(settings.site_root.as_str())
            .site_pkg_dir("pkg")
            .site_addr(addr)
            .build();
        let state = AppState {
            leptos_options,
            store,
            board,
            history,
            hub,
            scheduler: scheduler_stats,
            probes: probe_stats,
            writes: write_stats,
            prober: prober.clone(),
            diagnostics: Default::default(),
            push,
            results,
            started_at: crate::probe::now(),
            client_limits: api::ClientLimits {
                send_timeout: settings.send_timeout,
                ..Default::default()
            },
            pages: api::page_cache::PageCache::new(settings.keep_renders),
            snapshots: Default::default(),
        };
        let app = api::router(state.clone());
        let (stop_server, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            // Live messages are small and must not wait for the previous
            // one's ACK (Nagle's algorithm).
            use axum::serve::ListenerExt;
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
        });
        Ok(Hale {
            addr,
            state,
            scheduler,
            push_watch,
            pipeline,
            writer,
            heartbeat,
            rollup,
            server,
            stop_server,
        })
    }

    /// Applies a new config without losing state: unchanged services keep
    /// their schedule, status and confirmation counts; new ones start;
    /// removed ones stop, recorded as unknown from now.
    pub async fn reload(&mut self, config: Config) -> Reconciled {
        let config = Arc::new(config);
        let removed = self
            .state
            .board
            .reconfigure(config.clone(), crate::probe::now());
        for change in &removed {
            self.state.hub.publish(&change.to_message());
        }
        if let Err(e) = self.state.store.insert_status_changes(&removed).await {
            tracing::warn!(error = %e, "could not record the services removed by the reload");
        }
        self.state
            .history
            .reconfigure(HistorySettings::from_config(&config));
        load_bars(&self.state.history, &self.state.board, &config).await;
        let services: Vec<_> = config.services.iter().cloned().map(Arc::new).collect();
        self.state.push.reconfigure(&services);
        let probed: Vec<_> = services
            .into_iter()
            .filter(|s| s.kind() != ProbeKind::Push)
            .collect();
        let outcome = self.scheduler.reconcile(&probed);
        tracing::info!(?outcome, "configuration reloaded");
        outcome
    }

    /// Stops probing, stores what is in flight, records every known
    /// service as unknown from now, and stops serving.
    pub async fn shutdown(self) {
        self.scheduler.stop().await;
        self.push_watch.abort();
        let _ = self.push_watch.await;
        // The scheduler and the push watchdog held the only result senders
        // (the API holds a weak one): the pipeline ends,
        // dropping the writer's queue, and the writer flushes and ends.
        let _ = self.pipeline.await;
        let _ = tokio::time::timeout(Duration::from_secs(10), self.writer).await;
        let stopped = self.state.board.mark_stopped(crate::probe::now());
        for change in &stopped {
            self.state.hub.publish(&change.to_message());
        }
        if let Err(e) = self.state.store.insert_status_changes(&stopped).await {
            tracing::warn!(error = %e, "could not record that Hale stopped");
        }
        self.heartbeat.abort();
        self.rollup.abort();
        let _ = self.stop_server.send(());
        // Open WebSockets would hold a graceful shutdown forever.
        if tokio::time::timeout(Duration::from_secs(2), self.server)
            .await
            .is_err()
        {
            tracing::debug!("server did not stop within 2s");
        }
        self.state.store.close().await;
    }
}

/// Gives the board each configured service's uptime bar from history.
async fn load_bars(history: &History, board: &StatusBoard, config: &Config) {
    let names: Vec<String> = config.services.iter().map(|s| s.name.clone()).collect();
    if names.is_empty() {
        return;
    }
    let now = crate::probe::now().timestamp_millis();
    match history.bars(&names, now).await {
        Ok(bars) => board.set_bars(bars),
        Err(e) => tracing::warn!(error = %e, "could not load the uptime bars"),
    }
}

/// Rolls history up now and then: hours that are over move into buckets,
/// retention applies. After a run that moved anything, the bars are
/// reloaded, so they follow what is stored.
async fn roll_up_every(every: Duration, history: History, board: Arc<StatusBoard>) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let settings = history.settings();
        let plan = RollupPlan {
            now_ms: crate::probe::now().timestamp_millis(),
            grace_ms: ROLLUP_GRACE_MS,
            retention: settings.retention,
            caps: settings.caps.clone(),
            default_cap_ms: DEFAULT_CAP_MS,
        };
        let started = std::time::Instant::now();
        match history.store.roll_up(&plan).await {
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
    }
}

/// Hours are rolled up this long after they end, so that probes under way
/// at the hour's end (timeouts are at most a minute or so) are in.
pub const ROLLUP_GRACE_MS: i64 = 2 * 60_000;

/// A service whose last stored state is not `unknown` was being watched
/// when Hale last ran, and nothing recorded the end: a crash or a kill.
/// Close that gap at the last result Hale had, so the time between counts
/// as unknown rather than as whatever state it was in.
async fn close_unrecorded_stops(store: &dyn Store, latest_results: &[ProbeResult]) {
    let changes = match store.latest_status_changes().await {
        Ok(changes) => changes,
        Err(e) => {
            tracing::warn!(error = %e, "could not read the last status changes");
            return;
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
        if let Err(e) = store.insert_status_changes(&gaps).await {
            tracing::warn!(error = %e, "could not record the unclean stop");
        }
    }
}

/// Fans each result out: board (state), hub (live), writer (history).
async fn pipeline(
    mut results: mpsc::Receiver<ProbeResult>,
    board: Arc<StatusBoard>,
    hub: Hub,
    writes: mpsc::Sender<Write>,
    stats: Arc<ProbeStats>,
) {
    while let Some(result) = results.recv().await {
        // A service a reload removed while its probe ran: its result goes
        // nowhere, so nothing is stored after its "removed" change.
        let event = result.to_event();
        let Ok(change) = board.record(&event) else {
            continue;
        };
        stats.record(&result.service, result.success, result.latency);
        hub.publish(&LiveMessage::Probe(event));
        if let Some(change) = change {
            tracing::info!(service = %change.service, from = %change.from, to = %change.to, cause = %change.cause, "status change");
            hub.publish(&change.to_message());
            let _ = writes.send(Write::Change(change)).await;
        }
        let _ = writes.send(Write::Result(result)).await;
    }
}
