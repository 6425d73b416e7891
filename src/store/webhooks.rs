//! SQL of webhooks, their subscriptions and the outbox of deliveries.

use super::secrets::Secrets;
use super::write::write_slot;
use super::Db;
use crate::domain::booking::rfc3339;
use crate::domain::payload::PayloadFormat;
use crate::domain::subscription::{EventRef, LastDelivery, WebhookOut};
use crate::store::{Conn, DbRow};
use sqlx::Row;

/// A webhook as stored; the secrets stay on the server.
#[derive(Clone, Debug)]
pub struct WebhookRow {
    pub id: String,
    pub app_id: i64,
    pub name: String,
    pub description: String,
    pub url: String,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub events: Vec<EventRef>,
    pub rate_limit_per_second: Option<i64>,
    pub ordered: bool,
    pub payload_format: PayloadFormat,
}

const COLS: &str = "id, app_id, name, description, url, enabled, disabled_reason, secret, \
     previous_secret, previous_secret_expires_at, created_at, updated_at, rate_limit_per_second, ordered, payload_format";

fn row(r: &DbRow, secrets: &Secrets) -> sqlx::Result<WebhookRow> {
    Ok(WebhookRow {
        id: r.get("id"),
        app_id: r.get("app_id"),
        name: r.get("name"),
        description: r.get("description"),
        url: r.get("url"),
        enabled: r.get::<i64, _>("enabled") != 0,
        disabled_reason: r.get("disabled_reason"),
        secret: secrets.reveal(r.get::<&str, _>("secret")),
        previous_secret: r
            .get::<Option<&str>, _>("previous_secret")
            .map(|p| secrets.reveal(p)),
        previous_secret_expires_at: r.get("previous_secret_expires_at"),
        created_at: r.get("created_at"),
        updated_at: r.get("updated_at"),
        events: vec![],
        rate_limit_per_second: r.get("rate_limit_per_second"),
        ordered: r.get::<i64, _>("ordered") != 0,
        payload_format: format(r)?,
    })
}

/// The payload format as stored; the table's CHECK admits no other name.
fn format(r: &DbRow) -> sqlx::Result<PayloadFormat> {
    PayloadFormat::parse(r.try_get("payload_format")?).map_err(|e| sqlx::Error::ColumnDecode {
        index: "payload_format".into(),
        source: Box::new(e),
    })
}

impl WebhookRow {
    pub fn out(&self, last: Option<LastDelivery>) -> WebhookOut {
        WebhookOut {
            id: self.id.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            url: self.url.clone(),
            method: "post".into(),
            enabled: self.enabled,
            disabled_reason: self.disabled_reason.clone(),
            events: self.events.clone(),
            rate_limit_per_second: self.rate_limit_per_second,
            ordered: self.ordered,
            payload_format: self.payload_format,
            last_delivery: last,
            created_at: rfc3339(self.created_at),
            updated_at: rfc3339(self.updated_at),
        }
    }
}

async fn load_events(conn: &mut Conn, hooks: &mut [WebhookRow]) -> sqlx::Result<()> {
    for h in hooks.iter_mut() {
        let rows = sqlx::query(
            "SELECT graph, state FROM webhook_events WHERE webhook_id = $1 ORDER BY graph, state",
        )
        .bind(&h.id)
        .fetch_all(&mut *conn)
        .await?;
        h.events = rows
            .iter()
            .map(|r| EventRef {
                graph: r.get("graph"),
                state: r.get("state"),
            })
            .collect();
    }
    Ok(())
}

pub async fn list(db: &Db, app_id: i64) -> sqlx::Result<Vec<(WebhookRow, Option<LastDelivery>)>> {
    let mut conn = db.acquire().await?;
    let rows = sqlx::query(&format!(
        "SELECT {COLS} FROM webhooks WHERE app_id = $1 ORDER BY created_at, id"
    ))
    .bind(app_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut hooks = rows
        .iter()
        .map(|r| row(r, db.secrets()))
        .collect::<sqlx::Result<Vec<_>>>()?;
    load_events(&mut conn, &mut hooks).await?;
    let mut out = Vec::with_capacity(hooks.len());
    for h in hooks {
        let last = last_delivery(&mut conn, &h.id).await?;
        out.push((h, last));
    }
    Ok(out)
}

pub async fn last_delivery(
    conn: &mut Conn,
    webhook_id: &str,
) -> sqlx::Result<Option<LastDelivery>> {
    let r = sqlx::query(
        "SELECT status, last_status_code, updated_at FROM deliveries WHERE webhook_id = $1 \
         ORDER BY id DESC LIMIT 1",
    )
    .bind(webhook_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(r.map(|r| LastDelivery {
        status: r.get("status"),
        status_code: r.get("last_status_code"),
        at: rfc3339(r.get("updated_at")),
    }))
}

/// The webhook; inside a write transaction on PostgreSQL its row stays locked until the end,
/// so two edits or rotations at once apply one after the other.
pub async fn get(
    conn: &mut Conn,
    secrets: &Secrets,
    app_id: i64,
    id: &str,
) -> sqlx::Result<Option<WebhookRow>> {
    let lock = crate::store::for_update(conn);
    let r = sqlx::query(&format!(
        "SELECT {COLS} FROM webhooks WHERE app_id = $1 AND id = $2{lock}"
    ))
    .bind(app_id)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(r) = r else { return Ok(None) };
    let mut hooks = [row(&r, secrets)?];
    load_events(conn, &mut hooks).await?;
    let [h] = hooks;
    Ok(Some(h))
}

/// Writes a webhook (insert or full replace of its fields and subscriptions).
pub async fn save(
    conn: &mut Conn,
    secrets: &Secrets,
    h: &WebhookRow,
    insert: bool,
) -> sqlx::Result<()> {
    if insert {
        sqlx::query(&format!(
            "INSERT INTO webhooks ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        ))
        .bind(&h.id)
        .bind(h.app_id)
        .bind(&h.name)
        .bind(&h.description)
        .bind(&h.url)
        .bind(h.enabled as i64)
        .bind(&h.disabled_reason)
        .bind(secrets.seal(&h.secret))
        .bind(h.previous_secret.as_deref().map(|p| secrets.seal(p)))
        .bind(h.previous_secret_expires_at)
        .bind(h.created_at)
        .bind(h.updated_at)
        .bind(h.rate_limit_per_second)
        .bind(h.ordered as i64)
        .bind(h.payload_format.as_str())
        .execute(&mut *conn)
        .await?;
    } else {
        sqlx::query(
            "UPDATE webhooks SET name = $1, description = $2, url = $3, enabled = $4, disabled_reason = $5, \
             disabled_at = CASE WHEN $6 = 1 THEN NULL ELSE COALESCE(disabled_at, $7) END, \
             secret = $8, previous_secret = $9, previous_secret_expires_at = $10, updated_at = $11, \
             rate_limit_per_second = $12, ordered = $13, payload_format = $14, \
             failing_since = CASE WHEN $15 = 1 THEN failing_since ELSE NULL END \
             WHERE id = $16 AND app_id = $17",
        )
        .bind(&h.name)
        .bind(&h.description)
        .bind(&h.url)
        .bind(h.enabled as i64)
        .bind(&h.disabled_reason)
        .bind(h.enabled as i64)
        .bind(h.updated_at)
        .bind(secrets.seal(&h.secret))
        .bind(h.previous_secret.as_deref().map(|p| secrets.seal(p)))
        .bind(h.previous_secret_expires_at)
        .bind(h.updated_at)
        .bind(h.rate_limit_per_second)
        .bind(h.ordered as i64)
        .bind(h.payload_format.as_str())
        .bind(h.enabled as i64)
        .bind(&h.id)
        .bind(h.app_id)
        .execute(&mut *conn)
        .await?;
        sqlx::query("DELETE FROM webhook_events WHERE webhook_id = $1")
            .bind(&h.id)
            .execute(&mut *conn)
            .await?;
    }
    for e in &h.events {
        sqlx::query("INSERT INTO webhook_events (webhook_id, graph, state) VALUES ($1, $2, $3)")
            .bind(&h.id)
            .bind(&e.graph)
            .bind(&e.state)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

pub async fn delete(db: &Db, app_id: i64, id: &str) -> sqlx::Result<bool> {
    let mut slot = write_slot(db).await?;
    let res = sqlx::query("DELETE FROM webhooks WHERE app_id = $1 AND id = $2")
        .bind(app_id)
        .bind(id)
        .execute(&mut *slot)
        .await?;
    Ok(res.rows_affected() == 1)
}

/// Enabled webhooks of this app subscribed to `graph`/`state`, with their payload formats.
pub async fn matching(
    conn: &mut Conn,
    app_id: i64,
    graph: &str,
    state: &str,
) -> sqlx::Result<Vec<(String, PayloadFormat)>> {
    let rows = sqlx::query(
        "SELECT w.id, w.payload_format FROM webhook_events e JOIN webhooks w ON w.id = e.webhook_id \
         WHERE e.graph = $1 AND e.state = $2 AND w.app_id = $3 AND w.enabled = 1 ORDER BY w.id",
    )
    .bind(graph)
    .bind(state)
    .bind(app_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| Ok((r.get("id"), format(r)?))).collect()
}

/// A message to deliver, written in the transaction of the transition that causes it.
pub struct NewDelivery<'a> {
    pub msg_id: &'a str,
    pub app_id: i64,
    pub webhook_id: &'a str,
    pub booking_id: &'a str,
    pub graph: &'a str,
    pub state: &'a str,
    pub action: &'a str,
    pub payload: &'a str,
    pub is_test: bool,
    pub now: i64,
    /// Written already claimed, until this time, by this process's worker, which is handed it
    /// once the transaction commits; the statement then returns its id and msg_id.
    pub claimed_until: Option<i64>,
}

pub fn push_delivery(batch: &mut crate::store::Batch, d: &NewDelivery<'_>) {
    let mut vals = vec![
        d.msg_id.into(),
        d.app_id.into(),
        d.webhook_id.into(),
        d.booking_id.into(),
        d.graph.into(),
        d.state.into(),
        d.action.into(),
        d.payload.into(),
        d.now.into(),
    ];
    let sql = match d.claimed_until {
        None => {
            "INSERT INTO deliveries (msg_id, app_id, webhook_id, booking_id, graph, state, action, payload, \
             next_attempt_at, status, is_test, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)"
        }
        Some(lease_until) => {
            vals.push(lease_until.into());
            "INSERT INTO deliveries (msg_id, app_id, webhook_id, booking_id, graph, state, action, payload, \
             next_attempt_at, lease_until, status, is_test, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'delivering', ?, ?, ?) RETURNING id, msg_id"
        }
    };
    vals.extend([d.is_test.into(), d.now.into(), d.now.into()]);
    batch.push(sql, vals);
}

pub async fn insert_delivery(conn: &mut Conn, d: &NewDelivery<'_>) -> sqlx::Result<()> {
    let mut batch = crate::store::Batch::default();
    push_delivery(&mut batch, d);
    batch.run(conn).await
}

/// Encrypts the webhook secrets still stored in clear (written before encryption existed), and
/// refuses to start when the stored ones do not decrypt with this key (a wrong or lost key
/// would otherwise sign every delivery wrongly).
pub async fn seal_webhook_secrets(db: &Db) -> anyhow::Result<()> {
    let secrets = db.secrets();
    // The first instance leaves a sealed value; every later one must open it with its key.
    let mut slot = super::write::write_slot(db).await?;
    sqlx::query("INSERT INTO key_check (id, sealed) VALUES (1, $1) ON CONFLICT (id) DO NOTHING")
        .bind(secrets.seal("bookhook key check"))
        .execute(&mut *slot)
        .await?;
    drop(slot);
    let check: String = sqlx::query_scalar("SELECT sealed FROM key_check WHERE id = 1")
        .fetch_one(db)
        .await?;
    if secrets.open(&check).as_deref() != Some("bookhook key check") {
        anyhow::bail!(
            "secret_key: this database's webhook secrets are encrypted with another key \
             (give every instance the same BOOKHOOK_SECRET_KEY, or restore <data_dir>/secret.key)"
        );
    }
    let rows = sqlx::query("SELECT id, secret, previous_secret FROM webhooks")
        .fetch_all(db)
        .await?;
    for r in rows {
        let id: String = r.get("id");
        let secret: String = r.get("secret");
        let previous: Option<String> = r.get("previous_secret");
        for s in std::iter::once(&secret).chain(previous.iter()) {
            if super::secrets::is_sealed(s) && secrets.open(s).is_none() {
                anyhow::bail!(
                    "secret_key: the webhook secrets were encrypted with another key \
                     (set BOOKHOOK_SECRET_KEY, or restore <data_dir>/secret.key)"
                );
            }
        }
        if !super::secrets::is_sealed(&secret)
            || previous
                .as_deref()
                .is_some_and(|p| !super::secrets::is_sealed(p))
        {
            let seal = |s: &str| {
                if super::secrets::is_sealed(s) {
                    s.to_string()
                } else {
                    secrets.seal(s)
                }
            };
            let mut slot = super::write::write_slot(db).await?;
            sqlx::query("UPDATE webhooks SET secret = $1, previous_secret = $2 WHERE id = $3 AND secret = $4")
                .bind(seal(&secret))
                .bind(previous.as_deref().map(seal))
                .bind(&id)
                .bind(&secret)
                .execute(&mut *slot)
                .await?;
        }
    }
    Ok(())
}
