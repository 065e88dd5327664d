//! ICMP ping: `icmp://host`, one echo request, success on the echo reply.
//!
//! Uses an unprivileged datagram ICMP socket where the kernel allows it
//! (`net.ipv4.ping_group_range`), else a raw one (root or CAP_NET_RAW).
//! Whether either can be opened is checked when the config loads.

use super::{conclude, now, ProbeResult, Prober};
use crate::condition::Observation;
use crate::config::ServiceConfig;
use async_trait::async_trait;
use socket2::{Domain, Protocol, Socket, Type};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Instant;
use tokio::io::unix::AsyncFd;

pub struct IcmpProber;

static SEQUENCE: AtomicU16 = AtomicU16::new(1);

/// Opens an ICMP socket for the address family, datagram first.
fn open(ipv6: bool) -> std::io::Result<(Socket, bool)> {
    let (domain, protocol) = if ipv6 {
        (Domain::IPV6, Protocol::ICMPV6)
    } else {
        (Domain::IPV4, Protocol::ICMPV4)
    };
    let (socket, raw) = match Socket::new(domain, Type::DGRAM, Some(protocol)) {
        Ok(socket) => (socket, false),
        Err(_) => (Socket::new(domain, Type::RAW, Some(protocol))?, true),
    };
    socket.set_nonblocking(true)?;
    Ok((socket, raw))
}

/// Whether this process may ping at all; the config loader asks, so a
/// config with `icmp://` fails at start rather than on every probe.
pub fn check_permission() -> Result<(), String> {
    open(false).map(|_| ()).map_err(|e| {
        format!(
            "this process may not open an ICMP socket ({e}); run as root, grant CAP_NET_RAW \
             (setcap cap_net_raw+ep hale), or allow its group in net.ipv4.ping_group_range"
        )
    })
}

fn checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = bytes
        .chunks(2)
        .map(|pair| u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    !(sum as u16)
}

/// An echo request. The checksum is ours for IPv4; the kernel fills it
/// for ICMPv6.
pub fn echo_request(ipv6: bool, id: u16, sequence: u16, payload: &[u8]) -> Vec<u8> {
    let mut packet = vec![if ipv6 { 128 } else { 8 }, 0, 0, 0];
    packet.extend_from_slice(&id.to_be_bytes());
    packet.extend_from_slice(&sequence.to_be_bytes());
    packet.extend_from_slice(payload);
    if !ipv6 {
        let sum = checksum(&packet);
        packet[2..4].copy_from_slice(&sum.to_be_bytes());
    }
    packet
}

/// Whether `packet` is the echo reply to our request. Raw IPv4 sockets see
/// the IP header and every ICMP packet on the host, so match the sequence
/// number and payload (datagram sockets rewrite the id).
pub fn is_reply(packet: &[u8], ipv6: bool, raw: bool, sequence: u16, payload: &[u8]) -> bool {
    let icmp = if raw && !ipv6 {
        let header = usize::from(packet.first().map_or(0, |b| b & 0x0F)) * 4;
        packet.get(header..).unwrap_or_default()
    } else {
        packet
    };
    let reply_type = if ipv6 { 129 } else { 0 };
    icmp.len() >= 8
        && icmp[0] == reply_type
        && u16::from_be_bytes([icmp[6], icmp[7]]) == sequence
        && &icmp[8..] == payload
}

async fn ping(target: IpAddr) -> Result<(), String> {
    let ipv6 = target.is_ipv6();
    let (socket, raw) = open(ipv6).map_err(|e| format!("opening an ICMP socket failed: {e}"))?;
    // SAFETY: the `Socket` owns its descriptor and moves into the
    // `AsyncFd`, so the descriptor stays open and the same while registered.
    let socket = unsafe { AsyncFd::register(socket) }.map_err(|e| e.to_string())?;
    let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    let payload = now()
        .timestamp_nanos_opt()
        .unwrap_or_default()
        .to_be_bytes();
    let request = echo_request(ipv6, std::process::id() as u16, sequence, &payload);
    let to = SocketAddr::new(target, 0).into();
    loop {
        let mut guard = socket.writable().await.map_err(|e| e.to_string())?;
        match guard.try_io(|s| s.get_ref().send_to(&request, &to)) {
            Ok(result) => {
                result.map_err(|e| format!("sending the echo request failed: {e}"))?;
                break;
            }
            Err(_would_block) => continue,
        }
    }
    let mut buffer = [std::mem::MaybeUninit::<u8>::uninit(); 1500];
    loop {
        let mut guard = socket.readable().await.map_err(|e| e.to_string())?;
        let received = match guard.try_io(|s| s.get_ref().recv(&mut buffer)) {
            Ok(result) => result.map_err(|e| format!("receiving failed: {e}"))?,
            Err(_would_block) => continue,
        };
        // SAFETY: `recv` initialised the first `received` bytes.
        let packet: Vec<u8> = buffer[..received]
            .iter()
            .map(|b| unsafe { b.assume_init() })
            .collect();
        if is_reply(&packet, ipv6, raw, sequence, &payload) {
            return Ok(());
        }
    }
}

async fn resolve(host: &str) -> Result<IpAddr, String> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse() {
        return Ok(ip);
    }
    tokio::net::lookup_host((host, 0))
        .await
        .map_err(|e| format!("resolving {host} failed: {e}"))?
        .next()
        .map(|a| a.ip())
        .ok_or_else(|| format!("{host} has no address"))
}

#[async_trait]
impl Prober for IcmpProber {
    #[tracing::instrument(level = "debug", skip_all, fields(service = %service.name))]
    async fn probe(&self, service: &ServiceConfig) -> ProbeResult {
        let checked_at = now();
        let started = Instant::now();
        let timeout = service.timeout();
        let host = service.url.host_str().unwrap_or_default();
        let outcome = tokio::time::timeout(timeout, async {
            let ip = resolve(host).await?;
            ping(ip).await.map(|()| ip)
        })
        .await
        .unwrap_or_else(|_| Err(format!("no echo reply within {timeout:?}")));
        let latency = started.elapsed();
        let (ip, error) = match outcome {
            Ok(ip) => (Some(ip.to_string()), None),
            Err(e) => (None, Some(e)),
        };
        let observation = Observation {
            response_time: latency,
            connected: error.is_none(),
            ip: ip.clone(),
            ..Default::default()
        };
        conclude(
            service,
            checked_at,
            latency,
            None,
            &observation,
            error,
            || format!("echo reply from {}", ip.unwrap_or_default()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_echo_requests_with_a_valid_checksum() {
        let packet = echo_request(false, 0x1234, 7, b"abcd");
        assert_eq!(&packet[..2], &[8, 0]);
        assert_eq!(
            checksum(&packet),
            0,
            "a packet with its checksum sums to zero"
        );
        let v6 = echo_request(true, 1, 2, b"");
        assert_eq!(v6, [128, 0, 0, 0, 0, 1, 0, 2]);
    }

    #[test]
    fn matches_only_its_own_reply() {
        let mut reply = echo_request(false, 9, 42, b"payload!");
        reply[0] = 0;
        assert!(is_reply(&reply, false, false, 42, b"payload!"));
        assert!(!is_reply(&reply, false, false, 43, b"payload!"));
        assert!(!is_reply(&reply, false, false, 42, b"other!!!"));
        let request = echo_request(false, 9, 42, b"payload!");
        assert!(
            !is_reply(&request, false, false, 42, b"payload!"),
            "our own request is not a reply"
        );
        // Raw IPv4 sockets see a 20-byte IP header first.
        let mut with_header = vec![0x45; 1];
        with_header.extend_from_slice(&[0; 19]);
        with_header.extend_from_slice(&reply);
        assert!(is_reply(&with_header, false, true, 42, b"payload!"));
    }

    #[tokio::test]
    async fn pings_the_loopback() {
        // Our machines and CI run as root, where a raw socket is allowed.
        check_permission().expect("the tests run where ICMP sockets are allowed");
        let service = crate::probe::test_service(
            "    url: 'icmp://127.0.0.1'\n    timeout: 2s\n    conditions: ['[CONNECTED] == true', '[IP] == 127.0.0.1']\n",
        );
        let result = IcmpProber.probe(&service).await;
        assert!(result.success, "{}", result.message);
        assert_eq!(result.message, "echo reply from 127.0.0.1");
    }
}
