//! Webhook target URLs and the outbound-safety (SSRF) rules deciding which addresses they may call.

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// Longest URL accepted, in characters; also applied to the normalised form, which is what is
/// stored and sent (percent-encoding can make it longer than what was typed).
pub const MAX_URL_CHARS: usize = 2000;

/// The setting and environment variable named in refusals, so that an operator who really means
/// to call an internal service knows where to say so.
const ALLOW_LIST_HINT: &str = "Webhooks may only call public addresses unless the subnet is \
     listed in the allowed_target_subnets setting (BOOKHOOK_ALLOWED_TARGET_SUBNETS).";

/// Why a string is not a usable webhook URL. Each message tells the person what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("Enter the URL that should receive the webhooks.")]
    Empty,
    #[error("Use a URL of at most 2000 characters.")]
    TooLong,
    #[error("Use an absolute http:// or https:// URL.")]
    NotAbsolute,
    #[error("Use an absolute http:// or https:// URL; {0}: URLs cannot receive webhooks.")]
    UnsupportedScheme(String),
    #[error("Add a host to the URL, as in https://hooks.example.com/bookhook.")]
    NoHost,
    #[error("The URL's host is not valid; use a domain name such as hooks.example.com or an IP address.")]
    InvalidHost,
    #[error("Use a port between 1 and 65535, or leave it out.")]
    InvalidPort,
    #[error("Remove the user name and password from the URL; the webhook is authenticated by its signature.")]
    Credentials,
}

/// The host of a [`WebhookUrl`]: either a name still to be resolved, or a literal address
/// (IPv6 without its brackets) that the safety check can judge as it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    Domain(String),
    Ip(IpAddr),
}

/// An absolute http(s) URL without credentials or fragment, at most [`MAX_URL_CHARS`] long.
///
/// It says nothing about where the host points: names can be re-pointed after the URL is saved
/// (DNS rebinding), so [`TargetPolicy`] must judge every resolved address at delivery time.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WebhookUrl(url::Url);

impl WebhookUrl {
    /// Parses user input. Surrounding whitespace is ignored. A fragment is dropped rather than
    /// refused: it is never sent in an HTTP request, so keeping it would only make the stored URL
    /// differ from the one called, and refusing it would reject harmless pasted links.
    pub fn parse(s: &str) -> Result<WebhookUrl, UrlError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(UrlError::Empty);
        }
        // Checked before parsing so that an enormous input costs nothing to refuse.
        if s.chars().count() > MAX_URL_CHARS {
            return Err(UrlError::TooLong);
        }
        let mut url = url::Url::parse(s).map_err(|e| match e {
            url::ParseError::EmptyHost => UrlError::NoHost,
            url::ParseError::InvalidPort => UrlError::InvalidPort,
            url::ParseError::IdnaError
            | url::ParseError::InvalidIpv4Address
            | url::ParseError::InvalidIpv6Address
            | url::ParseError::InvalidDomainCharacter => UrlError::InvalidHost,
            _ => UrlError::NotAbsolute,
        })?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(UrlError::UnsupportedScheme(url.scheme().to_owned()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(UrlError::Credentials);
        }
        if url.host().is_none() {
            return Err(UrlError::NoHost);
        }
        // Port 0 cannot be connected to; refusing it now beats a confusing delivery error later.
        if url.port() == Some(0) {
            return Err(UrlError::InvalidPort);
        }
        url.set_fragment(None);
        if url.as_str().chars().count() > MAX_URL_CHARS {
            return Err(UrlError::TooLong);
        }
        Ok(WebhookUrl(url))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// For handing to an HTTP client without re-parsing.
    pub fn as_url(&self) -> &url::Url {
        &self.0
    }

    /// `"http"` or `"https"`, lower-case.
    pub fn scheme(&self) -> &str {
        self.0.scheme()
    }

    /// The host as `url` normalised it: names lower-cased and IDNA-encoded, and every IPv4
    /// spelling (`2130706433`, `0x7f.1`, `0177.0.0.1`, `127.1`) turned into the address itself,
    /// so that a disguised internal address is still caught by [`TargetPolicy`].
    pub fn host(&self) -> Host {
        match self.0.host() {
            Some(url::Host::Ipv4(ip)) => Host::Ip(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Host::Ip(IpAddr::V6(ip)),
            Some(url::Host::Domain(name)) => Host::Domain(name.to_owned()),
            // `parse` refuses URLs without a host, so this arm is never taken.
            None => Host::Domain(String::new()),
        }
    }

    /// The explicit port, else 80 for http and 443 for https.
    pub fn port(&self) -> u16 {
        self.0
            .port()
            .unwrap_or(if self.0.scheme() == "https" { 443 } else { 80 })
    }
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for WebhookUrl {
    type Err = UrlError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        WebhookUrl::parse(s)
    }
}

impl TryFrom<String> for WebhookUrl {
    type Error = UrlError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        WebhookUrl::parse(&s)
    }
}

impl From<WebhookUrl> for String {
    fn from(url: WebhookUrl) -> String {
        url.0.into()
    }
}

impl AsRef<str> for WebhookUrl {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

/// True when `ip` is an ordinary address on the public internet, the only kind a webhook may
/// call without an explicit exception.
pub fn is_public(ip: IpAddr) -> bool {
    classify(ip).is_none()
}

/// What kind of non-public address `ip` is (for messages), or None when it is public.
///
/// Addresses that wrap an IPv4 address (IPv4-mapped, NAT64, 6to4) are judged by the address
/// they wrap, because that is where the packets end up; they are then named by the wrapper.
pub fn classify(ip: IpAddr) -> Option<&'static str> {
    kind(ip).map(|k| k.name)
}

struct Kind {
    name: &'static str,
    /// For a wrapper address, the kind of the IPv4 address inside it.
    inner: Option<&'static str>,
}

fn kind(ip: IpAddr) -> Option<Kind> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4).map(|name| Kind { name, inner: None }),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

/// Most specific ranges first: the first match names the address.
const V4_RANGES: &[([u8; 4], u8, &str)] = &[
    ([255, 255, 255, 255], 32, "broadcast"),
    ([169, 254, 169, 254], 32, "cloud metadata"),
    // Alibaba Cloud's metadata service, inside the CGNAT range.
    ([100, 100, 100, 200], 32, "cloud metadata"),
    ([0, 0, 0, 0], 32, "unspecified"),
    // Linux connects 0.x.x.x to the local host, so "this network" is as dangerous as loopback.
    ([0, 0, 0, 0], 8, "this-network"),
    ([10, 0, 0, 0], 8, "private"),
    ([100, 64, 0, 0], 10, "CGNAT"),
    ([127, 0, 0, 0], 8, "loopback"),
    ([169, 254, 0, 0], 16, "link-local"),
    ([172, 16, 0, 0], 12, "private"),
    // The whole block, including the two anycast services IANA marks global (192.0.0.9 and
    // .10): no webhook receiver lives there, and a blanket rule is easier to trust.
    ([192, 0, 0, 0], 24, "IETF protocol assignment"),
    ([192, 0, 2, 0], 24, "documentation"),
    ([192, 88, 99, 0], 24, "6to4 relay"),
    ([192, 168, 0, 0], 16, "private"),
    ([198, 18, 0, 0], 15, "benchmarking"),
    ([198, 51, 100, 0], 24, "documentation"),
    ([203, 0, 113, 0], 24, "documentation"),
    ([224, 0, 0, 0], 4, "multicast"),
    ([240, 0, 0, 0], 4, "reserved"),
];

fn classify_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let bits = u32::from(ip);
    V4_RANGES
        .iter()
        .find(|(base, prefix, _)| {
            let mask = u32::MAX.checked_shl(32 - u32::from(*prefix)).unwrap_or(0);
            bits & mask == u32::from_be_bytes(*base)
        })
        .map(|(_, _, name)| *name)
}

const fn v6(segments: [u16; 8]) -> u128 {
    let mut bits = 0u128;
    let mut i = 0;
    while i < 8 {
        bits = (bits << 16) | segments[i] as u128;
        i += 1;
    }
    bits
}

fn in_v6(bits: u128, base: u128, prefix: u32) -> bool {
    let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
    bits & mask == base
}

/// Most specific ranges first. Wrappers of IPv4 are handled before this table.
const V6_RANGES: &[(u128, u32, &str)] = &[
    (v6([0, 0, 0, 0, 0, 0, 0, 0]), 128, "unspecified"),
    (v6([0, 0, 0, 0, 0, 0, 0, 1]), 128, "loopback"),
    // AWS's metadata service over IPv6, inside the unique-local range.
    (
        v6([0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254]),
        128,
        "cloud metadata",
    ),
    // Local-use NAT64 (RFC 8215) leads into a private network, whatever it embeds.
    (v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0]), 48, "local-use NAT64"),
    (v6([0x100, 0, 0, 0, 0, 0, 0, 0]), 64, "discard"),
    // Teredo, ORCHID, AMT, AS112 and benchmarking all live here; none is a webhook receiver.
    (
        v6([0x2001, 0, 0, 0, 0, 0, 0, 0]),
        23,
        "IETF protocol assignment",
    ),
    (v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0]), 32, "documentation"),
    (v6([0x3fff, 0, 0, 0, 0, 0, 0, 0]), 20, "documentation"),
    (v6([0xfc00, 0, 0, 0, 0, 0, 0, 0]), 7, "unique-local"),
    (v6([0xfe80, 0, 0, 0, 0, 0, 0, 0]), 10, "link-local"),
    (v6([0xfec0, 0, 0, 0, 0, 0, 0, 0]), 10, "site-local"),
    (v6([0xff00, 0, 0, 0, 0, 0, 0, 0]), 8, "multicast"),
];

const GLOBAL_UNICAST: (u128, u32) = (v6([0x2000, 0, 0, 0, 0, 0, 0, 0]), 3);
const NAT64: (u128, u32) = (v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0]), 96);
const SIX_TO_FOUR: (u128, u32) = (v6([0x2002, 0, 0, 0, 0, 0, 0, 0]), 16);

/// The IPv4 address an IPv6 address stands for, with the wrapper's name, if it is one of the
/// forms that deliver to that IPv4 address.
fn embedded_v4(ip: Ipv6Addr) -> Option<(&'static str, Ipv4Addr)> {
    let bits = u128::from(ip);
    if let Some(v4) = ip.to_ipv4_mapped() {
        Some(("IPv4-mapped", v4))
    } else if in_v6(bits, NAT64.0, NAT64.1) {
        Some(("NAT64", Ipv4Addr::from(bits as u32)))
    } else if in_v6(bits, SIX_TO_FOUR.0, SIX_TO_FOUR.1) {
        Some(("6to4", Ipv4Addr::from((bits >> 80) as u32)))
    } else {
        None
    }
}

fn classify_v6(ip: Ipv6Addr) -> Option<Kind> {
    if let Some((wrapper, v4)) = embedded_v4(ip) {
        return classify_v4(v4).map(|inner| Kind {
            name: wrapper,
            inner: Some(inner),
        });
    }
    let bits = u128::from(ip);
    if let Some((_, _, name)) = V6_RANGES
        .iter()
        .find(|(base, prefix, _)| in_v6(bits, *base, *prefix))
    {
        return Some(Kind { name, inner: None });
    }
    // Deny by default: IANA hands out global unicast from 2000::/3 only, so anything else
    // (IPv4-compatible ::a.b.c.d, 4000::/2, SRv6 5f00::/16, ...) is reserved and not a receiver.
    if in_v6(bits, GLOBAL_UNICAST.0, GLOBAL_UNICAST.1) {
        None
    } else {
        Some(Kind {
            name: "reserved",
            inner: None,
        })
    }
}

/// Which addresses webhooks may call: every public address, plus the subnets an operator listed
/// on purpose (an internal receiver, a test server on loopback), plus the bins of this server's
/// own request inspector.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetPolicy {
    allowed: Vec<IpNet>,
    /// Where this server's request inspector listens: `http://<it>/inspect/…` is let through
    /// whatever the ranges, so bins work out of the box; nothing else at that address is.
    inspector: Option<std::net::SocketAddr>,
}

impl TargetPolicy {
    pub fn new(allowed: Vec<IpNet>) -> TargetPolicy {
        TargetPolicy {
            allowed,
            inspector: None,
        }
    }

    /// The same policy, letting through the bins of the inspector listening at `addr`.
    pub fn with_inspector(self, addr: std::net::SocketAddr) -> TargetPolicy {
        TargetPolicy {
            inspector: Some(addr),
            ..self
        }
    }

    /// Whether this URL is a bin of this server's own inspector.
    pub fn is_own_inspector(&self, url: &WebhookUrl) -> bool {
        let Host::Ip(ip) = url.host() else {
            return false;
        };
        url.scheme() == "http"
            && url.as_url().path().starts_with("/inspect/")
            && self.inspector == Some(std::net::SocketAddr::new(ip, url.port()))
    }

    /// Parses the allowed_target_subnets setting: comma-separated CIDRs such as
    /// `10.0.0.0/8, fd00::/8`; a bare address stands for itself alone; empty entries and
    /// whitespace are ignored. The error names the first bad entry.
    pub fn parse_list(s: &str) -> Result<TargetPolicy, String> {
        let mut allowed = Vec::new();
        for entry in s.split(',') {
            let compact: String = entry.chars().filter(|c| !c.is_whitespace()).collect();
            if compact.is_empty() {
                continue;
            }
            let net = IpNet::from_str(&compact)
                .or_else(|_| IpAddr::from_str(&compact).map(IpNet::from))
                .map_err(|_| {
                    format!(
                        "allowed_target_subnets: \"{}\" is not a subnet in CIDR notation \
                         (such as 10.0.0.0/8 or fd00::/8) or an IP address.",
                        entry.trim()
                    )
                })?;
            // Host bits are dropped so that the stored list shows what it actually matches.
            allowed.push(net.trunc());
        }
        Ok(TargetPolicy::new(allowed))
    }

    pub fn allowed(&self) -> &[IpNet] {
        &self.allowed
    }

    /// True when a webhook may connect to `ip`. Call it for every address the host resolves to,
    /// at connect time: a check when the URL is saved is undone by DNS rebinding.
    pub fn allows(&self, ip: IpAddr) -> bool {
        is_public(ip) || self.listed(ip)
    }

    /// None when `ip` is allowed, else the message to show (and log) for the refused delivery.
    pub fn refusal(&self, ip: IpAddr) -> Option<String> {
        if self.listed(ip) {
            return None;
        }
        let kind = kind(ip)?;
        let described = match kind.inner {
            Some(inner) => format!("{} {}", kind.name, inner),
            None => kind.name.to_owned(),
        };
        Some(format!(
            "The URL's host resolves to {ip}, a non-public address ({described}). {ALLOW_LIST_HINT}"
        ))
    }

    /// An IPv4-mapped address reaches the same socket as the IPv4 address it maps, so each
    /// matches subnets written in the other's family.
    fn listed(&self, ip: IpAddr) -> bool {
        let other = match ip {
            IpAddr::V4(v4) => Some(IpAddr::V6(v4.to_ipv6_mapped())),
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4),
        };
        self.allowed
            .iter()
            .any(|net| net.contains(&ip) || other.is_some_and(|o| net.contains(&o)))
    }
}

#[cfg(test)]
mod url_properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Any input is parsed or refused, never a panic; what is accepted is an absolute
        /// http(s) URL with a host, and parsing what was stored gives it back unchanged.
        #[test]
        fn any_text_parses_to_a_stable_http_url_or_is_refused(s in "\\PC{0,120}") {
            if let Ok(u) = WebhookUrl::parse(&s) {
                prop_assert!(u.scheme() == "http" || u.scheme() == "https");
                let again = WebhookUrl::parse(u.as_str()).unwrap();
                prop_assert_eq!(again.as_str(), u.as_str());
            }
        }

        #[test]
        fn url_shaped_input_is_stable_too(
            scheme in prop_oneof![Just("http"), Just("https"), Just("ftp"), Just("HTTP")],
            host in "[a-zA-Z0-9.:\\[\\]%-]{0,30}",
            port in proptest::option::of(0u32..70000),
            path in "[a-zA-Z0-9/?#&=%._~-]{0,30}",
        ) {
            let s = match port {
                Some(p) => format!("{scheme}://{host}:{p}/{path}"),
                None => format!("{scheme}://{host}/{path}"),
            };
            if let Ok(u) = WebhookUrl::parse(&s) {
                prop_assert!(u.scheme() == "http" || u.scheme() == "https");
                let again = WebhookUrl::parse(u.as_str()).unwrap();
                prop_assert_eq!(again.as_str(), u.as_str());
                prop_assert!(!u.as_str().contains('#'), "fragments are dropped: {}", u.as_str());
            }
        }

        /// Every numeric spelling of a loopback, private or link-local IPv4 address is seen as
        /// that address, so the policy refuses it.
        #[test]
        fn numeric_spellings_of_private_ipv4_are_never_public(
            a in prop_oneof![Just(127u32), Just(10), Just(169), Just(192), Just(0)],
            rest in any::<u32>(),
            form in 0usize..4,
        ) {
            let ip = match a {
                169 => (169 << 24) | (254 << 16) | (rest & 0xffff),
                192 => (192 << 24) | (168 << 16) | (rest & 0xffff),
                a => (a << 24) | (rest & 0x00ff_ffff),
            };
            let spelled = match form {
                0 => ip.to_string(),
                1 => format!("0x{ip:x}"),
                2 => format!("{}.{}", ip >> 24, ip & 0x00ff_ffff),
                _ => format!("0{:o}.{}.{}.{}", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff),
            };
            let u = WebhookUrl::parse(&format!("http://{spelled}/h")).unwrap();
            match u.host() {
                Host::Ip(got) => {
                    prop_assert_eq!(got, std::net::IpAddr::from(std::net::Ipv4Addr::from(ip)));
                    prop_assert!(TargetPolicy::default().refusal(got).is_some(), "{} allowed", spelled);
                }
                Host::Domain(d) => prop_assert!(false, "{} read as the name {}", spelled, d),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn kind_of(s: &str) -> Option<&'static str> {
        classify(ip(s))
    }

    /// Asserts the kind of the first and last address of a range, and of one address just
    /// outside it on either side (whose kind is given, None meaning public).
    fn assert_range(
        first: &str,
        last: &str,
        kind: &str,
        before: (&str, Option<&str>),
        after: (&str, Option<&str>),
    ) {
        assert_eq!(kind_of(first), Some(kind), "{first}");
        assert_eq!(kind_of(last), Some(kind), "{last}");
        assert_eq!(kind_of(before.0), before.1, "{}", before.0);
        assert_eq!(kind_of(after.0), after.1, "{}", after.0);
        assert!(!is_public(ip(first)) && !is_public(ip(last)));
    }

    fn url(s: &str) -> WebhookUrl {
        WebhookUrl::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn url_err(s: &str) -> UrlError {
        WebhookUrl::parse(s).expect_err(s)
    }

    // --- IPv4 ranges -------------------------------------------------------------------------

    #[test]
    fn this_network_0_0_0_0_slash_8_is_not_public() {
        assert_eq!(kind_of("0.0.0.0"), Some("unspecified"));
        assert_eq!(kind_of("0.0.0.1"), Some("this-network"));
        assert_eq!(kind_of("0.255.255.255"), Some("this-network"));
        assert_eq!(kind_of("1.0.0.0"), None);
    }

    #[test]
    fn private_10_slash_8_is_not_public_at_its_edges() {
        assert_range(
            "10.0.0.0",
            "10.255.255.255",
            "private",
            ("9.255.255.255", None),
            ("11.0.0.0", None),
        );
    }

    #[test]
    fn cgnat_100_64_slash_10_is_not_public_at_its_edges() {
        assert_range(
            "100.64.0.0",
            "100.127.255.255",
            "CGNAT",
            ("100.63.255.255", None),
            ("100.128.0.0", None),
        );
    }

    #[test]
    fn loopback_127_slash_8_is_not_public_at_its_edges() {
        assert_range(
            "127.0.0.0",
            "127.255.255.255",
            "loopback",
            ("126.255.255.255", None),
            ("128.0.0.0", None),
        );
        assert_eq!(kind_of("127.0.0.1"), Some("loopback"));
    }

    #[test]
    fn link_local_169_254_slash_16_is_not_public_at_its_edges() {
        assert_range(
            "169.254.0.0",
            "169.254.255.255",
            "link-local",
            ("169.253.255.255", None),
            ("169.255.0.0", None),
        );
    }

    #[test]
    fn cloud_metadata_addresses_are_named_as_such() {
        assert_eq!(kind_of("169.254.169.254"), Some("cloud metadata"));
        assert_eq!(kind_of("169.254.169.253"), Some("link-local"));
        assert_eq!(kind_of("100.100.100.200"), Some("cloud metadata"));
        assert_eq!(kind_of("fd00:ec2::254"), Some("cloud metadata"));
        assert!(!is_public(ip("169.254.169.254")));
        assert!(!is_public(ip("fd00:ec2::254")));
    }

    #[test]
    fn private_172_16_slash_12_is_not_public_at_its_edges() {
        assert_range(
            "172.16.0.0",
            "172.31.255.255",
            "private",
            ("172.15.255.255", None),
            ("172.32.0.0", None),
        );
    }

    #[test]
    fn ietf_protocol_assignments_192_0_0_slash_24_are_not_public_at_their_edges() {
        assert_range(
            "192.0.0.0",
            "192.0.0.255",
            "IETF protocol assignment",
            ("191.255.255.255", None),
            ("192.0.1.0", None),
        );
    }

    #[test]
    fn documentation_192_0_2_slash_24_is_not_public_at_its_edges() {
        assert_range(
            "192.0.2.0",
            "192.0.2.255",
            "documentation",
            ("192.0.1.255", None),
            ("192.0.3.0", None),
        );
    }

    #[test]
    fn six_to_four_relay_192_88_99_slash_24_is_not_public_at_its_edges() {
        assert_range(
            "192.88.99.0",
            "192.88.99.255",
            "6to4 relay",
            ("192.88.98.255", None),
            ("192.88.100.0", None),
        );
    }

    #[test]
    fn private_192_168_slash_16_is_not_public_at_its_edges() {
        assert_range(
            "192.168.0.0",
            "192.168.255.255",
            "private",
            ("192.167.255.255", None),
            ("192.169.0.0", None),
        );
    }

    #[test]
    fn benchmarking_198_18_slash_15_is_not_public_at_its_edges() {
        assert_range(
            "198.18.0.0",
            "198.19.255.255",
            "benchmarking",
            ("198.17.255.255", None),
            ("198.20.0.0", None),
        );
    }

    #[test]
    fn documentation_198_51_100_slash_24_is_not_public_at_its_edges() {
        assert_range(
            "198.51.100.0",
            "198.51.100.255",
            "documentation",
            ("198.51.99.255", None),
            ("198.51.101.0", None),
        );
    }

    #[test]
    fn documentation_203_0_113_slash_24_is_not_public_at_its_edges() {
        assert_range(
            "203.0.113.0",
            "203.0.113.255",
            "documentation",
            ("203.0.112.255", None),
            ("203.0.114.0", None),
        );
    }

    #[test]
    fn multicast_224_slash_4_is_not_public_at_its_edges() {
        assert_range(
            "224.0.0.0",
            "239.255.255.255",
            "multicast",
            ("223.255.255.255", None),
            ("240.0.0.0", Some("reserved")),
        );
    }

    #[test]
    fn reserved_240_slash_4_and_broadcast_are_not_public() {
        assert_range(
            "240.0.0.0",
            "255.255.255.254",
            "reserved",
            ("239.255.255.255", Some("multicast")),
            ("255.255.255.255", Some("broadcast")),
        );
    }

    #[test]
    fn well_known_public_addresses_are_public() {
        for s in [
            "1.1.1.1",
            "8.8.8.8",
            "9.9.9.9",
            "93.184.215.14",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            "2a00:1450:4001:80b::200e",
        ] {
            assert!(is_public(ip(s)), "{s}");
            assert_eq!(kind_of(s), None, "{s}");
        }
    }

    // --- IPv6 ranges -------------------------------------------------------------------------

    #[test]
    fn ipv6_unspecified_and_loopback_are_not_public() {
        assert_eq!(kind_of("::"), Some("unspecified"));
        assert_eq!(kind_of("::1"), Some("loopback"));
        assert_eq!(kind_of("::2"), Some("reserved"));
    }

    #[test]
    fn ipv4_mapped_addresses_are_judged_by_the_ipv4_address_they_map() {
        assert_eq!(kind_of("::ffff:127.0.0.1"), Some("IPv4-mapped"));
        assert_eq!(kind_of("::ffff:10.0.0.1"), Some("IPv4-mapped"));
        assert_eq!(kind_of("::ffff:169.254.169.254"), Some("IPv4-mapped"));
        assert_eq!(kind_of("::ffff:0.0.0.0"), Some("IPv4-mapped"));
        assert_eq!(kind_of("::ffff:255.255.255.255"), Some("IPv4-mapped"));
        assert!(is_public(ip("::ffff:8.8.8.8")));
        // Just outside ::ffff:0:0/96 on either side.
        assert_eq!(kind_of("::fffe:ffff:ffff"), Some("reserved"));
        assert_eq!(kind_of("::1:0:0:0"), Some("reserved"));
    }

    #[test]
    fn ipv4_compatible_addresses_are_not_public_even_around_a_public_ipv4() {
        assert_eq!(kind_of("::8.8.8.8"), Some("reserved"));
        assert_eq!(kind_of("::127.0.0.1"), Some("reserved"));
    }

    #[test]
    fn nat64_addresses_are_judged_by_the_ipv4_address_they_embed() {
        assert_eq!(kind_of("64:ff9b::7f00:1"), Some("NAT64"));
        assert_eq!(kind_of("64:ff9b::127.0.0.1"), Some("NAT64"));
        assert_eq!(kind_of("64:ff9b::a00:1"), Some("NAT64"));
        assert_eq!(kind_of("64:ff9b::0.0.0.0"), Some("NAT64"));
        assert_eq!(kind_of("64:ff9b::255.255.255.255"), Some("NAT64"));
        assert!(is_public(ip("64:ff9b::808:808")));
        assert!(is_public(ip("64:ff9b::1.1.1.1")));
        // Just outside 64:ff9b::/96.
        assert_eq!(
            kind_of("64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff"),
            Some("reserved")
        );
        assert_eq!(kind_of("64:ff9b:0:0:0:1::"), Some("reserved"));
    }

    #[test]
    fn local_use_nat64_is_never_public() {
        assert_eq!(kind_of("64:ff9b:1::"), Some("local-use NAT64"));
        assert_eq!(kind_of("64:ff9b:1::808:808"), Some("local-use NAT64"));
        assert_eq!(
            kind_of("64:ff9b:1:ffff:ffff:ffff:ffff:ffff"),
            Some("local-use NAT64")
        );
    }

    #[test]
    fn discard_100_slash_64_is_not_public_at_its_edges() {
        assert_range(
            "100::",
            "100::ffff:ffff:ffff:ffff",
            "discard",
            ("ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Some("reserved")),
            ("100:0:0:1::", Some("reserved")),
        );
    }

    #[test]
    fn ietf_protocol_assignments_2001_slash_23_are_not_public_at_their_edges() {
        assert_range(
            "2001::",
            "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff",
            "IETF protocol assignment",
            ("2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", None),
            ("2001:200::", None),
        );
        // Teredo, which embeds an obfuscated IPv4 address.
        assert!(!is_public(ip("2001:0:4136:e378:8000:63bf:3fff:fdd2")));
    }

    #[test]
    fn documentation_2001_db8_slash_32_is_not_public_at_its_edges() {
        assert_range(
            "2001:db8::",
            "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
            "documentation",
            ("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", None),
            ("2001:db9::", None),
        );
    }

    #[test]
    fn documentation_3fff_slash_20_is_not_public_at_its_edges() {
        assert_range(
            "3fff::",
            "3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff",
            "documentation",
            ("3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", None),
            ("3fff:1000::", None),
        );
    }

    #[test]
    fn six_to_four_addresses_are_judged_by_the_ipv4_address_they_embed() {
        assert_eq!(kind_of("2002:7f00:1::"), Some("6to4"));
        assert_eq!(kind_of("2002:a00:1::1"), Some("6to4"));
        assert_eq!(kind_of("2002:a9fe:a9fe::"), Some("6to4"));
        assert_eq!(kind_of("2002::"), Some("6to4"));
        assert_eq!(
            kind_of("2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
            Some("6to4")
        );
        assert!(is_public(ip("2002:808:808::1")));
        // Just outside 2002::/16.
        assert!(is_public(ip("2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
        assert!(is_public(ip("2003::1")));
    }

    #[test]
    fn unique_local_fc00_slash_7_is_not_public_at_its_edges() {
        assert_range(
            "fc00::",
            "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "unique-local",
            ("fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Some("reserved")),
            ("fe00::", Some("reserved")),
        );
        assert_eq!(kind_of("fd00::1"), Some("unique-local"));
    }

    #[test]
    fn link_local_fe80_slash_10_is_not_public_at_its_edges() {
        assert_range(
            "fe80::",
            "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "link-local",
            ("fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Some("reserved")),
            ("fec0::", Some("site-local")),
        );
        assert_eq!(kind_of("fe80::1"), Some("link-local"));
    }

    #[test]
    fn site_local_fec0_slash_10_is_not_public_at_its_edges() {
        assert_range(
            "fec0::",
            "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "site-local",
            (
                "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                Some("link-local"),
            ),
            ("ff00::", Some("multicast")),
        );
    }

    #[test]
    fn multicast_ff00_slash_8_is_not_public_at_its_edges() {
        // ff00::/8 ends the address space, so there is nothing after it.
        assert_eq!(kind_of("ff00::"), Some("multicast"));
        assert_eq!(kind_of("ff02::1"), Some("multicast"));
        assert_eq!(
            kind_of("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
            Some("multicast")
        );
        assert_eq!(
            kind_of("feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
            Some("site-local")
        );
    }

    #[test]
    fn ipv6_outside_global_unicast_2000_slash_3_is_reserved() {
        assert_eq!(
            kind_of("1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
            Some("reserved")
        );
        assert_eq!(kind_of("4000::1"), Some("reserved"));
        assert_eq!(kind_of("5f00::1"), Some("reserved"));
        assert_eq!(kind_of("2000::"), None);
        assert_eq!(kind_of("3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), None);
    }

    #[test]
    fn is_public_agrees_with_classify_everywhere() {
        for s in [
            "0.0.0.0",
            "8.8.8.8",
            "127.0.0.1",
            "::",
            "::1",
            "2606:4700::1",
            "fe80::1",
        ] {
            assert_eq!(is_public(ip(s)), classify(ip(s)).is_none(), "{s}");
        }
    }

    // --- Allow-list ----------------------------------------------------------------------------

    #[test]
    fn an_empty_allow_list_allows_nothing_extra() {
        for s in ["", "   ", ",", " , ,"] {
            let policy = TargetPolicy::parse_list(s).unwrap();
            assert_eq!(policy, TargetPolicy::default(), "{s:?}");
            assert!(policy.allowed().is_empty());
        }
    }

    #[test]
    fn an_allow_list_parses_comma_separated_cidrs_ignoring_whitespace() {
        let policy = TargetPolicy::parse_list(" 10.0.0.0/8 ,\n192.168.1.0 / 24,fd00::/8 ").unwrap();
        let expected: Vec<IpNet> = ["10.0.0.0/8", "192.168.1.0/24", "fd00::/8"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(policy.allowed(), expected.as_slice());
    }

    #[test]
    fn a_bare_address_in_the_allow_list_stands_for_itself_alone() {
        let policy = TargetPolicy::parse_list("127.0.0.1, ::1").unwrap();
        let expected: Vec<IpNet> =
            vec!["127.0.0.1/32".parse().unwrap(), "::1/128".parse().unwrap()];
        assert_eq!(policy.allowed(), expected.as_slice());
        assert!(policy.allows(ip("127.0.0.1")));
        assert!(!policy.allows(ip("127.0.0.2")));
        assert!(policy.allows(ip("::1")));
    }

    #[test]
    fn host_bits_in_an_allow_list_entry_are_dropped() {
        let policy = TargetPolicy::parse_list("10.1.2.3/8").unwrap();
        assert_eq!(policy.allowed(), &["10.0.0.0/8".parse::<IpNet>().unwrap()]);
    }

    #[test]
    fn a_bad_allow_list_entry_is_named_in_the_error() {
        let err = TargetPolicy::parse_list("10.0.0.0/8, intranet.local ,fd00::/8").unwrap_err();
        assert!(err.contains("\"intranet.local\""), "{err}");
        assert!(err.contains("allowed_target_subnets"), "{err}");
        for bad in ["10.0.0.0/33", "300.1.1.1", "fd00::/129", "10.0.0.0/"] {
            let err = TargetPolicy::parse_list(bad).unwrap_err();
            assert!(err.contains(&format!("\"{bad}\"")), "{err}");
        }
    }

    #[test]
    fn the_default_policy_allows_exactly_the_public_addresses() {
        let policy = TargetPolicy::default();
        for s in [
            "8.8.8.8",
            "2606:4700:4700::1111",
            "127.0.0.1",
            "10.0.0.1",
            "::1",
            "fd00::1",
        ] {
            assert_eq!(policy.allows(ip(s)), is_public(ip(s)), "{s}");
        }
    }

    #[test]
    fn allowing_loopback_admits_ipv4_and_ipv4_mapped_loopback_but_not_private() {
        let policy = TargetPolicy::parse_list("127.0.0.0/8").unwrap();
        assert!(policy.allows(ip("127.0.0.1")));
        assert!(policy.allows(ip("::ffff:127.0.0.1")));
        assert!(!policy.allows(ip("10.0.0.1")));
        assert!(!policy.allows(ip("::1")));
        assert!(!policy.allows(ip("64:ff9b::7f00:1")));
        assert!(policy.allows(ip("1.1.1.1")));
    }

    #[test]
    fn an_ipv4_mapped_subnet_in_the_allow_list_admits_the_plain_ipv4_address() {
        let policy = TargetPolicy::parse_list("::ffff:10.0.0.0/104").unwrap();
        assert!(policy.allows(ip("10.1.2.3")));
        assert!(policy.allows(ip("::ffff:10.1.2.3")));
        assert!(!policy.allows(ip("192.168.0.1")));
    }

    #[test]
    fn new_takes_the_subnets_as_given() {
        let nets: Vec<IpNet> = vec!["192.168.0.0/16".parse().unwrap()];
        let policy = TargetPolicy::new(nets.clone());
        assert_eq!(policy.allowed(), nets.as_slice());
        assert!(policy.allows(ip("192.168.3.4")));
        assert!(!policy.allows(ip("172.16.0.1")));
    }

    #[test]
    fn a_refusal_names_the_address_its_kind_and_the_setting() {
        let policy = TargetPolicy::default();
        assert_eq!(
            policy.refusal(ip("127.0.0.1")).unwrap(),
            "The URL's host resolves to 127.0.0.1, a non-public address (loopback). Webhooks may \
             only call public addresses unless the subnet is listed in the \
             allowed_target_subnets setting (BOOKHOOK_ALLOWED_TARGET_SUBNETS)."
        );
        assert!(policy
            .refusal(ip("169.254.169.254"))
            .unwrap()
            .contains("(cloud metadata)"));
        assert!(policy
            .refusal(ip("10.0.0.1"))
            .unwrap()
            .contains("(private)"));
        assert!(policy
            .refusal(ip("100.64.0.1"))
            .unwrap()
            .contains("(CGNAT)"));
        assert!(policy
            .refusal(ip("fd00::1"))
            .unwrap()
            .contains("(unique-local)"));
        assert!(policy
            .refusal(ip("0.0.0.0"))
            .unwrap()
            .contains("(unspecified)"));
    }

    #[test]
    fn a_refusal_of_a_wrapped_ipv4_address_names_both_the_wrapper_and_what_it_wraps() {
        let policy = TargetPolicy::default();
        let msg = policy.refusal(ip("::ffff:127.0.0.1")).unwrap();
        assert!(
            msg.contains("::ffff:127.0.0.1, a non-public address (IPv4-mapped loopback)"),
            "{msg}"
        );
        let msg = policy.refusal(ip("64:ff9b::a00:1")).unwrap();
        assert!(msg.contains("(NAT64 private)"), "{msg}");
    }

    #[test]
    fn there_is_no_refusal_for_a_public_or_allowed_address() {
        let policy = TargetPolicy::parse_list("10.0.0.0/8").unwrap();
        assert_eq!(policy.refusal(ip("8.8.8.8")), None);
        assert_eq!(policy.refusal(ip("10.9.8.7")), None);
        assert!(policy.refusal(ip("192.168.0.1")).is_some());
    }

    // --- URLs ----------------------------------------------------------------------------------

    #[test]
    fn an_https_url_with_port_path_and_query_is_accepted() {
        let u = url("https://hooks.example.com:8443/bookhook/in?token=abc&x=1");
        assert_eq!(
            u.as_str(),
            "https://hooks.example.com:8443/bookhook/in?token=abc&x=1"
        );
        assert_eq!(u.scheme(), "https");
        assert_eq!(u.host(), Host::Domain("hooks.example.com".into()));
        assert_eq!(u.port(), 8443);
    }

    #[test]
    fn an_http_url_gets_port_80_and_an_https_url_port_443_by_default() {
        let u = url("http://example.com/hook?a=b");
        assert_eq!(u.scheme(), "http");
        assert_eq!(u.port(), 80);
        let u = url("https://example.com");
        assert_eq!(u.port(), 443);
        assert_eq!(u.as_str(), "https://example.com/");
        assert_eq!(url("http://example.com:8080/").port(), 8080);
    }

    #[test]
    fn surrounding_whitespace_is_trimmed_and_scheme_and_host_are_lower_cased() {
        let u = url("  \tHTTPS://Hooks.Example.COM/Path \n");
        assert_eq!(u.as_str(), "https://hooks.example.com/Path");
    }

    #[test]
    fn a_fragment_is_dropped() {
        assert_eq!(
            url("https://example.com/h?q=1#section").as_str(),
            "https://example.com/h?q=1"
        );
        assert_eq!(
            url("https://example.com/h#").as_str(),
            "https://example.com/h"
        );
    }

    #[test]
    fn an_empty_url_is_refused() {
        assert_eq!(url_err(""), UrlError::Empty);
        assert_eq!(url_err("   "), UrlError::Empty);
    }

    #[test]
    fn other_schemes_are_refused() {
        assert_eq!(
            url_err("ftp://example.com/"),
            UrlError::UnsupportedScheme("ftp".into())
        );
        assert_eq!(
            url_err("javascript:alert(1)"),
            UrlError::UnsupportedScheme("javascript".into())
        );
        assert!(matches!(
            url_err("file:///etc/passwd"),
            UrlError::UnsupportedScheme(_)
        ));
        assert!(matches!(
            url_err("gopher://127.0.0.1:6379/_"),
            UrlError::UnsupportedScheme(_)
        ));
        assert_eq!(
            url_err("ftp://example.com/").to_string(),
            "Use an absolute http:// or https:// URL; ftp: URLs cannot receive webhooks."
        );
    }

    #[test]
    fn a_relative_url_is_refused() {
        for s in [
            "/hooks/in",
            "example.com/hook",
            "hooks",
            "//example.com/hook",
        ] {
            assert_eq!(url_err(s), UrlError::NotAbsolute, "{s}");
        }
        assert_eq!(
            url_err("/hooks").to_string(),
            "Use an absolute http:// or https:// URL."
        );
    }

    #[test]
    fn a_url_with_a_user_name_or_password_is_refused() {
        for s in [
            "http://user:pass@example.com",
            "http://:pass@example.com",
            "https://user@example.com/",
        ] {
            assert_eq!(url_err(s), UrlError::Credentials, "{s}");
        }
        assert_eq!(
            UrlError::Credentials.to_string(),
            "Remove the user name and password from the URL; the webhook is authenticated by its signature."
        );
    }

    #[test]
    fn a_url_without_a_host_is_refused() {
        assert_eq!(url_err("http://"), UrlError::NoHost);
        assert_eq!(url_err("https:///"), UrlError::NoHost);
    }

    #[test]
    fn a_url_with_an_invalid_host_or_port_is_refused() {
        assert_eq!(url_err("http://exa mple.com/"), UrlError::InvalidHost);
        assert_eq!(url_err("http://[::1/"), UrlError::InvalidHost);
        assert_eq!(url_err("http://example.com:65536/"), UrlError::InvalidPort);
        assert_eq!(url_err("http://example.com:0/"), UrlError::InvalidPort);
    }

    #[test]
    fn a_url_of_2000_characters_is_accepted_and_one_of_2001_refused() {
        let prefix = "https://example.com/";
        let ok = format!("{prefix}{}", "a".repeat(MAX_URL_CHARS - prefix.len()));
        assert_eq!(url(&ok).as_str().len(), MAX_URL_CHARS);
        let long = format!("{ok}a");
        assert_eq!(url_err(&long), UrlError::TooLong);
        assert_eq!(
            url_err(&long).to_string(),
            "Use a URL of at most 2000 characters."
        );
    }

    #[test]
    fn a_url_that_grows_past_2000_characters_when_normalised_is_refused() {
        // Each "é" becomes "%C3%A9".
        let s = format!("https://example.com/{}", "é".repeat(500));
        assert!(s.chars().count() <= MAX_URL_CHARS);
        assert_eq!(url_err(&s), UrlError::TooLong);
    }

    #[test]
    fn disguised_spellings_of_127_0_0_1_come_out_as_the_ip_address() {
        let loopback = Host::Ip(ip("127.0.0.1"));
        for s in [
            "http://2130706433/",
            "http://0x7f.1/",
            "http://0x7f000001/",
            "http://0177.0.0.1/",
            "http://017700000001/",
            "http://127.1/",
            "http://127.0.1/",
            "http://0x7F.0.0.1/",
            "http://127.0.0.1./",
            "http://%31%32%37.0.0.1/",
            "http://①②⑦.0.0.1/",
        ] {
            let u = url(s);
            assert_eq!(u.host(), loopback, "{s}");
            assert_eq!(u.as_str(), "http://127.0.0.1/", "{s}");
            let Host::Ip(addr) = u.host() else {
                unreachable!()
            };
            assert!(!TargetPolicy::default().allows(addr), "{s}");
        }
    }

    #[test]
    fn an_ipv6_host_comes_out_without_brackets() {
        let u = url("http://[::1]:8080/");
        assert_eq!(u.host(), Host::Ip(ip("::1")));
        assert_eq!(u.port(), 8080);
        assert_eq!(
            url("https://[::ffff:127.0.0.1]/").host(),
            Host::Ip(ip("::ffff:7f00:1"))
        );
        assert_eq!(
            url("https://[2606:4700:4700::1111]/").host(),
            Host::Ip(ip("2606:4700:4700::1111"))
        );
    }

    #[test]
    fn localhost_is_a_domain_left_for_resolution_to_judge() {
        assert_eq!(
            url("http://localhost/").host(),
            Host::Domain("localhost".into())
        );
    }

    #[test]
    fn an_international_domain_name_is_stored_in_its_ascii_form() {
        assert_eq!(
            url("https://bücher.example/").host(),
            Host::Domain("xn--bcher-kva.example".into())
        );
    }

    #[test]
    fn a_webhook_url_round_trips_through_serde_and_refuses_bad_input() {
        let u = url("https://example.com/hook");
        let json = serde_json::to_string(&u).unwrap();
        assert_eq!(json, "\"https://example.com/hook\"");
        assert_eq!(serde_json::from_str::<WebhookUrl>(&json).unwrap(), u);
        assert!(serde_json::from_str::<WebhookUrl>("\"ftp://example.com/\"").is_err());
        assert_eq!("https://example.com/hook".parse::<WebhookUrl>().unwrap(), u);
        assert_eq!(u.to_string(), "https://example.com/hook");
    }
}
