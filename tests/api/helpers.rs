use bookhook::config::Settings;
use bookhook::startup::Application;
use reqwest::{Client, Response};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

pub const EMAIL: &str = "ada@example.com";
pub const PASSWORD: &str = "correct horse battery";

/// The real app on port 0 with its own database, and a client that keeps cookies.
pub struct TestApp {
    pub base: String,
    pub client: Client,
    pub db: bookhook::store::Db,
    pub stop: CancellationToken,
    pub dir: tempfile::TempDir,
}

pub fn test_settings(dir: &std::path::Path) -> Settings {
    Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.to_path_buf(),
        database_url: format!("sqlite://{}", dir.join("bookhook.db").display()),
        log_level: "warn".into(),
        public_url: "http://127.0.0.1".into(),
        site_root: "target/site".into(),
        admin_email: None,
        admin_password: None,
        session_idle_minutes: 60,
    }
}

pub async fn spawn_app() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    spawn_app_with(test_settings(dir.path()), dir).await
}

pub async fn spawn_app_with(settings: Settings, dir: tempfile::TempDir) -> TestApp {
    let app = Application::build(settings).await.expect("the app builds");
    let base = format!("http://127.0.0.1:{}", app.port());
    let db = app.db();
    let stop = CancellationToken::new();
    tokio::spawn(app.run(stop.clone()));
    TestApp {
        base,
        client: new_client(),
        db,
        stop,
        dir,
    }
}

pub fn new_client() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
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
