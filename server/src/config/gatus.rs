//! Gatus's `endpoints:` form, accepted as is for what Hale supports.
//!
//! | Gatus | Hale |
//! | --- | --- |
//! | `name`, `group`, `url`, `method`, `headers`, `body`, `interval`, `conditions` | the same |
//! | `dns.query-name`, `dns.query-type` (with `url` the server) | `url: dns://server`, `dns:` |
//! | `client.timeout` | `timeout` |
//! | `client.insecure` | `verify_tls: false` |
//! | `client.ignore-redirect` | `follow_redirects: false` |
//! | `enabled: false` | the endpoint is left out |
//! | `alerts: [{type, enabled, failure-threshold, success-threshold}]` | `alerts:` naming the channel of `alerting.<type>`; the thresholds (Gatus's defaults 3 and 2) as the service's |
//! | `alerts[].send-on-resolved`, `description`, `minimum-reminder-interval` | one warning each, ignored (Hale always sends the resolution; `alerting.defaults.renotify` sets reminders) |
//! | the rest of Gatus's keys (`ui`, `maintenance-windows`, …) | one warning each, ignored |

use super::raw::RawService;
use super::{issue_at, key_issue, ConfigIssue};
use crate::condition::Condition;
use crate::duration::HumanDuration;
use crate::probe::{dns, http, ProbeKind};
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_saphyr::{Location, Spanned};

/// One of Gatus's `endpoints:`. Every key Gatus knows is named (a map of
/// "the rest" would need `flatten`, which loses positions), so a key
/// neither knows is still an error.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    name: Spanned<String>,
    #[serde(default)]
    group: Option<String>,
    url: Spanned<String>,
    #[serde(default)]
    method: Option<Spanned<http::Method>>,
    #[serde(default)]
    headers: Option<Spanned<http::Headers>>,
    #[serde(default)]
    body: Option<Spanned<String>>,
    #[serde(default)]
    interval: Option<Spanned<HumanDuration>>,
    #[serde(default)]
    conditions: Option<Spanned<Vec<Condition>>>,
    #[serde(default)]
    client: Option<Client>,
    #[serde(default)]
    dns: Option<Spanned<dns::Query>>,
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    alerts: Option<Vec<Spanned<GatusAlert>>>,
    #[serde(default, rename = "always-run")]
    always_run: Option<Spanned<IgnoredAny>>,
    #[serde(default, rename = "extra-labels")]
    extra_labels: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    graphql: Option<Spanned<IgnoredAny>>,
    #[serde(default, rename = "maintenance-windows")]
    maintenance_windows: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    ssh: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    store: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    ui: Option<Spanned<IgnoredAny>>,
}

/// One of an endpoint's `alerts:`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct GatusAlert {
    #[serde(rename = "type")]
    kind: Spanned<String>,
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    failure_threshold: Option<Spanned<u32>>,
    #[serde(default)]
    success_threshold: Option<Spanned<u32>>,
    #[serde(default)]
    send_on_resolved: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    description: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    minimum_reminder_interval: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    provider_override: Option<Spanned<IgnoredAny>>,
}

/// Gatus's thresholds when an alert does not say.
const GATUS_FAILURE_THRESHOLD: u32 = 3;
const GATUS_SUCCESS_THRESHOLD: u32 = 2;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Client {
    #[serde(default)]
    timeout: Option<Spanned<HumanDuration>>,
    #[serde(default)]
    insecure: Option<Spanned<bool>>,
    #[serde(default, rename = "ignore-redirect")]
    ignore_redirect: Option<Spanned<bool>>,
    #[serde(default, rename = "dns-resolver")]
    dns_resolver: Option<Spanned<IgnoredAny>>,
    #[serde(default, rename = "identity-aware-proxy")]
    identity_aware_proxy: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    network: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    oauth2: Option<Spanned<IgnoredAny>>,
    #[serde(default, rename = "proxy-url")]
    proxy_url: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    renegotiation: Option<Spanned<IgnoredAny>>,
    #[serde(default, rename = "store-cookies")]
    store_cookies: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    tls: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    tunnel: Option<Spanned<IgnoredAny>>,
}

impl Endpoint {
    fn unsupported(&self) -> Vec<(&'static str, &Location)> {
        let keys = [
            ("always-run", &self.always_run),
            ("extra-labels", &self.extra_labels),
            ("graphql", &self.graphql),
            ("maintenance-windows", &self.maintenance_windows),
            ("ssh", &self.ssh),
            ("store", &self.store),
            ("ui", &self.ui),
        ];
        present(keys)
    }
}

impl Client {
    fn unsupported(&self) -> Vec<(&'static str, &Location)> {
        let keys = [
            ("dns-resolver", &self.dns_resolver),
            ("identity-aware-proxy", &self.identity_aware_proxy),
            ("network", &self.network),
            ("oauth2", &self.oauth2),
            ("proxy-url", &self.proxy_url),
            ("renegotiation", &self.renegotiation),
            ("store-cookies", &self.store_cookies),
            ("tls", &self.tls),
            ("tunnel", &self.tunnel),
        ];
        present(keys)
    }
}

fn present<'a, const N: usize>(
    keys: [(&'static str, &'a Option<Spanned<IgnoredAny>>); N],
) -> Vec<(&'static str, &'a Location)> {
    keys.into_iter()
        .filter_map(|(key, value)| value.as_ref().map(|v| (key, &v.defined)))
        .collect()
}

/// Schemes Gatus probes that Hale does not (yet).
const UNSUPPORTED_SCHEMES: &[&str] = &["starttls", "udp", "sctp", "ssh", "ws", "wss", "grpc"];

/// What converting the endpoints produced.
pub struct Converted {
    /// `(index in endpoints:, service)`, for the enabled ones.
    pub services: Vec<(usize, Spanned<RawService>)>,
    pub errors: Vec<ConfigIssue>,
    pub warnings: Vec<ConfigIssue>,
}

/// Turns Gatus's endpoints into Hale's services, to be checked as any.
/// An alert of a provider `alerting:` does not set up is ignored with a
/// warning, as Gatus ignores it.
pub fn convert(
    endpoints: Vec<Spanned<Endpoint>>,
    text: &str,
    channels: &std::collections::HashSet<&str>,
) -> Converted {
    let mut out = Converted {
        services: Vec::new(),
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    for (i, endpoint) in endpoints.into_iter().enumerate() {
        let Spanned {
            value: endpoint,
            referenced,
            defined,
        } = endpoint;
        let ignored =
            |key: &str| format!("Gatus key `{key}` is not supported by Hale and is ignored");
        for (key, at) in endpoint.unsupported() {
            let field = format!("endpoints[{i}].{key}");
            out.warnings
                .push(key_issue(text, at, key, field, ignored(key)));
        }
        if let Some(client) = &endpoint.client {
            for (key, at) in client.unsupported() {
                let field = format!("endpoints[{i}].client.{key}");
                let message = ignored(&format!("client.{key}"));
                out.warnings.push(key_issue(text, at, key, field, message));
            }
        }
        // Alerts: the channels they name, and their thresholds.
        let mut alerts = Vec::new();
        let mut thresholds: (Option<Spanned<u32>>, Option<Spanned<u32>>) = (None, None);
        for (a, alert) in endpoint.alerts.into_iter().flatten().enumerate() {
            let alert = alert.value;
            let ignored_keys = [
                ("send-on-resolved", &alert.send_on_resolved),
                ("description", &alert.description),
                (
                    "minimum-reminder-interval",
                    &alert.minimum_reminder_interval,
                ),
                ("provider-override", &alert.provider_override),
            ];
            for (key, at) in present(ignored_keys) {
                let field = format!("endpoints[{i}].alerts[{a}].{key}");
                out.warnings
                    .push(key_issue(text, at, key, field, ignored(key)));
            }
            if alert.enabled == Some(false) {
                continue;
            }
            let at = alert.kind.defined;
            let kind = alert.kind.value.trim();
            if !channels.contains(kind) {
                out.warnings.push(issue_at(
                    &at,
                    format!("endpoints[{i}].alerts[{a}].type"),
                    format!("no `alerting.{kind}` is set up: this alert is ignored"),
                ));
                continue;
            }
            let failures = alert.failure_threshold.unwrap_or(Spanned {
                value: GATUS_FAILURE_THRESHOLD,
                referenced: at,
                defined: at,
            });
            let successes = alert.success_threshold.unwrap_or(Spanned {
                value: GATUS_SUCCESS_THRESHOLD,
                referenced: at,
                defined: at,
            });
            // Several alerts: the most patient thresholds win.
            if thresholds
                .0
                .as_ref()
                .is_none_or(|t| t.value < failures.value)
            {
                thresholds.0 = Some(failures);
            }
            if thresholds
                .1
                .as_ref()
                .is_none_or(|t| t.value < successes.value)
            {
                thresholds.1 = Some(successes);
            }
            alerts.push(Spanned {
                value: alert.kind.value.trim().to_string(),
                ..alert.kind
            });
        }
        if endpoint.enabled == Some(false) {
            continue;
        }
        // Gatus names a DNS endpoint's server without a scheme.
        let mut url = endpoint.url;
        if endpoint.dns.is_some() && !url.value.contains("://") {
            url.value = format!("dns://{}", url.value);
        }
        let scheme = url.value.split("://").next().unwrap_or_default();
        if UNSUPPORTED_SCHEMES.contains(&scheme) {
            out.errors.push(issue_at(
                &url.defined,
                format!("endpoints[{i}].url"),
                format!("Hale does not probe {scheme}:// endpoints yet"),
            ));
            continue;
        }
        // Gatus takes client settings on every endpoint; Hale only where
        // they mean something.
        let kind = ProbeKind::of_scheme(scheme);
        let takes = |field| kind.is_some_and(|k| k.fields().contains(&field));
        let client = endpoint.client;
        let (timeout, insecure, ignore_redirect) = match client {
            Some(c) => (c.timeout, c.insecure, c.ignore_redirect),
            None => (None, None, None),
        };
        let negated = |flag: Option<Spanned<bool>>| {
            flag.filter(|f| f.value)
                .map(|f| Spanned { value: false, ..f })
        };
        let service = RawService {
            name: endpoint.name,
            group: endpoint.group,
            url,
            method: endpoint.method,
            headers: endpoint.headers,
            body: endpoint.body,
            follow_redirects: negated(ignore_redirect).filter(|_| takes("follow_redirects")),
            verify_tls: negated(insecure).filter(|_| takes("verify_tls")),
            interval: endpoint.interval,
            timeout,
            conditions: endpoint.conditions,
            dns: endpoint.dns,
            grace: None,
            allow_get: None,
            redirect_to_private: None,
            degraded_latency: None,
            degraded_error_rate: None,
            failure_threshold: thresholds.0,
            success_threshold: thresholds.1,
            alerts: (!alerts.is_empty()).then_some(alerts),
            slo: None,
        };
        out.services.push((
            i,
            Spanned {
                value: service,
                referenced,
                defined,
            },
        ));
    }
    out
}
