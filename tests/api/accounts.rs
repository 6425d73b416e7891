//! First-run setup, sign-in and sign-out, throttling, sessions, Developer Mode.

use crate::helpers::*;

#[tokio::test]
async fn the_first_admin_can_be_created_only_once() {
    let app = spawn_app().await;
    app.setup_admin().await;
    let other = new_client();
    let res = app
        .call_with(
            &other,
            "create_first_admin",
            &[("email", "eve@example.com"), ("password", "0123456789ab")],
        )
        .await;
    let (status, body) = error_of(res).await;
    assert_eq!(status, 409);
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("already has an admin"));
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn the_first_admin_gets_the_demo_app_and_is_signed_in() {
    let app = spawn_app().await;
    app.setup_admin().await;
    let ctx = app.call_ok("panel_context", &[("app", "demo")]).await;
    assert_eq!(ctx["email"], EMAIL);
    assert_eq!(ctx["current"]["name"], "Demo");
    assert_eq!(ctx["developer_mode"], false);
}

#[tokio::test]
async fn setup_refuses_a_bad_email_or_a_short_password_and_writes_nothing() {
    let app = spawn_app().await;
    let (status, body) = error_of(
        app.call(
            "create_first_admin",
            &[("email", "nope"), ("password", PASSWORD)],
        )
        .await,
    )
    .await;
    assert_eq!((status, body["field"].as_str()), (400, Some("email")));
    let (status, body) = error_of(
        app.call(
            "create_first_admin",
            &[("email", EMAIL), ("password", "short")],
        )
        .await,
    )
    .await;
    assert_eq!((status, body["field"].as_str()), (400, Some("password")));
    let (status, _) = error_of(app.call("create_first_admin", &[("email", EMAIL)]).await).await;
    assert_eq!(
        status, 400,
        "a missing argument is bad input, not a server error"
    );
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn signing_in_and_out() {
    let app = spawn_app().await;
    app.setup_admin().await;
    app.call_ok("sign_out", &[]).await;
    let (status, _) = error_of(app.call("panel_context", &[("app", "demo")]).await).await;
    assert_eq!(status, 401);
    let res = app.sign_in().await;
    assert!(res.status().is_success());
    app.call_ok("panel_context", &[("app", "demo")]).await;
}

#[tokio::test]
async fn the_session_cookie_is_http_only_lax_and_renewed_at_sign_in() {
    let app = spawn_app().await;
    app.setup_admin().await;
    let first = app.sign_in().await;
    let c1 = first
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(c1.starts_with("bookhook_session="), "{c1}");
    assert!(c1.contains("HttpOnly"), "{c1}");
    assert!(c1.contains("SameSite=Lax"), "{c1}");
    assert!(
        !c1.contains("Secure"),
        "plain http must not set Secure: {c1}"
    );
    let second = app.sign_in().await;
    let c2 = second
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let id = |c: &str| c.split(';').next().unwrap().to_string();
    assert_ne!(id(&c1), id(&c2), "sign-in must issue a new session id");
}

#[tokio::test]
async fn https_public_url_marks_the_cookie_secure() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = test_settings(dir.path());
    s.public_url = "https://hooks.example.com".into();
    let app = spawn_app_with(s, dir).await;
    let res = app
        .call(
            "create_first_admin",
            &[("email", EMAIL), ("password", PASSWORD)],
        )
        .await;
    let c = res
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(c.contains("Secure"), "{c}");
}

#[tokio::test]
async fn wrong_credentials_get_one_generic_message() {
    let app = spawn_app().await;
    app.setup_admin().await;
    let anon = new_client();
    let (s1, b1) = error_of(
        app.call_with(
            &anon,
            "sign_in",
            &[("email", EMAIL), ("password", "wrong password")],
        )
        .await,
    )
    .await;
    let (s2, b2) = error_of(
        app.call_with(
            &anon,
            "sign_in",
            &[("email", "nobody@example.com"), ("password", PASSWORD)],
        )
        .await,
    )
    .await;
    assert_eq!((s1, s2), (400, 400));
    assert_eq!(b1["message"], "Incorrect email or password.");
    assert_eq!(
        b1, b2,
        "unknown email and wrong password must look the same"
    );
}

#[tokio::test]
async fn repeated_failures_from_one_client_are_slowed_down() {
    let app = spawn_app().await;
    app.setup_admin().await;
    let anon = new_client();
    for _ in 0..5 {
        let (s, _) = error_of(
            app.call_with(
                &anon,
                "sign_in",
                &[("email", EMAIL), ("password", "wrong password")],
            )
            .await,
        )
        .await;
        assert_eq!(s, 400);
    }
    // Locked now: even the right password is refused until the wait is over.
    let (s, body) = error_of(
        app.call_with(
            &anon,
            "sign_in",
            &[("email", EMAIL), ("password", PASSWORD)],
        )
        .await,
    )
    .await;
    assert_eq!(s, 429);
    assert!(
        body["message"].as_str().unwrap().contains("Try again in"),
        "{body}"
    );
}

#[tokio::test]
async fn developer_mode_persists_across_sign_out_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let settings = test_settings(dir.path());
    let app = spawn_app_with(settings.clone(), dir).await;
    app.setup_admin().await;
    assert_eq!(
        app.call_ok("set_developer_mode", &[("on", "true")]).await,
        true
    );
    app.call_ok("sign_out", &[]).await;
    app.sign_in().await;
    assert_eq!(
        app.call_ok("panel_context", &[("app", "demo")]).await["developer_mode"],
        true
    );

    // A second server on the same database file sees it too.
    let dir2 = tempfile::tempdir().unwrap();
    let again = spawn_app_with(settings, dir2).await;
    again.sign_in().await;
    assert_eq!(
        again.call_ok("panel_context", &[("app", "demo")]).await["developer_mode"],
        true
    );
    again
        .call_ok("set_developer_mode", &[("on", "false")])
        .await;
    assert_eq!(
        again.call_ok("panel_context", &[("app", "demo")]).await["developer_mode"],
        false
    );
}

#[tokio::test]
async fn the_admin_account_can_be_created_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = test_settings(dir.path());
    s.admin_email = Some("ops@example.com".into());
    s.admin_password = Some(bookhook::config::Secret::new("a long enough password"));
    let app = spawn_app_with(s, dir).await;
    let ok = app
        .call(
            "sign_in",
            &[
                ("email", "ops@example.com"),
                ("password", "a long enough password"),
            ],
        )
        .await;
    assert!(ok.status().is_success());
    assert_eq!(
        app.call_ok("panel_context", &[("app", "demo")]).await["email"],
        "ops@example.com"
    );
}

#[tokio::test]
async fn cross_origin_writes_are_refused() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(app.url("/api/create_first_admin"))
        .header("origin", "https://evil.example")
        .form(&[("email", EMAIL), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(n, 0);
}
