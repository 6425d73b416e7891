//! What the fuzz targets (`src/bin/fuzz_*.rs`, `make fuzz`) check, as plain functions: libFuzzer
//! calls them with its generated inputs, and the unit tests below call them with the seed inputs
//! in `tests/fuzz/` and with random bytes, so a broken check fails `cargo test` too.
//!
//! Each function must never panic on any input; it panics (and so the fuzzer reports a crash)
//! only when a promise about the parsed result is broken.

use crate::api::bookings::{check_booking, BookingIn};
use crate::api::webhooks::WebhookIn;
use crate::api::{parse_json, ApiError};
use crate::domain::booking::{parse_time, rfc3339, Includes, Search};
use crate::domain::graph::Graph;
use crate::domain::subscription::parse_events;
use crate::domain::webhook::{classify, is_public, Host, TargetPolicy, WebhookUrl};

/// A refused body must be a 4xx that names what is wrong.
fn assert_clear_refusal(e: &ApiError) {
    assert!(e.status.is_client_error(), "status {}", e.status);
    assert!(!e.message.trim().is_empty(), "empty error message");
    assert!(
        e.field.as_deref() != Some(""),
        "an error names an empty field"
    );
}

/// An API request body. The first byte picks the endpoint's body type, the rest is the body
/// exactly as a client would send it (bytes, not necessarily UTF-8 or JSON).
pub fn api_body(data: &[u8]) {
    let Some((&kind, body)) = data.split_first() else {
        return;
    };
    match kind % 2 {
        0 => booking_body(body),
        _ => webhook_body(body),
    }
}

fn booking_body(body: &[u8]) {
    let parsed =
        parse_json::<BookingIn>(body).and_then(|b| check_booking(b).map_err(ApiError::from));
    match parsed {
        Err(e) => assert_clear_refusal(&e),
        Ok(b) => {
            // Only a seat may leave its place out: it takes its class's.
            let seat = matches!(b.graph, Graph::GroupCustomer | Graph::GroupCustomerPayment);
            if !seat {
                assert!(b.resource_id.is_some() && b.start_at.is_some() && b.end_at.is_some());
                assert!(b.what.is_some());
            }
            if let (Some(start), Some(end)) = (b.start_at, b.end_at) {
                assert!(end > start, "end is not after start");
            }
            assert!(b.resource_id.as_ref().is_none_or(|r| !r.trim().is_empty()));
            assert!(b
                .what
                .as_ref()
                .is_none_or(|w| !w.is_empty() && w.chars().count() <= 500));
            // Times the API accepted are times it can write back, and read again unchanged
            // to the second (the API writes seconds).
            for t in [b.start_at, b.end_at].into_iter().flatten() {
                let written = rfc3339(t);
                assert!(!written.is_empty(), "accepted time {t} cannot be written");
                assert_eq!(parse_time(&written), Some(t - t.rem_euclid(1000)));
            }
            if let Some(c) = &b.customer {
                assert!(c.email.contains('@'));
                assert!(!c.name.is_empty());
            }
        }
    }
}

fn webhook_body(body: &[u8]) {
    let input = match parse_json::<WebhookIn>(body).and_then(WebhookIn::into_input) {
        Err(e) => return assert_clear_refusal(&e),
        Ok(input) => input,
    };
    if let Some(url) = &input.url {
        webhook_url_str(url);
    }
    if let Some(events) = &input.events {
        if let Ok(pairs) = parse_events(events) {
            assert!(!pairs.is_empty() && pairs.len() <= 200);
            for (g, s) in pairs {
                assert!(g.has_state(s), "{g} cannot enter {s}");
            }
        }
    }
}

/// The search syntax of `GET /bookings?search=` and the `include=` list.
pub fn search(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(found) = Search::parse(s) {
        // What was understood can be written back and is understood the same way.
        if let (Some(lo), Some(hi)) = found.start_bounds() {
            assert!(lo < hi, "an empty range of days");
        }
        assert_eq!(Search::parse(&found.to_string()), Ok(found));
    }
    if let Ok(inc) = Includes::parse(s) {
        let names = [
            (inc.customers, "customers"),
            (inc.event, "event"),
            (inc.calendar, "calendar"),
            (inc.available_actions, "available_actions"),
            (inc.logs, "logs"),
        ];
        let list: Vec<&str> = names
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, n)| *n)
            .collect();
        assert_eq!(Includes::parse(&list.join(",")), Ok(inc));
    }
    if let Ok(policy) = TargetPolicy::parse_list(s) {
        for net in policy.allowed() {
            for ip in [net.network(), net.broadcast()] {
                assert!(policy.allows(ip), "{net} does not allow {ip}");
                assert_eq!(policy.refusal(ip), None, "{net} refuses {ip}");
            }
        }
    }
}

/// The webhook URL parser and the address check that judges its host.
pub fn webhook_url(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data) {
        webhook_url_str(s);
    }
}

fn webhook_url_str(s: &str) {
    let Ok(url) = WebhookUrl::parse(s) else {
        return;
    };
    // The stored form is what gets called, so it must parse to itself.
    let again = WebhookUrl::parse(url.as_str()).expect("a stored URL parses again");
    assert_eq!(again.as_str(), url.as_str());
    assert!(url.scheme() == "http" || url.scheme() == "https");
    assert!(url.as_url().fragment().is_none());
    assert_ne!(url.port(), 0);
    match url.host() {
        Host::Ip(ip) => assert_eq!(is_public(ip), classify(ip).is_none(), "{ip}"),
        Host::Domain(d) => {
            assert!(!d.is_empty());
            // A name that is an address in disguise would dodge the literal-address check.
            assert!(d.parse::<std::net::IpAddr>().is_err(), "{d} is an address");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::path::Path;

    /// Every seed input of a target, as `make fuzz` starts from them.
    fn seeds(target: &str) -> Vec<Vec<u8>> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fuzz")
            .join(target);
        let mut out: Vec<Vec<u8>> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|f| std::fs::read(f.unwrap().path()).unwrap())
            .collect();
        out.sort();
        assert!(out.len() >= 5, "{target} has only {} seeds", out.len());
        out
    }

    #[test]
    fn the_seed_inputs_pass_their_checks() {
        for s in seeds("api_body") {
            api_body(&s);
        }
        for s in seeds("search") {
            search(&s);
        }
        for s in seeds("webhook_url") {
            webhook_url(&s);
        }
    }

    #[test]
    fn a_refused_booking_body_is_a_named_4xx() {
        // The check the fuzzer relies on is live: a wrong body is refused, and refusals pass.
        let e = parse_json::<BookingIn>(br#"{"graph":"instant"}"#)
            .and_then(|b| check_booking(b).map_err(ApiError::from))
            .err()
            .expect("no resource_id");
        assert_eq!(e.field.as_deref(), Some("resource_id"));
        assert_clear_refusal(&e);
    }

    #[test]
    #[should_panic(expected = "status")]
    fn a_500_would_be_caught() {
        let mut e = ApiError::invalid("url", "x");
        e.status = http::StatusCode::INTERNAL_SERVER_ERROR;
        assert_clear_refusal(&e);
    }

    proptest! {
        #[test]
        fn random_bytes_pass_every_check(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            api_body(&data);
            search(&data);
            webhook_url(&data);
        }

        #[test]
        fn mutated_seeds_pass_every_check(pick in any::<prop::sample::Index>(),
                                          at in any::<prop::sample::Index>(),
                                          byte in any::<u8>()) {
            for target in ["api_body", "search", "webhook_url"] {
                let all = seeds(target);
                let mut s = all[pick.index(all.len())].clone();
                if !s.is_empty() {
                    let i = at.index(s.len());
                    s[i] = byte;
                }
                match target {
                    "api_body" => api_body(&s),
                    "search" => search(&s),
                    _ => webhook_url(&s),
                }
            }
        }
    }
}
