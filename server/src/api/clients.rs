//! Who a request comes from, and how much one client may ask: a rate per
//! client address over every route, and a cap on its live WebSocket
//! connections.
//!
//! A client is its address, or its /64 for IPv6 (one household or host
//! holds a whole /64). Behind a reverse proxy every request comes from the
//! proxy, so proxies named in [`ClientRules::trusted_proxies`] are looked
//! through: the client is the right-most `X-Forwarded-For` address that is
//! not itself a trusted proxy. From any other peer the header is ignored,
//! so a client can't pick its own key.

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::Clock as _;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ipnet::IpNet;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Requests a second one client may make over time, and in a burst: a
/// page load is half a dozen; a loop is held to this.
pub const PER_SECOND: u32 = 20;
pub const BURST: u32 = 200;
/// Live pages one client may hold open at once.
pub const WEBSOCKETS_PER_CLIENT: usize = 64;
/// How often addresses whose allowance is whole again are forgotten.
const FORGET_EVERY: Duration = Duration::from_secs(60);

#[derive(Clone, Debug)]
pub struct ClientRules {
    /// Requests a second per client; 0 turns the limit off.
    pub per_second: u32,
    pub burst: u32,
    /// Open WebSockets per client; 0 is no cap.
    pub websockets: usize,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
}

impl Default for ClientRules {
    fn default() -> ClientRules {
        ClientRules {
            per_second: PER_SECOND,
            burst: BURST,
            websockets: WEBSOCKETS_PER_CLIENT,
            trusted_proxies: Vec::new(),
        }
    }
}

/// The rules, the rate limiter and the open WebSockets per client.
#[derive(Clone)]
pub struct Clients {
    rules: Arc<ClientRules>,
    limiter: Option<Arc<DefaultKeyedRateLimiter<IpAddr>>>,
    websockets: Arc<Mutex<HashMap<IpAddr, usize>>>,
    /// Requests refused over a client's rate, and live connections over
    /// its cap, for `/metrics`.
    pub refused: Arc<Refused>,
}

#[derive(Default, Debug)]
pub struct Refused {
    pub requests: AtomicU64,
    pub websockets: AtomicU64,
}

impl Clients {
    pub fn new(rules: ClientRules) -> Clients {
        let limiter = NonZeroU32::new(rules.per_second).map(|rate| {
            let burst = NonZeroU32::new(rules.burst).unwrap_or(rate);
            Arc::new(RateLimiter::keyed(
                Quota::per_second(rate).allow_burst(burst),
            ))
        });
        Clients {
            rules: Arc::new(rules),
            limiter,
            websockets: Arc::default(),
            refused: Arc::default(),
        }
    }

    /// Forgets, every minute, the clients whose allowance is whole again,
    /// so addresses seen once don't add up; ends with the returned task.
    pub fn spawn_housekeeping(&self) -> Option<tokio::task::JoinHandle<()>> {
        let limiter = self.limiter.clone()?;
        Some(tokio::spawn(async move {
            let mut ticker = tokio::time::interval(FORGET_EVERY);
            loop {
                ticker.tick().await;
                limiter.retain_recent();
                limiter.shrink_to_fit();
            }
        }))
    }

    /// The client a request comes from: its peer, or, from a trusted
    /// proxy, the right-most forwarded address that is not one.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let trusted = |ip: &IpAddr| {
            self.rules
                .trusted_proxies
                .iter()
                .any(|net| net.contains(ip))
        };
        if !trusted(&peer) {
            return key(peer);
        }
        let forwarded: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|a| a.trim().parse().ok())
            .collect();
        key(forwarded
            .into_iter()
            .rev()
            .find(|ip| !trusted(ip))
            .unwrap_or(peer))
    }

    /// Takes a live connection for `client`, or says the cap is reached.
    pub fn open_websocket(&self, client: IpAddr) -> Option<WebSocketSlot> {
        let mut open = self.websockets.lock().expect("websocket count lock");
        let count = open.entry(client).or_default();
        if self.rules.websockets > 0 && *count >= self.rules.websockets {
            self.refused.websockets.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        *count += 1;
        Some(WebSocketSlot {
            client,
            websockets: self.websockets.clone(),
        })
    }

    pub fn rules(&self) -> &ClientRules {
        &self.rules
    }
}

/// One client's live connection, counted until dropped.
pub struct WebSocketSlot {
    client: IpAddr,
    websockets: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for WebSocketSlot {
    fn drop(&mut self) {
        let mut open = self.websockets.lock().expect("websocket count lock");
        if let Some(count) = open.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.client);
            }
        }
    }
}

/// IPv4 as it is (and IPv4 mapped into IPv6 as IPv4); IPv6 by its /64.
fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & (!0u128 << 64))),
        },
        v4 => v4,
    }
}

/// A request's client, told once by [`rate_limit`] for the handlers
/// after it.
#[derive(Clone, Copy, Debug)]
struct Client(IpAddr);

/// The client of a request, as [`Clients::client`] tells it (read from
/// [`rate_limit`]'s note when it ran); `None` without a peer address (a
/// router called in a test).
pub fn client_of(
    clients: &Clients,
    extensions: &axum::http::Extensions,
    headers: &HeaderMap,
) -> Option<IpAddr> {
    if let Some(Client(client)) = extensions.get::<Client>() {
        return Some(*client);
    }
    let ConnectInfo(peer) = extensions.get::<ConnectInfo<SocketAddr>>()?;
    Some(clients.client(peer.ip(), headers))
}

/// The per-client rate over every route: past it, 429 with Retry-After.
pub async fn rate_limit(
    State(clients): State<Clients>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(client) = client_of(&clients, request.extensions(), request.headers()) else {
        return next.run(request).await;
    };
    request.extensions_mut().insert(Client(client));
    let Some(limiter) = &clients.limiter else {
        return next.run(request).await;
    };
    match limiter.check_key(&client) {
        Ok(()) => next.run(request).await,
        Err(not_until) => {
            clients.refused.requests.fetch_add(1, Ordering::Relaxed);
            let wait = not_until.wait_time_from(limiter.clock().now());
            super::ApiError::TooMany {
                message: format!(
                    "too many requests from {client}; at most {} a second (a burst of {})",
                    clients.rules.per_second, clients.rules.burst
                ),
                retry_after: wait,
            }
            .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn rules(trusted: &[&str]) -> Clients {
        Clients::new(ClientRules {
            trusted_proxies: trusted.iter().map(|t| t.parse().unwrap()).collect(),
            websockets: 2,
            ..ClientRules::default()
        })
    }

    fn forwarded(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn forwarded_addresses_count_only_from_a_trusted_proxy() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let none = rules(&[]);
        // A client naming its own address is not believed.
        assert_eq!(
            none.client(ip("203.0.113.9"), &forwarded("198.51.100.1")),
            ip("203.0.113.9")
        );
        let proxied = rules(&["10.0.0.0/8", "127.0.0.1/32"]);
        // Behind the proxy: the right-most address the proxy did not add.
        assert_eq!(
            proxied.client(
                ip("10.1.2.3"),
                &forwarded("198.51.100.1, 203.0.113.7, 10.9.9.9")
            ),
            ip("203.0.113.7")
        );
        // A proxy that forwarded nothing is the client.
        assert_eq!(
            proxied.client(ip("127.0.0.1"), &HeaderMap::new()),
            ip("127.0.0.1")
        );
        // IPv6 clients are their /64.
        assert_eq!(
            none.client(ip("2001:db8:1:2:aaaa::1"), &HeaderMap::new()),
            ip("2001:db8:1:2::")
        );
    }

    #[test]
    fn a_client_holds_at_most_its_websockets_and_gets_them_back() {
        let clients = rules(&[]);
        let a = "203.0.113.9".parse().unwrap();
        let b = "203.0.113.10".parse().unwrap();
        let first = clients.open_websocket(a).unwrap();
        let _second = clients.open_websocket(a).unwrap();
        assert!(clients.open_websocket(a).is_none());
        assert!(
            clients.open_websocket(b).is_some(),
            "another client has its own"
        );
        drop(first);
        assert!(clients.open_websocket(a).is_some());
    }
}
