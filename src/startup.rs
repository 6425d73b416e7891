//! Wiring: the database, the session layer, the router and the background tasks, all run as
//! siblings under one shutdown signal.

use crate::auth::{self, LoginThrottle, SESSION_USER_KEY};
use crate::config::Settings;
use crate::sessions::Sessions;
use crate::store::{self, Db};
use crate::ui::{shell, App};
use anyhow::Context;
use axum::extract::{FromRef, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use leptos::config::LeptosOptions;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{ExpiredDeletion, Expiry, Session, SessionManagerLayer};

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub leptos_options: LeptosOptions,
    pub throttle: Arc<LoginThrottle>,
    /// Woken after a commit that wrote deliveries, so the worker sends them at once.
    pub wake: Arc<tokio::sync::Notify>,
    pub metrics: Arc<crate::delivery::metrics::Metrics>,
    /// The delivery worker (it runs only with `delivery_enabled`; manual redeliveries use it
    /// either way).
    pub worker: Arc<crate::delivery::worker::Worker>,
    /// Ids of apps whose delivery log just changed, for the live log.
    pub changes: tokio::sync::broadcast::Sender<i64>,
    /// Where this server's request inspector is reached (its listen address; 127.0.0.1 when
    /// listening on all interfaces).
    pub inspector_addr: SocketAddr,
    /// The other instances on the same PostgreSQL database (none on SQLite).
    pub peers: Option<Arc<crate::peers::Peers>>,
    /// Creates API bookings in shared transactions (group commit).
    pub bookings: crate::engine::commit::Committer,
}

impl AppState {
    /// After a commit that may have written deliveries for this app: wake the worker and the
    /// app's live delivery logs.
    pub fn committed(&self, app_id: i64) {
        self.wake.notify_one();
        let _ = self.changes.send(app_id);
        if let Some(p) = &self.peers {
            p.tell(app_id, true);
        }
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(s: &AppState) -> Self {
        s.leptos_options.clone()
    }
}

/// Opens the database and applies pending migrations.
pub async fn open_database(settings: &Settings) -> anyhow::Result<Db> {
    let db = store::connect(&settings.database_url, settings.database_max_connections).await?;
    store::migrate(&db).await?;
    Ok(db)
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
        let key = store::secrets::load_key(
            settings.secret_key.as_ref().map(|k| k.expose()),
            &settings.data_dir,
        )?;
        store::secrets::init(key)?;
        store::seal_webhook_secrets(&db).await?;
        let session_store = Sessions::open(&settings.database_url).await?;
        create_admin_from_env(&db, &settings).await?;

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
        crate::delivery::ssrf::register_inspector(inspector_addr);
        let settings = Arc::new(settings);
        let wake = Arc::new(tokio::sync::Notify::new());
        let metrics = Arc::new(crate::delivery::metrics::Metrics::default());
        let (changes, _) = tokio::sync::broadcast::channel(1024);
        let peers_stop = CancellationToken::new();
        let peers = match store::Backend::of(&db) {
            store::Backend::Postgres => Some(
                crate::peers::start(
                    &settings.database_url,
                    wake.clone(),
                    changes.clone(),
                    peers_stop.clone(),
                )
                .await
                .context("listening for the other instances")?,
            ),
            store::Backend::Sqlite => None,
        };
        let mut worker = worker_for(
            &db,
            &settings,
            wake.clone(),
            metrics.clone(),
            changes.clone(),
        )?;
        worker.peers = peers.clone();
        let worker = Arc::new(worker);
        let state = AppState {
            bookings: crate::engine::commit::Committer::start(
                db.clone(),
                metrics.clone(),
                Some(worker.clone()),
            ),
            db,
            settings,
            leptos_options,
            throttle: Arc::new(LoginThrottle::default()),
            wake,
            metrics,
            worker,
            changes,
            inspector_addr,
            peers,
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

        let db = self.state.db.clone();
        let stop = shutdown.clone();
        let wake = self.state.wake.clone();
        tasks.spawn(async move {
            crate::engine::run_scheduler(db, wake, stop).await;
            Ok(())
        });

        let db = self.state.db.clone();
        let stop = shutdown.clone();
        let wake = self.state.wake.clone();
        let retention = Duration::from_secs(self.state.settings.retention_days * 24 * 3600);
        tasks.spawn(async move {
            crate::delivery::housekeeping::run(db, retention, wake, stop).await;
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

/// The largest request body any route reads.
pub const MAX_REQUEST_BODY: usize = 2 * 1024 * 1024;

fn router(state: AppState, session_store: Sessions) -> Router {
    let sessions = SessionManagerLayer::new(session_store)
        .with_name("bookhook_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.settings.secure_cookies())
        .with_expiry(Expiry::OnInactivity(time::Duration::minutes(
            state.settings.session_idle_minutes,
        )));
    let routes = generate_route_list(App);
    let options = state.leptos_options.clone();
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/apps/{app}/deliveries/live", get(live_log))
        .route(
            "/inspect/{token}",
            axum::routing::any(crate::ui::inspector::ssr::capture),
        )
        .route(
            "/inspect/{token}/{*rest}",
            axum::routing::any(crate::ui::inspector::ssr::capture),
        )
        .nest("/v2", crate::api::router())
        .route("/", get(|| async { Redirect::to("/login") }))
        .leptos_routes_with_context(&state, routes, || {}, move || shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(middleware::from_fn_with_state(state.clone(), guard_pages))
        .layer(middleware::from_fn(same_origin_writes))
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
        .with_state(state)
}

/// The delivery worker as the settings describe it, sharing the state's wake-up and metrics.
pub fn worker_for(
    db: &Db,
    s: &Settings,
    wake: Arc<tokio::sync::Notify>,
    metrics: Arc<crate::delivery::metrics::Metrics>,
    changes: tokio::sync::broadcast::Sender<i64>,
) -> anyhow::Result<crate::delivery::worker::Worker> {
    let cfg = crate::delivery::worker::WorkerConfig {
        schedule: s.retry_schedule.clone(),
        timeout: Duration::from_secs(s.delivery_timeout_secs),
        max_in_flight: s.delivery_concurrency,
        max_per_endpoint: s.delivery_concurrency_per_endpoint,
        disable_after: Duration::from_secs(s.disable_failing_after_hours * 3600),
    };
    let mut w = crate::delivery::worker::Worker::new(
        db.clone(),
        s.allowed_target_subnets.clone(),
        cfg,
        wake,
        metrics,
    )?;
    w.changes = Some(changes);
    Ok(w)
}

async fn metrics(State(st): State<AppState>) -> Response {
    let now = store::now_ms();
    match crate::store::deliveries::gauges(&st.db, now).await {
        Ok((by_status, due, oldest)) => {
            let age = oldest
                .map(|t| (now - t).max(0) as f64 / 1000.0)
                .unwrap_or(0.0);
            (
                [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                st.metrics.render(&by_status, due, age),
            )
                .into_response()
        }
        Err(e) => {
            tracing::warn!(error = %e, "reading metrics failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// Server-sent events for a live delivery log: one `changed` event whenever this app's
/// messages change (at most every 250 ms), and a keep-alive comment.
async fn live_log(
    State(st): State<AppState>,
    session: Session,
    axum::extract::Path(slug): axum::extract::Path<String>,
) -> Response {
    use axum::response::sse::{Event, KeepAlive, Sse};
    let signed_in = is_signed_in(&st, &session).await;
    if !signed_in {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let app = match store::app_by_slug(&st.db, &slug).await {
        Ok(Some(a)) => a,
        Ok(None) => return StatusCode::NOT_FOUND.into_response(),
        Err(_) => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
    };
    let rx = st.changes.subscribe();
    let stream = futures::stream::unfold(rx, move |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(id) if id == app.id => {
                    // Coalesce a burst into one event.
                    tokio::time::sleep(Duration::from_millis(250)).await;
                    while rx.try_recv().is_ok() {}
                    let ev: Result<Event, std::convert::Infallible> =
                        Ok(Event::default().event("message").data("changed"));
                    return Some((ev, rx));
                }
                Ok(_) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    let ev: Result<Event, std::convert::Infallible> =
                        Ok(Event::default().data("changed"));
                    return Some((ev, rx));
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}

async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}))
}

async fn readyz(State(st): State<AppState>) -> Response {
    match store::ping(&st.db).await {
        Ok(()) => Json(serde_json::json!({"status": "ready"})).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(
                    serde_json::json!({"status": "unavailable", "reason": "database unreachable"}),
                ),
            )
                .into_response()
        }
    }
}

/// Whether the session belongs to an account that still exists.
async fn is_signed_in(st: &AppState, session: &Session) -> bool {
    let uid: Option<i64> = session.get(SESSION_USER_KEY).await.ok().flatten();
    match uid {
        Some(id) => matches!(store::user_by_id(&st.db, id).await, Ok(Some(_))),
        None => false,
    }
}

/// Panel pages need a signed-in user: anonymous visitors go to the sign-in form (or to
/// first-run setup while no account exists), signed-in ones skip those forms.
async fn guard_pages(
    State(st): State<AppState>,
    session: Session,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    let is_page = req.method() == Method::GET
        && (path == "/" || path == "/login" || path == "/setup" || path.starts_with("/apps/"));
    if !is_page {
        return next.run(req).await;
    }
    let signed_in = is_signed_in(&st, &session).await;
    if signed_in {
        if path.starts_with("/apps/") {
            return next.run(req).await;
        }
        return match crate::panel::landing_path(&st).await {
            Ok(p) => Redirect::to(&p).into_response(),
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        };
    }
    let target = match store::count_users(&st.db).await {
        Ok(0) => "/setup",
        Ok(_) => "/login",
        Err(e) => {
            tracing::error!(error = %e, "counting users failed");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    if path == target {
        next.run(req).await
    } else {
        Redirect::to(target).into_response()
    }
}

/// Refuses a browser's cross-site write: a state-changing request whose `Origin` names
/// another host than the one it was sent to.
async fn same_origin_writes(req: Request, next: Next) -> Response {
    if matches!(
        req.method(),
        &Method::GET | &Method::HEAD | &Method::OPTIONS
    ) {
        return next.run(req).await;
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok());
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|h| h.to_str().ok());
    if let (Some(origin), Some(host)) = (origin, host) {
        let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or(origin);
        if origin_host != host {
            return (
                StatusCode::FORBIDDEN,
                Json(serde_json::json!({"error": {
                    "code": "cross_origin",
                    "message": "Cross-origin requests may not change anything here."
                }})),
            )
                .into_response();
        }
    }
    next.run(req).await
}

/// `BOOKHOOK_ADMIN_EMAIL` / `BOOKHOOK_ADMIN_PASSWORD` create the first account unattended.
async fn create_admin_from_env(db: &Db, settings: &Settings) -> anyhow::Result<()> {
    let (Some(email), Some(password)) = (&settings.admin_email, &settings.admin_password) else {
        return Ok(());
    };
    if store::count_users(db).await? > 0 {
        tracing::debug!("an admin account exists; BOOKHOOK_ADMIN_EMAIL is not used");
        return Ok(());
    }
    let email =
        auth::validate_email(email).map_err(|m| anyhow::anyhow!("BOOKHOOK_ADMIN_EMAIL: {m}"))?;
    auth::validate_new_password(password.expose())
        .map_err(|m| anyhow::anyhow!("BOOKHOOK_ADMIN_PASSWORD: {m}"))?;
    let hash = auth::hash_password(password.expose().to_string()).await?;
    if let store::FirstAdmin::Created { .. } = store::create_first_admin(db, &email, &hash).await? {
        tracing::info!(email = %email, "admin account created from the environment");
    }
    Ok(())
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
