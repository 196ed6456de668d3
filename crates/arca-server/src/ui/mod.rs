//! The web UI: server-rendered HTML (askama templates in `templates/`, checked at compile time,
//! escaped by default), one stylesheet and one small script of our own (`assets/`), charts drawn
//! as SVG on the server. Pages read the `MetadataStore` directly, as the API handlers do; every
//! page is a plain GET whose filters and page live in the query string, so a URL can be shared.
//!
//! State changes are HTML form POSTs (progressive enhancement: the script adds confirmations and
//! in-place edits, the forms work without it). They are guarded against cross-site requests by
//! `security::guard`: `Sec-Fetch-Site`/`Origin` must say same-origin and the form must carry the
//! token of the `arca_csrf` cookie. The REST API the clients use is not affected.

mod assets;
mod markdown;
mod model;
mod models;
mod page;
mod security;

pub use page::Ctx;

use crate::AppState;
use axum::Router;
use axum::middleware;
use axum::routing::{get, post};

/// Every UI route, relative to the server's root (or its `--static-prefix`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(models::index))
        .route("/models", get(models::list))
        .route("/models/{name}", get(model::show))
        .route("/models/{name}/description", post(model::set_description))
        .route("/models/{name}/tags", post(model::set_tag))
        .route("/models/{name}/tags/delete", post(model::delete_tag))
        .route("/models/{name}/aliases/delete", post(model::delete_alias))
        .route("/models/{name}/rename", post(model::rename))
        .route("/models/{name}/delete", post(model::delete))
        .route("/static/{file}", get(assets::serve))
        .layer(middleware::from_fn(security::guard))
}
