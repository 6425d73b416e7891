//! The receivers the panel shows beside a webhook's secret, run as a developer would paste them:
//! the Python, Node.js and Rust ones, taken from the panel's own text with the secret filled in,
//! must accept a real delivery and refuse it with one byte of the body changed.

use crate::helpers::*;
use bookhook::ui::snippets::Snippet;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The repository's root, where end2end/node_modules and Cargo.lock are.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Writes the snippet as its comment says to save it, and returns the command that serves it.
fn prepare(snippet: &Snippet, code: &str, dir: &Path) -> Command {
    match snippet.id {
        "python" => {
            std::fs::write(dir.join("receiver.py"), code).unwrap();
            let mut c = Command::new("python3");
            c.arg("receiver.py");
            c
        }
        "node" => {
            std::fs::write(dir.join("receiver.mjs"), code).unwrap();
            // Where `npm install standardwebhooks` would have put the library (.ci/tools does).
            std::os::unix::fs::symlink(
                root().join("end2end/node_modules"),
                dir.join("node_modules"),
            )
            .unwrap();
            let mut c = Command::new("node");
            c.arg("receiver.mjs");
            c
        }
        "rust" => {
            // The [dependencies] its opening comment lists, and this repository's lockfile.
            let deps: Vec<&str> = code
                .lines()
                .skip_while(|l| *l != "// [dependencies]")
                .skip(1)
                .take_while(|l| l.starts_with("// ") && l.contains(" = "))
                .map(|l| &l[3..])
                .collect();
            assert!(
                deps.len() >= 5,
                "the Rust snippet lists its dependencies: {deps:?}"
            );
            std::fs::write(
                dir.join("Cargo.toml"),
                format!(
                    "[package]\nname = \"receiver\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n{}\n",
                    deps.join("\n")
                ),
            )
            .unwrap();
            std::fs::copy(root().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
            std::fs::create_dir(dir.join("src")).unwrap();
            std::fs::write(dir.join("src/main.rs"), code).unwrap();
            let target = root().join("target/snippets");
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let out = Command::new(&cargo)
                .args(["build", "--quiet"])
                .env("CARGO_TARGET_DIR", &target)
                .current_dir(dir)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "the Rust snippet does not build:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            Command::new(target.join("debug/receiver"))
        }
        other => panic!("no runner for {other}"),
    }
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn serve(mut cmd: Command, dir: &Path, port: u16) -> Running {
    let child = cmd
        .current_dir(dir)
        .env("PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?} could not start: {e}"));
    let mut running = Running(child);
    let until = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        if let Ok(Some(status)) = running.0.try_wait() {
            panic!("{cmd:?} exited at once: {status}");
        }
        assert!(Instant::now() < until, "{cmd:?} never listened on {port}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    running
}

#[tokio::test]
async fn the_python_node_and_rust_receivers_accept_a_real_delivery_and_refuse_a_changed_one() {
    let (app, api) = spawn_app_for_receivers(true).await;
    let resource = api.resource().await;
    let (st, hook) = api
        .post(
            "/webhooks",
            json!({"url": "http://127.0.0.1:9/", "events": [{"graph": "instant", "state": "confirmed"}]}),
        )
        .await;
    assert_eq!(st, 201, "{hook}");
    let hook = hook["data"]["id"].as_str().unwrap().to_string();
    let secret = api.get(&format!("/webhooks/{hook}/secret")).await.1["data"]["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let client = reqwest::Client::new();

    for lang in ["python", "node", "rust"] {
        let snippet = Snippet::by_id(lang).unwrap();
        let code = snippet.text(Some(&secret));
        let work = tempfile::tempdir().unwrap();
        let port = free_port();
        let _receiver = serve(prepare(&snippet, &code, work.path()), work.path(), port).await;
        let url = format!("http://127.0.0.1:{port}/webhooks/bookhook");
        let (st, body) = api
            .put(&format!("/webhooks/{hook}"), json!({"url": url}))
            .await;
        assert_eq!(st, 200, "{body}");

        // A real delivery: a booking confirmed through the API, delivered by the server.
        let booking = api.booking(&resource, "instant", json!({})).await;
        let id = booking["id"].as_str().unwrap();
        let mut message = Value::Null;
        let until = Instant::now() + Duration::from_secs(20);
        while Instant::now() < until {
            let page = api.get(&format!("/deliveries?booking_id={id}")).await.1;
            message = page["data"][0].clone();
            if message["attempts"].as_i64().unwrap_or(0) > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let msg_id = message["msg_id"].as_str().expect("a message").to_string();
        let detail = api.get(&format!("/deliveries/{msg_id}")).await.1;
        let attempt = &detail["data"]["attempts"][0];
        assert_eq!(
            (
                message["status"].as_str(),
                attempt["response_status"].as_i64()
            ),
            (Some("delivered"), Some(204)),
            "{lang}: the receiver refused a real delivery: {detail}"
        );

        // The same request again, as recorded, and with one byte of the body changed.
        let sent: String = sqlx::query_scalar("SELECT payload FROM deliveries WHERE msg_id = $1")
            .bind(&msg_id)
            .fetch_one(&app.db)
            .await
            .unwrap();
        let headers: Vec<(String, String)> =
            serde_json::from_value(attempt["request_headers"].clone()).unwrap();
        let post = |body: Vec<u8>| {
            let mut req = client.post(&url).body(body);
            for (k, v) in &headers {
                req = req.header(k, v);
            }
            req.send()
        };
        let again = post(sent.clone().into_bytes()).await.unwrap();
        assert!(again.status().is_success(), "{lang}: {}", again.status());
        let mut changed = sent.into_bytes();
        let at = changed.iter().position(|b| *b == b'c').unwrap();
        changed[at] = b'C';
        let refused = post(changed).await.unwrap();
        assert_eq!(refused.status(), 400, "{lang}: a changed body was accepted");
    }
}
