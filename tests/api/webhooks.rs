//! Webhooks managed through the API, and the outbox a booking transition writes.

use crate::helpers::*;
use bookhook::domain::graph::Graph;
use reqwest::Method;
use serde_json::{json, Value};

async fn ready() -> (TestApp, Api, String) {
    let app = spawn_app().await;
    app.setup_admin().await;
    let api = app.api_for("demo").await;
    let resource = api.resource().await;
    (app, api, resource)
}

async fn webhook(api: &Api, url: &str, events: Value) -> Value {
    let (s, w) = api
        .post(
            "/webhooks",
            json!({"name": "test", "url": url, "events": events}),
        )
        .await;
    assert_eq!(s, 201, "{w}");
    w["data"].clone()
}

/// (webhook id, booking id, state, action) of every delivery, in the order written.
async fn deliveries(app: &TestApp) -> Vec<(String, String, String, String)> {
    sqlx::query_as("SELECT webhook_id, booking_id, state, action FROM deliveries ORDER BY id")
        .fetch_all(&app.db)
        .await
        .unwrap()
}

fn all_events() -> Value {
    let mut v = vec![];
    for g in Graph::ALL {
        for s in g.states() {
            v.push(json!({"graph": g.as_str(), "state": s.as_str()}));
        }
    }
    Value::Array(v)
}

/// One booking's path in `each_subscribed_transition_writes_one_pending_delivery_per_matching_webhook`:
/// its creation and each action, with the state reached and whether the webhook subscribed to
/// confirmed instant and confirm_decline bookings gets a message for it (the webhook subscribed
/// to every event gets one for each).
struct Path {
    row: &'static str,
    graph: &'static str,
    /// A seat in the test's group (the body names the group's booking).
    seat: bool,
    created: (&'static str, bool),
    actions: &'static [(&'static str, &'static str, bool)],
}

const SUBSCRIBED_PATHS: &[Path] = &[
    Path {
        row: "instant, cancelled",
        graph: "instant",
        seat: false,
        created: ("confirmed", true),
        actions: &[("cancel", "cancelled", false)],
    },
    Path {
        row: "confirm_decline, confirmed then completed",
        graph: "confirm_decline",
        seat: false,
        created: ("tentative", false),
        actions: &[
            ("confirm", "confirmed", true),
            ("complete", "completed", false),
        ],
    },
    Path {
        row: "instant_payment, paid then cancelled by the customer",
        graph: "instant_payment",
        seat: false,
        created: ("tentative", false),
        actions: &[
            ("pay", "paid", false),
            ("cancel_by_customer", "cancelled_by_customer", false),
        ],
    },
    Path {
        row: "group_customer, confirmed then cancelled by the customer",
        graph: "group_customer",
        seat: true,
        created: ("confirmed", false),
        actions: &[("cancel_by_customer", "cancelled_by_customer", false)],
    },
    Path {
        row: "group_customer_payment, paid then completed",
        graph: "group_customer_payment",
        seat: true,
        created: ("tentative", false),
        actions: &[("pay", "paid", false), ("complete", "completed", false)],
    },
];

#[tokio::test]
async fn each_subscribed_transition_writes_one_pending_delivery_per_matching_webhook() {
    let (app, api, res) = ready().await;
    let all = webhook(&api, "https://hooks.example.com/all", all_events()).await;
    let confirmed = webhook(
        &api,
        "https://hooks.example.com/confirmed",
        json!([{"graph": "confirm_decline", "state": "confirmed"}, {"graph": "instant", "state": "confirmed"}]),
    )
    .await;
    let off = webhook(&api, "https://hooks.example.com/off", all_events()).await;
    let (s, _) = api
        .put(
            &format!("/webhooks/{}", off["id"].as_str().unwrap()),
            json!({"enabled": false}),
        )
        .await;
    assert_eq!(s, 200);
    let other = app.api_for("other").await;
    webhook(&other, "https://hooks.example.com/other-app", all_events()).await;

    // The group the seats join: created first, cancelled last.
    let owner = api.booking(&res, "group_owner", json!({})).await;
    let oid = owner["id"].as_str().unwrap();
    let mut expected_all = vec![(oid.to_string(), "tentative".to_string())];
    let mut expected_confirmed = vec![];
    // (row, booking id, the states the row's booking is delivered in to each webhook)
    let mut per_row = vec![];
    for p in SUBSCRIBED_PATHS {
        let row = p.row;
        let extra = if p.seat {
            json!({"related": {"owner_booking_id": oid}})
        } else {
            json!({})
        };
        let b = api.booking(&res, p.graph, extra).await;
        let id = b["id"].as_str().unwrap().to_string();
        assert_eq!(b["state"], p.created.0, "{row}: created");
        let (mut to_all, mut to_confirmed) = (vec![], vec![]);
        let mut expect = |state: &str, confirmed_gets_it: bool| {
            to_all.push(state.to_string());
            expected_all.push((id.clone(), state.to_string()));
            if confirmed_gets_it {
                to_confirmed.push(state.to_string());
                expected_confirmed.push((id.clone(), state.to_string()));
            }
        };
        expect(p.created.0, p.created.1);
        for (action, state, confirmed_gets_it) in p.actions {
            let (s, after) = api.act(&id, action).await;
            assert_eq!(s, 200, "{row}: {action}: {after}");
            assert_eq!(after["data"]["state"], *state, "{row}: {action}");
            expect(state, *confirmed_gets_it);
            // The payload is the booking exactly as the API shows it at that moment.
            let payload: String = sqlx::query_scalar(
                "SELECT payload FROM deliveries WHERE webhook_id = $1 ORDER BY id DESC LIMIT 1",
            )
            .bind(all["id"].as_str().unwrap())
            .fetch_one(&app.db)
            .await
            .unwrap();
            let (_, now) = api
                .get(&format!("/bookings/{id}?include=customers,event,calendar"))
                .await;
            assert_eq!(
                serde_json::from_str::<Value>(&payload).unwrap(),
                now["data"],
                "{row}: {action}: the payload"
            );
        }
        per_row.push((row, id, to_all, to_confirmed));
    }
    api.act(oid, "cancel").await;
    expected_all.push((oid.to_string(), "cancelled".to_string()));

    let got = deliveries(&app).await;
    let for_hook = |h: &Value| -> Vec<(String, String)> {
        got.iter()
            .filter(|d| d.0 == h["id"].as_str().unwrap())
            .map(|d| (d.1.clone(), d.2.clone()))
            .collect()
    };
    let states_of = |hook: &Value, id: &str| -> Vec<String> {
        for_hook(hook)
            .into_iter()
            .filter(|(b, _)| b == id)
            .map(|(_, s)| s)
            .collect()
    };
    for (row, id, to_all, to_confirmed) in &per_row {
        assert_eq!(&states_of(&all, id), to_all, "{row}: to every event");
        assert_eq!(
            &states_of(&confirmed, id),
            to_confirmed,
            "{row}: to confirmed only"
        );
    }
    assert_eq!(for_hook(&all), expected_all, "in the order written");
    assert_eq!(
        for_hook(&confirmed),
        expected_confirmed,
        "in the order written"
    );
    assert!(for_hook(&off).is_empty(), "a disabled webhook gets nothing");
    let other_app: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM deliveries d JOIN apps a ON a.id = d.app_id WHERE a.slug = 'other'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(other_app, 0, "another app's webhook gets nothing");

    let rows: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT status, msg_id, attempts FROM deliveries")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert!(rows
        .iter()
        .all(|(s, m, a)| s == "pending" && m.starts_with("msg_") && !m.contains('.') && *a == 0));
    let ids: std::collections::HashSet<_> = rows.iter().map(|r| &r.1).collect();
    assert_eq!(ids.len(), rows.len(), "message ids are unique");
}

#[tokio::test]
async fn a_failing_transition_leaves_neither_the_state_change_nor_a_delivery() {
    let (app, api, res) = ready().await;
    webhook(&api, "https://hooks.example.com/x", all_events()).await;
    let b = api.booking(&res, "confirm_decline", json!({})).await;
    let id = b["id"].as_str().unwrap();
    let before = app.count("deliveries").await;

    // Refused by the graph.
    assert_eq!(api.act(id, "pay").await.0, 422);
    assert_eq!(app.count("deliveries").await, before);

    // An error after the state update (the outbox insert fails) rolls everything back.
    let inject: &[&str] = if on_postgres() {
        &[
            "CREATE FUNCTION fail_outbox() RETURNS trigger AS $$ \
             BEGIN RAISE EXCEPTION 'injected failure'; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER fail_outbox BEFORE INSERT ON deliveries \
             FOR EACH ROW EXECUTE FUNCTION fail_outbox()",
        ]
    } else {
        &["CREATE TRIGGER fail_outbox BEFORE INSERT ON deliveries \
           BEGIN SELECT RAISE(ABORT, 'injected failure'); END"]
    };
    for sql in inject {
        sqlx::query(sql).execute(&app.db).await.unwrap();
    }
    let (s, e) = api.act(id, "confirm").await;
    assert_eq!(s, 500, "{e}");
    assert!(
        !e.to_string().contains("injected"),
        "internals stay out of the answer: {e}"
    );
    let (_, now) = api.get(&format!("/bookings/{id}?include=logs")).await;
    assert_eq!(now["data"]["state"], "tentative");
    assert_eq!(now["data"]["logs"].as_array().unwrap().len(), 1);
    assert_eq!(app.count("deliveries").await, before);

    let drop = if on_postgres() {
        "DROP TRIGGER fail_outbox ON deliveries"
    } else {
        "DROP TRIGGER fail_outbox"
    };
    sqlx::query(drop).execute(&app.db).await.unwrap();
    assert_eq!(api.act(id, "confirm").await.0, 200);
    assert_eq!(app.count("deliveries").await, before + 1);
}

#[tokio::test]
async fn webhook_input_is_checked_field_by_field() {
    let (app, api, _) = ready().await;
    let ok_events = json!([{"graph": "instant", "state": "confirmed"}]);
    let cases = vec![
        (
            json!({"url": "ftp://example.com/x", "events": ok_events}),
            "url",
        ),
        (json!({"url": "/relative", "events": ok_events}), "url"),
        (
            json!({"url": "https://user:pw@example.com/", "events": ok_events}),
            "url",
        ),
        (
            json!({"url": format!("https://example.com/{}", "a".repeat(2000)), "events": ok_events}),
            "url",
        ),
        (json!({"events": ok_events}), "url"),
        (json!({"url": "https://example.com/"}), "events"),
        (
            json!({"url": "https://example.com/", "events": []}),
            "events",
        ),
        (
            json!({"url": "https://example.com/", "events": [{"graph": "instant", "state": "unpaid"}]}),
            "events",
        ),
        (
            json!({"url": "https://example.com/", "events": [{"graph": "weekly", "state": "confirmed"}]}),
            "events",
        ),
        (
            json!({"url": "https://example.com/", "events": "instant"}),
            "events",
        ),
        (
            json!({"url": "https://example.com/", "events": ok_events, "method": "get"}),
            "method",
        ),
        (
            json!({"url": "https://example.com/", "graph": "instant"}),
            "state",
        ),
        (
            json!({"url": "https://example.com/", "events": ok_events, "name": "n".repeat(101)}),
            "name",
        ),
    ];
    for (body, field) in cases {
        let (s, e) = api.post("/webhooks", body.clone()).await;
        assert_eq!(s, 422, "{body}: {e}");
        assert_eq!(e["error"]["field"], field, "{body}: {e}");
    }
    assert_eq!(app.count("webhooks").await, 0);
}

#[tokio::test]
async fn non_public_targets_are_refused_and_the_message_names_the_setting() {
    let (app, api, _) = ready().await;
    let events = json!([{"graph": "instant", "state": "confirmed"}]);
    for url in [
        "http://127.0.0.1:8080/hook",
        "http://localhost:9/hook",
        "http://2130706433/hook",
        "http://0x7f.0.0.1/hook",
        "http://10.1.2.3/",
        "http://192.168.1.10/",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[fd00::1]/",
    ] {
        let (s, e) = api
            .post("/webhooks", json!({"url": url, "events": events}))
            .await;
        assert_eq!(s, 422, "{url}: {e}");
        assert_eq!(e["error"]["field"], "url");
        let m = e["error"]["message"].as_str().unwrap();
        assert!(
            m.contains("allowed_target_subnets") && m.contains("BOOKHOOK_ALLOWED_TARGET_SUBNETS"),
            "{m}"
        );
    }
    assert_eq!(app.count("webhooks").await, 0);
}

#[tokio::test]
async fn an_allowed_subnet_admits_its_addresses_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = test_settings(dir.path());
    s.allowed_target_subnets =
        bookhook::domain::webhook::TargetPolicy::parse_list("127.0.0.0/8").unwrap();
    let app = spawn_app_with(s, dir).await;
    app.setup_admin().await;
    let api = app.api_for("demo").await;
    let events = json!([{"graph": "instant", "state": "confirmed"}]);
    assert_eq!(
        api.post(
            "/webhooks",
            json!({"url": "http://localhost:9/hook", "events": events})
        )
        .await
        .0,
        201
    );
    assert_eq!(
        api.post(
            "/webhooks",
            json!({"url": "http://127.0.0.1:9/hook", "events": events})
        )
        .await
        .0,
        201
    );
    assert_eq!(
        api.post(
            "/webhooks",
            json!({"url": "http://10.0.0.1/hook", "events": events})
        )
        .await
        .0,
        422
    );
}

#[tokio::test]
async fn webhooks_are_managed_as_code_and_timekits_form_is_accepted() {
    let (app, api, _) = ready().await;
    let (s, w) = api
        .post(
            "/webhooks",
            json!({"url": "https://hooks.example.com/timekit", "graph": "instant_payment", "state": "unpaid", "method": "post"}),
        )
        .await;
    assert_eq!(s, 201, "{w}");
    let d = &w["data"];
    assert_eq!(
        d["events"],
        json!([{"graph": "instant_payment", "state": "unpaid"}])
    );
    assert_eq!(d["name"], "hooks.example.com");
    assert_eq!(d["method"], "post");
    assert_eq!(d["enabled"], true);
    assert!(d.get("secret").is_none(), "the secret is only in /secret");
    let id = d["id"].as_str().unwrap();

    let (s, list) = api.get("/webhooks").await;
    assert_eq!(s, 200);
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert!(!list.to_string().contains("whsec_"));

    let (s, upd) = api
        .put(
            &format!("/webhooks/{id}"),
            json!({"name": "Payments", "events": [{"graph": "instant_payment", "state": "paid"}, {"graph": "instant_payment", "state": "unpaid"}]}),
        )
        .await;
    assert_eq!(s, 200, "{upd}");
    assert_eq!(upd["data"]["name"], "Payments");
    assert_eq!(upd["data"]["url"], "https://hooks.example.com/timekit");
    assert_eq!(upd["data"]["events"].as_array().unwrap().len(), 2);

    let (s, off) = api
        .put(&format!("/webhooks/{id}"), json!({"enabled": false}))
        .await;
    assert_eq!((s, off["data"]["enabled"].as_bool()), (200, Some(false)));
    assert_eq!(off["data"]["disabled_reason"], "manual");

    let other = app.api_for("other").await;
    assert_eq!(other.get(&format!("/webhooks/{id}")).await.0, 404);
    assert_eq!(
        other
            .put(&format!("/webhooks/{id}"), json!({"enabled": true}))
            .await
            .0,
        404
    );
    assert_eq!(other.get(&format!("/webhooks/{id}/secret")).await.0, 404);
    assert_eq!(
        other
            .post(&format!("/webhooks/{id}/rotate-secret"), json!({}))
            .await
            .0,
        404
    );
    assert_eq!(
        other
            .send(Method::DELETE, &format!("/webhooks/{id}"), None)
            .await
            .0,
        404
    );

    assert_eq!(
        api.send(Method::DELETE, &format!("/webhooks/{id}"), None)
            .await
            .0,
        204
    );
    assert_eq!(api.get(&format!("/webhooks/{id}")).await.0, 404);
}

#[tokio::test]
async fn rotating_the_secret_keeps_the_old_one_for_a_day() {
    let (_app, api, _) = ready().await;
    let w = webhook(
        &api,
        "https://hooks.example.com/x",
        json!([{"graph": "instant", "state": "confirmed"}]),
    )
    .await;
    let id = w["id"].as_str().unwrap();
    let (s, first) = api.get(&format!("/webhooks/{id}/secret")).await;
    assert_eq!(s, 200);
    let old = first["data"]["secret"].as_str().unwrap().to_string();
    assert!(old.starts_with("whsec_"));
    assert!(first["data"]["previous_secret"].is_null());

    let (s, rotated) = api
        .post(&format!("/webhooks/{id}/rotate-secret"), json!({}))
        .await;
    assert_eq!(s, 200);
    let new = rotated["data"]["secret"].as_str().unwrap();
    assert_ne!(new, old);
    assert_eq!(rotated["data"]["previous_secret"], old);
    let expires = bookhook::domain::booking::parse_time(
        rotated["data"]["previous_expires_at"].as_str().unwrap(),
    )
    .unwrap();
    let in_a_day = bookhook::store::now_ms() + 24 * 3600 * 1000;
    assert!((expires - in_a_day).abs() < 60_000);
    let (_, again) = api.get(&format!("/webhooks/{id}/secret")).await;
    assert_eq!(again["data"]["secret"], new);

    // At rest both are encrypted: the database alone does not give them away.
    let (secret, previous): (String, String) =
        sqlx::query_as("SELECT secret, previous_secret FROM webhooks WHERE id = $1")
            .bind(id)
            .fetch_one(&_app.db)
            .await
            .unwrap();
    for (stored, plain) in [(&secret, new), (&previous, old.as_str())] {
        assert!(stored.starts_with("enc1:"), "{stored}");
        assert!(!stored.contains(&plain["whsec_".len()..]), "{stored}");
    }
}

#[tokio::test]
async fn secrets_stored_in_clear_are_encrypted_at_start_and_a_wrong_key_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let settings = test_settings(dir.path());
    let app = spawn_app_with(settings.clone(), dir).await;
    app.setup_admin().await;
    let plain = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    // As an earlier version wrote it.
    sqlx::query(
        "INSERT INTO webhooks (id, app_id, name, url, secret, created_at, updated_at) \
         VALUES ('wh_legacy', 1, 'old', 'https://example.com/', $1, 0, 0)",
    )
    .bind(plain)
    .execute(&app.db)
    .await
    .unwrap();
    app.stop.cancel();
    let again = spawn_app_with(settings.clone(), tempfile::tempdir().unwrap()).await;
    let stored: String = sqlx::query_scalar("SELECT secret FROM webhooks WHERE id = 'wh_legacy'")
        .fetch_one(&again.db)
        .await
        .unwrap();
    assert!(stored.starts_with("enc1:"), "{stored}");
    let api = again.api_for("demo").await;
    let (s, got) = api.get("/webhooks/wh_legacy/secret").await;
    assert_eq!(s, 200);
    assert_eq!(got["data"]["secret"], plain);
    again.stop.cancel();

    // Another key cannot read them: the server says so instead of signing wrongly.
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bookhook"))
        .arg("serve")
        .env("BOOKHOOK_DATA_DIR", dir.path())
        .env("BOOKHOOK_DATABASE_URL", &settings.database_url)
        .env("BOOKHOOK_LISTEN", "127.0.0.1:0")
        .env(
            "BOOKHOOK_SECRET_KEY",
            "d3Jvbmcga2V5IHdyb25nIGtleSB3cm9uZyBrZXkgISE=",
        )
        .env("BOOKHOOK_LOG_LEVEL", "error")
        .output()
        .unwrap();
    assert!(!out.status.success(), "a server with the wrong key started");
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(err.contains("encrypted with another key"), "{err}");
    assert!(
        !err.contains("d3Jvbmc"),
        "the key stays out of the message: {err}"
    );
}

#[tokio::test]
async fn every_spelling_of_a_private_address_is_refused_through_the_api() {
    let (app, api, _) = ready().await;
    let before = app.count("webhooks").await;
    for url in [
        "http://127.0.0.1/h",
        "http://2130706433/h",
        "http://0x7f000001/h",
        "http://0x7f.0.0.1/h",
        "http://0177.0.0.1/h",
        "http://0177.1/h",
        "http://127.1/h",
        "http://[::1]/h",
        "http://[::ffff:127.0.0.1]/h",
        "http://[::ffff:7f00:1]/h",
        "http://[::ffff:a9fe:a9fe]/h",
        "http://0.0.0.0/h",
        "http://[::]/h",
        "http://10.0.0.1/h",
        "http://172.16.0.1/h",
        "http://192.168.1.1/h",
        "http://100.64.0.1/h",
        "http://169.254.169.254/latest/meta-data",
        "http://[fd00::1]/h",
        "http://[fe80::1]/h",
        "http://localhost/h",
        "http://LOCALHOST/h",
        "http://localhost./h",
        "http://api.localhost/h",
        "http://localhost:8080/h",
    ] {
        let (s, body) = api
            .post(
                "/webhooks",
                json!({"url": url, "events": [{"graph": "instant", "state": "confirmed"}]}),
            )
            .await;
        assert_eq!(s, 422, "{url}: {body}");
        assert_eq!(body["error"]["field"], "url", "{url}: {body}");
    }
    assert_eq!(app.count("webhooks").await, before);
}

/// One booking created in `a_created_booking_answers_and_delivers_what_a_read_shows`.
struct Created {
    row: &'static str,
    graph: Graph,
    /// Merged into the request body.
    extra: Value,
    /// A seat in the group of the first row.
    seat: bool,
}

/// The group (first) and one booking of every graph, with and without a customer.
fn created_rows() -> Vec<Created> {
    let customer = json!({"customer": {"name": "Ada", "email": "ada@example.com",
        "phone": "+47 1234", "meta": {"z": null, "k": "v"}}});
    let row = |row, graph, extra: &Value, seat| Created {
        row,
        graph,
        extra: extra.clone(),
        seat,
    };
    vec![
        row(
            "a group with meta, whose seats are taken after it answered",
            Graph::GroupOwner,
            &json!({"meta": {"b": 1, "a": [true]}}),
            false,
        ),
        row("instant with a customer", Graph::Instant, &customer, false),
        row(
            "confirm_decline with a customer",
            Graph::ConfirmDecline,
            &customer,
            false,
        ),
        row(
            "instant_payment with a customer",
            Graph::InstantPayment,
            &customer,
            false,
        ),
        row(
            "group_owner without a customer",
            Graph::GroupOwner,
            &json!({}),
            false,
        ),
        row(
            "group_customer, a seat with a customer",
            Graph::GroupCustomer,
            &customer,
            true,
        ),
        row(
            "group_customer_payment, a seat with a customer",
            Graph::GroupCustomerPayment,
            &customer,
            true,
        ),
    ]
}

/// Creating a booking answers with, and delivers, what it wrote (built without reading it back):
/// both must be exactly what a read of the booking shows afterwards, for every graph, with and
/// without a customer, with seats and with an owner.
#[tokio::test]
async fn a_created_booking_answers_and_delivers_what_a_read_shows() {
    let rows = created_rows();
    for g in Graph::ALL {
        assert!(rows.iter().any(|r| r.graph == g), "no row creates {g}");
    }
    let (app, api, res) = ready().await;
    webhook(&api, "https://hooks.example.com/created", all_events()).await;
    let mut created = vec![];
    let mut group = None;
    for r in &rows {
        let mut extra = r.extra.clone();
        if r.seat {
            let owner: &String = group.as_ref().expect("the group is the first row");
            extra["related"] = json!({"owner_booking_id": owner});
        }
        let (s, b) = api
            .post("/bookings", booking_body(&res, r.graph.as_str(), extra))
            .await;
        assert_eq!(s, 201, "{}: {b}", r.row);
        if group.is_none() {
            group = Some(b["data"]["id"].as_str().unwrap().to_string());
        }
        created.push((r.row, b["data"].clone()));
    }
    let owner = group.unwrap();
    for (row, b) in created {
        let id = b["id"].as_str().unwrap();
        let (_, all) = api
            .get(&format!(
                "/bookings/{id}?include=customers,event,calendar,available_actions,logs"
            ))
            .await;
        let mut read = all["data"].clone();
        if id == owner {
            // Seats were taken after the group was created and answered.
            assert_eq!(b["settings"]["seats_taken"], 0, "{row}");
            assert!(
                read["settings"]["seats_taken"].as_i64().unwrap() > 0,
                "{row}"
            );
            read["settings"]["seats_taken"] = json!(0);
        }
        assert_eq!(b, read, "{row}: the create response");
        let payload: String = sqlx::query_scalar(
            "SELECT payload FROM deliveries WHERE booking_id = $1 ORDER BY id LIMIT 1",
        )
        .bind(id)
        .fetch_one(&app.db)
        .await
        .unwrap();
        let (_, shown) = api
            .get(&format!("/bookings/{id}?include=customers,event,calendar"))
            .await;
        let payload: Value = serde_json::from_str(&payload).unwrap();
        let mut shown = shown["data"].clone();
        if id == owner {
            assert_eq!(payload["settings"]["seats_taken"], 0, "{row}");
            shown["settings"]["seats_taken"] = json!(0);
        }
        assert_eq!(payload, shown, "{row}: the payload");
    }
}

/// API calls that arrive together share a transaction (group commit), yet each answers for
/// itself: refused bookings leave the others created, the seats of one group are counted
/// across the calls, and each created booking has its log and outbox rows.
#[tokio::test]
async fn bookings_created_together_each_answer_for_themselves() {
    let (app, api, res) = ready().await;
    webhook(&api, "https://hooks.example.com/created", all_events()).await;
    let owner = api.booking(&res, "group_owner", json!({})).await; // 2 seats
    let owner = owner["id"].as_str().unwrap().to_string();
    let calls = (0..60).map(|i| {
        let body = match i % 6 {
            0 => booking_body("no-such-resource", "instant", json!({})),
            1 => booking_body(
                &res,
                "group_customer",
                json!({"related": {"owner_booking_id": owner}}),
            ),
            _ => booking_body(&res, "instant", json!({"meta": {"i": i}})),
        };
        let api = &api;
        async move { (i, api.post("/bookings", body).await) }
    });
    let answers = futures::future::join_all(calls).await;
    let (mut seats, mut full) = (0, 0);
    for (i, (status, body)) in &answers {
        match i % 6 {
            0 => {
                assert_eq!(*status, 422, "{body}");
                assert_eq!(body["error"]["field"], "resource_id", "{body}");
            }
            1 if *status == 201 => seats += 1,
            1 => {
                assert_eq!(*status, 409, "{body}");
                full += 1;
            }
            _ => {
                assert_eq!(*status, 201, "{body}");
                assert_eq!(body["data"]["meta"]["i"], *i, "{body}");
            }
        }
    }
    assert_eq!((seats, full), (2, 8));
    let created = 1 + 2 + 40;
    assert_eq!(app.count("bookings").await, created);
    assert_eq!(app.count("booking_logs").await, created);
    assert_eq!(app.count("deliveries").await, created);
    let (_, group) = api.get(&format!("/bookings/{owner}")).await;
    assert_eq!(group["data"]["settings"]["seats_taken"], 2, "{group}");
}

/// Calls queued while the writer is busy go into one transaction: 30 queued while another
/// writer holds it are one commit, and a refused one among them is answered on its own.
#[tokio::test]
async fn calls_queued_together_are_one_commit() {
    let (app, _api, res) = ready().await;
    let demo = bookhook::store::app_by_slug(&app.db, "demo")
        .await
        .unwrap()
        .unwrap();
    let actor = bookhook::engine::Actor::api_key(1, "test");
    let new = |resource: &str, i: i64| {
        let body = booking_body(resource, "instant", json!({"meta": {"i": i}}));
        bookhook::api::bookings::check_booking(serde_json::from_value(body).unwrap())
            .ok()
            .unwrap()
    };
    let before = app.state.metrics.booking_commits();
    let calls = (0..30).map(|i| {
        let nb = new(if i == 7 { "no-such-resource" } else { &res }, i);
        let (engine, demo, actor) = (&app.state.engine, &demo, &actor);
        async move { engine.create_booking(demo, nb, actor).await }
    });
    // Every call is queued at the first poll, while the writer is held here.
    let busy = bookhook::store::write_slot(&app.db).await.unwrap();
    let (outs, ()) = futures::future::join(futures::future::join_all(calls), async move {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        drop(busy);
    })
    .await;
    for (i, out) in outs.iter().enumerate() {
        match out {
            Ok(b) => assert_eq!(b.meta["i"], i as i64),
            Err(e) => assert_eq!(i, 7, "{e}"),
        }
    }
    assert!(outs[7].is_err());
    let after = app.state.metrics.booking_commits();
    assert_eq!((after.0 - before.0, after.1 - before.1), (1, 29));
    assert_eq!(app.count("bookings").await, 29);
}
