//! Wiring: builds the state, the router and the background tasks, and runs them as siblings
//! under one shutdown signal.

use crate::auth::{self, LoginThrottle};
use crate::config::Settings;
use crate::domain::webhook::TargetPolicy;
use crate::engine::Engine;
use crate::notify::Notifier;
use crate::ops;
use crate::security;
use crate::sessions::Sessions;
use crate::state::AppState;
use crate::store::{self, Db};
use crate::ui::{self, shell, App};
use anyhow::Context;
use axum::middleware;
use axum::response::Redirect;
use axum::routing::{any, get, MethodRouter};
use axum::Router;
use leptos::config::LeptosOptions;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{ExpiredDeletion, Expiry, SessionManagerLayer};

/// Opens the database with the secret key of its webhook secrets, and applies pending
/// migrations.
pub async fn open_database(settings: &Settings) -> anyhow::Result<Db> {
    let key = store::secrets::load_key(
        settings.secret_key.as_ref().map(|k| k.expose()),
        &settings.data_dir,
    )?;
    Db::open(
        &settings.database_url,
        settings.database_max_connections,
        Duration::from_secs(settings.database_wait_secs),
        store::secrets::Secrets::new(key),
    )
    .await
}

/// A built server: the listener is bound, so `port()` is known before `run`.
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    session_store: Sessions,
    /// Ends the LISTEN/NOTIFY tasks when the server stops.
    peers_stop: CancellationToken,
}

impl Application {
    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let db = open_database(&settings).await?;
        store::seal_webhook_secrets(&db).await?;
        let session_store = Sessions::open(&settings.database_url).await?;
        auth::create_admin_from_env(&db, &settings).await?;

        let leptos_options = LeptosOptions::builder()
            .output_name("bookhook")
            .site_root(settings.site_root.as_str())
            .site_pkg_dir("pkg")
            .site_addr(settings.listen)
            .build();
        let listener = TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("listening on {}", settings.listen))?;
        let mut inspector_addr = listener.local_addr()?;
        if inspector_addr.ip().is_unspecified() {
            inspector_addr.set_ip(std::net::IpAddr::from([127, 0, 0, 1]));
        }
        let settings = Arc::new(settings);
        let metrics = Arc::new(crate::metrics::Metrics::default());
        let peers_stop = CancellationToken::new();
        let notifier = match db.backend() {
            store::Backend::Postgres => {
                Notifier::shared(&settings.database_url, peers_stop.clone())
                    .await
                    .context("listening for the other instances")?
            }
            store::Backend::Sqlite => Notifier::local(),
        };
        // Where webhooks may point: the settings' ranges and this server's own bins.
        let targets = settings
            .allowed_target_subnets
            .clone()
            .with_inspector(inspector_addr);
        let worker = Arc::new(worker_for(
            &db,
            &settings,
            targets.clone(),
            &notifier,
            metrics.clone(),
        )?);
        let engine = Engine::new(
            db.clone(),
            notifier.clone(),
            metrics.clone(),
            Some(worker.clone() as Arc<dyn crate::engine::handoff::Sender>),
            targets,
        );
        let state = AppState {
            db,
            settings,
            leptos_options,
            throttle: Arc::new(LoginThrottle::default()),
            metrics,
            worker,
            notifier,
            engine,
            inspector_addr,
        };
        let router = router(state.clone(), session_store.clone());
        Ok(Self {
            listener,
            router,
            state,
            session_store,
            peers_stop,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    pub fn db(&self) -> Db {
        self.state.db.clone()
    }

    /// Serves until `shutdown` is cancelled, then lets in-flight requests finish.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let addr = self.listener.local_addr()?;
        tracing::info!("bookhook is listening on http://{addr}");
        let mut tasks = tokio::task::JoinSet::new();

        let store = self.session_store.clone();
        let stop = shutdown.clone();
        tasks.spawn(async move {
            tokio::select! {
                res = store.continuously_delete_expired(Duration::from_secs(600)) => {
                    if let Err(e) = res {
                        tracing::error!(error = %e, "expired-session cleanup stopped");
                    }
                }
                _ = stop.cancelled() => {}
            }
            Ok(())
        });

        let engine = self.state.engine.clone();
        let stop = shutdown.clone();
        tasks.spawn(async move {
            engine.run_scheduler(stop).await;
            Ok(())
        });

        let engine = self.state.engine.clone();
        let stop = shutdown.clone();
        let retention = Duration::from_secs(self.state.settings.retention_days * 24 * 3600);
        tasks.spawn(async move {
            engine.run_housekeeping(retention, stop).await;
            Ok(())
        });

        if self.state.settings.delivery_enabled {
            let worker = self.state.worker.clone();
            let stop = shutdown.clone();
            tasks.spawn(async move {
                worker.run(stop).await;
                Ok(())
            });
        }

        let stop = shutdown.clone();
        let router = self.router;
        let listener = self.listener;
        let header_timeout = Duration::from_secs(self.state.settings.header_read_timeout_secs);
        tasks.spawn(async move {
            crate::serve::serve(listener, router, header_timeout, stop)
                .await
                .context("serving HTTP")
        });

        // The first task to end (an error, or the shutdown signal) ends them all.
        let mut result = Ok(());
        while let Some(done) = tasks.join_next().await {
            if let Ok(Err(e)) | Err(e) = done.map_err(anyhow::Error::from) {
                if result.is_ok() {
                    result = Err(e);
                }
            }
            shutdown.cancel();
        }
        self.peers_stop.cancel();
        self.state.db.close().await;
        tracing::info!("bookhook stopped");
        result
    }
}

/// Every route besides the API (`api::router`, under `/v2`), the panel's pages and its server
/// functions: the router is built from this table, and the access tests walk it, so a route
/// cannot be added without a rule for who may call it.
fn routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("/", get(|| async { Redirect::to("/login") })),
        ("/healthz", get(ops::healthz)),
        ("/readyz", get(ops::readyz)),
        ("/metrics", get(ops::metrics)),
        ("/apps/{app}/deliveries/live", get(ui::live::ssr::stream)),
        ("/inspect/{token}", any(ui::inspector::ssr::capture)),
        ("/inspect/{token}/{*rest}", any(ui::inspector::ssr::capture)),
    ]
}

/// The paths of [`routes`], as axum matches them.
pub fn paths() -> Vec<&'static str> {
    routes().into_iter().map(|(p, _)| p).collect()
}

/// The largest request body any route reads.
pub const MAX_REQUEST_BODY: usize = 2 * 1024 * 1024;

fn router(state: AppState, session_store: Sessions) -> Router {
    let sessions = SessionManagerLayer::new(session_store)
        .with_name("bookhook_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.settings.served_over_https())
        .with_expiry(Expiry::OnInactivity(time::Duration::minutes(
            state.settings.session_idle_minutes,
        )));
    let pages = generate_route_list(App);
    let options = state.leptos_options.clone();
    routes()
        .into_iter()
        .fold(Router::new(), |r, (path, m)| r.route(path, m))
        .nest("/v2", crate::api::router())
        .leptos_routes_with_context(&state, pages, security::provide_page_nonce, move || {
            shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(security::provide_page_nonce, shell))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            ui::guard::pages,
        ))
        .layer(middleware::from_fn(ui::guard::same_origin_writes))
        .layer(sessions)
        .layer(TraceLayer::new_for_http())
        // No request body above 2 MiB is read, whatever the route (the API's own limit is
        // lower); larger ones get 413 before they take memory.
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            MAX_REQUEST_BODY,
        ))
        // A body that trickles in slower than this is cut off (a slow-loris on the body).
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            crate::serve::BODY_TIMEOUT,
        ))
        // A bug must cost one request a 500, never the connection or the process.
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
        // Outermost, so that every answer carries them, refusals and 500s included.
        .layer(middleware::from_fn_with_state(
            security::Policy {
                https: state.settings.served_over_https(),
            },
            security::headers,
        ))
        .with_state(state)
}

/// The delivery worker as the settings describe it, announcing through `notifier`.
pub fn worker_for(
    db: &Db,
    s: &Settings,
    targets: TargetPolicy,
    notifier: &Notifier,
    metrics: Arc<crate::metrics::Metrics>,
) -> anyhow::Result<crate::delivery::worker::Worker> {
    let cfg = crate::delivery::worker::WorkerConfig {
        schedule: s.retry_schedule.clone(),
        timeout: Duration::from_secs(s.delivery_timeout_secs),
        max_in_flight: s.delivery_concurrency,
        max_per_endpoint: s.delivery_concurrency_per_endpoint,
        disable_after: Duration::from_secs(s.disable_failing_after_hours * 3600),
    };
    crate::delivery::worker::Worker::new(db.clone(), targets, cfg, notifier.clone(), metrics)
}

/// Cancels `token` on Ctrl-C or SIGTERM.
pub fn cancel_on_signal(token: CancellationToken) {
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => {}
            _ = term => {}
        }
        tracing::info!("shutting down");
        token.cancel();
    });
}
