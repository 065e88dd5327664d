//! ICMP ping: `icmp://host`, one echo request, success on the echo reply.
//!
//! surge-ping does the protocol: one socket per address family, shared by
//! every ping (a receive task hands each reply to the ping waiting for
//! it), unprivileged datagram sockets where the kernel allows them
//! (`net.ipv4.ping_group_range`), raw ones otherwise (root or
//! CAP_NET_RAW). Whether this process may ping at all is checked when Hale
//! starts with ICMP services ([`check_permission`]), not when a config is
//! validated.

use super::{BuildError, FieldError, Fields, Host, Kind, KindProber, Observed, ProbeSpec};
use crate::condition::Observation;
use socket2::{Domain, Protocol, Socket, Type};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::OnceLock;
use std::time::Duration;
use surge_ping::{Client, Config, IcmpPacket, PingIdentifier, PingSequence, SurgeError, ICMP};

#[derive(Clone, Debug, PartialEq)]
pub struct IcmpTarget {
    pub host: Host,
}

impl Kind for IcmpTarget {
    const SCHEMES: &'static [&'static str] = &["icmp"];
    const FIELDS: &'static [&'static str] = &[];
    const DEFAULT_CONDITIONS: &'static [&'static str] = &["[CONNECTED] == true"];

    fn parse(fields: &Fields<'_>) -> Result<Self, FieldError> {
        let host = Host::of(fields.url)
            .ok_or_else(|| FieldError::new("url", "an icmp:// URL needs a host: icmp://host"))?;
        Ok(IcmpTarget { host })
    }
}

/// Whether this process may open an ICMP socket (datagram or raw).
pub fn check_permission() -> Result<(), String> {
    let datagram = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::ICMPV4));
    let raw = || Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4));
    datagram.or_else(|_| raw()).map(drop).map_err(|e| {
        format!(
            "this process may not open an ICMP socket ({e}); run as root, grant CAP_NET_RAW \
             (setcap cap_net_raw+ep hale), or allow its group in net.ipv4.ping_group_range"
        )
    })
}

/// One client per address family, made on the first ping of that family.
pub struct IcmpProber {
    v4: OnceLock<Client>,
    v6: OnceLock<Client>,
}

/// Sequence numbers, distinct across concurrent pings: on datagram sockets
/// the kernel owns the identifier, so host and sequence tell replies apart.
static SEQUENCE: AtomicU16 = AtomicU16::new(1);

impl IcmpProber {
    fn client(&self, ip: IpAddr) -> Result<&Client, String> {
        let (cell, kind) = match ip {
            IpAddr::V4(_) => (&self.v4, ICMP::V4),
            IpAddr::V6(_) => (&self.v6, ICMP::V6),
        };
        if let Some(client) = cell.get() {
            return Ok(client);
        }
        // A failure is not kept: the next ping tries again (a socket
        // limit reached for a moment, a capability granted later).
        let client = Client::new(&Config::builder().kind(kind).build())
            .map_err(|e| format!("opening an ICMP socket failed: {e}"))?;
        // Two first pings at once: one client is kept, the other dropped.
        let _ = cell.set(client);
        Ok(cell.get().expect("set above"))
    }

    async fn ping(&self, ip: IpAddr, timeout: Duration) -> Result<(), String> {
        let client = self.client(ip)?;
        let mut pinger = client.pinger(ip, PingIdentifier(rand::random())).await;
        // The probe's frame bounds the whole probe; this only lifts
        // surge-ping's own default of two seconds.
        pinger.timeout(timeout);
        let sequence = PingSequence(SEQUENCE.fetch_add(1, Ordering::Relaxed));
        let payload = [0u8; 16];
        match pinger.ping(sequence, &payload).await {
            // A raw socket also hands over ICMP errors about our request.
            Ok((IcmpPacket::V4(reply), _)) if reply.get_icmp_type().0 == 0 => Ok(()),
            Ok((IcmpPacket::V6(reply), _)) if reply.get_icmpv6_type().0 == 129 => Ok(()),
            Ok(_) => Err(format!("{ip} answered with an ICMP error")),
            Err(SurgeError::Timeout { .. }) => Err(no_reply(timeout)),
            Err(e) => Err(format!("ping failed: {e}")),
        }
    }
}

fn no_reply(timeout: Duration) -> String {
    format!("no echo reply within {timeout:?}")
}

impl KindProber for IcmpProber {
    type Target = IcmpTarget;

    fn new() -> Result<Self, BuildError> {
        Ok(IcmpProber {
            v4: OnceLock::new(),
            v6: OnceLock::new(),
        })
    }

    async fn observe(&self, target: &IcmpTarget, spec: &ProbeSpec) -> Observed {
        let ip = match target.host.resolve().await {
            Ok(addresses) => addresses[0],
            Err(e) => return Observed::failed(e),
        };
        match self.ping(ip, spec.timeout).await {
            Err(e) => Observed::failed(e),
            Ok(()) => Observed {
                observation: Observation {
                    connected: true,
                    ip: Some(ip.to_string()),
                    ..Observation::default()
                },
                error: None,
                summary: format!("echo reply from {ip}"),
            },
        }
    }

    fn timed_out(timeout: Duration) -> String {
        no_reply(timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{AnyProber, Prober};

    #[tokio::test]
    async fn pings_the_loopback() {
        // Our machines and CI run as root, where a raw socket is allowed.
        check_permission().expect("the tests run where ICMP sockets are allowed");
        let service = crate::config::test_service(
            "    url: 'icmp://127.0.0.1'\n    timeout: 2s\n    conditions: ['[CONNECTED] == true', '[IP] == 127.0.0.1']\n",
        ).probe;
        let prober = AnyProber::new().unwrap();
        let result = prober.probe(&service).await;
        assert!(result.success, "{}", result.message);
        assert_eq!(result.message, "echo reply from 127.0.0.1");
    }

    #[tokio::test]
    async fn many_pings_at_once_share_a_socket_and_each_gets_its_reply() {
        let service = crate::config::test_service(
            "    url: 'icmp://127.0.0.1'\n    timeout: 2s\n    conditions: ['[CONNECTED] == true']\n",
        ).probe;
        let prober = AnyProber::new().unwrap();
        let results = futures_util::future::join_all((0..50).map(|_| prober.probe(&service))).await;
        for result in results {
            assert!(result.success, "{}", result.message);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_ping_that_runs_out_of_time_says_no_reply_came() {
        let spec =
            crate::config::test_service("    url: 'icmp://127.0.0.1'\n    timeout: 1s\n").probe;
        let result = crate::probe::run::<IcmpProber>(&spec, std::future::pending()).await;
        assert!(!result.success);
        assert_eq!(result.message, "no echo reply within 1s");
    }
}
