//! SQL of the request inspector: an app's bins, and the requests each bin captured.

use super::write::write_slot;
use super::{Conn, Db};
use sqlx::Row;

/// A bin, with the name of its linked webhook and how many requests it keeps.
pub struct BinRow {
    pub id: String,
    pub name: String,
    pub webhook_id: Option<String>,
    pub webhook_name: Option<String>,
    pub requests: i64,
    pub created_at: i64,
}

/// The bins of this app, newest first.
pub async fn list_bins(db: &Db, app_id: i64) -> sqlx::Result<Vec<BinRow>> {
    let rows = sqlx::query(
        "SELECT b.id, b.name, b.webhook_id, w.name AS webhook_name, b.created_at, \
         (SELECT COUNT(*) FROM bin_requests r WHERE r.bin_id = b.id) AS n \
         FROM bins b LEFT JOIN webhooks w ON w.id = b.webhook_id WHERE b.app_id = $1 ORDER BY b.created_at DESC",
    )
    .bind(app_id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .iter()
        .map(|r| BinRow {
            id: r.get("id"),
            name: r.get("name"),
            webhook_id: r.get("webhook_id"),
            webhook_name: r.get("webhook_name"),
            requests: r.get("n"),
            created_at: r.get("created_at"),
        })
        .collect())
}

pub async fn count_bins(db: &Db, app_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM bins WHERE app_id = $1")
        .bind(app_id)
        .fetch_one(db)
        .await
}

pub async fn insert_bin(db: &Db, id: &str, app_id: i64, name: &str, now: i64) -> sqlx::Result<()> {
    let mut slot = write_slot(db).await?;
    sqlx::query("INSERT INTO bins (id, app_id, name, created_at) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(app_id)
        .bind(name)
        .bind(now)
        .execute(&mut *slot)
        .await
        .map(drop)
}

/// Deletes a bin of this app with the requests it captured; `false` when there is none.
pub async fn delete_bin(db: &Db, app_id: i64, id: &str) -> sqlx::Result<bool> {
    let mut slot = write_slot(db).await?;
    let res = sqlx::query("DELETE FROM bins WHERE app_id = $1 AND id = $2")
        .bind(app_id)
        .bind(id)
        .execute(&mut *slot)
        .await?;
    Ok(res.rows_affected() > 0)
}

/// Links a bin to the webhook whose secret checks its requests' signatures.
pub async fn link_webhook(db: &Db, bin_id: &str, webhook_id: &str) -> sqlx::Result<()> {
    let mut slot = write_slot(db).await?;
    sqlx::query("UPDATE bins SET webhook_id = $1 WHERE id = $2")
        .bind(webhook_id)
        .bind(bin_id)
        .execute(&mut *slot)
        .await
        .map(drop)
}

/// A request as a bin captures it.
pub struct NewCapture<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// The headers as a JSON array of `[name, value]` pairs.
    pub headers: &'a str,
    /// The body as kept (it may be cut).
    pub body: &'a [u8],
    pub truncated: bool,
    pub received_at: i64,
}

/// Records a request to the bin `bin_id` and drops all but its last `keep` requests, in one
/// transaction. Returns the bin's app, or `None` when there is no such bin.
pub async fn capture(
    db: &Db,
    bin_id: &str,
    c: &NewCapture<'_>,
    keep: i64,
) -> sqlx::Result<Option<i64>> {
    let mut tx = super::begin_write(db).await?;
    let Some(app) = bin_app(&mut tx, bin_id).await? else {
        return Ok(None);
    };
    sqlx::query(
        "INSERT INTO bin_requests (bin_id, method, path, headers, body, truncated, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(bin_id)
    .bind(c.method)
    .bind(c.path)
    .bind(c.headers)
    .bind(c.body)
    .bind(c.truncated as i64)
    .bind(c.received_at)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "DELETE FROM bin_requests WHERE bin_id = $1 AND id NOT IN \
         (SELECT id FROM bin_requests WHERE bin_id = $2 ORDER BY id DESC LIMIT $3)",
    )
    .bind(bin_id)
    .bind(bin_id)
    .bind(keep)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(app))
}

async fn bin_app(conn: &mut Conn, bin_id: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT app_id FROM bins WHERE id = $1")
        .bind(bin_id)
        .fetch_optional(conn)
        .await
}

/// A captured request as stored.
pub struct CaptureRow {
    pub id: i64,
    pub method: String,
    pub path: String,
    /// The headers as a JSON array of `[name, value]` pairs.
    pub headers: String,
    pub body: Vec<u8>,
    pub truncated: bool,
    pub received_at: i64,
}

/// The requests a bin keeps, newest first.
pub async fn captures(db: &Db, bin_id: &str) -> sqlx::Result<Vec<CaptureRow>> {
    let rows = sqlx::query(
        "SELECT id, method, path, headers, body, truncated, received_at FROM bin_requests \
         WHERE bin_id = $1 ORDER BY id DESC",
    )
    .bind(bin_id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .iter()
        .map(|r| CaptureRow {
            id: r.get("id"),
            method: r.get("method"),
            path: r.get("path"),
            headers: r.get("headers"),
            body: r.get("body"),
            truncated: r.get::<i64, _>("truncated") != 0,
            received_at: r.get("received_at"),
        })
        .collect())
}
