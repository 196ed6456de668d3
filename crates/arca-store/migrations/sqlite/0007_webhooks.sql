-- MLflow's webhooks, delivered from the event log (registry_events) by whichever server claims
-- the work in the database, so that replicas sharing one database deliver each event once.
CREATE TABLE webhooks (
    id          TEXT NOT NULL PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT,
    url         TEXT NOT NULL,
    -- 'entity.action' names, sorted, separated by one space
    events      TEXT NOT NULL,
    -- signs deliveries; never returned by the API
    secret      TEXT,
    -- ACTIVE | DISABLED
    status      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    deleted_at  BIGINT,
    -- the last registry_events id committed before the webhook was: it gets later events only
    after_event BIGINT NOT NULL
);
CREATE INDEX webhooks_listing ON webhooks (created_at, id);

-- One row: how far the event log has been turned into deliveries, and a revision bumped by
-- every change to a webhook. Planning compares and sets both, so two servers never plan one
-- event twice, nor plan it with a stale list of webhooks.
CREATE TABLE webhook_dispatch (
    id           SMALLINT NOT NULL PRIMARY KEY,
    event_cursor BIGINT NOT NULL,
    hooks_rev    BIGINT NOT NULL
);
INSERT INTO webhook_dispatch (id, event_cursor, hooks_rev)
    SELECT 1, COALESCE(MAX(id), 0), 0 FROM registry_events;

CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- X-MLflow-Delivery-Id: the same on every attempt, so a receiver can drop repeats
    delivery_id     TEXT NOT NULL UNIQUE,
    webhook_id      TEXT NOT NULL,
    -- the registry_events row it carries (a redelivery carries the same one)
    event_id        BIGINT NOT NULL,
    -- deliveries of one model to one webhook go out in id order
    model_name      TEXT NOT NULL,
    event           TEXT NOT NULL,
    -- the JSON envelope, fixed when planned so every attempt sends the same bytes
    body            TEXT NOT NULL,
    -- pending | delivered | dead
    state           TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    -- a server owns an attempt until lease_until; a crashed server's lease runs out
    lease_owner     TEXT,
    lease_until     BIGINT NOT NULL DEFAULT 0,
    last_status     BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    finished_at     BIGINT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (webhook_id, model_name, state, id);
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (webhook_id, id);
