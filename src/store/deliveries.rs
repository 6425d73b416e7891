//! SQL of the delivery worker: claiming due messages under a lease, and recording a batch of
//! attempts with the next state of each message in one transaction.

use super::{Db, DbRow, Val};
use crate::domain::delivery::{DeliveryStatus, Outcome, Trigger};
use sqlx::Row;
use std::collections::HashMap;
use std::str::FromStr;

/// Reads a column that holds one of `T`'s names (a status, an outcome, a trigger); another name
/// is a decoding error, not a panic.
pub(crate) fn named<T>(r: &DbRow, column: &str) -> sqlx::Result<T>
where
    T: FromStr<Err = crate::domain::delivery::UnknownName>,
{
    let name: &str = r.try_get(column)?;
    name.parse().map_err(|e| sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: Box::new(e),
    })
}

/// A message the worker has claimed, with what it needs to send it.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub id: i64,
    pub msg_id: String,
    pub app_id: i64,
    pub webhook_id: String,
    pub payload: String,
    /// Attempts recorded before this one.
    pub attempts: i64,
    pub is_test: bool,
}

/// What the worker needs of a webhook to call it.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub id: String,
    pub url: String,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<i64>,
    pub rate_limit_per_second: Option<i64>,
}

/// Due candidates: (delivery id, webhook id), oldest due first. A message is due when pending
/// and its time has come, or when a claim on it has expired (its worker died). Disabled
/// webhooks hold their messages; an ordered webhook offers only its oldest open message.
pub async fn candidates(db: &Db, now: i64, limit: i64) -> sqlx::Result<Vec<(i64, String)>> {
    let eligible =
        "w.enabled = 1 AND (w.ordered = 0 OR d.id = (SELECT MIN(d2.id) FROM deliveries d2 \
         WHERE d2.webhook_id = d.webhook_id AND d2.status IN ('pending', 'delivering')))";
    // Each branch is read in its index's order and stops at the limit; sorting the union as a
    // whole read every due row first, which made a backlog slow down its own draining.
    let rows = sqlx::query(&format!(
        "SELECT id, webhook_id FROM ( \
           SELECT * FROM (SELECT d.id, d.webhook_id, d.next_attempt_at AS due FROM deliveries d \
             JOIN webhooks w ON w.id = d.webhook_id \
             WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND {eligible} \
             ORDER BY d.next_attempt_at, d.id LIMIT $2) AS scheduled \
           UNION ALL \
           SELECT * FROM (SELECT d.id, d.webhook_id, d.lease_until AS due FROM deliveries d \
             JOIN webhooks w ON w.id = d.webhook_id \
             WHERE d.status = 'delivering' AND d.lease_until < $1 AND {eligible} \
             ORDER BY d.lease_until, d.id LIMIT $2) AS expired \
         ) AS due_now ORDER BY due, id LIMIT $2"
    ))
    .bind(now)
    .bind(limit)
    .fetch_all(db)
    .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

fn endpoint(r: &super::DbRow, id: String, secrets: &super::secrets::Secrets) -> Endpoint {
    Endpoint {
        id,
        url: r.get("url"),
        secret: secrets.reveal(r.get::<&str, _>("secret")),
        previous_secret: r
            .get::<Option<&str>, _>("previous_secret")
            .map(|p| secrets.reveal(p)),
        previous_secret_expires_at: r.get("previous_secret_expires_at"),
        rate_limit_per_second: r.get("rate_limit_per_second"),
    }
}

/// Claims these messages until `lease_until`; returns those still due when the claim is made
/// (another worker may have taken some in between).
pub async fn claim(db: &Db, ids: &[i64], now: i64, lease_until: i64) -> sqlx::Result<Vec<Claimed>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let marks = crate::store::marks(3, ids.len());
    let due = format!(
        "id IN ({marks}) AND ((status = 'pending' AND next_attempt_at <= $2) \
         OR (status = 'delivering' AND lease_until < $2))"
    );
    // On PostgreSQL several instances claim at once: rows another one is claiming right now
    // are skipped, not waited for (and its claim wins).
    let target = match crate::store::Backend::of(db) {
        crate::store::Backend::Postgres => {
            format!("id IN (SELECT id FROM deliveries WHERE {due} FOR UPDATE SKIP LOCKED)")
        }
        crate::store::Backend::Sqlite => due,
    };
    let sql = format!(
        "UPDATE deliveries SET status = 'delivering', lease_until = $1 WHERE {target} \
         RETURNING id, msg_id, app_id, webhook_id, payload, attempts, is_test"
    );
    let ids = ids.to_vec();
    let pool = db.clone();
    let rows = crate::store::on_writer(db, async move {
        let mut q = sqlx::query(&sql).bind(lease_until).bind(now);
        for id in ids {
            q = q.bind(id);
        }
        // One statement: atomic on its own, so it needs the writer slot but no transaction.
        let mut slot = crate::store::write_slot(&pool).await?;
        q.fetch_all(&mut *slot).await
    })
    .await?;
    let mut out: Vec<Claimed> = rows
        .iter()
        .map(|r| Claimed {
            id: r.get("id"),
            msg_id: r.get("msg_id"),
            app_id: r.get("app_id"),
            webhook_id: r.get("webhook_id"),
            payload: r.get("payload"),
            attempts: r.get("attempts"),
            is_test: r.get::<i64, _>("is_test") != 0,
        })
        .collect();
    out.sort_by_key(|c| c.id);
    Ok(out)
}

pub async fn endpoints(db: &Db, ids: &[String]) -> sqlx::Result<HashMap<String, Endpoint>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let marks = crate::store::marks(1, ids.len());
    let sql = format!(
        "SELECT id, url, secret, previous_secret, previous_secret_expires_at, rate_limit_per_second \
         FROM webhooks WHERE id IN ({marks})"
    );
    let mut q = sqlx::query(&sql);
    for id in ids {
        q = q.bind(id);
    }
    let rows = q.fetch_all(db).await?;
    Ok(rows
        .iter()
        .map(|r| {
            let id: String = r.get("id");
            (id.clone(), endpoint(r, id, db.secrets()))
        })
        .collect())
}

/// One attempt, ready to be written.
#[derive(Clone, Debug)]
pub struct AttemptRecord {
    pub delivery_id: i64,
    pub app_id: i64,
    pub webhook_id: String,
    pub attempt: i64,
    pub trigger: Trigger,
    pub outcome: Outcome,
    pub started_at: i64,
    pub duration_ms: i64,
    pub request_url: String,
    pub request_headers: String,
    pub response_status: Option<i64>,
    pub response_headers: Option<String>,
    pub response_body: Option<String>,
    pub error: Option<String>,
    /// The message's state after this attempt: delivered, pending (retry at `next_attempt_at`,
    /// or held when its webhook is now disabled) or failed.
    pub next_status: DeliveryStatus,
    pub next_attempt_at: Option<i64>,
}

/// Endpoint health changes that a batch of attempts causes.
#[derive(Default, Debug)]
pub struct HealthChanges {
    /// Webhooks that answered 2xx: their failure run ends.
    pub recovered: Vec<String>,
    /// Webhooks that failed: their failure run starts now unless already running.
    pub failing: Vec<String>,
    /// Webhooks to disable, with the reason (`gone`, `failing`).
    pub disable: Vec<(String, &'static str)>,
}

/// Attempts written by one statement (15 parameters each, well under both databases' limits).
const RECORD_ROWS_PER_STATEMENT: usize = 200;

/// Writes a batch of attempts and the next state of their messages in one transaction.
pub async fn record(
    db: &Db,
    attempts: &[AttemptRecord],
    health: &HealthChanges,
    now: i64,
) -> sqlx::Result<()> {
    // Two statements per chunk, not two per attempt, and the endpoints' health with them: on
    // SQLite the whole round is one hand-off to the database.
    let mut batch = crate::store::Batch::default();
    for chunk in attempts.chunks(RECORD_ROWS_PER_STATEMENT) {
        let rows = vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; chunk.len()];
        let mut vals = Vec::with_capacity(chunk.len() * 15);
        for a in chunk {
            vals.extend([
                a.delivery_id.into(),
                a.app_id.into(),
                (&a.webhook_id).into(),
                a.attempt.into(),
                a.trigger.as_str().into(),
                a.outcome.as_str().into(),
                a.started_at.into(),
                a.duration_ms.into(),
                (&a.request_url).into(),
                (&a.request_headers).into(),
                a.response_status.into(),
                (&a.response_headers).into(),
                (&a.response_body).into(),
                (&a.error).into(),
                a.next_attempt_at.into(),
            ]);
        }
        batch.push(
            format!(
                "INSERT INTO attempts (delivery_id, app_id, webhook_id, attempt, trigger, outcome, started_at, \
                 duration_ms, request_url, request_headers, response_status, response_headers, response_body, \
                 error, next_attempt_at) VALUES {}",
                rows.join(", ")
            ),
            vals,
        );

        // VALUES columns are named column1, column2, … on both SQLite and PostgreSQL.
        let rows = vec!["(?, ?, ?, ?, ?, ?)"; chunk.len()];
        let mut vals: Vec<Val> = vec![now.into()];
        for a in chunk {
            vals.extend([
                a.delivery_id.into(),
                a.next_status.as_str().into(),
                a.attempt.into(),
                a.next_attempt_at.into(),
                a.response_status.into(),
                (&a.error).into(),
            ]);
        }
        batch.push(
            format!(
                "UPDATE deliveries SET updated_at = ?, status = v.column2, \
                 attempts = CASE WHEN deliveries.attempts > v.column3 THEN deliveries.attempts ELSE v.column3 END, \
                 next_attempt_at = COALESCE(v.column4, deliveries.next_attempt_at), lease_until = NULL, \
                 last_status_code = v.column5, last_error = v.column6 \
                 FROM (VALUES {}) AS v WHERE deliveries.id = v.column1",
                rows.join(", ")
            ),
            vals,
        );
    }
    for id in &health.recovered {
        batch.push(
            "UPDATE webhooks SET failing_since = NULL WHERE id = ? AND failing_since IS NOT NULL",
            vec![id.into()],
        );
    }
    for id in &health.failing {
        batch.push(
            "UPDATE webhooks SET failing_since = COALESCE(failing_since, ?) WHERE id = ?",
            vec![now.into(), id.into()],
        );
    }
    for (id, reason) in &health.disable {
        batch.push(
            "UPDATE webhooks SET enabled = 0, disabled_reason = ?, disabled_at = ?, updated_at = ? \
             WHERE id = ? AND enabled = 1",
            vec![(*reason).into(), now.into(), now.into(), id.into()],
        );
    }
    batch.commit_alone(db).await
}

/// When each of these webhooks started failing without a success since (absent: not failing).
pub async fn failing_since(db: &Db, ids: &[String]) -> sqlx::Result<HashMap<String, i64>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let marks = crate::store::marks(1, ids.len());
    let sql = format!("SELECT id, failing_since FROM webhooks WHERE failing_since IS NOT NULL AND id IN ({marks})");
    let mut q = sqlx::query(&sql);
    for id in ids {
        q = q.bind(id);
    }
    let rows = q.fetch_all(db).await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// The earliest time a pending message of an enabled webhook becomes due.
pub async fn next_due(db: &Db) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar::<_, Option<i64>>(
        "SELECT d.next_attempt_at FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id \
         WHERE d.status = 'pending' AND w.enabled = 1 ORDER BY d.next_attempt_at LIMIT 1",
    )
    .fetch_optional(db)
    .await
    .map(Option::flatten)
}

/// Counts for `/metrics`: messages by status, due now, and the oldest pending one's creation.
pub async fn gauges(db: &Db, now: i64) -> sqlx::Result<(Vec<(String, i64)>, i64, Option<i64>)> {
    let by_status = sqlx::query("SELECT status, COUNT(*) FROM deliveries GROUP BY status")
        .fetch_all(db)
        .await?
        .iter()
        .map(|r| (r.get::<String, _>(0), r.get::<i64, _>(1)))
        .collect();
    let due: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM deliveries WHERE status = 'pending' AND next_attempt_at <= $1",
    )
    .bind(now)
    .fetch_one(db)
    .await?;
    let oldest: Option<i64> = sqlx::query_scalar(
        "SELECT MIN(created_at) FROM deliveries WHERE status IN ('pending', 'delivering')",
    )
    .fetch_one(db)
    .await?;
    Ok((by_status, due, oldest))
}
