//! Refusing webhook targets that resolve to non-public addresses (unless allowed).

use crate::domain::webhook::{Host, TargetPolicy, WebhookUrl};
use std::net::IpAddr;

/// Resolves the URL's host and refuses it if any address is not allowed by `policy`.
/// A name that does not resolve now is accepted here: the delivery client resolves and checks
/// again at connect time, which is what stops DNS rebinding anyway.
pub async fn check_url(policy: &TargetPolicy, url: &WebhookUrl) -> Result<(), String> {
    let addrs: Vec<IpAddr> = match url.host() {
        Host::Ip(ip) => vec![ip],
        Host::Domain(name) => {
            let lookup = tokio::net::lookup_host((name.as_str(), url.port()));
            match tokio::time::timeout(std::time::Duration::from_secs(3), lookup).await {
                Ok(Ok(found)) => found.map(|a| a.ip()).collect(),
                _ => return Ok(()),
            }
        }
    };
    for ip in addrs {
        if let Some(message) = policy.refusal(ip) {
            return Err(message);
        }
    }
    Ok(())
}
