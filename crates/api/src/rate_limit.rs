//! Rate limits per client IP (`docs/api.md` C18): a fixed window of `limit` requests per `period`, one
//! for `/1/runs*` and one for everything else (`/health` and `/ready` are not limited).
//! Unauthenticated requests count: the limiter runs before authentication.
//!
//! The client IP is the connection's peer address, unless the peer is a configured trusted
//! proxy: then `X-Forwarded-For` is read from the right, skipping trusted proxies, and the first
//! address that is not one is the client. An IPv6 client is counted by its /64 prefix (one
//! host's interface usually owns a whole /64, so rotating addresses in it buys nothing).
//!
//! Memory and time stay bounded whatever the number of clients: each check drops the windows
//! that expired (oldest first, amortised O(1): every window is queued once when it opens and
//! dropped once), and past [`MAX_CLIENTS`] live windows the oldest are dropped too.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;

use crate::error::ApiError;

/// One limit: at most `requests` per `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Requests allowed in a window.
    pub requests: u32,
    /// The window's length.
    pub period: Duration,
}

/// The rate-limit settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitSettings {
    /// Every endpoint but `/1/runs*`: 200 per 60 s by default.
    pub general: Limit,
    /// `/1/runs*`: 200 per 30 s by default.
    pub runs: Limit,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            general: Limit {
                requests: 200,
                period: Duration::from_secs(60),
            },
            runs: Limit {
                requests: 200,
                period: Duration::from_secs(30),
            },
            trusted_proxies: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    count: u32,
}

/// The outcome of counting one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may go on.
    pub allowed: bool,
    /// The window's limit.
    pub limit: u32,
    /// Requests left in the window after this one.
    pub remaining: u32,
    /// Whole seconds until the window resets (at least 1).
    pub reset_after: u64,
}

/// Who a window counts: an IPv4 address, or the /64 prefix of an IPv6 one (IPv4-mapped IPv6
/// addresses count as their IPv4 address).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientKey {
    /// An IPv4 client.
    V4(Ipv4Addr),
    /// The /64 prefix of an IPv6 client.
    V6(u64),
}

impl From<IpAddr> for ClientKey {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self::V4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::V4(v4),
                None => Self::V6((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

/// Live windows at most; past it the oldest are dropped (their clients start afresh).
pub const MAX_CLIENTS: usize = 100_000;

/// The live windows, and their keys in the order they opened.
#[derive(Debug, Default)]
struct Windows {
    by_client: HashMap<ClientKey, Window>,
    opened: VecDeque<(ClientKey, Instant)>,
}

impl Windows {
    /// Drops the oldest opened window, if it is still the client's current one.
    fn drop_oldest(&mut self) {
        if let Some((key, started)) = self.opened.pop_front()
            && self
                .by_client
                .get(&key)
                .is_some_and(|w| w.started == started)
        {
            self.by_client.remove(&key);
        }
    }
}

/// Fixed-window counters keyed by client ([`ClientKey`]).
#[derive(Debug)]
pub struct Limiter {
    limit: Limit,
    windows: Mutex<Windows>,
}

impl Limiter {
    /// A limiter enforcing `limit`.
    pub fn new(limit: Limit) -> Self {
        Self {
            limit,
            windows: Mutex::new(Windows::default()),
        }
    }

    /// How many clients have a live window.
    pub fn tracked(&self) -> usize {
        self.windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .by_client
            .len()
    }

    /// Counts one request from `ip` at `now`.
    pub fn check(&self, ip: IpAddr, now: Instant) -> Decision {
        let period = self.limit.period;
        let key = ClientKey::from(ip);
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while windows
            .opened
            .front()
            .is_some_and(|(_, started)| now.saturating_duration_since(*started) >= period)
        {
            windows.drop_oldest();
        }
        let expired = windows
            .by_client
            .get(&key)
            .is_none_or(|w| now.saturating_duration_since(w.started) >= period);
        if expired {
            while windows.by_client.len() >= MAX_CLIENTS && !windows.opened.is_empty() {
                windows.drop_oldest();
            }
            windows.by_client.insert(
                key,
                Window {
                    started: now,
                    count: 0,
                },
            );
            windows.opened.push_back((key, now));
        }
        let Some(window) = windows.by_client.get_mut(&key) else {
            // Just inserted: unreachable, but never panic in the request path.
            return Decision {
                allowed: true,
                limit: self.limit.requests,
                remaining: self.limit.requests,
                reset_after: period.as_secs().max(1),
            };
        };
        let allowed = window.count < self.limit.requests;
        if allowed {
            window.count += 1;
        }
        let left = period.saturating_sub(now.saturating_duration_since(window.started));
        Decision {
            allowed,
            limit: self.limit.requests,
            remaining: self.limit.requests - window.count,
            reset_after: left.as_secs_f64().ceil().max(1.0) as u64,
        }
    }
}

/// The two limiters and the trusted proxies.
#[derive(Debug)]
pub struct RateLimits {
    general: Limiter,
    runs: Limiter,
    trusted_proxies: Vec<IpNet>,
}

impl RateLimits {
    /// Limiters for these settings.
    pub fn new(settings: &RateLimitSettings) -> Self {
        Self {
            general: Limiter::new(settings.general),
            runs: Limiter::new(settings.runs),
            trusted_proxies: settings.trusted_proxies.clone(),
        }
    }

    fn trusted(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|net| net.contains(&ip))
    }

    /// The client address of a request from `peer` with these headers.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusted(peer) {
            return peer;
        }
        let mut client = peer;
        let hops = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        for hop in hops.iter().rev() {
            match hop.parse::<IpAddr>() {
                Ok(ip) => {
                    client = ip;
                    if !self.trusted(ip) {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        client
    }
}

fn is_runs_path(path: &str) -> bool {
    path == "/1/runs" || path.starts_with("/1/runs/")
}

fn set_headers(headers: &mut HeaderMap, decision: &Decision) {
    headers.insert("x-ratelimit-limit", HeaderValue::from(decision.limit));
    headers.insert(
        "x-ratelimit-remaining",
        HeaderValue::from(decision.remaining),
    );
    headers.insert("x-ratelimit-reset", HeaderValue::from(decision.reset_after));
}

/// Middleware: counts the request against its limiter; 429 with `Retry-After` and the
/// `X-RateLimit-*` headers when over the limit (those headers are on every limited response).
pub async fn limit(State(limits): State<Arc<RateLimits>>, req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    let ip = limits.client_ip(peer, req.headers());
    let limiter = if is_runs_path(req.uri().path()) {
        &limits.runs
    } else {
        &limits.general
    };
    let decision = limiter.check(ip, Instant::now());
    let mut response = if decision.allowed {
        next.run(req).await
    } else {
        tracing::debug!(client = %ip, path = req.uri().path(), "rate limited");
        ApiError::RateLimited {
            retry_after: decision.reset_after,
        }
        .into_response()
    };
    set_headers(response.headers_mut(), &decision);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn windows_count_and_reset() {
        let limiter = Limiter::new(Limit {
            requests: 2,
            period: Duration::from_secs(60),
        });
        let t0 = Instant::now();
        assert!(limiter.check(ip("127.0.0.2"), t0).allowed);
        let d = limiter.check(ip("127.0.0.2"), t0);
        assert!(d.allowed);
        assert_eq!(d.remaining, 0);
        let d = limiter.check(ip("127.0.0.2"), t0 + Duration::from_secs(1));
        assert!(!d.allowed);
        assert_eq!(d.reset_after, 59);
        assert!(limiter.check(ip("127.0.0.3"), t0).allowed);
        assert!(
            limiter
                .check(ip("127.0.0.2"), t0 + Duration::from_secs(60))
                .allowed
        );
    }

    #[test]
    fn ipv6_clients_count_by_their_64_prefix() {
        let limiter = Limiter::new(Limit {
            requests: 2,
            period: Duration::from_secs(60),
        });
        let t0 = Instant::now();
        assert!(limiter.check(ip("2001:db8:1:2::1"), t0).allowed);
        assert!(limiter.check(ip("2001:db8:1:2:ffff::9"), t0).allowed);
        assert!(!limiter.check(ip("2001:db8:1:2:abcd::7"), t0).allowed);
        assert!(limiter.check(ip("2001:db8:1:3::1"), t0).allowed);
        assert_eq!(
            ClientKey::from(ip("::ffff:127.0.0.9")),
            ClientKey::from(ip("127.0.0.9"))
        );
        assert_eq!(limiter.tracked(), 2);
    }

    #[test]
    fn expired_windows_are_dropped_as_time_goes_on() {
        let limiter = Limiter::new(Limit {
            requests: 5,
            period: Duration::from_secs(60),
        });
        let t0 = Instant::now();
        for i in 0..50_000u32 {
            let client = IpAddr::V4(Ipv4Addr::from(0x7f01_0000 + i));
            assert!(limiter.check(client, t0).allowed);
        }
        assert_eq!(limiter.tracked(), 50_000);
        // One request a period later drops every expired window.
        limiter.check(ip("10.0.0.1"), t0 + Duration::from_secs(60));
        assert_eq!(limiter.tracked(), 1);
    }

    #[test]
    fn the_number_of_tracked_clients_is_capped() {
        let limiter = Limiter::new(Limit {
            requests: 1,
            period: Duration::from_secs(3600),
        });
        let t0 = Instant::now();
        for i in 0..(MAX_CLIENTS as u32 + 1_000) {
            let client = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
            limiter.check(client, t0 + Duration::from_millis(u64::from(i)));
        }
        assert_eq!(limiter.tracked(), MAX_CLIENTS);
        let windows = limiter.windows.lock().unwrap();
        assert_eq!(windows.opened.len(), MAX_CLIENTS);
        // The oldest went first: the newest client is still counted.
        let newest = ClientKey::from(IpAddr::V4(Ipv4Addr::from(
            0x0a00_0000 + MAX_CLIENTS as u32 + 999,
        )));
        assert!(windows.by_client.contains_key(&newest));
    }

    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let limits = RateLimits::new(&RateLimitSettings {
            trusted_proxies: vec!["10.0.0.0/8".parse().unwrap()],
            ..RateLimitSettings::default()
        });
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "1.2.3.4, 5.6.7.8, 10.0.0.2".parse().unwrap(),
        );
        assert_eq!(limits.client_ip(ip("10.0.0.1"), &headers), ip("5.6.7.8"));
        assert_eq!(limits.client_ip(ip("8.8.8.8"), &headers), ip("8.8.8.8"));
        headers.insert("x-forwarded-for", "garbage".parse().unwrap());
        assert_eq!(limits.client_ip(ip("10.0.0.1"), &headers), ip("10.0.0.1"));
        assert!(is_runs_path("/1/runs"));
        assert!(is_runs_path("/1/runs/x/events"));
        assert!(!is_runs_path("/1/runsx"));
    }
}
