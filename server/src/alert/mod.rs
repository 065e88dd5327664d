//! Alerting: the pipeline's notifier. Status changes become alerts by
//! rules; an alert and its messages are written to the store (the outbox)
//! before anything is sent; a sender delivers what is due to the channels
//! and records every attempt, retrying with back-off for up to a day. So
//! a restart in the middle of an outage neither repeats the `down` (the
//! open alert is in the store) nor forgets the `resolved`.
//!
//! Rules so far: `down` (critical) while a service is down, `degraded`
//! (warning) while it is degraded. Changes to unknown (Hale stopping or
//! starting, a service removed) neither fire nor resolve anything. The
//! rules of `alerting.rules` (error rate, latency p95) are judged on each
//! result ([`rules`]). An alert that stays is sent again every
//! `renotify`.
//!
//! Each channel is paced ([`Pace`]): after a message, what else comes for
//! it within `group_window` waits for the window's end and goes out as one
//! message listing every alert (a storm: fifty services behind one broken
//! database make two messages, not fifty); and it is sent at most
//! `flood_limit` messages a minute, the rest folded the same way. No
//! alert is dropped: each keeps its own row, delivered with the message
//! that carried it. PagerDuty is not folded: each alert is its own
//! incident there, triggered and resolved by its own key.
//!
//! # Adding a channel
//!
//! 1. `config/alerting.rs`: a [`ChannelKind`] variant, its name in
//!    `type_name` and `TYPES`, the fields it takes in `channel_kind` (new
//!    ones in `RawChannel` and its `given` list).
//! 2. [`channels::request`]: the request it sends.
//! 3. A receiver test of its payload in `tests/api/alerts.rs`.
//! 4. Its section in docs/configuration.md ("Alerting").
//!
//! [`ChannelKind`]: crate::config::ChannelKind

pub mod channels;
pub mod rules;

use crate::clock::WallClock;
use crate::config::{AlertingConfig, Channel, ChannelKind, Config};
use crate::engine::pipeline::Notifier;
use crate::event::{ProbeResult, StatusChange};
use crate::store::alerts::{AlertRow, DeliveryRow};
use crate::store::{Store, StoreError};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;
use wire::ServiceStatus;

/// How the sender retries.
#[derive(Clone, Debug)]
pub struct DeliveryRules {
    /// The wait after a first failed attempt; each further one doubles
    /// it, up to `retry_max`.
    pub retry_first: Duration,
    pub retry_max: Duration,
    /// A message still undelivered this long after it was queued is
    /// given up (and recorded so).
    pub give_up_after: Duration,
    /// One attempt's limit.
    pub send_timeout: Duration,
    pub clock: WallClock,
}

impl Default for DeliveryRules {
    fn default() -> DeliveryRules {
        DeliveryRules {
            retry_first: Duration::from_secs(30),
            retry_max: Duration::from_secs(3_600),
            give_up_after: Duration::from_secs(24 * 3_600),
            send_timeout: Duration::from_secs(10),
            clock: WallClock::default(),
        }
    }
}

impl DeliveryRules {
    /// The wait before attempt `attempts + 1`, after `attempts` failed.
    pub fn backoff(&self, attempts: i64) -> Duration {
        let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
        self.retry_first
            .saturating_mul(1 << doublings)
            .min(self.retry_max)
    }
}

/// What alerting knows of the config: the channels, and each service's.
#[derive(Debug, Default)]
pub struct Routes {
    pub alerting: AlertingConfig,
    pub services: HashMap<String, ServiceRoute>,
}

/// A service as its alerts name it.
#[derive(Clone, Debug, Default)]
pub struct ServiceRoute {
    pub channels: Vec<String>,
    pub group: Option<String>,
    /// Its URL without userinfo or query: what a message may show.
    pub url: String,
    /// Its objective, judged by burn rate.
    pub slo: Option<crate::config::Slo>,
}

impl Routes {
    pub fn of(config: &Config) -> Routes {
        Routes {
            alerting: config.alerting.clone(),
            services: config
                .services
                .iter()
                .map(|s| {
                    let route = ServiceRoute {
                        channels: s.alerts.clone(),
                        group: s.group.clone(),
                        url: shown_url(s),
                        slo: s.slo,
                    };
                    (s.name.clone(), route)
                })
                .collect(),
        }
    }
}

/// A service's URL as a message may show it: without userinfo, query or
/// fragment, and a push service's without its token (which lets anyone
/// holding it push).
fn shown_url(service: &crate::config::ServiceConfig) -> String {
    if service.kind() == crate::probe::ProbeKind::Push {
        return "push://".into();
    }
    let mut url = service.url.clone();
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_query(None);
    url.set_fragment(None);
    url.to_string()
}

/// The client every HTTP channel is sent with: no redirects followed.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Hale/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("an HTTP client")
}

/// Sends `channel` a test message now, not through the outbox
/// (`hale notify-test`, `POST /api/alerts/test`). PagerDuty's test
/// incident is resolved right after it is opened.
pub async fn send_test(
    client: &reqwest::Client,
    channel: &Channel,
    timeout: Duration,
) -> Result<(), String> {
    let notice = channels::Notice::test(&channel.name);
    channels::send(client, channel, &notice, timeout).await?;
    if let ChannelKind::PagerDuty { .. } = channel.kind {
        let resolve = channels::Notice {
            event: "resolved".into(),
            ..notice
        };
        channels::send(client, channel, &resolve, timeout).await?;
    }
    Ok(())
}

/// The notifier: told of changes by the pipeline, it hands them to its
/// own task and returns at once.
pub struct Alerting {
    /// `None` asks the rules' task to end, once it has judged what came
    /// before.
    changes: mpsc::UnboundedSender<Option<Judged>>,
    figures: rules::Figures,
    routes: Arc<RwLock<Routes>>,
    judge: std::sync::Mutex<Option<JoinHandle<()>>>,
    sender: JoinHandle<()>,
    client: reqwest::Client,
    send_timeout: Duration,
}

/// What the rules' task is told.
enum Judged {
    Change(StatusChange),
    Rule(rules::RuleVerdict),
    /// The config was reloaded; each service's channels before it.
    Reconfigured(HashMap<String, Vec<String>>),
}

impl Notifier for Alerting {
    fn status_changed(&self, change: &StatusChange) {
        let _ = self.changes.send(Some(Judged::Change(change.clone())));
    }

    fn probed(&self, result: &ProbeResult) {
        let routes = self.routes.read().expect("routes lock");
        // A service that alerts nobody is not judged.
        let Some(service) = routes
            .services
            .get(&*result.service)
            .filter(|s| !s.channels.is_empty())
        else {
            return;
        };
        let verdicts = self
            .figures
            .judge(result, &routes.alerting.rules, service.slo.as_ref());
        for verdict in verdicts {
            let _ = self.changes.send(Some(Judged::Rule(verdict)));
        }
    }
}

impl Drop for Alerting {
    fn drop(&mut self) {
        self.sender.abort();
        if let Some(judge) = self.judge.lock().expect("judge lock").take() {
            judge.abort();
        }
    }
}

impl Alerting {
    /// Starts the rules' task and the sender over `store`.
    pub fn start(store: Arc<dyn Store>, config: &Config, rules: DeliveryRules) -> Arc<Alerting> {
        let routes = Arc::new(RwLock::new(Routes::of(config)));
        let wake = Arc::new(Notify::new());
        let (tx, rx) = mpsc::unbounded_channel();
        let client = http_client();
        let send_timeout = rules.send_timeout;
        let judge = tokio::spawn(judge(store.clone(), routes.clone(), rx, wake.clone()));
        let sender = Sender {
            store,
            routes: routes.clone(),
            client: client.clone(),
            rules,
            paces: HashMap::new(),
        };
        let send = tokio::spawn(sender.run(wake));
        Arc::new(Alerting {
            changes: tx,
            figures: rules::Figures::default(),
            routes,
            judge: std::sync::Mutex::new(Some(judge)),
            sender: send,
            client,
            send_timeout,
        })
    }

    /// A test message to the configured channel `name`; `None` when no
    /// channel has that name.
    pub async fn send_test(&self, name: &str) -> Option<Result<(), String>> {
        let channel = self
            .routes
            .read()
            .expect("routes lock")
            .alerting
            .channel(name)
            .cloned()?;
        Some(send_test(&self.client, &channel, self.send_timeout).await)
    }

    /// The configured channels' names and types.
    pub fn channels(&self) -> Vec<(String, &'static str)> {
        let routes = self.routes.read().expect("routes lock");
        routes
            .alerting
            .channels
            .iter()
            .map(|c| (c.name.clone(), c.kind.type_name()))
            .collect()
    }

    /// Hale stops: the changes already told are judged and written (for
    /// up to 5 s), and sending stops. What is not sent yet stays in the
    /// outbox for the next start.
    pub async fn stop(&self) {
        let _ = self.changes.send(None);
        let judge = self.judge.lock().expect("judge lock").take();
        if let Some(mut judge) = judge {
            if tokio::time::timeout(Duration::from_secs(5), &mut judge)
                .await
                .is_err()
            {
                tracing::warn!("alerting: changes not judged within 5 s of stopping");
                judge.abort();
            }
        }
        self.sender.abort();
    }

    /// A reloaded config: its channels and services from now on. Open
    /// alerts stay open; none is sent again.
    pub fn reconfigure(&self, config: &Config) {
        let routes = Routes::of(config);
        self.figures.reconfigured(|service| {
            routes
                .services
                .get(service)
                .is_some_and(|s| !s.channels.is_empty())
        });
        let old = std::mem::replace(&mut *self.routes.write().expect("routes lock"), routes);
        let old_channels = old
            .services
            .into_iter()
            .map(|(name, route)| (name, route.channels))
            .collect();
        let _ = self.changes.send(Some(Judged::Reconfigured(old_channels)));
    }
}

/// Each rule a change speaks to: (rule, severity, whether it holds now).
fn verdicts(change: &StatusChange) -> Vec<(&'static str, &'static str, bool)> {
    if change.to == ServiceStatus::Unknown {
        return Vec::new();
    }
    vec![
        ("down", "critical", change.to == ServiceStatus::Down),
        ("degraded", "warning", change.to == ServiceStatus::Degraded),
    ]
}

/// A rule's verdict on a service, as the rules' task acts on it.
struct Verdict {
    rule: String,
    severity: &'static str,
    holds: bool,
    /// The alert's message, if it fires.
    message: String,
}

/// What the rules' task does with a change or a rule's verdict: the
/// service, when, and each rule's verdict.
fn judged(told: Judged) -> Option<(String, i64, Vec<Verdict>)> {
    Some(match told {
        Judged::Reconfigured(_) => return None,
        Judged::Change(change) => {
            let message = format!("{} is {}: {}", change.service, change.to, change.cause);
            let verdicts = verdicts(&change)
                .into_iter()
                .map(|(rule, severity, holds)| Verdict {
                    rule: rule.to_string(),
                    severity,
                    holds,
                    message: message.clone(),
                })
                .collect();
            (change.service, change.at.timestamp_millis(), verdicts)
        }
        Judged::Rule(v) => {
            let verdict = Verdict {
                rule: v.rule,
                severity: v.severity,
                holds: v.holds,
                message: v.message,
            };
            (v.service, v.at_ms, vec![verdict])
        }
    })
}

/// Whether anything still judges `rule` of `service` under `routes`:
/// `down` and `degraded` while the service is configured; a result rule
/// while it is also configured and the service names a channel.
fn still_judged(routes: &Routes, service: &str, rule: &str) -> bool {
    let Some(route) = routes.services.get(service) else {
        return false;
    };
    let alerted = !route.channels.is_empty();
    match rule {
        "down" | "degraded" => true,
        rule if rules::BURN_RULES.iter().any(|(name, ..)| *name == rule) => {
            alerted && route.slo.is_some()
        }
        rule => alerted && routes.alerting.rules.iter().any(|r| r.name == rule),
    }
}

/// Runs `op` until the store takes it, waiting longer each time: an
/// outage of the database delays alerts, it doesn't lose them.
async fn persist<T, F, Fut>(what: &str, mut op: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    let mut wait = Duration::from_millis(250);
    loop {
        match op().await {
            Err(StoreError::Database(error)) => {
                tracing::warn!(%error, "alerting: {what} failed; trying again");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(30));
            }
            other => return other,
        }
    }
}

/// Resolves alert `id` at `at_ms`, telling `channels`; whether it was
/// open (and so messages were queued).
async fn resolve(
    alerts: &dyn crate::store::alerts::AlertStore,
    id: i64,
    at_ms: i64,
    channels: &[String],
) -> bool {
    match persist("resolving an alert", || alerts.resolve(id, at_ms, channels)).await {
        Ok(resolved) => resolved,
        Err(error) => {
            tracing::warn!(%error, "alerting: an alert was not resolved");
            false
        }
    }
}

/// The rules' task: changes in, alerts out (to the store, then a wake-up
/// for the sender).
async fn judge(
    store: Arc<dyn Store>,
    routes: Arc<RwLock<Routes>>,
    mut changes: mpsc::UnboundedReceiver<Option<Judged>>,
    wake: Arc<Notify>,
) {
    let alerts = store.alerts();
    let load = || async {
        let open = persist("reading open alerts", || alerts.open_alerts()).await?;
        Ok::<_, StoreError>(
            open.into_iter()
                .map(|a| ((a.service, a.rule), a.id))
                .collect::<HashMap<(String, String), i64>>(),
        )
    };
    let mut open = match load().await {
        Ok(open) => open,
        Err(error) => {
            tracing::error!(%error, "alerting: cannot read open alerts; alerting is off");
            return;
        }
    };
    while let Some(Some(told)) = changes.recv().await {
        if let Judged::Reconfigured(old_channels) = &told {
            // Open alerts nothing judges any more resolve, told to the
            // channels their service has (or had, if it is gone).
            let stale: Vec<((String, String), i64, Vec<String>)> = {
                let routes = routes.read().expect("routes lock");
                open.iter()
                    .filter(|((service, rule), _)| !still_judged(&routes, service, rule))
                    .map(|(key, id)| {
                        let channels = routes
                            .services
                            .get(&key.0)
                            .map(|s| s.channels.clone())
                            .or_else(|| old_channels.get(&key.0).cloned())
                            .unwrap_or_default();
                        (key.clone(), *id, channels)
                    })
                    .collect()
            };
            let now = crate::clock::now_ms();
            for (key, id, channels) in stale {
                open.remove(&key);
                if resolve(alerts, id, now, &channels).await {
                    wake.notify_one();
                }
            }
            continue;
        }
        let Some((service, at_ms, verdicts)) = judged(told) else {
            continue;
        };
        let (channels, renotify) = {
            let routes = routes.read().expect("routes lock");
            let channels = routes
                .services
                .get(&service)
                .map(|s| s.channels.clone())
                .unwrap_or_default();
            (channels, routes.alerting.renotify)
        };
        let renotify_at = (!renotify.is_zero()).then(|| at_ms + millis(renotify));
        for Verdict {
            rule,
            severity,
            holds,
            message,
        } in verdicts
        {
            let key = (service.clone(), rule.clone());
            let written = match (holds, open.get(&key).copied()) {
                (true, None) => {
                    let alert = AlertRow {
                        id: 0,
                        service: service.clone(),
                        rule,
                        severity: severity.into(),
                        fired_at_ms: at_ms,
                        resolved_at_ms: None,
                        message,
                    };
                    match persist("firing an alert", || {
                        alerts.fire(&alert, &channels, renotify_at)
                    })
                    .await
                    {
                        Ok(id) => {
                            open.insert(key, id);
                            true
                        }
                        Err(error) => {
                            // Open already (another writer): take the
                            // store's word for what is open.
                            tracing::warn!(%error, "alerting: an alert was not fired");
                            if let Ok(reloaded) = load().await {
                                open = reloaded;
                            }
                            false
                        }
                    }
                }
                (false, Some(id)) => {
                    open.remove(&key);
                    resolve(alerts, id, at_ms, &channels).await
                }
                _ => false,
            };
            if written {
                wake.notify_one();
            }
        }
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2)
}

/// One channel's pace: when it may next be sent a message, and what it
/// was sent in the last minute.
#[derive(Debug, Default)]
pub struct Pace {
    /// The end of the window the last message opened.
    quiet_at_ms: i64,
    /// When each message of the last minute went.
    sent_ms: VecDeque<i64>,
}

impl Pace {
    /// When the channel may be sent its next message: at once after a
    /// quiet spell; else at the end of the last message's window, or when
    /// the oldest of `flood_limit` messages in the last minute is a minute
    /// old.
    pub fn open_at(&mut self, now_ms: i64, flood_limit: u32) -> i64 {
        while self.sent_ms.front().is_some_and(|&t| t <= now_ms - 60_000) {
            self.sent_ms.pop_front();
        }
        let flood = usize::try_from(flood_limit).unwrap_or(usize::MAX);
        let flooded_until = match self.sent_ms.front() {
            Some(&oldest) if flood > 0 && self.sent_ms.len() >= flood => oldest + 60_000,
            _ => i64::MIN,
        };
        self.quiet_at_ms.max(flooded_until)
    }

    /// A message went at `now_ms`.
    pub fn sent(&mut self, now_ms: i64, window: Duration) {
        self.quiet_at_ms = now_ms + millis(window);
        self.sent_ms.push_back(now_ms);
    }
}

/// Delivers what is due, paced per channel, records each attempt, and
/// sleeps until the next is due or a new one is queued.
struct Sender {
    store: Arc<dyn Store>,
    routes: Arc<RwLock<Routes>>,
    client: reqwest::Client,
    rules: DeliveryRules,
    paces: HashMap<String, Pace>,
}

/// Messages taken from the outbox at a time.
const BATCH: u32 = 1_000;
/// The longest the sender sleeps without looking at the outbox.
const IDLE: Duration = Duration::from_secs(60);

impl Sender {
    async fn run(mut self, wake: Arc<Notify>) {
        let store = self.store.clone();
        let alerts = store.alerts();
        loop {
            let now = self.rules.clock.now_ms();
            match alerts.due(now, BATCH).await {
                Ok(due) if !due.is_empty() => {
                    if let Err(error) = self.send_due(due, now).await {
                        tracing::warn!(%error, "alerting: holding messages back failed");
                        tokio::time::sleep(Duration::from_secs(5)).await;
                    }
                    continue;
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%error, "alerting: reading the outbox failed");
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    continue;
                }
            }
            let next = alerts.next_due().await.ok().flatten();
            let wait = next.map_or(IDLE, |at| {
                Duration::from_millis(u64::try_from(at - now).unwrap_or(0)).min(IDLE)
            });
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Sends what is due: per channel one message, or holds it all back
    /// until the channel's pace allows one.
    async fn send_due(&mut self, due: Vec<DeliveryRow>, now: i64) -> Result<(), StoreError> {
        let mut by_channel: BTreeMap<String, Vec<DeliveryRow>> = BTreeMap::new();
        for delivery in due {
            by_channel
                .entry(delivery.channel.clone())
                .or_default()
                .push(delivery);
        }
        let mut messages: Vec<Vec<DeliveryRow>> = Vec::new();
        // Held back, by when: one statement for every channel held to the
        // same time (channels sent together reopen together).
        let mut held: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        {
            let routes = self.routes.read().expect("routes lock");
            let alerting = &routes.alerting;
            for (name, rows) in by_channel {
                // PagerDuty: each alert its own incident; an unknown
                // channel fails each message on its own.
                let folds = alerting
                    .channel(&name)
                    .is_some_and(|c| !matches!(c.kind, ChannelKind::PagerDuty { .. }));
                if !folds {
                    messages.extend(rows.into_iter().map(|r| vec![r]));
                    continue;
                }
                let pace = self.paces.entry(name).or_default();
                let open_at = pace.open_at(now, alerting.flood_limit);
                if now < open_at {
                    held.entry(open_at)
                        .or_default()
                        .extend(rows.iter().map(|r| r.id));
                } else {
                    pace.sent(now, alerting.group_window);
                    messages.push(rows);
                }
            }
        }
        for (open_at, ids) in held {
            self.store.alerts().postpone(&ids, open_at).await?;
        }
        // Each at once: a slow channel holds up no other.
        let sends = messages.into_iter().map(|rows| self.deliver(rows));
        futures_util::future::join_all(sends).await;
        Ok(())
    }

    /// Sends one message carrying `rows` (all to one channel) and records
    /// the attempt on each.
    async fn deliver(&self, rows: Vec<DeliveryRow>) {
        let Some(first) = rows.first() else {
            return;
        };
        let (channel, notices, renotify) = {
            let routes = self.routes.read().expect("routes lock");
            let notices: Vec<channels::Notice> = rows
                .iter()
                .map(|row| {
                    let service = routes
                        .services
                        .get(&row.alert.service)
                        .cloned()
                        .unwrap_or_default();
                    channels::Notice::of(row, &service)
                })
                .collect();
            (
                routes.alerting.channel(&first.channel).cloned(),
                notices,
                routes.alerting.renotify,
            )
        };
        let outcome = match channel {
            None => Err(format!(
                "channel {:?} is no longer in the config",
                first.channel
            )),
            Some(channel) => {
                let notice = match <[_; 1]>::try_from(notices) {
                    Ok([one]) => one,
                    Err(many) => channels::Notice::fold(
                        many,
                        (first.id, rows.last().map_or(first.id, |r| r.id)),
                    ),
                };
                channels::send(&self.client, &channel, &notice, self.rules.send_timeout).await
            }
        };
        let now = self.rules.clock.now_ms();
        if let Err(error) = self.record(&rows, &outcome, now, renotify).await {
            tracing::warn!(%error, "alerting: recording an attempt failed");
        }
    }

    /// Records an attempt at the messages `rows` (one request carried
    /// them), in a statement or two; reminders that are done queue their
    /// next.
    async fn record(
        &self,
        rows: &[DeliveryRow],
        outcome: &Result<(), String>,
        now: i64,
        renotify: Duration,
    ) -> Result<(), StoreError> {
        let alerts = self.store.alerts();
        let done: Vec<&DeliveryRow> = match outcome {
            Ok(()) => {
                let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
                alerts.delivered(&ids, now).await?;
                rows.iter().collect()
            }
            Err(error) => {
                // One wait for the request, from its most tried message;
                // a message queued over a day before it is given up.
                let attempts = rows.iter().map(|r| r.attempts).max().unwrap_or(0) + 1;
                let retry_at = now + millis(self.rules.backoff(attempts));
                let give_up = millis(self.rules.give_up_after);
                let (retried, given_up): (Vec<&DeliveryRow>, Vec<&DeliveryRow>) = rows
                    .iter()
                    .partition(|r| retry_at <= r.created_at_ms + give_up);
                tracing::warn!(
                    channel = %rows[0].channel,
                    messages = rows.len(),
                    attempt = attempts,
                    %error,
                    given_up = given_up.len(),
                    "alerting: a message was not delivered"
                );
                let ids = |rows: &[&DeliveryRow]| rows.iter().map(|r| r.id).collect::<Vec<_>>();
                if !retried.is_empty() {
                    alerts
                        .failed(&ids(&retried), now, error, Some(retry_at))
                        .await?;
                }
                if !given_up.is_empty() {
                    alerts.failed(&ids(&given_up), now, error, None).await?;
                }
                given_up
            }
        };
        if renotify.is_zero() {
            return Ok(());
        }
        for delivery in done.into_iter().filter(|r| r.event == "renotify") {
            let next = delivery.created_at_ms.max(now - millis(renotify)) + millis(renotify);
            alerts
                .queue(
                    delivery.alert.id,
                    "renotify",
                    std::slice::from_ref(&delivery.channel),
                    next,
                )
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_show_no_credentials_query_or_push_token() {
        let config = Config::parse(
            "services:\n  - {name: a, url: 'https://user:pw@api.example/health?key=k#x'}\n  - {name: b, url: 'push://token-0123456789abcdef'}\n",
            std::path::Path::new("t.yaml"),
            |_| None,
        )
        .unwrap();
        let routes = Routes::of(&config);
        assert_eq!(routes.services["a"].url, "https://api.example/health");
        assert_eq!(routes.services["b"].url, "push://");
    }

    #[test]
    fn a_channel_gets_one_message_a_window_and_at_most_its_flood_limit_a_minute() {
        let window = Duration::from_secs(30);
        let mut pace = Pace::default();
        // Quiet: at once; then not before the window ends.
        assert!(pace.open_at(1_000, 20) <= 1_000);
        pace.sent(1_000, window);
        assert_eq!(pace.open_at(5_000, 20), 31_000);
        pace.sent(31_000, window);
        assert_eq!(pace.open_at(40_000, 20), 61_000);
        // Long quiet again: at once.
        assert!(pace.open_at(200_000, 20) <= 200_000);

        // No window: the flood limit alone, by the minute.
        let mut pace = Pace::default();
        for i in 0..3 {
            let now = 10_000 + i * 100;
            assert!(pace.open_at(now, 3) <= now);
            pace.sent(now, Duration::ZERO);
        }
        assert_eq!(pace.open_at(10_300, 3), 70_000);
        assert!(pace.open_at(70_000, 3) <= 70_000);
        // No limit at all.
        let mut free = Pace::default();
        for now in 0..100 {
            free.sent(now, Duration::ZERO);
        }
        assert!(free.open_at(100, 0) <= 100);
    }

    #[test]
    fn retries_double_from_the_first_wait_up_to_the_longest() {
        let rules = DeliveryRules::default();
        let waits: Vec<u64> = (1..=9).map(|n| rules.backoff(n).as_secs()).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1_920, 3_600, 3_600]);
        assert_eq!(rules.backoff(1_000).as_secs(), 3_600);
    }

    #[test]
    fn unknown_states_neither_fire_nor_resolve() {
        let change = |to| StatusChange {
            service: "api".into(),
            from: ServiceStatus::Operational,
            to,
            at: chrono::Utc::now(),
            cause: String::new(),
        };
        assert!(verdicts(&change(ServiceStatus::Unknown)).is_empty());
        assert_eq!(
            verdicts(&change(ServiceStatus::Down)),
            [("down", "critical", true), ("degraded", "warning", false)]
        );
        assert_eq!(
            verdicts(&change(ServiceStatus::Operational)),
            [("down", "critical", false), ("degraded", "warning", false)]
        );
    }
}
