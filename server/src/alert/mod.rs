//! Alerting: the pipeline's notifier. Status changes become alerts by
//! rules; an alert and its messages are written to the store (the outbox)
//! before anything is sent; a sender delivers what is due to the channels
//! and records every attempt, retrying with back-off for up to a day. So
//! a restart in the middle of an outage neither repeats the `down` (the
//! open alert is in the store) nor forgets the `resolved`.
//!
//! Rules so far: `down` (critical) while a service is down, `degraded`
//! (warning) while it is degraded. Changes to unknown (Hale stopping or
//! starting, a service removed) neither fire nor resolve anything.
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

use crate::clock::WallClock;
use crate::config::{AlertingConfig, Config};
use crate::engine::pipeline::Notifier;
use crate::event::StatusChange;
use crate::store::alerts::{AlertRow, DeliveryRow};
use crate::store::{Store, StoreError};
use std::collections::HashMap;
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

/// The notifier: told of changes by the pipeline, it hands them to its
/// own task and returns at once.
pub struct Alerting {
    /// `None` asks the rules' task to end, once it has judged what came
    /// before.
    changes: mpsc::UnboundedSender<Option<StatusChange>>,
    routes: Arc<RwLock<Routes>>,
    judge: std::sync::Mutex<Option<JoinHandle<()>>>,
    sender: JoinHandle<()>,
}

impl Notifier for Alerting {
    fn status_changed(&self, change: &StatusChange) {
        let _ = self.changes.send(Some(change.clone()));
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
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Hale/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("an HTTP client");
        let judge = tokio::spawn(judge(store.clone(), routes.clone(), rx, wake.clone()));
        let sender = Sender {
            store,
            routes: routes.clone(),
            client,
            rules,
        };
        let send = tokio::spawn(sender.run(wake));
        Arc::new(Alerting {
            changes: tx,
            routes,
            judge: std::sync::Mutex::new(Some(judge)),
            sender: send,
        })
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
        *self.routes.write().expect("routes lock") = Routes::of(config);
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

/// The rules' task: changes in, alerts out (to the store, then a wake-up
/// for the sender).
async fn judge(
    store: Arc<dyn Store>,
    routes: Arc<RwLock<Routes>>,
    mut changes: mpsc::UnboundedReceiver<Option<StatusChange>>,
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
    while let Some(Some(change)) = changes.recv().await {
        let channels = routes
            .read()
            .expect("routes lock")
            .services
            .get(&change.service)
            .map(|s| s.channels.clone())
            .unwrap_or_default();
        let at_ms = change.at.timestamp_millis();
        for (rule, severity, holds) in verdicts(&change) {
            let key = (change.service.clone(), rule.to_string());
            let written = match (holds, open.get(&key).copied()) {
                (true, None) => {
                    let alert = AlertRow {
                        id: 0,
                        service: change.service.clone(),
                        rule: rule.into(),
                        severity: severity.into(),
                        fired_at_ms: at_ms,
                        resolved_at_ms: None,
                        message: format!("{} is {}: {}", change.service, change.to, change.cause),
                    };
                    match persist("firing an alert", || alerts.fire(&alert, &channels)).await {
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
                    match persist("resolving an alert", || {
                        alerts.resolve(id, at_ms, &channels)
                    })
                    .await
                    {
                        Ok(resolved) => resolved,
                        Err(error) => {
                            tracing::warn!(%error, "alerting: an alert was not resolved");
                            false
                        }
                    }
                }
                _ => false,
            };
            if written {
                wake.notify_one();
            }
        }
    }
}

/// Delivers what is due, records each attempt, and sleeps until the next
/// is due or a new one is queued.
struct Sender {
    store: Arc<dyn Store>,
    routes: Arc<RwLock<Routes>>,
    client: reqwest::Client,
    rules: DeliveryRules,
}

/// Messages taken from the outbox at a time.
const BATCH: u32 = 100;
/// The longest the sender sleeps without looking at the outbox.
const IDLE: Duration = Duration::from_secs(60);

impl Sender {
    async fn run(self, wake: Arc<Notify>) {
        let alerts = self.store.alerts();
        loop {
            let now = self.rules.clock.now_ms();
            match alerts.due(now, BATCH).await {
                Ok(due) if !due.is_empty() => {
                    // Each at once: a slow channel holds up no other.
                    let sends = due.into_iter().map(|d| self.deliver(d));
                    futures_util::future::join_all(sends).await;
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

    async fn deliver(&self, delivery: DeliveryRow) {
        let (channel, service) = {
            let routes = self.routes.read().expect("routes lock");
            (
                routes.alerting.channel(&delivery.channel).cloned(),
                routes
                    .services
                    .get(&delivery.alert.service)
                    .cloned()
                    .unwrap_or_default(),
            )
        };
        let outcome = match channel {
            None => Err(format!(
                "channel {:?} is no longer in the config",
                delivery.channel
            )),
            Some(channel) => {
                let notice = channels::Notice::of(&delivery, &service);
                channels::send(&self.client, &channel, &notice, self.rules.send_timeout).await
            }
        };
        let now = self.rules.clock.now_ms();
        let alerts = self.store.alerts();
        let recorded = match outcome {
            Ok(()) => alerts.delivered(delivery.id, now).await,
            Err(error) => {
                let wait = self.rules.backoff(delivery.attempts + 1);
                let retry_at = now + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2);
                let deadline = delivery.created_at_ms
                    + i64::try_from(self.rules.give_up_after.as_millis()).unwrap_or(i64::MAX / 2);
                let retry = (retry_at <= deadline).then_some(retry_at);
                tracing::warn!(
                    channel = %delivery.channel,
                    service = %delivery.alert.service,
                    attempt = delivery.attempts + 1,
                    %error,
                    given_up = retry.is_none(),
                    "alerting: a message was not delivered"
                );
                alerts.failed(delivery.id, now, &error, retry).await
            }
        };
        if let Err(error) = recorded {
            tracing::warn!(%error, "alerting: recording an attempt failed");
        }
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
