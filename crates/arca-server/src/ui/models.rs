//! The models list: search (plain text or an MLflow filter), sort, server-side pages.

use super::page::OnPage;
use super::page::{Ctx, UiError, UiResult, encode, render, see_other};
use crate::AppState;
use arca_core::model::RegisteredModel;
use arca_core::search::{PageToken, SearchEntity, parse_filter, parse_order_by};
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

pub(crate) const PAGE_SIZE: u64 = 25;

pub(crate) async fn index(ctx: Ctx) -> Response {
    see_other(&ctx.url("/models"))
}

#[derive(Deserialize, Default)]
pub(crate) struct ListParams {
    #[serde(default)]
    q: String,
    #[serde(default)]
    sort: String,
    page: Option<String>,
}

/// The sort orders offered, as (value in the URL, label, MLflow `order_by`).
const SORTS: &[(&str, &str, &str)] = &[
    ("name", "Name A–Z", "name ASC"),
    ("-name", "Name Z–A", "name DESC"),
    (
        "-updated",
        "Recently updated",
        "last_updated_timestamp DESC",
    ),
    ("-created", "Newest", "creation_timestamp DESC"),
    ("created", "Oldest", "creation_timestamp ASC"),
];

#[derive(Template)]
#[template(path = "models.html")]
struct ModelsPage {
    ctx: Ctx,
    q: String,
    sort: String,
    sorts: Vec<(&'static str, &'static str)>,
    /// Whether `q` was read as an MLflow filter rather than a name to look for.
    is_filter: bool,
    models: Vec<ModelRow>,
    pager: Pager,
}

struct ModelRow {
    name: String,
    url: String,
    description: String,
    tags: Vec<(String, String)>,
    aliases: Vec<(String, String)>,
    /// (stage, version, link) for each stage that has a version.
    latest: Vec<(String, String, String)>,
    updated: String,
}

pub(crate) async fn list(
    ctx: Ctx,
    State(app): State<AppState>,
    Query(params): Query<ListParams>,
) -> UiResult {
    let ctx = ctx.with_section("models");
    let page = parse_page(&ctx, params.page.as_deref())?;
    let q = params.q.trim().to_owned();
    let is_filter = looks_like_filter(&q);
    let filter_text = if q.is_empty() || is_filter {
        q.clone()
    } else {
        format!("name ILIKE '%{}%'", escape_like(&q))
    };
    let entity = SearchEntity::RegisteredModels;
    let filter = parse_filter(entity, &filter_text).map_err(|e| {
        UiError::invalid(
            &ctx,
            format!("The search could not be read as an MLflow filter: {e}"),
        )
    })?;
    let sort = SORTS
        .iter()
        .find(|(v, _, _)| *v == params.sort)
        .unwrap_or(&SORTS[0]);
    let order_by = parse_order_by(entity, &[sort.2.to_owned()]).on_page(&ctx)?;
    let token = PageToken::offset((page - 1) * PAGE_SIZE);
    let found = app
        .metadata
        .search_registered_models_as(ctx.scope(), &filter, &order_by, PAGE_SIZE, Some(&token))
        .await
        .on_page(&ctx)?;
    let models = found.items.iter().map(|m| model_row(&ctx, m)).collect();
    let base = format!(
        "{}?q={}&sort={}",
        ctx.url("/models"),
        encode(&q),
        encode(sort.0)
    );
    Ok(render(&ModelsPage {
        pager: Pager::new(&base, page, found.next_page_token.is_some()),
        ctx,
        q,
        sort: sort.0.to_owned(),
        sorts: SORTS.iter().map(|(v, l, _)| (*v, *l)).collect(),
        is_filter,
        models,
    }))
}

fn model_row(ctx: &Ctx, m: &RegisteredModel) -> ModelRow {
    let mut latest: Vec<_> = m
        .latest_versions
        .iter()
        .map(|v| {
            (
                v.current_stage.to_string(),
                v.version.to_string(),
                ctx.version_url(&m.name, &v.version),
            )
        })
        .collect();
    latest.sort_by_key(|(stage, _, _)| stage_rank(stage));
    ModelRow {
        url: ctx.model_url(&m.name),
        name: m.name.clone(),
        description: first_line(m.description.as_deref().unwrap_or("")),
        tags: m
            .tags
            .iter()
            .map(|t| (t.key.clone(), t.value.clone()))
            .collect(),
        aliases: m
            .aliases
            .iter()
            .map(|a| (a.alias.clone(), ctx.version_url(&m.name, &a.version)))
            .collect(),
        latest,
        updated: ctx.time(&m.last_updated_timestamp),
    }
}

/// Production first: the order in which people look for a version.
pub(crate) fn stage_rank(stage: &str) -> u8 {
    match stage {
        "Production" => 0,
        "Staging" => 1,
        "None" => 2,
        _ => 3,
    }
}

/// The first line of a Markdown description, for a one-line summary in a table.
pub(crate) fn first_line(text: &str) -> String {
    let line = text
        .lines()
        .map(|l| l.trim().trim_start_matches('#').trim())
        .find(|l| !l.is_empty())
        .unwrap_or("");
    if line.chars().count() > 140 {
        let cut: String = line.chars().take(140).collect();
        format!("{cut}…")
    } else {
        line.to_owned()
    }
}

/// A search box that holds `name LIKE 'x%'` or `tags.team = 'a'` is a filter; anything else
/// is a part of a name to look for.
pub(crate) fn looks_like_filter(q: &str) -> bool {
    let upper = q.to_ascii_uppercase();
    q.contains('=')
        || q.contains('<')
        || q.contains('>')
        || upper.contains(" LIKE ")
        || upper.contains(" ILIKE ")
        || upper.contains(" IN ")
}

/// A text searched for literally inside an ILIKE pattern and a quoted string.
pub(crate) fn escape_like(text: &str) -> String {
    text.replace('\'', "''")
}

pub(crate) fn parse_page(ctx: &Ctx, raw: Option<&str>) -> UiResult<u64> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(1),
        Some(s) => match s.parse::<u64>() {
            Ok(n) if (1..=1_000_000).contains(&n) => Ok(n),
            _ => Err(UiError::invalid(
                ctx,
                format!("'{s}' is not a page number: use a whole number from 1."),
            )),
        },
    }
}

/// Previous / next links of a paged table; `base` already holds the page's other parameters.
pub(crate) struct Pager {
    pub page: u64,
    pub prev: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    pub fn new(base: &str, page: u64, has_next: bool) -> Pager {
        let sep = if base.contains('?') { '&' } else { '?' };
        Pager {
            page,
            prev: (page > 1).then(|| format!("{base}{sep}page={}", page - 1)),
            next: has_next.then(|| format!("{base}{sep}page={}", page + 1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_told_apart_from_names() {
        assert!(looks_like_filter("name LIKE 'fraud%'"));
        assert!(looks_like_filter("tags.team = 'risk'"));
        assert!(!looks_like_filter("fraud detector"));
    }

    #[test]
    fn the_summary_is_the_first_text_line() {
        assert_eq!(first_line("\n# Churn model\n\nMore."), "Churn model");
        assert_eq!(first_line(""), "");
    }
}
