//! TLS probes: `tls://host[:port]` completes a handshake and reads the
//! leaf certificate's expiry into `[CERTIFICATE_EXPIRATION]`. HTTPS probes
//! fill the same placeholder through [`not_after`].

use super::{
    BuildError, Endpoint, FieldError, Fields, Host, Kind, KindProber, Observed, ProbeSpec,
};
use crate::condition::Observation;
use chrono::{DateTime, Utc};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use std::sync::Arc;
use std::time::Duration;
use tokio_rustls::TlsConnector;

#[derive(Clone, Debug, PartialEq)]
pub struct TlsTarget {
    pub endpoint: Endpoint,
    /// Check the chain and name (`verify_tls`, default true).
    pub verify: bool,
}

impl Kind for TlsTarget {
    const SCHEMES: &'static [&'static str] = &["tls"];
    const FIELDS: &'static [&'static str] = &["verify_tls"];
    const DEFAULT_CONDITIONS: &'static [&'static str] =
        &["[CONNECTED] == true", "[CERTIFICATE_EXPIRATION] > 7d"];

    fn parse(fields: &Fields<'_>) -> Result<Self, FieldError> {
        let endpoint = Endpoint::of(fields.url, Some(443)).ok_or_else(|| {
            FieldError::new("url", "a tls:// URL needs a host: tls://host[:port]")
        })?;
        Ok(TlsTarget {
            endpoint,
            verify: fields.verify_tls.unwrap_or(true),
        })
    }
}

pub struct TlsProber {
    verifying: TlsConnector,
    trusting: TlsConnector,
}

impl KindProber for TlsProber {
    type Target = TlsTarget;

    fn new() -> Result<Self, BuildError> {
        Ok(TlsProber {
            verifying: TlsConnector::from(client_config(true)),
            trusting: TlsConnector::from(client_config(false)),
        })
    }

    async fn observe(&self, target: &TlsTarget, _: &ProbeSpec) -> Observed {
        let connector = if target.verify {
            &self.verifying
        } else {
            &self.trusting
        };
        match handshake(connector, &target.endpoint).await {
            Err(e) => Observed::failed(e),
            Ok(expires) => Observed {
                observation: Observation {
                    connected: true,
                    certificate_expiration: expires.map(time_left),
                    ..Observation::default()
                },
                error: None,
                summary: match expires {
                    Some(at) => format!(
                        "certificate valid until {} ({} days)",
                        at.format("%Y-%m-%d %H:%M UTC"),
                        time_left(at).as_secs() / 86_400
                    ),
                    None => "handshake completed".into(),
                },
            },
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

/// The `notAfter` of an X.509 certificate in DER.
pub fn not_after(der: &[u8]) -> Option<DateTime<Utc>> {
    let (_, certificate) = x509_parser::parse_x509_certificate(der).ok()?;
    DateTime::from_timestamp(certificate.validity().not_after.timestamp(), 0)
}

/// Time left before `not_after`; zero once it has passed.
pub fn time_left(not_after: DateTime<Utc>) -> Duration {
    (not_after - Utc::now()).to_std().unwrap_or(Duration::ZERO)
}

async fn handshake(
    connector: &TlsConnector,
    endpoint: &Endpoint,
) -> Result<Option<DateTime<Utc>>, String> {
    let name = match &endpoint.host {
        Host::Ip(ip) => ServerName::IpAddress((*ip).into()),
        Host::Name(name) => ServerName::try_from(name.clone())
            .map_err(|_| format!("{name:?} is not a valid server name"))?,
    };
    let tcp = endpoint
        .connect()
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

/// The leaf certificate's expiry at `endpoint`, after a handshake that
/// checks the chain when `verify` (for diagnostics).
pub async fn certificate(
    endpoint: &Endpoint,
    verify: bool,
    timeout: Duration,
) -> Result<Option<DateTime<Utc>>, String> {
    let connector = TlsConnector::from(client_config(verify));
    match tokio::time::timeout(timeout, handshake(&connector, endpoint)).await {
        Ok(outcome) => outcome,
        Err(_) => Err(super::timed_out(timeout)),
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
    use crate::probe::{AnyProber, Prober};
    use chrono::TimeZone;

    fn service(url: &str, extra: &str) -> ProbeSpec {
        crate::config::test_service(&format!("    url: '{url}'\n    timeout: 2s\n{extra}")).probe
    }

    #[tokio::test]
    async fn reads_the_expiry_of_the_leaf_certificate() {
        let soon = testing::server(10).await;
        let url = format!("tls://localhost:{}", soon.port());
        let prober = AnyProber::new().unwrap();
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
        let result = AnyProber::new()
            .unwrap()
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
        // Every prefix of a certificate is refused, none read wrongly.
        let der = rcgen::CertificateParams::new(vec!["x".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap()
            .der()
            .to_vec();
        for end in 0..der.len() {
            assert_eq!(not_after(&der[..end]), None, "cut at {end}");
        }
        assert_eq!(not_after(b""), None);
    }
}
