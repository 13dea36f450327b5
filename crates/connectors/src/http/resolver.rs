//! Name resolution that applies the URL policy to every resolved address, at connect time
//! (so a name cannot be re-pointed at an internal address between a check and the connect).

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::url_policy::UrlPolicy;

/// Resolves with the system resolver and drops the addresses the policy refuses.
#[derive(Debug)]
pub(crate) struct PolicyResolver {
    policy: Arc<UrlPolicy>,
}

impl PolicyResolver {
    pub(crate) fn new(policy: Arc<UrlPolicy>) -> Self {
        Self { policy }
    }
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let vouched = policy.names_host(host.trim_end_matches('.'));
            let mut refusal = None;
            let mut allowed = Vec::new();
            for addr in resolved {
                match policy.check_addr(addr.ip(), None) {
                    Ok(()) => allowed.push(addr),
                    Err(_) if vouched => allowed.push(addr),
                    Err(error) => refusal = Some(error),
                }
            }
            match (allowed.is_empty(), refusal) {
                (false, _) => Ok(Box::new(allowed.into_iter()) as Addrs),
                (true, Some(refusal)) => Err(Box::new(refusal) as Box<_>),
                (true, None) => Err(format!("`{host}` resolves to no address").into()),
            }
        })
    }
}
