//! Payload formats: a `timekit` webhook is sent Timekit's payload as the seed shows it (the
//! fixture), a `bookhook` one bookhook's JSON, and `GET /v2/bookings/:id` answers in either.

use crate::helpers::*;
use crate::receiver::Receiver;
use serde_json::{json, Value};
use std::time::Duration;

/// The example payload of Timekit's webhook documentation, which the seed points to.
const SEED_PAYLOAD: &str = include_str!("fixtures/timekit-webhook.json");

/// A running server that delivers to a local receiver, with a resource in Copenhagen.
async fn live() -> (TestApp, Api, String, Receiver) {
    let (app, api) = spawn_app_for_receivers(true).await;
    let (st, r) = api
        .post(
            "/resources",
            json!({"name": "Studio", "timezone": "Europe/Copenhagen"}),
        )
        .await;
    assert_eq!(st, 201, "{r}");
    let resource = r["data"]["id"].as_str().unwrap().to_string();
    (app, api, resource, Receiver::start().await)
}

/// A time as Timekit writes it: `2016-01-01T10:00:00+0100`.
fn is_timekit_time(s: &str) -> bool {
    let b = s.as_bytes();
    s.len() == 24
        && s.is_char_boundary(19)
        && chrono::NaiveDateTime::parse_from_str(&s[..19], "%Y-%m-%dT%H:%M:%S").is_ok()
        && (b[19] == b'+' || b[19] == b'-')
        && b[20..].iter().all(u8::is_ascii_digit)
}

/// Where `got` differs from `want` in shape: a key missing or extra, another JSON type, or a
/// time written otherwise, at any depth. Values themselves may differ.
fn shape_differences(path: &str, want: &Value, got: &Value, out: &mut Vec<String>) {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for k in w.keys().filter(|k| !g.contains_key(*k)) {
                out.push(format!("{path}.{k}: missing"));
            }
            for k in g.keys().filter(|k| !w.contains_key(*k)) {
                out.push(format!("{path}.{k}: not in Timekit's payload"));
            }
            for (k, wv) in w {
                if let Some(gv) = g.get(k) {
                    shape_differences(&format!("{path}.{k}"), wv, gv, out);
                }
            }
        }
        (Value::Array(w), Value::Array(g)) => {
            if g.is_empty() {
                out.push(format!("{path}: empty"));
            }
            for (i, gv) in g.iter().enumerate() {
                shape_differences(&format!("{path}[{i}]"), &w[0], gv, out);
            }
        }
        (Value::String(w), Value::String(g)) => {
            if is_timekit_time(w) != is_timekit_time(g) {
                out.push(format!("{path}: {g:?} is not written as {w:?} is"));
            }
        }
        (Value::Bool(_), Value::Bool(_)) | (Value::Number(_), Value::Number(_)) => {}
        (Value::Null, Value::Null) => {}
        _ => out.push(format!("{path}: {got} where Timekit sends {want}")),
    }
}

fn assert_timekit_shape(got: &Value) {
    let seed: Value = serde_json::from_str(SEED_PAYLOAD).unwrap();
    let mut diff = vec![];
    shape_differences("", &seed, got, &mut diff);
    assert!(diff.is_empty(), "{}\n{got:#}", diff.join("\n"));
}

#[test]
fn the_shape_check_catches_what_a_timekit_receiver_would_trip_on() {
    let seed: Value = serde_json::from_str(SEED_PAYLOAD).unwrap();
    let mut diff = vec![];
    shape_differences("", &seed, &seed, &mut diff);
    assert!(diff.is_empty(), "{diff:?}");
    for (path, value, what) in [
        ("/customers/0/phone", Value::Null, "null phone"),
        ("/customers/0/meta", json!({}), "meta as an object"),
        ("/event/start", json!("2016-01-01T09:00:00Z"), "a UTC time"),
        ("/calendar/provider_sync", Value::Null, "null provider_sync"),
    ] {
        let mut v = seed.clone();
        *v.pointer_mut(path).unwrap() = value;
        let mut diff = vec![];
        shape_differences("", &seed, &v, &mut diff);
        assert_eq!(diff.len(), 1, "{what}: {diff:?}");
    }
    let mut extra = seed.clone();
    extra["resource_id"] = json!("x");
    let mut diff = vec![];
    shape_differences("", &seed, &extra, &mut diff);
    assert_eq!(diff, vec![".resource_id: not in Timekit's payload"]);
}

#[tokio::test]
async fn a_timekit_webhook_receives_the_seeds_payload_key_for_key_and_type_for_type() {
    let (_app, api, resource, rx) = live().await;
    let (st, tk) = api
        .post(
            "/webhooks",
            json!({"url": rx.url("/timekit"), "graph": "instant", "state": "confirmed", "method": "post"}),
        )
        .await;
    assert_eq!(st, 201, "{tk}");
    assert_eq!(
        tk["data"]["payload_format"], "timekit",
        "Timekit's own form makes a Timekit webhook"
    );
    let (st, bh) = api
        .post(
            "/webhooks",
            json!({"url": rx.url("/bookhook"), "events": [{"graph": "instant", "state": "confirmed"}]}),
        )
        .await;
    assert_eq!(st, 201, "{bh}");
    assert_eq!(bh["data"]["payload_format"], "bookhook");

    // A customer without phone, voip or time zone: Timekit sends "" and the resource's zone.
    let b = api
        .booking(
            &resource,
            "instant",
            json!({
                "start": "2030-01-01T09:00:00Z", "end": "2030-01-01T10:00:00Z",
                "customer": {"name": "Marty McFly", "email": "marty@example.com"},
            }),
        )
        .await;
    let id = b["id"].as_str().unwrap();
    let got = rx.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 2, "both webhooks are called");
    let body = |path: &str| -> Value {
        let r = got.iter().find(|r| r.path == path).unwrap();
        serde_json::from_slice(&r.body).unwrap()
    };

    let timekit = body("/timekit");
    assert_timekit_shape(&timekit);
    assert_eq!(timekit["id"], id);
    assert_eq!(timekit["event"]["start"], "2030-01-01T10:00:00+0100");
    assert_eq!(timekit["event"]["end"], "2030-01-01T11:00:00+0100");
    assert_eq!(timekit["event"]["rsvp"], "accepted");
    assert_eq!(timekit["customers"][0]["phone"], "");
    assert_eq!(timekit["customers"][0]["timezone"], "Europe/Copenhagen");
    let meta: Value =
        serde_json::from_str(timekit["customers"][0]["meta"].as_str().unwrap()).unwrap();
    assert_eq!(
        meta,
        json!({}),
        "meta is JSON in a string, as receivers JSON.parse it"
    );

    let bookhook = body("/bookhook");
    assert_eq!(bookhook["resource_id"], resource.as_str());
    assert_eq!(bookhook["event"]["start"], "2030-01-01T09:00:00Z");
    assert_eq!(bookhook["customers"][0]["phone"], Value::Null);
    assert_eq!(bookhook["customers"][0]["meta"], json!({}));
}

#[tokio::test]
async fn the_format_is_a_webhook_field_checked_like_the_others() {
    let (_app, api, _resource, rx) = live().await;
    let (st, w) = api
        .post(
            "/webhooks",
            json!({"url": rx.url("/h"), "events": [{"graph": "instant", "state": "confirmed"}], "payload_format": "xml"}),
        )
        .await;
    assert_eq!(st, 422, "{w}");
    assert_eq!(w["error"]["field"], "payload_format", "{w}");
    assert!(
        w["error"]["message"].as_str().unwrap().contains("timekit"),
        "{w}"
    );
    assert_eq!(
        api.get("/webhooks").await.1["data"],
        json!([]),
        "nothing written"
    );

    // Timekit's form may still ask for bookhook's JSON.
    let (st, w) = api
        .post(
            "/webhooks",
            json!({"url": rx.url("/h"), "graph": "instant", "state": "confirmed", "payload_format": "bookhook"}),
        )
        .await;
    assert_eq!(st, 201, "{w}");
    assert_eq!(w["data"]["payload_format"], "bookhook");
    let id = w["data"]["id"].as_str().unwrap();

    let (st, w) = api
        .put(
            &format!("/webhooks/{id}"),
            json!({"payload_format": "timekit"}),
        )
        .await;
    assert_eq!((st, &w["data"]["payload_format"]), (200, &json!("timekit")));
    // An edit in Timekit's form that does not name the format keeps it.
    let (st, w) = api
        .put(
            &format!("/webhooks/{id}"),
            json!({"graph": "instant", "state": "confirmed"}),
        )
        .await;
    assert_eq!((st, &w["data"]["payload_format"]), (200, &json!("timekit")));
    let (st, w) = api
        .put(&format!("/webhooks/{id}"), json!({"payload_format": null}))
        .await;
    assert_eq!((st, &w["data"]["payload_format"]), (200, &json!("timekit")));
    assert_eq!(
        api.get(&format!("/webhooks/{id}")).await.1["data"]["payload_format"],
        "timekit"
    );
}

#[tokio::test]
async fn a_booking_reads_in_timekits_format_by_parameter_or_header() {
    let (_app, api, resource, _rx) = live().await;
    let b = api
        .booking(
            &resource,
            "instant",
            json!({"start": "2030-07-01T09:00:00Z", "end": "2030-07-01T10:00:00Z"}),
        )
        .await;
    let id = b["id"].as_str().unwrap();
    let path = format!("/bookings/{id}?include=customers,event,calendar");

    let (st, tk) = api.get(&format!("{path}&payload_format=timekit")).await;
    assert_eq!(st, 200, "{tk}");
    assert_timekit_shape(&tk["data"]);
    assert_eq!(
        tk["data"]["event"]["start"], "2030-07-01T11:00:00+0200",
        "summer time in Copenhagen"
    );

    let res = api
        .client
        .get(format!("{}/v2{path}", api.base))
        .basic_auth("", Some(&api.key))
        .header("Bookhook-Payload-Format", "timekit")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let by_header: Value = res.json().await.unwrap();
    assert_eq!(by_header, tk);

    let (st, plain) = api.get(&path).await;
    assert_eq!(st, 200);
    assert_eq!(plain["data"]["event"]["start"], "2030-07-01T09:00:00Z");
    let (_, named) = api.get(&format!("{path}&payload_format=bookhook")).await;
    assert_eq!(named, plain);

    let (st, e) = api.get(&format!("{path}&payload_format=csv")).await;
    assert_eq!(
        (st, e["error"]["field"].as_str()),
        (422, Some("payload_format")),
        "{e}"
    );
    let res = api
        .client
        .get(format!("{}/v2{path}", api.base))
        .basic_auth("", Some(&api.key))
        .header("Bookhook-Payload-Format", "csv")
        .send()
        .await
        .unwrap();
    let (st, e) = error_of(res).await;
    assert_eq!(
        (st, e["error"]["field"].as_str()),
        (422, Some("bookhook-payload-format")),
        "{e}"
    );
}

#[tokio::test]
async fn a_resource_needs_a_time_zone_that_exists() {
    let (_app, api, _resource, _rx) = live().await;
    let (st, e) = api
        .post(
            "/resources",
            json!({"name": "Moon base", "timezone": "Moon/Tranquility"}),
        )
        .await;
    assert_eq!(
        (st, e["error"]["field"].as_str()),
        (422, Some("timezone")),
        "{e}"
    );
    let (st, r) = api.post("/resources", json!({"name": "Anywhere"})).await;
    assert_eq!(
        (st, r["data"]["timezone"].as_str()),
        (201, Some("UTC")),
        "{r}"
    );
}
