//! Roles, as MLflow 3.17's basic-auth app keeps them: a named set of grants in a workspace, each
//! grant on one resource or on every resource of a type (`*`), and the users assigned to it.
//! The store keeps them and answers the membership questions the server's checks ask; which
//! resource types and permissions a grant may have is the server's to check before it calls.
//!
//! A user's effective grant on a model or experiment, their own and their roles' together, is
//! read through the `model_user_grants` and `experiment_user_grants` views (migration 0009),
//! by point checks and search filters alike.

use crate::MetadataStore;
use crate::error::{Result, StoreError};
use crate::sql::{Bind, SqlBuilder};
use arca_core::Error;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};
use std::collections::BTreeSet;

/// The one workspace whose roles grant anything: Arca has no workspaces, and MLflow with
/// workspaces off resolves every grant in its default workspace.
pub const DEFAULT_WORKSPACE: &str = "default";

/// A role with its grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub id: i64,
    pub name: String,
    pub workspace: String,
    pub description: Option<String>,
    pub permissions: Vec<RolePermission>,
}

/// One grant of a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolePermission {
    pub id: i64,
    pub role_id: i64,
    pub resource_type: String,
    pub resource_pattern: String,
    pub permission: String,
}

/// A user's assignment to a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleAssignment {
    pub id: i64,
    pub user_id: i64,
    pub role_id: i64,
}

/// How a request names the role it acts on, for finding the role's workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleRef {
    Role(i64),
    Permission(i64),
}

/// The rows, up to the user they are about, that make that user a workspace admin: whether that user holds MANAGE on the whole
/// default workspace through a role, which MLflow treats as MANAGE on every resource in it (a
/// "workspace admin"), DENY grants notwithstanding.
const WORKSPACE_ADMIN_UP_TO_USER: &str = "FROM user_roles wa_ur \
     JOIN roles wa_r ON wa_r.id = wa_ur.role_id \
     JOIN role_permissions wa_rp ON wa_rp.role_id = wa_r.id \
     WHERE wa_r.workspace = 'default' AND wa_rp.resource_type = 'workspace' \
     AND wa_rp.resource_pattern = '*' AND wa_rp.permission = 'MANAGE' AND wa_ur.user_id = ";

pub(crate) fn push_workspace_admin(q: &mut SqlBuilder, user_id: i64) {
    q.push("EXISTS (SELECT 1 ")
        .push(WORKSPACE_ADMIN_UP_TO_USER)
        .bind_int(user_id)
        .push(")");
}

/// Whether the user is a workspace admin of the default workspace.
pub(crate) async fn is_workspace_admin(conn: &mut AnyConnection, user_id: i64) -> Result<bool> {
    let mut q = SqlBuilder::new("SELECT COUNT(*) ");
    q.push(WORKSPACE_ADMIN_UP_TO_USER).bind_int(user_id);
    Ok(q.query()
        .fetch_one(&mut *conn)
        .await?
        .try_get::<i64, _>(0)?
        > 0)
}

pub(crate) fn role_not_found(id: i64) -> Error {
    Error::not_found(format!("Role with id={id} not found"))
}

fn permission_not_found(id: i64) -> Error {
    Error::not_found(format!("Role permission with id={id} not found"))
}

const ROLE_COLUMNS: &str = "id, name, workspace, description";
const PERMISSION_COLUMNS: &str = "id, role_id, resource_type, resource_pattern, permission";

fn permission_from_row(row: &AnyRow) -> Result<RolePermission> {
    Ok(RolePermission {
        id: row.try_get("id")?,
        role_id: row.try_get("role_id")?,
        resource_type: row.try_get("resource_type")?,
        resource_pattern: row.try_get("resource_pattern")?,
        permission: row.try_get("permission")?,
    })
}

fn assignment_from_row(row: &AnyRow) -> Result<RoleAssignment> {
    Ok(RoleAssignment {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        role_id: row.try_get("role_id")?,
    })
}

/// Roles from `q` (which selects `ROLE_COLUMNS`), each with its grants.
async fn roles_from(conn: &mut AnyConnection, q: &SqlBuilder) -> Result<Vec<Role>> {
    let rows = q.query().fetch_all(&mut *conn).await?;
    let mut roles = Vec::with_capacity(rows.len());
    for row in &rows {
        roles.push(Role {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            workspace: row.try_get("workspace")?,
            description: row.try_get("description")?,
            permissions: Vec::new(),
        });
    }
    for role in &mut roles {
        role.permissions = permissions_of(conn, role.id).await?;
    }
    Ok(roles)
}

async fn permissions_of(conn: &mut AnyConnection, role_id: i64) -> Result<Vec<RolePermission>> {
    sqlx::query(AssertSqlSafe(format!(
        "SELECT {PERMISSION_COLUMNS} FROM role_permissions WHERE role_id = $1 ORDER BY id"
    )))
    .bind(role_id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(permission_from_row)
    .collect()
}

async fn role_in(conn: &mut AnyConnection, id: i64) -> Result<Role> {
    roles_from(
        conn,
        SqlBuilder::new(&format!("SELECT {ROLE_COLUMNS} FROM roles WHERE id = ")).bind_int(id),
    )
    .await?
    .pop()
    .ok_or_else(|| StoreError::from(role_not_found(id)))
}

async fn permission_in(conn: &mut AnyConnection, id: i64) -> Result<RolePermission> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {PERMISSION_COLUMNS} FROM role_permissions WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StoreError::from(permission_not_found(id)))?;
    permission_from_row(&row)
}

fn role_exists_error(name: &str, workspace: &str) -> StoreError {
    StoreError::from(Error::AlreadyExists(format!(
        "Role (name={name}, workspace={workspace}) already exists."
    )))
}

/// Workspaces where the user is assigned a role.
async fn assigned_workspaces(conn: &mut AnyConnection, user_id: i64) -> Result<BTreeSet<String>> {
    sqlx::query(
        "SELECT DISTINCT r.workspace FROM user_roles ur JOIN roles r ON r.id = ur.role_id \
         WHERE ur.user_id = $1",
    )
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| Ok(r.try_get::<String, _>(0)?))
    .collect()
}

impl MetadataStore {
    pub async fn create_role(
        &self,
        name: &str,
        workspace: &str,
        description: Option<&str>,
    ) -> arca_core::Result<Role> {
        let (name, workspace) = (name.to_owned(), workspace.to_owned());
        let description = description.map(str::to_owned);
        self.write(move |conn| {
            Box::pin(async move {
                let row = sqlx::query(
                    "INSERT INTO roles (name, workspace, description) VALUES ($1, $2, $3) \
                     RETURNING id",
                )
                .bind(name.as_str())
                .bind(workspace.as_str())
                .bind(description.as_deref())
                .fetch_one(&mut *conn)
                .await
                .map_err(|e| match &e {
                    sqlx::Error::Database(d) if d.is_unique_violation() => {
                        role_exists_error(&name, &workspace)
                    }
                    _ => e.into(),
                })?;
                role_in(conn, row.try_get(0)?).await
            })
        })
        .await
    }

    pub async fn get_role(&self, id: i64) -> arca_core::Result<Role> {
        self.read(async |conn| role_in(conn, id).await).await
    }

    /// A role of the default workspace, by name.
    pub async fn get_role_by_name(&self, name: &str) -> arca_core::Result<Role> {
        self.read(async |conn| {
            roles_from(
                conn,
                SqlBuilder::new(&format!(
                    "SELECT {ROLE_COLUMNS} FROM roles WHERE workspace = "
                ))
                .bind_text(DEFAULT_WORKSPACE)
                .push(" AND name = ")
                .bind_text(name),
            )
            .await?
            .pop()
            .ok_or_else(|| {
                StoreError::from(Error::not_found(format!(
                    "Role with name={name} in workspace={DEFAULT_WORKSPACE} not found"
                )))
            })
        })
        .await
    }

    /// Every role, or those of the given workspaces, in the order they were made.
    pub async fn list_roles(&self, workspaces: Option<&[String]>) -> arca_core::Result<Vec<Role>> {
        self.read(async |conn| match workspaces {
            None => {
                roles_from(
                    conn,
                    &SqlBuilder::new(&format!("SELECT {ROLE_COLUMNS} FROM roles ORDER BY id")),
                )
                .await
            }
            Some([]) => Ok(Vec::new()),
            Some(names) => {
                let mut q = SqlBuilder::new(&format!(
                    "SELECT {ROLE_COLUMNS} FROM roles WHERE workspace IN "
                ));
                q.bind_list(names.iter().map(|n| Bind::Text(n.clone())));
                q.push(" ORDER BY id");
                roles_from(conn, &q).await
            }
        })
        .await
    }

    /// Renames a role and/or sets its description.
    pub async fn update_role(
        &self,
        id: i64,
        name: Option<&str>,
        description: Option<&str>,
    ) -> arca_core::Result<Role> {
        let name = name.map(str::to_owned);
        let description = description.map(str::to_owned);
        self.write(move |conn| {
            Box::pin(async move {
                let role = role_in(conn, id).await?;
                if let Some(name) = &name {
                    sqlx::query("UPDATE roles SET name = $2 WHERE id = $1")
                        .bind(id)
                        .bind(name.as_str())
                        .execute(&mut *conn)
                        .await
                        .map_err(|e| match &e {
                            sqlx::Error::Database(d) if d.is_unique_violation() => {
                                StoreError::from(Error::AlreadyExists(format!(
                                    "Role with name={name} already exists in workspace={}",
                                    role.workspace
                                )))
                            }
                            _ => e.into(),
                        })?;
                }
                if let Some(description) = &description {
                    sqlx::query("UPDATE roles SET description = $2 WHERE id = $1")
                        .bind(id)
                        .bind(description.as_str())
                        .execute(&mut *conn)
                        .await?;
                }
                role_in(conn, id).await
            })
        })
        .await
    }

    /// Deletes a role with its grants and assignments; protections that named it as their
    /// group stay, open to MANAGE only.
    pub async fn delete_role(&self, id: i64) -> arca_core::Result<()> {
        self.write(move |conn| {
            Box::pin(async move {
                role_in(conn, id).await?;
                // Spelled out rather than left to ON DELETE, which SQLite applies only with
                // its foreign-key checks on.
                sqlx::query("UPDATE model_protections SET role_id = NULL WHERE role_id = $1")
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
                for sql in [
                    "DELETE FROM role_permissions WHERE role_id = $1",
                    "DELETE FROM user_roles WHERE role_id = $1",
                    "DELETE FROM roles WHERE id = $1",
                ] {
                    sqlx::query(sql).bind(id).execute(&mut *conn).await?;
                }
                Ok(())
            })
        })
        .await
    }

    pub async fn add_role_permission(
        &self,
        role_id: i64,
        resource_type: &str,
        resource_pattern: &str,
        permission: &str,
    ) -> arca_core::Result<RolePermission> {
        let (kind, pattern, permission) = (
            resource_type.to_owned(),
            resource_pattern.to_owned(),
            permission.to_owned(),
        );
        self.write(move |conn| {
            Box::pin(async move {
                role_in(conn, role_id).await?;
                let row = sqlx::query(
                    "INSERT INTO role_permissions (role_id, resource_type, resource_pattern, \
                     permission) VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .bind(role_id)
                .bind(kind.as_str())
                .bind(pattern.as_str())
                .bind(permission.as_str())
                .fetch_one(&mut *conn)
                .await
                .map_err(|e| match &e {
                    sqlx::Error::Database(d) if d.is_unique_violation() => {
                        StoreError::from(Error::AlreadyExists(format!(
                            "Role permission (role_id={role_id}, resource_type={kind}, \
                             resource_pattern={pattern}) already exists."
                        )))
                    }
                    _ => e.into(),
                })?;
                permission_in(conn, row.try_get(0)?).await
            })
        })
        .await
    }

    pub async fn get_role_permission(&self, id: i64) -> arca_core::Result<RolePermission> {
        self.read(async |conn| permission_in(conn, id).await).await
    }

    pub async fn remove_role_permission(&self, id: i64) -> arca_core::Result<()> {
        self.write(move |conn| {
            Box::pin(async move {
                permission_in(conn, id).await?;
                sqlx::query("DELETE FROM role_permissions WHERE id = $1")
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            })
        })
        .await
    }

    pub async fn list_role_permissions(
        &self,
        role_id: i64,
    ) -> arca_core::Result<Vec<RolePermission>> {
        self.read(async |conn| Ok(role_in(conn, role_id).await?.permissions))
            .await
    }

    pub async fn update_role_permission(
        &self,
        id: i64,
        permission: &str,
    ) -> arca_core::Result<RolePermission> {
        let permission = permission.to_owned();
        self.write(move |conn| {
            Box::pin(async move {
                permission_in(conn, id).await?;
                sqlx::query("UPDATE role_permissions SET permission = $2 WHERE id = $1")
                    .bind(id)
                    .bind(permission.as_str())
                    .execute(&mut *conn)
                    .await?;
                permission_in(conn, id).await
            })
        })
        .await
    }

    pub async fn assign_role(
        &self,
        user_id: i64,
        role_id: i64,
    ) -> arca_core::Result<RoleAssignment> {
        self.write(move |conn| {
            Box::pin(async move {
                role_in(conn, role_id).await?;
                let row = sqlx::query(
                    "INSERT INTO user_roles (user_id, role_id) VALUES ($1, $2) \
                     RETURNING id, user_id, role_id",
                )
                .bind(user_id)
                .bind(role_id)
                .fetch_one(&mut *conn)
                .await
                .map_err(|e| match &e {
                    sqlx::Error::Database(d) if d.is_unique_violation() => {
                        StoreError::from(Error::AlreadyExists(format!(
                            "User role assignment (user_id={user_id}, role_id={role_id}) already \
                             exists"
                        )))
                    }
                    _ => e.into(),
                })?;
                assignment_from_row(&row)
            })
        })
        .await
    }

    pub async fn unassign_role(&self, user_id: i64, role_id: i64) -> arca_core::Result<()> {
        self.write(move |conn| {
            Box::pin(async move {
                let done =
                    sqlx::query("DELETE FROM user_roles WHERE user_id = $1 AND role_id = $2")
                        .bind(user_id)
                        .bind(role_id)
                        .execute(&mut *conn)
                        .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::from(Error::not_found(format!(
                        "User role assignment (user_id={user_id}, role_id={role_id}) not found"
                    ))));
                }
                Ok(())
            })
        })
        .await
    }

    /// The roles a user is assigned, in the order they were made.
    pub async fn list_user_roles(&self, user_id: i64) -> arca_core::Result<Vec<Role>> {
        self.read(async |conn| {
            roles_from(
                conn,
                SqlBuilder::new(
                    "SELECT r.id, r.name, r.workspace, r.description FROM roles r \
                     JOIN user_roles ur ON ur.role_id = r.id WHERE ur.user_id = ",
                )
                .bind_int(user_id)
                .push(" ORDER BY r.id"),
            )
            .await
        })
        .await
    }

    pub async fn list_role_users(&self, role_id: i64) -> arca_core::Result<Vec<RoleAssignment>> {
        self.read(async |conn| {
            role_in(conn, role_id).await?;
            sqlx::query(
                "SELECT id, user_id, role_id FROM user_roles WHERE role_id = $1 ORDER BY id",
            )
            .bind(role_id)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(assignment_from_row)
            .collect()
        })
        .await
    }

    /// The workspace of the role a request names; `None` when there is no such role (or
    /// grant), which the permission check treats as "not allowed" rather than telling a
    /// non-admin whether it exists.
    pub async fn role_workspace(&self, role: &RoleRef) -> arca_core::Result<Option<String>> {
        self.read(async |conn| {
            let row = match role {
                RoleRef::Role(id) => {
                    sqlx::query("SELECT workspace FROM roles WHERE id = $1")
                        .bind(*id)
                        .fetch_optional(&mut *conn)
                        .await?
                }
                RoleRef::Permission(id) => {
                    sqlx::query(
                        "SELECT r.workspace FROM role_permissions rp \
                         JOIN roles r ON r.id = rp.role_id WHERE rp.id = $1",
                    )
                    .bind(*id)
                    .fetch_optional(&mut *conn)
                    .await?
                }
            };
            Ok(row.map(|r| r.try_get::<String, _>(0)).transpose()?)
        })
        .await
    }

    /// Workspaces where the user is an admin: assigned a role that holds MANAGE on `*` of type
    /// `workspace` there.
    pub async fn workspace_admin_of(&self, user_id: i64) -> arca_core::Result<BTreeSet<String>> {
        self.read(async |conn| {
            sqlx::query(
                "SELECT DISTINCT r.workspace FROM user_roles ur JOIN roles r ON r.id = ur.role_id \
                 JOIN role_permissions rp ON rp.role_id = r.id WHERE ur.user_id = $1 \
                 AND rp.resource_type = 'workspace' AND rp.resource_pattern = '*' \
                 AND rp.permission = 'MANAGE'",
            )
            .bind(user_id)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| Ok(r.try_get::<String, _>(0)?))
            .collect()
        })
        .await
    }

    /// Workspaces where the user has a presence: a role assigned there, and the default
    /// workspace when they hold a grant of their own (MLflow keeps those in a per-user role of
    /// the default workspace, so such a user is present there).
    pub async fn present_workspaces(&self, user_id: i64) -> arca_core::Result<BTreeSet<String>> {
        self.read(async |conn| {
            let mut found = assigned_workspaces(conn, user_id).await?;
            let own = sqlx::query(
                "SELECT 1 FROM model_grants WHERE user_id = $1 \
                 UNION ALL SELECT 1 FROM experiment_grants WHERE user_id = $1",
            )
            .bind(user_id)
            .fetch_optional(&mut *conn)
            .await?;
            if own.is_some() {
                found.insert(DEFAULT_WORKSPACE.to_owned());
            }
            Ok(found)
        })
        .await
    }

    /// Whether the user is assigned the role.
    pub async fn is_role_member(&self, user_id: i64, role_id: i64) -> arca_core::Result<bool> {
        self.read(async |conn| {
            Ok(
                sqlx::query("SELECT 1 FROM user_roles WHERE user_id = $1 AND role_id = $2")
                    .bind(user_id)
                    .bind(role_id)
                    .fetch_optional(&mut *conn)
                    .await?
                    .is_some(),
            )
        })
        .await
    }

    /// Every user with the roles they are assigned, by username.
    pub async fn users_with_roles(&self) -> arca_core::Result<Vec<(crate::auth::User, Vec<Role>)>> {
        let users = self.list_users().await?;
        let mut out = Vec::with_capacity(users.len());
        for user in users {
            let roles = self.list_user_roles(user.id).await?;
            out.push((user, roles));
        }
        Ok(out)
    }
}
