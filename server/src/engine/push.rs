//! Push services: the service calls Hale (`POST /api/push/<token>`) instead
//! of Hale calling it — for cron jobs and workers behind firewalls.
//!
//! A push is a success result at once (so the page updates live). A
//! watchdog reports a failure when no push came within the interval plus
//! grace, and again every interval the silence lasts, so the failure
//! threshold counts missed pushes. Silence is counted from Hale's start.

use super::pipeline::Events;
use crate::config::ServiceConfig;
use crate::event::ProbeResult;
use crate::probe::{push::PushTarget, Target};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;
use wire::ConditionOutcome;

/// How often the watchdog looks for overdue pushes.
const WATCH_EVERY: Duration = Duration::from_secs(1);

/// The longest `msg` kept, in bytes; a longer one is cut at a character
/// boundary and marked.
pub const MAX_MESSAGE: usize = 1_024;

/// Pushes a token may make in a burst, and how fast that allowance comes
/// back: a job pushes once a run, so a token pushing faster is a loop or
/// somebody else.
const PUSH_BURST: f64 = 10.0;
const PUSHES_PER_SECOND: f64 = 1.0;

struct Expectation {
    service: Arc<ServiceConfig>,
    /// The last push, or Hale's start before the first one.
    last_heard: Instant,
    /// When the current silence was last reported, so each interval of
    /// silence yields one failure.
    reported_at: Option<Instant>,
    /// Pushes allowed now (a token bucket: [`PUSH_BURST`] at most,
    /// [`PUSHES_PER_SECOND`] back), and when it was last filled.
    allowance: f64,
    filled_at: Instant,
}

impl Expectation {
    /// Takes one push from the allowance, or says how long until one.
    fn allow(&mut self, now: Instant) -> Result<(), Duration> {
        let earned =
            now.saturating_duration_since(self.filled_at).as_secs_f64() * PUSHES_PER_SECOND;
        self.allowance = (self.allowance + earned).min(PUSH_BURST);
        self.filled_at = now;
        if self.allowance >= 1.0 {
            self.allowance -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - self.allowance) / PUSHES_PER_SECOND,
            ))
        }
    }
}

/// Push tokens → the services expecting them.
#[derive(Clone, Default)]
pub struct PushBoard {
    expected: Arc<Mutex<HashMap<String, Expectation>>>,
}

/// What a push said.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Push {
    /// `up` (the default) or `down`.
    pub status: Option<String>,
    pub msg: Option<String>,
    /// The pusher's own measurement, in milliseconds, shown as latency.
    pub ping: Option<f64>,
}

/// How a push arrived.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Method {
    Post,
    Get,
}

/// A push taken: the result to publish, and whether its `msg` was cut.
#[derive(Debug)]
pub struct Received {
    pub result: ProbeResult,
    pub truncated: bool,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PushError {
    #[error("unknown push token")]
    UnknownToken,
    #[error("status must be up or down, not {0:?}")]
    BadStatus(String),
    #[error("ping must be a number of milliseconds, not {0}")]
    BadPing(f64),
    #[error("this push service takes POST; set allow_get: true on it to take GET as well")]
    GetNotAllowed,
    /// Faster than the token's allowance; retry after this long.
    #[error("too many pushes for this token; retry in {}s", .0.as_secs().max(1))]
    TooMany(Duration),
}

impl PushBoard {
    pub fn new(services: &[ServiceConfig]) -> PushBoard {
        let started = Instant::now();
        let expected = services
            .iter()
            .filter_map(|s| push_target(s).map(|push| (s, push)))
            .map(|(s, push)| {
                let token = push.token.clone();
                let expectation = Expectation {
                    service: Arc::new(s.clone()),
                    last_heard: started,
                    reported_at: None,
                    allowance: PUSH_BURST,
                    filled_at: started,
                };
                (token, expectation)
            })
            .collect();
        PushBoard {
            expected: Arc::new(Mutex::new(expected)),
        }
    }

    /// Takes a reloaded config: tokens that stay keep their clocks.
    pub fn reconfigure(&self, services: &[ServiceConfig]) {
        let fresh = PushBoard::new(services);
        let mut fresh = Arc::try_unwrap(fresh.expected)
            .map(|m| m.into_inner().expect("push lock"))
            .unwrap_or_default();
        let mut expected = self.expected.lock().expect("push lock");
        for (token, expectation) in fresh.iter_mut() {
            if let Some(old) = expected.get(token) {
                expectation.last_heard = old.last_heard;
                expectation.reported_at = old.reported_at;
                expectation.allowance = old.allowance;
                expectation.filled_at = old.filled_at;
            }
        }
        *expected = fresh;
    }

    /// Records a push; returns the result to publish.
    pub fn receive(&self, token: &str, method: Method, push: Push) -> Result<Received, PushError> {
        let up = match push.status.as_deref() {
            None | Some("up") => true,
            Some("down") => false,
            Some(other) => return Err(PushError::BadStatus(other.to_string())),
        };
        // NaN and infinities parse as f64 but are no latency.
        let latency = match push.ping {
            None => Duration::ZERO,
            Some(ms) => {
                Duration::try_from_secs_f64(ms / 1_000.0).map_err(|_| PushError::BadPing(ms))?
            }
        };
        let mut expected = self.expected.lock().expect("push lock");
        let expectation = expected.get_mut(token).ok_or(PushError::UnknownToken)?;
        let allows_get = push_target(&expectation.service).is_some_and(|p| p.allow_get);
        if method == Method::Get && !allows_get {
            return Err(PushError::GetNotAllowed);
        }
        let now = Instant::now();
        expectation.allow(now).map_err(PushError::TooMany)?;
        expectation.last_heard = now;
        expectation.reported_at = None;
        let service = &*expectation.service;
        let (message, truncated) = match push.msg {
            Some(msg) => cap_message(msg),
            None if up => ("push received".into(), false),
            None => ("push reported down".into(), false),
        };
        Ok(Received {
            result: result(service, up, latency, message),
            truncated,
        })
    }

    /// Failures for every push that is overdue and not yet reported for
    /// this interval of silence.
    pub fn overdue(&self, at: Instant) -> Vec<ProbeResult> {
        let mut expected = self.expected.lock().expect("push lock");
        let mut failures = Vec::new();
        for expectation in expected.values_mut() {
            let service = &*expectation.service;
            let Some(push) = push_target(service) else {
                continue;
            };
            let interval = service.interval;
            // Durations are bounded at load; an instant past what the
            // clock can hold is never due.
            let due = match expectation.reported_at {
                None => expectation
                    .last_heard
                    .checked_add(interval)
                    .and_then(|t| t.checked_add(push.grace)),
                Some(reported) => reported.checked_add(interval),
            }
            .is_some_and(|deadline| at >= deadline);
            if due {
                expectation.reported_at = Some(at);
                let silent = at.saturating_duration_since(expectation.last_heard);
                let message = format!(
                    "no push for {}s (expected every {interval:?})",
                    silent.as_secs()
                );
                failures.push(result(service, false, Duration::ZERO, message));
            }
        }
        failures
    }

    /// Reports overdue pushes until nobody takes results any more.
    /// Runs even with no push services: a reload may add some.
    pub async fn watch(self, events: Events) {
        let mut ticker = tokio::time::interval(WATCH_EVERY);
        loop {
            let at = ticker.tick().await;
            for failure in self.overdue(at) {
                if events.result(failure).is_err() {
                    return;
                }
            }
        }
    }
}

/// `msg` cut to [`MAX_MESSAGE`] bytes at a character boundary, with "…"
/// after the cut; and whether it was cut.
fn cap_message(mut msg: String) -> (String, bool) {
    if msg.len() <= MAX_MESSAGE {
        return (msg, false);
    }
    let mut end = MAX_MESSAGE - '…'.len_utf8();
    while !msg.is_char_boundary(end) {
        end -= 1;
    }
    msg.truncate(end);
    msg.push('…');
    (msg, true)
}

fn push_target(service: &ServiceConfig) -> Option<&PushTarget> {
    match &service.probe.target {
        Target::Push(push) => Some(push),
        _ => None,
    }
}

/// A result of a push service, checked now.
fn result(
    service: &ServiceConfig,
    success: bool,
    latency: Duration,
    message: String,
) -> ProbeResult {
    ProbeResult {
        message,
        success,
        latency,
        conditions: vec![outcome(success)],
        ..ProbeResult::failed(service.probe.service.clone(), latency, String::new())
    }
}

fn outcome(success: bool) -> ConditionOutcome {
    ConditionOutcome {
        condition: "push within interval + grace".into(),
        success,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::engine::pipeline::Event;
    use std::path::Path;

    /// A POST push: the result, as the API publishes it.
    fn post(board: &PushBoard, token: &str, push: Push) -> Result<ProbeResult, PushError> {
        board.receive(token, Method::Post, push).map(|r| r.result)
    }

    fn board() -> PushBoard {
        let config = Config::parse(
            "services:\n  - {name: backup, url: 'push://backup-token-0123456789ab', interval: 60s, grace: 10s}\n  - {name: web, url: 'http://x/'}\n",
            Path::new("t.yaml"),
            |_| None,
        )
        .unwrap();
        PushBoard::new(&config.services)
    }

    #[tokio::test(start_paused = true)]
    async fn silence_past_interval_and_grace_fails_once_per_interval() {
        let board = board();
        let start = Instant::now();
        assert!(board.overdue(start + Duration::from_secs(69)).is_empty());
        let first = board.overdue(start + Duration::from_secs(70));
        assert_eq!(first.len(), 1);
        assert!(!first[0].success);
        assert_eq!(&*first[0].service, "backup");
        assert!(
            first[0].message.starts_with("no push for 70s"),
            "{}",
            first[0].message
        );
        // Reported once per interval of silence, not every second.
        assert!(board.overdue(start + Duration::from_secs(71)).is_empty());
        assert!(board.overdue(start + Duration::from_secs(129)).is_empty());
        assert_eq!(board.overdue(start + Duration::from_secs(130)).len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_largest_interval_and_grace_are_watched_without_overflow() {
        let config = Config::parse(
            "services:\n  - {name: monthly, url: 'push://monthly-token-0123456789', interval: 31d, grace: 31d}\n",
            Path::new("t.yaml"),
            |_| None,
        )
        .unwrap();
        let board = PushBoard::new(&config.services);
        let start = Instant::now();
        assert!(board
            .overdue(start + Duration::from_secs(61 * 86_400))
            .is_empty());
        assert_eq!(
            board
                .overdue(start + Duration::from_secs(62 * 86_400))
                .len(),
            1
        );
        // Decades on, still no overflow, and pushes still land.
        let far = start + Duration::from_secs(100 * 365 * 86_400);
        assert_eq!(board.overdue(far).len(), 1);
        assert!(
            post(&board, "monthly-token-0123456789", Push::default())
                .unwrap()
                .success
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_push_succeeds_and_restarts_the_clock() {
        let board = board();
        tokio::time::advance(Duration::from_secs(50)).await;
        let result = post(&board, "backup-token-0123456789ab", Push::default()).unwrap();
        assert!(result.success);
        assert_eq!(result.message, "push received");
        let pushed = Instant::now();
        assert!(board.overdue(pushed + Duration::from_secs(69)).is_empty());
        assert_eq!(board.overdue(pushed + Duration::from_secs(70)).len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_push_can_report_down_with_a_message() {
        let board = board();
        let push = Push {
            status: Some("down".into()),
            msg: Some("backup failed: disk full".into()),
            ping: Some(12.5),
        };
        let result = post(&board, "backup-token-0123456789ab", push).unwrap();
        assert!(!result.success);
        assert_eq!(result.message, "backup failed: disk full");
        assert_eq!(result.latency, Duration::from_micros(12_500));
        let bad = Push {
            status: Some("sideways".into()),
            ..Push::default()
        };
        assert_eq!(
            post(&board, "backup-token-0123456789ab", bad).unwrap_err(),
            PushError::BadStatus("sideways".into())
        );
        assert_eq!(
            post(&board, "nope", Push::default()).unwrap_err(),
            PushError::UnknownToken
        );
        for ms in [f64::NAN, f64::INFINITY, -5.0] {
            let push = Push {
                ping: Some(ms),
                ..Push::default()
            };
            assert!(matches!(
                post(&board, "backup-token-0123456789ab", push),
                Err(PushError::BadPing(_))
            ));
        }
        // Still usable afterwards (no poisoned lock).
        assert!(
            post(&board, "backup-token-0123456789ab", Push::default())
                .unwrap()
                .success
        );
    }

    #[tokio::test(start_paused = true)]
    async fn reconfiguring_keeps_the_clock_of_tokens_that_stay() {
        let board = board();
        tokio::time::advance(Duration::from_secs(50)).await;
        post(&board, "backup-token-0123456789ab", Push::default()).unwrap();
        let pushed = Instant::now();
        tokio::time::advance(Duration::from_secs(30)).await;
        let config = Config::parse(
            "services:\n  - {name: backup, url: 'push://backup-token-0123456789ab', interval: 60s, grace: 10s}\n  - {name: other, url: 'push://other-token-0123456789ab', interval: 60s, grace: 10s}\n",
            Path::new("t.yaml"),
            |_| None,
        )
        .unwrap();
        board.reconfigure(&config.services);
        // `backup` is still timed from its push, `other` from the reload.
        let overdue = board.overdue(pushed + Duration::from_secs(70));
        let names: Vec<_> = overdue.iter().map(|r| &*r.service).collect();
        assert_eq!(names, ["backup"]);
    }

    #[tokio::test(start_paused = true)]
    async fn the_watchdog_watches_push_services_a_reload_adds() {
        let board = PushBoard::new(&[]);
        let (tx, mut rx) = Events::channel();
        tokio::spawn(board.clone().watch(tx));
        tokio::time::sleep(Duration::from_secs(5)).await;
        let config = Config::parse(
            "services:\n  - {name: late, url: 'push://added-later-0123456789', interval: 30s, grace: 10s}\n",
            Path::new("t.yaml"),
            |_| None,
        )
        .unwrap();
        board.reconfigure(&config.services);
        let Some(Event::Result(failure)) = rx.recv().await else {
            panic!("a result")
        };
        assert_eq!(&*failure.service, "late");
    }

    #[tokio::test(start_paused = true)]
    async fn the_watchdog_sends_failures_on_its_own() {
        let (tx, mut rx) = Events::channel();
        tokio::spawn(board().watch(tx));
        let Some(Event::Result(failure)) = rx.recv().await else {
            panic!("a result")
        };
        assert!(!failure.success);
        assert!(
            failure.message.starts_with("no push for 7"),
            "{}",
            failure.message
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_get_counts_only_where_the_service_takes_it() {
        let config = Config::parse(
            "services:\n  - {name: a, url: 'push://token-a-0123456789abcdef', interval: 60s}\n  - {name: b, url: 'push://token-b-0123456789abcdef', interval: 60s, allow_get: true}\n",
            Path::new("t.yaml"),
            |_| None,
        )
        .unwrap();
        let board = PushBoard::new(&config.services);
        let start = Instant::now();
        tokio::time::advance(Duration::from_secs(30)).await;
        let get = |token| board.receive(token, Method::Get, Push::default());
        assert_eq!(
            get("token-a-0123456789abcdef").unwrap_err(),
            PushError::GetNotAllowed
        );
        assert!(get("token-b-0123456789abcdef").unwrap().result.success);
        // A refused GET does not count as a push: `a` is still timed from
        // the start, `b` from its GET.
        let overdue = board.overdue(start + Duration::from_secs(70));
        let names: Vec<_> = overdue.iter().map(|r| &*r.service).collect();
        assert_eq!(names, ["a"]);
    }

    #[test]
    fn short_tokens_are_refused_at_load() {
        let error = Config::parse(
            "services:\n  - {name: a, url: 'push://short-token', interval: 60s}\n",
            Path::new("t.yaml"),
            |_| None,
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("at least 22"), "{error}");
        assert!(error.contains("hale token"), "{error}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_message_is_cut_at_a_kibibyte_on_a_character() {
        let board = board();
        // 'é' is two bytes: the cut falls inside one unless it is moved.
        let push = Push {
            msg: Some("é".repeat(2_000)),
            ..Push::default()
        };
        let received = board
            .receive("backup-token-0123456789ab", Method::Post, push)
            .unwrap();
        assert!(received.truncated);
        let message = &received.result.message;
        assert!(message.len() <= MAX_MESSAGE, "{}", message.len());
        assert!(message.len() > MAX_MESSAGE - 4, "{}", message.len());
        assert!(message.ends_with("é…"), "{message}");
        let short = Push {
            msg: Some("ok".into()),
            ..Push::default()
        };
        let received = board
            .receive("backup-token-0123456789ab", Method::Post, short)
            .unwrap();
        assert!(!received.truncated);
        assert_eq!(received.result.message, "ok");
    }

    #[tokio::test(start_paused = true)]
    async fn a_token_pushing_in_a_loop_is_held_to_one_a_second() {
        let board = board();
        for _ in 0..10 {
            post(&board, "backup-token-0123456789ab", Push::default()).unwrap();
        }
        let Err(PushError::TooMany(wait)) =
            post(&board, "backup-token-0123456789ab", Push::default())
        else {
            panic!("the eleventh push at once was taken");
        };
        assert!(wait <= Duration::from_secs(1), "{wait:?}");
        tokio::time::advance(wait).await;
        post(&board, "backup-token-0123456789ab", Push::default()).unwrap();
        assert!(post(&board, "backup-token-0123456789ab", Push::default()).is_err());
        // After a quiet spell the whole burst is back.
        tokio::time::advance(Duration::from_secs(30)).await;
        for _ in 0..10 {
            post(&board, "backup-token-0123456789ab", Push::default()).unwrap();
        }
    }
}
