//! Managing webhooks: the checks every create and edit passes, whether it comes from the API or
//! the panel, and secret rotation.

use super::error::EngineError;
use crate::domain::payload::{render, PayloadFormat};
use crate::domain::subscription::{parse_events, EventRef, SecretOut};
use crate::domain::webhook::{Host, TargetPolicy, WebhookUrl};
use crate::store::webhooks::{self as sw, WebhookRow};
use crate::store::{now_ms, Db};

/// How long a rotated-out secret keeps signing deliveries beside the new one.
pub const ROTATION_OVERLAP_MS: i64 = 24 * 60 * 60 * 1000;

/// Fields of a create or an edit; `None` keeps the current value (create: the default).
#[derive(Default, Debug, Clone)]
pub struct WebhookInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub url: Option<String>,
    pub enabled: Option<bool>,
    pub events: Option<Vec<EventRef>>,
    /// `Some(None)` removes the limit.
    pub rate_limit_per_second: Option<Option<i64>>,
    pub ordered: Option<bool>,
    pub payload_format: Option<PayloadFormat>,
}

async fn check_fields(
    policy: &TargetPolicy,
    h: &mut WebhookRow,
    input: WebhookInput,
) -> Result<(), EngineError> {
    if let Some(url) = input.url {
        let parsed =
            WebhookUrl::parse(&url).map_err(|e| EngineError::invalid("url", e.to_string()))?;
        crate::ssrf::check_url(policy, &parsed)
            .await
            .map_err(|m| EngineError::invalid("url", m))?;
        h.url = parsed.as_str().to_string();
    }
    if h.url.is_empty() {
        return Err(EngineError::invalid(
            "url",
            "url is required: where to POST the bookings.",
        ));
    }
    if let Some(events) = input.events {
        let pairs = parse_events(&events).map_err(|m| EngineError::invalid("events", m))?;
        h.events = pairs
            .into_iter()
            .map(|(g, s)| EventRef::new(g, s))
            .collect();
    }
    if h.events.is_empty() {
        return Err(EngineError::invalid(
            "events",
            "Choose at least one graph/state pair: the webhook is called when a booking of that graph enters that state.",
        ));
    }
    if let Some(name) = input.name {
        let name = name.trim();
        if name.chars().count() > 100 {
            return Err(EngineError::invalid(
                "name",
                "Use a name of at most 100 characters.",
            ));
        }
        h.name = name.to_string();
    }
    if h.name.is_empty() {
        h.name = match WebhookUrl::parse(&h.url).map(|u| u.host()) {
            Ok(Host::Domain(d)) => d,
            Ok(Host::Ip(ip)) => ip.to_string(),
            Err(_) => "webhook".into(),
        };
    }
    if let Some(d) = input.description {
        if d.chars().count() > 1000 {
            return Err(EngineError::invalid(
                "description",
                "Use a description of at most 1000 characters.",
            ));
        }
        h.description = d.trim().to_string();
    }
    if let Some(rate) = input.rate_limit_per_second {
        if rate.is_some_and(|r| !(1..=10_000).contains(&r)) {
            return Err(EngineError::invalid(
                "rate_limit_per_second",
                "rate_limit_per_second must be between 1 and 10000 (or null for no limit).",
            ));
        }
        h.rate_limit_per_second = rate;
    }
    if let Some(ordered) = input.ordered {
        h.ordered = ordered;
    }
    if let Some(format) = input.payload_format {
        h.payload_format = format;
    }
    if let Some(enabled) = input.enabled {
        if enabled != h.enabled {
            h.enabled = enabled;
            h.disabled_reason = (!enabled).then(|| "manual".to_string());
        }
    }
    Ok(())
}

pub(super) async fn create(
    db: &Db,
    policy: &TargetPolicy,
    app_id: i64,
    input: WebhookInput,
) -> Result<WebhookRow, EngineError> {
    let now = now_ms();
    let mut h = WebhookRow {
        id: crate::store::bookings::new_id(),
        app_id,
        name: String::new(),
        description: String::new(),
        url: String::new(),
        enabled: true,
        disabled_reason: None,
        secret: crate::auth::generate_webhook_secret(),
        previous_secret: None,
        previous_secret_expires_at: None,
        created_at: now,
        updated_at: now,
        events: vec![],
        rate_limit_per_second: None,
        ordered: false,
        payload_format: PayloadFormat::default(),
    };
    check_fields(policy, &mut h, input).await?;
    let mut tx = crate::store::bookings::begin_write(db).await?;
    sw::save(&mut tx, db.secrets(), &h, true).await?;
    tx.commit().await?;
    Ok(h)
}

pub(super) async fn update(
    db: &Db,
    policy: &TargetPolicy,
    app_id: i64,
    id: &str,
    input: WebhookInput,
) -> Result<WebhookRow, EngineError> {
    let mut conn = db.acquire().await?;
    let mut h = sw::get(&mut conn, db.secrets(), app_id, id)
        .await?
        .ok_or(EngineError::NotFound("The webhook"))?;
    drop(conn);
    check_fields(policy, &mut h, input).await?;
    h.updated_at = now_ms();
    let mut tx = crate::store::bookings::begin_write(db).await?;
    sw::save(&mut tx, db.secrets(), &h, false).await?;
    tx.commit().await?;
    Ok(h)
}

pub async fn get(db: &Db, app_id: i64, id: &str) -> Result<WebhookRow, EngineError> {
    let mut conn = db.acquire().await?;
    sw::get(&mut conn, db.secrets(), app_id, id)
        .await?
        .ok_or(EngineError::NotFound("The webhook"))
}

pub(super) async fn delete(db: &Db, app_id: i64, id: &str) -> Result<(), EngineError> {
    if sw::delete(db, app_id, id).await? {
        Ok(())
    } else {
        Err(EngineError::NotFound("The webhook"))
    }
}

/// The secrets that sign deliveries now: the current one, and the previous one while its
/// overlap lasts.
pub fn secret_out(h: &WebhookRow, now: i64) -> SecretOut {
    let previous_live = h.previous_secret_expires_at.is_some_and(|t| t > now);
    SecretOut {
        secret: h.secret.clone(),
        previous_secret: h.previous_secret.clone().filter(|_| previous_live),
        previous_expires_at: h
            .previous_secret_expires_at
            .filter(|_| previous_live)
            .map(crate::domain::booking::rfc3339),
    }
}

/// A new secret; the old one keeps signing (beside it) for 24 hours.
pub(super) async fn rotate_secret(
    db: &Db,
    app_id: i64,
    id: &str,
) -> Result<SecretOut, EngineError> {
    let mut tx = crate::store::bookings::begin_write(db).await?;
    let mut h = sw::get(&mut tx, db.secrets(), app_id, id)
        .await?
        .ok_or(EngineError::NotFound("The webhook"))?;
    let now = now_ms();
    h.previous_secret = Some(std::mem::replace(
        &mut h.secret,
        crate::auth::generate_webhook_secret(),
    ));
    h.previous_secret_expires_at = Some(now + ROTATION_OVERLAP_MS);
    h.updated_at = now;
    sw::save(&mut tx, db.secrets(), &h, false).await?;
    tx.commit().await?;
    Ok(secret_out(&h, now))
}

/// A test event: an example booking of `graph` in `state`, sent to this webhook through the
/// real pipeline (signed, retried, logged) and marked as a test. Returns its message id.
pub(super) async fn send_test(
    db: &Db,
    app_id: i64,
    id: &str,
    graph: &str,
    state: &str,
) -> Result<String, EngineError> {
    use crate::domain::booking::{rfc3339, BookingOut, CalendarOut, CustomerOut, EventOut};
    use crate::domain::graph::{Graph, State};
    let g = Graph::parse(graph).map_err(|e| EngineError::invalid("graph", e.to_string()))?;
    let s = State::parse(state).map_err(|e| EngineError::invalid("state", e.to_string()))?;
    if !g.has_state(s) {
        return Err(EngineError::invalid(
            "state",
            format!("A {g} booking never enters the state '{s}'."),
        ));
    }
    let mut tx = crate::store::bookings::begin_write(db).await?;
    let hook = sw::get(&mut tx, db.secrets(), app_id, id)
        .await?
        .ok_or(EngineError::NotFound("The webhook"))?;
    let now = now_ms();
    let t = rfc3339(now);
    let start = rfc3339(now + 24 * 3_600_000);
    let end = rfc3339(now + 25 * 3_600_000);
    let example = BookingOut {
        id: "00000000-0000-4000-8000-000000000000".into(),
        state: s.as_str().into(),
        graph: g.as_str().into(),
        completed: g.is_final(s),
        resource_id: "00000000-0000-4000-8000-000000000001".into(),
        start: start.clone(),
        end: end.clone(),
        meta: [("test".to_string(), serde_json::Value::Bool(true))]
            .into_iter()
            .collect(),
        settings: None,
        related: None,
        created_at: t.clone(),
        updated_at: t.clone(),
        customers: Some(vec![CustomerOut {
            id: "00000000-0000-4000-8000-000000000002".into(),
            name: "Grace Hopper".into(),
            email: "grace@example.com".into(),
            phone: Some("+1 555 0100".into()),
            voip: None,
            timezone: Some("America/New_York".into()),
            meta: Default::default(),
        }]),
        event: Some(EventOut {
            id: "00000000-0000-4000-8000-000000000003".into(),
            what: "Example booking".into(),
            where_: "Studio A".into(),
            description: "A test event sent from bookhook".into(),
            rsvp: None,
            all_day: false,
            start,
            end,
            created_at: t.clone(),
            updated_at: t.clone(),
        }),
        calendar: Some(CalendarOut {
            id: "00000000-0000-4000-8000-000000000004".into(),
            provider_id: None,
            provider_access: "owner".into(),
            provider_primary: true,
            provider_sync: None,
            name: "Studio A".into(),
            description: String::new(),
            foregroundcolor: "#ffffff".into(),
            backgroundcolor: "#4f46e5".into(),
            created_at: t.clone(),
            updated_at: t,
        }),
        available_actions: None,
        logs: None,
    };
    // The example's resource is in Copenhagen, so a Timekit example shows its offsets.
    let payload = render(hook.payload_format, &example, "Europe/Copenhagen")
        .map_err(|e| EngineError::Conflict(format!("the example could not be written: {e}")))?;
    let msg_id = crate::auth::generate_msg_id();
    sw::insert_delivery(
        &mut tx,
        &sw::NewDelivery {
            msg_id: &msg_id,
            app_id,
            webhook_id: id,
            booking_id: &example.id,
            graph: g.as_str(),
            state: s.as_str(),
            action: "test",
            payload: &payload,
            is_test: true,
            now,
            claimed_until: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(msg_id)
}
