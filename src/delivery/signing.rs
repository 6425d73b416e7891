//! Signing deliveries (Standard Webhooks and Timekit), and checking them as a receiver would.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The prefix that marks a Standard Webhooks secret; what follows it is base64.
pub const SECRET_PREFIX: &str = "whsec_";

/// How far `webhook-timestamp` may be from the receiver's clock, either way (spec: 5 minutes).
pub const TIMESTAMP_TOLERANCE_SECS: i64 = 300;

/// Why a secret cannot be used for signing.
///
/// The messages never quote the secret, nor any byte of it: they end up in logs and API errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningError {
    #[error("the webhook secret is not valid base64 (after the optional `whsec_` prefix)")]
    NotBase64,
    #[error("the webhook secret is empty")]
    Empty,
}

/// Why a receiver refuses a delivery.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the webhook secret is unusable: {0}")]
    BadSecret(SigningError),
    #[error("the webhook timestamp is more than {TIMESTAMP_TOLERANCE_SECS} seconds in the past")]
    TimestampTooOld,
    #[error("the webhook timestamp is more than {TIMESTAMP_TOLERANCE_SECS} seconds in the future")]
    TimestampTooNew,
    #[error("no signature in the header matches the message")]
    NoMatch,
    #[error("the signature header holds no `v1,<base64>` signature")]
    Malformed,
}

/// The HMAC key behind a secret: the `whsec_` prefix (if any) removed, the rest base64-decoded.
pub fn decode_secret(secret: &str) -> Result<Vec<u8>, SigningError> {
    let encoded = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    // base64's own error names the offending byte, which is part of the secret: drop it.
    let key = STANDARD
        .decode(encoded)
        .map_err(|_| SigningError::NotBase64)?;
    if key.is_empty() {
        return Err(SigningError::Empty);
    }
    Ok(key)
}

fn mac(key: &[u8], msg_id: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The Standard Webhooks signature of one attempt, `v1,<base64>`.
///
/// `msg_id` must not contain `.`: the signed content would then be ambiguous.
pub fn sign(
    secret: &str,
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, SigningError> {
    let key = decode_secret(secret)?;
    let tag = mac(&key, msg_id, timestamp, body).finalize().into_bytes();
    Ok(format!("v1,{}", STANDARD.encode(tag)))
}

/// The whole `webhook-signature` header: one signature per secret, separated by a single space,
/// so that receivers keep verifying while a secret is being rotated (new and old both sign).
pub fn signature_header(
    secrets: &[&str],
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, SigningError> {
    let signatures = secrets
        .iter()
        .map(|secret| sign(secret, msg_id, timestamp, body))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(signatures.join(" "))
}

/// Timekit's `x-timekit-signature`: lowercase hex HMAC-SHA256 of the raw body.
pub fn timekit_signature(secret: &str, body: &[u8]) -> String {
    // Timekit keyed the HMAC with the app's secret string itself, not with decoded bytes, so the
    // whole `whsec_…` string is the key here; receivers ported from Timekit keep working unchanged.
    let mut mac =
        HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// What a receiver does with a delivery: the timestamp must be within
/// [`TIMESTAMP_TOLERANCE_SECS`] of `now` (both Unix seconds), and at least one `v1,` signature in
/// `header` must match. Entries of other versions are skipped, as the spec asks.
pub fn verify(
    secret: &str,
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
    header: &str,
    now: i64,
) -> Result<(), VerifyError> {
    let key = decode_secret(secret).map_err(VerifyError::BadSecret)?;
    // abs_diff, because a hostile timestamp near i64::MIN or MAX must not overflow.
    if now.abs_diff(timestamp) > TIMESTAMP_TOLERANCE_SECS.unsigned_abs() {
        return Err(if timestamp < now {
            VerifyError::TimestampTooOld
        } else {
            VerifyError::TimestampTooNew
        });
    }
    let expected = mac(&key, msg_id, timestamp, body);
    let mut saw_v1 = false;
    for entry in header.split_whitespace() {
        let Some(("v1", encoded)) = entry.split_once(',') else {
            continue;
        };
        let Ok(candidate) = STANDARD.decode(encoded) else {
            continue;
        };
        saw_v1 = true;
        // verify_slice compares in constant time, so timing reveals nothing about the expected tag.
        if expected.clone().verify_slice(&candidate).is_ok() {
            return Ok(());
        }
    }
    Err(if saw_v1 {
        VerifyError::NoMatch
    } else {
        VerifyError::Malformed
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const MSG_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: i64 = 1696200454;
    const BODY: &[u8] = br#"{"type": "example.created", "timestamp":"2023-09-28T19:20:22+00:00", "data":{"str":"string","bool":true,"int":42}}"#;
    // A second secret for rotation tests: base64 of "second-secret-for-rotation!".
    const OTHER_SECRET: &str = "whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24h";

    #[test]
    fn the_first_official_test_vector_is_reproduced() {
        assert_eq!(
            sign(SECRET, MSG_ID, TS, BODY).unwrap(),
            "v1,GgjvufBlIj71MBIVQotYGb+xEC3LNXCsIZp0HsDC8qs="
        );
    }

    #[test]
    fn the_second_official_test_vector_is_reproduced() {
        assert_eq!(
            sign(SECRET, MSG_ID, 1614265330, br#"{"test": 2432232314}"#).unwrap(),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn a_secret_without_the_prefix_signs_the_same() {
        let bare = SECRET.strip_prefix("whsec_").unwrap();
        assert_eq!(
            sign(bare, MSG_ID, TS, BODY).unwrap(),
            sign(SECRET, MSG_ID, TS, BODY).unwrap()
        );
        assert_eq!(
            verify(
                bare,
                MSG_ID,
                TS,
                BODY,
                &sign(SECRET, MSG_ID, TS, BODY).unwrap(),
                TS
            ),
            Ok(())
        );
    }

    #[test]
    fn a_bad_secret_is_an_error_that_does_not_reveal_it() {
        for secret in ["whsec_not*base64!", "whsec_", "s3cr3t-with-dashes"] {
            let err = sign(secret, MSG_ID, TS, BODY).unwrap_err();
            let message = err.to_string();
            let hidden = secret.strip_prefix("whsec_").unwrap_or(secret);
            assert!(hidden.is_empty() || !message.contains(hidden), "{message}");
            let err = verify(secret, MSG_ID, TS, BODY, "v1,AAAA", TS).unwrap_err();
            assert!(matches!(err, VerifyError::BadSecret(_)));
            assert!(hidden.is_empty() || !err.to_string().contains(hidden));
        }
    }

    #[test]
    fn two_secrets_give_two_space_separated_signatures_and_either_verifies() {
        let header = signature_header(&[OTHER_SECRET, SECRET], MSG_ID, TS, BODY).unwrap();
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], sign(OTHER_SECRET, MSG_ID, TS, BODY).unwrap());
        assert_eq!(parts[1], "v1,GgjvufBlIj71MBIVQotYGb+xEC3LNXCsIZp0HsDC8qs=");
        assert_eq!(verify(SECRET, MSG_ID, TS, BODY, &header, TS), Ok(()));
        assert_eq!(verify(OTHER_SECRET, MSG_ID, TS, BODY, &header, TS), Ok(()));
    }

    #[test]
    fn a_header_fails_as_a_whole_if_any_secret_is_bad() {
        assert!(signature_header(&[SECRET, "whsec_%%%"], MSG_ID, TS, BODY).is_err());
    }

    #[test]
    fn verify_accepts_the_official_vector() {
        let header = "v1,GgjvufBlIj71MBIVQotYGb+xEC3LNXCsIZp0HsDC8qs=";
        assert_eq!(verify(SECRET, MSG_ID, TS, BODY, header, TS + 10), Ok(()));
    }

    #[test]
    fn verify_refuses_a_changed_body_a_changed_id_and_a_wrong_secret() {
        let header = sign(SECRET, MSG_ID, TS, BODY).unwrap();
        let mut changed = BODY.to_vec();
        changed[2] = b'T';
        assert_eq!(
            verify(SECRET, MSG_ID, TS, &changed, &header, TS),
            Err(VerifyError::NoMatch)
        );
        assert_eq!(
            verify(
                SECRET,
                "msg_p5jXN8AQM9LWM0D4loKWxJeK",
                TS,
                BODY,
                &header,
                TS
            ),
            Err(VerifyError::NoMatch)
        );
        assert_eq!(
            verify(OTHER_SECRET, MSG_ID, TS, BODY, &header, TS),
            Err(VerifyError::NoMatch)
        );
    }

    #[test]
    fn verify_refuses_a_signature_made_for_another_timestamp() {
        let header = sign(SECRET, MSG_ID, TS, BODY).unwrap();
        assert_eq!(
            verify(SECRET, MSG_ID, TS + 1, BODY, &header, TS),
            Err(VerifyError::NoMatch)
        );
    }

    #[test]
    fn verify_refuses_timestamps_more_than_five_minutes_away_but_not_at_five() {
        let header = sign(SECRET, MSG_ID, TS, BODY).unwrap();
        assert_eq!(
            verify(SECRET, MSG_ID, TS, BODY, &header, TS + 301),
            Err(VerifyError::TimestampTooOld)
        );
        assert_eq!(
            verify(SECRET, MSG_ID, TS, BODY, &header, TS - 301),
            Err(VerifyError::TimestampTooNew)
        );
        assert_eq!(verify(SECRET, MSG_ID, TS, BODY, &header, TS + 300), Ok(()));
        assert_eq!(verify(SECRET, MSG_ID, TS, BODY, &header, TS - 300), Ok(()));
    }

    #[test]
    fn extreme_timestamps_are_refused_without_overflowing() {
        let header = sign(SECRET, MSG_ID, i64::MIN, BODY).unwrap();
        assert_eq!(
            verify(SECRET, MSG_ID, i64::MIN, BODY, &header, i64::MAX),
            Err(VerifyError::TimestampTooOld)
        );
        assert_eq!(
            verify(SECRET, MSG_ID, i64::MAX, BODY, &header, i64::MIN),
            Err(VerifyError::TimestampTooNew)
        );
    }

    #[test]
    fn verify_skips_other_versions_and_garbage_but_calls_a_header_without_v1_malformed() {
        let good = sign(SECRET, MSG_ID, TS, BODY).unwrap();
        let header = format!("v1a,AAAA garbage v1,***  {good} ");
        assert_eq!(verify(SECRET, MSG_ID, TS, BODY, &header, TS), Ok(()));
        for header in [
            "",
            "   ",
            "v1a,AAAA",
            "v1,not base64!",
            "GgjvufBlIj71MBIVQotYGb+xEC3LNXCsIZp0HsDC8qs=",
        ] {
            assert_eq!(
                verify(SECRET, MSG_ID, TS, BODY, header, TS),
                Err(VerifyError::Malformed),
                "{header:?}"
            );
        }
    }

    #[test]
    fn a_truncated_signature_does_not_match() {
        let good = sign(SECRET, MSG_ID, TS, BODY).unwrap();
        let tag = STANDARD.decode(&good[3..]).unwrap();
        let short = format!("v1,{}", STANDARD.encode(&tag[..16]));
        assert_eq!(
            verify(SECRET, MSG_ID, TS, BODY, &short, TS),
            Err(VerifyError::NoMatch)
        );
    }

    #[test]
    fn verify_errors_read_as_sentences() {
        assert!(VerifyError::TimestampTooOld
            .to_string()
            .contains("300 seconds in the past"));
        assert!(VerifyError::NoMatch.to_string().contains("no signature"));
    }

    #[test]
    fn the_timekit_signature_is_lowercase_hex_of_the_rfc_4231_hmac() {
        // RFC 4231, test case 2: HMAC-SHA256 with key "Jefe".
        assert_eq!(
            timekit_signature("Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn the_timekit_signature_is_keyed_with_the_whole_secret_string() {
        let body = br#"{"booking":"bk_1"}"#;
        let signature = timekit_signature(SECRET, body);
        assert_eq!(signature.len(), 64);
        assert!(signature
            .chars()
            .all(|c| matches!(c, '0'..='9' | 'a'..='f')));
        // Computed once with Python: hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert_eq!(
            signature,
            "4d2ffe21ad622538bd160628afc70cfcb6d5f5d048e82c6e56aca5dd6447caaf"
        );
        let mut direct = HmacSha256::new_from_slice(SECRET.as_bytes()).unwrap();
        direct.update(body);
        assert_eq!(signature, hex::encode(direct.finalize().into_bytes()));
        let mut decoded_key = HmacSha256::new_from_slice(&decode_secret(SECRET).unwrap()).unwrap();
        decoded_key.update(body);
        assert_ne!(signature, hex::encode(decoded_key.finalize().into_bytes()));
    }
}
