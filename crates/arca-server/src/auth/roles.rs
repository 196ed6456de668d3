//! MLflow's role endpoints (`/api/3.0/mlflow/roles/...`, `/users/roles/list`) as mlflow
//! 3.17's `get_app_client("basic-auth")` calls them: roles in a workspace, their grants on one
//! resource or on `*`, and who is assigned them. Requests, answers, messages and the order in
//! which fields are checked follow MLflow's handlers; `guard` has already decided who may call
//! (`rules.rs`: admins, and a workspace's admins for its roles).
//!
//! A grant may be on what Arca has: `experiment`, `registered_model`, `prompt`, and `workspace`
//! (USE, or MANAGE, which makes the role's users admins of its workspace). MLflow's other types
//! name resources Arca does not have (scorers, gateway, MCP servers) or sub-resource tiers it
//! does not resolve (runs, traces, versions...); they are refused, since a grant that is stored
//! but never enforced would report protection that does not exist.

use super::Caller;
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Mlflow, RequestMessage};
use arca_core::auth::Permission;
use arca_store::{Role, RoleAssignment, RolePermission};
use axum::extract::State;
use axum::routing::{delete, get, patch, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

pub fn routes() -> Router<AppState> {
    let mut router = Router::new();
    for base in ["/api", "/ajax-api"] {
        let at = |path: &str| format!("{base}/3.0/mlflow/{path}");
        router = router
            .route(&at("roles/create"), post(create_role))
            .route(&at("roles/get"), get(get_role))
            .route(&at("roles/list"), get(list_roles))
            .route(&at("roles/update"), patch(update_role))
            .route(&at("roles/delete"), delete(delete_role))
            .route(&at("roles/permissions/add"), post(add_permission))
            .route(&at("roles/permissions/remove"), delete(remove_permission))
            .route(&at("roles/permissions/list"), get(list_permissions))
            .route(&at("roles/permissions/update"), patch(update_permission))
            .route(&at("roles/assign"), post(assign_role))
            .route(&at("roles/unassign"), delete(unassign_role))
            .route(&at("roles/users/list"), get(list_role_users))
            .route(&at("users/roles/list"), get(list_user_roles));
    }
    router
}

/// MLflow's resource types, for its "Invalid resource type" message.
const MLFLOW_RESOURCE_TYPES: &[&str] = &[
    "assessment",
    "experiment",
    "gateway_endpoint",
    "gateway_model_definition",
    "gateway_secret",
    "logged_model",
    "mcp_server",
    "mcp_server_version",
    "prompt",
    "prompt_version",
    "registered_model",
    "registered_model_version",
    "review_queue",
    "run",
    "scorer",
    "scorer_version",
    "trace",
    "workspace",
];

/// The types whose grants Arca resolves.
const ARCA_RESOURCE_TYPES: &[&str] = &["experiment", "registered_model", "prompt", "workspace"];

/// MLflow's reserved prefix: its per-user grants live in roles named `__user_<id>__`.
const RESERVED_PREFIX: &str = "__user_";

/// Every field of the role messages, untyped: MLflow checks each field's type itself, with its
/// own messages, in its own order.
#[derive(Deserialize, Default)]
pub struct RoleFields {
    role_id: Option<Value>,
    role_permission_id: Option<Value>,
    name: Option<Value>,
    workspace: Option<Value>,
    description: Option<Value>,
    resource_type: Option<Value>,
    resource_pattern: Option<Value>,
    permission: Option<Value>,
    username: Option<Value>,
}
impl RequestMessage for RoleFields {
    const REPEATED: &'static [&'static str] = &["workspace"];
}

/// A field as MLflow's `_get_request_param` reads it: present (any JSON value) or missing.
fn param(value: Option<Value>, field: &str) -> ApiResult<Value> {
    value.ok_or_else(|| ApiError::missing(field))
}

/// Text as Python's `repr` shows it in MLflow's messages, near enough.
fn repr(value: &Value) -> String {
    match value {
        Value::String(s) => format!("'{s}'"),
        Value::Null => "None".to_owned(),
        other => other.to_string(),
    }
}

/// An integer field, as MLflow's `_coerce_int_param` takes it: a number, or text of one.
pub(crate) fn int_param(value: &Value, field: &str) -> ApiResult<i64> {
    let parsed = match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    parsed.ok_or_else(|| {
        ApiError::invalid(format!(
            "Parameter '{field}' must be an integer. Got: {}",
            repr(value)
        ))
    })
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn non_empty_text(value: Option<Value>, message: &str) -> ApiResult<String> {
    match value {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
        _ => Err(ApiError::invalid(message)),
    }
}

fn check_role_name(name: &str) -> ApiResult<()> {
    if name.starts_with(RESERVED_PREFIX) {
        return Err(ApiError::invalid(format!(
            "Role name '{name}' uses the reserved '__user_' prefix, which is held for the \
             per-user permission representation. Choose a different name."
        )));
    }
    // MLflow's columns hold 255 and 63 characters; longer is a database error there.
    if name.chars().count() > 255 {
        return Err(ApiError::invalid("A role name has at most 255 characters."));
    }
    Ok(())
}

fn check_description(description: &str) -> ApiResult<()> {
    if description.chars().count() > 1024 {
        return Err(ApiError::invalid(
            "A role description has at most 1024 characters.",
        ));
    }
    Ok(())
}

/// MLflow's checks of a grant's permission against its resource type, in MLflow's order, then
/// whether Arca resolves that type.
fn check_grant(permission: &str, resource_type: &str) -> ApiResult<()> {
    let level = Permission::parse(permission)?;
    if !MLFLOW_RESOURCE_TYPES.contains(&resource_type) {
        return Err(ApiError::invalid(format!(
            "Invalid resource type '{resource_type}'. Valid resource types are: ({})",
            MLFLOW_RESOURCE_TYPES
                .iter()
                .map(|t| format!("'{t}'"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    if !ARCA_RESOURCE_TYPES.contains(&resource_type) {
        return Err(ApiError::invalid(format!(
            "Arca does not keep grants on resource_type '{resource_type}': roles may grant on \
             experiment, registered_model, prompt and workspace."
        )));
    }
    if resource_type == "workspace" {
        if !matches!(level, Permission::Use | Permission::Manage) {
            return Err(ApiError::invalid(format!(
                "Invalid permission '{permission}' for resource_type='workspace'. \
                 Workspace-wide grants accept only: ('MANAGE', 'USE')."
            )));
        }
    } else if !level.grantable() {
        return Err(ApiError::invalid(format!(
            "Invalid permission '{permission}' for resource_type='{resource_type}'. \
             Resource-level grants accept only: ('DENY', 'EDIT', 'MANAGE', 'READ', 'USE')."
        )));
    }
    Ok(())
}

fn check_pattern(pattern: &str, resource_type: &str) -> ApiResult<()> {
    if resource_type == "workspace" && pattern != "*" {
        return Err(ApiError::invalid(format!(
            "Invalid resource_pattern '{pattern}' for resource_type='workspace'. This resource \
             type supports only wildcard ('*') grants."
        )));
    }
    if pattern.chars().count() > 255 {
        return Err(ApiError::invalid(
            "A resource_pattern has at most 255 characters.",
        ));
    }
    Ok(())
}

pub(crate) fn role_json(role: &Role) -> Value {
    json!({
        "id": role.id,
        "name": role.name,
        "workspace": role.workspace,
        "description": role.description,
        "permissions": role.permissions.iter().map(permission_json).collect::<Vec<_>>(),
    })
}

fn permission_json(p: &RolePermission) -> Value {
    json!({
        "id": p.id,
        "role_id": p.role_id,
        "resource_type": p.resource_type,
        "resource_pattern": p.resource_pattern,
        "permission": p.permission,
    })
}

fn assignment_json(a: &RoleAssignment) -> Value {
    json!({"id": a.id, "user_id": a.user_id, "role_id": a.role_id})
}

fn roles_json(roles: &[Role]) -> Json<Value> {
    Json(json!({"roles": roles.iter().map(role_json).collect::<Vec<_>>()}))
}

async fn create_role(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<RoleFields>,
) -> ApiResult<Json<Value>> {
    let name = param(req.name, "name")?;
    let workspace = param(req.workspace, "workspace")?;
    let name = non_empty_text(Some(name), "Role name cannot be empty.")?;
    let workspace = non_empty_text(Some(workspace), "Workspace cannot be empty.")?;
    let description = match req.description {
        None | Some(Value::Null) => None,
        Some(Value::String(d)) => Some(d),
        Some(_) => {
            return Err(ApiError::invalid(
                "Role description must be a string or null.",
            ));
        }
    };
    check_role_name(&name)?;
    if workspace.chars().count() > 63 {
        return Err(ApiError::invalid(
            "A workspace name has at most 63 characters.",
        ));
    }
    if let Some(d) = &description {
        check_description(d)?;
    }
    let role = app
        .metadata
        .create_role(&name, &workspace, description.as_deref())
        .await?;
    Ok(Json(json!({"role": role_json(&role)})))
}

async fn get_role(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<RoleFields>,
) -> ApiResult<Json<Value>> {
    let id = int_param(&param(req.role_id, "role_id")?, "role_id")?;
    let role = app.metadata.get_role(id).await?;
    Ok(Json(json!({"role": role_json(&role)})))
}

/// The `workspace` values of a request, one or repeated.
pub(crate) fn workspaces(value: Option<&Value>) -> Vec<Value> {
    match value {
        None => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(one) => vec![one.clone()],
    }
}

async fn list_roles(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<RoleFields>,
) -> ApiResult<Json<Value>> {
    let mut names = Vec::new();
    for w in workspaces(req.workspace.as_ref()) {
        match w {
            Value::String(s) if !s.trim().is_empty() => names.push(s),
            _ => {
                return Err(ApiError::invalid(
                    "Parameter 'workspace' must be a non-empty string when provided.",
                ));
            }
        }
    }
    let roles = if names.is_empty() {
        app.metadata.list_roles(None).await?
    } else {
        app.metadata.list_roles(Some(&names)).await?
    };
    Ok(roles_json(&roles))
}

async fn update_role(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<RoleFields>,
) -> ApiResult<Json<Value>> {
    let id = int_param(&param(req.role_id, "role_id")?, "role_id")?;
    let name = req.name.filter(|v| !v.is_null());
    let description = req.description.filter(|v| !v.is_null());
    if name.is_none() && description.is_none() {
        return Err(ApiError::invalid(
            "At least one of 'name' or 'description' must be provided to update a role.",
        ));
    }
    let name = match name {
        None => None,
        Some(v) => Some(non_empty_text(Some(v), "Role name cannot be empty.")?),
    };
    let description = match description {
        None => None,
        Some(Value::String(d)) => Some(d),
        Some(_) => return Err(ApiError::invalid("Role description must be a string.")),
    };
    if let Some(n) = &name {
        check_role_name(n)?;
    }
    if let Some(d) = &description {
        check_description(d)?;
    }
    let role = app
        .metadata
        .update_role(id, name.as_deref(), description.as_deref())
        .await?;
    Ok(Json(json!({"role": role_json(&role)})))
}

async fn delete_role(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<RoleFields>,
) -> ApiResult<Json<Value>> {
    let id = int_param(&param(req.role_id, "role_id")?, "role_id")?;
    app.metadata.delete_role(id).await?;
    Ok(Json(json!({})))
}

/// Whether a role may hold `permission` on `resource_type`/`resource_pattern`, with MLflow's
/// messages (also for `arca admin roles grant`).
pub fn check_role_grant(resource_type: &str, pattern: &str, permission: &str) -> ApiResult<()> {
    check_grant(permission, resource_type)?;
    check_pattern(pattern, resource_type)
}

async fn add_permission(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<RoleFields>,
) -> ApiResult<Json<Value>> {
    let role_id = int_param(&param(req.role_id, "role_id")?, "role_id")?;
    let kind = text(&param(req.resource_type, "resource_type")?);
    let pattern = text(&param(req.resource_pattern, "resource_pattern")?);
    let permission = text(&param(req.permission, "permission")?);
    check_role_grant(&kind, &pattern, &permission)?;
    let created = app
        .metadata
        .add_role_permission(role_id, &kind, &pattern, &permission)
        .await?;
    Ok(Json(json!({"role_permission": permission_json(&created)})))
}

async fn remove_permission(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<RoleFields>,
) -> ApiResult<Json<Value>> {
    let id = int_param(
        &param(req.role_permission_id, "role_permission_id")?,
        "role_permission_id",
    )?;
    app.metadata.remove_role_permission(id).await?;
    Ok(Json(json!({})))
}

async fn list_permissions(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<RoleFields>,
) -> ApiResult<Json<Value>> {
    let id = int_param(&param(req.role_id, "role_id")?, "role_id")?;
    let permissions = app.metadata.list_role_permissions(id).await?;
    Ok(Json(json!({
        "role_permissions": permissions.iter().map(permission_json).collect::<Vec<_>>()
    })))
}

async fn update_permission(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<RoleFields>,
) -> ApiResult<Json<Value>> {
    let id = int_param(
        &param(req.role_permission_id, "role_permission_id")?,
        "role_permission_id",
    )?;
    let permission = text(&param(req.permission, "permission")?);
    // As MLflow: the grant is found first, then the level is checked against its type.
    let existing = app.metadata.get_role_permission(id).await?;
    check_grant(&permission, &existing.resource_type)?;
    let updated = app.metadata.update_role_permission(id, &permission).await?;
    Ok(Json(json!({"role_permission": permission_json(&updated)})))
}

async fn assign_role(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<RoleFields>,
) -> ApiResult<Json<Value>> {
    let username = text(&param(req.username, "username")?);
    let role_id = int_param(&param(req.role_id, "role_id")?, "role_id")?;
    let user = app.metadata.get_user(&username).await?;
    let assignment = app.metadata.assign_role(user.id, role_id).await?;
    Ok(Json(json!({"assignment": assignment_json(&assignment)})))
}

async fn unassign_role(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<RoleFields>,
) -> ApiResult<Json<Value>> {
    let username = text(&param(req.username, "username")?);
    let role_id = int_param(&param(req.role_id, "role_id")?, "role_id")?;
    let user = app.metadata.get_user(&username).await?;
    app.metadata.unassign_role(user.id, role_id).await?;
    Ok(Json(json!({})))
}

async fn list_user_roles(
    State(app): State<AppState>,
    me: Option<Extension<Caller>>,
    Mlflow(req): Mlflow<RoleFields>,
) -> ApiResult<Json<Value>> {
    let username = text(&param(req.username, "username")?);
    let user = app.metadata.get_user(&username).await?;
    let mut roles = app.metadata.list_user_roles(user.id).await?;
    // A workspace admin who is neither the user nor an admin sees only the roles of the
    // workspaces they administer, as on MLflow.
    if let Some(Extension(Caller(me))) = me
        && !me.is_admin
        && me.username != username
    {
        let mine = app.metadata.workspace_admin_of(me.id).await?;
        roles.retain(|r| mine.contains(&r.workspace));
    }
    Ok(roles_json(&roles))
}

async fn list_role_users(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<RoleFields>,
) -> ApiResult<Json<Value>> {
    let id = int_param(&param(req.role_id, "role_id")?, "role_id")?;
    let assignments = app.metadata.list_role_users(id).await?;
    Ok(Json(json!({
        "assignments": assignments.iter().map(assignment_json).collect::<Vec<_>>()
    })))
}
