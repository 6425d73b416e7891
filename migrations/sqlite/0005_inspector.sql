-- The built-in request inspector: bins with an unguessable URL that record what is sent to them.

CREATE TABLE bins (
    id         TEXT    PRIMARY KEY,
    app_id     INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    -- The webhook whose secret checks the signatures of captured requests.
    webhook_id TEXT    REFERENCES webhooks (id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX bins_app ON bins (app_id, created_at);

CREATE TABLE bin_requests (
    id          INTEGER PRIMARY KEY,
    bin_id      TEXT    NOT NULL REFERENCES bins (id) ON DELETE CASCADE,
    method      TEXT    NOT NULL,
    path        TEXT    NOT NULL,
    headers     TEXT    NOT NULL,
    body        BLOB    NOT NULL,
    truncated   INTEGER NOT NULL DEFAULT 0,
    received_at INTEGER NOT NULL
);
CREATE INDEX bin_requests_bin ON bin_requests (bin_id, id DESC);
