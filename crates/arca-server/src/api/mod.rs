//! Routes. Every MLflow endpoint is served under `/api/2.0/mlflow` and, for the MLflow UI and
//! tools that use it, `/ajax-api/2.0/mlflow`.

pub(crate) mod artifact_roots;
pub mod artifacts;
pub(crate) mod diff;
pub mod history;
mod logged_models;
pub(crate) mod multipart;
mod registry;
mod tracking;
pub mod webhooks;

use crate::error::{ApiError, ApiResult};
use crate::wire::TagIn;
use arca_core::model::Tag;
use arca_core::search::PageToken;
use axum::Json;
use serde::Serialize;
use serde_json::{Value, json};

/// The empty message most mutations answer with.
pub(crate) fn ok() -> ApiResult<Json<Value>> {
    Ok(Json(json!({})))
}

pub(crate) fn required(value: Option<String>, field: &str) -> ApiResult<String> {
    match value {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(ApiError::missing(field)),
    }
}

pub(crate) fn tags_arg(tags: Option<Vec<TagIn>>) -> ApiResult<Vec<Tag>> {
    tags.unwrap_or_default()
        .into_iter()
        .map(|t| {
            let key = required(t.key, "key")?;
            // MLflow stores a tag sent without a value with the empty value.
            Ok(Tag::parse(&key, t.value.as_deref().unwrap_or(""))?)
        })
        .collect()
}

/// A page of results as MLflow renders one: `{<key>: [...], "next_page_token": ...}`, each
/// field left out when there is nothing to say (no items, no further page).
pub(crate) fn paged<T>(
    key: &str,
    page: arca_core::model::Page<T>,
    render: impl Fn(&T) -> Value,
) -> Json<Value> {
    let mut body = serde_json::Map::new();
    if !page.items.is_empty() {
        body.insert(
            key.to_owned(),
            json!(page.items.iter().map(render).collect::<Vec<_>>()),
        );
    }
    if let Some(token) = page.next_page_token {
        body.insert("next_page_token".to_owned(), json!(token));
    }
    Json(Value::Object(body))
}

/// [`paged`] for items that serialize themselves, written straight into the response body:
/// no `serde_json::Value` tree is built first (for a page of 100 models with their latest
/// versions that tree is some 3,000 maps and strings, each allocated, sorted and freed).
pub(crate) fn paged_serialized<T, J: Serialize>(
    key: &'static str,
    page: arca_core::model::Page<T>,
    render: impl Fn(&T) -> J,
) -> Json<Paged<J>> {
    Json(Paged {
        key,
        items: page.items.iter().map(render).collect(),
        next_page_token: page.next_page_token,
    })
}

/// A page as [`paged`] renders it; see [`paged_serialized`].
pub(crate) struct Paged<J> {
    key: &'static str,
    items: Vec<J>,
    next_page_token: Option<String>,
}

impl<J: Serialize> Serialize for Paged<J> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        if let Some(token) = &self.next_page_token {
            map.serialize_entry("next_page_token", token)?;
        }
        if !self.items.is_empty() {
            map.serialize_entry(self.key, &self.items)?;
        }
        map.end()
    }
}

pub(crate) fn max_results_arg(value: Option<i64>, default: u64, max: u64) -> ApiResult<u64> {
    let Some(n) = value else {
        return Ok(default);
    };
    match u64::try_from(n) {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(ApiError::invalid(format!(
            "Invalid value {n} for parameter 'max_results' supplied: it must be between 1 and {max}."
        ))),
    }
}

pub(crate) fn page_token_arg(value: Option<String>) -> ApiResult<Option<PageToken>> {
    Ok(PageToken::from_request(value.as_deref())?)
}

use crate::AppState;
use axum::Router;

/// Every MLflow JSON endpoint, relative to `/api/2.0/mlflow` (and `/ajax-api/2.0/mlflow`).
pub fn mlflow_routes() -> Router<AppState> {
    Router::new()
        .merge(tracking::routes())
        .merge(logged_models::routes())
        .merge(registry::routes())
        .merge(webhooks::routes())
        .layer(axum::middleware::from_fn(refuse_cross_site_writes))
}

/// Arca's own JSON endpoints that live beside the MLflow ones, with their full paths (`/api/2.0/arca/...`).
pub fn arca_routes() -> Router<AppState> {
    webhooks::arca_routes().layer(axum::middleware::from_fn(refuse_cross_site_writes))
}

/// A web page on another site must not change the registry through the visitor's browser.
/// Request bodies are read as JSON whatever their content type (as MLflow reads them), so a
/// plain cross-site `<form enctype="text/plain">` could otherwise post JSON here. Browsers say
/// where a request comes from (`Sec-Fetch-Site`, `Origin`); API clients (the mlflow client, the
/// CLI, curl) send neither, so they are not affected. MLflow has no such check: a deliberate
/// difference that closes a hole.
pub(crate) async fn refuse_cross_site_writes(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::Method;
    use axum::response::IntoResponse;
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let cross = crate::ui::same_site(req.headers()).is_err();
        if cross {
            return ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                arca_core::ErrorCode::PermissionDenied,
                "Changes through the API are refused from pages of another site.",
            )
            .into_response();
        }
    }
    next.run(req).await
}
