//! Refusing webhook targets that resolve to non-public addresses (unless allowed).

use crate::domain::webhook::{Host, TargetPolicy, WebhookUrl};
use std::net::IpAddr;

/// Resolves the URL's host and refuses it if any address is not allowed by `policy`.
/// A name that does not resolve now is accepted here: the delivery client resolves and checks
/// again at connect time, which is what stops DNS rebinding anyway.
pub async fn check_url(policy: &TargetPolicy, url: &WebhookUrl) -> Result<(), String> {
    if policy.is_own_inspector(url) {
        return Ok(());
    }
    let addrs: Vec<IpAddr> = match url.host() {
        Host::Ip(ip) => vec![ip],
        // `localhost` and every name under it are loopback by definition (RFC 6761), in any
        // spelling (`LOCALHOST`, `localhost.`, `api.localhost`), whatever a resolver says.
        Host::Domain(name) if is_localhost_name(&name) => vec![IpAddr::from([127, 0, 0, 1])],
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

/// Whether a host name is `localhost` or a name under it (case and a final dot ignored).
pub fn is_localhost_name(name: &str) -> bool {
    let n = name.trim_end_matches('.').to_ascii_lowercase();
    n == "localhost" || n.ends_with(".localhost")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn localhost_names_in_every_spelling() {
        for n in [
            "localhost",
            "LOCALHOST",
            "localhost.",
            "api.localhost",
            "a.b.LocalHost.",
        ] {
            assert!(is_localhost_name(n), "{n}");
        }
        for n in [
            "localhost.example.com",
            "notlocalhost",
            "example.com",
            "localhostx",
        ] {
            assert!(!is_localhost_name(n), "{n}");
        }
    }
}
