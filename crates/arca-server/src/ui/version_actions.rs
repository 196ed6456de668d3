//! The changes a person makes on a version's page: description, tags, stage, aliases,
//! deletion. Each is a form POST checked by `CsrfForm`, parsed with the same arca-core rules as
//! the REST API, then a redirect back to the page with `?done=<what>` (see `versions::page`).

use super::page::OnPage;
use super::page::{Ctx, UiResult, see_other};
use super::security::CsrfForm;
use super::versions::VersionPath;
use crate::AppState;
use arca_core::model::{AliasName, Stage, Tag, VersionNumber, check_tag_key, parse_description};
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

#[derive(Deserialize)]
pub(crate) struct DescriptionForm {
    description: Option<String>,
}

pub(crate) async fn set_description(
    ctx: Ctx,
    State(app): State<AppState>,
    target: VersionPath,
    CsrfForm(form): CsrfForm<DescriptionForm>,
) -> UiResult {
    let (name, version) = target.parse(&ctx)?;
    // Browsers send a textarea's line breaks as CRLF; store them as the API's clients do.
    let text = form.description.unwrap_or_default().replace("\r\n", "\n");
    let text = parse_description(&text).on_page(&ctx)?;
    app.metadata
        .update_model_version(&name, version, Some(&text))
        .await
        .on_page(&ctx)?;
    Ok(done(&ctx, &name, version, "description", "description"))
}

#[derive(Deserialize)]
pub(crate) struct TagForm {
    key: Option<String>,
    value: Option<String>,
}

pub(crate) async fn set_tag(
    ctx: Ctx,
    State(app): State<AppState>,
    target: VersionPath,
    CsrfForm(form): CsrfForm<TagForm>,
) -> UiResult {
    let (name, version) = target.parse(&ctx)?;
    let key = form.key.unwrap_or_default();
    let tag = Tag::parse(key.trim(), &form.value.unwrap_or_default()).on_page(&ctx)?;
    app.metadata
        .set_model_version_tag(&name, version, &tag)
        .await
        .on_page(&ctx)?;
    Ok(done(&ctx, &name, version, "tag-set", "tags"))
}

pub(crate) async fn delete_tag(
    ctx: Ctx,
    State(app): State<AppState>,
    target: VersionPath,
    CsrfForm(form): CsrfForm<TagForm>,
) -> UiResult {
    let (name, version) = target.parse(&ctx)?;
    let key = form.key.unwrap_or_default();
    check_tag_key(&key).on_page(&ctx)?;
    app.metadata
        .delete_model_version_tag(&name, version, &key)
        .await
        .on_page(&ctx)?;
    Ok(done(&ctx, &name, version, "tag-deleted", "tags"))
}

#[derive(Deserialize)]
pub(crate) struct StageForm {
    stage: Option<String>,
    archive_existing: Option<String>,
}

pub(crate) async fn transition(
    ctx: Ctx,
    State(app): State<AppState>,
    target: VersionPath,
    CsrfForm(form): CsrfForm<StageForm>,
) -> UiResult {
    let (name, version) = target.parse(&ctx)?;
    let stage = Stage::parse(&form.stage.unwrap_or_default()).on_page(&ctx)?;
    // A checkbox is sent only when ticked; archiving applies only to Staging and Production.
    let archive = form.archive_existing.is_some() && stage.is_active();
    app.metadata
        .transition_model_version_stage(&name, version, stage, archive)
        .await
        .on_page(&ctx)?;
    Ok(done(&ctx, &name, version, "stage", "stage"))
}

#[derive(Deserialize)]
pub(crate) struct AliasForm {
    alias: Option<String>,
}

pub(crate) async fn set_alias(
    ctx: Ctx,
    State(app): State<AppState>,
    target: VersionPath,
    CsrfForm(form): CsrfForm<AliasForm>,
) -> UiResult {
    let (name, version) = target.parse(&ctx)?;
    let raw = form.alias.unwrap_or_default();
    let alias = AliasName::parse(raw.trim().trim_start_matches('@')).on_page(&ctx)?;
    app.metadata
        .set_registered_model_alias(&name, &alias, version)
        .await
        .on_page(&ctx)?;
    Ok(done(&ctx, &name, version, "alias-set", "aliases"))
}

pub(crate) async fn delete_alias(
    ctx: Ctx,
    State(app): State<AppState>,
    target: VersionPath,
    CsrfForm(form): CsrfForm<AliasForm>,
) -> UiResult {
    let (name, version) = target.parse(&ctx)?;
    let raw = form.alias.unwrap_or_default();
    let alias = AliasName::parse_ref(raw.trim_start_matches('@')).on_page(&ctx)?;
    app.metadata
        .delete_registered_model_alias(&name, alias.as_str())
        .await
        .on_page(&ctx)?;
    Ok(done(&ctx, &name, version, "alias-deleted", "aliases"))
}

#[derive(Deserialize)]
pub(crate) struct NoFields {}

pub(crate) async fn delete_version(
    ctx: Ctx,
    State(app): State<AppState>,
    target: VersionPath,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> UiResult {
    let (name, version) = target.parse(&ctx)?;
    app.metadata
        .delete_model_version(&name, version)
        .await
        .on_page(&ctx)?;
    Ok(see_other(&ctx.model_url(&name)))
}

/// Back to the version's page after a change, at the section that shows it.
fn done(ctx: &Ctx, name: &str, version: VersionNumber, what: &str, anchor: &str) -> Response {
    see_other(&format!(
        "{}?done={what}#{anchor}",
        ctx.version_url(name, &version)
    ))
}
