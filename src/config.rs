//! Settings: documented defaults, then an optional `bookhook.toml`, then `BOOKHOOK_*` variables.

use crate::delivery::retry::RetrySchedule;
use crate::domain::webhook::TargetPolicy;
use anyhow::{bail, Context};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// A value that must never reach a log line or an error text.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Every setting of the server, with the names used in `bookhook.toml`.
/// The environment variable of each is `BOOKHOOK_` + the name in upper case.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address and port the panel, the API and the health checks listen on.
    pub listen: SocketAddr,
    /// Folder for the embedded SQLite database and other local state.
    pub data_dir: PathBuf,
    /// `sqlite://…` (default: `<data_dir>/bookhook.db`) or `postgres://…` (several instances
    /// may share one PostgreSQL database).
    pub database_url: String,
    /// Connections this instance's pool opens at most (default 8 on SQLite, 16 on PostgreSQL).
    pub database_max_connections: u32,
    /// How long a call waits for the database (a connection, on PostgreSQL) before it is
    /// answered 503 `storage_unavailable`.
    pub database_wait_secs: u64,
    /// A `tracing` filter such as `info` or `bookhook=debug,info`.
    pub log_level: String,
    /// The URL people reach the panel at; `https://…` marks the session cookie `Secure` and
    /// sends `Strict-Transport-Security`.
    pub public_url: String,
    /// Folder of the built site (JS, WASM, CSS) that cargo-leptos writes.
    pub site_root: String,
    /// Create this admin account at start-up when no account exists (environment only).
    pub admin_email: Option<String>,
    pub admin_password: Option<Secret>,
    /// The key webhook secrets are encrypted with at rest (base64 of 32 bytes; environment
    /// only). Unset: `<data_dir>/secret.key`, created on first start.
    pub secret_key: Option<Secret>,
    /// Seconds a client has to send a request's headers before its connection is closed.
    pub header_read_timeout_secs: u64,
    /// Minutes of inactivity after which a panel session ends.
    pub session_idle_minutes: i64,
    /// Non-public subnets that webhooks may call anyway (empty: only public addresses).
    pub allowed_target_subnets: TargetPolicy,
    /// Run the delivery worker in this process (off: deliveries wait for another instance).
    pub delivery_enabled: bool,
    /// Per-attempt timeout.
    pub delivery_timeout_secs: u64,
    /// Delays between attempts, e.g. `5s, 5m, 30m, 2h, 5h, 10h, 10h` (each ±20 % jitter).
    pub retry_schedule: RetrySchedule,
    /// Messages in flight at once, in all and per endpoint.
    pub delivery_concurrency: usize,
    pub delivery_concurrency_per_endpoint: usize,
    /// A webhook with nothing but failures for this many hours is disabled.
    pub disable_failing_after_hours: u64,
    /// Attempts and finished messages older than this are purged.
    pub retention_days: u64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    listen: Option<String>,
    data_dir: Option<String>,
    database_url: Option<String>,
    database_max_connections: Option<u32>,
    database_wait_secs: Option<u64>,
    log_level: Option<String>,
    public_url: Option<String>,
    site_root: Option<String>,
    session_idle_minutes: Option<i64>,
    header_read_timeout_secs: Option<u64>,
    allowed_target_subnets: Option<String>,
    delivery_enabled: Option<bool>,
    delivery_timeout_secs: Option<u64>,
    retry_schedule: Option<String>,
    delivery_concurrency: Option<usize>,
    delivery_concurrency_per_endpoint: Option<usize>,
    disable_failing_after_hours: Option<u64>,
    retention_days: Option<u64>,
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:3000";
pub const DEFAULT_DATA_DIR: &str = "./data";
pub const DEFAULT_LOG_LEVEL: &str = "info";
pub const DEFAULT_SITE_ROOT: &str = "target/site";
pub const DEFAULT_SESSION_IDLE_MINUTES: i64 = 7 * 24 * 60;
pub const DEFAULT_DATABASE_WAIT_SECS: u64 = 2;

impl Settings {
    /// Loads the layers in order. `file` is `--config`; without it `./bookhook.toml` is read
    /// when it exists (or the file named by `BOOKHOOK_CONFIG`).
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let env = |k: &str| {
            std::env::var(format!("BOOKHOOK_{k}"))
                .ok()
                .filter(|v| !v.is_empty())
        };
        let path = file
            .map(Path::to_path_buf)
            .or_else(|| env("CONFIG").map(PathBuf::from));
        let file_settings = match path {
            Some(p) => read_file(&p)?,
            None if Path::new("bookhook.toml").exists() => read_file(Path::new("bookhook.toml"))?,
            None => FileSettings::default(),
        };
        Self::from_layers(file_settings, env)
    }

    fn from_layers(f: FileSettings, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let listen_s = env("LISTEN")
            .or(f.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.into());
        let listen: SocketAddr = listen_s.parse().with_context(|| {
            format!("listen: '{listen_s}' is not an address:port such as 127.0.0.1:3000")
        })?;
        let data_dir = PathBuf::from(
            env("DATA_DIR")
                .or(f.data_dir)
                .unwrap_or_else(|| DEFAULT_DATA_DIR.into()),
        );
        let database_url = env("DATABASE_URL")
            .or(f.database_url)
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("bookhook.db").display()));
        let is_postgres = match crate::store::Backend::from_url(&database_url) {
            Some(b) => b == crate::store::Backend::Postgres,
            None => bail!("database_url: must start with sqlite:// or postgres://"),
        };
        let database_max_connections = number(
            &env,
            "DATABASE_MAX_CONNECTIONS",
            f.database_max_connections.map(u64::from),
            if is_postgres { 16 } else { 8 },
            1,
            1_000,
        )? as u32;
        let database_wait_secs = number(
            &env,
            "DATABASE_WAIT_SECS",
            f.database_wait_secs,
            DEFAULT_DATABASE_WAIT_SECS,
            1,
            60,
        )?;
        let public_url = env("PUBLIC_URL")
            .or(f.public_url)
            .unwrap_or_else(|| format!("http://{listen}"));
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            bail!("public_url: must start with http:// or https://");
        }
        let session_idle_minutes = match env("SESSION_IDLE_MINUTES") {
            Some(v) => v
                .parse()
                .with_context(|| format!("session_idle_minutes: '{v}' is not a whole number"))?,
            None => f
                .session_idle_minutes
                .unwrap_or(DEFAULT_SESSION_IDLE_MINUTES),
        };
        if session_idle_minutes < 1 {
            bail!("session_idle_minutes: must be at least 1");
        }
        let subnets = env("ALLOWED_TARGET_SUBNETS")
            .or(f.allowed_target_subnets)
            .unwrap_or_default();
        let allowed_target_subnets = TargetPolicy::parse_list(&subnets)
            .map_err(|m| anyhow::anyhow!("allowed_target_subnets: {m}"))?;
        let retry_schedule = match env("RETRY_SCHEDULE").or(f.retry_schedule) {
            Some(s) => {
                RetrySchedule::parse(&s).map_err(|m| anyhow::anyhow!("retry_schedule: {m}"))?
            }
            None => RetrySchedule::default(),
        };
        let delivery_enabled = match env("DELIVERY_ENABLED") {
            Some(v) => parse_bool(&v)
                .ok_or_else(|| anyhow::anyhow!("delivery_enabled: '{v}' is not true or false"))?,
            None => f.delivery_enabled.unwrap_or(true),
        };
        let delivery_timeout_secs = number(
            &env,
            "DELIVERY_TIMEOUT_SECS",
            f.delivery_timeout_secs,
            15,
            1,
            300,
        )?;
        let delivery_concurrency = number(
            &env,
            "DELIVERY_CONCURRENCY",
            f.delivery_concurrency.map(|n| n as u64),
            256,
            1,
            10_000,
        )? as usize;
        let delivery_concurrency_per_endpoint = number(
            &env,
            "DELIVERY_CONCURRENCY_PER_ENDPOINT",
            f.delivery_concurrency_per_endpoint.map(|n| n as u64),
            32,
            1,
            10_000,
        )? as usize;
        let disable_failing_after_hours = number(
            &env,
            "DISABLE_FAILING_AFTER_HOURS",
            f.disable_failing_after_hours,
            120,
            1,
            24 * 365,
        )?;
        let header_read_timeout_secs = number(
            &env,
            "HEADER_READ_TIMEOUT_SECS",
            f.header_read_timeout_secs,
            10,
            1,
            300,
        )?;
        let retention_days = number(&env, "RETENTION_DAYS", f.retention_days, 30, 1, 3650)?;
        Ok(Self {
            header_read_timeout_secs,
            retention_days,
            delivery_enabled,
            delivery_timeout_secs,
            retry_schedule,
            delivery_concurrency,
            delivery_concurrency_per_endpoint,
            disable_failing_after_hours,
            allowed_target_subnets,
            listen,
            data_dir,
            database_url,
            database_max_connections,
            database_wait_secs,
            log_level: env("LOG_LEVEL")
                .or(f.log_level)
                .unwrap_or_else(|| DEFAULT_LOG_LEVEL.into()),
            public_url,
            site_root: env("SITE_ROOT")
                .or(std::env::var("LEPTOS_SITE_ROOT").ok())
                .or(f.site_root)
                .unwrap_or_else(|| DEFAULT_SITE_ROOT.into()),
            admin_email: env("ADMIN_EMAIL"),
            admin_password: env("ADMIN_PASSWORD").map(Secret::new),
            secret_key: env("SECRET_KEY").map(Secret::new),
            session_idle_minutes,
        })
    }

    /// The public URL is `https://`: cookies are `Secure` and answers carry HSTS.
    pub fn served_over_https(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// A whole-number setting from the environment, else the file, else the default, in bounds.
fn number(
    env: &impl Fn(&str) -> Option<String>,
    key: &str,
    file: Option<u64>,
    default: u64,
    min: u64,
    max: u64,
) -> anyhow::Result<u64> {
    let name = key.to_ascii_lowercase();
    let n = match env(key) {
        Some(v) => v
            .trim()
            .parse::<u64>()
            .map_err(|_| anyhow::anyhow!("{name}: '{v}' is not a whole number"))?,
        None => file.unwrap_or(default),
    };
    if !(min..=max).contains(&n) {
        bail!("{name}: must be between {min} and {max}");
    }
    Ok(n)
}

fn read_file(p: &Path) -> anyhow::Result<FileSettings> {
    let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing {}", p.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(file: FileSettings, vars: &[(&str, &str)]) -> anyhow::Result<Settings> {
        let m: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_layers(file, |k| m.get(k).cloned())
    }

    #[test]
    fn defaults_put_the_database_under_the_data_dir() {
        let s = load(FileSettings::default(), &[]).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:3000");
        assert_eq!(s.database_url, "sqlite://./data/bookhook.db");
        assert!(!s.served_over_https());
    }

    #[test]
    fn environment_wins_over_the_file() {
        let f = FileSettings {
            listen: Some("127.0.0.1:4000".into()),
            log_level: Some("debug".into()),
            ..Default::default()
        };
        let s = load(f, &[("LISTEN", "0.0.0.0:5000")]).unwrap();
        assert_eq!(s.listen.to_string(), "0.0.0.0:5000");
        assert_eq!(s.log_level, "debug");
    }

    #[test]
    fn the_database_wait_is_two_seconds_unless_set_and_bounded() {
        assert_eq!(
            load(FileSettings::default(), &[])
                .unwrap()
                .database_wait_secs,
            2
        );
        let s = load(FileSettings::default(), &[("DATABASE_WAIT_SECS", "5")]).unwrap();
        assert_eq!(s.database_wait_secs, 5);
        let e = load(FileSettings::default(), &[("DATABASE_WAIT_SECS", "0")]).unwrap_err();
        assert!(e.to_string().starts_with("database_wait_secs:"), "{e}");
    }

    #[test]
    fn a_bad_listen_address_names_the_setting() {
        let e = load(FileSettings::default(), &[("LISTEN", "nope")]).unwrap_err();
        assert!(e.to_string().starts_with("listen:"), "{e}");
    }

    #[test]
    fn allowed_target_subnets_are_parsed_and_bad_ones_named() {
        let s = load(
            FileSettings::default(),
            &[("ALLOWED_TARGET_SUBNETS", "127.0.0.0/8, 10.1.0.0/16")],
        )
        .unwrap();
        assert!(s
            .allowed_target_subnets
            .allows("127.0.0.1".parse().unwrap()));
        assert!(!s.allowed_target_subnets.allows("10.2.0.1".parse().unwrap()));
        let e = load(
            FileSettings::default(),
            &[("ALLOWED_TARGET_SUBNETS", "nope")],
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("allowed_target_subnets:"), "{e}");
        assert!(load(FileSettings::default(), &[])
            .unwrap()
            .allowed_target_subnets
            .allowed()
            .is_empty());
    }

    #[test]
    fn an_https_public_url_means_served_over_https() {
        let s = load(
            FileSettings::default(),
            &[("PUBLIC_URL", "https://hooks.example.com")],
        )
        .unwrap();
        assert!(s.served_over_https());
    }

    #[test]
    fn the_admin_password_never_prints() {
        let s = load(FileSettings::default(), &[("ADMIN_PASSWORD", "hunter2")]).unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
