//! Accounts and tenancy: admin users, apps and their API keys.

use super::db::{now_ms, Backend, Db, DbRow};
use super::write::{begin_write, write_slot, WriteTx};
use sqlx::Row;

// ---------------------------------------------------------------------------------------------
// Users

#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub developer_mode: bool,
}

pub async fn count_users(db: &Db) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(db)
        .await
}

pub async fn user_by_id(db: &Db, id: i64) -> sqlx::Result<Option<UserRow>> {
    let row = sqlx::query("SELECT id, email, developer_mode FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(db)
        .await?;
    Ok(row.map(|r| UserRow {
        id: r.get("id"),
        email: r.get("email"),
        developer_mode: r.get::<i64, _>("developer_mode") != 0,
    }))
}

/// The id and password hash of the account with this email, for sign-in.
pub async fn credentials_by_email(db: &Db, email: &str) -> sqlx::Result<Option<(i64, String)>> {
    let row = sqlx::query("SELECT id, password_hash FROM users WHERE email = $1")
        .bind(email)
        .fetch_optional(db)
        .await?;
    Ok(row.map(|r| (r.get("id"), r.get("password_hash"))))
}

/// On PostgreSQL, makes account creation one at a time (SQLite's write transaction already
/// does), so "create only while none exists" holds across instances.
async fn lock_accounts(tx: &mut WriteTx) -> sqlx::Result<()> {
    if Backend::of_conn(tx) == Backend::Postgres {
        sqlx::query("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

pub enum FirstAdmin {
    Created { user_id: i64 },
    AlreadySetUp,
}

/// Creates the first admin account and the Demo app, only while no account exists.
/// The check and the insert share one write transaction, so two racing requests cannot both win.
pub async fn create_first_admin(
    db: &Db,
    email: &str,
    password_hash: &str,
) -> sqlx::Result<FirstAdmin> {
    let mut tx = begin_write(db).await?;
    lock_accounts(&mut tx).await?;
    // One statement checks and inserts, so two racing requests cannot both create an account.
    let now = now_ms();
    let user_id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO users (email, password_hash, created_at) \
         SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM users) RETURNING id",
    )
    .bind(email)
    .bind(password_hash)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(user_id) = user_id else {
        return Ok(FirstAdmin::AlreadySetUp);
    };
    sqlx::query(
        "INSERT INTO apps (name, slug, created_at) SELECT 'Demo', 'demo', $1 \
         WHERE NOT EXISTS (SELECT 1 FROM apps)",
    )
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(FirstAdmin::Created { user_id })
}

pub async fn set_developer_mode(db: &Db, user_id: i64, on: bool) -> sqlx::Result<()> {
    let mut slot = write_slot(db).await?;
    sqlx::query("UPDATE users SET developer_mode = $1 WHERE id = $2")
        .bind(on as i64)
        .bind(user_id)
        .execute(&mut *slot)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Apps

#[derive(Debug, Clone)]
pub struct AppRow {
    pub id: i64,
    pub name: String,
    pub slug: String,
    pub created_at: i64,
}

fn app_row(r: DbRow) -> AppRow {
    AppRow {
        id: r.get("id"),
        name: r.get("name"),
        slug: r.get("slug"),
        created_at: r.get("created_at"),
    }
}

pub async fn list_apps(db: &Db) -> sqlx::Result<Vec<AppRow>> {
    let rows = sqlx::query("SELECT id, name, slug, created_at FROM apps ORDER BY name, id")
        .fetch_all(db)
        .await?;
    Ok(rows.into_iter().map(app_row).collect())
}

pub async fn app_by_slug(db: &Db, slug: &str) -> sqlx::Result<Option<AppRow>> {
    let row = sqlx::query("SELECT id, name, slug, created_at FROM apps WHERE slug = $1")
        .bind(slug)
        .fetch_optional(db)
        .await?;
    Ok(row.map(app_row))
}

/// `None` when the slug is taken.
pub async fn create_app(db: &Db, name: &str, slug: &str) -> sqlx::Result<Option<AppRow>> {
    let now = now_ms();
    let mut slot = write_slot(db).await?;
    let res = sqlx::query(
        "INSERT INTO apps (name, slug, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (slug) DO NOTHING RETURNING id",
    )
    .bind(name)
    .bind(slug)
    .bind(now)
    .fetch_optional(&mut *slot)
    .await?;
    Ok(res.map(|r| AppRow {
        id: r.get("id"),
        name: name.into(),
        slug: slug.into(),
        created_at: now,
    }))
}

pub async fn rename_app(db: &Db, app_id: i64, name: &str) -> sqlx::Result<()> {
    let mut slot = write_slot(db).await?;
    sqlx::query("UPDATE apps SET name = $1 WHERE id = $2")
        .bind(name)
        .bind(app_id)
        .execute(&mut *slot)
        .await?;
    Ok(())
}

/// Deletes an app and (by cascade) everything it owns.
pub async fn delete_app(db: &Db, app_id: i64) -> sqlx::Result<()> {
    let mut slot = write_slot(db).await?;
    sqlx::query("DELETE FROM apps WHERE id = $1")
        .bind(app_id)
        .execute(&mut *slot)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// API keys

#[derive(Debug, Clone)]
pub struct ApiKeyRow {
    pub id: i64,
    pub mode: String,
    pub label: String,
    pub key_hint: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

pub async fn list_api_keys(db: &Db, app_id: i64) -> sqlx::Result<Vec<ApiKeyRow>> {
    let rows = sqlx::query(
        "SELECT id, mode, label, key_hint, created_at, last_used_at, revoked_at \
         FROM api_keys WHERE app_id = $1 ORDER BY revoked_at IS NOT NULL, created_at DESC, id DESC",
    )
    .bind(app_id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ApiKeyRow {
            id: r.get("id"),
            mode: r.get("mode"),
            label: r.get("label"),
            key_hint: r.get("key_hint"),
            created_at: r.get("created_at"),
            last_used_at: r.get("last_used_at"),
            revoked_at: r.get("revoked_at"),
        })
        .collect())
}

pub async fn insert_api_key(
    db: &Db,
    app_id: i64,
    mode: &str,
    label: &str,
    key_hash: &str,
    key_hint: &str,
) -> sqlx::Result<i64> {
    let mut slot = write_slot(db).await?;
    sqlx::query_scalar(
        "INSERT INTO api_keys (app_id, mode, label, key_hash, key_hint, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(app_id)
    .bind(mode)
    .bind(label)
    .bind(key_hash)
    .bind(key_hint)
    .bind(now_ms())
    .fetch_one(&mut *slot)
    .await
}

/// Revokes a key of this app; false when the app has no such active key.
pub async fn revoke_api_key(db: &Db, app_id: i64, key_id: i64) -> sqlx::Result<bool> {
    let mut slot = write_slot(db).await?;
    let res = sqlx::query(
        "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND app_id = $3 AND revoked_at IS NULL",
    )
    .bind(now_ms())
    .bind(key_id)
    .bind(app_id)
    .execute(&mut *slot)
    .await?;
    Ok(res.rows_affected() == 1)
}

/// The app an active API key belongs to, with the key's id and label.
pub async fn app_by_api_key(
    db: &Db,
    key_hash: &str,
) -> sqlx::Result<Option<(AppRow, i64, String)>> {
    let row = sqlx::query(
        "SELECT a.id, a.name, a.slug, a.created_at, k.id AS key_id, k.label, k.last_used_at \
         FROM api_keys k \
         JOIN apps a ON a.id = k.app_id WHERE k.key_hash = $1 AND k.revoked_at IS NULL",
    )
    .bind(key_hash)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| {
        let key_id: i64 = r.get("key_id");
        let label: String = r.get("label");
        let last_used: Option<i64> = r.get("last_used_at");
        // "Last used" is shown to the minute: write it at most once a minute per key, off
        // the request's path, so API calls do not queue behind it.
        let now = now_ms();
        if last_used.is_none_or(|t| now - t > 60_000) {
            let db = db.clone();
            tokio::spawn(async move {
                let _ = sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(key_id)
                    .execute(&db)
                    .await;
            });
        }
        (app_row(r), key_id, label)
    }))
}

/// Encrypts the webhook secrets still stored in clear (written before encryption existed), and
/// refuses to start when the stored ones do not decrypt with this key (a wrong or lost key
/// would otherwise sign every delivery wrongly).
pub async fn create_admin(db: &Db, email: &str, password_hash: &str) -> sqlx::Result<Option<i64>> {
    let mut tx = begin_write(db).await?;
    lock_accounts(&mut tx).await?;
    let now = now_ms();
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO users (email, password_hash, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (email) DO NOTHING RETURNING id",
    )
    .bind(email)
    .bind(password_hash)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    if id.is_some() {
        sqlx::query(
            "INSERT INTO apps (name, slug, created_at) SELECT 'Demo', 'demo', $1 \
             WHERE NOT EXISTS (SELECT 1 FROM apps)",
        )
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(id)
}
