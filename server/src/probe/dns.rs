//! DNS probes: `dns://server[:port]` with a `dns:` block naming the query.
//!
//! One UDP query with recursion desired; the answer's rcode is
//! `[DNS_RCODE]` and the first record of the asked type is `[BODY]` (an
//! address, a name, or text). Small enough to own rather than pull in a
//! resolver: the format is stable and fully tested below.

use super::{conclude, now, ProbeResult, Prober};
use crate::condition::Observation;
use crate::config::{RecordType, ServiceConfig};
use async_trait::async_trait;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Instant;
use tokio::net::UdpSocket;

pub struct DnsProber;

/// The parts of an answer conditions can see.
#[derive(Debug, PartialEq)]
pub struct Answer {
    pub rcode: &'static str,
    /// Records of the asked type, as text, in answer order.
    pub records: Vec<String>,
    /// The server cut the answer short (TC): the records may be partial.
    pub truncated: bool,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DnsError {
    #[error("malformed DNS answer: {0}")]
    Malformed(&'static str),
    #[error("answer to another query (id {got}, expected {expected})")]
    WrongId { got: u16, expected: u16 },
}

static NEXT_ID: AtomicU16 = AtomicU16::new(0);

fn query_id() -> u16 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    (nanos as u16) ^ NEXT_ID.fetch_add(0x9e37, Ordering::Relaxed)
}

/// A query for `name`/`kind` with recursion desired.
pub fn encode_query(id: u16, name: &str, kind: RecordType) -> Vec<u8> {
    let mut packet = Vec::with_capacity(18 + name.len());
    packet.extend_from_slice(&id.to_be_bytes());
    packet.extend_from_slice(&[0x01, 0x00]); // RD
    packet.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]); // 1 question
    for label in name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        packet.push(label.len() as u8);
        packet.extend_from_slice(label.as_bytes());
    }
    packet.push(0);
    packet.extend_from_slice(&kind.code().to_be_bytes());
    packet.extend_from_slice(&[0, 1]); // IN
    packet
}

fn rcode_name(code: u8) -> &'static str {
    match code {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        _ => "UNKNOWN",
    }
}

struct Reader<'p> {
    packet: &'p [u8],
    at: usize,
}

impl<'p> Reader<'p> {
    fn take(&mut self, n: usize) -> Result<&'p [u8], DnsError> {
        let bytes = self
            .packet
            .get(self.at..self.at + n)
            .ok_or(DnsError::Malformed("truncated"))?;
        self.at += n;
        Ok(bytes)
    }

    fn u16(&mut self) -> Result<u16, DnsError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// A possibly compressed name, read from `self.at`.
    fn name(&mut self) -> Result<String, DnsError> {
        let (name, end) = read_name(self.packet, self.at)?;
        self.at = end;
        Ok(name)
    }
}

/// Reads a name at `at`; returns it and where the name ends in place.
fn read_name(packet: &[u8], mut at: usize) -> Result<(String, usize), DnsError> {
    let mut labels: Vec<String> = Vec::new();
    let mut end = None;
    for _ in 0..128 {
        let len = *packet
            .get(at)
            .ok_or(DnsError::Malformed("name runs past the end"))? as usize;
        match len {
            0 => {
                let name = if labels.is_empty() {
                    ".".into()
                } else {
                    labels.join(".")
                };
                return Ok((name, end.unwrap_or(at + 1)));
            }
            l if l & 0xC0 == 0xC0 => {
                let low = *packet
                    .get(at + 1)
                    .ok_or(DnsError::Malformed("cut pointer"))? as usize;
                end.get_or_insert(at + 2);
                at = ((l & 0x3F) << 8) | low;
            }
            l if l < 64 => {
                let label = packet
                    .get(at + 1..at + 1 + l)
                    .ok_or(DnsError::Malformed("label runs past the end"))?;
                labels.push(String::from_utf8_lossy(label).into_owned());
                at += 1 + l;
            }
            _ => return Err(DnsError::Malformed("bad label")),
        }
    }
    Err(DnsError::Malformed("name pointers loop"))
}

/// Parses an answer to query `id` for records of `kind`.
pub fn decode_answer(packet: &[u8], id: u16, kind: RecordType) -> Result<Answer, DnsError> {
    let mut r = Reader { packet, at: 0 };
    let got = r.u16()?;
    if got != id {
        return Err(DnsError::WrongId { got, expected: id });
    }
    let flags = r.u16()?;
    if flags & 0x8000 == 0 {
        return Err(DnsError::Malformed("not a response"));
    }
    let (questions, answers) = (r.u16()?, r.u16()?);
    r.take(4)?; // authority and additional counts
    for _ in 0..questions {
        r.name()?;
        r.take(4)?;
    }
    let mut records = Vec::new();
    for _ in 0..answers {
        r.name()?;
        let (rtype, _class) = (r.u16()?, r.u16()?);
        r.take(4)?; // TTL
        let length = r.u16()? as usize;
        let start = r.at;
        let data = r.take(length)?;
        if rtype != kind.code() {
            continue;
        }
        let text = match kind {
            RecordType::A if length == 4 => {
                Ipv4Addr::new(data[0], data[1], data[2], data[3]).to_string()
            }
            RecordType::Aaaa if length == 16 => {
                Ipv6Addr::from(<[u8; 16]>::try_from(data).expect("16 bytes")).to_string()
            }
            RecordType::A | RecordType::Aaaa => {
                return Err(DnsError::Malformed("address of the wrong size"))
            }
            RecordType::Cname | RecordType::Ns => read_name(packet, start)?.0,
            RecordType::Mx if length > 2 => read_name(packet, start + 2)?.0,
            RecordType::Mx => return Err(DnsError::Malformed("short MX record")),
            RecordType::Txt => {
                let mut text = String::new();
                let mut at = 0;
                while at < data.len() {
                    let n = data[at] as usize;
                    let chunk = data
                        .get(at + 1..at + 1 + n)
                        .ok_or(DnsError::Malformed("TXT runs past its record"))?;
                    text.push_str(&String::from_utf8_lossy(chunk));
                    at += 1 + n;
                }
                text
            }
        };
        records.push(text);
    }
    Ok(Answer {
        rcode: rcode_name((flags & 0x000F) as u8),
        records,
        truncated: flags & 0x0200 != 0,
    })
}

async fn ask(
    server: SocketAddr,
    query: &[u8],
    id: u16,
    kind: RecordType,
) -> Result<Answer, String> {
    let local: SocketAddr = if server.is_ipv4() {
        "0.0.0.0:0".parse().expect("address")
    } else {
        "[::]:0".parse().expect("address")
    };
    let socket = UdpSocket::bind(local)
        .await
        .map_err(|e| format!("opening a UDP socket failed: {e}"))?;
    socket
        .connect(server)
        .await
        .map_err(|e| format!("connecting to {server} failed: {e}"))?;
    socket
        .send(query)
        .await
        .map_err(|e| format!("sending the query failed: {e}"))?;
    let mut buffer = [0u8; 4096];
    loop {
        let n = socket
            .recv(&mut buffer)
            .await
            .map_err(|e| format!("no answer: {e}"))?;
        match decode_answer(&buffer[..n], id, kind) {
            // A late answer to an earlier query on a reused port: keep waiting.
            Err(DnsError::WrongId { .. }) => continue,
            other => return other.map_err(|e| e.to_string()),
        }
    }
}

#[async_trait]
impl Prober for DnsProber {
    #[tracing::instrument(level = "debug", skip_all, fields(service = %service.name))]
    async fn probe(&self, service: &ServiceConfig) -> ProbeResult {
        let checked_at = now();
        let started = Instant::now();
        let Some(query) = &service.dns else {
            return ProbeResult::failed(
                service,
                started.elapsed(),
                "no dns: query configured".into(),
            );
        };
        let timeout = service.timeout();
        let outcome = match service.dns_server() {
            Err(e) => Err(e),
            Ok(server) => {
                let id = query_id();
                let packet = encode_query(id, &query.query_name, query.query_type);
                match tokio::time::timeout(timeout, ask(server, &packet, id, query.query_type))
                    .await
                {
                    Ok(answer) => answer,
                    Err(_) => Err(format!("timed out after {timeout:?}")),
                }
            }
        };
        let latency = started.elapsed();
        let (answer, error) = match outcome {
            Ok(answer) => (Some(answer), None),
            Err(e) => (None, Some(e)),
        };
        let first = answer.as_ref().and_then(|a| a.records.first()).cloned();
        let observation = Observation {
            response_time: latency,
            connected: answer.is_some(),
            body: first.as_deref().map(str::as_bytes),
            dns_rcode: answer.as_ref().map(|a| a.rcode.to_string()),
            ip: first
                .clone()
                .filter(|r| r.parse::<std::net::IpAddr>().is_ok()),
            ..Default::default()
        };
        let truncated = answer.as_ref().is_some_and(|a| a.truncated);
        conclude(
            service,
            checked_at,
            latency,
            None,
            &observation,
            error,
            || {
                let text = match (&answer, &first) {
                    (Some(a), Some(first)) => format!("{} {first}", a.rcode),
                    (Some(a), None) => a.rcode.to_string(),
                    (None, _) => String::new(),
                };
                if truncated {
                    format!("{text} (answer truncated)")
                } else {
                    text
                }
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A DNS server for tests: answers `*.test` names from a table, and
    /// NXDOMAIN for the rest. Compresses names as real servers do.
    async fn server() -> SocketAddr {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buffer = [0u8; 512];
            loop {
                let (n, peer) = socket.recv_from(&mut buffer).await.unwrap();
                let query = &buffer[..n];
                let (name, end) = read_name(query, 12).unwrap();
                let qtype = u16::from_be_bytes([query[end], query[end + 1]]);
                let question = &query[12..end + 4];
                // (type, rdata) answers; rdata may point at the question name (0xC00C).
                let answers: Vec<(u16, Vec<u8>)> = match (name.as_str(), qtype) {
                    ("www.example.test", 1) => vec![(1, vec![10, 1, 2, 3]), (1, vec![10, 1, 2, 4])],
                    ("www.example.test", 28) => vec![(28, Ipv6Addr::LOCALHOST.octets().to_vec())],
                    ("alias.example.test", 5) => vec![(5, b"\x03www\xC0\x12".to_vec())],
                    ("example.test", 15) => vec![(15, b"\x00\x0A\x04mail\xC0\x0C".to_vec())],
                    ("example.test", 16) => vec![(16, b"\x05hello\x06 world".to_vec())],
                    _ => vec![],
                };
                let rcode = if name.ends_with("example.test") { 0 } else { 3 };
                let mut reply = Vec::new();
                reply.extend_from_slice(&query[..2]);
                reply.extend_from_slice(&[0x81, 0x80 | rcode]);
                reply.extend_from_slice(&[0, 1, 0, answers.len() as u8, 0, 0, 0, 0]);
                reply.extend_from_slice(question);
                for (rtype, data) in answers {
                    reply.extend_from_slice(&[0xC0, 0x0C]);
                    reply.extend_from_slice(&rtype.to_be_bytes());
                    reply.extend_from_slice(&[0, 1, 0, 0, 0, 60]);
                    reply.extend_from_slice(&(data.len() as u16).to_be_bytes());
                    reply.extend_from_slice(&data);
                }
                socket.send_to(&reply, peer).await.unwrap();
            }
        });
        addr
    }

    fn service(server: SocketAddr, name: &str, kind: &str, conditions: &str) -> ServiceConfig {
        crate::probe::test_service(&format!(
            "    url: 'dns://{server}'\n    timeout: 1s\n    dns: {{query_name: {name}, query_type: {kind}}}\n{conditions}"
        ))
    }

    #[tokio::test]
    async fn answers_reach_conditions_for_every_record_type() {
        let server = server().await;
        let table = [
            (
                "www.example.test",
                "A",
                "[BODY] == 10.1.2.3",
                "NOERROR 10.1.2.3",
            ),
            ("www.example.test", "AAAA", "[BODY] == ::1", "NOERROR ::1"),
            (
                "alias.example.test",
                "CNAME",
                "[BODY] == www.example.test",
                "NOERROR www.example.test",
            ),
            (
                "example.test",
                "MX",
                "[BODY] == mail.example.test",
                "NOERROR mail.example.test",
            ),
            (
                "example.test",
                "TXT",
                "[BODY] == \"hello world\"",
                "NOERROR hello world",
            ),
        ];
        for (name, kind, condition, message) in table {
            let conditions = format!("    conditions: ['[DNS_RCODE] == NOERROR', '{condition}']\n");
            let result = DnsProber
                .probe(&service(server, name, kind, &conditions))
                .await;
            assert!(result.success, "{name} {kind}: {}", result.message);
            assert_eq!(result.message, message);
        }
    }

    #[tokio::test]
    async fn nxdomain_fails_the_default_condition_and_is_visible() {
        let server = server().await;
        let result = DnsProber
            .probe(&service(server, "nope.invalid", "A", ""))
            .await;
        assert!(!result.success);
        assert_eq!(result.message, "[DNS_RCODE] == NOERROR (got \"NXDOMAIN\")");
        let expected = service(
            server,
            "nope.invalid",
            "A",
            "    conditions: ['[DNS_RCODE] == NXDOMAIN']\n",
        );
        assert!(DnsProber.probe(&expected).await.success);
    }

    #[tokio::test]
    async fn a_silent_server_times_out() {
        // A bound socket that never answers.
        let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let result = DnsProber
            .probe(&service(
                silent.local_addr().unwrap(),
                "www.example.test",
                "A",
                "",
            ))
            .await;
        assert!(!result.success);
        assert!(
            result.message.starts_with("timed out after 1s"),
            "{}",
            result.message
        );
    }

    #[test]
    fn rejects_malformed_answers() {
        let query = encode_query(7, "a.test", RecordType::A);
        let mut response = query.clone();
        response[2] |= 0x80;
        assert_eq!(
            decode_answer(&response[..5], 7, RecordType::A),
            Err(DnsError::Malformed("truncated"))
        );
        assert_eq!(
            decode_answer(&query, 7, RecordType::A),
            Err(DnsError::Malformed("not a response"))
        );
        assert!(matches!(
            decode_answer(&query, 8, RecordType::A),
            Err(DnsError::WrongId { .. })
        ));
        // A name pointer to itself.
        let mut looping = query.clone();
        looping[2] |= 0x80;
        looping[12] = 0xC0;
        looping[13] = 12;
        assert_eq!(
            decode_answer(&looping, 7, RecordType::A),
            Err(DnsError::Malformed("name pointers loop"))
        );
    }

    #[test]
    fn a_truncated_answer_says_so() {
        let mut response = encode_query(9, "a.test", RecordType::A);
        response[2] |= 0x80 | 0x02; // QR and TC
        let answer = decode_answer(&response, 9, RecordType::A).unwrap();
        assert!(answer.truncated);
        assert!(answer.records.is_empty());
    }

    #[test]
    fn encodes_a_query_as_the_wire_format_says() {
        let q = encode_query(0x1234, "example.com.", RecordType::Aaaa);
        assert_eq!(
            q,
            b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x1c\x00\x01"
        );
    }
}
