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
//! | the rest of Gatus's keys (`alerts`, `ui`, `maintenance-windows`, …) | one warning each, ignored |

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
    alerts: Option<Spanned<IgnoredAny>>,
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
            ("alerts", &self.alerts),
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
pub fn convert(endpoints: Vec<Spanned<Endpoint>>, text: &str) -> Converted {
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
            failure_threshold: None,
            success_threshold: None,
            alerts: None,
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
