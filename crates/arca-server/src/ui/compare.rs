//! Comparing a model's versions: two to ten side by side (`/models/{name}/compare?v=1&v=2`),
//! and one metric across the newest versions as a chart (`/models/{name}/chart?metric=...`).
//!
//! The side-by-side page reads each version, its run, its `MLmodel` and its files' digests (the
//! artifact manifest, one range scan per version): at most ten of each. The chart reads
//! versions a page at a time and the runs' latest values of the one metric in batched `IN`
//! lists, so a model with thousands of versions costs a handful of statements; it stops at
//! [`CHART_MAX_VERSIONS`] and says so.

use super::mlmodel::{self, ModelInfo};
use super::page::OnPage;
use super::page::{Ctx, UiError, UiResult, encode, format_size, render};
use super::svg::{self, ChartPoint, LineChart};
use crate::AppState;
use crate::api::artifact_roots::store_path_of;
use arca_core::artifact_path::{ArtifactDigest, ArtifactPath};
use arca_core::model::{ModelVersion, VersionNumber};
use arca_core::search::{PageToken, SearchEntity, parse_filter, parse_order_by};
use arca_core::tracking::Run;
use askama::Template;
use axum::extract::{Path, Query, RawQuery, State};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

pub(crate) const COMPARE_MAX: usize = 10;
/// The chart covers at most this many of the newest versions.
pub(crate) const CHART_MAX_VERSIONS: u64 = 2_000;
const VERSION_PAGE: u64 = 1_000;
const TABLE_PAGE: usize = 50;

/// One cell of the comparison: text, and a link when it names something with a page.
pub(crate) struct Cell {
    pub text: String,
    pub url: Option<String>,
}

impl Cell {
    fn text(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            url: None,
        }
    }
}

pub(crate) struct Row {
    pub label: String,
    pub cells: Vec<Cell>,
    pub differs: bool,
}

impl Row {
    fn new(label: impl Into<String>, cells: Vec<Cell>) -> Row {
        let differs = cells.windows(2).any(|w| w[0].text != w[1].text);
        Row {
            label: label.into(),
            cells,
            differs,
        }
    }
}

pub(crate) struct Section {
    pub id: &'static str,
    pub title: &'static str,
    pub rows: Vec<Row>,
    pub empty: &'static str,
}

struct Column {
    version: ModelVersion,
    run: Option<Run>,
    files: Option<Vec<ArtifactDigest>>,
    mlmodel: Option<ModelInfo>,
}

#[derive(Template)]
#[template(path = "compare.html")]
struct ComparePage {
    ctx: Ctx,
    name: String,
    model_url: String,
    /// (version, link) per column.
    versions: Vec<(String, String)>,
    sections: Vec<Section>,
    only_differences: bool,
    differing: usize,
    chosen: String,
    toggle_url: String,
    /// (later version, earlier version, what breaks) for each version whose signature breaks
    /// callers of the first version's.
    breaking: Vec<(String, String, Vec<String>)>,
}

/// `v=1&v=3` (repeated) or `versions=1, 3` (the page's own form), in the order given.
fn requested_versions(ctx: &Ctx, raw: Option<&str>) -> UiResult<(Vec<VersionNumber>, bool)> {
    let mut given = Vec::new();
    let mut only_differences = false;
    for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_encoding::percent_decode_str(&value.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned();
        match key {
            "v" => given.push(value),
            "versions" => given.extend(
                value
                    .split([',', ' '])
                    .filter(|s| !s.trim().is_empty())
                    .map(str::to_owned),
            ),
            "only" => only_differences = value == "differences",
            _ => {}
        }
    }
    let mut versions: Vec<VersionNumber> = Vec::new();
    for raw in &given {
        let v = VersionNumber::parse(raw.trim().trim_start_matches(['v', 'V'])).map_err(|_| {
            UiError::invalid(
                ctx,
                format!("'{raw}' is not a version number: use whole numbers such as 1 and 2."),
            )
        })?;
        if !versions.contains(&v) {
            versions.push(v);
        }
    }
    if !given.is_empty() && !(2..=COMPARE_MAX).contains(&versions.len()) {
        return Err(UiError::invalid(
            ctx,
            format!(
                "Choose from 2 to {COMPARE_MAX} different versions to compare; {} {} given.",
                versions.len(),
                if versions.len() == 1 { "was" } else { "were" }
            ),
        ));
    }
    Ok((versions, only_differences))
}

pub(crate) async fn compare(
    ctx: Ctx,
    State(app): State<AppState>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> UiResult {
    let ctx = ctx.with_section("models");
    let (numbers, only_differences) = requested_versions(&ctx, query.as_deref())?;
    app.metadata
        .get_registered_model(&name)
        .await
        .on_page(&ctx)?;
    let mut columns = Vec::with_capacity(numbers.len());
    for &number in &numbers {
        let version = app
            .metadata
            .get_model_version(&name, number)
            .await
            .on_page(&ctx)?;
        columns.push(load_column(&app, version).await);
    }
    let breaking = match columns.split_first() {
        Some((first, rest)) => rest
            .iter()
            .filter_map(|c| {
                let changes = crate::api::diff::breaking_changes(
                    first.mlmodel.as_ref()?,
                    c.mlmodel.as_ref()?,
                );
                (!changes.is_empty()).then(|| {
                    (
                        c.version.version.to_string(),
                        first.version.version.to_string(),
                        changes,
                    )
                })
            })
            .collect(),
        None => Vec::new(),
    };
    let mut sections = sections(&ctx, &columns);
    let differing = sections
        .iter()
        .flat_map(|s| &s.rows)
        .filter(|r| r.differs)
        .count();
    if only_differences {
        for section in &mut sections {
            section.rows.retain(|r| r.differs);
        }
    }
    let chosen = numbers
        .iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let base = format!(
        "{}/compare?{}",
        ctx.model_url(&name),
        numbers
            .iter()
            .map(|v| format!("v={v}"))
            .collect::<Vec<_>>()
            .join("&")
    );
    let toggle_url = if only_differences {
        base
    } else {
        format!("{base}&only=differences")
    };
    Ok(render(&ComparePage {
        breaking,
        model_url: ctx.model_url(&name),
        versions: columns
            .iter()
            .map(|c| {
                (
                    c.version.version.to_string(),
                    ctx.version_url(&name, &c.version.version),
                )
            })
            .collect(),
        sections,
        only_differences,
        differing,
        chosen,
        toggle_url,
        name,
        ctx,
    }))
}

/// A version with its run, files and `MLmodel`; what cannot be read is left out (and the page
/// says "—"), so that one missing run does not hide the comparison.
async fn load_column(app: &AppState, version: ModelVersion) -> Column {
    let run = if version.run_id.is_empty() {
        None
    } else {
        app.metadata.get_run(&version.run_id).await.ok()
    };
    let root = app
        .metadata
        .get_model_version_download_uri(&version.name, version.version)
        .await
        .ok()
        .and_then(|uri| store_path_of(&uri))
        .flatten();
    let (files, mlmodel) = match &root {
        Some(root) => {
            let files = app.metadata.artifact_manifest(Some(root)).await.ok();
            let mlmodel = match ArtifactPath::parse(&format!("{root}/MLmodel")) {
                Ok(path) => mlmodel::read(&app.artifacts, &path).await,
                Err(_) => None,
            };
            let prefix = format!("{root}/");
            let files = files.map(|files| {
                files
                    .into_iter()
                    .map(|mut d| {
                        d.path = d.path.strip_prefix(&prefix).unwrap_or(&d.path).to_owned();
                        d
                    })
                    .collect()
            });
            (files, mlmodel)
        }
        None => (None, None),
    };
    Column {
        version,
        run,
        files,
        mlmodel,
    }
}

fn sections(ctx: &Ctx, columns: &[Column]) -> Vec<Section> {
    let overview = vec![
        Row::new(
            "Stage",
            columns
                .iter()
                .map(|c| Cell::text(c.version.current_stage.to_string()))
                .collect(),
        ),
        Row::new(
            "Aliases",
            columns
                .iter()
                .map(|c| {
                    Cell::text(
                        c.version
                            .aliases
                            .iter()
                            .map(|a| format!("@{a}"))
                            .collect::<Vec<_>>()
                            .join(" "),
                    )
                })
                .collect(),
        ),
        Row::new(
            "Source",
            columns
                .iter()
                .map(|c| Cell::text(&c.version.source))
                .collect(),
        ),
        Row::new(
            "Run",
            columns
                .iter()
                .map(|c| match (&c.run, c.version.run_id.as_str()) {
                    (_, "") => Cell::text(""),
                    (Some(run), id) => Cell {
                        text: run.info.run_name.clone(),
                        url: Some(ctx.run_url(id)),
                    },
                    (None, id) => Cell::text(format!("{id} (not found)")),
                })
                .collect(),
        ),
        Row::new(
            "Created",
            columns
                .iter()
                .map(|c| Cell::text(ctx.time(&c.version.creation_timestamp)))
                .collect(),
        ),
        Row::new(
            "Description",
            columns
                .iter()
                .map(|c| Cell::text(super::models::first_line(&c.version.description)))
                .collect(),
        ),
    ];
    // Source, run and creation time tell versions apart rather than describe them: they
    // differ between almost any two versions, so they are shown but never flagged.
    let mut overview = overview;
    for row in &mut overview[2..5] {
        row.differs = false;
    }

    let metrics = keyed_rows(columns, |c| {
        c.run
            .iter()
            .flat_map(|r| &r.metrics)
            .map(|m| (m.key.clone(), svg::format_value(m.value)))
            .collect()
    });
    let params = keyed_rows(columns, |c| {
        c.run
            .iter()
            .flat_map(|r| &r.params)
            .map(|p| (p.key.clone(), p.value.clone()))
            .collect()
    });
    let tags = keyed_rows(columns, |c| {
        c.version
            .tags
            .iter()
            .map(|t| (t.key.clone(), t.value.clone()))
            .collect()
    });
    let signature_rows = if columns.iter().any(|c| c.mlmodel.is_some()) {
        let describe = |cols: &[mlmodel::SignatureField]| {
            cols.iter()
                .map(|c| c.describe())
                .collect::<Vec<_>>()
                .join("\n")
        };
        vec![
            Row::new(
                "Flavors",
                columns
                    .iter()
                    .map(|c| {
                        Cell::text(c.mlmodel.as_ref().map_or_else(String::new, |m| {
                            m.flavors
                                .iter()
                                .map(|f| f.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        }))
                    })
                    .collect(),
            ),
            Row::new(
                "Inputs",
                columns
                    .iter()
                    .map(|c| {
                        Cell::text(
                            c.mlmodel
                                .as_ref()
                                .map_or_else(String::new, |m| describe(&m.inputs)),
                        )
                    })
                    .collect(),
            ),
            Row::new(
                "Outputs",
                columns
                    .iter()
                    .map(|c| {
                        Cell::text(
                            c.mlmodel
                                .as_ref()
                                .map_or_else(String::new, |m| describe(&m.outputs)),
                        )
                    })
                    .collect(),
            ),
        ]
    } else {
        Vec::new()
    };
    let files = keyed_rows(columns, |c| {
        c.files
            .iter()
            .flatten()
            .map(|d| {
                (
                    d.path.clone(),
                    format!(
                        "{} · {}",
                        &d.sha256[..d.sha256.len().min(12)],
                        format_size(u64::try_from(d.size).unwrap_or(0))
                    ),
                )
            })
            .collect()
    });
    vec![
        Section {
            id: "compare-overview",
            title: "Overview",
            rows: overview,
            empty: "",
        },
        Section {
            id: "compare-metrics",
            title: "Metrics of their runs",
            rows: metrics,
            empty: "None of these versions has a run with metrics.",
        },
        Section {
            id: "compare-params",
            title: "Parameters of their runs",
            rows: params,
            empty: "None of these versions has a run with parameters.",
        },
        Section {
            id: "compare-tags",
            title: "Version tags",
            rows: tags,
            empty: "None of these versions has tags.",
        },
        Section {
            id: "compare-signature",
            title: "Signature (from MLmodel)",
            rows: signature_rows,
            empty: "None of these versions has an MLmodel file in Arca's store.",
        },
        Section {
            id: "compare-files",
            title: "Files (SHA-256 · size)",
            rows: files,
            empty: "None of these versions has files recorded in Arca's store.",
        },
    ]
}

/// One row per key any column has, sorted; a column without the key shows "—".
fn keyed_rows(
    columns: &[Column],
    values: impl Fn(&Column) -> BTreeMap<String, String>,
) -> Vec<Row> {
    let per_column: Vec<BTreeMap<String, String>> = columns.iter().map(values).collect();
    let keys: BTreeSet<&String> = per_column.iter().flat_map(|m| m.keys()).collect();
    keys.into_iter()
        .map(|key| {
            Row::new(
                key.clone(),
                per_column
                    .iter()
                    .map(|m| Cell::text(m.get(key).cloned().unwrap_or_else(|| "—".to_owned())))
                    .collect(),
            )
        })
        .collect()
}

#[derive(Deserialize)]
pub(crate) struct ChartParams {
    metric: Option<String>,
    page: Option<String>,
}

struct ChartRow {
    version: String,
    url: String,
    stage: String,
    value: String,
    run_url: Option<String>,
}

#[derive(Template)]
#[template(path = "metric_chart.html")]
struct ChartPage {
    ctx: Ctx,
    name: String,
    model_url: String,
    keys: Vec<String>,
    metric: String,
    svg: String,
    charted: usize,
    without_value: usize,
    capped: bool,
    cap: u64,
    rows: Vec<ChartRow>,
    pager: super::models::Pager,
}

pub(crate) async fn chart(
    ctx: Ctx,
    State(app): State<AppState>,
    Path(name): Path<String>,
    Query(params): Query<ChartParams>,
) -> UiResult {
    let ctx = ctx.with_section("models");
    let page = super::models::parse_page(&ctx, params.page.as_deref())?;
    app.metadata
        .get_registered_model(&name)
        .await
        .on_page(&ctx)?;
    let (versions, capped) = newest_versions(&app, &name).await.on_page(&ctx)?;
    let run_ids: Vec<String> = versions
        .iter()
        .map(|v| v.run_id.clone())
        .filter(|id| !id.is_empty())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let keys = app
        .metadata
        .metric_keys_of_runs(&run_ids)
        .await
        .on_page(&ctx)?;
    let metric = params
        .metric
        .filter(|m| !m.trim().is_empty())
        .or_else(|| keys.first().cloned())
        .unwrap_or_default();
    if !metric.is_empty() && !keys.contains(&metric) {
        return Err(UiError::invalid(
            &ctx,
            format!(
                "No version of {name} has a run with the metric '{metric}'. Metrics they have: {}.",
                if keys.is_empty() {
                    "none".to_owned()
                } else {
                    keys.join(", ")
                }
            ),
        ));
    }
    let values = if metric.is_empty() {
        Default::default()
    } else {
        app.metadata
            .latest_metrics_of_runs(&run_ids, Some(&metric))
            .await
            .on_page(&ctx)?
    };
    let value_of = |v: &ModelVersion| {
        values
            .get(&v.run_id)
            .and_then(|ms| ms.first())
            .map(|m| m.value)
    };
    // `versions` is newest first; the chart reads left to right, oldest first.
    let points: Vec<ChartPoint> = versions
        .iter()
        .rev()
        .filter_map(|v| {
            value_of(v).map(|y| ChartPoint {
                x: v.version.get() as f64,
                y,
                hover: format!("version {}: {}", v.version, svg::format_value(y)),
            })
        })
        .collect();
    let drawn = svg::line_chart(&LineChart {
        title: &format!("{metric} by version"),
        x_label: "version",
        y_label: &metric,
        integer_x: true,
        points: &points,
    });
    let with_value: Vec<&ModelVersion> =
        versions.iter().filter(|v| value_of(v).is_some()).collect();
    let start = (page as usize - 1) * TABLE_PAGE;
    let rows = with_value
        .iter()
        .skip(start)
        .take(TABLE_PAGE)
        .map(|v| ChartRow {
            version: v.version.to_string(),
            url: ctx.version_url(&name, &v.version),
            stage: v.current_stage.to_string(),
            value: value_of(v).map(svg::format_value).unwrap_or_default(),
            run_url: (!v.run_id.is_empty()).then(|| ctx.run_url(&v.run_id)),
        })
        .collect();
    let base = format!("{}/chart?metric={}", ctx.model_url(&name), encode(&metric));
    Ok(render(&ChartPage {
        model_url: ctx.model_url(&name),
        pager: super::models::Pager::new(&base, page, with_value.len() > start + TABLE_PAGE),
        charted: points.len(),
        without_value: versions.len() - with_value.len(),
        keys,
        metric,
        svg: drawn.svg,
        capped,
        cap: CHART_MAX_VERSIONS,
        rows,
        name,
        ctx,
    }))
}

/// The newest [`CHART_MAX_VERSIONS`] versions of a model, newest first, read a page at a time;
/// and whether there were more.
async fn newest_versions(
    app: &AppState,
    name: &str,
) -> arca_core::Result<(Vec<ModelVersion>, bool)> {
    let filter = parse_filter(
        SearchEntity::ModelVersions,
        &format!("name = '{}'", name.replace('\'', "''")),
    )?;
    let order = parse_order_by(
        SearchEntity::ModelVersions,
        &["version_number DESC".to_owned()],
    )?;
    let mut versions = Vec::new();
    let mut token: Option<PageToken> = None;
    loop {
        let want = (CHART_MAX_VERSIONS - versions.len() as u64).min(VERSION_PAGE);
        let found = app
            .metadata
            .search_model_versions(&filter, &order, want, token.as_ref())
            .await?;
        versions.extend(found.items);
        let has_more = found.next_page_token.is_some();
        if versions.len() as u64 >= CHART_MAX_VERSIONS || !has_more {
            return Ok((versions, has_more));
        }
        token = Some(PageToken::offset(versions.len() as u64));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Ctx {
        Ctx {
            prefix: String::new(),
            csrf: String::new(),
            section: "",
            viewer: None,
        }
    }

    fn parsed(q: &str) -> Result<Vec<String>, ()> {
        requested_versions(&ctx(), Some(q))
            .map(|(v, _)| v.iter().map(|v| v.to_string()).collect())
            .map_err(|_| ())
    }

    #[test]
    fn versions_come_from_repeated_v_or_a_typed_list() {
        assert_eq!(parsed("v=1&v=3"), Ok(vec!["1".into(), "3".into()]));
        assert_eq!(
            parsed("versions=2%2C+5%2C7"),
            Ok(vec!["2".into(), "5".into(), "7".into()])
        );
        assert_eq!(parsed("v=1&v=1&v=2"), Ok(vec!["1".into(), "2".into()]));
        assert_eq!(parsed(""), Ok(vec![]));
        assert!(parsed("v=1").is_err());
        assert!(parsed("v=1&v=x").is_err());
        let eleven = (1..=11)
            .map(|i| format!("v={i}"))
            .collect::<Vec<_>>()
            .join("&");
        assert!(parsed(&eleven).is_err());
    }

    #[test]
    fn a_row_differs_when_any_two_cells_differ() {
        assert!(!Row::new("a", vec![Cell::text("1"), Cell::text("1")]).differs);
        assert!(Row::new("a", vec![Cell::text("1"), Cell::text("—")]).differs);
    }
}
