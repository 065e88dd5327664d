//! On-demand diagnostics of one service: a connection check, latency
//! samples, a reliability run, the certificate for TLS targets and the DNS
//! answers for names — each with what it found and what to do about it.
//! Bounded: at most [`MAX_SAMPLES`] probes a run, one run per service and
//! [`MAX_RUNS`] at once, so the endpoint can't be used to flood a target.

use crate::config::ServiceConfig;
use crate::ops::check::summarize;
use crate::probe::Host;
use crate::probe::Prober;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use wire::diagnosis::{Certificate, Connection, Diagnosis, Dns, Finding};

pub const MAX_SAMPLES: u32 = 20;
pub const DEFAULT_SAMPLES: u32 = 5;
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);
pub const MAX_INTERVAL: Duration = Duration::from_secs(5);
pub const MAX_RUNS: usize = 4;
/// p95 above this is reported as high latency.
const HIGH_LATENCY_MS: f64 = 1_000.0;
/// Certificates closer than this to expiry are reported.
const CERT_WARNING_DAYS: i64 = 14;

/// Who is running diagnostics now.
#[derive(Clone)]
pub struct Limits {
    runs: Arc<Semaphore>,
    services: Arc<Mutex<HashSet<String>>>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            runs: Arc::new(Semaphore::new(MAX_RUNS)),
            services: Arc::default(),
        }
    }
}

/// Why a run could not start.
#[derive(Debug, PartialEq)]
pub enum Busy {
    Service,
    Everything,
}

/// Holds a service's run slot until dropped.
pub struct Slot {
    _permit: tokio::sync::OwnedSemaphorePermit,
    services: Arc<Mutex<HashSet<String>>>,
    name: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.services
            .lock()
            .expect("diagnostics lock")
            .remove(&self.name);
    }
}

impl Limits {
    pub fn claim(&self, service: &str) -> Result<Slot, Busy> {
        let permit = self
            .runs
            .clone()
            .try_acquire_owned()
            .map_err(|_| Busy::Everything)?;
        if !self
            .services
            .lock()
            .expect("diagnostics lock")
            .insert(service.to_string())
        {
            return Err(Busy::Service);
        }
        Ok(Slot {
            _permit: permit,
            services: self.services.clone(),
            name: service.to_string(),
        })
    }
}

/// Runs every diagnostic of `service`: `samples` probes `interval` apart.
pub async fn diagnose(
    service: &ServiceConfig,
    prober: &dyn Prober,
    samples: u32,
    interval: Duration,
) -> Diagnosis {
    let started_at = crate::clock::now();
    let started = Instant::now();
    let timeout = service.probe.timeout;
    let mut issues = Vec::new();
    let endpoint = service.probe.target.endpoint();

    let dns = match endpoint.map(|e| &e.host) {
        Some(Host::Name(host)) => {
            let lookup = tokio::time::timeout(timeout, Host::Name(host.clone()).resolve()).await;
            let (addresses, error) = match lookup {
                Ok(Ok(addresses)) => {
                    let mut ips: Vec<String> = addresses.iter().map(|a| a.to_string()).collect();
                    ips.sort();
                    ips.dedup();
                    (ips, None)
                }
                Ok(Err(e)) => (Vec::new(), Some(e)),
                Err(_) => (Vec::new(), Some(format!("timed out after {timeout:?}"))),
            };
            if let Some(e) = &error {
                issues.push(Finding {
                    kind: "dns_failed".into(),
                    issue: format!("{host} does not resolve: {e}"),
                    recommendation: "Check the name's DNS records and this machine's resolver."
                        .into(),
                });
            }
            Some(Dns {
                ok: error.is_none() && !addresses.is_empty(),
                host: host.clone(),
                addresses,
                error,
            })
        }
        _ => None,
    };

    let connection = match endpoint {
        Some(endpoint) => {
            let address = endpoint.to_string();
            let t = Instant::now();
            let outcome = tokio::time::timeout(timeout, endpoint.connect()).await;
            let (ok, error) = match outcome {
                Ok(Ok(_)) => (true, None),
                Ok(Err(e)) => (false, Some(e.to_string())),
                Err(_) => (false, Some(format!("timed out after {timeout:?}"))),
            };
            if let Some(e) = &error {
                issues.push(Finding {
                    kind: "connection_failed".into(),
                    issue: format!("cannot connect to {address}: {e}"),
                    recommendation: "Check that the service listens on this port and that firewalls let Hale through.".into(),
                });
            }
            Some(Connection {
                ok,
                address,
                latency_ms: ok.then(|| (t.elapsed().as_secs_f64() * 1e6).round() / 1e3),
                error,
            })
        }
        None => None,
    };

    let certificate = match (endpoint, service.probe.target.tls()) {
        (Some(endpoint), Some(verify)) => {
            let outcome = crate::probe::tls::certificate(endpoint, verify, timeout).await;
            let (expires_at, error) = match outcome {
                Ok(at) => (at, None),
                Err(e) => (None, Some(e)),
            };
            let days_left = expires_at.map(|at| (at - crate::clock::now()).num_days());
            if let Some(e) = &error {
                issues.push(Finding {
                    kind: "certificate_invalid".into(),
                    issue: format!("TLS handshake failed: {e}"),
                    recommendation: "Check the certificate chain and that it names this host."
                        .into(),
                });
            } else if let Some(days) = days_left.filter(|d| *d < CERT_WARNING_DAYS) {
                issues.push(Finding {
                    kind: "certificate_expiring".into(),
                    issue: format!("the certificate expires in {days} days"),
                    recommendation: "Renew the certificate (and automate renewal).".into(),
                });
            }
            Some(Certificate {
                ok: error.is_none() && days_left.is_some_and(|d| d >= 0),
                expires_at,
                days_left,
                error,
            })
        }
        _ => None,
    };

    let mut results = Vec::with_capacity(samples as usize);
    let run_started = Instant::now();
    for i in 0..samples {
        if i > 0 {
            tokio::time::sleep(interval).await;
        }
        results.push(prober.probe(&service.probe).await);
    }
    let summary = summarize(service.url.as_str(), &results, run_started.elapsed());
    if let Some(p95) = summary
        .latency
        .as_ref()
        .map(|l| l.p95_ms)
        .filter(|p| *p > HIGH_LATENCY_MS)
    {
        issues.push(Finding {
            kind: "high_latency".into(),
            issue: format!("p95 latency is {p95:.0} ms"),
            recommendation: "Look at the service's load and at the network between Hale and it; consider a timeout and a [RESPONSE_TIME] condition.".into(),
        });
    }
    if summary.success_rate_pct < 95.0 {
        let worst = summary
            .errors
            .first()
            .map(|e| e.message.clone())
            .unwrap_or_default();
        issues.push(Finding {
            kind: "low_success_rate".into(),
            issue: format!("{:.0}% of {} checks succeeded (most common error: {worst})", summary.success_rate_pct, summary.checks),
            recommendation: "Fix the errors listed; if they are intermittent, check the service's logs around these times.".into(),
        });
    }
    Diagnosis {
        service: service.name.clone(),
        target: service.url.to_string(),
        started_at,
        duration_ms: (started.elapsed().as_secs_f64() * 1e6).round() / 1e3,
        healthy: issues.is_empty(),
        dns,
        connection,
        certificate,
        samples: summary,
        issues,
    }
}

/// What a diagnosis may show anyone who asks: no URL userinfo, query
/// string or fragment, and no header value or request body, wherever they
/// would appear (the target, error messages, findings). Secrets come in
/// URLs and headers through `${ENV}`; the answer is public.
pub fn redact(diagnosis: Diagnosis, service: &ServiceConfig) -> Diagnosis {
    let url = &service.url;
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    // Longest first, so a URL is replaced whole before its parts are.
    let mut secrets: Vec<(String, String)> = vec![(url.to_string(), shown.to_string())];
    let mut hidden = |text: &str| {
        // Short values ("1", "on") would blot out ordinary words.
        if text.len() >= 4 {
            secrets.push((text.to_string(), "[redacted]".into()));
        }
    };
    hidden(url.username());
    if let Some(password) = url.password() {
        hidden(password);
    }
    if let Some(query) = url.query() {
        hidden(query);
        for (_, value) in url.query_pairs() {
            hidden(&value);
        }
    }
    if let Some(fragment) = url.fragment() {
        hidden(fragment);
    }
    if let crate::probe::Target::Http(http) = &service.probe.target {
        for value in http.headers.0.values() {
            hidden(value);
        }
        if let Some(body) = &http.body {
            hidden(body);
        }
    }
    secrets.sort_by_key(|(secret, _)| std::cmp::Reverse(secret.len()));
    let mut value = serde_json::to_value(&diagnosis).expect("a diagnosis is JSON");
    scrub(&mut value, &secrets);
    serde_json::from_value(value).expect("a scrubbed diagnosis is still one")
}

fn scrub(value: &mut serde_json::Value, secrets: &[(String, String)]) {
    match value {
        serde_json::Value::String(text) => {
            for (secret, instead) in secrets {
                if text.contains(secret.as_str()) {
                    *text = text.replace(secret.as_str(), instead);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| scrub(v, secrets)),
        serde_json::Value::Object(map) => map.values_mut().for_each(|v| scrub(v, secrets)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_certificate_close_to_expiry_is_an_issue_with_a_recommendation() {
        let server = crate::probe::tls::testing::server(5).await;
        let service = crate::config::test_service(&format!(
            "    url: 'tls://localhost:{}'\n    timeout: 2s\n    verify_tls: false\n    conditions: ['[CONNECTED] == true']\n",
            server.port()
        ));
        let prober = crate::probe::AnyProber::new().unwrap();
        let d = diagnose(&service, &prober, 2, MIN_INTERVAL).await;
        let cert = d
            .certificate
            .as_ref()
            .expect("a TLS target's certificate is read");
        assert!(matches!(cert.days_left, Some(4..=5)), "{cert:?}");
        assert!(d.connection.as_ref().unwrap().ok);
        assert_eq!(d.dns.as_ref().unwrap().host, "localhost");
        assert!(!d.dns.as_ref().unwrap().addresses.is_empty());
        assert_eq!(d.samples.checks, 2);
        let kinds: Vec<_> = d.issues.iter().map(|i| i.kind.as_str()).collect();
        assert_eq!(kinds, ["certificate_expiring"], "{:?}", d.issues);
        assert!(d.issues[0].recommendation.contains("Renew"));
        assert!(!d.healthy);
    }

    #[test]
    fn a_service_runs_once_at_a_time_and_runs_are_capped() {
        let limits = Limits::default();
        let first = limits.claim("api").unwrap();
        assert_eq!(limits.claim("api").err(), Some(Busy::Service));
        drop(first);
        let held: Vec<_> = (0..MAX_RUNS)
            .map(|i| limits.claim(&format!("s{i}")).unwrap())
            .collect();
        assert_eq!(limits.claim("another").err(), Some(Busy::Everything));
        drop(held);
        assert!(limits.claim("another").is_ok());
    }

    #[tokio::test]
    async fn a_public_diagnosis_carries_no_userinfo_query_or_header_value() {
        // A closed port: the errors are real, and name nothing secret.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let service = crate::config::test_service(&format!(
            "    url: 'http://robot:pa55word@127.0.0.1:{port}/health?key=s3cr3t-key&x=1#frag'\n    timeout: 1s\n    headers: {{Authorization: 'Bearer t0ken-value'}}\n"
        ));
        let prober = crate::probe::AnyProber::new().unwrap();
        let mut diagnosis = diagnose(&service, &prober, 1, MIN_INTERVAL).await;
        // Wherever a message might repeat them.
        diagnosis.issues.push(Finding {
            kind: "echo".into(),
            issue: format!("{} with Bearer t0ken-value", service.url),
            recommendation: "try key=s3cr3t-key as robot".into(),
        });
        let shown = serde_json::to_string(&redact(diagnosis, &service)).unwrap();
        for secret in ["pa55word", "robot", "s3cr3t-key", "t0ken-value", "frag"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(
            shown.contains(&format!("\"target\":\"http://127.0.0.1:{port}/health\"")),
            "{shown}"
        );
        assert!(shown.contains("[redacted]"), "{shown}");
    }
}
