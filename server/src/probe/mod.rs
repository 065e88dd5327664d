//! Probes: one execution against a target, producing a [`ProbeResult`].
//!
//! Each kind lives in one file that owns its target (parsed and validated
//! once, when the config loads), its default conditions and its probe. The
//! table below, one line a kind, makes the rest: the [`Target`] enum, the
//! scheme each kind answers to, and the dispatch in [`AnyProber`]. What all
//! kinds share is [`run`]: it stamps the time, measures the latency,
//! applies the timeout and concludes the conditions, so a kind only says
//! what it observed.
//!
//! Adding a kind is written down at the top of `lib.rs`.

pub mod dns;
mod endpoint;
pub mod http;
pub mod icmp;
pub mod push;
pub mod tcp;
pub mod tls;

pub use endpoint::{Endpoint, Host};

use crate::condition::{BodyJson, Condition, Observation};
use crate::event::ProbeResult;
use async_trait::async_trait;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use wire::ConditionOutcome;

/// What a service's probe needs: its target, its timeout and its
/// conditions, all settled at load.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeSpec {
    /// The service's name, as its results carry it.
    pub service: Arc<str>,
    pub target: Target,
    pub timeout: Duration,
    /// The service's conditions, or its kind's defaults.
    pub conditions: Vec<Condition>,
}

/// The config's fields a target is built from. Only `url` and the fields
/// the kind lists in [`Kind::FIELDS`] may be set; the config loader says
/// so for any other.
#[derive(Debug)]
pub struct Fields<'a> {
    pub url: &'a url::Url,
    pub interval: Duration,
    pub method: Option<&'a http::Method>,
    pub headers: Option<&'a http::Headers>,
    pub body: Option<&'a str>,
    pub follow_redirects: Option<bool>,
    pub verify_tls: Option<bool>,
    pub dns: Option<&'a dns::Query>,
    pub grace: Option<Duration>,
    pub allow_get: Option<bool>,
    pub redirect_to_private: Option<bool>,
    pub conditions: &'a [Condition],
}

/// A problem with a target, about one field of the service.
#[derive(Debug, PartialEq)]
pub struct FieldError {
    /// `url`, `dns`, `conditions`, …
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> FieldError {
        FieldError {
            field,
            message: message.into(),
        }
    }
}

/// One probe kind's target.
pub trait Kind: Sized {
    /// The URL schemes that name this kind.
    const SCHEMES: &'static [&'static str];
    /// The optional fields this kind takes besides `url`.
    const FIELDS: &'static [&'static str];
    /// What "up" means when a service lists no conditions.
    const DEFAULT_CONDITIONS: &'static [&'static str];

    /// Builds the target from what the config gives.
    fn parse(fields: &Fields<'_>) -> Result<Self, FieldError>;
}

/// What one probe saw, before the conditions are concluded.
#[derive(Debug, Default)]
pub struct Observed {
    /// Everything but `response_time`, which [`run`] measures.
    pub observation: Observation,
    /// Why the probe failed, whatever the conditions say.
    pub error: Option<String>,
    /// What a success is reported as: `HTTP 200`, `connected`.
    pub summary: String,
}

impl Observed {
    pub fn failed(error: impl Into<String>) -> Observed {
        Observed {
            error: Some(error.into()),
            ..Observed::default()
        }
    }
}

/// One kind's prober: what it keeps between probes (clients, connectors)
/// and how it probes its target.
pub trait KindProber: Send + Sync + Sized + 'static {
    type Target: Kind;

    fn new() -> Result<Self, BuildError>;

    fn observe(
        &self,
        target: &Self::Target,
        spec: &ProbeSpec,
    ) -> impl Future<Output = Observed> + Send;

    /// The message of a probe that ran out of time.
    fn timed_out(timeout: Duration) -> String {
        timed_out(timeout)
    }
}

/// What a probe that ran out of time says, whatever its kind's words.
pub fn timed_out(timeout: Duration) -> String {
    format!("timed out after {timeout:?}")
}

/// A prober could not be built (a TLS client, say).
#[derive(Debug, thiserror::Error)]
#[error("building the {kind} prober: {message}")]
pub struct BuildError {
    pub kind: &'static str,
    pub message: String,
}

/// Probes one service. Implementations honour the timeout and never panic
/// on a bad target: every outcome is a result. Tests put fakes here.
#[async_trait]
pub trait Prober: Send + Sync + 'static {
    async fn probe(&self, spec: &ProbeSpec) -> ProbeResult;
}

/// The table of kinds: `Variant(module::Target, module::Prober)`, one line
/// a kind.
macro_rules! kinds {
    ($( $variant:ident($module:ident::$target:ident, $module_p:ident::$prober:ident) ),* $(,)?) => {
        /// A service's target, typed by its kind when the config loads.
        #[derive(Clone, Debug, PartialEq)]
        pub enum Target {
            $( $variant($module::$target), )*
        }

        /// The kinds of probe.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ProbeKind {
            $( $variant, )*
        }

        impl ProbeKind {
            pub const ALL: &'static [ProbeKind] = &[$( ProbeKind::$variant, )*];

            /// The kind a URL scheme names.
            pub fn of_scheme(scheme: &str) -> Option<ProbeKind> {
                ProbeKind::ALL.iter().copied().find(|k| k.schemes().contains(&scheme))
            }

            pub fn schemes(self) -> &'static [&'static str] {
                match self { $( ProbeKind::$variant => <$module::$target as Kind>::SCHEMES, )* }
            }

            pub fn fields(self) -> &'static [&'static str] {
                match self { $( ProbeKind::$variant => <$module::$target as Kind>::FIELDS, )* }
            }

            /// What "up" means when a service lists no conditions.
            pub fn default_conditions(self) -> Vec<Condition> {
                let texts = match self {
                    $( ProbeKind::$variant => <$module::$target as Kind>::DEFAULT_CONDITIONS, )*
                };
                texts.iter().map(|t| t.parse().expect("default conditions parse")).collect()
            }
        }

        impl Target {
            pub fn kind(&self) -> ProbeKind {
                match self { $( Target::$variant(_) => ProbeKind::$variant, )* }
            }

            /// Builds the target of the kind `kind`.
            pub fn parse(kind: ProbeKind, fields: &Fields<'_>) -> Result<Target, FieldError> {
                match kind {
                    $( ProbeKind::$variant => $module::$target::parse(fields).map(Target::$variant), )*
                }
            }
        }

        /// Every kind behind one [`Prober`]: dispatches on the target.
        pub struct AnyProber {
            $( $module_p: $module_p::$prober, )*
        }

        impl AnyProber {
            pub fn new() -> Result<AnyProber, BuildError> {
                Ok(AnyProber { $( $module_p: <$module_p::$prober as KindProber>::new()?, )* })
            }
        }

        #[async_trait]
        impl Prober for AnyProber {
            #[tracing::instrument(level = "debug", skip_all, fields(service = %spec.service))]
            async fn probe(&self, spec: &ProbeSpec) -> ProbeResult {
                match &spec.target {
                    $( Target::$variant(target) => run::<$module_p::$prober>(spec, self.$module_p.observe(target, spec)).await, )*
                }
            }
        }
    };
}

kinds! {
    Http(http::HttpTarget, http::HttpProber),
    Tcp(tcp::TcpTarget, tcp::TcpProber),
    Tls(tls::TlsTarget, tls::TlsProber),
    Dns(dns::DnsTarget, dns::DnsProber),
    Icmp(icmp::IcmpTarget, icmp::IcmpProber),
    Push(push::PushTarget, push::PushProber),
}

impl Target {
    /// The host and port the target connects to, for kinds that connect.
    pub fn endpoint(&self) -> Option<&Endpoint> {
        match self {
            Target::Http(t) => Some(&t.endpoint),
            Target::Tcp(t) => Some(&t.endpoint),
            Target::Tls(t) => Some(&t.endpoint),
            Target::Dns(_) | Target::Icmp(_) | Target::Push(_) => None,
        }
    }

    /// Whether the target talks TLS, and if so whether its certificate is
    /// verified.
    pub fn tls(&self) -> Option<bool> {
        match self {
            Target::Http(t) if t.url.scheme() == "https" => Some(t.verify_tls),
            Target::Tls(t) => Some(t.verify),
            _ => None,
        }
    }
}

/// Every probe's frame: stamps the time, measures the latency, bounds it
/// by the timeout and concludes the conditions.
pub async fn run<P: KindProber>(
    spec: &ProbeSpec,
    observe: impl Future<Output = Observed>,
) -> ProbeResult {
    let checked_at = crate::clock::now();
    let started = Instant::now();
    let mut observed = tokio::time::timeout(spec.timeout, observe)
        .await
        .unwrap_or_else(|_| Observed::failed(P::timed_out(spec.timeout)));
    let latency = started.elapsed();
    observed.observation.response_time = latency;
    let (held, conditions, failure) = evaluate(&spec.conditions, &observed.observation);
    // A probe that failed outright is a failure, whatever else its
    // conditions say (unobserved values read as zero, as in Gatus, so
    // `[STATUS] < 400` holds without an answer) — unless a condition is
    // about the connection itself and there was none: `[CONNECTED] ==
    // false` on a closed port is what its author wants. A probe that
    // connected and then failed (a refused redirect, a bad answer) fails.
    let judged_by_conditions = !observed.observation.connected
        && spec.conditions.iter().any(Condition::mentions_connected);
    ProbeResult {
        service: spec.service.clone(),
        checked_at,
        success: held && (observed.error.is_none() || judged_by_conditions),
        latency,
        status_code: observed.observation.status,
        message: observed.error.or(failure).unwrap_or(observed.summary),
        conditions,
        region: None,
        certificate_expiration: observed.observation.certificate_expiration,
    }
}

/// Evaluates conditions: whether all held, each outcome, and the first
/// failure's explanation.
pub fn evaluate(
    conditions: &[Condition],
    observation: &Observation,
) -> (bool, Vec<ConditionOutcome>, Option<String>) {
    let mut json = BodyJson::default();
    let mut first_failure = None;
    let outcomes: Vec<ConditionOutcome> = conditions
        .iter()
        .map(|condition| {
            let evaluation = condition.evaluate(observation, &mut json);
            if first_failure.is_none() {
                first_failure = evaluation.explanation;
            }
            evaluation.outcome
        })
        .collect();
    (outcomes.iter().all(|c| c.success), outcomes, first_failure)
}
