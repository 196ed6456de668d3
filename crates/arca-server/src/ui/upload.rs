//! "Upload a version": a form that sends files or a whole folder from the browser and registers
//! them as a new version of a (new or existing) registered model.
//!
//! The server only renders the form; `assets/upload.js` does the work with the same calls the
//! CLI's `arca versions register` makes over HTTP: get or create the registered model, create a
//! run, PUT each file into the run's artifacts through the artifact proxy (which streams it into
//! the store and records its size and SHA-256), finish the run, create the version with source
//! `runs:/<run>/<artifact path>`. The script talks to the MLflow REST API directly rather than to
//! UI endpoints of its own: the rules for names, paths and sources are then applied by the
//! handlers every other client goes through, the UI stays one more client of the API (as the
//! design asks), and the API's answers come back in MLflow's `{error_code, message}` shape that
//! the script shows. The script therefore adds no route of its own and needs no CSRF token: what
//! it calls is exactly what every client may call, and protecting those routes against
//! cross-site requests is the API's concern, not this page's. (The file uploads are PUTs, which
//! another site cannot send without a CORS preflight that Arca never grants.)

use super::page::OnPage;
use super::page::{Ctx, UiResult, render};
use crate::AppState;
use arca_core::search::{SearchEntity, parse_filter, parse_order_by};
use askama::Template;
use axum::extract::{Query, State};
use serde::Deserialize;

/// How many existing model names the form suggests; typing any other name still works.
const SUGGESTED_MODELS: u64 = 500;

#[derive(Deserialize, Default)]
pub(crate) struct UploadParams {
    /// Prefills the model, e.g. from a model page's "Upload a version" link.
    #[serde(default)]
    model: String,
}

#[derive(Template)]
#[template(path = "upload.html")]
struct UploadPage {
    ctx: Ctx,
    model: String,
    models: Vec<String>,
}

pub(crate) async fn form(
    ctx: Ctx,
    State(app): State<AppState>,
    Query(params): Query<UploadParams>,
) -> UiResult {
    let ctx = ctx.with_section("upload");
    let entity = SearchEntity::RegisteredModels;
    let filter = parse_filter(entity, "").on_page(&ctx)?;
    let order_by = parse_order_by(entity, &["name ASC".to_owned()]).on_page(&ctx)?;
    let found = app
        .metadata
        .search_registered_models_as(ctx.scope(), &filter, &order_by, SUGGESTED_MODELS, None)
        .await
        .on_page(&ctx)?;
    Ok(render(&UploadPage {
        ctx,
        model: params.model.trim().to_owned(),
        models: found.items.into_iter().map(|m| m.name).collect(),
    }))
}
