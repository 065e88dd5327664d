//! TCP probes: `tcp://host:port` succeeds when a connection opens.

use super::{conclude, now, ProbeResult, Prober};
use crate::condition::Observation;
use crate::config::ServiceConfig;
use async_trait::async_trait;
use std::time::Instant;
use tokio::net::TcpStream;

pub struct TcpProber;

#[async_trait]
impl Prober for TcpProber {
    #[tracing::instrument(level = "debug", skip_all, fields(service = %service.name))]
    async fn probe(&self, service: &ServiceConfig) -> ProbeResult {
        let checked_at = now();
        let started = Instant::now();
        let host = service.url.host_str().unwrap_or_default();
        // `Url` keeps IPv6 hosts in brackets; the resolver wants them bare.
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = service.url.port().unwrap_or_default();
        let timeout = service.timeout();
        let outcome = tokio::time::timeout(timeout, TcpStream::connect((host, port))).await;
        let latency = started.elapsed();
        let (ip, error) = match outcome {
            Ok(Ok(stream)) => (stream.peer_addr().ok().map(|a| a.ip().to_string()), None),
            Ok(Err(e)) => (None, Some(format!("connection failed: {e}"))),
            Err(_) => (None, Some(format!("timed out after {timeout:?}"))),
        };
        let observation = Observation {
            response_time: latency,
            connected: error.is_none(),
            ip,
            ..Default::default()
        };
        conclude(
            service,
            checked_at,
            latency,
            None,
            &observation,
            error,
            || "connected".into(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(url: &str, extra: &str) -> ServiceConfig {
        crate::probe::test_service(&format!("    url: '{url}'\n    timeout: 1s\n{extra}"))
    }

    #[tokio::test]
    async fn an_open_port_is_up_and_a_closed_one_down() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let open = listener.local_addr().unwrap();
        let result = TcpProber
            .probe(&service(&format!("tcp://{open}"), ""))
            .await;
        assert!(result.success, "{}", result.message);
        assert_eq!(result.message, "connected");
        assert_eq!(result.conditions[0].condition, "[CONNECTED] == true");

        // A port that was just free is closed.
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let result = TcpProber
            .probe(&service(&format!("tcp://{closed}"), ""))
            .await;
        assert!(!result.success);
        assert!(
            result.message.starts_with("connection failed"),
            "{}",
            result.message
        );
    }

    #[tokio::test]
    async fn conditions_see_the_ip_and_the_response_time() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("tcp://{}", listener.local_addr().unwrap());
        let ok = service(
            &url,
            "    conditions: ['[IP] == 127.0.0.1', '[RESPONSE_TIME] < 1000']\n",
        );
        assert!(TcpProber.probe(&ok).await.success);
        let wrong = service(&url, "    conditions: ['[IP] == 10.0.0.1']\n");
        let result = TcpProber.probe(&wrong).await;
        assert!(!result.success);
        assert_eq!(result.message, "[IP] == 10.0.0.1 (got \"127.0.0.1\")");
    }
}
