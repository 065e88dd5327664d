//! From what the file says to what Hale runs: every check that needs more
//! than one value (a timeout within its interval, a unique name, a page's
//! services existing), every bound (so that a value that validates also
//! runs), and each service's typed target. Every problem found is
//! reported, each at the value it is about.

use super::raw::{RawPage, RawService};
use super::{issue_at, ConfigIssue, ServiceConfig, StatusPageConfig};
use crate::probe::{Fields, ProbeKind, ProbeSpec, Target};
use serde_saphyr::{Location, Spanned};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// The bounds of each service setting. Durations are bounded further by
/// `duration::MAX` when they are read.
pub mod limits {
    use std::time::Duration;

    pub const MIN_INTERVAL: Duration = Duration::from_secs(1);
    /// A monthly job's push still fits.
    pub const MAX_INTERVAL: Duration = Duration::from_secs(31 * 86_400);
    pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
    pub const MAX_TIMEOUT: Duration = Duration::from_secs(3_600);
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
    pub const MAX_GRACE: Duration = MAX_INTERVAL;
    pub const MAX_DEGRADED_LATENCY: Duration = MAX_TIMEOUT;
    pub const MAX_THRESHOLD: u32 = 1_000;
    pub const DEFAULT_FAILURE_THRESHOLD: u32 = 3;
    pub const DEFAULT_SUCCESS_THRESHOLD: u32 = 2;
    pub const DEFAULT_DEGRADED_ERROR_RATE: f64 = 0.05;
}

use limits::*;

/// Collects the problems of one config.
#[derive(Default)]
pub struct Issues(pub Vec<ConfigIssue>);

impl Issues {
    fn at(&mut self, location: &Location, field: String, message: impl Into<String>) {
        self.0.push(issue_at(location, field, message.into()));
    }
}

/// A section's services, with their index in it: `("services", …)` or
/// `("endpoints", …)`.
pub type Section = (&'static str, Vec<(usize, Spanned<RawService>)>);

/// Builds the services of every section, in order. `channels` are the
/// alerting channels' names a service's `alerts` may list.
pub fn services(
    sections: Vec<Section>,
    channels: &HashSet<&str>,
    issues: &mut Issues,
) -> Vec<ServiceConfig> {
    let mut names = HashSet::new();
    let mut push_tokens = HashSet::new();
    let mut services = Vec::new();
    for (section, entries) in sections {
        for (index, entry) in entries {
            let place = Place {
                section,
                index,
                item: entry.defined,
            };
            let (name_at, url_at) = (entry.value.name.defined, entry.value.url.defined);
            let Some(service) = service(&place, entry.value, channels, issues) else {
                continue;
            };
            if !names.insert(service.name.clone()) {
                issues.at(
                    &name_at,
                    place.field("name"),
                    format!("duplicate service name {:?}", service.name),
                );
            }
            if let Target::Push(push) = &service.probe.target {
                if !push_tokens.insert(push.token.clone()) {
                    issues.at(
                        &url_at,
                        place.field("url"),
                        "another service already uses this push token",
                    );
                }
            }
            services.push(service);
        }
    }
    services
}

/// Where a service is, for naming its fields.
struct Place {
    section: &'static str,
    index: usize,
    item: Location,
}

impl Place {
    fn field(&self, field: &str) -> String {
        // Gatus keeps the timeout under `client:`.
        let field = match (self.section, field) {
            ("endpoints", "timeout") => "client.timeout",
            (_, field) => field,
        };
        format!("{}[{}].{field}", self.section, self.index)
    }
}

fn located<T>(value: &Option<Spanned<T>>, fallback: &Location) -> Location {
    value.as_ref().map_or(*fallback, |v| v.defined)
}

/// One service, or `None` (with its problems in `issues`).
fn service(
    place: &Place,
    raw: RawService,
    channels: &HashSet<&str>,
    issues: &mut Issues,
) -> Option<ServiceConfig> {
    let before = issues.0.len();
    let slo = slo(place, raw.slo, issues);
    let mut alerts = Vec::new();
    for (i, channel) in raw.alerts.iter().flatten().enumerate() {
        let name = channel.value.trim();
        if !channels.contains(name) {
            let message = if channels.is_empty() {
                format!("no channel {name:?}: `alerting.channels` names none")
            } else {
                let mut known: Vec<&str> = channels.iter().copied().collect();
                known.sort_unstable();
                format!(
                    "no channel {name:?} (alerting.channels has {})",
                    known.join(", ")
                )
            };
            issues.at(
                &channel.defined,
                place.field(&format!("alerts[{i}]")),
                message,
            );
        } else if !alerts.iter().any(|a| a == name) {
            alerts.push(name.to_string());
        }
    }
    let name = raw.name.value.trim().to_string();
    if name.is_empty() {
        issues.at(&raw.name.defined, place.field("name"), "must not be empty");
    }
    let url = match url::Url::parse(&raw.url.value) {
        Ok(url) => Some(url),
        Err(e) => {
            let message = format!("invalid URL {:?}: {e}", raw.url.value);
            issues.at(&raw.url.defined, place.field("url"), message);
            None
        }
    };
    let kind = url.as_ref().and_then(|url| {
        let kind = ProbeKind::of_scheme(url.scheme());
        if kind.is_none() {
            let schemes: Vec<&str> = ProbeKind::ALL
                .iter()
                .flat_map(|k| k.schemes().iter().copied())
                .collect();
            let message = format!(
                "unsupported scheme {:?} (expected {})",
                url.scheme(),
                schemes.join(", ")
            );
            issues.at(&raw.url.defined, place.field("url"), message);
        }
        kind
    });

    let interval = raw
        .interval
        .as_ref()
        .map_or(DEFAULT_INTERVAL, |i| i.value.0);
    let at_interval = located(&raw.interval, &place.item);
    if interval < MIN_INTERVAL {
        let message = format!("{} is below the 1s minimum", raw_text(interval));
        issues.at(&at_interval, place.field("interval"), message);
    } else if interval > MAX_INTERVAL {
        let message = format!("{} is above the 31-day maximum", raw_text(interval));
        issues.at(&at_interval, place.field("interval"), message);
    }
    let timeout = match &raw.timeout {
        None => interval.min(DEFAULT_TIMEOUT),
        Some(t) => {
            let timeout = t.value.0;
            let field = place.field("timeout");
            if timeout.is_zero() {
                issues.at(&t.defined, field, "must be above zero");
            } else if timeout > interval {
                let message = format!(
                    "{} is longer than the interval ({})",
                    raw_text(timeout),
                    raw_text(interval)
                );
                issues.at(&t.defined, field, message);
            } else if timeout > MAX_TIMEOUT {
                let message = format!("{} is above the 1h maximum", raw_text(timeout));
                issues.at(&t.defined, field, message);
            }
            timeout
        }
    };
    if let Some(grace) = &raw.grace {
        if grace.value.0 > MAX_GRACE {
            let message = format!("{} is above the 31-day maximum", grace.value);
            issues.at(&grace.defined, place.field("grace"), message);
        }
    }
    if let Some(limit) = &raw.degraded_latency {
        let field = place.field("degraded_latency");
        if limit.value.0.is_zero() {
            issues.at(&limit.defined, field, "must be above zero");
        } else if limit.value.0 > MAX_DEGRADED_LATENCY {
            let message = format!("{} is above the 1h maximum", limit.value);
            issues.at(&limit.defined, field, message);
        }
    }
    let degraded_error_rate = raw
        .degraded_error_rate
        .as_ref()
        .map_or(DEFAULT_DEGRADED_ERROR_RATE, |r| r.value);
    if !(degraded_error_rate > 0.0 && degraded_error_rate <= 1.0) {
        let message =
            format!("{degraded_error_rate} is not a rate between 0 and 1 (e.g. 0.05 for 5 %)");
        let at = located(&raw.degraded_error_rate, &place.item);
        issues.at(&at, place.field("degraded_error_rate"), message);
    }
    let mut threshold = |value: &Option<Spanned<u32>>, field: &str, default: u32| {
        let Some(value) = value else {
            return default;
        };
        if !(1..=MAX_THRESHOLD).contains(&value.value) {
            let message = format!("must be between 1 and {MAX_THRESHOLD}");
            issues.at(&value.defined, place.field(field), message);
        }
        value.value
    };
    let failure_threshold = threshold(
        &raw.failure_threshold,
        "failure_threshold",
        DEFAULT_FAILURE_THRESHOLD,
    );
    let success_threshold = threshold(
        &raw.success_threshold,
        "success_threshold",
        DEFAULT_SUCCESS_THRESHOLD,
    );
    if let Some(headers) = &raw.headers {
        if let Some(bad) = headers.value.invalid_name() {
            let message = format!("{bad:?} is not a valid header name");
            issues.at(&headers.defined, place.field("headers"), message);
        }
    }

    let conditions = raw.conditions.as_ref().map_or(&[][..], |c| &c.value[..]);
    let (url, kind) = (url?, kind?);
    // Settings the kind does not take are mistakes, not silently ignored.
    let given: [(&str, Option<Location>); 9] = [
        ("method", raw.method.as_ref().map(|v| v.defined)),
        ("headers", raw.headers.as_ref().map(|v| v.defined)),
        ("body", raw.body.as_ref().map(|v| v.defined)),
        (
            "follow_redirects",
            raw.follow_redirects.as_ref().map(|v| v.defined),
        ),
        ("verify_tls", raw.verify_tls.as_ref().map(|v| v.defined)),
        ("dns", raw.dns.as_ref().map(|v| v.defined)),
        ("grace", raw.grace.as_ref().map(|v| v.defined)),
        ("allow_get", raw.allow_get.as_ref().map(|v| v.defined)),
        (
            "redirect_to_private",
            raw.redirect_to_private.as_ref().map(|v| v.defined),
        ),
    ];
    for (field, at) in given {
        let Some(at) = at else { continue };
        if !kind.fields().contains(&field) {
            let takers: Vec<String> = ProbeKind::ALL
                .iter()
                .filter(|k| k.fields().contains(&field))
                .map(|k| format!("{}://", k.schemes()[0]))
                .collect();
            let message = format!("only {} services take {field}", takers.join(" and "));
            issues.at(&at, place.field(field), message);
        }
    }
    let fields = Fields {
        url: &url,
        interval,
        method: raw.method.as_ref().map(|m| &m.value),
        headers: raw.headers.as_ref().map(|h| &h.value),
        body: raw.body.as_ref().map(|b| b.value.as_str()),
        follow_redirects: raw.follow_redirects.as_ref().map(|f| f.value),
        verify_tls: raw.verify_tls.as_ref().map(|v| v.value),
        dns: raw.dns.as_ref().map(|d| &d.value),
        grace: raw.grace.as_ref().map(|g| g.value.0),
        allow_get: raw.allow_get.as_ref().map(|g| g.value),
        redirect_to_private: raw.redirect_to_private.as_ref().map(|r| r.value),
        conditions,
    };
    let target = match Target::parse(kind, &fields) {
        Ok(target) => Some(target),
        Err(error) => {
            let at = match error.field {
                "url" => raw.url.defined,
                "dns" => located(&raw.dns, &place.item),
                "conditions" => located(&raw.conditions, &place.item),
                _ => place.item,
            };
            issues.at(&at, place.field(error.field), error.message);
            None
        }
    };
    if issues.0.len() > before {
        return None;
    }
    let conditions = if conditions.is_empty() {
        kind.default_conditions()
    } else {
        conditions.to_vec()
    };
    Some(ServiceConfig {
        probe: ProbeSpec {
            service: Arc::from(name.as_str()),
            target: target?,
            timeout,
            conditions,
        },
        name,
        group: raw.group,
        url,
        interval,
        degraded_latency: raw.degraded_latency.map(|d| d.value.0),
        degraded_error_rate,
        failure_threshold,
        success_threshold,
        alerts,
        slo,
    })
}

/// A service's `slo:`, checked.
fn slo(
    place: &Place,
    raw: Option<Spanned<crate::config::raw::RawSlo>>,
    issues: &mut Issues,
) -> Option<crate::config::Slo> {
    let raw = raw?.value;
    let objective = raw.objective.value.0;
    if objective <= 0.0 {
        issues.at(
            &raw.objective.defined,
            place.field("slo.objective"),
            "above 0% and under 100%, e.g. 99.9%",
        );
        return None;
    }
    let window = match raw.window {
        None => std::time::Duration::from_secs(30 * 86_400),
        Some(w)
            if w.value.0 < std::time::Duration::from_secs(3_600)
                || w.value.0 > std::time::Duration::from_secs(365 * 86_400) =>
        {
            issues.at(&w.defined, place.field("slo.window"), "from 1h to 365d");
            return None;
        }
        Some(w) => w.value.0,
    };
    Some(crate::config::Slo { objective, window })
}

/// A duration as a config writes it, for messages.
fn raw_text(duration: Duration) -> crate::duration::HumanDuration {
    crate::duration::HumanDuration(duration)
}

/// Builds the status pages, checking their slugs and services.
pub fn pages(
    pages: Vec<Spanned<RawPage>>,
    services: &HashSet<&str>,
    issues: &mut Issues,
) -> Vec<StatusPageConfig> {
    let mut slugs = HashSet::new();
    let mut built = Vec::new();
    for (i, page) in pages.into_iter().enumerate() {
        let page = page.value;
        let field = |name: &str| format!("status_pages[{i}].{name}");
        let slug = &page.slug.value;
        let valid_slug = !slug.is_empty()
            && slug
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid_slug {
            let message = format!("{slug:?} must be lowercase letters, digits and dashes");
            issues.at(&page.slug.defined, field("slug"), message);
        } else if !slugs.insert(slug.clone()) {
            let message = format!("duplicate status page slug {slug:?}");
            issues.at(&page.slug.defined, field("slug"), message);
        }
        for name in &page.services {
            if !services.contains(name.value.as_str()) {
                let message = format!("unknown service {:?}", name.value);
                issues.at(&name.defined, field("services"), message);
            }
        }
        built.push(StatusPageConfig {
            slug: page.slug.value,
            title: page.title,
            description: page.description,
            services: page.services.into_iter().map(|s| s.value).collect(),
        });
    }
    built
}
