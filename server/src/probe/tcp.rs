//! TCP probes: `tcp://host:port` succeeds when a connection opens.

use super::{Endpoint, FieldError, Fields, Kind, KindProber, Observed, ProbeSpec};
use crate::condition::Observation;

#[derive(Clone, Debug, PartialEq)]
pub struct TcpTarget {
    pub endpoint: Endpoint,
}

impl Kind for TcpTarget {
    const SCHEMES: &'static [&'static str] = &["tcp"];
    const FIELDS: &'static [&'static str] = &[];
    const DEFAULT_CONDITIONS: &'static [&'static str] = &["[CONNECTED] == true"];

    fn parse(fields: &Fields<'_>) -> Result<Self, FieldError> {
        let endpoint = fields
            .url
            .port()
            .and_then(|_| Endpoint::of(fields.url, None))
            .ok_or_else(|| {
                FieldError::new(
                    "url",
                    "a tcp:// URL needs a host and a port: tcp://host:port",
                )
            })?;
        Ok(TcpTarget { endpoint })
    }
}

pub struct TcpProber;

impl KindProber for TcpProber {
    type Target = TcpTarget;

    fn new() -> Result<Self, super::BuildError> {
        Ok(TcpProber)
    }

    async fn observe(&self, target: &TcpTarget, _: &ProbeSpec) -> Observed {
        match target.endpoint.connect().await {
            Ok(stream) => Observed {
                observation: Observation {
                    connected: true,
                    ip: stream.peer_addr().ok().map(|a| a.ip().to_string()),
                    ..Observation::default()
                },
                error: None,
                summary: "connected".into(),
            },
            Err(e) => Observed::failed(format!("connection failed: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{AnyProber, Prober};

    fn service(url: &str, extra: &str) -> ProbeSpec {
        crate::config::test_service(&format!("    url: '{url}'\n    timeout: 1s\n{extra}")).probe
    }

    #[tokio::test]
    async fn an_open_port_is_up_and_a_closed_one_down() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let open = listener.local_addr().unwrap();
        let result = AnyProber::new()
            .unwrap()
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
        let result = AnyProber::new()
            .unwrap()
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
        assert!(AnyProber::new().unwrap().probe(&ok).await.success);
        let wrong = service(&url, "    conditions: ['[IP] == 10.0.0.1']\n");
        let result = AnyProber::new().unwrap().probe(&wrong).await;
        assert!(!result.success);
        assert_eq!(result.message, "[IP] == 10.0.0.1 (got \"127.0.0.1\")");
    }
}
