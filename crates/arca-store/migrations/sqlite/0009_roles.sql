-- Roles (MLflow's RBAC, as mlflow 3.17's basic-auth app serves them): a named set of grants,
-- each on one resource or on every resource of a type ('*'), assigned to users. Roles live in
-- a workspace as MLflow's do; unique by (workspace, name).

CREATE TABLE roles (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL,
    workspace   TEXT NOT NULL,
    description TEXT,
    UNIQUE (workspace, name)
);

CREATE TABLE role_permissions (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    role_id          BIGINT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    -- 'experiment' | 'registered_model' | 'prompt' | 'workspace'
    resource_type    TEXT NOT NULL,
    -- an experiment id or model name, or '*'
    resource_pattern TEXT NOT NULL,
    permission       TEXT NOT NULL,
    UNIQUE (role_id, resource_type, resource_pattern)
);
CREATE INDEX role_permissions_pattern ON role_permissions (resource_type, resource_pattern);

CREATE TABLE user_roles (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_id BIGINT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    UNIQUE (user_id, role_id)
);
CREATE INDEX user_roles_role ON user_roles (role_id);

-- A protected stage or alias may name a role (the group whose members may also move a version
-- into it). Deleting the role leaves the protection, with MANAGE alone allowed again.
ALTER TABLE model_protections ADD COLUMN role_id BIGINT REFERENCES roles (id) ON DELETE SET NULL;

-- Every grant a user holds on a model or an experiment: their own (the *_grants tables), and
-- those of the roles they are assigned, a role's pattern naming one resource or '*' for all of
-- its type. Permission checks and the READ filter of searches both read these views, so a
-- model cannot be listed yet unreadable, or the reverse. Only roles of the 'default' workspace
-- count: Arca has no workspaces, and MLflow with workspaces off resolves grants there too.
-- A prompt is matched by 'prompt' patterns, any other model by 'registered_model' ones, as
-- MLflow keeps the two namespaces apart.
CREATE VIEW model_user_grants AS
SELECT g.model_id, g.user_id, g.permission FROM model_grants g
UNION ALL
SELECT rm.id, ur.user_id, rp.permission
FROM user_roles ur
JOIN roles r ON r.id = ur.role_id AND r.workspace = 'default'
JOIN role_permissions rp ON rp.role_id = r.id AND rp.resource_pattern = '*'
CROSS JOIN registered_models rm
WHERE rp.resource_type = CASE WHEN EXISTS (
        SELECT 1 FROM registered_model_tags t WHERE t.model_id = rm.id
        AND t.key = 'mlflow.prompt.is_prompt' AND LOWER(t.value) = 'true')
    THEN 'prompt' ELSE 'registered_model' END
UNION ALL
SELECT rm.id, ur.user_id, rp.permission
FROM user_roles ur
JOIN roles r ON r.id = ur.role_id AND r.workspace = 'default'
JOIN role_permissions rp ON rp.role_id = r.id AND rp.resource_pattern <> '*'
JOIN registered_models rm ON rm.name = rp.resource_pattern
WHERE rp.resource_type = CASE WHEN EXISTS (
        SELECT 1 FROM registered_model_tags t WHERE t.model_id = rm.id
        AND t.key = 'mlflow.prompt.is_prompt' AND LOWER(t.value) = 'true')
    THEN 'prompt' ELSE 'registered_model' END;

CREATE VIEW experiment_user_grants AS
SELECT g.experiment_id, g.user_id, g.permission FROM experiment_grants g
UNION ALL
SELECT e.experiment_id, ur.user_id, rp.permission
FROM user_roles ur
JOIN roles r ON r.id = ur.role_id AND r.workspace = 'default'
JOIN role_permissions rp ON rp.role_id = r.id AND rp.resource_type = 'experiment'
    AND rp.resource_pattern = '*'
CROSS JOIN experiments e
UNION ALL
SELECT e.experiment_id, ur.user_id, rp.permission
FROM user_roles ur
JOIN roles r ON r.id = ur.role_id AND r.workspace = 'default'
JOIN role_permissions rp ON rp.role_id = r.id AND rp.resource_type = 'experiment'
    AND rp.resource_pattern <> '*'
JOIN experiments e ON CAST(e.experiment_id AS TEXT) = rp.resource_pattern;
