//! Experiments and their runs: `/experiments` (search, pages) and `/experiments/{id}` (its runs,
//! searched with an MLflow run filter or a part of a run's name, paged on the server).

use super::models::{Pager, escape_like, looks_like_filter, parse_page};
use super::page::OnPage;
use super::page::{Ctx, UiError, UiResult, encode, render};
use super::svg::format_value;
use crate::AppState;
use arca_core::search::{
    PageToken, parse_experiment_filter, parse_experiment_order_by, parse_run_filter,
    parse_run_order_by,
};
use arca_core::tracking::{Run, ViewType};
use askama::Template;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use std::collections::BTreeSet;

const PAGE_SIZE: u64 = 25;
/// How many metric columns the runs table shows (the first keys of the page's runs, by name).
const METRIC_COLUMNS: usize = 4;

#[derive(Deserialize, Default)]
pub(crate) struct ListParams {
    #[serde(default)]
    q: String,
    page: Option<String>,
}

struct ExperimentRow {
    id: String,
    name: String,
    url: String,
    created: String,
    updated: String,
    tags: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "experiments.html")]
struct ExperimentsPage {
    ctx: Ctx,
    q: String,
    is_filter: bool,
    experiments: Vec<ExperimentRow>,
    pager: Pager,
}

/// A search box's text as a filter: itself when it reads as one, else a name match.
fn as_filter(q: &str, attribute: &str) -> (String, bool) {
    if q.is_empty() {
        (String::new(), false)
    } else if looks_like_filter(q) {
        (q.to_owned(), true)
    } else {
        (format!("{attribute} ILIKE '%{}%'", escape_like(q)), false)
    }
}

pub(crate) async fn list(
    ctx: Ctx,
    State(app): State<AppState>,
    Query(params): Query<ListParams>,
) -> UiResult {
    let ctx = ctx.with_section("experiments");
    let page = parse_page(&ctx, params.page.as_deref())?;
    let q = params.q.trim().to_owned();
    let (filter_text, is_filter) = as_filter(&q, "name");
    let filter = parse_experiment_filter(&filter_text).map_err(|e| {
        UiError::invalid(
            &ctx,
            format!("The search could not be read as an MLflow experiment filter: {e}"),
        )
    })?;
    let order = parse_experiment_order_by(&["last_update_time DESC".to_owned()]).on_page(&ctx)?;
    let token = PageToken::offset((page - 1) * PAGE_SIZE);
    let found = app
        .metadata
        .search_experiments_as(
            ctx.scope(),
            &filter,
            &order,
            ViewType::ActiveOnly,
            PAGE_SIZE,
            Some(&token),
        )
        .await
        .on_page(&ctx)?;
    let experiments = found
        .items
        .iter()
        .map(|e| ExperimentRow {
            url: ctx.experiment_url(&e.experiment_id),
            id: e.experiment_id.clone(),
            name: e.name.clone(),
            created: ctx.time(&e.creation_time),
            updated: ctx.time(&e.last_update_time),
            tags: e
                .tags
                .iter()
                .filter(|t| !t.key.starts_with("mlflow."))
                .map(|t| (t.key.clone(), t.value.clone()))
                .collect(),
        })
        .collect();
    let base = format!("{}?q={}", ctx.url("/experiments"), encode(&q));
    Ok(render(&ExperimentsPage {
        pager: Pager::new(&base, page, found.next_page_token.is_some()),
        ctx,
        q,
        is_filter,
        experiments,
    }))
}

struct RunRow {
    name: String,
    url: String,
    status: String,
    start: String,
    duration: String,
    metrics: Vec<String>,
}

#[derive(Template)]
#[template(path = "experiment.html")]
struct ExperimentPage {
    ctx: Ctx,
    id: String,
    name: String,
    artifact_location: String,
    created: String,
    tags: Vec<(String, String)>,
    q: String,
    is_filter: bool,
    metric_keys: Vec<String>,
    runs: Vec<RunRow>,
    pager: Pager,
}

pub(crate) async fn show(
    ctx: Ctx,
    State(app): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<ListParams>,
) -> UiResult {
    let ctx = ctx.with_section("experiments");
    let page = parse_page(&ctx, params.page.as_deref())?;
    let experiment = app.metadata.get_experiment(&id).await.on_page(&ctx)?;
    let q = params.q.trim().to_owned();
    let (filter_text, is_filter) = as_filter(&q, "attributes.run_name");
    let filter = parse_run_filter(&filter_text).map_err(|e| {
        UiError::invalid(
            &ctx,
            format!("The search could not be read as an MLflow run filter: {e}"),
        )
    })?;
    let order = parse_run_order_by(&[]).on_page(&ctx)?;
    let token = PageToken::offset((page - 1) * PAGE_SIZE);
    let found = app
        .metadata
        .search_runs(
            std::slice::from_ref(&experiment.experiment_id),
            &filter,
            &order,
            ViewType::ActiveOnly,
            PAGE_SIZE,
            Some(&token),
        )
        .await
        .on_page(&ctx)?;
    let metric_keys: Vec<String> = found
        .items
        .iter()
        .flat_map(|r| r.metrics.iter().map(|m| m.key.clone()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .take(METRIC_COLUMNS)
        .collect();
    let runs = found
        .items
        .iter()
        .map(|r| run_row(&ctx, r, &metric_keys))
        .collect();
    let base = format!(
        "{}?q={}",
        ctx.experiment_url(&experiment.experiment_id),
        encode(&q)
    );
    Ok(render(&ExperimentPage {
        pager: Pager::new(&base, page, found.next_page_token.is_some()),
        id: experiment.experiment_id.clone(),
        name: experiment.name.clone(),
        artifact_location: experiment.artifact_location.clone(),
        created: ctx.time(&experiment.creation_time),
        tags: experiment
            .tags
            .iter()
            .filter(|t| !t.key.starts_with("mlflow."))
            .map(|t| (t.key.clone(), t.value.clone()))
            .collect(),
        ctx,
        q,
        is_filter,
        metric_keys,
        runs,
    }))
}

fn run_row(ctx: &Ctx, run: &Run, metric_keys: &[String]) -> RunRow {
    RunRow {
        name: run.info.run_name.clone(),
        url: ctx.run_url(&run.info.run_id),
        status: run.info.status.to_string(),
        start: ctx.time(&run.info.start_time),
        duration: run
            .info
            .end_time
            .map(|end| format_duration(end - run.info.start_time))
            .unwrap_or_default(),
        metrics: metric_keys
            .iter()
            .map(|k| {
                run.metrics
                    .iter()
                    .find(|m| &m.key == k)
                    .map(|m| format_value(m.value))
                    .unwrap_or_default()
            })
            .collect(),
    }
}

/// `850 ms`, `12.3 s`, `4 min 5 s`, `2 h 3 min`.
pub(crate) fn format_duration(millis: i64) -> String {
    let millis = millis.max(0);
    if millis < 1000 {
        return format!("{millis} ms");
    }
    if millis < 60_000 {
        return format!("{:.1} s", millis as f64 / 1000.0);
    }
    let secs = millis / 1000;
    if secs < 3600 {
        return format!("{} min {} s", secs / 60, secs % 60);
    }
    format!("{} h {} min", secs / 3600, (secs % 3600) / 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_people_say_them() {
        assert_eq!(format_duration(850), "850 ms");
        assert_eq!(format_duration(12_340), "12.3 s");
        assert_eq!(format_duration(245_000), "4 min 5 s");
        assert_eq!(format_duration(7_380_000), "2 h 3 min");
    }

    #[test]
    fn plain_text_searches_names_and_filters_pass_through() {
        assert_eq!(
            as_filter("it's", "name"),
            ("name ILIKE '%it''s%'".to_owned(), false)
        );
        assert_eq!(
            as_filter("metrics.acc > 0.9", "run_name"),
            ("metrics.acc > 0.9".to_owned(), true)
        );
    }
}
