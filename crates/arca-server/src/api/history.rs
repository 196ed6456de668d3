//! Arca's history endpoints, which MLflow has no counterpart for: the event log
//! (`/api/2.0/arca/history`), a `models:/` URI resolved as of a time (`/arca/resolve`), alias
//! rollback (`/arca/aliases/rollback`) and the diff of two versions (`/arca/diff`, in `diff.rs`).
//! Same conventions as the MLflow endpoints: query strings or JSON bodies, `{"error_code",
//! "message"}` errors, opaque page tokens.

use super::{max_results_arg, page_token_arg, required};
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Mlflow, RequestMessage, opt_int64};
use arca_core::model::{AliasName, VersionNumber};
use arca_core::registry::{ModelUri, VersionRef};
use arca_store::{AsOfRef, HISTORY_MAX_RESULTS, HistoryFilter};
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

/// Every action an event can have, as `action=` accepts it.
pub const ACTIONS: [&str; 14] = [
    "create_model",
    "rename_model",
    "update_model",
    "delete_model",
    "set_model_tag",
    "delete_model_tag",
    "create_version",
    "update_version",
    "delete_version",
    "transition_stage",
    "set_version_tag",
    "delete_version_tag",
    "set_alias",
    "delete_alias",
];

const HISTORY_PAGE_DEFAULT: u64 = 100;

pub fn history_routes() -> Router<AppState> {
    let mut router = Router::new();
    for base in ["/api", "/ajax-api"] {
        router = router
            .route(&format!("{base}/2.0/arca/history"), get(history))
            .route(&format!("{base}/2.0/arca/resolve"), get(resolve))
            .route(
                &format!("{base}/2.0/arca/aliases/rollback"),
                post(rollback_alias),
            )
            .route(&format!("{base}/2.0/arca/diff"), get(super::diff::diff));
    }
    router.layer(axum::middleware::from_fn(super::refuse_cross_site_writes))
}

#[derive(Deserialize)]
pub struct History {
    name: Option<String>,
    version: Option<String>,
    alias: Option<String>,
    action: Option<String>,
    actor: Option<String>,
    since: Option<String>,
    until: Option<String>,
    #[serde(default, deserialize_with = "opt_int64")]
    max_results: Option<i64>,
    page_token: Option<String>,
}

impl RequestMessage for History {}

/// A time parameter: epoch milliseconds or RFC 3339.
pub(crate) fn instant_arg(value: Option<&str>, field: &str) -> ApiResult<Option<i64>> {
    match value.filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(raw) => arca_core::time::parse_instant(raw)
            .map(Some)
            .map_err(|e| ApiError::invalid(format!("Invalid value for '{field}': {e}"))),
    }
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

async fn history(
    State(state): State<AppState>,
    Mlflow(req): Mlflow<History>,
) -> ApiResult<Json<Value>> {
    let max_results = max_results_arg(req.max_results, HISTORY_PAGE_DEFAULT, HISTORY_MAX_RESULTS)?;
    let page_token = page_token_arg(req.page_token)?;
    let version = match non_empty(req.version) {
        Some(v) => Some(VersionNumber::parse(&v)?.get()),
        None => None,
    };
    let action = non_empty(req.action);
    if let Some(action) = &action
        && !ACTIONS.contains(&action.as_str())
    {
        return Err(ApiError::invalid(format!(
            "Invalid value '{action}' for parameter 'action': use one of {}.",
            ACTIONS.join(", ")
        )));
    }
    let filter = HistoryFilter {
        name: non_empty(req.name),
        version,
        alias: non_empty(req.alias),
        action,
        actor: non_empty(req.actor),
        since: instant_arg(req.since.as_deref(), "since")?,
        until: instant_arg(req.until.as_deref(), "until")?,
    };
    if filter.version.is_some() && filter.name.is_none() {
        return Err(ApiError::invalid(
            "'version' narrows the history of one model: give 'name' too.",
        ));
    }
    let page = state
        .metadata
        .search_events(&filter, max_results, page_token.as_ref())
        .await?;
    Ok(super::paged("events", page, |e| json!(e)))
}

#[derive(Deserialize)]
pub struct Resolve {
    uri: Option<String>,
    as_of: Option<String>,
}

impl RequestMessage for Resolve {}

/// `{"name", "version", "as_of"}`: the version a `models:/` URI named at `as_of`, which may
/// since have been deleted (its files may then be gone too).
async fn resolve(
    State(state): State<AppState>,
    Mlflow(req): Mlflow<Resolve>,
) -> ApiResult<Json<Value>> {
    let uri = ModelUri::parse(&required(req.uri, "uri")?)?;
    let as_of = instant_arg(Some(&required(req.as_of, "as_of")?), "as_of")?
        .unwrap_or_else(arca_core::now_millis);
    let reference = match uri.reference() {
        VersionRef::Number(v) => AsOfRef::Version(v.get()),
        VersionRef::Stage(stage) => AsOfRef::Stage(*stage),
        VersionRef::Alias(alias) if alias.eq_ignore_ascii_case("latest") => AsOfRef::Latest,
        VersionRef::Alias(alias) => AsOfRef::Alias(alias.clone()),
        VersionRef::Latest => AsOfRef::Latest,
    };
    let version = state
        .metadata
        .resolve_as_of(uri.name(), &reference, as_of)
        .await?;
    Ok(Json(json!({
        "name": uri.name(),
        "version": version.to_string(),
        "as_of": as_of,
    })))
}

#[derive(Deserialize)]
pub struct Rollback {
    name: Option<String>,
    alias: Option<String>,
}

impl RequestMessage for Rollback {}

/// `{"name", "alias", "version"}`: the alias moved back to the version it named before its
/// last change.
async fn rollback_alias(
    State(state): State<AppState>,
    Mlflow(req): Mlflow<Rollback>,
) -> ApiResult<Json<Value>> {
    let name = required(req.name, "name")?;
    let alias = AliasName::parse(&required(req.alias, "alias")?)?;
    let version = state.metadata.rollback_alias(&name, alias.as_str()).await?;
    Ok(Json(json!({
        "name": name,
        "alias": alias.as_str(),
        "version": version.to_string(),
    })))
}
