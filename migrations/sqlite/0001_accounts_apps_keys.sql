-- Admin accounts, apps (Timekit's unit for webhooks, bookings and API keys) and their API keys.
-- Times are Unix milliseconds (INTEGER) so the same columns work on PostgreSQL as BIGINT.

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    email          TEXT    NOT NULL UNIQUE,
    password_hash  TEXT    NOT NULL,
    developer_mode INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL
);

CREATE TABLE apps (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    slug       TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY,
    app_id       INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    mode         TEXT    NOT NULL CHECK (mode IN ('test', 'live')),
    label        TEXT    NOT NULL,
    -- SHA-256 of the whole key: keys carry 190 bits of randomness, so a fast hash is safe
    -- and lets every API request find its key with one index lookup.
    key_hash     TEXT    NOT NULL UNIQUE,
    -- The last four characters, so people can tell their keys apart.
    key_hint     TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);

CREATE INDEX api_keys_app ON api_keys (app_id, created_at);
