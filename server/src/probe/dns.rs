//! DNS probes: `dns://server[:port]` with a `dns:` block naming the query.
//!
//! One query with recursion desired, over UDP, and over TCP again when the
//! answer comes back truncated. The wire format is hickory-proto's; what
//! is Hale's is the exchange: a random query id, and an answer taken only
//! when its id and question match the query's (anything else on the
//! socket is ignored). The rcode is `[DNS_RCODE]` (`NOERROR`, `NXDOMAIN`,
//! …) and the first record of the asked type is `[BODY]` (an address, a
//! name, or text).

use super::{BuildError, FieldError, Fields, Host, Kind, KindProber, Observed, ProbeSpec};
use crate::condition::Observation;
use hickory_proto::op::{Message, MessageType, OpCode, Query as Question, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use serde::{Deserialize, Deserializer};
use std::net::SocketAddr;
use std::str::FromStr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// What a DNS probe asks. Gatus's `query-name` / `query-type` work too.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    #[serde(alias = "query-name")]
    pub query_name: String,
    #[serde(alias = "query-type", default = "default_record_type")]
    pub query_type: QueryType,
}

/// A record type, by its name (`A`, `AAAA`, `MX`, `SRV`, `CAA`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueryType(pub RecordType);

fn default_record_type() -> QueryType {
    QueryType(RecordType::A)
}

impl<'de> Deserialize<'de> for QueryType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::de::parse_str(deserializer, "a DNS record type", |text| {
            match RecordType::from_str(&text.to_ascii_uppercase()) {
                Ok(RecordType::Unknown(_)) | Err(_) => Err(format!(
                    "unsupported record type {text:?} (expected A, AAAA, CNAME, MX, NS, TXT, SRV, CAA, PTR, SOA, …)"
                )),
                Ok(kind) => Ok(QueryType(kind)),
            }
        })
    }
}

/// A DNS target: the server's address and the question, settled at load.
#[derive(Clone, Debug, PartialEq)]
pub struct DnsTarget {
    pub server: SocketAddr,
    pub question: Question,
}

impl Kind for DnsTarget {
    const SCHEMES: &'static [&'static str] = &["dns"];
    const FIELDS: &'static [&'static str] = &["dns"];
    const DEFAULT_CONDITIONS: &'static [&'static str] = &["[DNS_RCODE] == NOERROR"];

    fn parse(fields: &Fields<'_>) -> Result<Self, FieldError> {
        let ip = match Host::of(fields.url) {
            Some(Host::Ip(ip)) => ip,
            _ => {
                let host = fields.url.host_str().unwrap_or_default();
                return Err(FieldError::new(
                    "url",
                    format!("the DNS server must be an IP address, not {host:?}"),
                ));
            }
        };
        let query = fields.dns.ok_or_else(|| {
            FieldError::new(
                "dns",
                "a dns:// service needs `dns: {query_name: …, query_type: A}`",
            )
        })?;
        let name = valid_name(&query.query_name).ok_or_else(|| {
            FieldError::new(
                "dns",
                format!("{:?} is not a valid DNS name", query.query_name),
            )
        })?;
        Ok(DnsTarget {
            server: SocketAddr::new(ip, fields.url.port().unwrap_or(53)),
            question: Question::query(name, query.query_type.0),
        })
    }
}

/// A name as configs write it, made absolute (`example.com` asks for
/// `example.com.`, not for a name under a search domain).
fn valid_name(text: &str) -> Option<Name> {
    let trimmed = text.trim_end_matches('.');
    let plain = !trimmed.is_empty()
        && trimmed.split('.').all(|label| {
            !label.is_empty()
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        });
    if !plain {
        return None;
    }
    let mut name = Name::from_ascii(trimmed).ok()?;
    name.set_fqdn(true);
    Some(name)
}

/// The parts of an answer conditions can see.
#[derive(Debug, PartialEq)]
pub struct Answer {
    pub rcode: String,
    /// Records of the asked type, as text, in answer order.
    pub records: Vec<String>,
}

/// The rcode's name as DNS tools and Gatus print it.
pub fn rcode_name(code: ResponseCode) -> String {
    let name = match code {
        ResponseCode::NoError => "NOERROR",
        ResponseCode::FormErr => "FORMERR",
        ResponseCode::ServFail => "SERVFAIL",
        ResponseCode::NXDomain => "NXDOMAIN",
        ResponseCode::NotImp => "NOTIMP",
        ResponseCode::Refused => "REFUSED",
        ResponseCode::YXDomain => "YXDOMAIN",
        ResponseCode::YXRRSet => "YXRRSET",
        ResponseCode::NXRRSet => "NXRRSET",
        ResponseCode::NotAuth => "NOTAUTH",
        ResponseCode::NotZone => "NOTZONE",
        ResponseCode::BADVERS => "BADVERS",
        ResponseCode::BADKEY => "BADKEY",
        ResponseCode::BADTIME => "BADTIME",
        ResponseCode::BADMODE => "BADMODE",
        ResponseCode::BADNAME => "BADNAME",
        ResponseCode::BADALG => "BADALG",
        ResponseCode::BADTRUNC => "BADTRUNC",
        ResponseCode::BADCOOKIE => "BADCOOKIE",
        other => return format!("RCODE{}", u16::from(other)),
    };
    name.to_string()
}

/// A record's data as text: an address, a name without its final dot, the
/// strings of a TXT record joined, or the record's presentation form.
fn record_text(data: &RData) -> String {
    let name = |n: &Name| n.to_utf8().trim_end_matches('.').to_string();
    match data {
        RData::A(a) => a.to_string(),
        RData::AAAA(a) => a.to_string(),
        RData::CNAME(n) => name(n),
        RData::NS(n) => name(n),
        RData::PTR(n) => name(n),
        RData::MX(mx) => name(&mx.exchange),
        RData::SRV(srv) => format!(
            "{} {} {} {}",
            srv.priority,
            srv.weight,
            srv.port,
            name(&srv.target)
        ),
        RData::TXT(txt) => txt
            .txt_data
            .iter()
            .map(|part| String::from_utf8_lossy(part))
            .collect(),
        other => other.to_string(),
    }
}

/// Why an exchange gave no answer.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DnsError {
    #[error("malformed DNS answer: {0}")]
    Malformed(String),
}

/// A query message for `question`, recursion desired.
pub fn encode_query(id: u16, question: &Question) -> Vec<u8> {
    let mut message = Message::new(id, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = true;
    message.add_query(question.clone());
    message.to_vec().expect("a query encodes")
}

/// Whether `message` answers query `id` for `question`: a response, with
/// the same id and the same question (names compared without case).
fn answers(message: &Message, id: u16, question: &Question) -> bool {
    let [asked] = &message.queries[..] else {
        return false;
    };
    // `Name`'s equality ignores case, as DNS names do.
    message.message_type == MessageType::Response
        && message.id == id
        && asked.query_type() == question.query_type()
        && asked.query_class() == question.query_class()
        && asked.name() == question.name()
}

/// The answer in `message`, for records of the asked type.
fn read_answer(message: &Message, question: &Question) -> Answer {
    Answer {
        rcode: rcode_name(message.response_code),
        records: message
            .answers
            .iter()
            .filter(|r| r.record_type() == question.query_type())
            .map(|r| record_text(&r.data))
            .collect(),
    }
}

/// Asks over UDP; `Ok(None)` when the answer came back truncated.
async fn ask_udp(
    server: SocketAddr,
    query: &[u8],
    id: u16,
    question: &Question,
) -> Result<Option<Message>, String> {
    let local: SocketAddr = if server.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
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
    let mut buffer = vec![0u8; 4096];
    loop {
        let n = socket
            .recv(&mut buffer)
            .await
            .map_err(|e| format!("no answer: {e}"))?;
        // Whatever is not the answer to this query (a late answer to an
        // earlier one, garbage, a spoofing attempt) is passed over.
        let Ok(message) = Message::from_vec(&buffer[..n]) else {
            continue;
        };
        if !answers(&message, id, question) {
            continue;
        }
        return Ok((!message.truncation).then_some(message));
    }
}

/// Asks over TCP (RFC 7766: each message after its two-byte length).
async fn ask_tcp(
    server: SocketAddr,
    query: &[u8],
    id: u16,
    question: &Question,
) -> Result<Message, String> {
    let mut stream = TcpStream::connect(server)
        .await
        .map_err(|e| format!("connecting to {server} over TCP failed: {e}"))?;
    let mut framed = Vec::with_capacity(query.len() + 2);
    framed.extend_from_slice(&(query.len() as u16).to_be_bytes());
    framed.extend_from_slice(query);
    stream
        .write_all(&framed)
        .await
        .map_err(|e| format!("sending the query over TCP failed: {e}"))?;
    loop {
        let length = stream
            .read_u16()
            .await
            .map_err(|e| format!("no answer over TCP: {e}"))?;
        let mut buffer = vec![0u8; usize::from(length)];
        stream
            .read_exact(&mut buffer)
            .await
            .map_err(|e| format!("the answer over TCP was cut: {e}"))?;
        let message = Message::from_vec(&buffer)
            .map_err(|e| DnsError::Malformed(e.to_string()).to_string())?;
        if answers(&message, id, question) {
            return Ok(message);
        }
    }
}

/// One exchange with the server: UDP, then TCP if the answer was cut.
pub async fn exchange(server: SocketAddr, question: &Question) -> Result<(Answer, bool), String> {
    let id: u16 = rand::random();
    let query = encode_query(id, question);
    let (message, over_tcp) = match ask_udp(server, &query, id, question).await? {
        Some(message) => (message, false),
        None => (ask_tcp(server, &query, id, question).await?, true),
    };
    Ok((read_answer(&message, question), over_tcp))
}

pub struct DnsProber;

impl KindProber for DnsProber {
    type Target = DnsTarget;

    fn new() -> Result<Self, BuildError> {
        Ok(DnsProber)
    }

    async fn observe(&self, target: &DnsTarget, _: &ProbeSpec) -> Observed {
        let (answer, over_tcp) = match exchange(target.server, &target.question).await {
            Ok(exchanged) => exchanged,
            Err(e) => return Observed::failed(e),
        };
        let first = answer.records.first().cloned();
        let mut summary = match &first {
            Some(first) => format!("{} {first}", answer.rcode),
            None => answer.rcode.clone(),
        };
        if over_tcp {
            summary.push_str(" (over TCP: the UDP answer was truncated)");
        }
        Observed {
            observation: Observation {
                connected: true,
                ip: first
                    .clone()
                    .filter(|r| r.parse::<std::net::IpAddr>().is_ok()),
                body: first.map(String::into_bytes),
                dns_rcode: Some(answer.rcode),
                ..Observation::default()
            },
            error: None,
            summary,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{AnyProber, Prober};
    use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX, NS, SRV, TXT};
    use hickory_proto::rr::Record;
    use std::net::{Ipv4Addr, Ipv6Addr};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// The records a test server knows, by name and type.
    fn zone(name: &Name, kind: RecordType) -> (ResponseCode, Vec<RData>) {
        let n = |s: &str| Name::from_ascii(s).unwrap();
        let name = name.to_utf8().to_ascii_lowercase();
        let records = match (name.as_str(), kind) {
            ("www.example.test.", RecordType::A) => vec![
                RData::A(A(Ipv4Addr::new(10, 1, 2, 3))),
                RData::A(A(Ipv4Addr::new(10, 1, 2, 4))),
            ],
            ("www.example.test.", RecordType::AAAA) => {
                vec![RData::AAAA(AAAA(Ipv6Addr::LOCALHOST))]
            }
            ("alias.example.test.", RecordType::CNAME) => {
                vec![RData::CNAME(CNAME(n("www.example.test.")))]
            }
            ("example.test.", RecordType::MX) => {
                vec![RData::MX(MX::new(10, n("mail.example.test.")))]
            }
            ("example.test.", RecordType::NS) => vec![RData::NS(NS(n("ns1.example.test.")))],
            ("example.test.", RecordType::TXT) => {
                vec![RData::TXT(TXT::new(vec!["hello".into(), " world".into()]))]
            }
            ("_sip._tcp.example.test.", RecordType::SRV) => {
                vec![RData::SRV(SRV::new(1, 5, 5060, n("sip.example.test.")))]
            }
            ("big.example.test.", RecordType::A) => (0..100u8)
                .map(|i| RData::A(A(Ipv4Addr::new(10, 9, 0, i))))
                .collect(),
            ("refused.example.test.", _) => return (ResponseCode::Refused, vec![]),
            (name, _) if name.ends_with("example.test.") => vec![],
            _ => return (ResponseCode::NXDomain, vec![]),
        };
        (ResponseCode::NoError, records)
    }

    /// How a test server misbehaves.
    #[derive(Clone, Copy, Default)]
    struct Quirks {
        /// First send an answer to another question, with the right id.
        wrong_question_first: bool,
        /// First send an answer with another id.
        wrong_id_first: bool,
        /// Answers that don't fit in 512 bytes go out truncated over UDP.
        truncate_over_udp: bool,
    }

    fn reply(query: &Message, over_udp: bool, quirks: Quirks) -> Message {
        let question = query.queries[0].clone();
        let (rcode, records) = zone(question.name(), question.query_type());
        let mut reply = Message::new(query.id, MessageType::Response, OpCode::Query);
        reply.metadata.recursion_desired = true;
        reply.metadata.recursion_available = true;
        reply.metadata.response_code = rcode;
        reply.add_query(question.clone());
        let answers: Vec<Record> = records
            .into_iter()
            .map(|data| Record::from_rdata(question.name().clone(), 60, data))
            .collect();
        let size: usize = answers.len() * 16;
        if over_udp && quirks.truncate_over_udp && size > 512 {
            reply.metadata.truncation = true;
        } else {
            reply.add_answers(answers);
        }
        reply
    }

    /// A DNS server on UDP and TCP at one port; counts TCP queries.
    async fn server(quirks: Quirks) -> (SocketAddr, Arc<AtomicUsize>) {
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = udp.local_addr().unwrap();
        let tcp = tokio::net::TcpListener::bind(addr).await.unwrap();
        let tcp_queries = Arc::new(AtomicUsize::new(0));
        tokio::spawn(async move {
            let mut buffer = [0u8; 512];
            loop {
                let (n, peer) = udp.recv_from(&mut buffer).await.unwrap();
                let query = Message::from_vec(&buffer[..n]).unwrap();
                if quirks.wrong_id_first {
                    let mut other = reply(&query, true, quirks);
                    other.metadata.id = query.id.wrapping_add(1);
                    udp.send_to(&other.to_vec().unwrap(), peer).await.unwrap();
                }
                if quirks.wrong_question_first {
                    let mut spoofed = query.clone();
                    spoofed.queries[0].set_name(Name::from_ascii("evil.test.").unwrap());
                    let mut other = reply(&spoofed, true, quirks);
                    other.answers.push(Record::from_rdata(
                        query.queries[0].name().clone(),
                        60,
                        RData::A(A(Ipv4Addr::new(6, 6, 6, 6))),
                    ));
                    udp.send_to(&other.to_vec().unwrap(), peer).await.unwrap();
                }
                let answer = reply(&query, true, quirks);
                udp.send_to(&answer.to_vec().unwrap(), peer).await.unwrap();
            }
        });
        let counter = tcp_queries.clone();
        tokio::spawn(async move {
            loop {
                let (mut stream, _) = tcp.accept().await.unwrap();
                counter.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(async move {
                    let length = stream.read_u16().await.unwrap();
                    let mut buffer = vec![0u8; usize::from(length)];
                    stream.read_exact(&mut buffer).await.unwrap();
                    let query = Message::from_vec(&buffer).unwrap();
                    let answer = reply(&query, false, quirks).to_vec().unwrap();
                    stream
                        .write_all(&(answer.len() as u16).to_be_bytes())
                        .await
                        .unwrap();
                    stream.write_all(&answer).await.unwrap();
                });
            }
        });
        (addr, tcp_queries)
    }

    fn service(server: SocketAddr, name: &str, kind: &str, conditions: &str) -> ProbeSpec {
        crate::config::test_service(&format!(
            "    url: 'dns://{server}'\n    timeout: 1s\n    dns: {{query_name: {name}, query_type: {kind}}}\n{conditions}"
        )).probe
    }

    async fn probe(spec: &ProbeSpec) -> crate::event::ProbeResult {
        AnyProber::new().unwrap().probe(spec).await
    }

    #[tokio::test]
    async fn answers_reach_conditions_for_every_record_type() {
        let (server, _) = server(Quirks::default()).await;
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
                "NS",
                "[BODY] == ns1.example.test",
                "NOERROR ns1.example.test",
            ),
            (
                "example.test",
                "TXT",
                "[BODY] == \"hello world\"",
                "NOERROR hello world",
            ),
            (
                "_sip._tcp.example.test",
                "SRV",
                "[BODY] == \"1 5 5060 sip.example.test\"",
                "NOERROR 1 5 5060 sip.example.test",
            ),
        ];
        for (name, kind, condition, message) in table {
            let conditions = format!("    conditions: ['[DNS_RCODE] == NOERROR', '{condition}']\n");
            let result = probe(&service(server, name, kind, &conditions)).await;
            assert!(result.success, "{name} {kind}: {}", result.message);
            assert_eq!(result.message, message);
        }
    }

    #[tokio::test]
    async fn every_rcode_is_visible_by_name() {
        let (server, _) = server(Quirks::default()).await;
        let result = probe(&service(server, "nope.invalid", "A", "")).await;
        assert!(!result.success);
        assert_eq!(result.message, "[DNS_RCODE] == NOERROR (got \"NXDOMAIN\")");
        let expected = service(
            server,
            "nope.invalid",
            "A",
            "    conditions: ['[DNS_RCODE] == NXDOMAIN']\n",
        );
        assert!(probe(&expected).await.success);
        let refused = probe(&service(server, "refused.example.test", "A", "")).await;
        assert_eq!(refused.message, "[DNS_RCODE] == NOERROR (got \"REFUSED\")");
        for (code, name) in [
            (ResponseCode::ServFail, "SERVFAIL"),
            (ResponseCode::NotAuth, "NOTAUTH"),
            (ResponseCode::BADCOOKIE, "BADCOOKIE"),
            (ResponseCode::Unknown(3_000), "RCODE3000"),
        ] {
            assert_eq!(rcode_name(code), name);
        }
    }

    #[tokio::test]
    async fn a_truncated_answer_is_asked_again_over_tcp() {
        let quirks = Quirks {
            truncate_over_udp: true,
            ..Quirks::default()
        };
        let (server, tcp_queries) = server(quirks).await;
        let spec = service(
            server,
            "big.example.test",
            "A",
            "    conditions: ['[BODY] == 10.9.0.0']\n",
        );
        let result = probe(&spec).await;
        assert!(result.success, "{}", result.message);
        assert_eq!(
            result.message,
            "NOERROR 10.9.0.0 (over TCP: the UDP answer was truncated)"
        );
        assert_eq!(tcp_queries.load(Ordering::Relaxed), 1);
        // An answer that fits stays on UDP.
        let small = probe(&service(server, "www.example.test", "A", "")).await;
        assert_eq!(small.message, "NOERROR 10.1.2.3");
        assert_eq!(tcp_queries.load(Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn answers_to_another_question_or_id_are_passed_over() {
        for quirks in [
            Quirks {
                wrong_question_first: true,
                ..Quirks::default()
            },
            Quirks {
                wrong_id_first: true,
                ..Quirks::default()
            },
        ] {
            let (server, _) = server(quirks).await;
            let result = probe(&service(
                server,
                "www.example.test",
                "A",
                "    conditions: ['[BODY] == 10.1.2.3']\n",
            ))
            .await;
            assert!(result.success, "{}", result.message);
            assert_eq!(result.message, "NOERROR 10.1.2.3");
        }
    }

    #[tokio::test]
    async fn a_silent_server_times_out() {
        let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let result = probe(&service(
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
    fn query_ids_are_random_and_queries_well_formed() {
        let question = Question::query(valid_name("example.com").unwrap(), RecordType::AAAA);
        let query = encode_query(0x1234, &question);
        assert_eq!(
            query,
            b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x1c\x00\x01"
        );
        let ids: std::collections::HashSet<u16> = (0..64).map(|_| rand::random()).collect();
        assert!(ids.len() > 60, "{ids:?}");
        assert!(valid_name("bad name").is_none());
        assert!(valid_name("").is_none());
        assert!(valid_name("a..b").is_none());
    }
}
