//! The booking engine through the real HTTP API.

use crate::helpers::*;
use bookhook::domain::graph::Graph;
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::Arc;

async fn ready() -> (TestApp, Api, String) {
    let app = spawn_app().await;
    app.setup_admin().await;
    let api = app.api_for("demo").await;
    let resource = api.resource().await;
    (app, api, resource)
}

async fn states_logged(api: &Api, id: &str) -> Vec<String> {
    let (_, b) = api.get(&format!("/bookings/{id}?include=logs")).await;
    b["data"]["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["to"].as_str().unwrap().to_string())
        .collect()
}

/// One booking walked through its graph: created in `created`, then each action with the state
/// it reaches; the last state is final and the log lists every state in order.
struct Walk {
    row: &'static str,
    graph: Graph,
    /// A seat in the test's group (the body names the group's booking).
    seat: bool,
    created: &'static str,
    steps: &'static [(&'static str, &'static str)],
}

const HAPPY_PATHS: &[Walk] = &[
    Walk {
        row: "instant, completed",
        graph: Graph::Instant,
        seat: false,
        created: "confirmed",
        steps: &[("complete", "completed")],
    },
    Walk {
        row: "confirm_decline, confirmed then cancelled by the customer",
        graph: Graph::ConfirmDecline,
        seat: false,
        created: "tentative",
        steps: &[
            ("confirm", "confirmed"),
            ("cancel_by_customer", "cancelled_by_customer"),
        ],
    },
    Walk {
        row: "confirm_decline, declined",
        graph: Graph::ConfirmDecline,
        seat: false,
        created: "tentative",
        steps: &[("decline", "declined")],
    },
    Walk {
        row: "instant_payment, paid then completed",
        graph: Graph::InstantPayment,
        seat: false,
        created: "tentative",
        steps: &[("pay", "paid"), ("complete", "completed")],
    },
    Walk {
        row: "group_customer, cancelled by the customer",
        graph: Graph::GroupCustomer,
        seat: true,
        created: "confirmed",
        steps: &[("cancel_by_customer", "cancelled_by_customer")],
    },
    Walk {
        row: "group_customer_payment, paid then cancelled by the owner",
        graph: Graph::GroupCustomerPayment,
        seat: true,
        created: "tentative",
        steps: &[("pay", "paid"), ("cancel_by_owner", "cancelled_by_owner")],
    },
    Walk {
        row: "group_owner, completed",
        graph: Graph::GroupOwner,
        seat: false,
        created: "tentative",
        steps: &[("complete", "completed")],
    },
];

#[tokio::test]
async fn every_graph_walks_its_happy_path() {
    for g in Graph::ALL {
        assert!(HAPPY_PATHS.iter().any(|w| w.graph == g), "no row walks {g}");
    }
    let (_app, api, res) = ready().await;
    let owner = api.booking(&res, "group_owner", json!({})).await;
    let owner_id = owner["id"].as_str().unwrap();
    for w in HAPPY_PATHS {
        let row = w.row;
        let extra = if w.seat {
            json!({"related": {"owner_booking_id": owner_id}})
        } else {
            json!({})
        };
        let b = api.booking(&res, w.graph.as_str(), extra).await;
        assert_eq!(b["graph"], w.graph.as_str(), "{row}");
        assert_eq!(b["state"], w.created, "{row}");
        assert_eq!(b["completed"], false, "{row}");
        let id = b["id"].as_str().unwrap();
        let mut expected = vec![w.created.to_string()];
        for (i, (action, to)) in w.steps.iter().enumerate() {
            let (s, after) = api.act(id, action).await;
            assert_eq!(s, 200, "{row}: {action}: {after}");
            assert_eq!(after["data"]["state"], *to, "{row}: {action}");
            assert_eq!(
                after["data"]["completed"],
                i == w.steps.len() - 1,
                "{row}: {action}: only the last state is final"
            );
            expected.push(to.to_string());
        }
        assert_eq!(states_logged(&api, id).await, expected, "{row}: the log");
    }
}

#[tokio::test]
async fn a_booking_reads_back_in_the_v2_shape_with_its_includes() {
    let (_app, api, res) = ready().await;
    let b = api
        .booking(&res, "confirm_decline", json!({"meta": {"ref": "A-1"}}))
        .await;
    let id = b["id"].as_str().unwrap();
    let (s, got) = api
        .get(&format!(
            "/bookings/{id}?include=customers,event,calendar,available_actions,logs"
        ))
        .await;
    assert_eq!(s, 200);
    let d = &got["data"];
    for key in [
        "id",
        "state",
        "graph",
        "completed",
        "created_at",
        "updated_at",
    ] {
        assert!(!d[key].is_null(), "{key} missing: {d}");
    }
    assert_eq!(d["customers"][0]["name"], "Grace Hopper");
    assert_eq!(d["customers"][0]["email"], "grace@example.com");
    assert_eq!(d["event"]["what"], "Yoga class");
    assert_eq!(d["event"]["where"], "Studio A");
    assert_eq!(d["event"]["start"], "2030-01-10T10:00:00Z");
    assert_eq!(d["event"]["allDay"], false);
    assert!(d["calendar"]["id"].is_string());
    assert_eq!(
        d["available_actions"],
        json!(["confirm", "decline", "cancel"])
    );
    assert_eq!(d["logs"][0]["actor"], "api_key");
    assert_eq!(d["meta"]["ref"], "A-1");

    let (_, plain) = api.get(&format!("/bookings/{id}")).await;
    assert!(
        plain["data"].get("customers").is_none(),
        "no include, no customers"
    );

    let (s, upd) = api
        .put(&format!("/bookings/{id}"), json!({"meta": {"ref": "B-2"}}))
        .await;
    assert_eq!(s, 200);
    assert_eq!(upd["data"]["meta"]["ref"], "B-2");
}

#[tokio::test]
async fn refused_actions_list_what_is_allowed_and_change_nothing() {
    let (app, api, res) = ready().await;
    let b = api.booking(&res, "confirm_decline", json!({})).await;
    let id = b["id"].as_str().unwrap();
    let logs_before = app.count("booking_logs").await;
    for action in [
        "pay",
        "complete",
        "cancel_by_owner",
        "reschedule_by_customer",
        "timeout",
    ] {
        let (s, e) = api.act(id, action).await;
        assert_eq!(s, 422, "{action}: {e}");
        assert_eq!(e["error"]["code"], "action_not_allowed");
        assert!(
            e["error"]["message"]
                .as_str()
                .unwrap()
                .ends_with("allowed: confirm, decline, cancel"),
            "{e}"
        );
    }
    let (s, e) = api.act(id, "explode").await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (422, Some("unknown_action"))
    );
    let (_, now) = api.get(&format!("/bookings/{id}")).await;
    assert_eq!(now["data"]["state"], "tentative");
    assert_eq!(app.count("booking_logs").await, logs_before);

    // A final state allows nothing.
    api.act(id, "decline").await;
    let (s, e) = api.act(id, "confirm").await;
    assert_eq!(s, 422);
    assert!(e["error"]["message"]
        .as_str()
        .unwrap()
        .contains("none (the state is final)"));
}

#[tokio::test]
async fn another_apps_bookings_are_not_found() {
    let (app, api, res) = ready().await;
    let b = api.booking(&res, "instant", json!({})).await;
    let id = b["id"].as_str().unwrap();
    let other = app.api_for("other-app").await;
    assert_eq!(other.get(&format!("/bookings/{id}")).await.0, 404);
    assert_eq!(other.act(id, "cancel").await.0, 404);
    assert_eq!(
        other
            .send(Method::DELETE, &format!("/bookings/{id}"), None)
            .await
            .0,
        404
    );
    let (_, list) = other.get("/bookings").await;
    assert_eq!(list["total"], 0);
    // Nor can another app book this app's resource.
    let (s, e) = other
        .post("/bookings", booking_body(&res, "instant", json!({})))
        .await;
    assert_eq!(
        (s, e["error"]["field"].as_str()),
        (422, Some("resource_id"))
    );
    let (_, still) = api.get(&format!("/bookings/{id}")).await;
    assert_eq!(still["data"]["state"], "confirmed");
}

#[tokio::test]
async fn unpaid_bookings_time_out_once_after_the_payment_window() {
    let (app, api, res) = ready().await;
    let b = api.booking(&res, "instant_payment", json!({})).await;
    let id = b["id"].as_str().unwrap();
    let now = bookhook::store::now_ms();
    assert_eq!(
        app.state.engine.run_due(now + 60_000, 100).await.unwrap(),
        0,
        "not yet"
    );
    assert_eq!(
        app.state
            .engine
            .run_due(now + 5 * 60_000 + 1_000, 100)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        app.state
            .engine
            .run_due(now + 10 * 60_000, 100)
            .await
            .unwrap(),
        0,
        "exactly once"
    );
    let (_, got) = api.get(&format!("/bookings/{id}?include=logs")).await;
    assert_eq!(got["data"]["state"], "unpaid");
    assert_eq!(got["data"]["completed"], true);
    assert_eq!(got["data"]["logs"][1]["action"], "timeout");
    assert_eq!(got["data"]["logs"][1]["actor"], "engine");

    // A paid booking does not time out.
    let paid = api.booking(&res, "instant_payment", json!({})).await;
    let pid = paid["id"].as_str().unwrap();
    api.put(
        &format!("/bookings/{pid}/pay"),
        json!({"pay": {"payment_id": "pi_123"}}),
    )
    .await;
    app.state
        .engine
        .run_due(now + 10 * 60_000, 100)
        .await
        .unwrap();
    let (_, got) = api.get(&format!("/bookings/{pid}?include=logs")).await;
    assert_eq!(got["data"]["state"], "paid");
    assert_eq!(got["data"]["logs"][1]["details"]["payment_id"], "pi_123");
}

#[tokio::test]
async fn bookings_auto_complete_an_hour_after_they_end_unless_disabled() {
    let (app, api, res) = ready().await;
    let on = api.booking(&res, "instant", json!({})).await;
    let off = api
        .booking(
            &res,
            "instant",
            json!({"auto_complete_one_hour_after_booking_ends": {"enabled": false}}),
        )
        .await;
    let end = bookhook::domain::booking::parse_time("2030-01-10T11:00:00Z").unwrap();
    assert_eq!(
        app.state
            .engine
            .run_due(end + 59 * 60_000, 100)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        app.state
            .engine
            .run_due(end + 61 * 60_000, 100)
            .await
            .unwrap(),
        1
    );
    let (_, a) = api
        .get(&format!("/bookings/{}", on["id"].as_str().unwrap()))
        .await;
    let (_, b) = api
        .get(&format!("/bookings/{}", off["id"].as_str().unwrap()))
        .await;
    assert_eq!(a["data"]["state"], "completed");
    assert_eq!(b["data"]["state"], "confirmed");
}

#[tokio::test]
async fn due_actions_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let settings = test_settings(dir.path());
    let app = spawn_app_with(settings.clone(), dir).await;
    app.setup_admin().await;
    let api = app.api_for("demo").await;
    let res = api.resource().await;
    let b = api.booking(&res, "instant_payment", json!({})).await;
    app.stop.cancel();
    drop(api);

    let again = spawn_app_with(settings, tempfile::tempdir().unwrap()).await;
    let later = bookhook::store::now_ms() + 6 * 60_000;
    assert_eq!(again.state.engine.run_due(later, 100).await.unwrap(), 1);
    let state: String = sqlx::query_scalar("SELECT state FROM bookings WHERE id = $1")
        .bind(b["id"].as_str().unwrap())
        .fetch_one(&again.db)
        .await
        .unwrap();
    assert_eq!(state, "unpaid");
}

#[tokio::test]
async fn seats_are_limited_and_cancelling_the_owner_cancels_them() {
    let (_app, api, res) = ready().await;
    let owner = api
        .booking(&res, "group_owner", json!({"settings": {"max_seats": 2}}))
        .await;
    let oid = owner["id"].as_str().unwrap();
    let related = json!({"related": {"owner_booking_id": oid}});
    let s1 = api.booking(&res, "group_customer", related.clone()).await;
    // A payment seat is held only once paid.
    let p = api
        .booking(&res, "group_customer_payment", related.clone())
        .await;
    let p2 = api
        .booking(&res, "group_customer_payment", related.clone())
        .await;
    let (s, paid) = api.act(p["id"].as_str().unwrap(), "pay").await;
    assert_eq!((s, paid["data"]["state"].as_str()), (200, Some("paid")));
    let (_, o) = api.get(&format!("/bookings/{oid}")).await;
    assert_eq!(
        o["data"]["settings"],
        json!({"max_seats": 2, "seats_taken": 2})
    );

    let (s, e) = api
        .post(
            "/bookings",
            booking_body(&res, "group_customer", related.clone()),
        )
        .await;
    assert_eq!(s, 409, "{e}");
    assert!(e["error"]["message"]
        .as_str()
        .unwrap()
        .contains("No free seat"));
    let (s, _) = api.act(p2["id"].as_str().unwrap(), "pay").await;
    assert_eq!(s, 409, "paying for a seat when none is free");

    let (s, _) = api.act(oid, "cancel").await;
    assert_eq!(s, 200);
    for seat in [&s1, &p, &p2] {
        let (_, got) = api
            .get(&format!("/bookings/{}", seat["id"].as_str().unwrap()))
            .await;
        assert_eq!(got["data"]["state"], "cancelled_by_owner");
    }
    let (s, _) = api
        .post("/bookings", booking_body(&res, "group_customer", related))
        .await;
    assert_eq!(s, 409, "a cancelled group takes no seats");
}

#[tokio::test]
async fn bookings_are_listed_searched_and_paged() {
    let (_app, api, res) = ready().await;
    for _ in 0..3 {
        api.booking(&res, "instant", json!({})).await;
    }
    let cd = api.booking(&res, "confirm_decline", json!({})).await;
    api.act(cd["id"].as_str().unwrap(), "decline").await;
    let (s, all) = api.get("/bookings?per_page=2").await;
    assert_eq!(s, 200);
    assert_eq!(all["total"], 4);
    assert_eq!(all["last_page"], 2);
    assert_eq!(all["data"].as_array().unwrap().len(), 2);
    let (_, p2) = api.get("/bookings?per_page=2&page=2").await;
    assert_eq!(p2["current_page"], 2);
    assert_eq!(p2["data"].as_array().unwrap().len(), 2);
    let (_, d) = api
        .get("/bookings?search=graph:confirm_decline;state:declined")
        .await;
    assert_eq!(d["total"], 1);
    assert_eq!(d["data"][0]["id"], cd["id"]);
    let (_, i) = api.get("/bookings?search=graph:instant").await;
    assert_eq!(i["total"], 3);
    for bad in [
        "search=graph:nope",
        "search=colour:red",
        "page=0",
        "per_page=x",
        "include=secrets",
    ] {
        let (s, e) = api.get(&format!("/bookings?{bad}")).await;
        assert_eq!(s, 400, "{bad}: {e}");
        assert!(e["error"]["field"].is_string());
    }
}

#[tokio::test]
async fn only_final_bookings_can_be_deleted() {
    let (app, api, res) = ready().await;
    let b = api.booking(&res, "instant", json!({})).await;
    let id = b["id"].as_str().unwrap();
    let (s, _) = api
        .send(Method::DELETE, &format!("/bookings/{id}"), None)
        .await;
    assert_eq!(s, 409);
    api.act(id, "cancel").await;
    let (s, _) = api
        .send(Method::DELETE, &format!("/bookings/{id}"), None)
        .await;
    assert_eq!(s, 204);
    assert_eq!(api.get(&format!("/bookings/{id}")).await.0, 404);
    assert_eq!(app.count("booking_logs").await, 0);
    assert_eq!(app.count("customers").await, 0);
}

#[tokio::test]
async fn bad_requests_get_clear_errors_and_write_nothing() {
    let (app, api, res) = ready().await;
    let base = |extra: Value| booking_body(&res, "instant", extra);
    let cases: Vec<(Value, u16, &str)> = vec![
        (base(json!({"graph": "nope"})), 422, "graph"),
        (base(json!({"graph": 5})), 422, "graph"),
        (base(json!({"action": "pay"})), 422, "action"),
        (base(json!({"start": "tomorrow"})), 422, "start"),
        (base(json!({"end": "2030-01-10T09:00:00Z"})), 422, "end"),
        (base(json!({"what": ""})), 422, "what"),
        (
            base(json!({"customer": {"name": "x"}})),
            422,
            "customer.email",
        ),
        (base(json!({"customer": "grace"})), 422, "customer"),
        (base(json!({"meta": [1, 2]})), 422, "meta"),
        (
            base(json!({"resource_id": "00000000-0000-0000-0000-000000000000"})),
            422,
            "resource_id",
        ),
        (
            base(json!({"settings": {"max_seats": 3}})),
            422,
            "settings.max_seats",
        ),
        (
            booking_body(&res, "group_owner", json!({"settings": {"max_seats": 0}})),
            422,
            "settings.max_seats",
        ),
        (
            booking_body(&res, "group_customer", json!({})),
            422,
            "related.owner_booking_id",
        ),
    ];
    let mut without_graph = base(json!({}));
    without_graph.as_object_mut().unwrap().remove("graph");
    let mut all = cases;
    all.push((without_graph, 422, "graph"));
    for (body, status, field) in all {
        let (s, e) = api.post("/bookings", body.clone()).await;
        assert_eq!(s, status, "{body}: {e}");
        assert_eq!(e["error"]["field"], field, "{body}: {e}");
        assert!(e["error"]["message"].as_str().unwrap().len() > 5);
    }

    let raw = |body: &'static [u8]| {
        api.client
            .post(format!("{}/v2/bookings", api.base))
            .basic_auth("", Some(&api.key))
            .header("content-type", "application/json")
            .body(body)
    };
    for body in [&b"{not json"[..], b"[1,2]", b"\xff\xfe", b"null"] {
        let res = raw(body).send().await.unwrap();
        assert_eq!(res.status(), 400, "{body:?}");
        let e: Value = res.json().await.unwrap();
        assert_eq!(e["error"]["code"], "invalid_json");
    }
    let huge = format!("{{\"what\": \"{}\"}}", "x".repeat(1024 * 1024 + 10));
    let res = api
        .client
        .post(format!("{}/v2/bookings", api.base))
        .basic_auth("", Some(&api.key))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);

    let anon = reqwest::Client::new();
    let res = anon
        .get(format!("{}/v2/bookings", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers().contains_key("www-authenticate"));
    let res = anon
        .get(format!("{}/v2/bookings", api.base))
        .basic_auth("", Some("test_api_key_wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(api.get("/nope").await.0, 404);

    assert_eq!(app.count("bookings").await, 0);
    assert_eq!(app.count("customers").await, 0);
    assert_eq!(app.count("booking_logs").await, 0);
}

#[tokio::test]
async fn a_revoked_key_is_refused_at_once() {
    let (app, api, _) = ready().await;
    sqlx::query("UPDATE api_keys SET revoked_at = 1")
        .execute(&app.db)
        .await
        .unwrap();
    assert_eq!(api.get("/bookings").await.0, 401);
}

/// Paying for seats while their group is cancelled: on PostgreSQL the calls lock the same rows
/// from several connections and must not deadlock; on SQLite the one writer takes them in turn.
/// Either way each call answers for itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paying_seats_while_their_group_is_cancelled_never_deadlocks() {
    let app = spawn_app().await;
    app.setup_admin().await;
    let api = Arc::new(app.api_for("demo").await);
    let resource = api.resource().await;
    for round in 0..3 {
        let owner = api
            .booking(
                &resource,
                "group_owner",
                json!({"settings": {"max_seats": 40}}),
            )
            .await;
        let owner = owner["id"].as_str().unwrap().to_string();
        let mut seats = vec![];
        for _ in 0..12 {
            let s = api
                .booking(
                    &resource,
                    "group_customer_payment",
                    json!({"related": {"owner_booking_id": owner}}),
                )
                .await;
            seats.push(s["id"].as_str().unwrap().to_string());
        }
        let mut tasks = tokio::task::JoinSet::new();
        for seat in seats {
            let api = api.clone();
            tasks.spawn(async move {
                api.put(
                    &format!("/bookings/{seat}/pay"),
                    json!({"pay": {"payment_id": "pi_x"}}),
                )
                .await
            });
        }
        let api2 = api.clone();
        let owner2 = owner.clone();
        tasks.spawn(async move { api2.act(&owner2, "cancel").await });
        while let Some(r) = tasks.join_next().await {
            let (status, body) = r.unwrap();
            assert!(
                status == 200 || status == 409 || status == 422,
                "round {round}: {status} {body}"
            );
        }
    }
}

/// A seat is a place in its class: given only its graph, its class and its customer, it takes
/// the class's resource, calendar, times, what and where, for both seat graphs.
#[tokio::test]
async fn a_seat_takes_its_classs_resource_times_and_place() {
    let (_app, api, res) = ready().await;
    let owner = api.booking(&res, "group_owner", json!({})).await;
    let oid = owner["id"].as_str().unwrap();
    let (_, class) = api
        .get(&format!("/bookings/{oid}?include=event,calendar"))
        .await;
    let class = &class["data"];
    for graph in ["group_customer", "group_customer_payment"] {
        let (s, seat) = api
            .post(
                "/bookings",
                json!({
                    "graph": graph,
                    "related": {"owner_booking_id": oid},
                    "customer": {"name": "Ada", "email": "ada@example.com"},
                }),
            )
            .await;
        assert_eq!(s, 201, "{graph}: {seat}");
        let id = seat["data"]["id"].as_str().unwrap();
        let (_, seat) = api
            .get(&format!("/bookings/{id}?include=event,calendar"))
            .await;
        let seat = &seat["data"];
        for key in ["resource_id", "start", "end"] {
            assert_eq!(seat[key], class[key], "{graph}: {key}");
        }
        for key in ["what", "where", "description", "start", "end"] {
            assert_eq!(
                seat["event"][key], class["event"][key],
                "{graph}: event.{key}"
            );
        }
        assert_eq!(seat["calendar"]["id"], class["calendar"]["id"], "{graph}");
    }
}

/// A seat that names another resource, other times or another what or where than its class's
/// is refused with a 422 naming the field, and writes nothing; the class's own values are
/// accepted, and seats taken that way still count against the class's limit.
#[tokio::test]
async fn a_seat_that_names_another_place_is_refused_and_the_classs_own_is_accepted() {
    let (app, api, res) = ready().await;
    let elsewhere = api.resource().await;
    let owner = api
        .booking(&res, "group_owner", json!({"settings": {"max_seats": 1}}))
        .await;
    let oid = owner["id"].as_str().unwrap();
    let related = json!({"owner_booking_id": oid});
    let before = app.count("bookings").await;
    // (field, a value other than the class's)
    let other: [(&str, Value); 5] = [
        ("resource_id", json!(elsewhere)),
        ("start", json!("2030-01-10T09:30:00Z")),
        ("end", json!("2030-01-10T12:00:00Z")),
        ("what", json!("Swimming")),
        ("where", json!("Pool")),
    ];
    for graph in ["group_customer", "group_customer_payment"] {
        for (field, value) in &other {
            let mut body = booking_body(&res, graph, json!({"related": related}));
            body[*field] = value.clone();
            let (s, e) = api.post("/bookings", body).await;
            assert_eq!(s, 422, "{graph} {field}: {e}");
            assert_eq!(e["error"]["field"], *field, "{graph}: {e}");
            assert!(
                e["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("A seat takes its class's"),
                "{graph} {field}: {e}"
            );
        }
    }
    assert_eq!(app.count("bookings").await, before, "nothing written");
    // The class's own resource, times, what and where: accepted, and the one seat is taken.
    let (s, seat) = api
        .post(
            "/bookings",
            booking_body(&res, "group_customer", json!({"related": related})),
        )
        .await;
    assert_eq!(s, 201, "{seat}");
    let (s, full) = api
        .post(
            "/bookings",
            json!({
                "graph": "group_customer",
                "related": related,
                "customer": {"name": "Ada", "email": "ada@example.com"},
            }),
        )
        .await;
    assert_eq!(s, 409, "{full}");
}

/// Seats made before a seat took its class's place may be on another resource: they are left as
/// they are, and the panel's list and booking page say so (and say nothing of the others).
#[tokio::test]
async fn an_older_seat_on_another_resource_is_shown_as_such_in_the_panel() {
    let (app, api, res) = ready().await;
    let owner = api.booking(&res, "group_owner", json!({})).await;
    let oid = owner["id"].as_str().unwrap();
    let seat = |name: &'static str| {
        let api = &api;
        async move {
            let (s, seat) = api
                .post(
                    "/bookings",
                    json!({"graph": "group_customer", "related": {"owner_booking_id": oid},
                           "customer": {"name": name, "email": "x@example.com"}}),
                )
                .await;
            assert_eq!(s, 201, "{seat}");
            seat["data"]["id"].as_str().unwrap().to_string()
        }
    };
    let (old, new) = (seat("Old").await, seat("New").await);
    // What a seat created before #16 on another resource looks like in the database.
    let (_, pool) = api
        .post("/resources", json!({"name": "Pool", "timezone": "UTC"}))
        .await;
    sqlx::query("UPDATE bookings SET resource_id = $1 WHERE id = $2")
        .bind(pool["data"]["id"].as_str().unwrap())
        .bind(&old)
        .execute(&app.db)
        .await
        .unwrap();

    let page = app
        .call_ok(
            "list_bookings",
            &[("app", "demo"), ("graph", ""), ("state", "")],
        )
        .await;
    assert_eq!(page["out_of_place"], json!([old]), "{page}");
    for (id, flagged) in [(&old, true), (&new, false), (&oid.to_string(), false)] {
        let v = app
            .call_ok("get_booking", &[("app", "demo"), ("id", id)])
            .await;
        assert_eq!(v["out_of_place"], flagged, "{id}");
    }
    let html = app.get("/apps/demo/bookings").await.text().await.unwrap();
    assert_eq!(html.matches("not in its class").count(), 1, "one badge");
    let html = app
        .get(&format!("/apps/demo/bookings/{old}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("out-of-place"), "the booking page says so");
}
