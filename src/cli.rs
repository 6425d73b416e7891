//! The `bookhook` command line: serve (default), migrate, create-admin, create-api-key.

use crate::config::Settings;
use crate::startup::{self, Application};
use crate::{auth, domain, store};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;

const SETTINGS_HELP: &str = "\
Settings (defaults, then bookhook.toml, then environment variables):
  BOOKHOOK_LISTEN                address:port to listen on        [default: 127.0.0.1:3000]
  BOOKHOOK_DATA_DIR              folder for the SQLite database   [default: ./data]
  BOOKHOOK_DATABASE_URL          sqlite://… or postgres://… URL   [default: sqlite://<data_dir>/bookhook.db]
  BOOKHOOK_DATABASE_MAX_CONNECTIONS  pool size of this instance [default: 8 on SQLite, 16 on PostgreSQL]
  BOOKHOOK_LOG_LEVEL             tracing filter, e.g. info, bookhook=debug [default: info]
  BOOKHOOK_PUBLIC_URL            URL people open; https:// makes the session cookie Secure
                                                                  [default: http://<listen>]
  BOOKHOOK_SITE_ROOT             built site files (JS, WASM, CSS) [default: target/site]
  BOOKHOOK_SESSION_IDLE_MINUTES  panel sessions end after this much inactivity [default: 10080]
  BOOKHOOK_SECRET_KEY            base64 of 32 bytes encrypting webhook secrets (environment only)
                                                                  [default: <data_dir>/secret.key]
  BOOKHOOK_HEADER_READ_TIMEOUT_SECS  time to start and finish a request's headers [default: 10]
  BOOKHOOK_ADMIN_EMAIL           with BOOKHOOK_ADMIN_PASSWORD: create the first admin account
  BOOKHOOK_ADMIN_PASSWORD        at start-up when none exists (environment only)
  BOOKHOOK_ALLOWED_TARGET_SUBNETS  comma-separated CIDRs that webhooks may call although they are
                                not public (e.g. 10.0.0.0/8)   [default: none]
  BOOKHOOK_DELIVERY_ENABLED      run the delivery worker here  [default: true]
  BOOKHOOK_DELIVERY_TIMEOUT_SECS per-attempt timeout           [default: 15]
  BOOKHOOK_RETRY_SCHEDULE        delays between attempts       [default: 5s, 5m, 30m, 2h, 5h, 10h, 10h]
  BOOKHOOK_DELIVERY_CONCURRENCY  messages in flight at once    [default: 256]
  BOOKHOOK_DELIVERY_CONCURRENCY_PER_ENDPOINT                   [default: 32]
  BOOKHOOK_DISABLE_FAILING_AFTER_HOURS  disable a webhook failing this long [default: 120]
  BOOKHOOK_RETENTION_DAYS        purge attempts and finished messages older than this [default: 30]
  BOOKHOOK_CONFIG                path of the settings file        [default: ./bookhook.toml if present]
In bookhook.toml the keys are the names without the prefix, in lower case (listen = \"…\").";

#[derive(Parser, Debug)]
#[command(
    name = "bookhook",
    version,
    about = "A self-hostable booking engine whose core is webhooks.",
    after_help = SETTINGS_HELP
)]
pub struct Cli {
    /// Read settings from this TOML file instead of ./bookhook.toml.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the panel, the API and the health checks (the default).
    Serve,
    /// Apply pending database migrations, then exit.
    Migrate,
    /// Create an admin account (the first one also gets the Demo app).
    CreateAdmin {
        #[arg(long)]
        email: String,
        /// At least 10 characters.
        #[arg(long)]
        password: String,
    },
    /// Create an API key for the app with this slug (creating the app if needed); prints it once.
    CreateApiKey {
        #[arg(long, value_name = "SLUG")]
        app: String,
        /// Make a live key (live_api_key_…) instead of a test key.
        #[arg(long)]
        live: bool,
        /// A label to tell the key apart in the panel.
        #[arg(long, default_value = "created from the command line")]
        label: String,
    },
    /// Print the API's OpenAPI 3.1 document (what GET /v2/openapi.json serves), to generate a
    /// client without a running server.
    Openapi,
}

pub fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("bookhook: configuration error: {e:#}");
            return std::process::ExitCode::from(2);
        }
    };
    init_tracing(&settings.log_level);
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bookhook: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli.command.unwrap_or(Command::Serve), settings)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bookhook: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn init_tracing(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve => {
            let app = Application::build(settings).await?;
            let shutdown = CancellationToken::new();
            startup::cancel_on_signal(shutdown.clone());
            app.run(shutdown).await
        }
        Command::Openapi => {
            println!("{}", crate::api::openapi::document());
            Ok(())
        }
        Command::Migrate => {
            startup::open_database(&settings).await?;
            println!("migrations applied to {}", settings.database_url);
            Ok(())
        }
        Command::CreateAdmin { email, password } => {
            let email =
                auth::validate_email(&email).map_err(|m| anyhow::anyhow!("--email: {m}"))?;
            auth::validate_new_password(&password)
                .map_err(|m| anyhow::anyhow!("--password: {m}"))?;
            let db = startup::open_database(&settings).await?;
            let hash = auth::hash_password(password).await?;
            match store::create_admin(&db, &email, &hash).await? {
                Some(_) => println!("admin account {email} created"),
                None => anyhow::bail!("--email: an account with this email already exists"),
            }
            Ok(())
        }
        Command::CreateApiKey { app, live, label } => {
            let slug = domain::app::parse_slug(&app).map_err(|m| anyhow::anyhow!("--app: {m}"))?;
            let db = startup::open_database(&settings).await?;
            let app = match store::app_by_slug(&db, &slug).await? {
                Some(a) => a,
                None => {
                    let a = store::create_app(&db, &slug, &slug).await?;
                    match a {
                        Some(a) => {
                            eprintln!("created the app '{slug}'");
                            a
                        }
                        None => store::app_by_slug(&db, &slug).await?.ok_or_else(|| {
                            anyhow::anyhow!("--app: the app could not be created")
                        })?,
                    }
                }
            };
            let key = auth::generate_api_key(live);
            let mode = if live { "live" } else { "test" };
            store::insert_api_key(&db, app.id, mode, label.trim(), &key.hash, &key.hint).await?;
            eprintln!("new {mode} API key for '{}' (shown only once):", app.slug);
            println!("{}", key.plain);
            Ok(())
        }
    }
}
