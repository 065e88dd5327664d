//! HTTP(S) probes with reqwest.

use super::{now, ProbeResult, Prober};
use crate::condition::{BodyJson, Observation};
use crate::config::ServiceConfig;
use async_trait::async_trait;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Bodies are read up to this many bytes, and only when a condition looks.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

pub struct HttpProber {
    client: reqwest::Client,
    body_limit: usize,
}

impl HttpProber {
    pub fn new() -> Result<HttpProber, reqwest::Error> {
        let client = reqwest::Client::builder()
            .user_agent(concat!(
                "Hale/",
                env!("CARGO_PKG_VERSION"),
                " (status monitor)"
            ))
            .redirect(reqwest::redirect::Policy::limited(10))
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()?;
        Ok(HttpProber {
            client,
            body_limit: DEFAULT_BODY_LIMIT,
        })
    }
}

struct Answer {
    status: u16,
    ip: Option<String>,
    body: Option<Vec<u8>>,
}

impl HttpProber {
    async fn fetch(
        &self,
        service: &ServiceConfig,
        read_body: bool,
    ) -> Result<Answer, reqwest::Error> {
        let mut request = self
            .client
            .request(service.method.0.clone(), service.url.clone())
            .timeout(service.timeout());
        for (name, value) in &service.headers {
            request = request.header(name, value);
        }
        if let Some(body) = &service.body {
            request = request.body(body.clone());
        }
        let mut response = request.send().await?;
        let status = response.status().as_u16();
        let ip = response.remote_addr().map(|a| a.ip().to_string());
        let body = if read_body {
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await? {
                let room = self.body_limit - body.len();
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if body.len() >= self.body_limit {
                    break;
                }
            }
            Some(body)
        } else {
            None
        };
        Ok(Answer { status, ip, body })
    }
}

/// The innermost cause, which is the part people can act on
/// ("connection failed: Connection refused (os error 111)").
fn describe(error: &reqwest::Error) -> String {
    use std::error::Error;
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_redirect() {
        "too many redirects"
    } else if error.is_body() || error.is_decode() {
        "reading the response failed"
    } else {
        "request failed"
    };
    let mut root = error.source();
    while let Some(deeper) = root.and_then(|e| e.source()) {
        root = Some(deeper);
    }
    match root {
        Some(cause) => format!("{kind}: {cause}"),
        None => kind.to_string(),
    }
}

#[async_trait]
impl Prober for HttpProber {
    #[tracing::instrument(skip_all, fields(service = %service.name))]
    async fn probe(&self, service: &ServiceConfig) -> ProbeResult {
        let checked_at = now();
        let started = Instant::now();
        let read_body = service.conditions.iter().any(|c| c.needs_body());
        let timeout = service.timeout();
        // reqwest's own timeout covers the request; this one also bounds a
        // body that trickles in forever.
        let answer = tokio::time::timeout(timeout, self.fetch(service, read_body)).await;
        let latency = started.elapsed();

        let (answer, transport_error) = match answer {
            Ok(Ok(answer)) => (Some(answer), None),
            Ok(Err(e)) if e.is_timeout() => (None, Some(format!("timed out after {timeout:?}"))),
            Ok(Err(e)) => (None, Some(describe(&e))),
            Err(_) => (None, Some(format!("timed out after {timeout:?}"))),
        };
        let observation = Observation {
            status: answer.as_ref().map(|a| a.status),
            response_time: latency,
            body: answer.as_ref().and_then(|a| a.body.as_deref()),
            connected: answer.is_some(),
            ip: answer.as_ref().and_then(|a| a.ip.clone()),
            ..Default::default()
        };
        let mut json = BodyJson::default();
        let mut first_failure = None;
        let conditions = service
            .conditions
            .iter()
            .map(|condition| {
                let evaluation = condition.evaluate(&observation, &mut json);
                if first_failure.is_none() {
                    first_failure = evaluation.explanation;
                }
                evaluation.outcome
            })
            .collect::<Vec<_>>();
        let success = conditions.iter().all(|c| c.success);
        let message = match (&transport_error, &answer, first_failure) {
            (Some(error), _, _) => error.clone(),
            (None, _, Some(failure)) => failure,
            (None, Some(answer), None) => format!("HTTP {}", answer.status),
            (None, None, None) => String::new(),
        };
        ProbeResult {
            service: Arc::from(service.name.as_str()),
            checked_at,
            success,
            latency,
            status_code: observation.status,
            message,
            conditions,
            region: None,
        }
    }
}
