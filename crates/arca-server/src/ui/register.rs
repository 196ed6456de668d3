//! Registering a run's model from the browser: `/runs/{id}/register?path=<folder>` (a folder of
//! the run's artifacts that holds an `MLmodel`) or `?model_id=m-...` (a logged model of the
//! run). The form names an existing registered model or a new one; posting it creates the model
//! when needed and a version whose source is what `mlflow.register_model` would send
//! (`runs:/<run>/<folder>`, or `models:/<model_id>` with the model's id), through the
//! `MetadataStore`, whose source rules decide what may be registered.

use super::page::OnPage;
use super::page::{Ctx, UiError, UiResult, render, see_other};
use super::security::CsrfForm;
use crate::AppState;
use arca_core::Error;
use arca_core::artifact_path::ArtifactPath;
use arca_core::model::{ModelName, NewModelVersion};
use arca_core::search::{PageToken, SearchEntity, parse_filter, parse_order_by};
use arca_core::tracking::Run;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;

/// Existing model names offered in the form's list.
const NAMES_OFFERED: u64 = 500;

#[derive(Deserialize, Default)]
pub(crate) struct Target {
    path: Option<String>,
    model_id: Option<String>,
}

/// What is being registered, resolved against the run.
struct Resolved {
    source: String,
    model_id: Option<String>,
    /// In words, for the page: `the folder "model"`, `the logged model "iris" (m-...)`.
    what: String,
    path: Option<String>,
}

async fn resolve(app: &AppState, ctx: &Ctx, run: &Run, target: Target) -> UiResult<Resolved> {
    let path = target.path.filter(|p| !p.trim().is_empty());
    let model_id = target.model_id.filter(|m| !m.trim().is_empty());
    match (path, model_id) {
        (Some(path), None) => {
            let parsed = ArtifactPath::parse(path.trim()).map_err(|e| {
                UiError::invalid(ctx, format!("'{path}' is not a folder of this run: {e}"))
            })?;
            Ok(Resolved {
                source: format!("runs:/{}/{parsed}", run.info.run_id),
                model_id: None,
                what: format!("the folder “{parsed}” of run {}", run.info.run_name),
                path: Some(parsed.as_str().to_owned()),
            })
        }
        (None, Some(model_id)) => {
            let model = app
                .metadata
                .get_logged_model(model_id.trim())
                .await
                .map_err(|e| UiError::new(ctx, e))?;
            if model.source_run_id.as_deref() != Some(run.info.run_id.as_str()) {
                return Err(UiError::invalid(
                    ctx,
                    format!(
                        "The logged model {} was not logged by run {}; register it from its own run's page.",
                        model.model_id, run.info.run_id
                    ),
                ));
            }
            Ok(Resolved {
                source: format!("models:/{}", model.model_id),
                what: format!("the logged model “{}” ({})", model.name, model.model_id),
                model_id: Some(model.model_id),
                path: None,
            })
        }
        _ => Err(UiError::invalid(
            ctx,
            "Say what to register: a folder of the run (path=...) or one of its logged models (model_id=...), not both.",
        )),
    }
}

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage {
    ctx: Ctx,
    run: Run,
    run_url: String,
    what: String,
    source: String,
    path: Option<String>,
    model_id: Option<String>,
    names: Vec<String>,
}

pub(crate) async fn form(
    ctx: Ctx,
    State(app): State<AppState>,
    Path(run_id): Path<String>,
    Query(target): Query<Target>,
) -> UiResult {
    let ctx = ctx.with_section("experiments");
    let run = app.metadata.get_run(&run_id).await.on_page(&ctx)?;
    let resolved = resolve(&app, &ctx, &run, target).await?;
    let names = model_names(&app, &ctx).await.on_page(&ctx)?;
    Ok(render(&RegisterPage {
        run_url: ctx.run_url(&run.info.run_id),
        what: resolved.what,
        source: resolved.source,
        path: resolved.path,
        model_id: resolved.model_id,
        names,
        run,
        ctx,
    }))
}

async fn model_names(app: &AppState, ctx: &Ctx) -> arca_core::Result<Vec<String>> {
    let entity = SearchEntity::RegisteredModels;
    let found = app
        .metadata
        .search_registered_models_as(
            ctx.scope(),
            &parse_filter(entity, "")?,
            &parse_order_by(entity, &["name ASC".to_owned()])?,
            NAMES_OFFERED,
            Some(&PageToken::offset(0)),
        )
        .await?;
    Ok(found.items.into_iter().map(|m| m.name).collect())
}

#[derive(Deserialize)]
pub(crate) struct RegisterForm {
    #[serde(default)]
    name: String,
    path: Option<String>,
    model_id: Option<String>,
}

pub(crate) async fn submit(
    ctx: Ctx,
    State(app): State<AppState>,
    caller: Option<axum::Extension<crate::auth::Caller>>,
    Path(run_id): Path<String>,
    CsrfForm(form): CsrfForm<RegisterForm>,
) -> UiResult<Response> {
    let ctx = ctx.with_section("experiments");
    let run = app.metadata.get_run(&run_id).await.on_page(&ctx)?;
    let name = ModelName::parse(form.name.trim()).map_err(|e| {
        UiError::invalid(
            &ctx,
            format!("“{}” cannot be a model name: {e}", form.name.trim()),
        )
    })?;
    let resolved = resolve(
        &app,
        &ctx,
        &run,
        Target {
            path: form.path,
            model_id: form.model_id,
        },
    )
    .await?;
    let creator = crate::auth::Caller::id_of(caller.as_deref());
    match app
        .metadata
        .create_registered_model_by(&name, None, &[], creator)
        .await
    {
        Ok(_) | Err(Error::AlreadyExists(_)) => {}
        Err(e) => return Err(UiError::new(&ctx, e)),
    }
    let version = app
        .metadata
        .create_model_version(
            &name,
            &NewModelVersion {
                source: resolved.source,
                run_id: run.info.run_id.clone(),
                model_id: resolved.model_id,
                ..NewModelVersion::default()
            },
        )
        .await
        .on_page(&ctx)?;
    Ok(see_other(&ctx.version_url(&version.name, &version.version)))
}
