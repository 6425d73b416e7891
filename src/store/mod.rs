//! Every SQL statement of the server, by what it concerns; the database value and the one
//! entrance for writes.

pub mod accounts;
pub mod bookings;
pub mod db;
pub mod deliveries;
pub mod health;
pub mod inspector;
pub mod log;
pub mod notify;
pub mod outage;
pub mod replays;
pub mod retention;
pub mod secrets;
pub mod seed;
pub mod webhooks;
pub mod write;

pub use accounts::{
    app_by_api_key, app_by_slug, count_users, create_admin, create_app, create_first_admin,
    credentials_by_email, delete_app, insert_api_key, list_api_keys, list_apps, rename_app,
    revoke_api_key, set_developer_mode, user_by_id, ApiKeyRow, AppRow, FirstAdmin, UserRow,
};
pub use db::{now_ms, ping, probe_write, Backend, Conn, Db, DbRow};
pub use outage::{is_unavailable, OutageStatus};
pub use webhooks::seal_webhook_secrets;
pub use write::{
    begin_write, for_update, marks, number_marks, on_writer, spawn_writer, write_slot, Batch, Val,
    WriteSlot, WriteTx,
};
