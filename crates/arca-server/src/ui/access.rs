//! Signing in and out, and the pages that decide who may do what: the admin's users page,
//! each user's API tokens, and a model's permissions (grants, protected stages and aliases).
//!
//! A session is a random secret in the `arca_session` cookie (HttpOnly, SameSite=Strict,
//! Secure with `--secure-cookies`); the store keeps only its SHA-256, so a leaked database holds
//! no usable session. The pages' forms go through `CsrfForm` like every other UI POST.

use super::page::{Ctx, OnPage, UiError, UiResult, render, see_other};
use super::security::CsrfForm;
use crate::AppState;
use crate::auth::{self, Caller, credentials};
use arca_core::auth::Permission;
use arca_store::{GrantTarget, Protected, TokenInfo, TokenKind};
use askama::Template;
use axum::Extension;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::net::SocketAddr;

/// How long a UI session lasts.
const SESSION_MILLIS: i64 = 12 * 3600 * 1000;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    ctx: Ctx,
    next: String,
    error: String,
}

#[derive(Deserialize, Default)]
pub(crate) struct NextParam {
    #[serde(default)]
    next: String,
}

/// Only a path of this site, so the login page cannot be used to send people elsewhere.
fn local_next(next: &str) -> &str {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next
    } else {
        "/models"
    }
}

pub(crate) async fn login_form(
    ctx: Ctx,
    State(app): State<AppState>,
    Query(params): Query<NextParam>,
) -> Response {
    if app.auth.is_none() {
        return see_other(&ctx.url("/models"));
    }
    render(&LoginPage {
        next: local_next(&params.next).to_owned(),
        ctx,
        error: String::new(),
    })
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    next: String,
}

pub(crate) async fn login(
    ctx: Ctx,
    State(app): State<AppState>,
    addr: Option<Extension<ConnectInfo<SocketAddr>>>,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> UiResult {
    let Some(auth) = app.auth.clone() else {
        return Ok(see_other(&ctx.url("/models")));
    };
    let next = local_next(&form.next).to_owned();
    let user = match auth::password_login(
        &app,
        &auth,
        form.username.trim(),
        &form.password,
        addr.map(|a| a.0.0.ip()),
    )
    .await
    {
        Ok(user) => user,
        Err(refusal) => {
            let status = refusal.status();
            let error = if status.as_u16() == 429 {
                "Too many failed attempts; wait a minute and try again."
            } else {
                "Wrong username or password."
            };
            let mut page = render(&LoginPage {
                ctx,
                next,
                error: error.to_owned(),
            });
            *page.status_mut() = status;
            return Ok(page);
        }
    };
    let secret = credentials::new_secret(auth::SESSION_PREFIX);
    app.metadata
        .create_token(
            user.id,
            TokenKind::Session,
            "",
            &credentials::secret_sha256(&secret),
            Some(arca_core::now_millis() + SESSION_MILLIS),
        )
        .await
        .on_page(&ctx)?;
    let mut response = see_other(&ctx.url(&next));
    set_session_cookie(&mut response, &ctx, &secret, auth.config.secure_cookies);
    Ok(response)
}

fn set_session_cookie(response: &mut Response, ctx: &Ctx, value: &str, secure: bool) {
    let path = if ctx.prefix.is_empty() {
        "/"
    } else {
        &ctx.prefix
    };
    let max_age = if value.is_empty() {
        0
    } else {
        SESSION_MILLIS / 1000
    };
    let cookie = format!(
        "{}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{}",
        auth::SESSION_COOKIE,
        if secure { "; Secure" } else { "" }
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

#[derive(Deserialize)]
pub(crate) struct EmptyForm {}

pub(crate) async fn logout(
    ctx: Ctx,
    State(app): State<AppState>,
    headers: axum::http::HeaderMap,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> UiResult {
    if let Some(secret) = super::session_cookie(&headers) {
        let hash = credentials::secret_sha256(secret);
        if let Ok(Some((token, _))) = app
            .metadata
            .find_token(TokenKind::Session, &hash, arca_core::now_millis())
            .await
        {
            app.metadata
                .delete_token(&token.id, None)
                .await
                .on_page(&ctx)?;
        }
    }
    let secure = app.auth.as_ref().is_some_and(|a| a.config.secure_cookies);
    let mut response = see_other(&ctx.url("/login"));
    set_session_cookie(&mut response, &ctx, "", secure);
    Ok(response)
}

struct TokenRow {
    id: String,
    username: String,
    name: String,
    created: String,
    expires: String,
    last_used: String,
}

fn token_rows(ctx: &Ctx, tokens: &[TokenInfo]) -> Vec<TokenRow> {
    tokens
        .iter()
        .map(|t| TokenRow {
            id: t.id.clone(),
            username: t.username.clone(),
            name: t.name.clone(),
            created: ctx.time(&t.creation_time),
            expires: t
                .expiry_time
                .map(|e| ctx.time(&e))
                .unwrap_or_else(|| "never".to_owned()),
            last_used: t
                .last_used_time
                .map(|e| ctx.time(&e))
                .unwrap_or_else(|| "never".to_owned()),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    ctx: Ctx,
    tokens: Vec<TokenRow>,
    /// A token just made: its secret, shown this once.
    secret: String,
}

pub(crate) async fn tokens_page(
    ctx: Ctx,
    State(app): State<AppState>,
    Extension(Caller(me)): Extension<Caller>,
) -> UiResult {
    let tokens = app.metadata.list_tokens(Some(me.id)).await.on_page(&ctx)?;
    Ok(render(&TokensPage {
        tokens: token_rows(&ctx, &tokens),
        ctx,
        secret: String::new(),
    }))
}

#[derive(Deserialize)]
pub(crate) struct TokenForm {
    action: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    expires_in_days: String,
    #[serde(default)]
    id: String,
}

pub(crate) async fn tokens_post(
    ctx: Ctx,
    State(app): State<AppState>,
    Extension(Caller(me)): Extension<Caller>,
    CsrfForm(form): CsrfForm<TokenForm>,
) -> UiResult {
    match form.action.as_str() {
        "create" => {
            let days = match form.expires_in_days.trim() {
                "" => None,
                d => Some(d.parse::<i64>().map_err(|_| {
                    UiError::invalid(&ctx, format!("“{d}” is not a number of days."))
                })?),
            };
            let (_, secret) = crate::auth::api::new_token(&app, &me, form.name.trim(), days)
                .await
                .on_page(&ctx)?;
            let tokens = app.metadata.list_tokens(Some(me.id)).await.on_page(&ctx)?;
            Ok(render(&TokensPage {
                tokens: token_rows(&ctx, &tokens),
                ctx,
                secret,
            }))
        }
        "revoke" => {
            app.metadata
                .delete_token(&form.id, Some(me.id))
                .await
                .on_page(&ctx)?;
            Ok(see_other(&ctx.url("/account/tokens")))
        }
        other => Err(UiError::invalid(&ctx, format!("Unknown action “{other}”."))),
    }
}

struct UserRow {
    username: String,
    admin: bool,
    created: String,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    ctx: Ctx,
    users: Vec<UserRow>,
    tokens: Vec<TokenRow>,
}

pub(crate) async fn users_page(ctx: Ctx, State(app): State<AppState>) -> UiResult {
    let users = app.metadata.list_users().await.on_page(&ctx)?;
    let tokens = app.metadata.list_tokens(None).await.on_page(&ctx)?;
    Ok(render(&UsersPage {
        users: users
            .iter()
            .map(|u| UserRow {
                username: u.username.clone(),
                admin: u.is_admin,
                created: ctx.time(&u.creation_time),
            })
            .collect(),
        tokens: token_rows(&ctx, &tokens),
        ctx,
    }))
}

#[derive(Deserialize)]
pub(crate) struct UserForm {
    action: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    admin: Option<String>,
    #[serde(default)]
    id: String,
}

pub(crate) async fn users_post(
    ctx: Ctx,
    State(app): State<AppState>,
    Extension(Caller(me)): Extension<Caller>,
    CsrfForm(form): CsrfForm<UserForm>,
) -> UiResult {
    let username = form.username.trim();
    match form.action.as_str() {
        "create" => {
            crate::auth::api::check_username(username).on_page(&ctx)?;
            crate::auth::api::check_password(&form.password).on_page(&ctx)?;
            let hash = crate::auth::api::hash(form.password).await.on_page(&ctx)?;
            app.metadata
                .create_user(username, &hash, form.admin.is_some())
                .await
                .on_page(&ctx)?;
        }
        "delete" if username == me.username => {
            return Err(UiError::invalid(
                &ctx,
                "You cannot delete your own account; ask another admin.",
            ));
        }
        "delete" => app.metadata.delete_user(username).await.on_page(&ctx)?,
        "revoke" => {
            app.metadata
                .delete_token(&form.id, None)
                .await
                .on_page(&ctx)?;
        }
        other => return Err(UiError::invalid(&ctx, format!("Unknown action “{other}”."))),
    }
    Ok(see_other(&ctx.url("/admin/users")))
}

#[derive(Template)]
#[template(path = "model_permissions.html")]
struct PermissionsPage {
    ctx: Ctx,
    name: String,
    url: String,
    grants: Vec<(String, &'static str)>,
    /// Each protected stage and alias with its group's role name ("" for none).
    stages: Vec<(String, String)>,
    aliases: Vec<(String, String)>,
    levels: Vec<&'static str>,
}

pub(crate) async fn model_permissions(
    ctx: Ctx,
    State(app): State<AppState>,
    Path(name): Path<String>,
) -> UiResult {
    let ctx = ctx.with_section("models");
    app.metadata
        .get_registered_model(&name)
        .await
        .on_page(&ctx)?;
    let grants = app.metadata.model_grants(&name).await.on_page(&ctx)?;
    let protections = app.metadata.protections(&name).await.on_page(&ctx)?;
    let (mut stages, mut aliases) = (Vec::new(), Vec::new());
    for p in protections {
        let group = p.group.map(|(_, role)| role).unwrap_or_default();
        match p.what {
            Protected::Stage(s) => stages.push((s, group)),
            Protected::Alias(a) => aliases.push((a, group)),
        }
    }
    Ok(render(&PermissionsPage {
        url: format!("{}/permissions", ctx.model_url(&name)),
        grants: grants.into_iter().map(|(u, p)| (u, p.as_str())).collect(),
        stages,
        aliases,
        levels: Permission::ALL
            .into_iter()
            .filter(|p| p.grantable())
            .map(Permission::as_str)
            .collect(),
        name,
        ctx,
    }))
}

#[derive(Deserialize)]
pub(crate) struct PermissionForm {
    action: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    permission: String,
    #[serde(default)]
    stage: String,
    #[serde(default)]
    alias: String,
    #[serde(default)]
    role: String,
}

pub(crate) async fn model_permissions_post(
    ctx: Ctx,
    State(app): State<AppState>,
    Path(name): Path<String>,
    CsrfForm(form): CsrfForm<PermissionForm>,
) -> UiResult {
    let target = GrantTarget::Model(name.clone());
    match form.action.as_str() {
        "grant" | "revoke" => {
            let user = app
                .metadata
                .get_user(form.username.trim())
                .await
                .on_page(&ctx)?;
            let permission = if form.action == "grant" {
                let p = Permission::parse(&form.permission).on_page(&ctx)?;
                if !p.grantable() {
                    return Err(UiError::invalid(&ctx, "Grant DENY to shut a user out."));
                }
                Some(p)
            } else {
                None
            };
            app.metadata
                .set_grant(&target, user.id, permission)
                .await
                .on_page(&ctx)?;
        }
        "protect" | "unprotect" => {
            let protected = crate::auth::api::protection_arg(
                Some(form.stage).filter(|s| !s.is_empty()),
                Some(form.alias).filter(|a| !a.is_empty()),
            )
            .on_page(&ctx)?;
            let group = if form.action == "protect" {
                crate::auth::api::protection_group(&app, Some(&form.role))
                    .await
                    .on_page(&ctx)?
            } else {
                None
            };
            app.metadata
                .set_protection(&name, &protected, form.action == "protect", group)
                .await
                .on_page(&ctx)?;
        }
        other => return Err(UiError::invalid(&ctx, format!("Unknown action “{other}”."))),
    }
    Ok(see_other(&format!("{}/permissions", ctx.model_url(&name))).into_response())
}
