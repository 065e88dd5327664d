//! TLS probes: `tls://host[:port]` completes a handshake and reads the
//! leaf certificate's expiry into `[CERTIFICATE_EXPIRATION]`. HTTPS probes
//! fill the same placeholder through [`not_after`].

use super::{conclude, now, ProbeResult, Prober};
use crate::condition::Observation;
use crate::config::ServiceConfig;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

pub struct TlsProber {
    verifying: TlsConnector,
    trusting: TlsConnector,
}

impl Default for TlsProber {
    fn default() -> Self {
        TlsProber {
            verifying: TlsConnector::from(client_config(true)),
            trusting: TlsConnector::from(client_config(false)),
        }
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A client config that checks certificates against the web's roots, or
/// (for `verify_tls: false`) accepts any certificate but still checks the
/// handshake's signatures.
pub fn client_config(verify: bool) -> Arc<ClientConfig> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions");
    let config = if verify {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider())))
            .with_no_client_auth()
    };
    Arc::new(config)
}

#[derive(Debug)]
struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// One DER element: (tag, contents, rest).
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (length, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let octets = (first & 0x7F) as usize;
        if octets == 0 || octets > 4 || rest.len() < octets {
            return None;
        }
        let length = rest[..octets]
            .iter()
            .fold(0usize, |n, b| (n << 8) | *b as usize);
        (length, &rest[octets..])
    };
    (rest.len() >= length).then(|| (tag, &rest[..length], &rest[length..]))
}

/// The `notAfter` of an X.509 certificate in DER: Certificate →
/// tbsCertificate → [version], serial, signature, issuer, validity.
pub fn not_after(der: &[u8]) -> Option<DateTime<Utc>> {
    let (_, certificate, _) = der_element(der)?;
    let (_, tbs, _) = der_element(certificate)?;
    let mut rest = tbs;
    let (tag, _, after) = der_element(rest)?;
    if tag == 0xA0 {
        rest = after; // explicit version
    }
    for _ in 0..3 {
        rest = der_element(rest)?.2; // serial, signature algorithm, issuer
    }
    let (_, validity, _) = der_element(rest)?;
    let (_, _, after_not_before) = der_element(validity)?;
    let (tag, time, _) = der_element(after_not_before)?;
    let text = std::str::from_utf8(time).ok()?.strip_suffix('Z')?;
    let (year, rest) = match tag {
        0x17 => {
            // UTCTime: YY, 50–99 meaning 19YY (RFC 5280).
            let yy: i32 = text.get(..2)?.parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, text.get(2..)?)
        }
        0x18 => (text.get(..4)?.parse().ok()?, text.get(4..)?),
        _ => return None,
    };
    let field = |range: std::ops::Range<usize>| rest.get(range)?.parse::<u32>().ok();
    let date = NaiveDate::from_ymd_opt(year, field(0..2)?, field(2..4)?)?;
    let time = date.and_hms_opt(field(4..6)?, field(6..8)?, field(8..10)?)?;
    Some(Utc.from_utc_datetime(&time))
}

/// Time left before `not_after`; zero once it has passed.
pub fn time_left(not_after: DateTime<Utc>) -> Duration {
    (not_after - Utc::now()).to_std().unwrap_or(Duration::ZERO)
}

async fn handshake(
    connector: &TlsConnector,
    host: &str,
    port: u16,
) -> Result<Option<DateTime<Utc>>, String> {
    let name = ServerName::try_from(host.to_string())
        .map_err(|_| format!("{host:?} is not a valid server name"))?;
    let tcp = TcpStream::connect((host, port))
        .await
        .map_err(|e| format!("connection failed: {e}"))?;
    let tls = connector
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS handshake failed: {e}"))?;
    let (_, session) = tls.get_ref();
    Ok(session
        .peer_certificates()
        .and_then(|chain| chain.first())
        .and_then(|leaf| not_after(leaf)))
}

/// The leaf certificate's expiry at `host:port`, after a handshake that
/// checks the chain when `verify` (for diagnostics).
pub async fn certificate(
    host: &str,
    port: u16,
    verify: bool,
    timeout: std::time::Duration,
) -> Result<Option<DateTime<Utc>>, String> {
    let connector = TlsConnector::from(client_config(verify));
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match tokio::time::timeout(timeout, handshake(&connector, host, port)).await {
        Ok(outcome) => outcome,
        Err(_) => Err(format!("timed out after {timeout:?}")),
    }
}

#[async_trait]
impl Prober for TlsProber {
    #[tracing::instrument(level = "debug", skip_all, fields(service = %service.name))]
    async fn probe(&self, service: &ServiceConfig) -> ProbeResult {
        let checked_at = now();
        let started = Instant::now();
        let host = service.url.host_str().unwrap_or_default();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = service.url.port().unwrap_or(443);
        let connector = if service.verify_tls {
            &self.verifying
        } else {
            &self.trusting
        };
        let timeout = service.timeout();
        let outcome = match tokio::time::timeout(timeout, handshake(connector, host, port)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(format!("timed out after {timeout:?}")),
        };
        let latency = started.elapsed();
        let (expires, error) = match outcome {
            Ok(expires) => (expires, None),
            Err(e) => (None, Some(e)),
        };
        let observation = Observation {
            response_time: latency,
            connected: error.is_none(),
            certificate_expiration: expires.map(time_left),
            ..Default::default()
        };
        conclude(
            service,
            checked_at,
            latency,
            None,
            &observation,
            error,
            || match expires {
                Some(at) => format!(
                    "certificate valid until {} ({} days)",
                    at.format("%Y-%m-%d %H:%M UTC"),
                    time_left(at).as_secs() / 86_400
                ),
                None => "handshake completed".into(),
            },
        )
    }
}

/// A TLS server with a self-signed certificate for `localhost` that
/// expires on a chosen day; answers any request with a fixed HTTP 200.
#[cfg(test)]
pub mod testing {
    use chrono::{Datelike, Duration as Days, Utc};
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    use std::net::SocketAddr;
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    pub async fn server(expires_in_days: i64) -> SocketAddr {
        let day = Utc::now() + Days::days(expires_in_days);
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(day.year(), day.month() as u8, day.day() as u8);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut request = [0u8; 1024];
                    let _ = tls.read(&mut request).await;
                    let reply =
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";
                    let _ = tls.write_all(reply).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        addr
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(url: &str, extra: &str) -> ServiceConfig {
        crate::probe::test_service(&format!("    url: '{url}'\n    timeout: 2s\n{extra}"))
    }

    #[tokio::test]
    async fn reads_the_expiry_of_the_leaf_certificate() {
        let soon = testing::server(10).await;
        let url = format!("tls://localhost:{}", soon.port());
        let prober = TlsProber::default();
        let ok = prober
            .probe(&service(&url, "    verify_tls: false\n    conditions: ['[CERTIFICATE_EXPIRATION] > 48h', '[CERTIFICATE_EXPIRATION] < 11d']\n"))
            .await;
        assert!(ok.success, "{}", ok.message);
        assert!(
            ok.message.starts_with("certificate valid until"),
            "{}",
            ok.message
        );
        // The default wants a week left; with 3 days it fails and says so.
        let close = testing::server(3).await;
        let result = prober
            .probe(&service(
                &format!("tls://localhost:{}", close.port()),
                "    verify_tls: false\n",
            ))
            .await;
        assert!(!result.success);
        assert!(
            result
                .message
                .starts_with("[CERTIFICATE_EXPIRATION] > 7d (got"),
            "{}",
            result.message
        );
    }

    #[tokio::test]
    async fn an_untrusted_certificate_fails_when_verifying() {
        let addr = testing::server(30).await;
        let result = TlsProber::default()
            .probe(&service(&format!("tls://localhost:{}", addr.port()), ""))
            .await;
        assert!(!result.success);
        assert!(
            result.message.starts_with("TLS handshake failed"),
            "{}",
            result.message
        );
    }

    #[test]
    fn parses_utc_and_generalized_times() {
        let key = rcgen::KeyPair::generate().unwrap();
        for (y, m, d) in [(2031, 7, 4), (2051, 1, 31), (1999, 12, 31)] {
            let mut params = rcgen::CertificateParams::new(vec!["x".to_string()]).unwrap();
            params.not_before = rcgen::date_time_ymd(1990, 1, 1);
            params.not_after = rcgen::date_time_ymd(y, m, d);
            let cert = params.self_signed(&key).unwrap();
            let expected = Utc
                .with_ymd_and_hms(y, m.into(), d.into(), 0, 0, 0)
                .unwrap();
            assert_eq!(not_after(cert.der()), Some(expected), "{y}-{m}-{d}");
        }
        assert_eq!(not_after(b"\x30\x03\x02\x01\x00"), None);
        assert_eq!(not_after(b""), None);
    }
}
