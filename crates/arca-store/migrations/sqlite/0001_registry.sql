-- The model registry. Names live only in registered_models; everything else points at the
-- surrogate id, so a rename is one UPDATE and carries versions, tags and aliases along.
CREATE TABLE registered_models (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    name              TEXT NOT NULL UNIQUE,
    description       TEXT,
    creation_time     BIGINT NOT NULL,
    last_updated_time BIGINT NOT NULL,
    -- the next version number to hand out; bumped under the row lock, never decremented
    next_version      BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX registered_models_last_updated ON registered_models (last_updated_time, name);

CREATE TABLE model_versions (
    model_id          BIGINT NOT NULL REFERENCES registered_models (id) ON DELETE CASCADE,
    version           BIGINT NOT NULL,
    creation_time     BIGINT NOT NULL,
    last_updated_time BIGINT NOT NULL,
    user_id           TEXT,
    -- 'None' | 'Staging' | 'Production' | 'Archived'; 'Deleted_Internal' marks a soft-deleted version
    current_stage     TEXT NOT NULL,
    description       TEXT NOT NULL DEFAULT '',
    source            TEXT NOT NULL,
    run_id            TEXT NOT NULL DEFAULT '',
    run_link          TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL DEFAULT 'READY',
    logged_model_id   TEXT,
    PRIMARY KEY (model_id, version)
);
CREATE INDEX model_versions_stage ON model_versions (model_id, current_stage, version);
CREATE INDEX model_versions_last_updated ON model_versions (last_updated_time);
CREATE INDEX model_versions_model_last_updated ON model_versions (model_id, last_updated_time);
CREATE INDEX model_versions_creation ON model_versions (model_id, creation_time);
CREATE INDEX model_versions_run_id ON model_versions (run_id);

CREATE TABLE registered_model_tags (
    model_id BIGINT NOT NULL REFERENCES registered_models (id) ON DELETE CASCADE,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (model_id, key)
);
CREATE INDEX registered_model_tags_key ON registered_model_tags (key, value);

CREATE TABLE model_version_tags (
    model_id BIGINT NOT NULL,
    version  BIGINT NOT NULL,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (model_id, version, key),
    FOREIGN KEY (model_id, version) REFERENCES model_versions (model_id, version) ON DELETE CASCADE
);
CREATE INDEX model_version_tags_key ON model_version_tags (key, value);

CREATE TABLE registered_model_aliases (
    model_id BIGINT NOT NULL REFERENCES registered_models (id) ON DELETE CASCADE,
    alias    TEXT NOT NULL,
    version  BIGINT NOT NULL,
    PRIMARY KEY (model_id, alias)
);

-- One row per change, written in the same transaction as the change itself.
CREATE TABLE registry_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         BIGINT NOT NULL,
    model_name TEXT NOT NULL,
    version    BIGINT,
    action     TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX registry_events_model ON registry_events (model_name, id);
