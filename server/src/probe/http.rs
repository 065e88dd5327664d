//! HTTP(S) probes with reqwest.

use super::{BuildError, Endpoint, FieldError, Fields, Kind, KindProber, Observed, ProbeSpec};
use crate::condition::Observation;
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

/// Bodies are read up to this many bytes, and only when a condition looks.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// An HTTP target: the request to send, and how to treat what comes back.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpTarget {
    pub url: url::Url,
    pub endpoint: Endpoint,
    pub method: reqwest::Method,
    pub headers: Headers,
    pub body: Option<String>,
    redirects: Redirects,
    /// Check the certificate chain and name (`true`), or accept any
    /// certificate (`false`; its expiry is still read).
    pub verify_tls: bool,
    /// Follow a redirect from a public address to a private, loopback or
    /// link-local one (`redirect_to_private`); refused by default, so a
    /// monitored third party can't steer Hale at internal addresses.
    pub redirect_to_private: bool,
}

impl Kind for HttpTarget {
    const SCHEMES: &'static [&'static str] = &["http", "https"];
    const FIELDS: &'static [&'static str] = &[
        "method",
        "headers",
        "body",
        "follow_redirects",
        "verify_tls",
        "redirect_to_private",
    ];
    const DEFAULT_CONDITIONS: &'static [&'static str] = &["[STATUS] < 400"];

    fn parse(fields: &Fields<'_>) -> Result<Self, FieldError> {
        let endpoint = Endpoint::of(fields.url, None)
            .ok_or_else(|| FieldError::new("url", "an http(s):// URL needs a host"))?;
        let headers = fields.headers.cloned().unwrap_or_default();
        Ok(HttpTarget {
            url: fields.url.clone(),
            endpoint,
            method: fields.method.map_or(reqwest::Method::GET, |m| m.0.clone()),
            redirects: Redirects::of(fields.follow_redirects.unwrap_or(true), &headers),
            headers,
            body: fields.body.map(str::to_string),
            verify_tls: fields.verify_tls.unwrap_or(true),
            redirect_to_private: fields.redirect_to_private.unwrap_or(false),
        })
    }
}

impl HttpTarget {
    /// Whether redirects are followed (`follow_redirects`).
    pub fn follows_redirects(&self) -> bool {
        self.redirects != Redirects::Never
    }
}

/// An HTTP method, checked at load time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Method(pub reqwest::Method);

impl<'de> Deserialize<'de> for Method {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::de::parse_str(deserializer, "an HTTP method", |text| {
            let upper = text.to_ascii_uppercase();
            match upper.as_str() {
                "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS" => {
                    upper.parse().map(Method).map_err(|e| format!("{e}"))
                }
                _ => Err(format!(
                    "unsupported HTTP method {text:?} (expected GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS)"
                )),
            }
        })
    }
}

/// Request headers. They often carry secrets (from `${ENV}`), so their
/// values never appear in `Debug` output, and so never in a log line.
#[derive(Clone, Default, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct Headers(pub BTreeMap<String, String>);

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|k| (k, "<redacted>")))
            .finish()
    }
}

impl Headers {
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter()
    }

    /// The first name that is not a valid header name.
    pub fn invalid_name(&self) -> Option<&str> {
        self.0
            .keys()
            .find(|name| reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err())
            .map(String::as_str)
    }
}

/// How a client treats redirects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Redirects {
    /// `follow_redirects: false`: the redirect is the answer.
    Never,
    /// For services that send their own headers: reqwest drops
    /// `Authorization` and cookies on a cross-host redirect, but would
    /// forward an `X-Api-Key`, so such a redirect is not followed.
    SameOrigin,
    Always,
}

impl Redirects {
    fn of(follow: bool, headers: &Headers) -> Redirects {
        match (follow, !headers.0.is_empty()) {
            (false, _) => Redirects::Never,
            (true, true) => Redirects::SameOrigin,
            (true, false) => Redirects::Always,
        }
    }
}

/// Probes HTTP(S) targets. Certificate checking is a client setting in
/// reqwest, so there is one client (and one connection pool) for each,
/// indexed by `verify_tls`. Redirects are followed here, hop by hop, not by
/// reqwest: each hop's address is known, so a redirect from a public
/// address to a private one can be refused.
pub struct HttpProber {
    clients: [reqwest::Client; 2],
    body_limit: usize,
    /// Whether an address is public (tests stand a loopback address in
    /// for a public one).
    is_public: fn(IpAddr) -> bool,
}

/// Redirects followed at most, as browsers and reqwest do.
const MAX_REDIRECTS: usize = 10;

/// Whether `ip` is reachable from the internet: not loopback, private
/// (RFC 1918, unique local), link-local, shared (CGNAT), unspecified or
/// broadcast. IPv4 mapped into IPv6 is judged as IPv4.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public(IpAddr::V4(v4)),
            None => {
                let first = v6.segments()[0];
                !(v6.is_loopback()
                    || v6.is_unspecified()
                    || (first & 0xfe00) == 0xfc00
                    || (first & 0xffc0) == 0xfe80)
            }
        },
    }
}

fn client(verify_tls: bool) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .user_agent(concat!(
            "Hale/",
            env!("CARGO_PKG_VERSION"),
            " (status monitor)"
        ))
        .redirect(reqwest::redirect::Policy::none())
        .danger_accept_invalid_certs(!verify_tls)
        .tls_info(true)
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
}

impl KindProber for HttpProber {
    type Target = HttpTarget;

    fn new() -> Result<HttpProber, BuildError> {
        let clients = (|| Ok::<_, reqwest::Error>([client(false)?, client(true)?]))().map_err(
            |e: reqwest::Error| BuildError {
                kind: "http",
                message: e.to_string(),
            },
        )?;
        Ok(HttpProber {
            clients,
            body_limit: DEFAULT_BODY_LIMIT,
            is_public,
        })
    }

    async fn observe(&self, target: &HttpTarget, spec: &ProbeSpec) -> Observed {
        let read_body = spec.conditions.iter().any(|c| c.needs_body());
        let answer = match self.fetch(target, spec.timeout, read_body).await {
            Ok(answer) => answer,
            Err(Failure::Http(e)) if e.is_timeout() => {
                return Observed::failed(super::timed_out(spec.timeout))
            }
            Err(Failure::Http(e)) => return Observed::failed(describe(&e)),
            Err(Failure::Refused(reason)) => return Observed::failed(reason),
        };
        // A cross-host redirect the client declined to follow (see
        // `Redirects::SameOrigin`) is a failure with the reason, not a 3xx
        // that `[STATUS] < 400` would pass.
        let declined =
            target.redirects == Redirects::SameOrigin && (300..400).contains(&answer.status);
        let error = declined.then(|| {
            format!(
                "redirected to another host ({}); not followed, as it would carry this service's headers there",
                answer.location.as_deref().unwrap_or("no Location")
            )
        });
        Observed {
            observation: Observation {
                status: Some(answer.status),
                body: answer.body,
                connected: true,
                ip: answer.ip,
                certificate_expiration: answer.certificate_expires.map(super::tls::time_left),
                ..Observation::default()
            },
            error,
            summary: format!("HTTP {}", answer.status),
        }
    }
}

struct Answer {
    status: u16,
    /// Where a redirect that was not followed pointed.
    location: Option<String>,
    ip: Option<String>,
    body: Option<Vec<u8>>,
    certificate_expires: Option<chrono::DateTime<chrono::Utc>>,
}

/// Why a fetch gave no answer.
enum Failure {
    Http(reqwest::Error),
    /// A redirect Hale would not follow, and why.
    Refused(String),
}

impl From<reqwest::Error> for Failure {
    fn from(error: reqwest::Error) -> Failure {
        Failure::Http(error)
    }
}

impl HttpProber {
    async fn fetch(
        &self,
        target: &HttpTarget,
        timeout: Duration,
        read_body: bool,
    ) -> Result<Answer, Failure> {
        let client = &self.clients[usize::from(target.verify_tls)];
        let deadline = tokio::time::Instant::now() + timeout;
        let mut url = target.url.clone();
        let mut method = target.method.clone();
        let mut body = target.body.clone();
        // Whether the first hop's address was public, once known.
        let mut from_public = None;
        let mut hops = 0;
        let mut response = loop {
            // reqwest's own timeout covers each request; the probe's frame
            // also bounds a body that trickles in forever.
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let mut request = client.request(method.clone(), url.clone()).timeout(left);
            for (name, value) in target.headers.iter() {
                request = request.header(name, value);
            }
            if let Some(body) = &body {
                request = request.body(body.clone());
            }
            let response = request.send().await?;
            // The name was public when checked, but a resolver may answer
            // differently the next time (DNS rebinding): where the hop
            // really went decides, and its answer is not used.
            if from_public == Some(true) && !target.redirect_to_private {
                if let Some(addr) = response.remote_addr().filter(|a| !(self.is_public)(a.ip())) {
                    return Err(Failure::Refused(format!(
                        "redirected from a public address to a private one ({url} answered from {}); \
                         not followed (redirect_to_private: true allows it)",
                        addr.ip()
                    )));
                }
            }
            let status = response.status();
            let next = status
                .is_redirection()
                .then(|| response.headers().get(reqwest::header::LOCATION))
                .flatten()
                .and_then(|l| l.to_str().ok())
                .and_then(|l| url.join(l).ok());
            let Some(next) = next.filter(|_| target.redirects != Redirects::Never) else {
                break response;
            };
            // Headers of the service's own never go to another origin: the
            // redirect is the answer (`observe` says why).
            if target.redirects == Redirects::SameOrigin && next.origin() != url.origin() {
                break response;
            }
            hops += 1;
            if hops > MAX_REDIRECTS {
                return Err(Failure::Refused("too many redirects".into()));
            }
            let public = *from_public.get_or_insert_with(|| {
                response
                    .remote_addr()
                    .is_some_and(|a| (self.is_public)(a.ip()))
            });
            if public && !target.redirect_to_private {
                if let Some(private) = self.private_address(&next).await {
                    return Err(Failure::Refused(format!(
                        "redirected from a public address to a private one ({next} is {private}); \
                         not followed (redirect_to_private: true allows it)"
                    )));
                }
            }
            // As browsers do: 303, and 301/302 after a POST, become a GET
            // without a body; 307 and 308 repeat the request.
            let code = status.as_u16();
            if code == 303 && method != reqwest::Method::HEAD
                || (matches!(code, 301 | 302) && method == reqwest::Method::POST)
            {
                method = reqwest::Method::GET;
                body = None;
            }
            // The hop's body is left unread: its connection is not reused.
            drop(response);
            url = next;
        };
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .map(str::to_string);
        let ip = response.remote_addr().map(|a| a.ip().to_string());
        let certificate_expires = response
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .and_then(|info| info.peer_certificate())
            .and_then(super::tls::not_after);
        // Read the body to its end (up to the cap) even when no condition
        // looks at it: hyper pools a connection only once its body is
        // done, and a new connection per probe costs far more than a read.
        let mut kept = Vec::new();
        let mut read = 0;
        while let Some(chunk) = response.chunk().await? {
            read += chunk.len();
            if read_body {
                let room = self.body_limit - kept.len();
                kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            if read >= self.body_limit {
                break;
            }
        }
        Ok(Answer {
            status,
            location,
            ip,
            body: read_body.then_some(kept),
            certificate_expires,
        })
    }

    /// The first address of `url`'s host that is not public, if any (a
    /// host that does not resolve is left to the request to report).
    async fn private_address(&self, url: &url::Url) -> Option<IpAddr> {
        let port = url.port_or_known_default().unwrap_or(80);
        let addresses: Vec<IpAddr> = match url.host()? {
            url::Host::Ipv4(ip) => vec![IpAddr::V4(ip)],
            url::Host::Ipv6(ip) => vec![IpAddr::V6(ip)],
            url::Host::Domain(name) => tokio::net::lookup_host((name, port))
                .await
                .ok()?
                .map(|a| a.ip())
                .collect(),
        };
        addresses.into_iter().find(|ip| !(self.is_public)(*ip))
    }
}

/// The innermost cause, which is the part people can act on
/// ("connection failed: Connection refused (os error 111)").
pub fn describe(error: &reqwest::Error) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{AnyProber, Prober};
    use axum::http::{header, StatusCode};
    use axum::routing::get;

    async fn target() -> String {
        let app = axum::Router::new()
            .route(
                "/moved",
                get(|| async {
                    (
                        StatusCode::MOVED_PERMANENTLY,
                        [(header::LOCATION, "/broken")],
                    )
                }),
            )
            .route(
                "/broken",
                get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "oops") }),
            )
            .route("/json", get(|| async { r#"{"data":{"status":"UP"}}"# }))
            .route(
                "/echo",
                axum::routing::post(|headers: axum::http::HeaderMap, body: String| async move {
                    let auth = headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string();
                    let agent = headers
                        .get("user-agent")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string();
                    format!(r#"{{"auth":"{auth}","agent":"{agent}","body":"{body}"}}"#)
                }),
            )
            .route("/hang", get(std::future::pending::<&'static str>));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        base
    }

    fn service(base: &str, yaml: &str) -> ProbeSpec {
        crate::config::test_service(&format!(
            "    timeout: 1s\n{}",
            yaml.replace("{base}", base)
        ))
        .probe
    }

    #[tokio::test]
    async fn redirects_are_followed_unless_turned_off() {
        let base = target().await;
        let prober = AnyProber::new().unwrap();
        let followed = prober
            .probe(&service(&base, "    url: '{base}/moved'\n"))
            .await;
        assert_eq!(followed.status_code, Some(500));
        assert!(!followed.success);
        let judged = prober
            .probe(&service(&base, "    url: '{base}/moved'\n    follow_redirects: false\n    conditions: ['[STATUS] == 301']\n"))
            .await;
        assert_eq!(judged.status_code, Some(301));
        assert!(judged.success, "{}", judged.message);
    }

    #[tokio::test]
    async fn custom_headers_never_follow_a_redirect_to_another_host() {
        use std::sync::{Arc, Mutex};
        // B records the X-Api-Key it receives; A redirects to B.
        let seen: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
        let log = seen.clone();
        let other = axum::Router::new().route(
            "/landing",
            get(move |headers: axum::http::HeaderMap| {
                let key = headers
                    .get("x-api-key")
                    .map(|v| v.to_str().unwrap().to_string());
                log.lock().unwrap().push(key);
                async { "landed" }
            }),
        );
        let b = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let b_url = format!("http://{}/landing", b.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(b, other).await.unwrap() });
        let location = b_url.clone();
        let away = axum::Router::new().route(
            "/away",
            get(move || {
                let location = location.clone();
                async move { (StatusCode::FOUND, [(header::LOCATION, location)]) }
            }),
        );
        let a = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let a_base = format!("http://{}", a.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(a, away).await.unwrap() });
        let prober = AnyProber::new().unwrap();

        let with_key = "    url: '{base}/away'\n    headers: {X-Api-Key: '${TOKEN}'}\n";
        let result = prober.probe(&service(&a_base, with_key)).await;
        assert!(!result.success);
        assert_eq!(
            result.message,
            format!("redirected to another host ({b_url}); not followed, as it would carry this service's headers there")
        );
        assert!(
            seen.lock().unwrap().is_empty(),
            "the key never reached the other host"
        );
        // A condition on the connection does not turn it into a success:
        // the probe connected, and then refused to go on.
        let connected = format!("{with_key}    conditions: ['[CONNECTED] == true']\n");
        let result = prober.probe(&service(&a_base, &connected)).await;
        assert!(!result.success, "{}", result.message);
        assert!(result.message.starts_with("redirected to another host"));

        // Without custom headers the redirect is followed as before.
        let plain = prober
            .probe(&service(&a_base, "    url: '{base}/away'\n"))
            .await;
        assert!(plain.success, "{}", plain.message);
        assert_eq!(*seen.lock().unwrap(), vec![None]);

        // Same-origin redirects are still followed with the headers.
        let base = target().await;
        let same = prober
            .probe(&service(
                &base,
                "    url: '{base}/moved'\n    headers: {X-Api-Key: k}\n",
            ))
            .await;
        assert_eq!(same.status_code, Some(500), "{}", same.message);
    }

    #[tokio::test]
    async fn a_redirect_from_a_public_address_to_a_private_one_is_refused_unless_allowed() {
        // 127.0.0.2 stands in for a public address; 127.0.0.1 is private.
        let inside = axum::Router::new().route("/secret", get(|| async { "internal" }));
        let b = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let b_url = format!("http://{}/secret", b.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(b, inside).await.unwrap() });
        let location = b_url.clone();
        let outside = axum::Router::new().route(
            "/go",
            get(move || {
                let location = location.clone();
                async move { (StatusCode::FOUND, [(header::LOCATION, location)]) }
            }),
        );
        let a = tokio::net::TcpListener::bind("127.0.0.2:0").await.unwrap();
        let a_base = format!("http://{}", a.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(a, outside).await.unwrap() });
        let prober = HttpProber {
            is_public: |ip| ip == IpAddr::from([127, 0, 0, 2]),
            ..HttpProber::new().unwrap()
        };
        async fn observe(prober: &HttpProber, base: &str, yaml: &str) -> Observed {
            let spec = service(base, yaml);
            let crate::probe::Target::Http(target) = &spec.target else {
                panic!("not an HTTP target");
            };
            prober.observe(target, &spec).await
        }
        let refused = observe(&prober, &a_base, "    url: '{base}/go'\n").await;
        assert_eq!(
            refused.error.as_deref(),
            Some(
                format!(
                    "redirected from a public address to a private one ({b_url} is 127.0.0.1); not followed (redirect_to_private: true allows it)"
                )
                .as_str()
            )
        );
        let allowed = observe(
            &prober,
            &a_base,
            "    url: '{base}/go'\n    redirect_to_private: true\n",
        )
        .await;
        assert_eq!(allowed.error, None);
        assert_eq!(allowed.observation.status, Some(200));
        // A name checked as public that then resolves to a private
        // address (DNS rebinding): the address connected to decides. The
        // stand-in calls the first hop and the check public, then no more.
        static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let rebinding = HttpProber {
            is_public: |_| CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 2,
            ..HttpProber::new().unwrap()
        };
        let rebound = observe(&rebinding, &a_base, "    url: '{base}/go'\n").await;
        assert_eq!(
            rebound.error.as_deref(),
            Some(
                format!(
                    "redirected from a public address to a private one ({b_url} answered from 127.0.0.1); not followed (redirect_to_private: true allows it)"
                )
                .as_str()
            )
        );
        // A private first hop may redirect to another private one.
        let private = HttpProber::new().unwrap();
        let followed = observe(&private, &a_base, "    url: '{base}/go'\n").await;
        assert_eq!(followed.observation.status, Some(200));
    }

    #[test]
    fn public_and_private_addresses_are_told_apart() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in [
            "8.8.8.8",
            "203.0.113.9",
            "100.128.0.1",
            "2001:4860::8888",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[tokio::test]
    async fn sends_method_headers_and_body_and_reads_json() {
        let base = target().await;
        let prober = AnyProber::new().unwrap();
        let yaml = "    url: '{base}/echo'\n    method: post\n    body: hello\n    headers: {Authorization: 'Bearer ${TOKEN}'}\n    conditions:\n      - '[BODY].auth == Bearer s3cret'\n      - '[BODY].body == hello'\n      - '[BODY].agent == pat(Hale/*)'\n";
        let result = prober.probe(&service(&base, yaml)).await;
        assert!(result.success, "{}", result.message);
        assert_eq!(result.message, "HTTP 200");
        assert!(result.conditions.iter().all(|c| c.success));
    }

    #[tokio::test]
    async fn a_hanging_target_times_out_on_time() {
        let base = target().await;
        let started = std::time::Instant::now();
        let result = AnyProber::new()
            .unwrap()
            .probe(&service(&base, "    url: '{base}/hang'\n"))
            .await;
        assert!(!result.success);
        assert!(
            result.message.starts_with("timed out after 1s"),
            "{}",
            result.message
        );
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    #[tokio::test]
    async fn https_probes_read_the_certificate_and_can_skip_verification() {
        let addr = crate::probe::tls::testing::server(20).await;
        let url = format!("    url: 'https://localhost:{}/'\n", addr.port());
        let prober = AnyProber::new().unwrap();
        let trusting = format!("{url}    verify_tls: false\n    conditions: ['[STATUS] == 200', '[CERTIFICATE_EXPIRATION] > 19d', '[CERTIFICATE_EXPIRATION] < 21d']\n");
        let result = prober.probe(&service("", &trusting)).await;
        assert!(result.success, "{}", result.message);
        // Verifying, the self-signed certificate is refused.
        let verifying = prober.probe(&service("", &url)).await;
        assert!(!verifying.success);
        assert!(
            verifying.message.starts_with("connection failed")
                || verifying.message.starts_with("request failed"),
            "{}",
            verifying.message
        );
    }

    #[tokio::test]
    async fn a_refused_connection_says_so() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let result = AnyProber::new()
            .unwrap()
            .probe(&service("", &format!("    url: 'http://{closed}/'\n")))
            .await;
        assert!(!result.success);
        assert_eq!(result.status_code, None);
        assert!(
            result.message.starts_with("connection failed"),
            "{}",
            result.message
        );
    }
}
