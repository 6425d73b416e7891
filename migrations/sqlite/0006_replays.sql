-- Bulk replays: "replay every failed delivery of this webhook since T", run in the background
-- in batches; the cursor makes a job resume where it stopped after a restart.

CREATE TABLE replays (
    id          INTEGER PRIMARY KEY,
    app_id      INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    webhook_id  TEXT    NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    since       INTEGER NOT NULL,
    -- Failed messages to replay, counted when the job was created, and how many are re-queued.
    total       INTEGER NOT NULL,
    done        INTEGER NOT NULL DEFAULT 0,
    -- The last delivery id handled (messages are taken in id order).
    cursor      INTEGER NOT NULL DEFAULT 0,
    -- The highest delivery id the job covers: messages failing later are not its business.
    max_id      INTEGER NOT NULL,
    status      TEXT    NOT NULL DEFAULT 'running',
    created_at  INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE INDEX replays_webhook ON replays (webhook_id, id DESC);
CREATE INDEX deliveries_failed_by_webhook ON deliveries (webhook_id, id) WHERE status = 'failed';
CREATE INDEX attempts_started ON attempts (started_at);
CREATE INDEX deliveries_finished ON deliveries (updated_at) WHERE status IN ('delivered', 'failed');
