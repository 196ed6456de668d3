-- Who may do what (issue 12). Grants and protections point at the surrogate ids of models and
-- experiments, so a rename keeps them and a delete takes them along: a model created later
-- under a deleted model's name starts with no grants.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT NOT NULL UNIQUE,
    -- PHC string (argon2id)
    password_hash TEXT NOT NULL,
    is_admin      SMALLINT NOT NULL DEFAULT 0,
    creation_time BIGINT NOT NULL
);

-- API tokens and UI sessions: only the SHA-256 of the secret is kept.
CREATE TABLE user_tokens (
    id             TEXT NOT NULL PRIMARY KEY,
    user_id        BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- 'api' | 'session'
    kind           TEXT NOT NULL,
    name           TEXT NOT NULL DEFAULT '',
    secret_sha256  TEXT NOT NULL UNIQUE,
    creation_time  BIGINT NOT NULL,
    expiry_time    BIGINT,
    last_used_time BIGINT
);
CREATE INDEX user_tokens_user ON user_tokens (user_id, kind);

CREATE TABLE experiment_grants (
    experiment_id BIGINT NOT NULL REFERENCES experiments (experiment_id) ON DELETE CASCADE,
    user_id       BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    permission    TEXT NOT NULL,
    PRIMARY KEY (experiment_id, user_id)
);
CREATE INDEX experiment_grants_user ON experiment_grants (user_id, permission, experiment_id);

CREATE TABLE model_grants (
    model_id   BIGINT NOT NULL REFERENCES registered_models (id) ON DELETE CASCADE,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    permission TEXT NOT NULL,
    PRIMARY KEY (model_id, user_id)
);
CREATE INDEX model_grants_user ON model_grants (user_id, permission, model_id);

-- Stages and aliases of a model that only a MANAGE holder may move a version into.
CREATE TABLE model_protections (
    model_id BIGINT NOT NULL REFERENCES registered_models (id) ON DELETE CASCADE,
    -- 'stage' | 'alias'
    kind     TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (model_id, kind, value)
);
