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
//! | anything else (`alerts`, `ui`, `maintenance-windows`, …) | one warning each, ignored |

use super::locate::{self, Segment};
use super::{ConfigIssue, DnsQuery, HttpMethod, HumanDuration, ServiceConfig};
use crate::condition::Condition;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
pub struct Endpoint {
    name: String,
    #[serde(default)]
    group: Option<String>,
    url: String,
    #[serde(default)]
    method: HttpMethod,
    #[serde(default)]
    headers: super::Headers,
    #[serde(default)]
    body: Option<String>,
    #[serde(default = "super::default_interval")]
    interval: HumanDuration,
    #[serde(default)]
    conditions: Vec<Condition>,
    #[serde(default)]
    client: Option<Client>,
    #[serde(default)]
    dns: Option<DnsQuery>,
    #[serde(default = "super::yes")]
    enabled: bool,
    #[serde(flatten)]
    unsupported: BTreeMap<String, serde_yaml::Value>,
}

#[derive(Deserialize)]
struct Client {
    #[serde(default)]
    timeout: Option<HumanDuration>,
    #[serde(default)]
    insecure: bool,
    #[serde(default, rename = "ignore-redirect")]
    ignore_redirect: bool,
    #[serde(flatten)]
    unsupported: BTreeMap<String, serde_yaml::Value>,
}

/// Schemes Gatus probes that Hale does not (yet).
const UNSUPPORTED_SCHEMES: &[&str] = &["starttls", "udp", "sctp", "ssh", "ws", "wss", "grpc"];

/// What converting the endpoints produced.
pub struct Converted {
    /// `(index in endpoints:, service)`, for the enabled ones.
    pub services: Vec<(usize, ServiceConfig)>,
    pub errors: Vec<ConfigIssue>,
    pub warnings: Vec<ConfigIssue>,
}

fn located(source: &str, path: &[Segment<'_>], message: String) -> ConfigIssue {
    ConfigIssue {
        line: locate::line_of(source, path),
        column: None,
        field: locate::display(path),
        message,
    }
}

pub fn convert(endpoints: Vec<Endpoint>, source: &str) -> Converted {
    use Segment::{Index, Key};
    let mut out = Converted {
        services: Vec::new(),
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    for (i, endpoint) in endpoints.into_iter().enumerate() {
        for key in endpoint.unsupported.keys() {
            let path = [Key("endpoints"), Index(i), Key(key)];
            out.warnings.push(located(
                source,
                &path,
                format!("Gatus key `{key}` is not supported by Hale and is ignored"),
            ));
        }
        let client = endpoint.client.unwrap_or(Client {
            timeout: None,
            insecure: false,
            ignore_redirect: false,
            unsupported: BTreeMap::new(),
        });
        for key in client.unsupported.keys() {
            let path = [Key("endpoints"), Index(i), Key("client"), Key(key)];
            out.warnings.push(located(
                source,
                &path,
                format!("Gatus key `client.{key}` is not supported by Hale and is ignored"),
            ));
        }
        if !endpoint.enabled {
            continue;
        }
        // Gatus names a DNS endpoint's server without a scheme.
        let url_text = if endpoint.dns.is_some() && !endpoint.url.contains("://") {
            format!("dns://{}", endpoint.url)
        } else {
            endpoint.url.clone()
        };
        let url_path = [Key("endpoints"), Index(i), Key("url")];
        let scheme = url_text.split("://").next().unwrap_or_default();
        if UNSUPPORTED_SCHEMES.contains(&scheme) {
            out.errors.push(located(
                source,
                &url_path,
                format!("Hale does not probe {scheme}:// endpoints yet"),
            ));
            continue;
        }
        let url = match url::Url::parse(&url_text) {
            Ok(url) => url,
            Err(e) => {
                out.errors.push(located(
                    source,
                    &url_path,
                    format!("invalid URL {:?}: {e}", endpoint.url),
                ));
                continue;
            }
        };
        out.services.push((
            i,
            ServiceConfig {
                name: endpoint.name,
                group: endpoint.group,
                url,
                method: endpoint.method,
                headers: endpoint.headers,
                body: endpoint.body,
                follow_redirects: !client.ignore_redirect,
                verify_tls: !client.insecure,
                interval: endpoint.interval,
                timeout: client.timeout,
                conditions: endpoint.conditions,
                dns: endpoint.dns,
                grace: None,
                degraded_latency: None,
                degraded_error_rate: super::default_degraded_error_rate(),
                failure_threshold: super::default_failure_threshold(),
                success_threshold: super::default_success_threshold(),
            },
        ));
    }
    out
}
