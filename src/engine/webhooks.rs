//! Managing webhooks: the checks every create and edit passes, whether it comes from the API or
//! the panel, and secret rotation.

use super::EngineError;
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
}

async fn check_fields(
    policy: &TargetPolicy,
    h: &mut WebhookRow,
    input: WebhookInput,
) -> Result<(), EngineError> {
    if let Some(url) = input.url {
        let parsed =
            WebhookUrl::parse(&url).map_err(|e| EngineError::invalid("url", e.to_string()))?;
        crate::delivery::ssrf::check_url(policy, &parsed)
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
    if let Some(enabled) = input.enabled {
        if enabled != h.enabled {
            h.enabled = enabled;
            h.disabled_reason = (!enabled).then(|| "manual".to_string());
        }
    }
    Ok(())
}

pub async fn create(
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
    };
    check_fields(policy, &mut h, input).await?;
    let mut tx = crate::store::bookings::begin_write(db).await?;
    sw::save(&mut tx, &h, true).await?;
    tx.commit().await?;
    Ok(h)
}

pub async fn update(
    db: &Db,
    policy: &TargetPolicy,
    app_id: i64,
    id: &str,
    input: WebhookInput,
) -> Result<WebhookRow, EngineError> {
    let mut conn = db.acquire().await?;
    let mut h = sw::get(&mut conn, app_id, id)
        .await?
        .ok_or(EngineError::NotFound("The webhook"))?;
    drop(conn);
    check_fields(policy, &mut h, input).await?;
    h.updated_at = now_ms();
    let mut tx = crate::store::bookings::begin_write(db).await?;
    sw::save(&mut tx, &h, false).await?;
    tx.commit().await?;
    Ok(h)
}

pub async fn get(db: &Db, app_id: i64, id: &str) -> Result<WebhookRow, EngineError> {
    let mut conn = db.acquire().await?;
    sw::get(&mut conn, app_id, id)
        .await?
        .ok_or(EngineError::NotFound("The webhook"))
}

pub async fn delete(db: &Db, app_id: i64, id: &str) -> Result<(), EngineError> {
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
pub async fn rotate_secret(db: &Db, app_id: i64, id: &str) -> Result<SecretOut, EngineError> {
    let mut tx = crate::store::bookings::begin_write(db).await?;
    let mut h = sw::get(&mut tx, app_id, id)
        .await?
        .ok_or(EngineError::NotFound("The webhook"))?;
    let now = now_ms();
    h.previous_secret = Some(std::mem::replace(
        &mut h.secret,
        crate::auth::generate_webhook_secret(),
    ));
    h.previous_secret_expires_at = Some(now + ROTATION_OVERLAP_MS);
    h.updated_at = now;
    sw::save(&mut tx, &h, false).await?;
    tx.commit().await?;
    Ok(secret_out(&h, now))
}
