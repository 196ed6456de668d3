//! The web UI: server-rendered HTML (askama templates in `templates/`, checked at compile time,
//! escaped by default), one stylesheet and one small script of our own (`assets/`), charts drawn
//! as SVG on the server. Pages read the `MetadataStore` directly, as the API handlers do; every
//! page is a plain GET whose filters and page live in the query string, so a URL can be shared.
//!
//! State changes are HTML form POSTs (progressive enhancement: the script adds confirmations and
//! in-place edits, the forms work without it). They are guarded against cross-site requests by
//! `security::guard`: `Sec-Fetch-Site`/`Origin` must say same-origin and the form must carry the
//! token of the `arca_csrf` cookie. The REST API the clients use is not affected.

mod access;
mod assets;
mod compare;
mod experiments;
mod history;
mod markdown;
pub(crate) mod mlmodel;
mod model;
mod models;
mod page;
mod register;
mod runs;
mod security;
mod svg;
mod upload;
mod version_actions;
mod version_files;
mod versions;
mod webhooks;

pub use page::Ctx;
pub(crate) use security::same_site;

use crate::AppState;
use axum::Router;
use axum::middleware;
use axum::routing::{get, post};

/// Every UI route, relative to the server's root (or its `--static-prefix`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(models::index))
        .route("/models", get(models::list))
        .route("/models/{name}/versions/{version}", get(versions::page))
        .route(
            "/models/{name}/versions/{version}/image",
            get(version_files::image),
        )
        .route(
            "/models/{name}/versions/{version}/description",
            post(version_actions::set_description),
        )
        .route(
            "/models/{name}/versions/{version}/tags",
            post(version_actions::set_tag),
        )
        .route(
            "/models/{name}/versions/{version}/tags/delete",
            post(version_actions::delete_tag),
        )
        .route(
            "/models/{name}/versions/{version}/stage",
            post(version_actions::transition),
        )
        .route(
            "/models/{name}/versions/{version}/aliases",
            post(version_actions::set_alias),
        )
        .route(
            "/models/{name}/versions/{version}/aliases/delete",
            post(version_actions::delete_alias),
        )
        .route(
            "/models/{name}/versions/{version}/delete",
            post(version_actions::delete_version),
        )
        .route("/upload", get(upload::form))
        .route("/models/{name}/compare", get(compare::compare))
        .route("/models/{name}/chart", get(compare::chart))
        .route("/experiments", get(experiments::list))
        .route("/experiments/{id}", get(experiments::show))
        .route("/runs/{id}", get(runs::show))
        .route("/runs/{id}/artifacts", get(runs::artifacts))
        .route(
            "/runs/{id}/register",
            get(register::form).post(register::submit),
        )
        .route("/models/{name}/history", get(history::show))
        .route("/models/{name}", get(model::show))
        .route("/models/{name}/description", post(model::set_description))
        .route("/models/{name}/tags", post(model::set_tag))
        .route("/models/{name}/tags/delete", post(model::delete_tag))
        .route("/models/{name}/aliases/delete", post(model::delete_alias))
        .route("/models/{name}/rename", post(model::rename))
        .route("/models/{name}/delete", post(model::delete))
        .route("/webhooks", get(webhooks::list))
        .route("/webhooks/{id}", get(webhooks::show))
        .route("/webhooks/{id}/redeliver", post(webhooks::redeliver))
        .route("/static/{file}", get(assets::serve))
        .route("/login", get(access::login_form).post(access::login))
        .route("/logout", post(access::logout))
        .route(
            "/account/tokens",
            get(access::tokens_page).post(access::tokens_post),
        )
        .route(
            "/admin/users",
            get(access::users_page).post(access::users_post),
        )
        .route(
            "/models/{name}/permissions",
            get(access::model_permissions).post(access::model_permissions_post),
        )
        .layer(middleware::from_fn(security::guard))
}

/// The UI session's secret, from its cookie.
pub(crate) fn session_cookie(headers: &axum::http::HeaderMap) -> Option<&str> {
    security::cookie(headers, crate::auth::SESSION_COOKIE)
}

/// Where a browser without a session is sent: the login page, which comes back here after.
pub(crate) fn login_redirect(prefix: &str, uri: &axum::http::Uri) -> axum::response::Response {
    let here = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let here = here.strip_prefix(prefix).unwrap_or(here);
    page::see_other(&format!("{prefix}/login?next={}", page::encode(here)))
}
