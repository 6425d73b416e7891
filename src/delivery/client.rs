//! The HTTP client of deliveries: rustls, pooled connections, no redirects, a timeout, and a DNS
//! resolver that refuses non-public addresses at connect time (so a name that changes its
//! answer after the URL was saved is still refused).

use crate::domain::webhook::TargetPolicy;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

struct GuardedResolver {
    policy: TargetPolicy,
}

/// The error text of a connection refused by the guard; attempts record it.
pub const REFUSED: &str = "refused: the host resolves only to non-public addresses";

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            // Names under localhost are loopback whatever DNS says (RFC 6761).
            let found: Vec<SocketAddr> = if crate::ssrf::is_localhost_name(name.as_str()) {
                vec![SocketAddr::from(([127, 0, 0, 1], 0))]
            } else {
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect()
            };
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| policy.allows(a.ip()))
                .collect();
            if allowed.is_empty() {
                let e: Box<dyn std::error::Error + Send + Sync> = format!(
                    "{REFUSED} (allow a subnet with allowed_target_subnets / BOOKHOOK_ALLOWED_TARGET_SUBNETS)"
                )
                .into();
                return Err(e);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

pub fn build(policy: TargetPolicy, timeout: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .use_rustls_tls()
        .dns_resolver(Arc::new(GuardedResolver { policy }))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(64)
        .tcp_nodelay(true)
        .user_agent(concat!("bookhook/", env!("CARGO_PKG_VERSION")))
        .build()
}
