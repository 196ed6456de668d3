//! Who may do what. One middleware, `guard`, wraps every route the router serves: it finds the
//! route's rule in `rules::RULES` (a route without one is refused, with or without `--auth`),
//! and with `--auth` it authenticates the caller (Basic, Bearer token, or the UI's session
//! cookie), checks the rule against the caller's grants, inserts [`Identity`] for the handlers
//! and the history. The creator's MANAGE on a new experiment or model is written by the store
//! in the create's own transaction (`create_*_by`), from the [`Caller`] the guard inserted.
//!
//! The resource a rule names is read from the request by the same parser the handlers use
//! (`extract::message_fields`), so the check and the action cannot disagree on which
//! experiment, run or model a request is about: that disagreement, and routes outside the
//! check, are where MLflow's auth CVEs came from.

pub mod api;
pub mod credentials;
pub mod roles;
pub mod rules;

use crate::AppState;
use crate::error::ApiError;
use arca_core::ErrorCode;
use arca_core::auth::Permission;
use arca_store::{
    ExperimentOwner, GrantTarget, Protected, Protection, ReadScope, RoleRef, TokenKind, User,
};
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use rules::{Locate, Need};
use serde_json::{Value, json};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// The authenticated caller, for handlers and the history's actor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
}

/// The caller's user row, as read for this request.
#[derive(Debug, Clone)]
pub struct Caller(pub User);

impl Caller {
    /// The user a create makes the owner (MANAGE) of; none without `--auth`.
    pub fn id_of(caller: Option<&Caller>) -> Option<i64> {
        caller.map(|Caller(user)| user.id)
    }
}

/// `arca server --auth` settings.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// What a user may do on a resource without a grant of their own (MLflow's
    /// `default_permission`, READ unless configured).
    pub default_permission: Permission,
    /// Mark the session cookie `Secure` (the server is reached over TLS).
    pub secure_cookies: bool,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            default_permission: Permission::Read,
            secure_cookies: false,
        }
    }
}

/// Authentication state shared by every request.
pub struct Auth {
    pub config: AuthConfig,
    pub verified: credentials::VerifiedPasswords,
    pub limiter: credentials::LoginLimiter,
}

impl Auth {
    pub fn new(config: AuthConfig) -> Arc<Auth> {
        Arc::new(Auth {
            config,
            verified: Default::default(),
            limiter: Default::default(),
        })
    }
}

pub(crate) const SESSION_COOKIE: &str = "arca_session";
pub(crate) const SESSION_PREFIX: &str = "arcs_";
pub(crate) const TOKEN_PREFIX: &str = "arca_";

fn json_error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let body = json!({"error_code": code, "message": message.into()});
    (status, axum::Json(body)).into_response()
}

/// 401 as MLflow's auth app sends it (with its `WWW-Authenticate` challenge, so browsers and
/// clients know to send Basic credentials), in MLflow's JSON error shape.
pub(crate) fn unauthenticated(message: impl Into<String>) -> Response {
    let mut response = json_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", message);
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"mlflow\""),
    );
    response
}

pub(crate) fn forbidden(message: impl Into<String>) -> Response {
    ApiError::new(
        StatusCode::FORBIDDEN,
        ErrorCode::PermissionDenied,
        message.into(),
    )
    .into_response()
}

/// The client's address, when the server was started with connection info.
fn client_addr(req: &Request) -> Option<IpAddr> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

enum Authn {
    Anonymous,
    User(User),
    Refused(Response),
}

/// Reads the caller's credentials: `Authorization: Basic` or `Bearer`, else the session cookie.
async fn authenticate(
    app: &AppState,
    auth: &Auth,
    headers: &axum::http::HeaderMap,
    addr: Option<IpAddr>,
) -> Authn {
    let now = arca_core::now_millis();
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let value = value.to_str().unwrap_or("");
        let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(rest.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok());
            let Some((username, password)) = decoded.as_deref().and_then(|d| d.split_once(':'))
            else {
                return Authn::Refused(unauthenticated("Malformed Basic credentials."));
            };
            return match password_login(app, auth, username, password, addr).await {
                Ok(user) => Authn::User(user),
                Err(response) => Authn::Refused(response),
            };
        }
        if scheme.eq_ignore_ascii_case("bearer") {
            return match secret_login(app, TokenKind::Api, rest.trim(), now).await {
                Some(user) => Authn::User(user),
                None => Authn::Refused(unauthenticated(
                    "The API token is not valid: unknown, revoked or expired.",
                )),
            };
        }
        return Authn::Refused(unauthenticated(
            "Unsupported Authorization scheme: use Basic or Bearer.",
        ));
    }
    if let Some(secret) = crate::ui::session_cookie(headers)
        && let Some(user) = secret_login(app, TokenKind::Session, secret, now).await
    {
        return Authn::User(user);
    }
    Authn::Anonymous
}

/// Checks a username and password, counting failures.
pub(crate) async fn password_login(
    app: &AppState,
    auth: &Auth,
    username: &str,
    password: &str,
    addr: Option<IpAddr>,
) -> Result<User, Response> {
    if let Some(wait) = auth.limiter.blocked(username, addr) {
        let mut response = json_error(
            StatusCode::TOO_MANY_REQUESTS,
            "REQUEST_LIMIT_EXCEEDED",
            format!("Too many failed logins; try again in {wait} s."),
        );
        if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return Err(response);
    }
    let user = match app.metadata.get_user(username).await {
        Ok(user) => Some(user),
        Err(arca_core::Error::NotFound(_)) => None,
        Err(e) => return Err(ApiError::from(e).into_response()),
    };
    // An unknown user costs a hash check too, so timing does not tell which names exist.
    let phc = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| DUMMY_HASH.get_or_init(dummy_hash).clone());
    let ok = auth.verified.check(username, password, &phc).await;
    match user {
        Some(user) if ok => {
            auth.limiter.succeeded(username, addr);
            Ok(user)
        }
        _ => {
            auth.limiter.failed(username, addr);
            Err(unauthenticated("Wrong username or password."))
        }
    }
}

static DUMMY_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn dummy_hash() -> String {
    credentials::hash_password(&credentials::new_secret("")).unwrap_or_default()
}

async fn secret_login(app: &AppState, kind: TokenKind, secret: &str, now: i64) -> Option<User> {
    let prefix = match kind {
        TokenKind::Api => TOKEN_PREFIX,
        TokenKind::Session => SESSION_PREFIX,
    };
    if !secret.starts_with(prefix) {
        return None;
    }
    let hash = credentials::secret_sha256(secret);
    let (token, user) = app.metadata.find_token(kind, &hash, now).await.ok()??;
    // Last use to the minute is what an admin needs; writing every request would cost a
    // write per read.
    if token
        .last_used_time
        .is_none_or(|t| now.saturating_sub(t) > 60_000)
    {
        let _ = app.metadata.touch_token(&token.id, now).await;
    }
    Some(user)
}

/// The route's template without the `--static-prefix`.
fn template<'a>(app: &AppState, matched: &'a str) -> &'a str {
    if app.static_prefix.is_empty() {
        return matched;
    }
    matched
        .strip_prefix(app.static_prefix.as_str())
        .unwrap_or(matched)
}

/// Whether a browser asked for a page (it gets the login page rather than a 401).
fn wants_html(req: &Request) -> bool {
    req.method() == Method::GET
        && req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
}

/// Set by `guard` on the request it checked; `require_guard` reads it after the response.
#[derive(Clone, Default)]
struct GuardRan(Arc<std::sync::atomic::AtomicBool>);

/// The outermost layer: a response produced without `guard` having seen the request (a route
/// merged outside the guarded router, MLflow's first class of auth CVE) is replaced by a 500
/// and logged, with or without `--auth`, so such a route fails every test that calls it.
pub async fn require_guard(mut req: Request, next: Next) -> Response {
    let ran = GuardRan::default();
    req.extensions_mut().insert(ran.clone());
    let path = req.uri().path().to_owned();
    let response = next.run(req).await;
    if ran.0.load(std::sync::atomic::Ordering::SeqCst) {
        return response;
    }
    tracing::error!(%path, "a response was produced outside the permission check");
    json_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "INTERNAL_ERROR",
        "This route is outside the permission check, so it is not served.",
    )
}

/// Paths outside `--static-prefix`: nothing is served there, to anyone.
pub async fn outside_prefix(req: Request) -> Response {
    if let Some(ran) = req.extensions().get::<GuardRan>() {
        ran.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
    ApiError::endpoint_not_found(req.method().as_str(), req.uri().path()).into_response()
}

pub async fn guard(State(app): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(ran) = req.extensions().get::<GuardRan>() {
        ran.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
    let matched = req.extensions().get::<MatchedPath>().cloned();
    let rule = match &matched {
        Some(m) => match rules::lookup(req.method(), template(&app, m.as_str())) {
            Ok(rule) => Some(rule),
            Err(true) => {
                return ApiError::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    ErrorCode::BadRequest,
                    format!(
                        "Method {} is not allowed on {}.",
                        req.method(),
                        req.uri().path()
                    ),
                )
                .into_response();
            }
            Err(false) => {
                tracing::error!(route = m.as_str(), method = %req.method(), "route has no permission rule");
                return json_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "INTERNAL_ERROR",
                    "This route has no permission rule, so it is not served.",
                );
            }
        },
        // No route matched: the fallback answers 404, to the signed-in only.
        None => None,
    };
    let Some(auth) = app.auth.clone() else {
        return next.run(req).await;
    };
    if rule.is_some_and(|r| r.need == Need::Public) {
        return next.run(req).await;
    }
    let addr = client_addr(&req);
    let user = match authenticate(&app, &auth, req.headers(), addr).await {
        Authn::User(user) => user,
        Authn::Refused(response) => return response,
        Authn::Anonymous if wants_html(&req) => {
            return crate::ui::login_redirect(&app.static_prefix, req.uri());
        }
        Authn::Anonymous => {
            return unauthenticated(
                "You are not authenticated. Send a username and password (Basic) or an API \
                 token (Bearer): MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD or \
                 MLFLOW_TRACKING_TOKEN.",
            );
        }
    };
    let Some(rule) = rule else {
        return next.run(with_identity(req, user)).await;
    };
    let (req, allowed) = match authorize(&app, &auth, &user, rule.need, req).await {
        Ok(pair) => pair,
        Err(response) => return response,
    };
    if !allowed {
        return forbidden(format!(
            "Permission denied: {} may not {} {}.",
            user.username,
            req.method(),
            req.uri().path()
        ));
    }
    next.run(with_identity(req, user)).await
}

fn with_identity(mut req: Request, user: User) -> Request {
    req.extensions_mut().insert(Identity {
        name: user.username.clone(),
    });
    req.extensions_mut().insert(Caller(user));
    req
}

/// The request's MLflow message fields, read once; the body is put back for the handler.
struct Fields {
    value: Value,
}

impl Fields {
    fn get(&self, field: &str) -> Option<&str> {
        self.value.get(field).and_then(Value::as_str)
    }
}

async fn read_fields(req: Request) -> Result<(Request, Fields), Response> {
    let (parts, body) = req.into_parts();
    let form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let bytes = if parts.method == Method::GET || parts.method == Method::HEAD {
        Bytes::new()
    } else {
        match axum::body::to_bytes(body, crate::extract::MAX_JSON_BODY).await {
            Ok(b) => b,
            Err(_) => {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    ErrorCode::InvalidParameterValue,
                    "Request body is too large or could not be read.",
                )
                .into_response());
            }
        }
    };
    let value = if form {
        crate::extract::form_fields(&bytes)
    } else {
        crate::extract::message_fields(
            &parts.method,
            parts.uri.query().unwrap_or(""),
            parts.headers.contains_key(header::CONTENT_TYPE),
            &bytes,
        )
    }
    .map_err(IntoResponse::into_response)?;
    Ok((
        Request::from_parts(parts, Body::from(bytes)),
        Fields { value },
    ))
}

/// A `{param}` of the matched route, decoded as the handler's `Path` extractor decodes it.
async fn path_param(req: Request, name: &str) -> (Request, Option<String>) {
    use axum::extract::FromRequestParts;
    let (mut parts, body) = req.into_parts();
    let value = axum::extract::RawPathParams::from_request_parts(&mut parts, &())
        .await
        .ok()
        .and_then(|params| {
            params
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_owned())
        });
    (Request::from_parts(parts, body), value)
}

/// Decides whether `user` may do what `need` says; returns the request (its body put back).
async fn authorize(
    app: &AppState,
    auth: &Auth,
    user: &User,
    need: Need,
    req: Request,
) -> Result<(Request, bool), Response> {
    if user.is_admin {
        return Ok((req, true));
    }
    let default = auth.config.default_permission;
    let path_value = match need {
        Need::Experiment(Locate::Path(p), _)
        | Need::Run(Locate::Path(p), _)
        | Need::LoggedModel(Locate::Path(p), _)
        | Need::Model(Locate::Path(p), _)
        | Need::ModelMove(Locate::Path(p)) => Some(p),
        Need::RegisterRun => Some("id"),
        _ => None,
    };
    let (req, path_value) = match path_value {
        Some(p) => path_param(req, p).await,
        None => (req, None),
    };
    let locate = |fields: &Fields, how: Locate| -> Result<String, Box<Response>> {
        let value = match how {
            Locate::Field(f) => fields.get(f).filter(|v| !v.is_empty()).map(str::to_owned),
            Locate::RunField => fields
                .get("run_id")
                .filter(|v| !v.is_empty())
                .or_else(|| fields.get("run_uuid"))
                .filter(|v| !v.is_empty())
                .map(str::to_owned),
            Locate::Path(_) => path_value.clone(),
            Locate::ModelUri(f) => fields
                .get(f)
                .and_then(|u| arca_core::registry::ModelUri::parse(u).ok())
                .map(|u| u.name().to_owned()),
            Locate::FormTrimmed(f) => fields
                .get(f)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty()),
        };
        value.ok_or_else(|| {
            let field = match how {
                Locate::Field(f)
                | Locate::Path(f)
                | Locate::FormTrimmed(f)
                | Locate::ModelUri(f) => f,
                Locate::RunField => "run_id",
            };
            Box::new(ApiError::missing(field).into_response())
        })
    };
    let store_err = |e: arca_core::Error| ApiError::from(e).into_response();
    let needs_fields = matches!(
        need,
        Need::Experiment(
            Locate::Field(_) | Locate::RunField | Locate::FormTrimmed(_),
            _
        ) | Need::ExperimentNamed(_, _)
            | Need::Run(
                Locate::Field(_) | Locate::RunField | Locate::FormTrimmed(_),
                _
            )
            | Need::LoggedModel(
                Locate::Field(_) | Locate::RunField | Locate::FormTrimmed(_),
                _
            )
            | Need::Model(
                Locate::Field(_) | Locate::RunField | Locate::FormTrimmed(_) | Locate::ModelUri(_),
                _
            )
            | Need::ModelMove(_)
            | Need::RoleManage
            | Need::RoleView
            | Need::RoleList
            | Need::UserRoles
            | Need::NewVersion
            | Need::RegisterRun
            | Need::SelfOrAdmin
            | Need::GrantOnResource
            | Need::Experiments(_)
            | Need::ArtifactListing
            | Need::Manifest
    );
    let (req, fields) = if needs_fields {
        read_fields(req).await?
    } else {
        (req, Fields { value: Value::Null })
    };
    let experiment = |owner: ExperimentOwner| async move {
        match app.metadata.experiment_grant_of(&owner, user.id).await {
            Ok(Some((_, grant))) => Ok(Permission::effective(grant, default)),
            Ok(None) => Ok(default),
            Err(e) => Err(store_err(e)),
        }
    };
    let model = |name: String| async move {
        match app
            .metadata
            .grant_of(&GrantTarget::Model(name), user.id)
            .await
        {
            Ok(grant) => Ok(Permission::effective(grant, default)),
            Err(e) => Err(store_err(e)),
        }
    };
    // For what a new version is made from: a source that does not exist is refused, not given
    // the default permission.
    let readable_experiment = |owner: ExperimentOwner| async move {
        match app.metadata.experiment_grant_of(&owner, user.id).await {
            Ok(Some((_, grant))) => Ok(Permission::effective(grant, default) >= Permission::Read),
            Ok(None) => Ok(false),
            Err(e) => Err(store_err(e)),
        }
    };
    let readable_model = |name: String| async move {
        match app.metadata.model_grant_of(&name, user.id).await {
            Ok(Some(grant)) => Ok(Permission::effective(grant, default) >= Permission::Read),
            Ok(None) => Ok(false),
            Err(e) => Err(store_err(e)),
        }
    };
    let allowed = match need {
        Need::Public | Need::Signed => true,
        Need::Admin => false,
        Need::Experiment(how, p) => {
            experiment(ExperimentOwner::Experiment(
                locate(&fields, how).map_err(|e| *e)?,
            ))
            .await?
                >= p
        }
        Need::ExperimentNamed(how, p) => {
            let name = locate(&fields, how).map_err(|e| *e)?;
            match app
                .metadata
                .experiment_grant_of(&ExperimentOwner::Name(name), user.id)
                .await
            {
                // As MLflow's auth app: a name of no experiment is answered 404 whatever the
                // default permission, so `mlflow.set_experiment` can go on to create it.
                Ok(None) => true,
                Ok(Some((_, grant))) => Permission::effective(grant, default) >= p,
                Err(e) => return Err(store_err(e)),
            }
        }
        Need::Run(how, p) => {
            experiment(ExperimentOwner::Run(locate(&fields, how).map_err(|e| *e)?)).await? >= p
        }
        Need::LoggedModel(how, p) => {
            experiment(ExperimentOwner::LoggedModel(
                locate(&fields, how).map_err(|e| *e)?,
            ))
            .await?
                >= p
        }
        Need::Model(how, p) => model(locate(&fields, how).map_err(|e| *e)?).await? >= p,
        Need::ModelMove(how) => {
            let name = locate(&fields, how).map_err(|e| *e)?;
            let have = model(name.clone()).await?;
            if have >= Permission::Manage {
                true
            } else if have < Permission::Edit {
                false
            } else {
                let protections = app.metadata.protections(&name).await.map_err(store_err)?;
                match protected_target(&fields, &protections) {
                    None => true,
                    Some(p) => {
                        let member = match &p.group {
                            Some((role, _)) => app
                                .metadata
                                .is_role_member(user.id, *role)
                                .await
                                .map_err(store_err)?,
                            None => false,
                        };
                        if !member {
                            return Err(forbidden(protected_message(user, &name, p)));
                        }
                        true
                    }
                }
            }
        }
        Need::AnyWorkspaceAdmin => !app
            .metadata
            .workspace_admin_of(user.id)
            .await
            .map_err(store_err)?
            .is_empty(),
        Need::RoleManage => match role_workspace(app, &fields).await? {
            Some(ws) => app
                .metadata
                .workspace_admin_of(user.id)
                .await
                .map_err(store_err)?
                .contains(&ws),
            None => false,
        },
        Need::RoleView => match role_workspace(app, &fields).await? {
            Some(ws) => app
                .metadata
                .present_workspaces(user.id)
                .await
                .map_err(store_err)?
                .contains(&ws),
            None => false,
        },
        Need::RoleList => {
            let asked: std::collections::BTreeSet<String> =
                roles::workspaces(fields.value.get("workspace"))
                    .iter()
                    .filter_map(|w| w.as_str().map(str::trim))
                    .filter(|w| !w.is_empty())
                    .map(str::to_owned)
                    .collect();
            !asked.is_empty()
                && asked.is_subset(
                    &app.metadata
                        .present_workspaces(user.id)
                        .await
                        .map_err(store_err)?,
                )
        }
        Need::UserRoles => match fields.get("username") {
            Some(name) if name == user.username => true,
            Some(name) => match app.metadata.get_user(name).await {
                Ok(target) => {
                    let mine = app
                        .metadata
                        .workspace_admin_of(user.id)
                        .await
                        .map_err(store_err)?;
                    let theirs = app
                        .metadata
                        .present_workspaces(target.id)
                        .await
                        .map_err(store_err)?;
                    !mine.is_disjoint(&theirs)
                }
                Err(arca_core::Error::NotFound(_)) => false,
                Err(e) => return Err(store_err(e)),
            },
            None => false,
        },
        Need::NewVersion => {
            let name = locate(&fields, Locate::Field("name")).map_err(|e| *e)?;
            if model(name).await? < Permission::Edit {
                false
            } else {
                let source = fields.get("source").and_then(models_source);
                if let Some(ModelsSource::Registered(name)) = source {
                    // The registered model is the boundary: the copy takes the source
                    // version's run and logged model, which the store checks the request
                    // agrees with.
                    readable_model(name).await?
                } else {
                    let mut owners = Vec::new();
                    if let Some(id) = present(&fields, "run_id") {
                        owners.push(ExperimentOwner::Run(id));
                    }
                    if let Some(id) = present(&fields, "model_id") {
                        owners.push(ExperimentOwner::LoggedModel(id));
                    }
                    if let Some(ModelsSource::LoggedModel(id)) = source {
                        owners.push(ExperimentOwner::LoggedModel(id));
                    }
                    let mut all = true;
                    for owner in owners {
                        if !readable_experiment(owner).await? {
                            all = false;
                            break;
                        }
                    }
                    all
                }
            }
        }
        Need::RegisterRun => {
            let run = path_value.clone().unwrap_or_default();
            let name = locate(&fields, Locate::FormTrimmed("name")).map_err(|e| *e)?;
            readable_experiment(ExperimentOwner::Run(run)).await?
                && match app.metadata.model_grant_of(&name, user.id).await {
                    Ok(Some(grant)) => Permission::effective(grant, default) >= Permission::Edit,
                    Ok(None) => true,
                    Err(e) => return Err(store_err(e)),
                }
        }
        Need::ArtifactPath(p) => {
            let owner = artifact_owner(req.uri().path());
            match owner {
                Some(exp) => experiment(ExperimentOwner::Experiment(exp)).await? >= p,
                None => false,
            }
        }
        Need::ArtifactListing => match fields.get("path").and_then(first_segment) {
            Some(exp) => experiment(ExperimentOwner::Experiment(exp)).await? >= Permission::Read,
            None => false,
        },
        Need::Manifest => {
            if let Some(run) = fields.get("run_id") {
                experiment(ExperimentOwner::Run(run.to_owned())).await? >= Permission::Read
            } else if let Some(id) = fields.get("model_id") {
                experiment(ExperimentOwner::LoggedModel(id.to_owned())).await? >= Permission::Read
            } else if let Some(name) = fields.get("name") {
                model(name.to_owned()).await? >= Permission::Read
            } else if let Some(exp) = fields.get("path").and_then(first_segment) {
                experiment(ExperimentOwner::Experiment(exp)).await? >= Permission::Read
            } else {
                false
            }
        }
        Need::SelfOrAdmin => fields.get("username") == Some(user.username.as_str()),
        Need::GrantOnResource => {
            let id = fields.get("resource_id").unwrap_or("").to_owned();
            match fields.get("resource_type") {
                Some("experiment") => {
                    experiment(ExperimentOwner::Experiment(id)).await? >= Permission::Manage
                }
                Some("registered_model" | "prompt") => model(id).await? >= Permission::Manage,
                _ => false,
            }
        }
        Need::Experiments(p) => {
            let ids: Vec<String> = match fields.value.get("experiment_ids") {
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(|v| match v {
                        Value::String(s) => Some(s.clone()),
                        Value::Number(n) => Some(n.to_string()),
                        _ => None,
                    })
                    .collect(),
                Some(Value::String(s)) => vec![s.clone()],
                _ => Vec::new(),
            };
            let mut all = true;
            for id in ids {
                if experiment(ExperimentOwner::Experiment(id)).await? < p {
                    all = false;
                    break;
                }
            }
            all
        }
    };
    Ok((req, allowed))
}

/// A field the request carries, even empty (`Some("")`): MLflow refuses an explicitly empty
/// `run_id` or `model_id` rather than treating it as absent.
fn present(fields: &Fields, field: &str) -> Option<String> {
    match fields.value.get(field) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    }
}

/// What a `models:` version source names, cut as the store cuts it
/// (`arca_store::sources`): `models:/m-<id>` is a logged model, any other `models:/` URI a
/// registered model's version. `None` for other sources and for `models:` URIs the store
/// refuses (an authority, a malformed path): those are answered 400 by the handler.
enum ModelsSource {
    Registered(String),
    LoggedModel(String),
}

fn models_source(source: &str) -> Option<ModelsSource> {
    let (scheme, rest) = source.split_once(':')?;
    if !scheme.eq_ignore_ascii_case("models") {
        return None;
    }
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    if rest.starts_with("//") {
        return None;
    }
    let path = rest.strip_prefix('/')?;
    if path.starts_with("m-") && !path.contains('/') {
        return Some(ModelsSource::LoggedModel(path.to_owned()));
    }
    arca_core::registry::ModelUri::parse(source)
        .ok()
        .map(|uri| ModelsSource::Registered(uri.name().to_owned()))
}

/// What a search shows the caller: `None` (everything) without `--auth` or for an admin.
pub fn read_scope(app: &AppState, caller: Option<&Caller>) -> Option<ReadScope> {
    let auth = app.auth.as_ref()?;
    let Caller(user) = caller?;
    (!user.is_admin).then_some(ReadScope {
        user_id: user.id,
        default_readable: auth.config.default_permission >= Permission::Read,
    })
}

/// The protected stage or alias a stage transition or alias change touches, if any.
fn protected_target<'p>(fields: &Fields, protections: &'p [Protection]) -> Option<&'p Protection> {
    let stage = fields.get("stage").map(|s| s.to_ascii_lowercase());
    let alias = fields.get("alias").map(str::trim);
    protections.iter().find(|p| match &p.what {
        Protected::Stage(s) => stage.as_deref() == Some(s.to_ascii_lowercase().as_str()),
        Protected::Alias(a) => alias == Some(a.as_str()),
    })
}

fn protected_message(user: &User, model: &str, p: &Protection) -> String {
    let what = match &p.what {
        Protected::Stage(s) => format!("stage '{s}'"),
        Protected::Alias(a) => format!("alias '@{a}'"),
    };
    let who = match &p.group {
        Some((_, role)) => format!("members of role '{role}', MANAGE holders and admins"),
        None => "MANAGE holders and admins".to_owned(),
    };
    format!(
        "Permission denied: the {what} of model '{model}' is protected; only {who} may move a \
         version into it, and {} is not one of them.",
        user.username
    )
}

/// The workspace of the role a role request names (`role_id`, else `role_permission_id`, else
/// `workspace`, as MLflow looks): `None` when the role does not exist, so that a caller who may
/// not see it cannot tell.
async fn role_workspace(app: &AppState, fields: &Fields) -> Result<Option<String>, Response> {
    let first = |field: &str| match fields.value.get(field) {
        Some(Value::Array(items)) => items.first().cloned(),
        other => other.cloned(),
    };
    let found = if let Some(id) = first("role_id") {
        let id = roles::int_param(&id, "role_id").map_err(IntoResponse::into_response)?;
        app.metadata.role_workspace(&RoleRef::Role(id)).await
    } else if let Some(id) = first("role_permission_id") {
        let id =
            roles::int_param(&id, "role_permission_id").map_err(IntoResponse::into_response)?;
        app.metadata.role_workspace(&RoleRef::Permission(id)).await
    } else if let Some(ws) = first("workspace") {
        return match ws.as_str().map(str::trim) {
            Some(w) if !w.is_empty() => Ok(ws.as_str().map(str::to_owned)),
            _ => Err(
                ApiError::invalid("Parameter 'workspace' must be a non-empty string.")
                    .into_response(),
            ),
        };
    } else {
        return Err(ApiError::invalid(
            "Request must include one of: role_id, role_permission_id, workspace.",
        )
        .into_response());
    };
    found.map_err(|e| ApiError::from(e).into_response())
}

fn first_segment(path: &str) -> Option<String> {
    let seg = path.trim_start_matches('/').split('/').next()?;
    (!seg.is_empty()).then(|| seg.to_owned())
}

/// The experiment id an artifact proxy path belongs to: its first segment, as MLflow lays out
/// `mlflow-artifacts:/<experiment>/<run>/artifacts/...` and `.../<experiment>/models/<id>/...`.
/// Decoded the way the handler decodes it (`api::artifacts::path_after`) so that `%2F` tricks
/// name the same experiment for both.
fn artifact_owner(path: &str) -> Option<String> {
    let rest = [
        "/mlflow-artifacts/artifacts/",
        "/mlflow-artifacts/mpu/create/",
        "/mlflow-artifacts/mpu/complete/",
        "/mlflow-artifacts/mpu/abort/",
        "/mlflow-artifacts/presigned/",
    ]
    .iter()
    .find_map(|marker| path.find(marker).map(|i| &path[i + marker.len()..]))?;
    let decoded = percent_encoding::percent_decode_str(rest)
        .decode_utf8()
        .ok()?;
    let parsed = arca_core::artifact_path::ArtifactPath::parse(&decoded).ok()?;
    first_segment(parsed.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;

    async fn state(dir: &std::path::Path) -> AppState {
        let store = arca_store::StoreUri::sqlite(dir.join("arca.db"));
        AppState {
            metadata: arca_store::MetadataStore::open(&store).await.unwrap(),
            artifacts: arca_artifacts::ArtifactStore::from_uri(
                &dir.join("artifacts").display().to_string(),
            )
            .unwrap(),
            static_prefix: String::new(),
            metrics: Default::default(),
            webhooks: Default::default(),
            webhook_client: reqwest::Client::new(),
            auth: None,
        }
    }

    async fn status(router: axum::Router, path: &str) -> u16 {
        use tower::ServiceExt;
        let req = Request::builder().uri(path).body(Body::empty()).unwrap();
        router.oneshot(req).await.unwrap().status().as_u16()
    }

    /// MLflow's CVE class "a route outside the auth middleware": a route merged beside the
    /// guarded router, or one inside it without a rule, is never served.
    #[tokio::test]
    async fn routes_outside_the_check_or_without_a_rule_are_not_served() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path()).await;
        let outside = crate::router(state.clone())
            .merge(axum::Router::new().route("/sneaky", get(|| async { "secret" })));
        let outside = outside.layer(axum::middleware::from_fn(require_guard));
        assert_eq!(status(outside, "/sneaky").await, 500);

        let unruled = axum::Router::new()
            .route("/unruled", get(|| async { "secret" }))
            .layer(axum::middleware::from_fn_with_state(state.clone(), guard))
            .layer(axum::middleware::from_fn(require_guard))
            .with_state(state.clone());
        assert_eq!(status(unruled, "/unruled").await, 500);

        // The real router serves its own routes.
        assert_eq!(status(crate::router(state), "/health").await, 200);
    }
}
