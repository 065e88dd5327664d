//! The scheduler: one task per service, each on its own interval.
//!
//! A service's first probe runs within a second of start, so a new page
//! fills quickly, on a finer grid than later probes (as if every service
//! probed once a second, so in groups of about ten too); after that each
//! service keeps a fixed phase within its interval, derived from its name,
//! so many services with one interval do not fire together. Phases fall
//! on a grid counted from one epoch (at most a quarter second, finer the
//! more probes a second), so those that are due together start in one
//! wake-up. A global semaphore caps probes in flight. A hanging target
//! holds only its own task, and only until its timeout.
//!
//! Two delays are told apart. *Lateness* is the scheduler's own: how long
//! after it was due a probe started, waiting for a permit or a busy
//! runtime. An *overrun* is the target's: a probe that came due while the
//! service's previous probe was still running (with the default timeout,
//! as long as the interval, every hanging target overruns). An overrun is
//! counted, and its lateness is measured from when the previous probe
//! ended, so that 300 hanging targets do not read as a late scheduler.

use super::pipeline::Events;
use crate::config::ServiceConfig;
use crate::event::ProbeResult;
pub use crate::ops::telemetry::SchedulerStats;
use crate::probe::Prober;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::{AbortHandle, JoinSet};
use tokio::time::{Instant, MissedTickBehavior};

/// Probes in flight at once, across all services. A hanging target holds
/// its permit until its timeout, so the cap must leave room for every
/// probe that may hang at once (about `timeout / interval` of each such
/// service): measured with 1,000 hanging services, a cap of 512 delayed
/// healthy probes by seconds (docs/benchmarks.md). Waiting probes cost a
/// socket each, not CPU.
pub const DEFAULT_CONCURRENCY: usize = 4_096;
/// Slack past a probe's own timeout before the scheduler gives up on it.
const TIMEOUT_GRACE: Duration = Duration::from_millis(500);
/// About this many probes start in one wake-up of the runtime: phases
/// fall on a grid, counted from one epoch for every service, as fine as
/// gives groups of this size at the services' rate (at most
/// [`MAX_GRID`]). With 1,000 services every 20 s, a probe every 20 ms
/// each woke a sleeping worker thread, and on a VM the wake-ups cost more
/// than the probes: 0.40 ms of CPU a probe, 0.15 in groups
/// (docs/benchmarks.md). Larger groups, at scale, made the probes' peak
/// memory and lateness grow for no CPU back: there the runtime never
/// sleeps.
const GROUP: f64 = 10.0;
/// The coarsest grid: a quarter second.
const MAX_GRID: Duration = Duration::from_millis(250);

pub struct Scheduler {
    tasks: JoinSet<()>,
    /// Each running service's config and task, by name.
    running: HashMap<String, (Arc<ServiceConfig>, AbortHandle)>,
    prober: Arc<dyn Prober>,
    events: Events,
    limit: Arc<Semaphore>,
    stats: Arc<SchedulerStats>,
    /// Every service's phase counts from here.
    epoch: Instant,
    /// The grid that services started now take their phase on.
    grid: Duration,
    /// The finer grid of their first probes, all in one second.
    first_grid: Duration,
}

/// What a [`Scheduler::reconcile`] changed, by service count.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reconciled {
    pub started: usize,
    pub stopped: usize,
    pub restarted: usize,
    pub kept: usize,
}

impl Scheduler {
    pub fn spawn(
        services: &[Arc<ServiceConfig>],
        prober: Arc<dyn Prober>,
        events: Events,
        concurrency: usize,
        stats: Arc<SchedulerStats>,
    ) -> Scheduler {
        let mut scheduler = Scheduler {
            tasks: JoinSet::new(),
            running: HashMap::new(),
            prober,
            events,
            limit: Arc::new(Semaphore::new(concurrency.max(1))),
            stats,
            epoch: Instant::now(),
            grid: MAX_GRID,
            first_grid: MAX_GRID,
        };
        scheduler.reconcile(services);
        scheduler
    }

    /// Runs exactly `services` from now on: starts new ones, stops removed
    /// ones, restarts changed ones; unchanged ones keep their task and phase.
    pub fn reconcile(&mut self, services: &[Arc<ServiceConfig>]) -> Reconciled {
        let mut outcome = Reconciled::default();
        self.grid = grid(services);
        self.first_grid = first_grid(services);
        let wanted: HashMap<&str, &Arc<ServiceConfig>> =
            services.iter().map(|s| (s.name.as_str(), s)).collect();
        self.running
            .retain(|name, (config, task)| match wanted.get(name.as_str()) {
                Some(new) if **new == *config => true,
                other => {
                    task.abort();
                    if other.is_some() {
                        outcome.restarted += 1;
                    } else {
                        outcome.stopped += 1;
                    }
                    false
                }
            });
        for service in services {
            if self.running.contains_key(&service.name) {
                outcome.kept += 1;
                continue;
            }
            let run = Run {
                service: service.clone(),
                prober: self.prober.clone(),
                events: self.events.clone(),
                limit: self.limit.clone(),
                stats: self.stats.clone(),
                epoch: self.epoch,
                grid: self.grid,
                first_grid: self.first_grid,
            };
            let task = self.tasks.spawn(run.forever());
            self.running
                .insert(service.name.clone(), (service.clone(), task));
        }
        outcome.started = services.len() - outcome.kept - outcome.restarted;
        self.stats
            .services
            .store(self.running.len(), Ordering::Relaxed);
        // Reap the tasks of earlier reloads that have finished aborting, so
        // the set does not grow with reloads.
        while self.tasks.try_join_next().is_some() {}
        outcome
    }

    /// Stops every service's task (in-flight probes are abandoned).
    pub async fn stop(mut self) {
        self.tasks.shutdown().await;
    }
}

/// The grid on which about [`GROUP`] of `services`' probes fall together,
/// in whole milliseconds.
fn grid(services: &[Arc<ServiceConfig>]) -> Duration {
    grid_at(
        services
            .iter()
            .map(|s| 1.0 / s.interval.as_secs_f64().max(0.001))
            .sum(),
    )
}

/// The grid of first probes: as if every service probed once a second,
/// as in the first second they do. On the steady grid, 1,000 services
/// every 20 s started in five groups of 200, and each group opened its
/// own 200 connections, whose freed memory stayed in the allocator's
/// arenas after they closed (2 MiB more resident, docs/benchmarks.md).
fn first_grid(services: &[Arc<ServiceConfig>]) -> Duration {
    grid_at(services.len() as f64)
}

/// The grid on which about [`GROUP`] probes of `per_second` fall together.
fn grid_at(per_second: f64) -> Duration {
    let ms = (GROUP * 1_000.0 / per_second.max(f64::MIN_POSITIVE)).round();
    Duration::from_millis(ms.clamp(1.0, MAX_GRID.as_millis() as f64) as u64)
}

/// A stable offset in `[0, span)` from a service's name (FNV-1a), on
/// `grid`.
pub fn phase(name: &str, span: Duration, grid: Duration) -> Duration {
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let grid = (grid.as_millis() as u64).max(1);
    let slots = (span.as_millis() as u64 / grid).max(1);
    Duration::from_millis(hash % slots * grid)
}

/// The first `epoch + phase + k × every` at or after `now`.
fn next_at(epoch: Instant, phase: Duration, every: Duration, now: Instant) -> Instant {
    let first = epoch + phase;
    if now <= first {
        return first;
    }
    let every_ns = every.as_nanos().max(1);
    let periods = (now - first).as_nanos().div_ceil(every_ns);
    // Periods since the epoch: a u32 of them is a century at 1 s.
    first + every * u32::try_from(periods).unwrap_or(u32::MAX)
}

/// One service's schedule.
struct Run {
    service: Arc<ServiceConfig>,
    prober: Arc<dyn Prober>,
    events: Events,
    limit: Arc<Semaphore>,
    stats: Arc<SchedulerStats>,
    epoch: Instant,
    grid: Duration,
    first_grid: Duration,
}

impl Run {
    async fn forever(self) {
        let interval = self.service.interval;
        let name = &self.service.name;
        let second = Duration::from_secs(1);
        let first = next_at(
            self.epoch,
            phase(name, second, self.first_grid),
            second,
            Instant::now(),
        );
        tokio::time::sleep_until(first).await;
        let Some(mut ended) = self.probe_once(first, first).await else {
            return;
        };
        let mut steady = next_at(
            self.epoch,
            phase(name, interval, self.grid),
            interval,
            first,
        );
        if steady <= first {
            steady += interval;
        }
        let mut ticker = tokio::time::interval_at(steady, interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
        loop {
            let planned = ticker.tick().await;
            // The tick came due while the previous probe ran: the target's
            // delay, not the scheduler's.
            let due = if ended > planned {
                self.stats.record_overrun();
                ended
            } else {
                planned
            };
            match self.probe_once(planned, due).await {
                Some(end) => ended = end,
                None => return,
            }
        }
    }

    /// Runs one probe planned for `planned` and free to start at `due`;
    /// returns when it ended, or `None` once nobody takes results any more.
    async fn probe_once(&self, planned: Instant, due: Instant) -> Option<Instant> {
        let permit = self.limit.acquire().await.ok()?;
        let started = Instant::now();
        debug_assert!(due >= planned);
        self.stats
            .record_lateness(started.saturating_duration_since(due));
        let service = &*self.service;
        let timeout = service.probe.timeout;
        let checked_at = crate::clock::now();
        let result =
            match tokio::time::timeout(timeout + TIMEOUT_GRACE, self.prober.probe(&service.probe))
                .await
            {
                Ok(result) => result,
                // The probe's own frame did not end it: stamped, as every
                // result is, with when it started.
                Err(_) => ProbeResult {
                    checked_at,
                    ..ProbeResult::failed(
                        service.probe.service.clone(),
                        started.elapsed(),
                        crate::probe::timed_out(timeout),
                    )
                },
            };
        // The permit bounds probing, not the queue behind it.
        drop(permit);
        let ended = Instant::now();
        self.events.result(result).ok()?;
        Some(ended)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::engine::pipeline::Event;
    use crate::probe::ProbeSpec;
    use async_trait::async_trait;
    use std::collections::HashMap;
    use std::path::Path;
    use tokio::sync::mpsc;

    /// Answers at once, except for services named `hang*`, which never do.
    struct FakeProber;

    #[async_trait]
    impl Prober for FakeProber {
        async fn probe(&self, spec: &ProbeSpec) -> ProbeResult {
            if spec.service.starts_with("hang") {
                std::future::pending::<()>().await;
            }
            ProbeResult::failed(spec.service.clone(), Duration::ZERO, "fake".into())
        }
    }

    /// The next result the scheduler sent.
    async fn next(rx: &mut mpsc::UnboundedReceiver<Event>) -> Option<ProbeResult> {
        match rx.recv().await? {
            Event::Result(result) => Some(result),
            Event::Changes(changes) => panic!("the scheduler sent changes: {changes:?}"),
        }
    }

    fn services(yaml: &str) -> Vec<Arc<ServiceConfig>> {
        let config = Config::parse(yaml, Path::new("t.yaml"), |_| None).unwrap();
        config.services.into_iter().map(Arc::new).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn probes_on_the_interval_while_another_target_hangs() {
        let services = services(
            "services:\n  - {name: fast, url: 'http://a/', interval: 10s}\n  - {name: hang, url: 'http://b/', interval: 10s, timeout: 5s}\n",
        );
        let (tx, mut rx) = Events::channel();
        let stats = Arc::new(SchedulerStats::default());
        let scheduler = Scheduler::spawn(&services, Arc::new(FakeProber), tx, 8, stats.clone());
        let start = Instant::now();
        let mut fast = Vec::new();
        let mut hung = Vec::new();
        while fast.len() < 4 {
            let result = next(&mut rx).await.unwrap();
            let at = start.elapsed();
            match &*result.service {
                "fast" => fast.push(at),
                _ => {
                    assert!(
                        result.message.starts_with("timed out"),
                        "{}",
                        result.message
                    );
                    hung.push(at)
                }
            }
        }
        // First probe within a second, then every 10 s at a fixed phase.
        assert!(fast[0] < Duration::from_secs(1), "{fast:?}");
        for pair in fast[1..].windows(2) {
            assert_eq!(pair[1] - pair[0], Duration::from_secs(10), "{fast:?}");
        }
        // The hanging target reports a timeout after 5 s (+ grace) each time.
        assert!(!hung.is_empty());
        assert!(
            hung[0] >= Duration::from_secs(5) && hung[0] < Duration::from_secs(7),
            "{hung:?}"
        );
        // With permits to spare, every probe started exactly on plan.
        let lateness = stats.lateness.snapshot();
        assert!(lateness.count() >= 5);
        assert_eq!(lateness.max(), Duration::ZERO);
        scheduler.stop().await;
    }

    #[tokio::test(start_paused = true)]
    async fn reconciling_keeps_unchanged_services_and_swaps_the_rest() {
        let first = services(
            "services:\n  - {name: keep, url: 'http://a/', interval: 10s}\n  - {name: change, url: 'http://b/', interval: 10s}\n  - {name: drop, url: 'http://c/', interval: 10s}\n",
        );
        let (tx, mut rx) = Events::channel();
        let stats = Arc::new(SchedulerStats::default());
        let mut scheduler = Scheduler::spawn(&first, Arc::new(FakeProber), tx, 8, stats.clone());
        tokio::time::sleep(Duration::from_secs(15)).await;
        while rx.try_recv().is_ok() {}

        let second = services(
            "services:\n  - {name: keep, url: 'http://a/', interval: 10s}\n  - {name: change, url: 'http://b/', interval: 20s}\n  - {name: new, url: 'http://d/', interval: 10s}\n",
        );
        let outcome = scheduler.reconcile(&second);
        assert_eq!(
            outcome,
            Reconciled {
                started: 1,
                stopped: 1,
                restarted: 1,
                kept: 1
            }
        );
        assert_eq!(stats.services.load(Ordering::Relaxed), 3);

        // Over the next 40 s: `keep` still every 10 s on its old phase,
        // `change` now every 20 s, `new` from its first second, `drop` never.
        let mut seen: HashMap<String, usize> = HashMap::new();
        let until = Instant::now() + Duration::from_secs(40);
        while let Ok(Some(result)) = tokio::time::timeout_at(until, next(&mut rx)).await {
            *seen.entry(result.service.to_string()).or_default() += 1;
        }
        assert_eq!(seen.get("drop"), None, "{seen:?}");
        assert_eq!(seen["keep"], 4, "{seen:?}");
        assert!((2..=3).contains(&seen["change"]), "{seen:?}");
        assert!((4..=5).contains(&seen["new"]), "{seen:?}");
        scheduler.stop().await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_target_that_hangs_past_its_interval_overruns_without_making_the_scheduler_late() {
        // The default timeout is the interval: each probe of `hang` is
        // still running when the next one comes due.
        let services = services(
            "services:\n  - {name: hang, url: 'http://a/', interval: 10s}\n  - {name: fast, url: 'http://b/', interval: 10s}\n",
        );
        let (tx, mut rx) = Events::channel();
        let stats = Arc::new(SchedulerStats::default());
        let scheduler = Scheduler::spawn(&services, Arc::new(FakeProber), tx, 8, stats.clone());
        let mut hung = 0;
        while hung < 4 {
            let result = next(&mut rx).await.unwrap();
            hung += usize::from(&*result.service == "hang");
        }
        // Every probe of `hang` after the first came due while the one
        // before it still ran.
        let overruns = stats.overruns();
        assert!((3..=4).contains(&overruns), "{overruns}");
        // Yet nothing waited on the scheduler: both services' probes
        // started as soon as they could.
        assert_eq!(stats.lateness.snapshot().max(), Duration::ZERO);
        scheduler.stop().await;
    }

    #[test]
    fn phases_are_stable_and_spread() {
        let (span, grid) = (Duration::from_secs(10), Duration::from_millis(10));
        assert_eq!(phase("api", span, grid), phase("api", span, grid));
        let phases: std::collections::HashSet<_> = (0..100)
            .map(|i| phase(&format!("svc-{i}"), span, grid).as_millis() / 1000)
            .collect();
        assert!(
            phases.len() >= 8,
            "100 services should land in most of the 10 one-second slots: {phases:?}"
        );
    }

    #[test]
    fn the_grid_gathers_about_ten_probes_a_wake_up() {
        let of = |n: usize, every: &str| {
            let yaml: String = (0..n)
                .map(|i| format!("  - {{name: s{i}, url: 'http://a/', interval: {every}}}\n"))
                .collect();
            services(&format!("services:\n{yaml}"))
        };
        let fleet = |n: usize, every: &str| grid(&of(n, every));
        // First probes, all in one second: 1,000 of them every 10 ms.
        assert_eq!(first_grid(&of(1_000, "20s")), Duration::from_millis(10));
        assert_eq!(first_grid(&of(20_000, "20s")), Duration::from_millis(1));
        assert_eq!(first_grid(&of(10, "60s")), MAX_GRID);
        // 50 probes a second: a group every 200 ms.
        assert_eq!(fleet(1_000, "20s"), Duration::from_millis(200));
        // 1,000 a second: every 10 ms, not bursts of hundreds.
        assert_eq!(fleet(10_000, "10s"), Duration::from_millis(10));
        // A few services: the coarsest grid, still a quarter second.
        assert_eq!(fleet(10, "60s"), MAX_GRID);
        assert_eq!(grid(&[]), MAX_GRID);
        // Phases land on the grid, within the interval.
        for i in 0..100 {
            let p = phase(
                &format!("s{i}"),
                Duration::from_secs(20),
                fleet(1_000, "20s"),
            );
            assert_eq!(p.as_millis() % 200, 0, "{p:?}");
            assert!(p < Duration::from_secs(20));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn probes_start_on_one_grid_even_for_services_added_later() {
        let names = |range: std::ops::Range<usize>| -> String {
            range
                .map(|i| format!("  - {{name: svc-{i}, url: 'http://a/', interval: 20s}}\n"))
                .collect()
        };
        let (tx, mut rx) = Events::channel();
        let stats = Arc::new(SchedulerStats::default());
        let epoch = Instant::now();
        let mut scheduler = Scheduler::spawn(
            &services(&format!("services:\n{}", names(0..400))),
            Arc::new(FakeProber),
            tx,
            64,
            stats,
        );
        let mut starts = std::collections::BTreeSet::new();
        let (mut probes, mut steady) = (0, 0);
        // First probes, by start (in ms): within a second of their
        // service's start, on that second's finer grid.
        let mut seen = std::collections::HashSet::new();
        let mut first_starts: HashMap<u128, usize> = HashMap::new();
        // A hundred more added 3.3 s in, off the grid: they join it.
        let added = epoch + Duration::from_millis(3_300);
        for until in [added, epoch + Duration::from_secs(45)] {
            while let Ok(Some(result)) = tokio::time::timeout_at(until, next(&mut rx)).await {
                // The fake prober answers at once: arrival is the start
                // (to the timer wheel's millisecond).
                let at = (Instant::now() - epoch).as_micros();
                // 400 services' first probes on a 25 ms grid; the hundred
                // added, 500 in the config, on a 20 ms one.
                let grid = match seen.insert(result.service.to_string()) {
                    true if until == added => 25_000,
                    true => 20_000,
                    false => MAX_GRID.as_micros(),
                };
                let off = at % grid;
                assert!(off.min(grid - off) < 1_000, "a probe at {at} µs");
                if grid == MAX_GRID.as_micros() {
                    starts.insert((at + grid / 2) / grid);
                    steady += 1;
                } else {
                    *first_starts.entry((at + 500) / 1_000).or_default() += 1;
                }
                probes += 1;
            }
            if until == added {
                scheduler.reconcile(&services(&format!("services:\n{}", names(0..500))));
            }
        }
        // Every service twice or more (25 probes a second: a quarter
        // second's are five or six), in a fifth as many wake-ups.
        assert!(probes >= 1_000, "{probes} probes");
        assert!(starts.len() <= steady / 5, "{} start times", starts.len());
        // Each service's first probe, in groups of about ten (on the steady
        // grid, a hundred at once).
        assert_eq!(first_starts.values().sum::<usize>(), 500);
        let largest = first_starts.values().max().copied();
        assert!(largest <= Some(3 * GROUP as usize), "{largest:?} at once");
        scheduler.stop().await;
    }

    #[tokio::test(start_paused = true)]
    async fn the_concurrency_cap_holds_while_targets_hang() {
        let services = services(
            "services:\n  - {name: hang-1, url: 'http://a/', interval: 10s, timeout: 5s}\n  - {name: hang-2, url: 'http://b/', interval: 10s, timeout: 5s}\n  - {name: fast, url: 'http://c/', interval: 10s}\n",
        );
        let (tx, mut rx) = Events::channel();
        // Room for one probe at a time: the fast service must wait its turn
        // but still gets through, after the hanging ones time out.
        let stats = Arc::new(SchedulerStats::default());
        let scheduler = Scheduler::spawn(&services, Arc::new(FakeProber), tx, 1, stats.clone());
        let mut seen_fast = false;
        for _ in 0..3 {
            let result = next(&mut rx).await.unwrap();
            seen_fast |= &*result.service == "fast";
        }
        assert!(seen_fast);
        // Waiting for the one permit shows up as lateness.
        let lateness = stats.lateness.snapshot();
        assert!(lateness.count() >= 3);
        assert!(
            lateness.max() >= Duration::from_secs(5),
            "{:?}",
            lateness.max()
        );
        assert_eq!(stats.services.load(Ordering::Relaxed), 3);
        scheduler.stop().await;
    }
}
