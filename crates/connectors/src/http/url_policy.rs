//! The URL policy (SSRF guard): which addresses a source may reach.
//!
//! A source URL must be `http` or `https`. Public addresses are allowed; loopback, link-local
//! (cloud metadata included), private, shared (CGNAT), unspecified, multicast and broadcast
//! addresses are refused unless an `allow_networks` entry (a CIDR, or `host:port`) allows them.
//! Link-local addresses need an entry inside the link-local range itself: `0.0.0.0/0` does not
//! open the metadata service. The cloud metadata addresses outside that range (`168.63.129.16`,
//! `fd00:ec2::254`) are opened only by an entry naming the address itself. The check runs on the URL (IP literals, every redirect) and on
//! every address a host name resolves to, at connect time.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use url::{Host, Url};

/// One `allow_networks` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Allow {
    Network(IpNet),
    HostPort { host: String, port: u16 },
}

/// What kind of address an IP is, for the policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressKind {
    /// Reachable on the internet.
    Public,
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// `169.254.0.0/16` (cloud metadata), `fe80::/10`.
    LinkLocal,
    /// RFC 1918, `fc00::/7`.
    Private,
    /// `100.64.0.0/10`, carrier-grade NAT.
    Shared,
    /// `0.0.0.0/8`, `::`.
    Unspecified,
    /// `224.0.0.0/4`, `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// A cloud metadata service outside the link-local range: `168.63.129.16` (Azure),
    /// `fd00:ec2::254` (AWS over IPv6).
    Metadata,
}

/// Cloud metadata services outside the link-local range.
const METADATA_V4: [Ipv4Addr; 1] = [Ipv4Addr::new(168, 63, 129, 16)];
const METADATA_V6: [Ipv6Addr; 1] = [Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)];

/// Classifies an address, looking through IPv4-mapped, IPv4-compatible and NAT64 IPv6 forms.
pub fn classify_ip(ip: IpAddr) -> AddressKind {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = embedded_v4(v6) {
                return classify_v4(v4);
            }
            let first = v6.segments()[0];
            if METADATA_V6.contains(&v6) {
                AddressKind::Metadata
            } else if v6.is_loopback() {
                AddressKind::Loopback
            } else if v6.is_unspecified() {
                AddressKind::Unspecified
            } else if v6.is_multicast() {
                AddressKind::Multicast
            } else if first & 0xffc0 == 0xfe80 {
                AddressKind::LinkLocal
            } else if first & 0xfe00 == 0xfc00 || first & 0xffc0 == 0xfec0 {
                AddressKind::Private
            } else {
                AddressKind::Public
            }
        }
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressKind {
    let [a, b, ..] = ip.octets();
    if METADATA_V4.contains(&ip) {
        AddressKind::Metadata
    } else if ip.is_loopback() {
        AddressKind::Loopback
    } else if ip.is_link_local() {
        AddressKind::LinkLocal
    } else if ip.is_private() {
        AddressKind::Private
    } else if a == 100 && (64..128).contains(&b) {
        AddressKind::Shared
    } else if a == 0 {
        AddressKind::Unspecified
    } else if ip.is_multicast() || a >= 240 && !ip.is_broadcast() {
        AddressKind::Multicast
    } else if ip.is_broadcast() {
        AddressKind::Broadcast
    } else {
        AddressKind::Public
    }
}

/// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`) or
/// NAT64 (`64:ff9b::a.b.c.d`) address.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let tail = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    let mapped = s[..5] == [0; 5] && s[5] == 0xffff;
    let compatible = s[..6] == [0; 6] && !(s[6] == 0 && s[7] <= 1);
    let nat64 = s[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
    (mapped || compatible || nat64).then_some(tail)
}

/// Why a URL or an address is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// Not `http` or `https`.
    #[error("URL scheme `{0}` is not allowed (use http or https)")]
    Scheme(String),
    /// The URL has no host.
    #[error("the URL has no host")]
    NoHost,
    /// The address is of a refused kind.
    #[error(
        "address {ip} ({kind:?}) is refused by the URL policy; allow it with `[sources] allow_networks`"
    )]
    Refused {
        /// The refused address.
        ip: IpAddr,
        /// Its kind.
        kind: AddressKind,
    },
    /// The host is allowed by a `host:port` entry, on another port.
    #[error("`{host}` is allowed by the URL policy on other ports than {port}")]
    Port {
        /// The host.
        host: String,
        /// The refused port.
        port: u16,
    },
    /// An `allow_networks` entry could not be read.
    #[error("`{0}` is neither a CIDR (`10.0.0.0/8`, `::1/128`), an address, nor `host:port`")]
    BadEntry(String),
}

/// The addresses sources may reach.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UrlPolicy {
    allow: Vec<Allow>,
}

impl UrlPolicy {
    /// A policy from `allow_networks` entries: CIDRs, bare addresses, or `host:port`.
    pub fn new<S: AsRef<str>>(entries: &[S]) -> Result<Self, PolicyError> {
        let allow = entries
            .iter()
            .map(|entry| parse_entry(entry.as_ref().trim()))
            .collect::<Result<_, _>>()?;
        Ok(Self { allow })
    }

    /// Checks a URL before a request or a redirect: its scheme, and its host when it is an IP.
    pub fn check_url(&self, url: &Url) -> Result<(), PolicyError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(PolicyError::Scheme(url.scheme().to_owned()));
        }
        let port = url.port_or_known_default().unwrap_or(0);
        match url.host().ok_or(PolicyError::NoHost)? {
            Host::Ipv4(ip) => self.check_addr(IpAddr::V4(ip), Some(port)),
            Host::Ipv6(ip) => self.check_addr(IpAddr::V6(ip), Some(port)),
            Host::Domain(name) => {
                if self.host_port_allowed(name, port) {
                    return Ok(());
                }
                if self.names_host(name.trim_end_matches('.')) {
                    // The entry vouches for this host on its own port only.
                    return Err(PolicyError::Port {
                        host: name.to_owned(),
                        port,
                    });
                }
                // Names are checked when they resolve; a literal-looking name is checked now.
                match name.trim_end_matches('.').parse::<IpAddr>() {
                    Ok(ip) => self.check_addr(ip, Some(port)),
                    Err(_) => Ok(()),
                }
            }
        }
    }

    /// Whether `host` is named by a `host:port` entry, which then vouches for its addresses.
    pub fn names_host(&self, host: &str) -> bool {
        self.allow.iter().any(|allow| match allow {
            Allow::HostPort { host: allowed, .. } => allowed.eq_ignore_ascii_case(host),
            Allow::Network(_) => false,
        })
    }

    fn host_port_allowed(&self, host: &str, port: u16) -> bool {
        self.allow.iter().any(|allow| match allow {
            Allow::HostPort {
                host: allowed,
                port: allowed_port,
            } => allowed.eq_ignore_ascii_case(host.trim_end_matches('.')) && *allowed_port == port,
            Allow::Network(_) => false,
        })
    }

    /// Checks one address (a resolved one when `port` is unknown).
    pub fn check_addr(&self, ip: IpAddr, port: Option<u16>) -> Result<(), PolicyError> {
        let kind = classify_ip(ip);
        let canonical = match ip {
            IpAddr::V6(v6) => embedded_v4(v6).map_or(ip, IpAddr::V4),
            IpAddr::V4(_) => ip,
        };
        let listed = self.allow.iter().any(|allow| match allow {
            Allow::Network(net) => {
                let contains = net.contains(&ip) || net.contains(&canonical);
                contains
                    && match kind {
                        AddressKind::LinkLocal => is_link_local_net(net),
                        AddressKind::Metadata => net.prefix_len() == net.max_prefix_len(),
                        _ => true,
                    }
            }
            Allow::HostPort {
                host,
                port: allowed,
            } => {
                port == Some(*allowed)
                    && host
                        .parse::<IpAddr>()
                        .is_ok_and(|h| h == ip || h == canonical)
            }
        });
        if kind == AddressKind::Public || listed {
            Ok(())
        } else {
            Err(PolicyError::Refused { ip, kind })
        }
    }
}

fn is_link_local_net(net: &IpNet) -> bool {
    classify_ip(net.network()) == AddressKind::LinkLocal
        && classify_ip(net.broadcast()) == AddressKind::LinkLocal
}

fn parse_entry(entry: &str) -> Result<Allow, PolicyError> {
    if let Ok(net) = entry.parse::<IpNet>() {
        return Ok(Allow::Network(net));
    }
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Ok(Allow::Network(IpNet::from(ip)));
    }
    if let Ok(addr) = entry.parse::<std::net::SocketAddr>() {
        return Ok(Allow::HostPort {
            host: addr.ip().to_string(),
            port: addr.port(),
        });
    }
    let bad = || PolicyError::BadEntry(entry.to_owned());
    let (host, port) = entry.rsplit_once(':').ok_or_else(bad)?;
    let port = port.parse().map_err(|_| bad())?;
    let valid_name = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
    if !valid_name {
        return Err(bad());
    }
    Ok(Allow::HostPort {
        host: host.to_ascii_lowercase(),
        port,
    })
}

#[cfg(test)]
mod tests;
