//! Finding bookings and messages: the API's `search=`, the panel's Bookings filters with their
//! keyset pager, and the Delivery log's free-text box.

use crate::helpers::*;
use serde_json::{json, Value};

/// A booking of `graph` on `resource` for this customer, starting on `day` at 10:00 UTC.
async fn book(api: &Api, resource: &str, name: &str, email: &str, day: &str) -> String {
    let b = api
        .booking(
            resource,
            "instant",
            json!({"customer": {"name": name, "email": email},
                   "start": format!("{day}T10:00:00Z"), "end": format!("{day}T11:00:00Z")}),
        )
        .await;
    b["id"].as_str().unwrap().to_string()
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap().to_string())
        .collect()
}

/// The ids `GET /v2/bookings?search=…` finds, newest first; the total must agree.
async fn found(api: &Api, search: &str) -> Vec<String> {
    let q: String = url_encode(search);
    let (s, page) = api.get(&format!("/bookings?search={q}")).await;
    assert_eq!(s, 200, "{search}: {page}");
    let found = ids(&page["data"]);
    assert_eq!(page["total"], found.len(), "{search}");
    found
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn the_api_finds_bookings_by_customer_id_resource_and_start_days() {
    let app = spawn_app().await;
    app.setup_admin().await;
    let api = app.api_for("demo").await;
    let (studio, pool) = (api.resource().await, api.resource().await);
    let ada1 = book(
        &api,
        &studio,
        "Ada Lovelace",
        "ada@example.com",
        "2030-01-10",
    )
    .await;
    let grace = book(
        &api,
        &studio,
        "Grace Hopper",
        "grace@example.com",
        "2030-01-31",
    )
    .await;
    let ada2 = book(&api, &pool, "Ada Lovelace", "Ada@Example.com", "2030-02-01").await;
    let bob = book(&api, &pool, "Bob 50%_off", "bob@example.org", "2029-12-31").await;

    let cases: &[(&str, &[&String])] = &[
        ("", &[&bob, &ada2, &grace, &ada1]),
        // A whole email, whatever its case; part of a name or an email otherwise.
        ("customer:ada@example.com", &[&ada2, &ada1]),
        ("customer:ADA@example.COM", &[&ada2, &ada1]),
        ("customer:ada@example", &[]),
        ("customer:lovelace", &[&ada2, &ada1]),
        ("customer:hopp", &[&grace]),
        ("customer:example.org", &[&bob]),
        // % and _ are the text itself, not LIKE's wildcards.
        ("customer:50%_", &[&bob]),
        ("customer:a%e", &[]),
        (&format!("id:{grace}"), &[&grace]),
        (&format!("id:{}", grace.to_uppercase()), &[&grace]),
        (&format!("resource:{pool}"), &[&bob, &ada2]),
        // Whole UTC days, both ends included.
        ("from:2030-01-10;to:2030-01-31", &[&grace, &ada1]),
        ("from:2030-01-31", &[&ada2, &grace]),
        ("to:2030-01-09", &[&bob]),
        ("from:2030-01-11;to:2030-01-30", &[]),
        (
            &format!("customer:ada@example.com;resource:{studio};graph:instant;state:confirmed"),
            &[&ada1],
        ),
        ("customer:ada@example.com;state:cancelled", &[]),
    ];
    for (search, want) in cases {
        let want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
        assert_eq!(found(&api, search).await, want, "search={search}");
    }

    // Paging through a search keeps to it.
    let (_, p2) = api
        .get("/bookings?search=customer:lovelace&per_page=1&page=2")
        .await;
    assert_eq!(
        (ids(&p2["data"]), &p2["total"]),
        (vec![ada1.clone()], &json!(2))
    );

    for bad in [
        "colour:red",
        "customer",
        "customer:",
        "id:42",
        "from:2030-1-32",
        "to:31/01/2030",
        "from:2030-02-01;to:2030-01-01",
        "graph:nope",
    ] {
        let (s, e) = api
            .get(&format!("/bookings?search={}", url_encode(bad)))
            .await;
        assert_eq!(s, 400, "{bad}: {e}");
        assert_eq!(e["error"]["field"], "search", "{bad}: {e}");
    }
}

#[tokio::test]
async fn a_message_id_finds_its_booking_and_the_log_finds_messages_by_email_booking_or_message() {
    let (app, api) = spawn_app_for_receivers(false).await;
    let resource = api.resource().await;
    let (s, hook) = api
        .post(
            "/webhooks",
            json!({"url": "http://127.0.0.1:9/hook", "events": [{"graph": "instant", "state": "confirmed"}]}),
        )
        .await;
    assert_eq!(s, 201, "{hook}");
    let ada1 = book(
        &api,
        &resource,
        "Ada Lovelace",
        "ada@example.com",
        "2030-01-10",
    )
    .await;
    let grace = book(
        &api,
        &resource,
        "Grace Hopper",
        "grace@example.com",
        "2030-01-11",
    )
    .await;
    let ada2 = book(
        &api,
        &resource,
        "Ada Lovelace",
        "ADA@example.com",
        "2030-01-12",
    )
    .await;
    // Cancelling sends nothing here (no webhook for it), so each booking has one message.
    let msg_of = |booking: &str| {
        let booking = booking.to_string();
        let db = app.db.clone();
        async move {
            sqlx::query_scalar::<_, String>("SELECT msg_id FROM deliveries WHERE booking_id = $1")
                .bind(booking)
                .fetch_one(&db)
                .await
                .unwrap()
        }
    };
    let grace_msg = msg_of(&grace).await;

    // The API's search: the booking a message was sent about.
    assert_eq!(
        found(&api, &format!("message:{grace_msg}")).await,
        vec![grace.clone()]
    );
    assert_eq!(
        found(&api, "message:msg_nothing").await,
        Vec::<String>::new()
    );

    // The panel's log.
    let log = |text: &str| {
        let text = text.to_string();
        let app = &app;
        async move {
            let mut form = vec![("app".to_string(), "demo".to_string())];
            for k in ["webhook", "status", "graph", "state", "booking"] {
                form.push((format!("filter[{k}]"), String::new()));
            }
            form.push(("filter[from]".into(), "0".into()));
            form.push(("filter[to]".into(), "0".into()));
            form.push(("filter[text]".into(), text));
            let res = app
                .client
                .post(app.url("/api/list_messages"))
                .form(&form)
                .send()
                .await
                .unwrap();
            error_of(res).await
        }
    };
    let bookings_of = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["booking_id"].as_str().unwrap().to_string())
            .collect()
    };
    for (text, want) in [
        ("", vec![&ada2, &grace, &ada1]),
        ("ada@example.com", vec![&ada2, &ada1]),
        (" Ada@EXAMPLE.com ", vec![&ada2, &ada1]),
        ("nobody@example.com", vec![]),
        (grace.as_str(), vec![&grace]),
        (grace_msg.as_str(), vec![&grace]),
        ("msg_nothing", vec![]),
    ] {
        let (s, page) = log(text).await;
        assert_eq!(s, 200, "{text}: {page}");
        let want: Vec<String> = want.into_iter().cloned().collect();
        assert_eq!(bookings_of(&page), want, "log text {text:?}");
    }
    let (s, e) = log("Ada").await;
    assert_eq!((s, e["field"].as_str()), (400, Some("q")), "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("whole email"),
        "{e}"
    );

    // The API's log takes the same text as `q`.
    let (s, page) = api.get("/deliveries?q=ada%40example.com").await;
    assert_eq!(s, 200, "{page}");
    let api_bookings: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["booking_id"].as_str().unwrap())
        .collect();
    assert_eq!(api_bookings, vec![ada2.as_str(), ada1.as_str()]);
    let (s, page) = api.get(&format!("/deliveries?q={grace_msg}")).await;
    assert_eq!(
        (s, page["data"].as_array().unwrap().len()),
        (200, 1),
        "{page}"
    );
    let (s, e) = api.get("/deliveries?q=Lovelace").await;
    assert_eq!((s, &e["error"]["field"]), (400, &json!("q")), "{e}");
}

/// Calls the panel's `list_bookings` with these filters (the rest empty).
async fn panel_list(app: &TestApp, args: &[(&str, &str)]) -> (u16, Value) {
    let mut form: Vec<(&str, &str)> = vec![("app", "demo")];
    for k in ["q", "resource", "from", "to", "graph", "state", "before"] {
        form.push((
            k,
            args.iter().find(|(a, _)| *a == k).map_or("", |(_, v)| *v),
        ));
    }
    error_of(app.call("list_bookings", &form).await).await
}

#[tokio::test]
async fn the_panel_pages_a_search_by_key_newest_first_and_keeps_its_filters() {
    let app = spawn_app().await;
    app.setup_admin().await;
    let api = app.api_for("demo").await;
    let resource = api.resource().await;
    // 27 of Ada's, made quickly enough that several share a millisecond (the id breaks ties),
    // among 3 of Grace's: two pages of 25.
    let mut adas = vec![];
    for i in 0..30 {
        if i % 10 == 1 {
            book(
                &api,
                &resource,
                "Grace Hopper",
                "grace@example.com",
                "2030-01-10",
            )
            .await;
        } else {
            adas.push(
                book(
                    &api,
                    &resource,
                    "Ada Lovelace",
                    "ada+1@example.com",
                    "2030-01-10",
                )
                .await,
            );
        }
    }
    adas.reverse();

    let (s, first) = panel_list(&app, &[("q", "ada+1@example.com")]).await;
    assert_eq!(s, 200, "{first}");
    assert_eq!(ids(&first["items"]), adas[..25].to_vec());
    let before = first["next_before"].as_str().unwrap().to_string();
    let (_, second) = panel_list(&app, &[("q", "ada+1@example.com"), ("before", &before)]).await;
    assert_eq!(ids(&second["items"]), adas[25..].to_vec());
    assert!(second["next_before"].is_null(), "{second}");
    // Without the search, the same cursor goes on through everyone's bookings: Ada's first
    // two and Grace's first.
    let (_, all) = panel_list(&app, &[("before", &before)]).await;
    let rest = ids(&all["items"]);
    assert_eq!(rest.len(), 3, "{all}");
    assert_eq!((&rest[0], &rest[2]), (&adas[25], &adas[26]));

    // The pages: the pager's links keep the search, encoded as the form sends it.
    let html = app
        .get("/apps/demo/bookings?q=ada%2B1%40example.com")
        .await
        .text()
        .await
        .unwrap();
    let older = format!("?q=ada%2B1%40example.com&amp;before={before}\"");
    assert!(
        html.contains(&older),
        "an Older link with the search: {html}"
    );
    assert!(
        html.contains(r#"value="ada+1@example.com""#),
        "the box shows the search without JavaScript"
    );
    assert!(
        !html.contains("← Newest"),
        "the first page has no Newest link"
    );
    assert!(!html.contains("grace@example.com") && !html.contains("Grace Hopper"));
    let html = app
        .get(&format!(
            "/apps/demo/bookings?q=ada%2B1%40example.com&before={before}"
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("?q=ada%2B1%40example.com\">← Newest"),
        "← Newest keeps the search: {html}"
    );
    assert!(!html.contains("Older →"));
    for id in &adas[25..] {
        assert!(html.contains(id.as_str()), "the second page lists {id}");
    }
    let html = app
        .get("/apps/demo/bookings?q=nobody%40example.com")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("No booking matches"), "{html}");

    // Bad input is a message naming its field.
    for (args, field) in [
        (&[("from", "31/01/2030")][..], "from"),
        (&[("from", "2030-02-01"), ("to", "2030-01-01")], "to"),
        (&[("graph", "nope")], "graph"),
        (&[("before", "yesterday")], "before"),
    ] {
        let (s, e) = panel_list(&app, args).await;
        assert_eq!(
            (s, e["field"].as_str()),
            (400, Some(field)),
            "{args:?}: {e}"
        );
    }
}
