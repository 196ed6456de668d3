//! Users, their API tokens and UI sessions, per-user grants on experiments and registered
//! models, and a model's protected stages and aliases. The store keeps them; the server decides
//! (`arca-server/src/auth/`). Secrets never reach this crate in the clear: passwords arrive as
//! argon2 PHC strings, token secrets as their SHA-256.
//!
//! Grants are keyed by the surrogate ids, never by name: renaming a model keeps its grants
//! (MLflow keys them by name and loses them), and deleting a model drops them, so whoever
//! creates a model under the same name later does not inherit them.

use crate::error::{Result, StoreError};
use crate::{MetadataStore, now_millis};
use arca_core::Error;
use arca_core::auth::Permission;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub username: String,
    /// argon2 PHC string; never rendered.
    pub password_hash: String,
    pub is_admin: bool,
    pub creation_time: i64,
}

/// An API token or a UI session, without its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub id: String,
    pub user_id: i64,
    pub username: String,
    pub kind: TokenKind,
    pub name: String,
    pub creation_time: i64,
    pub expiry_time: Option<i64>,
    pub last_used_time: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Api,
    Session,
}

impl TokenKind {
    fn as_str(self) -> &'static str {
        match self {
            TokenKind::Api => "api",
            TokenKind::Session => "session",
        }
    }
}

/// What a grant is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantTarget {
    /// By experiment id (as MLflow's API names it, a decimal string).
    Experiment(String),
    /// By registered model (or prompt) name.
    Model(String),
}

/// Which rows of a search a user may see: as a point check decides (`grant_of`), those whose
/// grants (the user's own and their roles', folded) hold no DENY and include READ, plus, when
/// the default permission includes READ, those without any grant; everything for a workspace
/// admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadScope {
    pub user_id: i64,
    pub default_readable: bool,
}

impl ReadScope {
    /// ` AND (...)` keeping the rows whose `id_column` this user may read; `grants` names the
    /// kind of resource by its grants table (`model_grants` or `experiment_grants`).
    pub(crate) fn push(&self, q: &mut crate::sql::SqlBuilder, id_column: &str, grants: &str) {
        use crate::sql::Bind;
        let (view, key) = if grants == "model_grants" {
            ("model_user_grants", "model_id")
        } else {
            ("experiment_user_grants", "experiment_id")
        };
        let user = Bind::Int(self.user_id);
        let grants_of = |q: &mut crate::sql::SqlBuilder, negate: bool| {
            q.push(&format!(
                " {id_column} {}IN (SELECT g.{key} FROM {view} g WHERE g.user_id = ",
                if negate { "NOT " } else { "" }
            ));
            q.bind(user.clone());
        };
        q.push(" AND (");
        crate::roles::push_workspace_admin(q, self.user_id);
        q.push(" OR (");
        grants_of(q, true);
        q.push(" AND g.permission = ");
        q.bind(Bind::Text(Permission::Deny.as_str().to_owned()));
        q.push(") AND (");
        grants_of(q, false);
        q.push(" AND g.permission IN ");
        q.bind_list(
            Permission::readable_names()
                .into_iter()
                .map(|p| Bind::Text(p.to_owned())),
        );
        q.push(")");
        if self.default_readable {
            q.push(" OR");
            grants_of(q, true);
            q.push(")");
        }
        q.push(")))");
    }
}

fn user_not_found(username: &str) -> Error {
    Error::not_found(format!("User with username={username} not found"))
}

const USER_COLUMNS: &str = "id, username, password_hash, is_admin, creation_time";

fn user_from_row(row: &AnyRow) -> Result<User> {
    Ok(User {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        password_hash: row.try_get("password_hash")?,
        is_admin: row.try_get::<i64, _>("is_admin")? != 0,
        creation_time: row.try_get("creation_time")?,
    })
}

const TOKEN_COLUMNS: &str = "t.id, t.user_id, u.username, t.kind, t.name, t.creation_time, \
                             t.expiry_time, t.last_used_time";

fn token_from_row(row: &AnyRow) -> Result<TokenInfo> {
    let kind: String = row.try_get("kind")?;
    Ok(TokenInfo {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        username: row.try_get("username")?,
        kind: if kind == "session" {
            TokenKind::Session
        } else {
            TokenKind::Api
        },
        name: row.try_get("name")?,
        creation_time: row.try_get("creation_time")?,
        expiry_time: row.try_get("expiry_time")?,
        last_used_time: row.try_get("last_used_time")?,
    })
}

async fn user_in(conn: &mut AnyConnection, username: &str) -> Result<User> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users WHERE username = $1"
    )))
    .bind(username)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StoreError::from(user_not_found(username)))?;
    user_from_row(&row)
}

/// The surrogate id a grant target names; `None` when there is no such experiment or model.
async fn target_id(conn: &mut AnyConnection, target: &GrantTarget) -> Result<Option<i64>> {
    let row = match target {
        GrantTarget::Experiment(id) => {
            let Ok(id) = id.parse::<i64>() else {
                return Ok(None);
            };
            sqlx::query("SELECT experiment_id FROM experiments WHERE experiment_id = $1")
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?
        }
        GrantTarget::Model(name) => {
            sqlx::query("SELECT id FROM registered_models WHERE name = $1")
                .bind(name.as_str())
                .fetch_optional(&mut *conn)
                .await?
        }
    };
    Ok(row.map(|r| r.try_get::<i64, _>(0)).transpose()?)
}

/// A user's folded grant on a target (own and roles'): `Some(None)` when there is none, `None` when there is no
/// such target.
async fn grant_in(
    conn: &mut AnyConnection,
    target: &GrantTarget,
    user_id: i64,
) -> Result<Option<Option<Permission>>> {
    let Some(id) = target_id(conn, target).await? else {
        return Ok(None);
    };
    Ok(Some(
        folded_grant(conn, target_view(target), id, user_id).await?,
    ))
}

fn grant_table(target: &GrantTarget) -> (&'static str, &'static str) {
    match target {
        GrantTarget::Experiment(_) => ("experiment_grants", "experiment_id"),
        GrantTarget::Model(_) => ("model_grants", "model_id"),
    }
}

const MODEL_VIEW: (&str, &str) = ("model_user_grants", "model_id");
const EXPERIMENT_VIEW: (&str, &str) = ("experiment_user_grants", "experiment_id");

fn target_view(target: &GrantTarget) -> (&'static str, &'static str) {
    match target {
        GrantTarget::Experiment(_) => EXPERIMENT_VIEW,
        GrantTarget::Model(_) => MODEL_VIEW,
    }
}

/// Every grant the user holds on one resource, through the view that joins their own grants
/// with their roles', folded; a workspace admin's MANAGE overrides any DENY, as in MLflow.
async fn folded_grant(
    conn: &mut AnyConnection,
    (view, key): (&str, &str),
    id: i64,
    user_id: i64,
) -> Result<Option<Permission>> {
    if crate::roles::is_workspace_admin(conn, user_id).await? {
        return Ok(Some(Permission::Manage));
    }
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT permission FROM {view} WHERE {key} = $1 AND user_id = $2"
    )))
    .bind(id)
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?;
    let grants = rows
        .iter()
        .map(|r| Ok(Permission::parse(&r.try_get::<String, _>(0)?)?))
        .collect::<Result<Vec<_>>>()?;
    Ok(Permission::fold(grants))
}

/// A grant's target by its surrogate id, inside the transaction that just created it.
pub(crate) enum GrantOn {
    Experiment(i64),
    Model(i64),
}

/// Gives the creator of a resource MANAGE on it, in the create's own transaction (so within
/// its SAVEPOINT under group commit). A creator who is not a user (deleted meanwhile) fails
/// the foreign key, and with it the whole create.
pub(crate) async fn grant_manage_to_creator(
    conn: &mut AnyConnection,
    on: &GrantOn,
    user_id: i64,
) -> Result<()> {
    let (table, column, id) = match on {
        GrantOn::Experiment(id) => ("experiment_grants", "experiment_id", *id),
        GrantOn::Model(id) => ("model_grants", "model_id", *id),
    };
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO {table} ({column}, user_id, permission) VALUES ($1, $2, $3)"
    )))
    .bind(id)
    .bind(user_id)
    .bind(Permission::Manage.as_str())
    .execute(&mut *conn)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(d) if d.is_foreign_key_violation() => StoreError::from(
            Error::not_found(format!("User with id={user_id}, the creator, not found")),
        ),
        _ => e.into(),
    })?;
    Ok(())
}

fn target_not_found(target: &GrantTarget) -> Error {
    match target {
        GrantTarget::Experiment(id) => {
            Error::not_found(format!("No Experiment with id={id} exists"))
        }
        GrantTarget::Model(name) => crate::models::model_not_found(name),
    }
}

impl MetadataStore {
    pub async fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        is_admin: bool,
    ) -> arca_core::Result<User> {
        let (username, hash) = (username.to_owned(), password_hash.to_owned());
        let now = now_millis();
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO users (username, password_hash, is_admin, creation_time) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(username.as_str())
                .bind(hash.as_str())
                .bind(i64::from(is_admin))
                .bind(now)
                .execute(&mut *conn)
                .await
                .map_err(|e| match &e {
                    sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::from(
                        Error::AlreadyExists(format!("User '{username}' already exists.")),
                    ),
                    _ => e.into(),
                })?;
                user_in(conn, &username).await
            })
        })
        .await
    }

    pub async fn get_user(&self, username: &str) -> arca_core::Result<User> {
        self.read(async |conn| user_in(conn, username).await).await
    }

    pub async fn get_user_by_id(&self, id: i64) -> arca_core::Result<Option<User>> {
        self.read(async |conn| {
            sqlx::query(AssertSqlSafe(format!(
                "SELECT {USER_COLUMNS} FROM users WHERE id = $1"
            )))
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| user_from_row(&r))
            .transpose()
        })
        .await
    }

    pub async fn list_users(&self) -> arca_core::Result<Vec<User>> {
        self.read(async |conn| {
            sqlx::query(AssertSqlSafe(format!(
                "SELECT {USER_COLUMNS} FROM users ORDER BY username"
            )))
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(user_from_row)
            .collect()
        })
        .await
    }

    pub async fn count_admins(&self) -> arca_core::Result<i64> {
        self.read(async |conn| {
            Ok(sqlx::query("SELECT COUNT(*) FROM users WHERE is_admin = 1")
                .fetch_one(&mut *conn)
                .await?
                .try_get::<i64, _>(0)?)
        })
        .await
    }

    /// Sets the password; the user's sessions end with it (tokens stay: they are separate
    /// credentials, revoked on their own).
    pub async fn set_user_password(
        &self,
        username: &str,
        password_hash: &str,
    ) -> arca_core::Result<()> {
        let (username, hash) = (username.to_owned(), password_hash.to_owned());
        self.write(move |conn| {
            Box::pin(async move {
                let user = user_in(conn, &username).await?;
                sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
                    .bind(user.id)
                    .bind(hash.as_str())
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("DELETE FROM user_tokens WHERE user_id = $1 AND kind = 'session'")
                    .bind(user.id)
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            })
        })
        .await
    }

    pub async fn set_user_admin(&self, username: &str, is_admin: bool) -> arca_core::Result<()> {
        let username = username.to_owned();
        self.write(move |conn| {
            Box::pin(async move {
                let user = user_in(conn, &username).await?;
                sqlx::query("UPDATE users SET is_admin = $2 WHERE id = $1")
                    .bind(user.id)
                    .bind(i64::from(is_admin))
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            })
        })
        .await
    }

    /// Deletes the user with their tokens, sessions, grants and role assignments.
    pub async fn delete_user(&self, username: &str) -> arca_core::Result<()> {
        let username = username.to_owned();
        self.write(move |conn| {
            Box::pin(async move {
                let user = user_in(conn, &username).await?;
                for table in [
                    "user_tokens",
                    "experiment_grants",
                    "model_grants",
                    "user_roles",
                    "users",
                ] {
                    let column = if table == "users" { "id" } else { "user_id" };
                    sqlx::query(AssertSqlSafe(format!(
                        "DELETE FROM {table} WHERE {column} = $1"
                    )))
                    .bind(user.id)
                    .execute(&mut *conn)
                    .await?;
                }
                Ok(())
            })
        })
        .await
    }

    /// Stores a token whose secret hashes to `secret_sha256`; the secret itself is shown to
    /// its owner once, by the caller, and never stored.
    pub async fn create_token(
        &self,
        user_id: i64,
        kind: TokenKind,
        name: &str,
        secret_sha256: &str,
        expiry_time: Option<i64>,
    ) -> arca_core::Result<TokenInfo> {
        let (name, secret) = (name.to_owned(), secret_sha256.to_owned());
        let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
        let now = now_millis();
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO user_tokens (id, user_id, kind, name, secret_sha256, \
                     creation_time, expiry_time) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(id.as_str())
                .bind(user_id)
                .bind(kind.as_str())
                .bind(name.as_str())
                .bind(secret.as_str())
                .bind(now)
                .bind(expiry_time)
                .execute(&mut *conn)
                .await?;
                let row = sqlx::query(AssertSqlSafe(format!(
                    "SELECT {TOKEN_COLUMNS} FROM user_tokens t JOIN users u ON u.id = t.user_id \
                     WHERE t.id = $1"
                )))
                .bind(id.as_str())
                .fetch_one(&mut *conn)
                .await?;
                token_from_row(&row)
            })
        })
        .await
    }

    /// The unexpired token of `kind` whose secret hashes to `secret_sha256`, with its user.
    pub async fn find_token(
        &self,
        kind: TokenKind,
        secret_sha256: &str,
        now: i64,
    ) -> arca_core::Result<Option<(TokenInfo, User)>> {
        self.read(async |conn| {
            let Some(row) = sqlx::query(AssertSqlSafe(format!(
                "SELECT {TOKEN_COLUMNS} FROM user_tokens t JOIN users u ON u.id = t.user_id \
                 WHERE t.secret_sha256 = $1 AND t.kind = $2 \
                 AND (t.expiry_time IS NULL OR t.expiry_time > $3)"
            )))
            .bind(secret_sha256)
            .bind(kind.as_str())
            .bind(now)
            .fetch_optional(&mut *conn)
            .await?
            else {
                return Ok(None);
            };
            let token = token_from_row(&row)?;
            let user = sqlx::query(AssertSqlSafe(format!(
                "SELECT {USER_COLUMNS} FROM users WHERE id = $1"
            )))
            .bind(token.user_id)
            .fetch_one(&mut *conn)
            .await?;
            Ok(Some((token, user_from_row(&user)?)))
        })
        .await
    }

    pub async fn touch_token(&self, id: &str, now: i64) -> arca_core::Result<()> {
        let id = id.to_owned();
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query("UPDATE user_tokens SET last_used_time = $2 WHERE id = $1")
                    .bind(id.as_str())
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            })
        })
        .await
    }

    /// API tokens, newest first: one user's, or everyone's for `None`.
    pub async fn list_tokens(&self, user_id: Option<i64>) -> arca_core::Result<Vec<TokenInfo>> {
        self.read(async |conn| {
            sqlx::query(AssertSqlSafe(format!(
                "SELECT {TOKEN_COLUMNS} FROM user_tokens t JOIN users u ON u.id = t.user_id \
                 WHERE t.kind = 'api' AND ($1 < 0 OR t.user_id = $1) \
                 ORDER BY t.creation_time DESC, t.id"
            )))
            .bind(user_id.unwrap_or(-1))
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(token_from_row)
            .collect()
        })
        .await
    }

    /// Deletes a token or session; with `owner`, only one of that user's. Whether one was.
    pub async fn delete_token(&self, id: &str, owner: Option<i64>) -> arca_core::Result<bool> {
        let id = id.to_owned();
        self.write(move |conn| {
            Box::pin(async move {
                let done = sqlx::query(
                    "DELETE FROM user_tokens WHERE id = $1 AND ($2 < 0 OR user_id = $2)",
                )
                .bind(id.as_str())
                .bind(owner.unwrap_or(-1))
                .execute(&mut *conn)
                .await?;
                Ok(done.rows_affected() > 0)
            })
        })
        .await
    }

    /// Sets (or with `None` removes) a user's grant on an experiment or model.
    pub async fn set_grant(
        &self,
        target: &GrantTarget,
        user_id: i64,
        permission: Option<Permission>,
    ) -> arca_core::Result<()> {
        let target = target.clone();
        self.write(move |conn| {
            Box::pin(async move {
                let id = target_id(conn, &target)
                    .await?
                    .ok_or_else(|| StoreError::from(target_not_found(&target)))?;
                let (table, column) = grant_table(&target);
                sqlx::query(AssertSqlSafe(format!(
                    "DELETE FROM {table} WHERE {column} = $1 AND user_id = $2"
                )))
                .bind(id)
                .bind(user_id)
                .execute(&mut *conn)
                .await?;
                if let Some(permission) = permission {
                    sqlx::query(AssertSqlSafe(format!(
                        "INSERT INTO {table} ({column}, user_id, permission) VALUES ($1, $2, $3)"
                    )))
                    .bind(id)
                    .bind(user_id)
                    .bind(permission.as_str())
                    .execute(&mut *conn)
                    .await?;
                }
                Ok(())
            })
        })
        .await
    }

    /// A user's grants on a target, their own and their roles', folded (`Permission::fold`);
    /// MANAGE for a workspace admin; `None` when there is none (or no such target).
    pub async fn grant_of(
        &self,
        target: &GrantTarget,
        user_id: i64,
    ) -> arca_core::Result<Option<Permission>> {
        self.read(async |conn| Ok(grant_in(conn, target, user_id).await?.flatten()))
            .await
    }

    /// A user's own grant on a model (`Some(None)` when there is none), or `None` when there is
    /// no such model: what a check needs that must refuse a missing model, not default it.
    pub async fn model_grant_of(
        &self,
        name: &str,
        user_id: i64,
    ) -> arca_core::Result<Option<Option<Permission>>> {
        let target = GrantTarget::Model(name.to_owned());
        self.read(async |conn| grant_in(conn, &target, user_id).await)
            .await
    }

    /// The experiment a run, a logged model or an experiment id belongs to, and the user's
    /// folded grant on it (as `grant_of`). `None` when there is no such resource.
    pub async fn experiment_grant_of(
        &self,
        owner: &ExperimentOwner,
        user_id: i64,
    ) -> arca_core::Result<Option<(i64, Option<Permission>)>> {
        self.read(async |conn| {
            let experiment: Option<i64> = match owner {
                ExperimentOwner::Experiment(id) => match id.parse::<i64>() {
                    Ok(id) => sqlx::query(
                        "SELECT experiment_id FROM experiments WHERE experiment_id = $1",
                    )
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?
                    .map(|r| r.try_get(0))
                    .transpose()?,
                    Err(_) => None,
                },
                ExperimentOwner::Name(name) => {
                    sqlx::query("SELECT experiment_id FROM experiments WHERE name = $1")
                        .bind(name.as_str())
                        .fetch_optional(&mut *conn)
                        .await?
                        .map(|r| r.try_get(0))
                        .transpose()?
                }
                ExperimentOwner::Run(id) => {
                    sqlx::query("SELECT experiment_id FROM runs WHERE run_uuid = $1")
                        .bind(id.as_str())
                        .fetch_optional(&mut *conn)
                        .await?
                        .map(|r| r.try_get(0))
                        .transpose()?
                }
                ExperimentOwner::LoggedModel(id) => {
                    sqlx::query("SELECT experiment_id FROM logged_models WHERE model_id = $1")
                        .bind(id.as_str())
                        .fetch_optional(&mut *conn)
                        .await?
                        .map(|r| r.try_get(0))
                        .transpose()?
                }
            };
            let Some(experiment) = experiment else {
                return Ok(None);
            };
            let grant = folded_grant(conn, EXPERIMENT_VIEW, experiment, user_id).await?;
            Ok(Some((experiment, grant)))
        })
        .await
    }

    /// Every user's grant on one model, by username.
    pub async fn model_grants(&self, name: &str) -> arca_core::Result<Vec<(String, Permission)>> {
        self.read(async |conn| {
            let rows = sqlx::query(
                "SELECT u.username, g.permission FROM model_grants g \
                 JOIN registered_models rm ON rm.id = g.model_id \
                 JOIN users u ON u.id = g.user_id WHERE rm.name = $1 ORDER BY u.username",
            )
            .bind(name)
            .fetch_all(&mut *conn)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok((
                        r.try_get::<String, _>(0)?,
                        Permission::parse(&r.try_get::<String, _>(1)?)?,
                    ))
                })
                .collect()
        })
        .await
    }

    /// Protects (or with `on = false` frees) a stage or alias of a model; `group` is the role
    /// whose members may move a version into it besides MANAGE holders (protecting again
    /// replaces the group).
    pub async fn set_protection(
        &self,
        name: &str,
        protected: &Protected,
        on: bool,
        group: Option<i64>,
    ) -> arca_core::Result<()> {
        let (name, protected) = (name.to_owned(), protected.clone());
        self.write(move |conn| {
            Box::pin(async move {
                let id = crate::models::lock_model(conn, &name).await?;
                let (kind, value) = protected.parts();
                sqlx::query(
                    "DELETE FROM model_protections WHERE model_id = $1 AND kind = $2 AND value = $3",
                )
                .bind(id)
                .bind(kind)
                .bind(value)
                .execute(&mut *conn)
                .await?;
                if on {
                    sqlx::query(
                        "INSERT INTO model_protections (model_id, kind, value, role_id) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(id)
                    .bind(kind)
                    .bind(value)
                    .bind(group)
                    .execute(&mut *conn)
                    .await?;
                }
                Ok(())
            })
        })
        .await
    }

    /// A model's protected stages and aliases, with their groups (none for a model that does
    /// not exist).
    pub async fn protections(&self, name: &str) -> arca_core::Result<Vec<Protection>> {
        self.read(async |conn| {
            let rows = sqlx::query(
                "SELECT p.kind, p.value, p.role_id, r.name FROM model_protections p \
                 JOIN registered_models rm ON rm.id = p.model_id \
                 LEFT JOIN roles r ON r.id = p.role_id WHERE rm.name = $1 \
                 ORDER BY p.kind DESC, p.value",
            )
            .bind(name)
            .fetch_all(&mut *conn)
            .await?;
            rows.iter()
                .map(|r| {
                    let kind: String = r.try_get(0)?;
                    let value: String = r.try_get(1)?;
                    let role_id: Option<i64> = r.try_get(2)?;
                    let role: Option<String> = r.try_get(3)?;
                    Ok(Protection {
                        what: if kind == "stage" {
                            Protected::Stage(value)
                        } else {
                            Protected::Alias(value)
                        },
                        group: role_id.zip(role),
                    })
                })
                .collect()
        })
        .await
    }
}

/// A protected stage or alias, and the role (id, name) whose members may also move into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protection {
    pub what: Protected,
    pub group: Option<(i64, String)>,
}

/// What owns a tracking resource's permission: the experiment, found from itself or a child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExperimentOwner {
    Experiment(String),
    /// By the experiment's name (`experiments/get-by-name`).
    Name(String),
    Run(String),
    LoggedModel(String),
}

/// A stage (canonical spelling) or an alias only a MANAGE holder (or the protection's group)
/// may move a version into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Protected {
    Stage(String),
    Alias(String),
}

impl Protected {
    fn parts(&self) -> (&'static str, &str) {
        match self {
            Protected::Stage(s) => ("stage", s),
            Protected::Alias(a) => ("alias", a),
        }
    }
}
