//! The status board: the current state of every service, in memory.
//!
//! The pipeline folds each probe result in; the status page's render, the
//! WebSocket snapshot and the health endpoints read from it. Nothing here
//! touches the database.

use super::tracker::{Tracker, Verdict};
use crate::config::{Config, ServiceConfig};
use crate::event::{ProbeResult, StatusChange};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use wire::{GroupView, PageSnapshot, ProbeEvent, ServiceStatus, ServiceView};

struct Entry {
    /// The service's idea of slow, all of its config a result needs here
    /// (a copy of the whole config was a second one of every service's).
    degraded_latency: Option<std::time::Duration>,
    view: ServiceView,
    tracker: Tracker,
}

/// What one result says, given the service's idea of slow.
fn verdict(degraded_latency: Option<std::time::Duration>, result: &ProbeEvent) -> Verdict {
    let slow =
        degraded_latency.is_some_and(|limit| result.latency_ms > limit.as_secs_f64() * 1_000.0);
    match (result.success, slow) {
        (false, _) => Verdict::Failed,
        (true, true) => Verdict::Slow,
        (true, false) => Verdict::Ok,
    }
}

/// What makes something made from the board current: the board's version
/// (every change), its count of changes that are more than a probe result
/// (a status change, a reload, bars loaded, a stop), and the day its bars
/// end on. Kept renders and snapshots carry one.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Freshness {
    pub version: u64,
    pub changes: u64,
    pub day: chrono::NaiveDate,
}

impl Freshness {
    /// Whether something made at `self` may answer a request that read
    /// `wanted` (something newer than the request's reading will do).
    pub fn serves(&self, wanted: &Freshness) -> bool {
        self.day == wanted.day && self.version >= wanted.version
    }

    /// Whether it shows every status `wanted` does: at most some probe
    /// results behind it, which live pages bring up to date themselves.
    pub fn shows_statuses_of(&self, wanted: &Freshness) -> bool {
        self.day == wanted.day && self.changes >= wanted.changes
    }
}

/// A result for a service that is not (or no longer) configured.
#[derive(Debug, PartialEq, Eq)]
pub struct NotConfigured;

pub struct StatusBoard {
    config: RwLock<Arc<Config>>,
    entries: RwLock<HashMap<String, Entry>>,
    /// Bumped by every change to what a page or snapshot would show, so
    /// renders of an unchanged board can be reused.
    version: AtomicU64,
    /// Bumped by the changes that are more than a probe result.
    changes: AtomicU64,
}

impl Entry {
    /// The view as shown on `today`: a quiet service's bar still ends
    /// today (a bar not loaded yet stays empty). The bar is shared with
    /// the board's, and copied only when it must be rolled forward.
    fn shown_on(&self, today: chrono::NaiveDate) -> ServiceView {
        let mut view = self.view.clone();
        if view.uptime.last_day().is_some_and(|last| last < today) {
            Arc::make_mut(&mut view.uptime).roll_to(today);
        }
        view
    }
}

fn entry_for(service: &ServiceConfig) -> Entry {
    Entry {
        degraded_latency: service.degraded_latency,
        view: ServiceView::new(service.name.clone(), service.group.clone()),
        tracker: Tracker::new(service.failure_threshold, service.success_threshold)
            .with_degraded_error_rate(service.degraded_error_rate),
    }
}

impl StatusBoard {
    /// Every configured service starts `unknown`: until Hale has checked it
    /// in this run it does not know.
    pub fn new(config: Arc<Config>) -> StatusBoard {
        let entries = config
            .services
            .iter()
            .map(|s| (s.name.clone(), entry_for(s)))
            .collect();
        StatusBoard {
            config: RwLock::new(config),
            entries: RwLock::new(entries),
            version: AtomicU64::new(0),
            changes: AtomicU64::new(0),
        }
    }

    /// Takes a new config without losing state: services that stay keep
    /// their status and confirmation counts (their thresholds follow the
    /// new config), new ones start unknown, and removed ones are forgotten
    /// with a change to unknown, returned for storing and publishing.
    pub fn reconfigure(
        &self,
        config: Arc<Config>,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Vec<StatusChange> {
        let mut entries = self.entries.write().expect("board lock");
        let mut removed = Vec::new();
        entries.retain(|name, entry| {
            let keep = config.services.iter().any(|s| &s.name == name);
            if !keep && entry.view.status != ServiceStatus::Unknown {
                removed.push(StatusChange {
                    service: name.clone(),
                    from: entry.view.status,
                    to: ServiceStatus::Unknown,
                    at,
                    cause: "removed from the configuration".into(),
                });
            }
            keep
        });
        for service in &config.services {
            match entries.get_mut(&service.name) {
                Some(entry) => {
                    entry.tracker.set_thresholds(
                        service.failure_threshold,
                        service.success_threshold,
                        service.degraded_error_rate,
                    );
                    entry.view.group = service.group.clone();
                    entry.degraded_latency = service.degraded_latency;
                }
                None => {
                    entries.insert(service.name.clone(), entry_for(service));
                }
            }
        }
        *self.config.write().expect("board lock") = config;
        // After the config too: page renders read it without the entries'
        // lock, so a render that sees the new version sees the new config.
        self.changed();
        removed
    }

    /// Shows the last stored latency and check time while the first probes
    /// of this run are under way (the status stays unknown).
    pub fn seed(&self, latest: &[ProbeResult]) {
        let mut entries = self.entries.write().expect("board lock");
        self.changed();
        for result in latest {
            if let Some(entry) = entries.get_mut(&*result.service) {
                entry.view.apply_probe(&result.to_event());
            }
        }
    }

    /// Changes whenever anything the board shows may have changed (read it
    /// before reading the board: a change made in between then shows as a
    /// newer version, never as an older one with newer content missing).
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// Called with the entries' write lock held, and after any change to
    /// the config: a change that is more than a probe result.
    fn changed(&self) {
        self.changes.fetch_add(1, Ordering::AcqRel);
        self.probed();
    }

    /// A probe result changed what the board shows.
    fn probed(&self) {
        self.version.fetch_add(1, Ordering::AcqRel);
    }

    /// What the board shows now. Read before reading the board itself: a
    /// change in between then shows as a newer version, never as older.
    pub fn freshness(&self) -> Freshness {
        // Changes first: a version read after them is at least as new.
        let changes = self.changes.load(Ordering::Acquire);
        Freshness {
            version: self.version(),
            changes,
            day: crate::clock::now().date_naive(),
        }
    }

    /// The config the board follows.
    pub fn config(&self) -> Arc<Config> {
        self.config.read().expect("board lock").clone()
    }

    /// Takes each service's uptime bar as history has it; live results
    /// then extend it.
    pub fn set_bars(&self, mut bars: std::collections::HashMap<String, wire::UptimeBar>) {
        let mut entries = self.entries.write().expect("board lock");
        self.changed();
        for (name, entry) in entries.iter_mut() {
            if let Some(bar) = bars.remove(name) {
                entry.view.uptime = Arc::new(bar);
            }
        }
    }

    /// A service as a page shows it, with the page's slug and title;
    /// `None` when the page doesn't exist or doesn't show the service.
    pub fn page_service(
        &self,
        slug: Option<&str>,
        service: &str,
    ) -> Option<(String, String, ServiceView)> {
        let config = self.config.read().expect("board lock").clone();
        let (slug, title) = match slug {
            None => ("", config.title.as_str()),
            Some(slug) => {
                let page = config.status_pages.iter().find(|p| p.slug == slug)?;
                if !page.services.iter().any(|s| s == service) {
                    return None;
                }
                (page.slug.as_str(), page.title.as_str())
            }
        };
        let entries = self.entries.read().expect("board lock");
        let view = entries
            .get(service)?
            .shown_on(crate::clock::now().date_naive());
        Some((slug.to_string(), title.to_string(), view))
    }

    /// Folds one result in; `Err` for a service the board does not know
    /// (removed by a reload while its probe ran), else the status change it
    /// caused, if any.
    pub fn record(&self, result: &ProbeEvent) -> Result<Option<StatusChange>, NotConfigured> {
        let mut entries = self.entries.write().expect("board lock");
        let entry = entries.get_mut(&result.service).ok_or(NotConfigured)?;
        self.probed();
        // The same event live clients get, so the render and the live page
        // agree to the digit.
        entry.view.apply_probe(result);
        let verdict = verdict(entry.degraded_latency, result);
        let Some((from, to, cause)) = entry.tracker.observe(verdict, &result.message) else {
            return Ok(None);
        };
        self.changed();
        entry.view.apply_status(to, result.timestamp);
        Ok(Some(StatusChange {
            service: result.service.clone(),
            from,
            to,
            at: result.timestamp,
            cause,
        }))
    }

    /// Hale is stopping: every service it knew becomes unknown. Returns
    /// the changes, to store and publish.
    pub fn mark_stopped(&self, at: chrono::DateTime<chrono::Utc>) -> Vec<StatusChange> {
        let mut entries = self.entries.write().expect("board lock");
        self.changed();
        let mut changes = Vec::new();
        for (name, entry) in entries.iter_mut() {
            if entry.view.status == ServiceStatus::Unknown {
                continue;
            }
            changes.push(StatusChange {
                service: name.clone(),
                from: entry.view.status,
                to: ServiceStatus::Unknown,
                at,
                cause: "Hale stopped".into(),
            });
            entry.view.status = ServiceStatus::Unknown;
            entry.tracker.reset();
        }
        changes
    }

    /// Every service, in config order, as a live page's snapshot carries it: the latest
    /// truth without the 90-day bar (a page has it from its render, or
    /// asks `/api/services/<name>/days`), so a snapshot is about 200 bytes
    /// a service.
    pub fn live_views(&self) -> Vec<ServiceView> {
        let entries = self.entries.read().expect("board lock");
        let config = self.config.read().expect("board lock").clone();
        config
            .services
            .iter()
            .filter_map(|s| {
                let view = &entries.get(&s.name)?.view;
                Some(ServiceView {
                    name: view.name.clone(),
                    group: view.group.clone(),
                    status: view.status,
                    latency_ms: view.latency_ms,
                    last_checked: view.last_checked,
                    message: view.message.clone(),
                    conditions: view.conditions.clone(),
                    uptime: Default::default(),
                })
            })
            .collect()
    }

    /// How many services are in each state.
    pub fn counts(&self) -> BTreeMap<&'static str, usize> {
        let entries = self.entries.read().expect("board lock");
        let mut counts: BTreeMap<&'static str, usize> =
            ServiceStatus::ALL.iter().map(|s| (s.as_str(), 0)).collect();
        for entry in entries.values() {
            *counts.entry(entry.view.status.as_str()).or_default() += 1;
        }
        counts
    }

    fn snapshot(
        &self,
        slug: &str,
        title: &str,
        description: Option<&str>,
        names: &[&str],
    ) -> PageSnapshot {
        let entries = self.entries.read().expect("board lock");
        let now = crate::clock::now();
        let mut groups: Vec<GroupView> = Vec::new();
        for name in names {
            let Some(entry) = entries.get(*name) else {
                continue;
            };
            let group = entry.view.group.clone();
            let view = entry.shown_on(now.date_naive());
            match groups.iter_mut().find(|g| g.name == group) {
                Some(g) => g.services.push(view),
                None => groups.push(GroupView {
                    name: group,
                    services: vec![view],
                }),
            }
        }
        // Ungrouped services first, as the page's lead section.
        groups.sort_by_key(|g| g.name.is_some());
        let overall = ServiceStatus::worst(
            groups
                .iter()
                .flat_map(|g| g.services.iter().map(|s| s.status)),
        );
        PageSnapshot {
            slug: slug.to_string(),
            title: title.to_string(),
            description: description.map(str::to_string),
            overall_status: overall,
            groups,
            generated_at: now,
        }
    }

    /// `None` is the default page (`/`): every service, under the config's
    /// title. A slug names one of `status_pages`.
    pub fn page(&self, slug: Option<&str>) -> Option<PageSnapshot> {
        let config = self.config.read().expect("board lock").clone();
        match slug {
            None => {
                let names: Vec<&str> = config.services.iter().map(|s| s.name.as_str()).collect();
                Some(self.snapshot("", &config.title, config.description.as_deref(), &names))
            }
            Some(slug) => {
                let page = config.status_pages.iter().find(|p| p.slug == slug)?;
                let names: Vec<&str> = page.services.iter().map(String::as_str).collect();
                Some(self.snapshot(&page.slug, &page.title, page.description.as_deref(), &names))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::time::Duration;

    fn board() -> StatusBoard {
        let config = Config::parse(
            "title: Acme\nservices:\n  - {name: api, group: Core, url: 'http://a/', failure_threshold: 1}\n  - {name: web, url: 'http://b/'}\n  - {name: db, group: Core, url: 'http://c/'}\nstatus_pages:\n  - {slug: public, title: Public, services: [web]}\n",
            Path::new("t.yaml"),
            |_| None,
        )
        .unwrap();
        StatusBoard::new(Arc::new(config))
    }

    fn result(service: &str, success: bool) -> ProbeEvent {
        ProbeResult {
            service: Arc::from(service),
            checked_at: crate::clock::now(),
            success,
            latency: Duration::from_millis(12),
            status_code: Some(if success { 200 } else { 500 }),
            message: if success { "HTTP 200" } else { "HTTP 500" }.into(),
            conditions: vec![],
            region: None,
            certificate_expiration: None,
        }
        .to_event()
    }

    #[test]
    fn pages_group_services_and_take_the_worst_status() {
        let board = board();
        let page = board.page(None).unwrap();
        assert_eq!(page.title, "Acme");
        assert_eq!(page.overall_status, ServiceStatus::Unknown);
        let groups: Vec<_> = page
            .groups
            .iter()
            .map(|g| (g.name.as_deref(), g.services.len()))
            .collect();
        assert_eq!(groups, [(None, 1), (Some("Core"), 2)]);

        for name in ["api", "web", "db"] {
            board.record(&result(name, true)).unwrap();
        }
        assert_eq!(
            board.page(None).unwrap().overall_status,
            ServiceStatus::Operational
        );
        let change = board
            .record(&result("api", false))
            .unwrap()
            .expect("threshold 1 changes at once");
        assert_eq!(
            (change.from, change.to),
            (ServiceStatus::Operational, ServiceStatus::Down)
        );
        assert_eq!(
            board.page(None).unwrap().overall_status,
            ServiceStatus::Down
        );
        // The public page shows only `web`, which is fine.
        assert_eq!(
            board.page(Some("public")).unwrap().overall_status,
            ServiceStatus::Operational
        );
        assert!(board.page(Some("nope")).is_none());
        assert_eq!(board.counts()["down"], 1);
    }

    #[test]
    fn slow_answers_past_degraded_latency_degrade_after_confirmation() {
        let config = Config::parse(
            "services:\n  - {name: api, url: 'http://a/', degraded_latency: 100ms, failure_threshold: 2}\n",
            Path::new("t.yaml"),
            |_| None,
        )
        .unwrap();
        let board = StatusBoard::new(Arc::new(config));
        let mut slow = result("api", true);
        slow.latency_ms = 250.0;
        board.record(&result("api", true)).unwrap();
        assert!(board.record(&slow).unwrap().is_none());
        let change = board
            .record(&slow)
            .unwrap()
            .expect("two slow answers confirm");
        assert_eq!(
            (change.from, change.to),
            (ServiceStatus::Operational, ServiceStatus::Degraded)
        );
        assert_eq!(change.cause, "2 consecutive slow answers: HTTP 200");
        assert_eq!(
            board.page(None).unwrap().overall_status,
            ServiceStatus::Degraded
        );
    }

    #[test]
    fn reconfiguring_keeps_state_and_forgets_removed_services() {
        let board = board();
        board.record(&result("api", true)).unwrap();
        board.record(&result("web", true)).unwrap();
        let config = Config::parse(
            "title: Acme 2\nservices:\n  - {name: api, group: Edge, url: 'http://a/', failure_threshold: 2}\n  - {name: new, url: 'http://n/'}\n",
            Path::new("t.yaml"),
            |_| None,
        )
        .unwrap();
        let removed = board.reconfigure(Arc::new(config), crate::clock::now());
        assert_eq!(removed.len(), 1);
        assert_eq!(
            (removed[0].service.as_str(), removed[0].to),
            ("web", ServiceStatus::Unknown)
        );
        assert_eq!(removed[0].cause, "removed from the configuration");

        let views = board.live_views();
        let names: Vec<_> = views
            .iter()
            .map(|v| (v.name.as_str(), v.status, v.group.as_deref()))
            .collect();
        assert_eq!(
            names,
            [
                ("api", ServiceStatus::Operational, Some("Edge")),
                ("new", ServiceStatus::Unknown, None)
            ]
        );
        assert_eq!(board.page(None).unwrap().title, "Acme 2");
        // The new threshold (2) applies to the kept tracker.
        assert!(board.record(&result("api", false)).unwrap().is_none());
        assert!(board.record(&result("api", false)).unwrap().is_some());
    }

    #[test]
    fn results_of_unconfigured_services_are_ignored() {
        assert_eq!(board().record(&result("ghost", false)), Err(NotConfigured));
    }
}
