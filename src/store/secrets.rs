//! Webhook signing secrets at rest. They must be readable to sign (hashing them, as API keys and
//! passwords are, would not do), so they are encrypted with XChaCha20-Poly1305 under a key that
//! is not in the database: `BOOKHOOK_SECRET_KEY`, or else `<data_dir>/secret.key`, created on
//! first start. A copy of the database alone does not reveal them.
//!
//! Stored form: `enc1:` + base64(24-byte nonce ‖ ciphertext ‖ tag). A value without the prefix is
//! a secret written before encryption existed; start-up encrypts those in place.

use anyhow::{bail, Context};
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use std::path::Path;
use std::sync::Arc;

const PREFIX: &str = "enc1:";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The key from `BOOKHOOK_SECRET_KEY` (base64 of 32 bytes), or from the key file in the data
/// folder, created (mode 0600) when missing. Several instances started together agree on one
/// file: each writes its candidate aside and only the first link to the final name wins.
pub fn load_key(from_env: Option<&str>, data_dir: &Path) -> anyhow::Result<[u8; 32]> {
    if let Some(k) = from_env {
        return decode_key(k).context("secret_key: must be the base64 of 32 random bytes");
    }
    let path = data_dir.join("secret.key");
    if !path.exists() {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating the data folder {}", data_dir.display()))?;
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        let tmp = data_dir.join(format!("secret.key.{}", std::process::id()));
        write_private(&tmp, B64.encode(key).as_bytes())?;
        let linked = std::fs::hard_link(&tmp, &path);
        let _ = std::fs::remove_file(&tmp);
        if let Err(e) = linked {
            if e.kind() != std::io::ErrorKind::AlreadyExists {
                return Err(e).with_context(|| format!("writing {}", path.display()));
            }
        }
    }
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading the secret key {}", path.display()))?;
    decode_key(text.trim())
        .with_context(|| format!("{}: not a bookhook secret key", path.display()))
}

fn decode_key(b64: &str) -> anyhow::Result<[u8; 32]> {
    let bytes = B64.decode(b64.trim())?;
    match <[u8; 32]>::try_from(bytes.as_slice()) {
        Ok(k) => Ok(k),
        Err(_) => bail!("{} bytes, not 32", bytes.len()),
    }
}

fn write_private(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(data)?;
    f.sync_all()?;
    Ok(())
}

/// The cipher of one database's secrets, built from its key once at start-up and held by the
/// [`Db`]; cloning it shares the same key.
#[derive(Clone)]
pub struct Secrets(Arc<XChaCha20Poly1305>);

impl Secrets {
    pub fn new(key: [u8; 32]) -> Self {
        Self(Arc::new(XChaCha20Poly1305::new((&key).into())))
    }

    /// A random key of its own, for tools and tests that never read a secret written by a
    /// server.
    pub fn ephemeral() -> Self {
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        Self::new(key)
    }

    /// The stored form of a secret.
    pub fn seal(&self, plain: &str) -> String {
        let mut nonce = [0u8; 24];
        rand::thread_rng().fill_bytes(&mut nonce);
        let ct = self
            .0
            .encrypt(XNonce::from_slice(&nonce), plain.as_bytes())
            .expect("XChaCha20-Poly1305 encrypts any length");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        format!("{PREFIX}{}", B64.encode(out))
    }

    /// The secret of a stored value: decrypted, or as is when written before encryption
    /// existed. `None` when it cannot be decrypted with this key.
    pub fn open(&self, stored: &str) -> Option<String> {
        if !stored.starts_with(PREFIX) {
            return Some(stored.to_string());
        }
        let raw = B64.decode(stored.strip_prefix(PREFIX)?).ok()?;
        if raw.len() < 24 {
            return None;
        }
        let (nonce, ct) = raw.split_at(24);
        let plain = self.0.decrypt(XNonce::from_slice(nonce), ct).ok()?;
        String::from_utf8(plain).ok()
    }

    /// A stored value for reading code that cannot fail: the secret, or empty (and an error in
    /// the log) when it does not decrypt, so an attempt signed with it fails visibly instead of
    /// using a wrong secret.
    pub fn reveal(&self, stored: &str) -> String {
        self.open(stored).unwrap_or_else(|| {
            tracing::error!("a webhook secret does not decrypt with this server's secret key");
            String::new()
        })
    }
}

pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_round_trip_and_are_not_stored_in_clear() {
        let k = Secrets::ephemeral();
        let (seal, open) = (|p: &str| k.seal(p), |p: &str| k.open(p));
        let s = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let sealed = seal(s);
        assert!(is_sealed(&sealed));
        assert!(!sealed.contains("MfKQ9r8"));
        assert_ne!(seal(s), sealed, "a fresh nonce each time");
        assert_eq!(open(&sealed).as_deref(), Some(s));
        assert_eq!(open(s).as_deref(), Some(s), "legacy plaintext reads as is");
    }

    #[test]
    fn tampering_or_another_key_does_not_decrypt() {
        let k = Secrets::ephemeral();
        let open = |p: &str| k.open(p);
        let sealed = k.seal("whsec_abc");
        let mut raw = B64.decode(&sealed[PREFIX.len()..]).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        assert_eq!(open(&format!("{PREFIX}{}", B64.encode(&raw))), None);
        assert_eq!(Secrets::new([7u8; 32]).open(&sealed), None);
        assert_eq!(open("enc1:!!!"), None);
        assert_eq!(open("enc1:AAAA"), None);
    }

    #[test]
    fn the_key_file_is_created_once_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_key(None, dir.path()).unwrap();
        let b = load_key(None, dir.path()).unwrap();
        assert_eq!(a, b);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("secret.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let k = B64.encode([1u8; 32]);
        assert_eq!(load_key(Some(&k), dir.path()).unwrap(), [1u8; 32]);
        assert!(load_key(Some("short"), dir.path()).is_err());
    }
}
