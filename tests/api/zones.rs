//! Times in people's time: a resource's zone is checked, the panel's booking form is read on
//! that zone's wall clock, and times daylight saving skips or repeats are refused by field.

use crate::helpers::*;

/// A resource in Copenhagen, created through the panel; returns its id.
async fn copenhagen(app: &TestApp) -> String {
    let r = app
        .call_ok(
            "create_resource",
            &[
                ("app", "demo"),
                ("name", "Studio"),
                ("timezone", "Europe/Copenhagen"),
            ],
        )
        .await;
    assert_eq!(r["timezone"], "Europe/Copenhagen");
    r["id"].as_str().unwrap().to_string()
}

fn booking_form<'a>(resource: &'a str, start: &'a str, end: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("app", "demo"),
        ("resource_id", resource),
        ("graph", "instant"),
        ("start", start),
        ("end", end),
        ("what", "Yoga"),
        ("customer_name", "Grace Hopper"),
        ("customer_email", "grace@example.com"),
    ]
}

#[tokio::test]
async fn a_booking_typed_at_ten_in_copenhagen_starts_at_nine_utc() {
    let app = spawn_app().await;
    app.setup_admin().await;
    let resource = copenhagen(&app).await;
    let res = app
        .call(
            "create_booking",
            &booking_form(&resource, "2030-01-10T10:00", "2030-01-10T11:00"),
        )
        .await;
    let status = res.status();
    assert!(
        status.is_success() || status.is_redirection(),
        "{status}: {}",
        res.text().await.unwrap()
    );
    let api = app.api_for("demo").await;
    let (status, list) = api.get("/bookings").await;
    assert_eq!(status, 200, "{list}");
    let b = &list["data"][0];
    assert_eq!(b["start"], "2030-01-10T09:00:00Z", "{b}");
    assert_eq!(b["end"], "2030-01-10T10:00:00Z", "{b}");

    // The booking's page shows it on the resource's clock, the UTC beside it.
    let id = b["id"].as_str().unwrap();
    let v = app
        .call_ok("get_booking", &[("app", "demo"), ("id", id)])
        .await;
    assert_eq!(v["start"]["local"], "2030-01-10 10:00");
    assert_eq!(v["start"]["zone"], "Europe/Copenhagen");
    assert_eq!(v["start"]["utc"], "2030-01-10 09:00 UTC");
    // In summer Copenhagen is two hours ahead.
    let (_, summer) = api
        .post(
            "/bookings",
            booking_body(
                &resource,
                "instant",
                serde_json::json!({"start": "2030-07-01T08:00:00Z", "end": "2030-07-01T09:00:00Z"}),
            ),
        )
        .await;
    let v = app
        .call_ok(
            "get_booking",
            &[
                ("app", "demo"),
                ("id", summer["data"]["id"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(v["start"]["local"], "2030-07-01 10:00", "{v}");
}

#[tokio::test]
async fn times_daylight_saving_skips_or_repeats_are_refused_on_their_field() {
    let app = spawn_app().await;
    app.setup_admin().await;
    let resource = copenhagen(&app).await;
    // 2030-03-31 02:00 → 03:00 in Copenhagen.
    let (status, body) = error_of(
        app.call(
            "create_booking",
            &booking_form(&resource, "2030-03-31T02:30", "2030-03-31T04:00"),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (400, Some("start")),
        "{body}"
    );
    let m = body["message"].as_str().unwrap();
    assert!(m.contains("does not exist in Europe/Copenhagen"), "{m}");
    // 2030-10-27 03:00 → 02:00: 02:30 happens twice.
    let (status, body) = error_of(
        app.call(
            "create_booking",
            &booking_form(&resource, "2030-10-27T01:00", "2030-10-27T02:30"),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (400, Some("end")),
        "{body}"
    );
    let m = body["message"].as_str().unwrap();
    assert!(m.contains("happens twice in Europe/Copenhagen"), "{m}");
    assert!(m.contains("2030-10-27 00:30 UTC"), "{m}");
    assert_eq!(app.count("bookings").await, 0);
}

#[tokio::test]
async fn an_unknown_zone_is_refused_and_the_list_offers_every_zone() {
    let app = spawn_app().await;
    app.setup_admin().await;
    let (status, body) = error_of(
        app.call(
            "create_resource",
            &[("app", "demo"), ("name", "Base"), ("timezone", "Mars/Base")],
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (400, Some("timezone")),
        "{body}"
    );
    assert_eq!(app.count("resources").await, 0);
    let zones = app.call_ok("time_zones", &[]).await;
    let zones = zones.as_array().unwrap();
    assert!(zones.len() > 400);
    assert!(zones
        .iter()
        .any(|z| z[0] == "Europe/Copenhagen" && z[1].as_str().unwrap().starts_with("UTC+0")));
}
