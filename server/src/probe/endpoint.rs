//! A host and port taken from a target URL once, at load: an IP address
//! (IPv6 without its URL brackets) or a name to resolve when probing.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use tokio::net::TcpStream;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Host {
    Ip(IpAddr),
    Name(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub host: Host,
    pub port: u16,
}

impl Host {
    /// The URL's host, if it has one.
    pub fn of(url: &url::Url) -> Option<Host> {
        match url.host()? {
            // Schemes the URL standard doesn't know (`tcp:`, `dns:`) keep
            // an IPv4 address as text.
            url::Host::Domain(name) => match name.parse::<IpAddr>() {
                Ok(ip) => Some(Host::Ip(ip)),
                Err(_) if name.is_empty() => None,
                Err(_) => Some(Host::Name(name.to_string())),
            },
            url::Host::Ipv4(ip) => Some(Host::Ip(ip.into())),
            url::Host::Ipv6(ip) => Some(Host::Ip(ip.into())),
        }
    }

    /// The host's addresses: itself, or what the system resolver says.
    pub async fn resolve(&self) -> Result<Vec<IpAddr>, String> {
        match self {
            Host::Ip(ip) => Ok(vec![*ip]),
            Host::Name(name) => {
                let addresses: Vec<IpAddr> = tokio::net::lookup_host((name.as_str(), 0))
                    .await
                    .map_err(|e| format!("resolving {name} failed: {e}"))?
                    .map(|a| a.ip())
                    .collect();
                if addresses.is_empty() {
                    return Err(format!("{name} has no address"));
                }
                Ok(addresses)
            }
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Ip(ip) => write!(f, "{ip}"),
            Host::Name(name) => f.write_str(name),
        }
    }
}

impl Endpoint {
    /// The URL's host and port (`default_port` when it names none, else
    /// the scheme's known port).
    pub fn of(url: &url::Url, default_port: Option<u16>) -> Option<Endpoint> {
        Some(Endpoint {
            host: Host::of(url)?,
            port: url
                .port()
                .or(default_port)
                .or(url.port_or_known_default())?,
        })
    }

    pub async fn connect(&self) -> std::io::Result<TcpStream> {
        match &self.host {
            Host::Ip(ip) => TcpStream::connect(SocketAddr::new(*ip, self.port)).await,
            Host::Name(name) => TcpStream::connect((name.as_str(), self.port)).await,
        }
    }
}

/// `host:port`, with IPv6 addresses in brackets.
impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.host {
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]:{}", self.port),
            _ => write!(f, "{}:{}", self.host, self.port),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_hosts_and_ports_from_urls_once() {
        let table = [
            ("tcp://127.0.0.1:5432", None, Some("127.0.0.1:5432")),
            ("tcp://[::1]:5432", None, Some("[::1]:5432")),
            ("https://example.org/x", None, Some("example.org:443")),
            ("tls://example.org", Some(443), Some("example.org:443")),
            (
                "tls://[2001:db8::1]:8443",
                Some(443),
                Some("[2001:db8::1]:8443"),
            ),
            ("tcp://db.internal", None, None),
        ];
        for (url, default, expected) in table {
            let url = url::Url::parse(url).unwrap();
            let endpoint = Endpoint::of(&url, default).map(|e| e.to_string());
            assert_eq!(endpoint.as_deref(), expected, "{url}");
        }
        let v6 = Endpoint::of(&url::Url::parse("tcp://[::1]:1").unwrap(), None).unwrap();
        assert_eq!(v6.host, Host::Ip("::1".parse().unwrap()));
        let v4 = Endpoint::of(&url::Url::parse("tcp://10.0.0.1:1").unwrap(), None).unwrap();
        assert_eq!(v4.host, Host::Ip("10.0.0.1".parse().unwrap()));
    }
}
