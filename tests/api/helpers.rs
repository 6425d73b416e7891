use bookhook::config::Settings;
use bookhook::startup::Application;
use reqwest::{Client, Response};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

pub const EMAIL: &str = "ada@example.com";
pub const PASSWORD: &str = "correct horse battery";

/// The real app on port 0 with its own database, and a client that keeps cookies.
pub struct TestApp {
    pub state: bookhook::state::AppState,
    pub base: String,
    pub client: Client,
    pub db: bookhook::store::Db,
    pub stop: CancellationToken,
    pub _dir: tempfile::TempDir,
}

pub fn test_settings(dir: &std::path::Path) -> Settings {
    Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.to_path_buf(),
        database_url: test_database_url(dir),
        database_max_connections: 8,
        database_wait_secs: 2,
        log_level: "warn".into(),
        public_url: "http://127.0.0.1".into(),
        site_root: "target/site".into(),
        admin_email: None,
        admin_password: None,
        // One key for every app of the test process (they share one cipher).
        secret_key: Some(bookhook::config::Secret::new(
            "dGVzdCBrZXkgdGVzdCBrZXkgdGVzdCBrZXkgdGVzdCE=",
        )),
        session_idle_minutes: 60,
        header_read_timeout_secs: 2,
        allowed_target_subnets: Default::default(),
        // Tests that deliver turn the worker on or drive one themselves.
        delivery_enabled: false,
        delivery_timeout_secs: 15,
        retry_schedule: Default::default(),
        delivery_concurrency: 64,
        delivery_concurrency_per_endpoint: 16,
        disable_failing_after_hours: 120,
        retention_days: 30,
    }
}

/// The backend the suite runs on, fixed when it is compiled: `BOOKHOOK_TEST_BACKEND=postgres`
/// makes build.rs set `bookhook_test_postgres` (`make test` runs the suite once on each). The
/// same cfg marks the tests that need PostgreSQL as ignored on SQLite.
pub const fn on_postgres() -> bool {
    cfg!(bookhook_test_postgres)
}

/// Refuses to run a binary built for one backend with the variable naming the other (cargo
/// rebuilds when the variable changes; a test binary started by hand does not).
fn check_backend_variable() {
    let named = std::env::var("BOOKHOOK_TEST_BACKEND").unwrap_or_default();
    assert_eq!(
        named == "postgres",
        on_postgres(),
        "this test binary was built for the other backend than BOOKHOOK_TEST_BACKEND={named:?} names: run it through cargo test"
    );
}

/// A database of its own for one test: a SQLite file in `dir`, or a new PostgreSQL database.
pub fn test_database_url(dir: &std::path::Path) -> String {
    check_backend_variable();
    if on_postgres() {
        pg::fresh_database()
    } else {
        format!("sqlite://{}", dir.join("bookhook.db").display())
    }
}

pub mod pg {
    use sqlx::{Connection, Executor};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// The server the PostgreSQL run uses (a missing server fails the run; it is not skipped).
    pub fn server_url() -> String {
        std::env::var("BOOKHOOK_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
    }

    /// Runs `f` on a runtime of its own (the tests' helpers are sync; the caller may be async).
    fn block_on<F: std::future::Future<Output = T> + Send + 'static, T: Send + 'static>(f: F) -> T {
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(f)
        })
        .join()
        .unwrap()
    }

    /// Creates `bh_t_<pid>_<n>` and returns its URL. The first call of a process also drops
    /// the databases that test processes no longer running left behind.
    pub fn fresh_database() -> String {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("bh_t_{}_{n}", std::process::id());
        let server = server_url();
        let create = name.clone();
        block_on(async move {
            let mut conn = sqlx::PgConnection::connect(&format!("{server}/postgres"))
                .await
                .expect(
                    "PostgreSQL at BOOKHOOK_TEST_POSTGRES_URL (default 127.0.0.1:5432) answers",
                );
            if n == 0 {
                let old: Vec<String> = sqlx::query_scalar(
                    "SELECT datname FROM pg_database WHERE datname LIKE 'bh\\_t\\_%'",
                )
                .fetch_all(&mut conn)
                .await
                .unwrap();
                for db in old {
                    let pid = db.split('_').nth(2).unwrap_or("");
                    if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                        let _ = conn
                            .execute(format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)").as_str())
                            .await;
                    }
                }
            }
            conn.execute(format!("CREATE DATABASE {create}").as_str())
                .await
                .unwrap();
        });
        format!("{}/{name}", server_url())
    }
}

pub async fn spawn_app() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    spawn_app_with(test_settings(dir.path()), dir).await
}

pub async fn spawn_app_with(settings: Settings, dir: tempfile::TempDir) -> TestApp {
    // The server's errors go to the failing test's output.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("bookhook=warn"))
        .with_test_writer()
        .try_init();
    let app = Application::build(settings).await.expect("the app builds");
    let base = format!("http://127.0.0.1:{}", app.port());
    let db = app.db();
    let state = app.state();
    let stop = CancellationToken::new();
    tokio::spawn(app.run(stop.clone()));
    TestApp {
        state,
        base,
        client: new_client(),
        db,
        stop,
        _dir: dir,
    }
}

/// A server that may call local receivers (127.0.0.0/8 is allowed), running its own delivery
/// worker when `deliver`, with the first admin set up and a key for the Demo app.
pub async fn spawn_app_for_receivers(deliver: bool) -> (TestApp, Api) {
    let dir = tempfile::tempdir().unwrap();
    let mut s = test_settings(dir.path());
    s.allowed_target_subnets =
        bookhook::domain::webhook::TargetPolicy::parse_list("127.0.0.0/8").unwrap();
    s.delivery_enabled = deliver;
    let app = spawn_app_with(s, dir).await;
    app.setup_admin().await;
    let api = app.api_for("demo").await;
    (app, api)
}

/// A browser-like client: keeps cookies, follows no redirect. No request of a test takes a
/// minute, so one that does fails its test with the request named, instead of leaving the
/// whole run waiting.
pub fn new_client() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .unwrap()
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// Calls a panel server function with form-encoded arguments.
    pub async fn call(&self, endpoint: &str, args: &[(&str, &str)]) -> Response {
        self.call_with(&self.client, endpoint, args).await
    }

    pub async fn call_with(
        &self,
        client: &Client,
        endpoint: &str,
        args: &[(&str, &str)],
    ) -> Response {
        client
            .post(self.url(&format!("/api/{endpoint}")))
            .form(args)
            .send()
            .await
            .unwrap()
    }

    /// Calls and expects success; returns the JSON result.
    pub async fn call_ok(&self, endpoint: &str, args: &[(&str, &str)]) -> Value {
        let res = self.call(endpoint, args).await;
        let status = res.status();
        let text = res.text().await.unwrap();
        assert!(status.is_success(), "{endpoint} answered {status}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Creates the first admin (signed in afterwards).
    pub async fn setup_admin(&self) {
        self.call_ok(
            "create_first_admin",
            &[("email", EMAIL), ("password", PASSWORD)],
        )
        .await;
    }

    pub async fn sign_in(&self) -> Response {
        self.call("sign_in", &[("email", EMAIL), ("password", PASSWORD)])
            .await
    }
}

/// A client of the `/v2` API holding one app key.
pub struct Api {
    pub base: String,
    pub key: String,
    pub client: Client,
}

impl TestApp {
    /// A test key for the app with this slug (created with the Demo app by `setup_admin`).
    pub async fn api_for(&self, slug: &str) -> Api {
        let app = match bookhook::store::app_by_slug(&self.db, slug).await.unwrap() {
            Some(a) => a,
            None => bookhook::store::create_app(&self.db, slug, slug)
                .await
                .unwrap()
                .unwrap(),
        };
        let key = bookhook::auth::generate_api_key(false);
        bookhook::store::insert_api_key(&self.db, app.id, "test", "tests", &key.hash, &key.hint)
            .await
            .unwrap();
        Api {
            base: self.base.clone(),
            key: key.plain,
            client: new_client(),
        }
    }

    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&self.db)
            .await
            .unwrap()
    }
}

impl Api {
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .client
            .request(method, format!("{}/v2{path}", self.base))
            .basic_auth("", Some(&self.key));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }
    pub async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::PUT, path, Some(body)).await
    }

    pub async fn resource(&self) -> String {
        let (s, r) = self
            .post(
                "/resources",
                serde_json::json!({"name": "Studio A", "timezone": "Europe/Oslo"}),
            )
            .await;
        assert_eq!(s, 201, "{r}");
        r["data"]["id"].as_str().unwrap().to_string()
    }

    /// Creates a booking of `graph` (extra fields merged in) and returns its JSON.
    pub async fn booking(&self, resource: &str, graph: &str, extra: Value) -> Value {
        let (s, b) = self
            .post("/bookings", booking_body(resource, graph, extra))
            .await;
        assert_eq!(s, 201, "{b}");
        b["data"].clone()
    }

    /// One of each thing a route can name: (resource id, a confirm_decline booking's id, the id
    /// of a webhook subscribed to instant/confirmed).
    pub async fn one_of_each(&self) -> (String, String, String) {
        let resource = self.resource().await;
        let booking = self
            .booking(&resource, "confirm_decline", serde_json::json!({}))
            .await;
        let (s, hook) = self
            .post(
                "/webhooks",
                serde_json::json!({"url": "https://example.com/h", "events": [{"graph": "instant", "state": "confirmed"}]}),
            )
            .await;
        assert_eq!(s, 201, "{hook}");
        let id = |v: &Value| v.as_str().unwrap().to_string();
        (resource, id(&booking["id"]), id(&hook["data"]["id"]))
    }

    pub async fn act(&self, id: &str, action: &str) -> (u16, Value) {
        self.put(&format!("/bookings/{id}/{action}"), serde_json::json!({}))
            .await
    }
}

pub fn booking_body(resource: &str, graph: &str, extra: Value) -> Value {
    let mut b = serde_json::json!({
        "resource_id": resource,
        "graph": graph,
        "start": "2030-01-10T10:00:00Z",
        "end": "2030-01-10T11:00:00Z",
        "what": "Yoga class",
        "where": "Studio A",
        "description": "Bring a mat",
        "customer": {"name": "Grace Hopper", "email": "grace@example.com", "timezone": "Europe/Oslo"},
    });
    if graph == "group_owner" {
        b.as_object_mut().unwrap().remove("customer");
        b["settings"] = serde_json::json!({"max_seats": 2});
    }
    if let Value::Object(m) = extra {
        for (k, v) in m {
            b[k] = v;
        }
    }
    b
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The status and the JSON error body of a refused call.
pub async fn error_of(res: Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}
