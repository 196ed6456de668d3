//! A run: its params, tags, metrics with a chart of each metric's history over steps, the
//! logged models it produced, and a browser of its artifacts (`/runs/{id}/artifacts?path=dir`)
//! with download links through the artifact proxy and a "Register" action on every folder
//! that holds an `MLmodel` file (see `register.rs`).

use super::page::OnPage;
use super::page::{Ctx, UiError, UiResult, encode, format_size, render};
use super::svg::{self, ChartPoint, LineChart};
use crate::AppState;
use crate::api::artifact_roots::store_path_of;
use arca_core::artifact_path::ArtifactPath;
use arca_core::search::{complete_logged_model_order, parse_logged_model_filter};
use arca_core::tracking::{LoggedModel, Run};
use askama::Template;
use axum::extract::{Path, Query, State};
use serde::Deserialize;

/// Charts drawn when the page does not name one: the first metrics by name.
const DEFAULT_CHARTS: usize = 6;
/// The most history points read for one chart (the chart thins them to `svg::MAX_DRAWN`).
const HISTORY_MAX: u64 = 100_000;
/// Folders of one listing checked for an `MLmodel` file (one existence check each).
const MODEL_CHECKS_MAX: usize = 50;
const LOGGED_MODELS_MAX: u64 = 100;

pub(crate) struct Chart {
    pub key: String,
    pub svg: String,
    pub points: usize,
}

pub(crate) struct MetricRow {
    pub key: String,
    pub value: String,
    pub step: i64,
    pub chart_url: String,
}

pub(crate) struct LoggedModelRow {
    pub name: String,
    pub model_id: String,
    pub model_type: String,
    pub status: String,
    pub created: String,
    pub register_url: String,
}

pub(crate) struct EntryRow {
    pub name: String,
    pub is_dir: bool,
    pub size: String,
    pub url: String,
    pub register_url: Option<String>,
}

/// A folder of a run's artifacts, as the browser shows it.
pub(crate) struct Listing {
    /// Why nothing can be listed (the run's files are outside Arca's store), if so.
    pub outside: Option<String>,
    /// Relative to the run's artifact root; empty at the root.
    pub path: String,
    /// (folder name, link) from the root down to `path`.
    pub crumbs: Vec<(String, String)>,
    pub entries: Vec<EntryRow>,
    /// Set when `path` itself holds an `MLmodel` file.
    pub register_here: Option<String>,
}

#[derive(Template)]
#[template(path = "run.html")]
struct RunPage {
    ctx: Ctx,
    run: Run,
    experiment_url: String,
    experiment_name: String,
    duration: String,
    params: Vec<(String, String)>,
    tags: Vec<(String, String)>,
    metrics: Vec<MetricRow>,
    charts: Vec<Chart>,
    more_charts: usize,
    logged_models: Vec<LoggedModelRow>,
    listing: Listing,
}

#[derive(Deserialize, Default)]
pub(crate) struct RunParams {
    chart: Option<String>,
}

pub(crate) async fn show(
    ctx: Ctx,
    State(app): State<AppState>,
    Path(run_id): Path<String>,
    Query(params): Query<RunParams>,
) -> UiResult {
    let ctx = ctx.with_section("experiments");
    let run = app.metadata.get_run(&run_id).await.on_page(&ctx)?;
    let experiment_name = app
        .metadata
        .get_experiment(&run.info.experiment_id)
        .await
        .map(|e| e.name)
        .unwrap_or_else(|_| run.info.experiment_id.clone());
    let run_url = ctx.run_url(&run.info.run_id);

    let mut metrics: Vec<_> = run.metrics.iter().collect();
    metrics.sort_by(|a, b| a.key.cmp(&b.key));
    let chosen: Vec<String> = match params.chart.filter(|c| !c.is_empty()) {
        Some(key) if metrics.iter().any(|m| m.key == key) => vec![key],
        Some(key) => {
            return Err(UiError::invalid(
                &ctx,
                format!("This run has no metric named '{key}'."),
            ));
        }
        None => metrics
            .iter()
            .take(DEFAULT_CHARTS)
            .map(|m| m.key.clone())
            .collect(),
    };
    let mut charts = Vec::with_capacity(chosen.len());
    for key in &chosen {
        charts.push(
            history_chart(&app, &run.info.run_id, key)
                .await
                .on_page(&ctx)?,
        );
    }
    let metric_rows = metrics
        .iter()
        .map(|m| MetricRow {
            key: m.key.clone(),
            value: svg::format_value(m.value),
            step: m.step,
            chart_url: format!("{run_url}?chart={}#metric-charts", encode(&m.key)),
        })
        .collect();

    let logged_models = logged_models_of(&app, &run)
        .await
        .on_page(&ctx)?
        .iter()
        .map(|m| LoggedModelRow {
            name: m.name.clone(),
            model_id: m.model_id.clone(),
            model_type: m.model_type.clone(),
            status: format!("{:?}", m.status),
            created: ctx.time(&m.creation_timestamp_ms),
            register_url: format!("{run_url}/register?model_id={}", encode(&m.model_id)),
        })
        .collect();
    let listing = artifact_listing(&app, &ctx, &run, None).await?;
    let mut params: Vec<(String, String)> = run
        .params
        .iter()
        .map(|p| (p.key.clone(), p.value.clone()))
        .collect();
    params.sort();
    let tags = run
        .tags
        .iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect();
    Ok(render(&RunPage {
        experiment_url: ctx.experiment_url(&run.info.experiment_id),
        experiment_name,
        duration: run
            .info
            .end_time
            .map(|end| super::experiments::format_duration(end - run.info.start_time))
            .unwrap_or_default(),
        more_charts: metrics.len() - charts.len(),
        params,
        tags,
        metrics: metric_rows,
        charts,
        logged_models,
        listing,
        run,
        ctx,
    }))
}

async fn history_chart(app: &AppState, run_id: &str, key: &str) -> arca_core::Result<Chart> {
    let history = app
        .metadata
        .get_metric_history(run_id, key, HISTORY_MAX, None)
        .await?;
    let points: Vec<ChartPoint> = history
        .items
        .iter()
        .map(|m| ChartPoint {
            x: m.step as f64,
            y: m.value,
            hover: format!("step {}: {}", m.step, svg::format_value(m.value)),
        })
        .collect();
    let drawn = svg::line_chart(&LineChart {
        title: key,
        x_label: "step",
        y_label: key,
        integer_x: true,
        points: &points,
    });
    Ok(Chart {
        key: key.to_owned(),
        points: drawn.points,
        svg: drawn.svg,
    })
}

/// The logged models whose source run is `run`, newest first.
pub(crate) async fn logged_models_of(
    app: &AppState,
    run: &Run,
) -> arca_core::Result<Vec<LoggedModel>> {
    let filter = parse_logged_model_filter(&format!(
        "source_run_id = '{}'",
        run.info.run_id.replace('\'', "''")
    ))?;
    let order = complete_logged_model_order(Vec::new());
    Ok(app
        .metadata
        .search_logged_models(
            std::slice::from_ref(&run.info.experiment_id),
            &filter,
            &order,
            LOGGED_MODELS_MAX,
            None,
        )
        .await?
        .items)
}

#[derive(Template)]
#[template(path = "run_artifacts.html")]
struct ArtifactsPage {
    ctx: Ctx,
    run: Run,
    run_url: String,
    listing: Listing,
}

#[derive(Deserialize, Default)]
pub(crate) struct ArtifactParams {
    path: Option<String>,
}

pub(crate) async fn artifacts(
    ctx: Ctx,
    State(app): State<AppState>,
    Path(run_id): Path<String>,
    Query(params): Query<ArtifactParams>,
) -> UiResult {
    let ctx = ctx.with_section("experiments");
    let run = app.metadata.get_run(&run_id).await.on_page(&ctx)?;
    let sub = ArtifactPath::parse_dir(params.path.as_deref().unwrap_or("")).map_err(|e| {
        UiError::invalid(
            &ctx,
            format!(
                "'{}' is not a folder path: {e}",
                params.path.unwrap_or_default()
            ),
        )
    })?;
    let listing = artifact_listing(&app, &ctx, &run, sub.as_ref()).await?;
    Ok(render(&ArtifactsPage {
        run_url: ctx.run_url(&run.info.run_id),
        run,
        listing,
        ctx,
    }))
}

/// The store folder of a run's artifacts, when they are in Arca's store.
pub(crate) fn run_root(run: &Run) -> Option<ArtifactPath> {
    store_path_of(&run.info.artifact_uri).flatten()
}

/// A link that downloads `path` through the artifact proxy.
pub(crate) fn download_url(ctx: &Ctx, path: &ArtifactPath) -> String {
    let encoded: Vec<String> = path.segments().map(encode).collect();
    ctx.url(&format!(
        "/api/2.0/mlflow-artifacts/artifacts/{}",
        encoded.join("/")
    ))
}

async fn artifact_listing(
    app: &AppState,
    ctx: &Ctx,
    run: &Run,
    sub: Option<&ArtifactPath>,
) -> UiResult<Listing> {
    let run_url = ctx.run_url(&run.info.run_id);
    let browse = |rel: &str| format!("{run_url}/artifacts?path={}", encode(rel));
    let register = |rel: &str| format!("{run_url}/register?path={}", encode(rel));
    let rel = sub.map_or(String::new(), |s| s.as_str().to_owned());
    let mut crumbs = vec![("artifacts".to_owned(), browse(""))];
    if let Some(sub) = sub {
        let mut so_far = String::new();
        for segment in sub.segments() {
            if !so_far.is_empty() {
                so_far.push('/');
            }
            so_far.push_str(segment);
            crumbs.push((segment.to_owned(), browse(&so_far)));
        }
    }
    let Some(root) = run_root(run) else {
        return Ok(Listing {
            outside: Some(format!(
                "This run's artifacts are at {}, outside Arca's store, so they cannot be listed here.",
                run.info.artifact_uri
            )),
            path: rel,
            crumbs,
            entries: Vec::new(),
            register_here: None,
        });
    };
    let dir = match sub {
        Some(sub) => root.join(sub).map_err(|e| UiError::new(ctx, e))?,
        None => root.clone(),
    };
    let mut listed = app.artifacts.list(Some(&dir)).await.map_err(|e| {
        UiError::new(
            ctx,
            arca_core::Error::Internal(anyhow::Error::new(e).context("listing a run's artifacts")),
        )
    })?;
    listed.sort_by(|a, b| b.is_dir.cmp(&a.is_dir).then_with(|| a.name.cmp(&b.name)));
    let child_rel = |name: &str| {
        if rel.is_empty() {
            name.to_owned()
        } else {
            format!("{rel}/{name}")
        }
    };
    let mut entries = Vec::with_capacity(listed.len());
    let mut checked = 0;
    let mut register_here = None;
    for entry in &listed {
        let Ok(path) = ArtifactPath::parse(&format!("{dir}/{}", entry.name)) else {
            continue;
        };
        if !entry.is_dir && entry.name == "MLmodel" && !rel.is_empty() {
            register_here = Some(register(&rel));
        }
        let register_url = if entry.is_dir && checked < MODEL_CHECKS_MAX {
            checked += 1;
            let mlmodel = ArtifactPath::parse(&format!("{path}/MLmodel"));
            match mlmodel {
                Ok(m) if app.artifacts.exists(&m).await.unwrap_or(false) => {
                    Some(register(&child_rel(&entry.name)))
                }
                _ => None,
            }
        } else {
            None
        };
        entries.push(EntryRow {
            url: if entry.is_dir {
                browse(&child_rel(&entry.name))
            } else {
                download_url(ctx, &path)
            },
            size: entry.size.map(format_size).unwrap_or_default(),
            name: entry.name.clone(),
            is_dir: entry.is_dir,
            register_url,
        });
    }
    Ok(Listing {
        outside: None,
        path: rel,
        crumbs,
        entries,
        register_here,
    })
}
