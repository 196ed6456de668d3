//! MLflow's basic-auth REST endpoints as mlflow 3.17's `get_app_client("basic-auth")` calls
//! them (users; per-user grants on experiments, registered models and prompts), and Arca's own:
//! API tokens, protected stages and aliases, a model's grants. `guard` has already decided who
//! may call each one (`rules.rs`); these handlers only act.

use super::{Caller, credentials};
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Mlflow, RequestMessage, opt_bool, opt_int64};
use arca_core::auth::Permission;
use arca_core::model::{AliasName, Stage};
use arca_store::{GrantTarget, Protected, TokenInfo, TokenKind, User};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, patch, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

pub fn routes() -> Router<AppState> {
    let mut router = Router::new();
    for base in ["/api", "/ajax-api"] {
        router = router
            .route(
                &format!("{base}/2.0/mlflow/users/create"),
                post(create_user),
            )
            .route(&format!("{base}/2.0/mlflow/users/get"), get(get_user))
            .route(&format!("{base}/2.0/mlflow/users/list"), get(list_users))
            .route(
                &format!("{base}/2.0/mlflow/users/current"),
                get(current_user),
            )
            .route(
                &format!("{base}/2.0/mlflow/users/update-password"),
                patch(update_password),
            )
            .route(
                &format!("{base}/2.0/mlflow/users/update-admin"),
                patch(update_admin),
            )
            .route(
                &format!("{base}/2.0/mlflow/users/delete"),
                delete(delete_user),
            )
            .route(
                &format!("{base}/3.0/mlflow/users/permissions/grant"),
                post(grant_permission),
            )
            .route(
                &format!("{base}/3.0/mlflow/users/permissions/revoke"),
                post(revoke_permission),
            )
            .route(
                &format!("{base}/3.0/mlflow/users/permissions/get"),
                get(get_permission),
            )
            .route(
                &format!("{base}/2.0/arca/tokens/create"),
                post(create_token),
            )
            .route(&format!("{base}/2.0/arca/tokens/list"), get(list_tokens))
            .route(
                &format!("{base}/2.0/arca/tokens/revoke"),
                post(revoke_token),
            )
            .route(
                &format!("{base}/2.0/arca/registered-models/protections"),
                get(get_protections).post(set_protection),
            )
            .route(
                &format!("{base}/2.0/arca/registered-models/permissions"),
                get(model_permissions),
            );
    }
    router
}

/// The caller, present whenever `--auth` is on (`guard` inserts it).
fn caller(caller: Option<Extension<Caller>>) -> ApiResult<User> {
    caller.map(|Extension(Caller(u))| u).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            arca_core::ErrorCode::BadRequest,
            "Authentication is not enabled on this server; start it with --auth.",
        )
    })
}

fn user_json(u: &User) -> Value {
    json!({"id": u.id, "username": u.username, "is_admin": u.is_admin})
}

fn required(value: Option<String>, field: &str) -> ApiResult<String> {
    crate::api::required(value, field)
}

fn internal(e: anyhow::Error) -> ApiError {
    ApiError::from(arca_core::Error::Internal(e))
}

pub(crate) async fn hash(password: String) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || credentials::hash_password(&password))
        .await
        .map_err(|e| internal(e.into()))?
        .map_err(internal)
}

#[derive(Deserialize)]
pub struct UserFields {
    username: Option<String>,
    password: Option<String>,
    current_password: Option<String>,
    #[serde(default, deserialize_with = "opt_bool")]
    is_admin: Option<bool>,
}
impl RequestMessage for UserFields {}

async fn create_user(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<UserFields>,
) -> ApiResult<Json<Value>> {
    let username = required(req.username, "username")?;
    let password = required(req.password, "password")?;
    check_username(&username)?;
    check_password(&password)?;
    let user = app
        .metadata
        .create_user(&username, &hash(password).await?, false)
        .await?;
    Ok(Json(json!({ "user": user_json(&user) })))
}

/// MLflow's rule for passwords.
pub(crate) fn check_password(password: &str) -> ApiResult<()> {
    if password.chars().count() < 12 {
        return Err(ApiError::invalid(
            "Password must be at least 12 characters.",
        ));
    }
    Ok(())
}

/// Names travel in Basic credentials (`user:password`) and in URLs.
pub(crate) fn check_username(username: &str) -> ApiResult<()> {
    if username.len() > 256 || username.contains(':') || username.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            "A username may not contain ':' or control characters, and has at most 256 bytes.",
        ));
    }
    Ok(())
}

async fn get_user(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<UserFields>,
) -> ApiResult<Json<Value>> {
    let user = app
        .metadata
        .get_user(&required(req.username, "username")?)
        .await?;
    Ok(Json(json!({ "user": user_json(&user) })))
}

/// Every user with their roles; as on MLflow, a caller who is not an admin sees their own roles
/// and, of the others', those of the workspaces they administer.
async fn list_users(
    State(app): State<AppState>,
    me: Option<Extension<Caller>>,
) -> ApiResult<Json<Value>> {
    let me = me.map(|Extension(Caller(u))| u);
    let administered = match &me {
        Some(me) if !me.is_admin => Some(app.metadata.workspace_admin_of(me.id).await?),
        _ => None,
    };
    let users: Vec<Value> = app
        .metadata
        .users_with_roles()
        .await?
        .iter()
        .map(|(u, roles)| {
            let mut v = user_json(u);
            let own = me.as_ref().is_some_and(|me| me.id == u.id);
            v["roles"] = roles
                .iter()
                .filter(|r| {
                    own || administered
                        .as_ref()
                        .is_none_or(|mine| mine.contains(&r.workspace))
                })
                .map(super::roles::role_json)
                .collect();
            v
        })
        .collect();
    Ok(Json(json!({ "users": users })))
}

async fn current_user(me: Option<Extension<Caller>>) -> ApiResult<Json<Value>> {
    let me = caller(me)?;
    Ok(Json(json!({"user": user_json(&me), "is_basic_auth": true})))
}

async fn update_password(
    State(app): State<AppState>,
    me: Option<Extension<Caller>>,
    Mlflow(req): Mlflow<UserFields>,
) -> ApiResult<Json<Value>> {
    let me = caller(me)?;
    let username = required(req.username, "username")?;
    let password = required(req.password, "password")?;
    check_password(&password)?;
    // As MLflow: changing one's own password proves the current one, so a borrowed session
    // cannot take the account over.
    if username == me.username {
        let current = req.current_password.unwrap_or_default();
        if current.is_empty() {
            return Err(ApiError::invalid(
                "Current password is required when changing your own password.",
            ));
        }
        if !credentials::verify_password(&current, &me.password_hash) {
            return Err(ApiError::invalid("Current password does not match."));
        }
        if password == current {
            return Err(ApiError::invalid(
                "New password must differ from the current password.",
            ));
        }
    }
    app.metadata
        .set_user_password(&username, &hash(password).await?)
        .await?;
    Ok(Json(json!({})))
}

async fn update_admin(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<UserFields>,
) -> ApiResult<Json<Value>> {
    let username = required(req.username, "username")?;
    let is_admin = req.is_admin.ok_or_else(|| ApiError::missing("is_admin"))?;
    app.metadata.set_user_admin(&username, is_admin).await?;
    Ok(Json(json!({})))
}

async fn delete_user(
    State(app): State<AppState>,
    me: Option<Extension<Caller>>,
    Mlflow(req): Mlflow<UserFields>,
) -> ApiResult<Json<Value>> {
    let me = caller(me)?;
    let username = required(req.username, "username")?;
    if username == me.username {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            arca_core::ErrorCode::BadRequest,
            "Users cannot delete their own account. Ask another admin to delete this user \
             instead.",
        ));
    }
    app.metadata.delete_user(&username).await?;
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
pub struct GrantFields {
    username: Option<String>,
    resource_type: Option<String>,
    resource_id: Option<String>,
    permission: Option<String>,
}
impl RequestMessage for GrantFields {}

pub(crate) fn grant_target(resource_type: &str, resource_id: String) -> ApiResult<GrantTarget> {
    match resource_type {
        "experiment" => Ok(GrantTarget::Experiment(resource_id)),
        "registered_model" | "prompt" => Ok(GrantTarget::Model(resource_id)),
        other => Err(ApiError::invalid(format!(
            "Unsupported resource_type '{other}': Arca keeps grants on experiment, \
             registered_model and prompt."
        ))),
    }
}

/// The user and the resource a grant request names (checked in MLflow's order: username,
/// resource_type, resource_id), with the resource type as sent, for messages.
async fn grant_subject(
    app: &AppState,
    username: Option<String>,
    resource_type: Option<String>,
    resource_id: Option<String>,
) -> ApiResult<(User, String, GrantTarget)> {
    let user = app
        .metadata
        .get_user(&required(username, "username")?)
        .await?;
    let kind = required(resource_type, "resource_type")?;
    let target = grant_target(&kind, required(resource_id, "resource_id")?)?;
    Ok((user, kind, target))
}

async fn grant_permission(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<GrantFields>,
) -> ApiResult<Json<Value>> {
    let (user, kind, target) =
        grant_subject(&app, req.username, req.resource_type, req.resource_id).await?;
    let permission = Permission::parse(&required(req.permission, "permission")?)?;
    if !permission.grantable() {
        return Err(ApiError::invalid(format!(
            "Invalid permission '{permission}' for resource_type='{kind}'. Resource-level grants \
             accept only: ('DENY', 'EDIT', 'MANAGE', 'READ', 'USE')."
        )));
    }
    app.metadata
        .set_grant(&target, user.id, Some(permission))
        .await?;
    Ok(Json(json!({})))
}

async fn revoke_permission(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<GrantFields>,
) -> ApiResult<Json<Value>> {
    let (user, _, target) =
        grant_subject(&app, req.username, req.resource_type, req.resource_id).await?;
    app.metadata.set_grant(&target, user.id, None).await?;
    Ok(Json(json!({})))
}

async fn get_permission(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<GrantFields>,
) -> ApiResult<Json<Value>> {
    let (user, _, target) =
        grant_subject(&app, req.username, req.resource_type, req.resource_id).await?;
    let default = app
        .auth
        .as_ref()
        .map(|a| a.config.default_permission)
        .unwrap_or(Permission::Manage);
    let permission = if user.is_admin {
        Permission::Manage
    } else {
        Permission::effective(app.metadata.grant_of(&target, user.id).await?, default)
    };
    Ok(Json(json!({
        "allowed": permission >= Permission::Use,
        "permission": permission.as_str(),
    })))
}

fn token_json(t: &TokenInfo) -> Value {
    json!({
        "id": t.id,
        "username": t.username,
        "name": t.name,
        "creation_time": t.creation_time,
        "expiry_time": t.expiry_time,
        "last_used_time": t.last_used_time,
    })
}

#[derive(Deserialize)]
pub struct TokenFields {
    id: Option<String>,
    name: Option<String>,
    #[serde(default, deserialize_with = "opt_int64")]
    expires_in_days: Option<i64>,
    #[serde(default, deserialize_with = "opt_bool")]
    all: Option<bool>,
}
impl RequestMessage for TokenFields {}

/// Makes an API token for the caller; the secret is in this answer only.
pub(crate) async fn new_token(
    app: &AppState,
    user: &User,
    name: &str,
    expires_in_days: Option<i64>,
) -> ApiResult<(TokenInfo, String)> {
    let expiry = match expires_in_days {
        None => None,
        Some(days @ 1..=3650) => Some(arca_core::now_millis() + days * 86_400_000),
        Some(days) => {
            return Err(ApiError::invalid(format!(
                "Invalid expires_in_days {days}: it must be between 1 and 3650, or left out for \
                 a token that does not expire."
            )));
        }
    };
    if name.len() > 200 {
        return Err(ApiError::invalid("A token name has at most 200 bytes."));
    }
    let secret = credentials::new_secret(super::TOKEN_PREFIX);
    let token = app
        .metadata
        .create_token(
            user.id,
            TokenKind::Api,
            name,
            &credentials::secret_sha256(&secret),
            expiry,
        )
        .await?;
    Ok((token, secret))
}

async fn create_token(
    State(app): State<AppState>,
    me: Option<Extension<Caller>>,
    Mlflow(req): Mlflow<TokenFields>,
) -> ApiResult<Json<Value>> {
    let me = caller(me)?;
    let (token, secret) = new_token(
        &app,
        &me,
        req.name.as_deref().unwrap_or(""),
        req.expires_in_days,
    )
    .await?;
    Ok(Json(json!({"token": token_json(&token), "secret": secret})))
}

async fn list_tokens(
    State(app): State<AppState>,
    me: Option<Extension<Caller>>,
    Mlflow(req): Mlflow<TokenFields>,
) -> ApiResult<Json<Value>> {
    let me = caller(me)?;
    let everyone = req.all.unwrap_or(false);
    if everyone && !me.is_admin {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            arca_core::ErrorCode::PermissionDenied,
            "Only an admin may list everyone's tokens.",
        ));
    }
    let tokens = app
        .metadata
        .list_tokens((!everyone).then_some(me.id))
        .await?;
    Ok(Json(
        json!({"tokens": tokens.iter().map(token_json).collect::<Vec<_>>()}),
    ))
}

async fn revoke_token(
    State(app): State<AppState>,
    me: Option<Extension<Caller>>,
    Mlflow(req): Mlflow<TokenFields>,
) -> ApiResult<Json<Value>> {
    let me = caller(me)?;
    let id = required(req.id, "id")?;
    let owner = (!me.is_admin).then_some(me.id);
    if !app.metadata.delete_token(&id, owner).await? {
        return Err(arca_core::Error::not_found(format!("No API token with id={id}")).into());
    }
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
pub struct ProtectionFields {
    name: Option<String>,
    stage: Option<String>,
    alias: Option<String>,
    /// The group: a role of the default workspace whose members may move into it too.
    role: Option<String>,
    #[serde(default, deserialize_with = "opt_bool")]
    protected: Option<bool>,
}
impl RequestMessage for ProtectionFields {}

async fn get_protections(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<ProtectionFields>,
) -> ApiResult<Json<Value>> {
    let name = required(req.name, "name")?;
    app.metadata.get_registered_model(&name).await?;
    let protections = app.metadata.protections(&name).await?;
    let pick = |stage: bool| -> Vec<&str> {
        protections
            .iter()
            .filter_map(|p| match (&p.what, stage) {
                (Protected::Stage(s), true) | (Protected::Alias(s), false) => Some(s.as_str()),
                _ => None,
            })
            .collect()
    };
    let each: Vec<Value> = protections
        .iter()
        .map(|p| {
            let mut v = match &p.what {
                Protected::Stage(s) => json!({"stage": s}),
                Protected::Alias(a) => json!({"alias": a}),
            };
            if let Some((_, role)) = &p.group {
                v["role"] = json!(role);
            }
            v
        })
        .collect();
    Ok(Json(
        json!({"stages": pick(true), "aliases": pick(false), "protections": each}),
    ))
}

pub(crate) fn protection_arg(stage: Option<String>, alias: Option<String>) -> ApiResult<Protected> {
    match (
        stage.filter(|s| !s.is_empty()),
        alias.filter(|a| !a.is_empty()),
    ) {
        (Some(stage), None) => {
            let stage = Stage::parse(&stage)?;
            Ok(Protected::Stage(stage.as_str().to_owned()))
        }
        (None, Some(alias)) => Ok(Protected::Alias(
            AliasName::parse(alias.trim())?.as_str().to_owned(),
        )),
        _ => Err(ApiError::invalid("Name exactly one of: stage, alias.")),
    }
}

async fn set_protection(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<ProtectionFields>,
) -> ApiResult<Json<Value>> {
    let name = required(req.name, "name")?;
    let protected = protection_arg(req.stage, req.alias)?;
    let group = protection_group(&app, req.role.as_deref()).await?;
    app.metadata
        .set_protection(&name, &protected, req.protected.unwrap_or(true), group)
        .await?;
    Ok(Json(json!({})))
}

/// The role a protection names as its group, by name in the default workspace.
pub(crate) async fn protection_group(app: &AppState, role: Option<&str>) -> ApiResult<Option<i64>> {
    match role.map(str::trim).filter(|r| !r.is_empty()) {
        None => Ok(None),
        Some(name) => Ok(Some(app.metadata.get_role_by_name(name).await?.id)),
    }
}

async fn model_permissions(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<ProtectionFields>,
) -> ApiResult<Json<Value>> {
    let name = required(req.name, "name")?;
    app.metadata.get_registered_model(&name).await?;
    let grants = app.metadata.model_grants(&name).await?;
    Ok(Json(json!({
        "permissions": grants
            .iter()
            .map(|(u, p)| json!({"username": u, "permission": p.as_str()}))
            .collect::<Vec<_>>()
    })))
}
