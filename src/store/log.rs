//! SQL of the delivery log: messages newest first with keyset paging, one message with its
//! attempts, manual attempts and test events.

use super::deliveries::named;
use super::Db;
use crate::domain::booking::{CustomerMatch, Lookup};
use crate::domain::delivery::DeliveryStatus;
use crate::domain::log::{AttemptOut, LogFilter, MessageOut};
use crate::store::DbRow;
use sqlx::Row;

const MSG_COLS: &str = "d.id, d.msg_id, d.webhook_id, w.name AS webhook_name, w.enabled, d.booking_id, d.graph, \
     d.state, d.action, d.status, d.attempts, d.next_attempt_at, d.last_status_code, d.last_error, d.is_test, \
     d.created_at, (SELECT a.duration_ms FROM attempts a WHERE a.delivery_id = d.id ORDER BY a.id DESC LIMIT 1) AS last_duration_ms";

/// The status a person reads: a pending message is `retrying` after a failed attempt and
/// `held` while its webhook is disabled.
pub fn shown_status(status: DeliveryStatus, attempts: i64, enabled: bool) -> &'static str {
    match status {
        DeliveryStatus::Pending | DeliveryStatus::Delivering if !enabled => "held",
        DeliveryStatus::Pending if attempts > 0 => "retrying",
        s => s.as_str(),
    }
}

fn message(r: &DbRow) -> sqlx::Result<MessageOut> {
    let status: DeliveryStatus = named(r, "status")?;
    let attempts: i64 = r.get("attempts");
    let enabled = r.get::<i64, _>("enabled") != 0;
    Ok(MessageOut {
        id: r.get("id"),
        msg_id: r.get("msg_id"),
        webhook_id: r.get("webhook_id"),
        webhook_name: r.get("webhook_name"),
        booking_id: r.get("booking_id"),
        graph: r.get("graph"),
        state: r.get("state"),
        action: r.get("action"),
        status: shown_status(status, attempts, enabled).to_string(),
        attempts,
        next_attempt_at: (status == DeliveryStatus::Pending).then(|| r.get("next_attempt_at")),
        last_status_code: r.get("last_status_code"),
        last_duration_ms: r.get("last_duration_ms"),
        last_error: r.get("last_error"),
        is_test: r.get::<i64, _>("is_test") != 0,
        created_at: r.get("created_at"),
    })
}

/// One page of an app's messages, newest first, older than `before` (a message id).
/// Only the filters in use reach the SQL, so SQLite can pick the index that fits them.
pub async fn messages(
    db: &Db,
    app_id: i64,
    f: &LogFilter,
    before: Option<i64>,
    limit: i64,
) -> sqlx::Result<Vec<MessageOut>> {
    enum Arg<'a> {
        I(i64),
        S(&'a str),
        T(String),
    }
    let mut cond = vec!["d.app_id = ?".to_string()];
    let mut args = vec![Arg::I(app_id)];
    if let Some(b) = before {
        cond.push("d.id < ?".into());
        args.push(Arg::I(b));
    }
    for (value, column) in [
        (&f.webhook, "d.webhook_id"),
        (&f.graph, "d.graph"),
        (&f.state, "d.state"),
        (&f.booking, "d.booking_id"),
    ] {
        if !value.is_empty() {
            cond.push(format!("{column} = ?"));
            args.push(Arg::S(value));
        }
    }
    // The text was checked by the caller (LogFilter::lookup); text it refuses matches nothing.
    match f.lookup() {
        Ok(None) => {}
        Ok(Some(Lookup::Booking(id))) => {
            cond.push("d.booking_id = ?".into());
            args.push(Arg::T(id));
        }
        Ok(Some(Lookup::Message(m))) => {
            cond.push("d.msg_id = ?".into());
            args.push(Arg::T(m));
        }
        // customers_email finds the bookings, deliveries_booking their messages.
        Ok(Some(Lookup::Customer(CustomerMatch::Email(e)))) => {
            cond.push(
                "d.booking_id IN (SELECT c.booking_id FROM customers c WHERE lower(c.email) = ?)"
                    .into(),
            );
            args.push(Arg::T(e));
        }
        Ok(Some(Lookup::Customer(CustomerMatch::Text(_)))) | Err(_) => cond.push("1 = 0".into()),
    }
    match f.status.as_str() {
        "" => {}
        "held" => cond.push("w.enabled = 0 AND d.status IN ('pending', 'delivering')".into()),
        "retrying" => cond.push("d.status = 'pending' AND d.attempts > 0 AND w.enabled = 1".into()),
        "pending" => cond.push("d.status = 'pending' AND d.attempts = 0 AND w.enabled = 1".into()),
        "delivering" => cond.push("d.status = 'delivering' AND w.enabled = 1".into()),
        s => {
            cond.push("d.status = ?".into());
            args.push(Arg::S(s));
        }
    }
    if f.from > 0 {
        cond.push("d.created_at >= ?".into());
        args.push(Arg::I(f.from));
    }
    if f.to > 0 {
        cond.push("d.created_at <= ?".into());
        args.push(Arg::I(f.to));
    }
    // Ids grow with creation time, so both orders are the same; with a time range, ordering
    // by time lets SQLite walk the (app, created_at, id) index and stop after one page.
    let order = if f.from > 0 || f.to > 0 {
        "d.created_at DESC, d.id DESC"
    } else {
        "d.id DESC"
    };
    let sql = format!(
        "SELECT {MSG_COLS} FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE {} \
         ORDER BY {order} LIMIT ${}",
        crate::store::number_marks(&cond.join(" AND ")),
        args.len() + 1
    );
    let mut q = sqlx::query(&sql);
    for a in args {
        q = match a {
            Arg::I(i) => q.bind(i),
            Arg::S(s) => q.bind(s),
            Arg::T(s) => q.bind(s),
        };
    }
    let rows = q.bind(limit).fetch_all(db).await?;
    rows.iter().map(message).collect()
}

/// A message of this app by its `msg_…` id, with its payload and attempts.
pub async fn message_detail(
    db: &Db,
    app_id: i64,
    msg_id: &str,
) -> sqlx::Result<Option<(MessageOut, String, Vec<AttemptOut>)>> {
    let row = sqlx::query(&format!(
        "SELECT {MSG_COLS}, d.payload FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id \
         WHERE d.app_id = $1 AND d.msg_id = $2"
    ))
    .bind(app_id)
    .bind(msg_id)
    .fetch_optional(db)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let m = message(&row)?;
    let payload: String = row.get("payload");
    let rows = sqlx::query(
        "SELECT attempt, trigger, outcome, started_at, duration_ms, request_url, request_headers, \
         response_status, response_headers, response_body, error, next_attempt_at \
         FROM attempts WHERE delivery_id = $1 ORDER BY id",
    )
    .bind(m.id)
    .fetch_all(db)
    .await?;
    let pairs = |s: Option<String>| -> Vec<(String, String)> {
        s.and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default()
    };
    let attempts = rows
        .iter()
        .map(|r| {
            Ok(AttemptOut {
                attempt: r.get("attempt"),
                trigger: named(r, "trigger")?,
                outcome: named(r, "outcome")?,
                started_at: r.get("started_at"),
                duration_ms: r.get("duration_ms"),
                request_url: r.get("request_url"),
                request_headers: pairs(r.get("request_headers")),
                response_status: r.get("response_status"),
                response_headers: pairs(r.get("response_headers")),
                response_body: r.get("response_body"),
                error: r.get("error"),
                next_attempt_at: r.get("next_attempt_at"),
            })
        })
        .collect::<sqlx::Result<_>>()?;
    Ok(Some((m, payload, attempts)))
}

/// Takes a message for a manual attempt: any status but one being sent right now.
/// Returns the claim with the status it had, or `None` when it is in flight.
pub async fn claim_for_manual(
    db: &Db,
    app_id: i64,
    msg_id: &str,
    now: i64,
    lease_until: i64,
) -> sqlx::Result<Option<(crate::store::deliveries::Claimed, DeliveryStatus)>> {
    let mut tx = crate::store::begin_write(db).await?;
    // Locked (on PostgreSQL) so a worker or another instance cannot claim it in between.
    let lock = crate::store::for_update(&tx);
    let r = sqlx::query(&format!(
        "SELECT id, msg_id, app_id, webhook_id, payload, attempts, is_test, status FROM deliveries \
         WHERE app_id = $1 AND msg_id = $2 AND NOT (status = 'delivering' AND lease_until >= $3){lock}"
    ))
    .bind(app_id)
    .bind(msg_id)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(r) = r else { return Ok(None) };
    let id: i64 = r.get("id");
    let status: DeliveryStatus = named(&r, "status")?;
    sqlx::query("UPDATE deliveries SET status = 'delivering', lease_until = $1 WHERE id = $2")
        .bind(lease_until)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some((
        crate::store::deliveries::Claimed {
            id,
            msg_id: r.get("msg_id"),
            app_id: r.get("app_id"),
            webhook_id: r.get("webhook_id"),
            payload: r.get("payload"),
            attempts: r.get("attempts"),
            is_test: r.get::<i64, _>("is_test") != 0,
        },
        status,
    )))
}
