//! Kuma's monitors as Hale services, each with a note for every setting
//! that doesn't come along; a monitor Hale would judge differently from
//! Kuma (a probe it doesn't have, a sign-in it can't do, an inverted
//! check) is left out with the reason rather than imported wrong.
//!
//! | Kuma | Hale |
//! | --- | --- |
//! | `http`, `keyword`, `json-query` | `url`, `method`, `headers`, `body`, `verify_tls`, `follow_redirects`, `timeout`; `conditions` from the accepted codes, the keyword, the JSON query |
//! | `port` | `tcp://host:port` |
//! | `ping` | `icmp://host` |
//! | `dns` | `dns://resolver:port` with `dns: {query_name, query_type}` |
//! | `push` | `push://${…}`, `allow_get: true` |
//! | `interval`, `maxretries` | `interval`, `failure_threshold` = retries + 1; `success_threshold: 1` |
//! | a `parent` group monitor | `group` (nested ones joined by ` / `) |

use super::db::Monitor;
use super::http::http;
use super::secrets::{Secrets, Text};
use crate::config::limits;
use crate::duration::HumanDuration;
use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::time::Duration;

/// One Hale service, as it will be written.
#[derive(Clone, Debug, PartialEq)]
pub struct Service {
    pub kuma_id: i64,
    pub kuma_type: String,
    pub kuma_name: String,
    pub name: String,
    pub group: Option<String>,
    pub url: Text,
    pub method: Option<String>,
    pub headers: Vec<(String, Text)>,
    pub body: Option<String>,
    pub verify_tls: Option<bool>,
    pub follow_redirects: Option<bool>,
    /// `(query_name, query_type)`.
    pub dns: Option<(String, String)>,
    pub allow_get: bool,
    pub interval: Duration,
    pub timeout: Option<Duration>,
    pub failure_threshold: u32,
    pub success_threshold: u32,
    pub conditions: Vec<String>,
    /// What of the monitor was not carried over.
    pub notes: Vec<String>,
}

/// A monitor left out, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Skipped {
    pub kuma_id: i64,
    pub name: String,
    pub kind: String,
    pub reason: String,
}

/// What Kuma's monitor types that Hale can't probe check, for the reason.
fn unsupported(kind: &str) -> String {
    let what = match kind {
        "docker" => "a Docker container's state",
        "mqtt" => "an MQTT topic",
        "kafka-producer" => "producing to Kafka",
        "rabbitmq" => "RabbitMQ nodes",
        "grpc-keyword" => "gRPC calls",
        "sqlserver" | "postgres" | "mysql" | "mongodb" | "redis" | "oracledb" => {
            return format!(
                "Hale has no {kind} probe (a tcp://host:port service checks that it accepts connections)"
            )
        }
        "radius" => "RADIUS logins",
        "steam" | "gamedig" => "game servers",
        "real-browser" => "pages in a real browser",
        "tailscale-ping" => "Tailscale pings",
        "globalping" => "Globalping's probes",
        "snmp" => "SNMP",
        "smtp" => "SMTP sessions",
        "ntp" => "NTP servers",
        "sip-options" => "SIP OPTIONS",
        "websocket-upgrade" => "WebSocket upgrades",
        "manual" => "a status set by hand",
        "system-service" => "local system services",
        "" => return "the monitor has no type".into(),
        _ => return format!("Hale has no probe for Kuma's {kind:?} monitors"),
    };
    format!("Hale has no probe for {what}")
}

/// Maps one monitor; `Err` is why it is left out.
pub fn service(monitor: &Monitor, secrets: &mut Secrets) -> Result<Service, String> {
    let row = &monitor.row;
    let kind = monitor.kind();
    let mut service = base(monitor);
    match kind {
        "http" | "keyword" | "json-query" => http(monitor, &mut service, secrets)?,
        "port" => tcp(monitor, &mut service)?,
        "ping" => icmp(monitor, &mut service)?,
        "dns" => dns(monitor, &mut service)?,
        "push" => push(monitor, &mut service, secrets)?,
        other => return Err(unsupported(other)),
    }
    if row.flag("upside_down") {
        if !matches!(kind, "port" | "ping") {
            return Err(
                "upside-down mode (up when the check fails): Hale can't invert this check".into(),
            );
        }
        service.conditions = vec!["[CONNECTED] == false".into()];
    }
    common_notes(monitor, &mut service);
    Ok(service)
}

/// What every kind shares: interval and thresholds.
fn base(monitor: &Monitor) -> Service {
    let row = &monitor.row;
    let mut notes = Vec::new();
    let seconds = row.int("interval").filter(|s| *s > 0).unwrap_or(60);
    let mut interval = Duration::from_secs(seconds.unsigned_abs());
    if interval < limits::MIN_INTERVAL || interval > limits::MAX_INTERVAL {
        let kept = interval.clamp(limits::MIN_INTERVAL, limits::MAX_INTERVAL);
        notes.push(format!(
            "interval {}s is outside Hale's 1s to 31d: {} instead",
            seconds,
            HumanDuration(kept)
        ));
        interval = kept;
    }
    // Kuma marks a monitor down on the failure after `maxretries` retries.
    let retries = row.int("maxretries").unwrap_or(0).max(0);
    let wanted = u32::try_from(retries.saturating_add(1)).unwrap_or(u32::MAX);
    let failure_threshold = wanted.min(limits::MAX_THRESHOLD);
    if failure_threshold < wanted {
        notes.push(format!(
            "{retries} retries: Hale counts at most {} failures",
            limits::MAX_THRESHOLD
        ));
    }
    Service {
        kuma_id: monitor.id,
        kuma_type: monitor.kind().to_string(),
        kuma_name: monitor.name().to_string(),
        name: String::new(),
        group: None,
        url: Text::default(),
        method: None,
        headers: Vec::new(),
        body: None,
        verify_tls: None,
        follow_redirects: None,
        dns: None,
        allow_get: false,
        interval,
        timeout: None,
        failure_threshold,
        // One good check brings a Kuma monitor back up.
        success_threshold: 1,
        conditions: Vec::new(),
        notes,
    }
}

/// Settings of any kind that Hale has no place for.
fn common_notes(monitor: &Monitor, service: &mut Service) {
    let row = &monitor.row;
    let notes = &mut service.notes;
    let retry = row.int("retry_interval").unwrap_or(0);
    if row.int("maxretries").unwrap_or(0) > 0
        && retry > 0
        && retry != service.interval.as_secs() as i64
    {
        notes.push(format!(
            "retry interval {retry}s: Hale checks again at the interval ({})",
            HumanDuration(service.interval)
        ));
    }
    if let Some(every) = row.int("resend_interval").filter(|n| *n > 0) {
        notes.push(format!(
            "notifications re-sent every {every} checks while down (alerting.defaults.renotify sets Hale's)"
        ));
    }
    if !monitor.notifications.is_empty() {
        notes.push(format!(
            "notifications {} (set up alerting.channels and name them in the service's `alerts:`)",
            monitor.notifications.join(", ")
        ));
    }
    if !monitor.tags.is_empty() {
        notes.push(format!("tags {}", monitor.tags.join(", ")));
    }
    if !monitor.maintenance.is_empty() {
        notes.push(format!(
            "maintenance windows {} (Hale has none)",
            monitor.maintenance.join(", ")
        ));
    }
    if let Some(description) = row.text("description") {
        notes.push(format!("description {:?}", one_line(description)));
    }
    if let Some(conditions) = row.text("conditions").filter(|c| c.trim() != "[]") {
        notes.push(format!("Kuma conditions {}", one_line(conditions)));
    }
}

/// `host`, bracketed when it is an IPv6 address.
fn url_host(host: &str) -> String {
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => format!("[{v6}]"),
        _ => host.to_string(),
    }
}

fn hostname(monitor: &Monitor) -> Result<String, String> {
    let host = monitor
        .row
        .text("hostname")
        .map(str::trim)
        .unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || host.contains(['/', ' ', '@', '?', '#']) {
        return Err(format!("hostname {host:?} is not a host name or address"));
    }
    Ok(host.to_string())
}

fn tcp(monitor: &Monitor, service: &mut Service) -> Result<(), String> {
    let host = hostname(monitor)?;
    let port = monitor
        .row
        .int("port")
        .filter(|p| (1..=65_535).contains(p))
        .ok_or("no port to connect to")?;
    service.url = Text::literal(format!("tcp://{}:{port}", url_host(&host)));
    if let Some(tls @ ("secure" | "starttls")) = monitor.row.text("smtp_security").map(str::trim) {
        service.notes.push(format!(
            "TLS ({tls}) and its certificate: Hale checks the TCP connection only (a tls://host:port service checks a certificate)"
        ));
    }
    if let Some(alert) = monitor
        .row
        .text("expected_tls_alert")
        .filter(|a| a.trim() != "none")
    {
        service.notes.push(format!(
            "expected TLS alert {alert}: Hale checks the TCP connection only"
        ));
    }
    Ok(())
}

fn icmp(monitor: &Monitor, service: &mut Service) -> Result<(), String> {
    let host = hostname(monitor)?;
    service.url = Text::literal(format!("icmp://{}", url_host(&host)));
    if let Some(size) = monitor.row.int("packet_size").filter(|s| *s != 56) {
        service
            .notes
            .push(format!("packet size {size}: Hale's pings carry its own"));
    }
    if let Some(count) = monitor.row.int("ping_count").filter(|c| *c > 1) {
        service
            .notes
            .push(format!("{count} pings a check: Hale sends one"));
    }
    Ok(())
}

fn dns(monitor: &Monitor, service: &mut Service) -> Result<(), String> {
    let row = &monitor.row;
    let name = hostname(monitor)?;
    let servers: Vec<&str> = row
        .text("dns_resolve_server")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let Some(first) = servers.first() else {
        return Err("no resolver to ask".into());
    };
    let ip: IpAddr = first
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .map_err(|_| {
            format!("resolver {first:?} is a name: Hale's DNS probe asks a resolver by IP address")
        })?;
    if servers.len() > 1 {
        service.notes.push(format!(
            "resolvers {}: Hale asks the first",
            servers.join(", ")
        ));
    }
    let port = row
        .int("port")
        .filter(|p| (1..=65_535).contains(p))
        .unwrap_or(53);
    let host = url_host(&ip.to_string());
    service.url = Text::literal(if port == 53 {
        format!("dns://{host}")
    } else {
        format!("dns://{host}:{port}")
    });
    let kind = row
        .text("dns_resolve_type")
        .unwrap_or("A")
        .trim()
        .to_ascii_uppercase();
    let name = match (kind.as_str(), name.parse::<IpAddr>()) {
        ("PTR", Ok(address)) => reverse_name(address),
        _ => name,
    };
    service.dns = Some((name, kind));
    // Kuma fails a check that finds no record of the type.
    service.conditions = vec!["[DNS_RCODE] == NOERROR".into(), "len([BODY]) > 0".into()];
    Ok(())
}

/// The PTR name of an address: `4.3.2.1.in-addr.arpa`.
fn reverse_name(address: IpAddr) -> String {
    match address {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0])
        }
        IpAddr::V6(v6) => {
            let nibbles: Vec<String> = v6
                .octets()
                .iter()
                .rev()
                .flat_map(|b| [b & 0xF, b >> 4])
                .map(|n| format!("{n:x}"))
                .collect();
            format!("{}.ip6.arpa", nibbles.join("."))
        }
    }
}

fn push(monitor: &Monitor, service: &mut Service, secrets: &mut Secrets) -> Result<(), String> {
    let token = monitor
        .row
        .text("push_token")
        .map(str::trim)
        .ok_or("a push monitor without a push token")?;
    let usable = token.len() >= crate::probe::push::MIN_TOKEN
        && token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let what = if usable {
        format!(
            "the push token of Kuma monitor #{} (its job keeps its URL's token)",
            monitor.id
        )
    } else {
        format!(
            "a new push token from `hale token`: Kuma monitor #{}'s has {} characters, and Hale takes {} or more; give the job the new one",
            monitor.id,
            token.chars().count(),
            crate::probe::push::MIN_TOKEN
        )
    };
    let var = secrets.add(monitor, "PUSH_TOKEN", what);
    service.url = Text::literal("push://").then(Text::env(&var));
    // Kuma's push URL is fetched with GET by most jobs.
    service.allow_get = true;
    service.notes.push(
        "the job now pushes to Hale: http(s)://<hale>/api/push/<token>, with Kuma's status, msg and ping parameters as they are".into(),
    );
    Ok(())
}

/// `1 service`, `2 services`.
pub fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// Text on one line, for a note.
pub fn one_line(text: &str) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > 80 {
        format!("{}…", line.chars().take(79).collect::<String>())
    } else {
        line
    }
}

/// Group paths (`Parent / Child`) of monitors, by id, from the `group`
/// monitors they sit in.
pub fn group_paths(monitors: &[Monitor]) -> HashMap<i64, String> {
    let by_id: HashMap<i64, &Monitor> = monitors.iter().map(|m| (m.id, m)).collect();
    let mut paths = HashMap::new();
    for monitor in monitors {
        let mut names = Vec::new();
        let mut seen = BTreeSet::from([monitor.id]);
        let mut parent = monitor.row.int("parent");
        while let Some(id) = parent {
            let Some(group) = by_id.get(&id).filter(|g| g.kind() == "group") else {
                break;
            };
            if !seen.insert(id) {
                break;
            }
            names.push(display_name(group));
            parent = group.row.int("parent");
        }
        if !names.is_empty() {
            names.reverse();
            paths.insert(monitor.id, names.join(" / "));
        }
    }
    paths
}

/// A monitor's name, or `monitor #<id>` for one without.
pub fn display_name(monitor: &Monitor) -> String {
    match monitor.name() {
        "" => format!("monitor #{}", monitor.id),
        name => name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::kuma::db::monitor;

    #[test]
    fn retries_become_the_failure_threshold() {
        for (retries, threshold) in [("0", 1), ("2", 3), ("5000", 1_000)] {
            let m = monitor(
                1,
                &[
                    ("type", "port"),
                    ("hostname", "db"),
                    ("port", "5432"),
                    ("maxretries", retries),
                ],
            );
            let s = service(&m, &mut Secrets::default()).unwrap();
            assert_eq!((s.failure_threshold, s.success_threshold), (threshold, 1));
        }
    }

    #[test]
    fn ptr_queries_of_an_address_ask_its_reverse_name() {
        assert_eq!(
            reverse_name("192.0.2.1".parse().unwrap()),
            "1.2.0.192.in-addr.arpa"
        );
        assert!(reverse_name("2001:db8::1".parse().unwrap()).starts_with("1.0.0.0.0.0.0.0"));
        assert!(reverse_name("2001:db8::1".parse().unwrap()).ends_with("8.b.d.0.1.0.0.2.ip6.arpa"));
    }
}
