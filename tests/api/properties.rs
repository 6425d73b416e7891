//! Property tests through the real API: random action sequences and random malformed bodies.

use crate::helpers::*;
use bookhook::domain::graph::{Action, Graph, State};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::sync::LazyLock;

static RT: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
});

struct Shared {
    app: TestApp,
    api: Api,
    resource: String,
    owner: String,
}

/// One server for all cases of this file (a fresh one per case would spend the time on start-up).
static SHARED: LazyLock<Shared> = LazyLock::new(|| {
    RT.block_on(async {
        let app = spawn_app().await;
        app.setup_admin().await;
        let api = app.api_for("demo").await;
        let resource = api.resource().await;
        let owner = api
            .booking(
                &resource,
                "group_owner",
                json!({"settings": {"max_seats": 100000}}),
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_string();
        Shared {
            app,
            api,
            resource,
            owner,
        }
    })
});

/// The cases of this file share one database, so they take turns.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn log_count(s: &Shared, id: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM booking_logs WHERE booking_id = $1")
        .bind(id)
        .fetch_one(&s.app.db)
        .await
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_action_sequences_never_leave_the_graph_or_write_half_a_transition(
        g in 0usize..6,
        actions in proptest::collection::vec(0usize..Action::ALL.len(), 1..12),
    ) {
        let s = &*SHARED;
        RT.block_on(async {
            let _turn = TURN.lock().await;
            let graph = Graph::ALL[g];
            let extra = match graph {
                Graph::GroupCustomer | Graph::GroupCustomerPayment => {
                    json!({"related": {"owner_booking_id": s.owner}})
                }
                _ => json!({}),
            };
            let b = s.api.booking(&s.resource, graph.as_str(), extra).await;
            let id = b["id"].as_str().unwrap().to_string();
            let mut state = State::parse(b["state"].as_str().unwrap()).unwrap();
            for a in actions {
                let action = Action::ALL[a];
                let logs = log_count(s, &id).await;
                let (status, body) = s.api.act(&id, action.as_str()).await;
                let expected = graph.apply(state, action).ok().filter(|_| action.is_api_callable());
                match expected {
                    Some(to) => {
                        assert_eq!(status, 200, "{graph} {state} {action}: {body}");
                        assert_eq!(body["data"]["state"], to.as_str());
                        assert_eq!(log_count(s, &id).await, logs + 1);
                        state = to;
                    }
                    None => {
                        assert_eq!(status, 422, "{graph} {state} {action}: {body}");
                        assert_eq!(log_count(s, &id).await, logs, "a refused action wrote a log row");
                    }
                }
                let (_, now) = s.api.get(&format!("/bookings/{id}")).await;
                let stored = State::parse(now["data"]["state"].as_str().unwrap()).unwrap();
                assert_eq!(stored, state);
                assert!(graph.has_state(stored), "{graph} reached {stored}");
                assert_eq!(now["data"]["completed"], graph.is_final(stored));
            }
        });
    }

    #[test]
    fn any_search_string_gets_200_or_400_never_500(q in "\\PC{0,60}") {
        let s = &*SHARED;
        RT.block_on(async {
            let res = s
                .api
                .client
                .get(format!("{}/v2/bookings", s.api.base))
                .query(&[("search", q.as_str())])
                .basic_auth("", Some(&s.api.key))
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            assert!(status == 200 || status == 400, "{q:?} answered {status}");
        });
    }

    #[test]
    fn any_customer_text_is_searched_for_as_it_is(t in "[^;\\p{C}]{1,40}") {
        let s = &*SHARED;
        RT.block_on(async {
            let res = s
                .api
                .client
                .get(format!("{}/v2/bookings", s.api.base))
                .query(&[("search", format!("customer:{t}"))])
                .basic_auth("", Some(&s.api.key))
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            // Blank text (spaces only) names no customer; any other text is looked for.
            let want = if t.trim().is_empty() { 400 } else { 200 };
            assert_eq!(status, want, "customer:{t:?}");
        });
    }

    #[test]
    fn malformed_booking_bodies_get_4xx_never_500(body in arb_body()) {
        let s = &*SHARED;
        RT.block_on(async {
            let _turn = TURN.lock().await;
            let before = s.app.count("bookings").await;
            let (status, resp) = s.api.post("/bookings", body.clone()).await;
            assert!(
                (200..500).contains(&status),
                "{body} answered {status}: {resp}"
            );
            if status >= 400 {
                assert!(resp["error"]["message"].is_string(), "{resp}");
                assert_eq!(s.app.count("bookings").await, before, "a refused body wrote a booking");
            }
        });
    }

    #[test]
    fn raw_garbage_gets_4xx_never_500(raw in proptest::collection::vec(any::<u8>(), 0..300), path in 0usize..4) {
        let s = &*SHARED;
        RT.block_on(async {
            let _turn = TURN.lock().await;
            let target = ["/bookings", "/resources", "/bookings/x/confirm", "/bookings/x"][path];
            let method = if path >= 2 { reqwest::Method::PUT } else { reqwest::Method::POST };
            let res = s.api.client
                .request(method, format!("{}/v2{target}", s.api.base))
                .basic_auth("", Some(&s.api.key))
                .header("content-type", "application/json")
                .body(raw.clone())
                .send()
                .await
                .unwrap();
            assert!(res.status().as_u16() < 500, "{:?} answered {}", raw, res.status());
        });
    }
}

fn arb_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
        Just(json!("2030-01-10T10:00:00Z")),
        Just(json!("instant")),
        Just(json!("group_owner")),
    ]
}

fn arb_json() -> impl Strategy<Value = Value> {
    arb_leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map("[a-z_]{1,12}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A booking body whose known fields take random values and types.
fn arb_body() -> impl Strategy<Value = Value> {
    let keys = [
        "resource_id",
        "graph",
        "action",
        "start",
        "end",
        "what",
        "where",
        "description",
        "customer",
        "meta",
        "settings",
        "related",
        "auto_complete_one_hour_after_booking_ends",
    ];
    proptest::collection::btree_map(proptest::sample::select(keys.to_vec()), arb_json(), 0..10)
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
}
