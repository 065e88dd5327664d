//! The config file as written: what serde reads, before any check that
//! needs more than one field. Values that a later check may find fault
//! with are `Spanned`, so that the error can point at them.

use super::gatus::Endpoint;
use crate::condition::Condition;
use crate::duration::HumanDuration;
use crate::history::HistoryConfig;
use crate::probe::{dns, http};
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_saphyr::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub services: Vec<Spanned<RawService>>,
    /// Gatus's form of `services:`.
    #[serde(default)]
    pub endpoints: Vec<Spanned<Endpoint>>,
    #[serde(default)]
    pub status_pages: Vec<Spanned<RawPage>>,
    #[serde(default)]
    pub history: Option<Spanned<HistoryConfig>>,
    #[serde(default)]
    pub diagnostics: Option<super::DiagnosticsAccess>,
    /// Hale's channels, or Gatus's providers (ignored with a warning).
    #[serde(default)]
    pub alerting: Option<Spanned<super::alerting::RawAlerting>>,
    // Gatus's other top-level keys, accepted with a warning each so that
    // a Gatus config loads as it is. Named one by one rather than caught
    // by a flattened map: that would make serde buffer the document and
    // lose every position in it.
    #[serde(default)]
    announcements: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    concurrency: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    connectivity: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    debug: Option<Spanned<IgnoredAny>>,
    #[serde(default, rename = "disable-monitoring-lock")]
    disable_monitoring_lock: Option<Spanned<IgnoredAny>>,
    #[serde(default, rename = "external-endpoints")]
    external_endpoints: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    maintenance: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    metrics: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    remote: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    security: Option<Spanned<IgnoredAny>>,
    #[serde(default, rename = "skip-invalid-config-update")]
    skip_invalid_config_update: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    storage: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    suites: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    tunneling: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    ui: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    web: Option<Spanned<IgnoredAny>>,
}

impl RawConfig {
    /// Gatus's top-level settings present, with where their values are.
    pub fn gatus_settings(&self) -> Vec<(&'static str, &serde_saphyr::Location)> {
        let keys = [
            ("announcements", &self.announcements),
            ("concurrency", &self.concurrency),
            ("connectivity", &self.connectivity),
            ("debug", &self.debug),
            ("disable-monitoring-lock", &self.disable_monitoring_lock),
            ("external-endpoints", &self.external_endpoints),
            ("maintenance", &self.maintenance),
            ("metrics", &self.metrics),
            ("remote", &self.remote),
            ("security", &self.security),
            (
                "skip-invalid-config-update",
                &self.skip_invalid_config_update,
            ),
            ("storage", &self.storage),
            ("suites", &self.suites),
            ("tunneling", &self.tunneling),
            ("ui", &self.ui),
            ("web", &self.web),
        ];
        keys.into_iter()
            .filter_map(|(key, value)| value.as_ref().map(|v| (key, &v.defined)))
            .collect()
    }
}

/// One entry of `services:`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    pub name: Spanned<String>,
    #[serde(default)]
    pub group: Option<String>,
    pub url: Spanned<String>,
    #[serde(default)]
    pub method: Option<Spanned<http::Method>>,
    #[serde(default)]
    pub headers: Option<Spanned<http::Headers>>,
    #[serde(default)]
    pub body: Option<Spanned<String>>,
    /// HTTP: follow up to 10 redirects (`true`), or judge the redirect
    /// itself (`false`, so `[STATUS] == 301` can be checked).
    #[serde(default)]
    pub follow_redirects: Option<Spanned<bool>>,
    /// HTTPS and TLS: check the certificate chain and name.
    #[serde(default)]
    pub verify_tls: Option<Spanned<bool>>,
    #[serde(default)]
    pub interval: Option<Spanned<HumanDuration>>,
    /// Defaults to the smaller of 10 s and the interval.
    #[serde(default)]
    pub timeout: Option<Spanned<HumanDuration>>,
    /// None or empty means the kind's default.
    #[serde(default)]
    pub conditions: Option<Spanned<Vec<Condition>>>,
    /// DNS: the query to send to the server in `url`.
    #[serde(default)]
    pub dns: Option<Spanned<dns::Query>>,
    /// Push: how late a push may be, past the interval.
    #[serde(default)]
    pub grace: Option<Spanned<HumanDuration>>,
    /// HTTP: follow a redirect from a public address to a private one.
    #[serde(default)]
    pub redirect_to_private: Option<Spanned<bool>>,
    /// Push: take `GET /api/push/<token>` as well as POST.
    #[serde(default)]
    pub allow_get: Option<Spanned<bool>>,
    /// A success slower than this counts as a slow answer.
    #[serde(default)]
    pub degraded_latency: Option<Spanned<HumanDuration>>,
    /// An error rate (over the last 100 results) at or above this makes a
    /// service that is not down degraded.
    #[serde(default)]
    pub degraded_error_rate: Option<Spanned<f64>>,
    /// Consecutive failures before a service is called down.
    #[serde(default)]
    pub failure_threshold: Option<Spanned<u32>>,
    /// Consecutive successes before a down service is called operational.
    #[serde(default)]
    pub success_threshold: Option<Spanned<u32>>,
    /// Channels (of `alerting.channels`) its alerts go to.
    #[serde(default)]
    pub alerts: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    pub slo: Option<Spanned<RawSlo>>,
}

/// `slo: {objective: 99.9%, window: 30d}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSlo {
    pub objective: Spanned<super::alerting::Percent>,
    #[serde(default)]
    pub window: Option<Spanned<crate::duration::HumanDuration>>,
}

/// One entry of `status_pages:`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPage {
    pub slug: Spanned<String>,
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Service names, in the order shown.
    pub services: Vec<Spanned<String>>,
}
