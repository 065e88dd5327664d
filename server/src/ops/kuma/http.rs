//! Kuma's `http`, `keyword` and `json-query` monitors: the request Hale
//! sends (method, headers with Kuma's auth, body with its content type,
//! TLS and redirects), the timeout, and the conditions: accepted status
//! codes, then the keyword or the JSON query.

use super::conditions;
use super::convert::{one_line, Service};
use super::db::Monitor;
use super::secrets::{env_name, Secrets, Text};
use crate::config::limits;
use crate::duration::HumanDuration;
use std::time::Duration;

/// Maps an HTTP-kind monitor into `service`; `Err` is why it is left out.
pub(super) fn http(
    monitor: &Monitor,
    service: &mut Service,
    secrets: &mut Secrets,
) -> Result<(), String> {
    let row = &monitor.row;
    let url_text = row.text("url").unwrap_or_default().trim();
    match url::Url::parse(url_text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => {}
        _ => return Err(format!("URL {url_text:?} is not an http(s):// URL")),
    }
    let https = url_text.to_ascii_lowercase().starts_with("https:");
    service.url = Text::literal(url_text);
    let method = row
        .text("method")
        .unwrap_or("GET")
        .trim()
        .to_ascii_uppercase();
    if !matches!(
        method.as_str(),
        "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS"
    ) {
        return Err(format!(
            "HTTP method {method} (Hale sends GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS)"
        ));
    }
    if method != "GET" {
        service.method = Some(method);
    }
    let mut headers: Vec<(String, Text)> = Vec::new();
    match row.text("auth_method").map(str::trim) {
        None | Some("none") => {}
        Some("basic") => {
            let user = row.text("basic_auth_user").unwrap_or_default();
            let var = secrets.add(
                monitor,
                "BASIC_AUTH",
                format!(
                    "base64 of \"{user}:<password>\", the basic auth of Kuma monitor #{} (printf '%s' '{user}:<password>' | base64)",
                    monitor.id
                ),
            );
            headers.push((
                "Authorization".into(),
                Text::literal("Basic ").then(Text::env(&var)),
            ));
        }
        Some("bearer") => {
            let var = secrets.add(
                monitor,
                "BEARER_TOKEN",
                format!("the bearer token of Kuma monitor #{}", monitor.id),
            );
            headers.push((
                "Authorization".into(),
                Text::literal("Bearer ").then(Text::env(&var)),
            ));
        }
        Some(other) => {
            let how = match other {
                "ntlm" => "NTLM",
                "oauth2-cc" => "OAuth2 client credentials",
                "mtls" => "a client certificate (mTLS)",
                other => other,
            };
            return Err(format!("signs in with {how}, which Hale can't"));
        }
    }
    if let Some(json) = row.text("headers") {
        match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(json) {
            Err(_) => service.notes.push(format!(
                "headers {} are not a JSON object (Kuma failed every check with them)",
                one_line(json)
            )),
            Ok(map) => {
                for (name, value) in map {
                    let value = match value {
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    };
                    if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                        service
                            .notes
                            .push(format!("header {name:?} is not a valid header name"));
                        continue;
                    }
                    let value = if secret_header(&name) {
                        let var = secrets.add(
                            monitor,
                            &format!("HEADER_{}", env_name(&name, 0)),
                            format!("the {name} header of Kuma monitor #{}", monitor.id),
                        );
                        Text::env(&var)
                    } else {
                        Text::literal(value)
                    };
                    // Kuma's own headers win over its auth, as in Kuma.
                    headers.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
                    headers.push((name, value));
                }
            }
        }
    }
    if let Some(body) = row.text("body") {
        let encoding = row.text("http_body_encoding").unwrap_or("json").trim();
        let content_type = match encoding {
            "json" => {
                if serde_json::from_str::<serde_json::Value>(body).is_err() {
                    service
                        .notes
                        .push("the JSON body is not valid JSON (Kuma failed every check)".into());
                }
                Some("application/json")
            }
            "form" => Some("application/x-www-form-urlencoded"),
            "xml" => Some("text/xml; charset=utf-8"),
            other => {
                service.notes.push(format!("body encoding {other:?}"));
                None
            }
        };
        let has_type = headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-type"));
        if let (Some(content_type), false) = (content_type, has_type) {
            headers.push(("Content-Type".into(), Text::literal(content_type)));
        }
        service.body = Some(body.to_string());
    }
    service.headers = headers;
    if https && row.flag("ignore_tls") {
        service.verify_tls = Some(false);
    }
    match row.int("maxredirects") {
        Some(0) => service.follow_redirects = Some(false),
        Some(n) if n != 10 && n > 0 => service
            .notes
            .push(format!("at most {n} redirects: Hale follows up to 10")),
        _ => {}
    }
    service.timeout = Some(timeout(monitor, service));
    service.conditions = match conditions::status(row.text("accepted_statuscodes_json")) {
        Ok(conditions) => conditions,
        Err(why) => {
            service
                .notes
                .push(format!("{why}: Hale's default `[STATUS] < 400` instead"));
            Vec::new()
        }
    };
    let check = match monitor.kind() {
        "keyword" => Some(conditions::keyword(
            row.0.get("keyword").map_or("", String::as_str),
            row.flag("invert_keyword"),
        )),
        "json-query" => Some(conditions::json_query(
            row.text("json_path").unwrap_or_default(),
            row.text("json_path_operator"),
            row.0.get("expected_value").map(String::as_str),
        )),
        _ => None,
    };
    match check {
        Some(Ok(condition)) => {
            if service.conditions.is_empty() {
                service.conditions.push("[STATUS] < 400".into());
            }
            service.conditions.push(condition);
        }
        Some(Err(why)) => service
            .notes
            .push(format!("{why}: NOT CHECKED, only the status code is")),
        None => {}
    }
    if monitor.kind() == "json-query" && row.flag("retry_only_on_status_code_failure") {
        service
            .notes
            .push("retries only on a failed status code: Hale counts every failure".into());
    }
    for (column, what) in [
        ("cache_bust", "a cache-busting query parameter"),
        ("domain_expiry_notification", "domain expiry notifications"),
    ] {
        if row.flag(column) {
            service.notes.push(what.into());
        }
    }
    if https && row.flag("expiry_notification") {
        service.notes.push(
            "certificate expiry notifications (a `[CERTIFICATE_EXPIRATION] > 14d` condition, or a tls:// service, does it in Hale)".into(),
        );
    }
    if let Some(family) = row.text("ip_family") {
        service.notes.push(format!(
            "IP family {family}: Hale uses what the name resolves to"
        ));
    }
    if let Some(proxy) = row.int("proxy_id") {
        service.notes.push(format!(
            "through Kuma proxy #{proxy}: Hale connects directly"
        ));
    }
    Ok(())
}

/// Names of headers whose values are secrets, kept out of the file.
fn secret_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(
        name.as_str(),
        "authorization" | "proxy-authorization" | "cookie"
    ) || [
        "token",
        "secret",
        "key",
        "password",
        "passwd",
        "auth",
        "session",
        "signature",
        "credential",
    ]
    .iter()
    .any(|part| name.contains(part))
}

/// Kuma's request timeout: 80 % of the interval when unset (as Kuma
/// does), within Hale's bounds.
fn timeout(monitor: &Monitor, service: &mut Service) -> Duration {
    let interval = service.interval;
    let seconds = monitor
        .row
        .real("timeout")
        .filter(|t| *t > 0.0)
        .unwrap_or(interval.as_secs_f64() * 0.8);
    let wanted = Duration::from_millis((seconds * 1000.0).round().max(1.0) as u64);
    let kept = wanted.min(interval).min(limits::MAX_TIMEOUT);
    if kept < wanted {
        service.notes.push(format!(
            "timeout {}s is longer than Hale allows (the interval, at most 1h): {}",
            seconds,
            HumanDuration(kept)
        ));
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::kuma::convert::service;
    use crate::ops::kuma::db::monitor;

    #[test]
    fn timeouts_default_to_most_of_the_interval_as_in_kuma() {
        let cases = [
            ("0", "60", 48_000),
            ("", "20", 16_000),
            ("30.5", "60", 30_500),
            ("90", "60", 60_000),
        ];
        for (timeout, interval, ms) in cases {
            let m = monitor(
                1,
                &[
                    ("type", "http"),
                    ("url", "https://a.example/"),
                    ("timeout", timeout),
                    ("interval", interval),
                ],
            );
            let s = service(&m, &mut Secrets::default()).unwrap();
            assert_eq!(
                s.timeout,
                Some(Duration::from_millis(ms)),
                "{timeout} {interval}"
            );
        }
    }
}
