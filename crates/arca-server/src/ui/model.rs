//! A model's page: its description, tags, aliases and latest version per stage, the actions that
//! change them, and its versions table.
//!
//! The table is filtered and paged by the database (`MetadataStore::list_model_versions`): a
//! page of a model with 100,000 versions reads 25 rows, as a page of a model with 10 does, at
//! any depth, because pages are cut by version number, not counted from the start: the next
//! page is `after=<the last version shown>`, the previous one `before=<the first one shown>`,
//! and `last=1` is the list's end. These and the filters are plain query parameters (`stage`,
//! `alias`, `tag`, `from`, `to`, `order`), so a filtered view and any page of it is a URL that
//! can be shared. The header's count of versions comes from the model's version counter less its
//! deleted versions (`MetadataStore::count_model_versions`), so it too costs the same for any
//! big model.

use super::models::{PAGE_SIZE, first_line, stage_rank};
use super::page::OnPage;
use super::page::{Ctx, UiError, UiResult, encode, parse_date, render, see_other};
use super::security::CsrfForm;
use crate::AppState;
use arca_core::model::{AliasName, ModelName, RegisteredModel, Stage, Tag, parse_description};
use arca_store::version_list::{VersionCount, VersionListFilter, VersionListStart};
use askama::Template;
use axum::extract::{Path, Query, State};
use serde::Deserialize;

const DAY_MILLIS: i64 = 86_400_000;

/// Past this many deleted versions the header counts a model's versions only up to this many,
/// and a bigger model says "10,000+ versions" (see `MetadataStore::count_model_versions`).
const COUNT_BOUND: u64 = 10_000;

/// The versions table's filters as they appear in the query string.
#[derive(Deserialize, Default)]
pub(crate) struct VersionParams {
    #[serde(default)]
    stage: String,
    #[serde(default)]
    alias: String,
    /// `key` or `key=value`.
    #[serde(default)]
    tag: String,
    /// `YYYY-MM-DD`, from a date input; both ends are whole days in UTC, inclusive.
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    /// `oldest` for the oldest first; anything else is the newest first.
    #[serde(default)]
    order: String,
    /// The page after this version number, in the list's order (the "Next" link).
    #[serde(default)]
    after: String,
    /// The page before this version number, in the list's order (the "Previous" link).
    #[serde(default)]
    before: String,
    /// Any value: the list's last page.
    #[serde(default)]
    last: String,
}

impl VersionParams {
    /// The store's filter, or a message that says which field was wrong and what it accepts.
    fn filter(&self) -> Result<VersionListFilter, String> {
        let stage = match self.stage.trim() {
            "" => None,
            raw => Some(Stage::parse(raw).map_err(|_| {
                format!("'{raw}' is not a stage: choose None, Staging, Production or Archived.")
            })?),
        };
        let (tag_key, tag_value) = match self.tag.trim() {
            "" => (None, None),
            raw => match raw.split_once('=') {
                Some((key, value)) => (Some(key.trim().to_owned()), Some(value.trim().to_owned())),
                None => (Some(raw.to_owned()), None),
            },
        };
        Ok(VersionListFilter {
            stage,
            alias: Some(self.alias.trim().trim_start_matches('@').to_owned())
                .filter(|a| !a.is_empty()),
            tag_key,
            tag_value,
            created_from: date(&self.from, "From")?,
            created_to: date(&self.to, "To")?.map(|day| day + DAY_MILLIS),
            oldest_first: self.order == "oldest",
        })
    }

    /// Where the page starts, or a message that says what `after`/`before` accept.
    fn start(&self) -> Result<VersionListStart, String> {
        let number = |raw: &str, field: &str| {
            raw.trim().parse::<i64>().map_err(|_| {
                format!(
                    "{field}: '{raw}' is not a version number; follow the table's links to page."
                )
            })
        };
        Ok(match (self.after.trim(), self.before.trim()) {
            ("", "") if self.last.is_empty() => VersionListStart::First,
            ("", "") => VersionListStart::Last,
            (after, "") => VersionListStart::After(number(after, "after")?),
            ("", before) => VersionListStart::Before(number(before, "before")?),
            _ => return Err("A page is either after or before a version, not both.".into()),
        })
    }

    /// The query string of this view without the page, to build the pager's links on.
    fn query(&self) -> String {
        let pairs = [
            ("stage", self.stage.trim()),
            ("alias", self.alias.trim()),
            ("tag", self.tag.trim()),
            ("from", self.from.trim()),
            ("to", self.to.trim()),
            ("order", if self.order == "oldest" { "oldest" } else { "" }),
        ];
        pairs
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    fn is_filtered(&self) -> bool {
        [&self.stage, &self.alias, &self.tag, &self.from, &self.to]
            .iter()
            .any(|v| !v.trim().is_empty())
    }
}

/// "1 version", "100,000 versions"; "10,000+ versions" past the bound of the count.
fn count_text(count: VersionCount) -> String {
    match count {
        VersionCount::Exact(1) => "1 version".to_owned(),
        VersionCount::Exact(n) => format!("{} versions", grouped(n)),
        VersionCount::AtLeast(n) => format!("{}+ versions", grouped(n)),
    }
}

/// What deleting the model deletes: "its 3 versions", "more than 10,000 versions".
fn delete_text(count: VersionCount) -> String {
    match count {
        VersionCount::Exact(_) => format!("its {}", count_text(count)),
        VersionCount::AtLeast(n) => format!("more than {} versions", grouped(n)),
    }
}

/// 1234567 → "1,234,567".
fn grouped(count: u64) -> String {
    let digits = count.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    grouped
}

fn date(raw: &str, field: &str) -> Result<Option<i64>, String> {
    match raw.trim() {
        "" => Ok(None),
        text => parse_date(text).map(Some).ok_or_else(|| {
            format!("{field}: '{text}' is not a date; use the form YYYY-MM-DD, e.g. 2026-11-30.")
        }),
    }
}

#[derive(Template)]
#[template(path = "model.html")]
struct ModelPage {
    ctx: Ctx,
    name: String,
    url: String,
    description: String,
    description_html: String,
    tags: Vec<(String, String)>,
    /// (alias, version, link to the version)
    aliases: Vec<(String, String, String)>,
    /// (stage, version, link) for each stage that has a version, Production first.
    latest: Vec<(String, String, String)>,
    created: String,
    updated: String,
    /// "1 version", "100,000 versions", "10,000+ versions".
    version_count_text: String,
    /// "its 3 versions", "more than 10,000 versions".
    delete_count_text: String,
    stages: Vec<&'static str>,
    alias_names: Vec<String>,
    stage: String,
    alias: String,
    tag: String,
    from: String,
    to: String,
    oldest_first: bool,
    filtered: bool,
    versions: Vec<VersionRow>,
    /// The first and last version numbers shown, for "Versions 27 to 3".
    top_version: String,
    bottom_version: String,
    /// The page was reached by a link of the pager (not the list's first page).
    paged: bool,
    pager: VersionPager,
    compare_url: String,
    chart_url: String,
}

/// The versions table's links to the first, previous, next and last pages; `None` where there is
/// no such page.
#[derive(Default)]
struct VersionPager {
    first: Option<String>,
    previous: Option<String>,
    next: Option<String>,
    last: Option<String>,
}

impl VersionPager {
    /// The links of a page showing `shown` (version numbers, in the table's order), on `base`
    /// (the view's URL with its filters).
    fn new(base: &str, shown: &[i64], has_previous: bool, has_next: bool) -> VersionPager {
        let sep = if base.contains('?') { '&' } else { '?' };
        VersionPager {
            first: has_previous.then(|| base.to_owned()),
            previous: shown
                .first()
                .filter(|_| has_previous)
                .map(|n| format!("{base}{sep}before={n}")),
            next: shown
                .last()
                .filter(|_| has_next)
                .map(|n| format!("{base}{sep}after={n}")),
            last: has_next.then(|| format!("{base}{sep}last=1")),
        }
    }

    fn is_empty(&self) -> bool {
        self.first.is_none()
            && self.previous.is_none()
            && self.next.is_none()
            && self.last.is_none()
    }
}

struct VersionRow {
    version: String,
    url: String,
    stage: String,
    aliases: Vec<String>,
    description: String,
    run: Option<(String, String)>,
    user: String,
    created: String,
    tags: Vec<(String, String)>,
}

pub(crate) async fn show(
    ctx: Ctx,
    State(app): State<AppState>,
    Path(name): Path<String>,
    Query(params): Query<VersionParams>,
) -> UiResult {
    let ctx = ctx.with_section("models");
    let filter = params.filter().map_err(|m| UiError::invalid(&ctx, m))?;
    let start = params.start().map_err(|m| UiError::invalid(&ctx, m))?;
    let model = app
        .metadata
        .get_registered_model(&name)
        .await
        .on_page(&ctx)?;
    let found = app
        .metadata
        .list_model_versions(&name, &filter, start, PAGE_SIZE)
        .await
        .on_page(&ctx)?;
    let version_count = app
        .metadata
        .count_model_versions(&name, COUNT_BOUND)
        .await
        .on_page(&ctx)?;
    let url = ctx.model_url(&name);
    let query = params.query();
    let base = if query.is_empty() {
        url.clone()
    } else {
        format!("{url}?{query}")
    };
    let shown: Vec<i64> = found.versions.iter().map(|v| v.version.get()).collect();
    let mut alias_names: Vec<String> = model.aliases.iter().map(|a| a.alias.clone()).collect();
    // An alias typed into the URL stays selected even when the model has no such alias.
    if let Some(alias) = filter.alias.as_ref().filter(|a| !alias_names.contains(a)) {
        alias_names.push(alias.clone());
    }
    let versions: Vec<VersionRow> = found
        .versions
        .iter()
        .map(|v| VersionRow {
            version: v.version.to_string(),
            url: ctx.version_url(&name, &v.version),
            stage: v.current_stage.to_string(),
            aliases: v.aliases.clone(),
            description: first_line(&v.description),
            run: (!v.run_id.is_empty()).then(|| (v.run_id.clone(), ctx.run_url(&v.run_id))),
            user: v.user_id.clone().unwrap_or_default(),
            created: ctx.time(&v.creation_timestamp),
            tags: v
                .tags
                .iter()
                .map(|t| (t.key.clone(), t.value.clone()))
                .collect(),
        })
        .collect();
    Ok(render(&ModelPage {
        pager: VersionPager::new(&base, &shown, found.has_previous, found.has_next),
        paged: start != VersionListStart::First,
        top_version: shown.first().map(i64::to_string).unwrap_or_default(),
        bottom_version: shown.last().map(i64::to_string).unwrap_or_default(),
        compare_url: format!("{url}/compare"),
        chart_url: format!("{url}/chart"),
        versions,
        version_count_text: count_text(version_count),
        delete_count_text: delete_text(version_count),
        stages: Stage::ALL.iter().map(|s| s.as_str()).collect(),
        alias_names,
        stage: filter.stage.map(|s| s.to_string()).unwrap_or_default(),
        alias: filter.alias.clone().unwrap_or_default(),
        tag: params.tag.trim().to_owned(),
        from: params.from.trim().to_owned(),
        to: params.to.trim().to_owned(),
        oldest_first: filter.oldest_first,
        filtered: params.is_filtered(),
        ..header(&ctx, &model, url)
    }))
}

/// The page's header fields; the table's are filled in by `show`.
fn header(ctx: &Ctx, model: &RegisteredModel, url: String) -> ModelPage {
    let description = model.description.clone().unwrap_or_default();
    let mut latest: Vec<_> = model
        .latest_versions
        .iter()
        .map(|v| {
            (
                v.current_stage.to_string(),
                v.version.to_string(),
                ctx.version_url(&model.name, &v.version),
            )
        })
        .collect();
    latest.sort_by_key(|(stage, _, _)| stage_rank(stage));
    ModelPage {
        ctx: ctx.clone(),
        name: model.name.clone(),
        url,
        description_html: super::markdown::render(&description),
        description,
        tags: model
            .tags
            .iter()
            .map(|t| (t.key.clone(), t.value.clone()))
            .collect(),
        aliases: model
            .aliases
            .iter()
            .map(|a| {
                (
                    a.alias.clone(),
                    a.version.to_string(),
                    ctx.version_url(&model.name, &a.version),
                )
            })
            .collect(),
        latest,
        created: ctx.time(&model.creation_timestamp),
        updated: ctx.time(&model.last_updated_timestamp),
        version_count_text: String::new(),
        delete_count_text: String::new(),
        stages: Vec::new(),
        alias_names: Vec::new(),
        stage: String::new(),
        alias: String::new(),
        tag: String::new(),
        from: String::new(),
        to: String::new(),
        oldest_first: false,
        filtered: false,
        versions: Vec::new(),
        paged: false,
        top_version: String::new(),
        bottom_version: String::new(),
        pager: VersionPager::default(),
        compare_url: String::new(),
        chart_url: String::new(),
    }
}

#[derive(Deserialize)]
pub(crate) struct DescriptionForm {
    #[serde(default)]
    description: String,
}

pub(crate) async fn set_description(
    ctx: Ctx,
    State(app): State<AppState>,
    Path(name): Path<String>,
    CsrfForm(form): CsrfForm<DescriptionForm>,
) -> UiResult {
    // Browsers send a textarea's line breaks as CRLF; the stored text keeps plain LF.
    let text = form.description.replace("\r\n", "\n");
    let description = parse_description(&text).on_page(&ctx)?;
    app.metadata
        .update_registered_model(&name, Some(&description))
        .await
        .on_page(&ctx)?;
    Ok(see_other(&ctx.model_url(&name)))
}

#[derive(Deserialize)]
pub(crate) struct TagForm {
    #[serde(default)]
    key: String,
    #[serde(default)]
    value: String,
}

pub(crate) async fn set_tag(
    ctx: Ctx,
    State(app): State<AppState>,
    Path(name): Path<String>,
    CsrfForm(form): CsrfForm<TagForm>,
) -> UiResult {
    let tag = Tag::parse(form.key.trim(), &form.value).on_page(&ctx)?;
    app.metadata
        .set_registered_model_tag(&name, &tag)
        .await
        .on_page(&ctx)?;
    Ok(see_other(&format!("{}#tags", ctx.model_url(&name))))
}

#[derive(Deserialize)]
pub(crate) struct KeyForm {
    #[serde(default)]
    key: String,
}

pub(crate) async fn delete_tag(
    ctx: Ctx,
    State(app): State<AppState>,
    Path(name): Path<String>,
    CsrfForm(form): CsrfForm<KeyForm>,
) -> UiResult {
    app.metadata
        .delete_registered_model_tag(&name, &form.key)
        .await
        .on_page(&ctx)?;
    Ok(see_other(&format!("{}#tags", ctx.model_url(&name))))
}

#[derive(Deserialize)]
pub(crate) struct AliasForm {
    #[serde(default)]
    alias: String,
}

pub(crate) async fn delete_alias(
    ctx: Ctx,
    State(app): State<AppState>,
    Path(name): Path<String>,
    CsrfForm(form): CsrfForm<AliasForm>,
) -> UiResult {
    let alias = AliasName::parse_ref(&form.alias).on_page(&ctx)?;
    app.metadata
        .delete_registered_model_alias(&name, alias.as_str())
        .await
        .on_page(&ctx)?;
    Ok(see_other(&format!("{}#aliases", ctx.model_url(&name))))
}

#[derive(Deserialize)]
pub(crate) struct RenameForm {
    #[serde(default)]
    new_name: String,
}

pub(crate) async fn rename(
    ctx: Ctx,
    State(app): State<AppState>,
    Path(name): Path<String>,
    CsrfForm(form): CsrfForm<RenameForm>,
) -> UiResult {
    let new_name = ModelName::parse(form.new_name.trim()).on_page(&ctx)?;
    let model = app
        .metadata
        .rename_registered_model(&name, &new_name)
        .await
        .on_page(&ctx)?;
    Ok(see_other(&ctx.model_url(&model.name)))
}

#[derive(Deserialize)]
pub(crate) struct NoFields {}

pub(crate) async fn delete(
    ctx: Ctx,
    State(app): State<AppState>,
    Path(name): Path<String>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> UiResult {
    app.metadata
        .delete_registered_model(&name)
        .await
        .on_page(&ctx)?;
    Ok(see_other(&ctx.url("/models")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> VersionParams {
        let query = pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let uri: axum::http::Uri = format!("/models/m?{query}").parse().unwrap();
        Query::<VersionParams>::try_from_uri(&uri).unwrap().0
    }

    #[test]
    fn the_query_string_becomes_the_store_s_filter() {
        let p = params(&[
            ("stage", "production"),
            ("alias", "@champion"),
            ("tag", "team = risk"),
            ("from", "2026-11-01"),
            ("to", "2026-11-30"),
            ("order", "oldest"),
        ]);
        let f = p.filter().unwrap();
        assert_eq!(f.stage, Some(Stage::Production));
        assert_eq!(f.alias.as_deref(), Some("champion"));
        assert_eq!(f.tag_key.as_deref(), Some("team"));
        assert_eq!(f.tag_value.as_deref(), Some("risk"));
        assert_eq!(f.created_from, parse_date("2026-11-01"));
        // The "to" day is included up to its last millisecond.
        assert_eq!(f.created_to, parse_date("2026-12-01"));
        assert!(f.oldest_first);
        assert!(p.is_filtered());

        let bare = params(&[("tag", "team")]).filter().unwrap();
        assert_eq!(bare.tag_key.as_deref(), Some("team"));
        assert_eq!(bare.tag_value, None);
        assert_eq!(params(&[]).filter().unwrap(), VersionListFilter::default());
    }

    #[test]
    fn bad_filters_say_what_is_accepted() {
        let stage = params(&[("stage", "Live")]).filter().unwrap_err();
        assert!(stage.contains("'Live' is not a stage"), "{stage}");
        let date = params(&[("from", "last week")]).filter().unwrap_err();
        assert!(date.contains("YYYY-MM-DD"), "{date}");
    }

    #[test]
    fn counts_are_grouped_in_thousands_and_bounded() {
        use VersionCount::{AtLeast, Exact};
        assert_eq!(count_text(Exact(0)), "0 versions");
        assert_eq!(count_text(Exact(1)), "1 version");
        assert_eq!(count_text(Exact(999)), "999 versions");
        assert_eq!(count_text(Exact(100_000)), "100,000 versions");
        assert_eq!(count_text(Exact(1_234_567)), "1,234,567 versions");
        assert_eq!(count_text(AtLeast(10_000)), "10,000+ versions");
        assert_eq!(delete_text(Exact(3)), "its 3 versions");
        assert_eq!(delete_text(AtLeast(10_000)), "more than 10,000 versions");
    }

    #[test]
    fn the_pager_keeps_the_filters_but_not_the_page() {
        let p = params(&[("stage", "Staging"), ("tag", "a=b&c"), ("after", "3")]);
        assert_eq!(p.query(), "stage=Staging&tag=a%3Db%26c");
        assert_eq!(p.start(), Ok(VersionListStart::After(3)));
        assert_eq!(params(&[]).start(), Ok(VersionListStart::First));
        assert_eq!(
            params(&[("before", "9")]).start(),
            Ok(VersionListStart::Before(9))
        );
        assert_eq!(params(&[("last", "1")]).start(), Ok(VersionListStart::Last));
        let bad = params(&[("after", "x")]).start().unwrap_err();
        assert!(bad.contains("'x' is not a version number"), "{bad}");
        assert!(params(&[("after", "1"), ("before", "2")]).start().is_err());

        let links = VersionPager::new("/m?stage=None", &[9, 8], true, true);
        assert_eq!(links.first.as_deref(), Some("/m?stage=None"));
        assert_eq!(links.previous.as_deref(), Some("/m?stage=None&before=9"));
        assert_eq!(links.next.as_deref(), Some("/m?stage=None&after=8"));
        assert_eq!(links.last.as_deref(), Some("/m?stage=None&last=1"));
        let only = VersionPager::new("/m", &[2, 1], false, false);
        assert!(only.is_empty());
    }
}
