//! Passwords (argon2), API keys (random, stored as SHA-256), sign-in throttling and the session.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use rand::Rng;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The session key holding the signed-in user's id.
pub const SESSION_USER_KEY: &str = "user_id";

pub const MIN_PASSWORD_LEN: usize = 10;

/// Hashes on a blocking thread: argon2 takes tens of milliseconds by design.
pub async fn hash_password(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing a password failed: {e}"))
    })
    .await?
}

/// A hash of a random password, verified against when the email is unknown so that the
/// answer takes as long as for a known email.
static DUMMY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(b"no account has this password", &salt)
        .map(|h| h.to_string())
        .unwrap_or_default()
});

pub async fn verify_password(password: String, hash: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| DUMMY_HASH.clone());
        let Ok(parsed) = PasswordHash::new(&hash) else {
            return false;
        };
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
            && known
    })
    .await
    .unwrap_or(false)
}

pub fn validate_email(email: &str) -> Result<String, &'static str> {
    let e = email.trim().to_lowercase();
    let ok = e.len() <= 254
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !e.contains(char::is_whitespace);
    if ok {
        Ok(e)
    } else {
        Err("Enter an email address such as you@example.com.")
    }
}

pub fn validate_new_password(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(format!(
            "Use a password of at least {MIN_PASSWORD_LEN} characters."
        ));
    }
    if password.len() > 1024 {
        return Err("Use a password of at most 1024 bytes.".into());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// API keys

pub const TEST_KEY_PREFIX: &str = "test_api_key_";
pub const LIVE_KEY_PREFIX: &str = "live_api_key_";

pub struct NewKey {
    /// The whole key; shown once, never stored.
    pub plain: String,
    pub hash: String,
    pub hint: String,
}

/// A new key: prefix + 32 random alphanumerics (about 190 bits).
pub fn generate_api_key(live: bool) -> NewKey {
    let body: String = rand::thread_rng()
        .sample_iter(&rand::distributions::Alphanumeric)
        .take(32)
        .map(char::from)
        .collect();
    let plain = format!(
        "{}{body}",
        if live {
            LIVE_KEY_PREFIX
        } else {
            TEST_KEY_PREFIX
        }
    );
    NewKey {
        hash: hash_api_key(&plain),
        hint: body[body.len() - 4..].to_string(),
        plain,
    }
}

pub fn hash_api_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

// ---------------------------------------------------------------------------------------------
// Webhook secrets and message ids

/// A signing secret as Standard Webhooks writes it: `whsec_` + base64 of 24 random bytes.
pub fn generate_webhook_secret() -> String {
    use base64::Engine as _;
    let bytes: [u8; 24] = rand::random();
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// A message id: `msg_` + 27 alphanumerics (no dots: the signed content uses them), the first 8
/// the creation time in milliseconds in base 62 (ASCII order is time order, as Svix's and
/// KSUID's ids are) and 19 random: each new message's row goes at the end of the id's index,
/// not at a random place in it.
pub fn generate_msg_id() -> String {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut id = String::with_capacity(31);
    id.push_str("msg_");
    let mut t = crate::store::now_ms().max(0) as u64;
    let mut time = [b'0'; 8];
    for d in time.iter_mut().rev() {
        *d = DIGITS[(t % 62) as usize];
        t /= 62;
    }
    id.extend(time.iter().map(|&b| b as char));
    id.extend(
        rand::thread_rng()
            .sample_iter(&rand::distributions::Alphanumeric)
            .take(19)
            .map(char::from),
    );
    id
}

// ---------------------------------------------------------------------------------------------
// Sign-in throttling

/// Counts failed sign-ins per client address. After `FREE_FAILURES` failures each further
/// failure locks the client out for twice as long as the last (1 s, 2 s, 4 s … up to 15 min);
/// a success or 30 quiet minutes forget the client.
#[derive(Default)]
pub struct LoginThrottle {
    clients: Mutex<HashMap<IpAddr, Failures>>,
}

struct Failures {
    count: u32,
    last: Instant,
    locked_until: Option<Instant>,
}

const FREE_FAILURES: u32 = 5;
const MAX_LOCK: Duration = Duration::from_secs(15 * 60);
const FORGET_AFTER: Duration = Duration::from_secs(30 * 60);

impl LoginThrottle {
    /// `Err(seconds)` while this client must wait.
    pub fn check(&self, ip: IpAddr) -> Result<(), u64> {
        let now = Instant::now();
        let mut map = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(&ip) {
            Some(f) if now.duration_since(f.last) > FORGET_AFTER => {
                map.remove(&ip);
                Ok(())
            }
            Some(Failures {
                locked_until: Some(until),
                ..
            }) if *until > now => Err((*until - now).as_secs().max(1)),
            _ => Ok(()),
        }
    }

    pub fn failed(&self, ip: IpAddr) {
        let now = Instant::now();
        let mut map = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            map.retain(|_, f| now.duration_since(f.last) <= FORGET_AFTER);
        }
        let f = map.entry(ip).or_insert(Failures {
            count: 0,
            last: now,
            locked_until: None,
        });
        f.count += 1;
        f.last = now;
        if f.count >= FREE_FAILURES {
            let exp = (f.count - FREE_FAILURES).min(20);
            let lock = Duration::from_secs(1u64 << exp).min(MAX_LOCK);
            f.locked_until = Some(now + lock);
        }
    }

    pub fn succeeded(&self, ip: IpAddr) {
        self.clients
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&ip);
    }
}

/// `BOOKHOOK_ADMIN_EMAIL` / `BOOKHOOK_ADMIN_PASSWORD` create the first account unattended.
pub async fn create_admin_from_env(
    db: &crate::store::Db,
    settings: &crate::config::Settings,
) -> anyhow::Result<()> {
    let (Some(email), Some(password)) = (&settings.admin_email, &settings.admin_password) else {
        return Ok(());
    };
    if crate::store::count_users(db).await? > 0 {
        tracing::debug!("an admin account exists; BOOKHOOK_ADMIN_EMAIL is not used");
        return Ok(());
    }
    let email = validate_email(email).map_err(|m| anyhow::anyhow!("BOOKHOOK_ADMIN_EMAIL: {m}"))?;
    validate_new_password(password.expose())
        .map_err(|m| anyhow::anyhow!("BOOKHOOK_ADMIN_PASSWORD: {m}"))?;
    let hash = hash_password(password.expose().to_string()).await?;
    if let crate::store::FirstAdmin::Created { .. } =
        crate::store::create_first_admin(db, &email, &hash).await?
    {
        tracing::info!(email = %email, "admin account created from the environment");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_password_verifies_against_its_own_hash_only() {
        let h = hash_password("correct horse battery".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery".into(), Some(h.clone())).await);
        assert!(!verify_password("wrong".into(), Some(h)).await);
        assert!(!verify_password("anything".into(), None).await);
    }

    #[test]
    fn api_keys_have_their_prefix_and_are_stored_hashed() {
        let k = generate_api_key(false);
        assert!(k.plain.starts_with("test_api_key_"));
        assert_eq!(k.plain.len(), "test_api_key_".len() + 32);
        assert_eq!(k.hash, hash_api_key(&k.plain));
        assert!(!k.hash.contains(&k.plain[13..]));
        assert!(generate_api_key(true).plain.starts_with("live_api_key_"));
        assert_ne!(generate_api_key(true).plain, generate_api_key(true).plain);
    }

    #[test]
    fn webhook_secrets_and_message_ids_have_their_shape() {
        use base64::Engine as _;
        let s = generate_webhook_secret();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(s.strip_prefix("whsec_").unwrap())
            .unwrap();
        assert_eq!(raw.len(), 24);
        let m = generate_msg_id();
        assert!(m.starts_with("msg_") && m.len() == 31 && !m.contains('.'));
        assert!(m[4..].chars().all(|c| c.is_ascii_alphanumeric()), "{m}");
        assert_ne!(generate_msg_id(), m);
        // Later ids sort after earlier ones.
        std::thread::sleep(std::time::Duration::from_millis(2));
        let later = generate_msg_id();
        assert!(later[..12] > m[..12], "{m} {later}");
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            validate_email(" Ada@Example.COM ").unwrap(),
            "ada@example.com"
        );
        assert!(validate_email("ada").is_err());
        assert!(validate_email("ada@localhost").is_err());
        assert!(validate_email("a b@example.com").is_err());
    }

    #[test]
    fn the_throttle_locks_after_five_failures_and_forgets_on_success() {
        let t = LoginThrottle::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        for _ in 0..4 {
            t.failed(ip);
            assert!(t.check(ip).is_ok());
        }
        t.failed(ip);
        assert!(t.check(ip).is_err());
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(t.check(other).is_ok());
        t.succeeded(ip);
        assert!(t.check(ip).is_ok());
    }
}
