//! A version's page (`/models/{name}/versions/{version}`): its facts, where it came from (run,
//! experiment, logged model, the ZenML pipeline recorded in its tags), its run's metrics and
//! params, its files with their SHA-256, what its `MLmodel` says, how to load it, and the
//! changes a person makes to it (description, tags, stage, aliases, deletion).
//!
//! Each change is a form POST to a route below the page, checked by `CsrfForm`, then a redirect
//! back to the page with `?done=<what>` so that the page says what happened (a fixed set of
//! messages: nothing from the query string is echoed). The confirmation of each form says what
//! will change in words, including the versions a stage transition would archive and the
//! version an alias is moved away from; `assets/version.js` keeps the confirmations of the
//! stage and alias forms in step with what is chosen.

use super::markdown;
use super::mlmodel::{self, ModelInfo};
use super::page::{Ctx, ErrorPage, UiError, UiResult, format_size, render};
use super::version_files::{self, Kind, PREVIEW_BYTES, VersionFiles};
use crate::AppState;
use arca_core::model::{ModelName, ModelVersion, Stage, VersionNumber};
use arca_core::registry::VersionMetadata;
use arca_core::tracking::Run;
use askama::Template;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

/// How many rows of the run's metrics and params the page shows; the run page has them all.
const RUN_ROWS: usize = 200;
/// How many versions in a stage a confirmation names before it says "and more".
const STAGE_NAMES: u32 = 5;
const EXAMPLE_BYTES: usize = 64 * 1024;

/// The `{name}/{version}` of a version's URL, with a bad path answered as an HTML error page.
pub(crate) struct VersionPath(String, String);

impl<S: Send + Sync> FromRequestParts<S> for VersionPath {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<(String, String)>::from_request_parts(parts, state).await {
            Ok(Path((name, version))) => Ok(VersionPath(name, version)),
            Err(e) => Err(ErrorPage::plain(
                StatusCode::BAD_REQUEST,
                "That did not work",
                format!(
                    "The address does not name a model version: {}",
                    e.body_text()
                ),
            )
            .into_response()),
        }
    }
}

impl VersionPath {
    pub(crate) fn parse(&self, ctx: &Ctx) -> UiResult<(String, VersionNumber)> {
        let name = ModelName::parse(&self.0).map_err(|e| UiError::new(ctx, e))?;
        let version = VersionNumber::parse(&self.1).map_err(|_| {
            UiError::invalid(
                ctx,
                format!(
                    "'{}' is not a version number: use a whole number such as 3.",
                    self.1
                ),
            )
        })?;
        Ok((name.as_str().to_owned(), version))
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct PageParams {
    file: Option<String>,
    done: Option<String>,
}

struct Fact {
    label: &'static str,
    value: String,
    url: Option<String>,
    code: bool,
}

struct FileRow {
    path: String,
    size: String,
    sha256: String,
    download: String,
    preview: String,
    shown: bool,
}

struct Preview {
    path: String,
    text: Option<String>,
    image: Option<String>,
    truncated: bool,
    note: Option<String>,
    download: String,
}

struct Snippet {
    id: String,
    label: String,
    code: String,
}

struct StageChoice {
    value: &'static str,
    confirm: String,
    confirm_archive: String,
}

struct AliasMove {
    alias: String,
    from: String,
    confirm: String,
}

#[derive(Template)]
#[template(path = "version.html")]
struct VersionPage {
    ctx: Ctx,
    name: String,
    version: String,
    notice: Option<&'static str>,
    model_url: String,
    self_url: String,
    stage: String,
    facts: Vec<Fact>,
    description: String,
    description_html: String,
    aliases: Vec<(String, String)>,
    tags: Vec<(String, String, String)>,
    lineage: Vec<Fact>,
    run_note: Option<String>,
    metrics: Vec<(String, String, String)>,
    params: Vec<(String, String)>,
    run_more: Option<String>,
    run_url: Option<String>,
    files: Vec<FileRow>,
    files_root: String,
    files_note: Option<String>,
    preview: Option<Preview>,
    info: Option<ModelInfo>,
    input_example: Option<String>,
    snippets: Vec<Snippet>,
    stages: Vec<StageChoice>,
    alias_moves: Vec<AliasMove>,
    /// `alias=version` of every alias of the model, for the script's alias confirmation.
    model_aliases: String,
    delete_confirm: String,
    /// The version's latest events, newest first, and the link to all of them.
    events: Vec<super::history::EventRow>,
    history_url: String,
}

pub(crate) async fn page(
    ctx: Ctx,
    State(app): State<AppState>,
    target: VersionPath,
    Query(params): Query<PageParams>,
) -> UiResult {
    let ctx = ctx.with_section("models");
    let (name, version) = target.parse(&ctx)?;
    let fail = |e| UiError::new(&ctx, e);
    let mv = app
        .metadata
        .get_model_version(&name, version)
        .await
        .map_err(fail)?;
    let model = app
        .metadata
        .get_registered_model(&name)
        .await
        .map_err(fail)?;
    let run = if mv.run_id.is_empty() {
        None
    } else {
        Some(app.metadata.get_run(&mv.run_id).await)
    };
    let experiment_name = match &run {
        Some(Ok(run)) => app
            .metadata
            .get_experiment(&run.info.experiment_id)
            .await
            .ok()
            .map(|e| e.name),
        _ => None,
    };
    let logged_model = match &mv.model_id {
        Some(id) => app.metadata.get_logged_model(id).await.ok(),
        None => None,
    };
    let files = version_files::list(&app, &name, version)
        .await
        .map_err(fail)?;
    let (info, input_example) = read_model_info(&app, &files).await;
    let preview = match params.file.as_deref().filter(|f| !f.is_empty()) {
        Some(path) => Some(preview(&ctx, &app, &files, &name, version, path).await?),
        None => None,
    };
    let mut in_stage = Vec::new();
    for stage in [Stage::Staging, Stage::Production] {
        let versions = app
            .metadata
            .versions_in_stage(&name, stage, STAGE_NAMES + 1)
            .await
            .map_err(fail)?;
        in_stage.push((stage, versions));
    }

    let self_url = ctx.version_url(&name, &version);
    let run_url = (!mv.run_id.is_empty()).then(|| ctx.run_url(&mv.run_id));
    let (metrics, params_rows, run_note, run_more) = run_rows(&run, &mv.run_id);
    let model_aliases = model
        .aliases
        .iter()
        .map(|a| format!("{}={}", a.alias, a.version))
        .collect::<Vec<_>>()
        .join(",");
    let alias_moves = model
        .aliases
        .iter()
        .filter(|a| a.version != version)
        .map(|a| AliasMove {
            confirm: format!(
                "Moves @{} from version {} to version {version} of {name}.",
                a.alias, a.version
            ),
            alias: a.alias.clone(),
            from: a.version.to_string(),
        })
        .collect();
    // A missing history leaves the section empty rather than failing the page.
    let recent = app
        .metadata
        .search_events(
            &arca_store::HistoryFilter {
                name: Some(name.clone()),
                version: Some(version.get()),
                ..arca_store::HistoryFilter::default()
            },
            10,
            None,
        )
        .await
        .map(|page| page.items)
        .unwrap_or_default();
    let page = VersionPage {
        events: recent
            .iter()
            .map(|e| super::history::event_row(&ctx, e))
            .collect(),
        history_url: format!("{}/history?version={version}", ctx.model_url(&name)),
        notice: params.done.as_deref().and_then(done_message),
        model_url: ctx.model_url(&name),
        stage: mv.current_stage.to_string(),
        facts: facts(&mv),
        description_html: markdown::render(&mv.description),
        description: mv.description.clone(),
        aliases: mv
            .aliases
            .iter()
            .map(|a| {
                (
                    a.clone(),
                    format!(
                        "Removes @{a} from version {version}: models:/{name}@{a} will no longer \
                         load anything."
                    ),
                )
            })
            .collect(),
        tags: mv
            .tags
            .iter()
            .map(|t| {
                (
                    t.key.clone(),
                    t.value.clone(),
                    format!("Deletes the tag {} from version {version}.", t.key),
                )
            })
            .collect(),
        lineage: lineage(&ctx, &mv, &run, experiment_name, logged_model),
        run_note,
        metrics,
        params: params_rows,
        run_more,
        run_url,
        files: file_rows(&ctx, &self_url, &files, preview.as_ref()),
        files_root: files.root_uri.clone(),
        files_note: files_note(&files),
        preview,
        info,
        input_example,
        snippets: snippets(&name, version, &mv.aliases),
        stages: stage_choices(&name, version, mv.current_stage, &in_stage),
        alias_moves,
        model_aliases,
        delete_confirm: delete_confirm(&name, version, &mv.aliases),
        name,
        version: version.to_string(),
        self_url,
        ctx,
    };
    Ok(render(&page))
}

fn done_message(done: &str) -> Option<&'static str> {
    Some(match done {
        "description" => "The description was saved.",
        "tag-set" => "The tag was set.",
        "tag-deleted" => "The tag was deleted.",
        "stage" => "The stage was changed.",
        "alias-set" => "The alias now points at this version.",
        "alias-deleted" => "The alias was removed.",
        _ => return None,
    })
}

fn facts(mv: &ModelVersion) -> Vec<Fact> {
    let fact = |label, value: String, code| Fact {
        label,
        value,
        url: None,
        code,
    };
    vec![
        fact("Stage", mv.current_stage.to_string(), false),
        // Arca keeps no pending versions: every version the API returns is READY.
        fact("Status", "Ready".to_owned(), false),
        fact("Source", mv.source.clone(), true),
        fact(
            "Created by",
            mv.user_id
                .clone()
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| "unknown".into()),
            false,
        ),
        fact(
            "Created",
            super::page::format_time(mv.creation_timestamp),
            false,
        ),
        fact(
            "Updated",
            super::page::format_time(mv.last_updated_timestamp),
            false,
        ),
    ]
}

fn lineage(
    ctx: &Ctx,
    mv: &ModelVersion,
    run: &Option<arca_core::Result<Run>>,
    experiment_name: Option<String>,
    logged_model: Option<arca_core::tracking::LoggedModel>,
) -> Vec<Fact> {
    let mut out = Vec::new();
    if let Some(Ok(run)) = run {
        let id = &run.info.experiment_id;
        out.push(Fact {
            label: "Experiment",
            value: match experiment_name {
                Some(n) => format!("{n} ({id})"),
                None => id.clone(),
            },
            url: Some(ctx.experiment_url(id)),
            code: false,
        });
    }
    if !mv.run_id.is_empty() {
        let value = match run {
            Some(Ok(run)) if !run.info.run_name.is_empty() => {
                format!("{} ({})", run.info.run_name, mv.run_id)
            }
            _ => mv.run_id.clone(),
        };
        out.push(Fact {
            label: "Run",
            value,
            url: Some(ctx.run_url(&mv.run_id)),
            code: false,
        });
    }
    if let Some(id) = &mv.model_id {
        let (value, url) = match &logged_model {
            Some(m) => (
                format!("models:/{id} ({})", m.name),
                m.source_run_id.as_deref().map(|r| ctx.run_url(r)),
            ),
            None => (format!("models:/{id}"), None),
        };
        out.push(Fact {
            label: "Logged model",
            value,
            url,
            code: true,
        });
    }
    let meta = VersionMetadata::from_tags(&mv.tags);
    for (field, _key, value) in meta.lineage() {
        let label = match field {
            "pipeline_name" => "ZenML pipeline",
            "pipeline_run_id" => "ZenML pipeline run",
            "step_name" => "ZenML step",
            "run_name" => "ZenML run name",
            "pipeline_id" => "ZenML pipeline id",
            "project" => "ZenML project",
            "zenml_version" => "ZenML version",
            _ => "ZenML",
        };
        out.push(Fact {
            label,
            value: value.to_owned(),
            url: None,
            code: matches!(field, "pipeline_run_id" | "pipeline_id"),
        });
    }
    if let Some(tag) = mv
        .tags
        .iter()
        .find(|t| t.key == "mlflow_run_id" && !t.value.is_empty() && t.value != mv.run_id)
    {
        out.push(Fact {
            label: "MLflow run (tag)",
            value: tag.value.clone(),
            url: Some(ctx.run_url(&tag.value)),
            code: false,
        });
    }
    out
}

type RunRows = (
    Vec<(String, String, String)>,
    Vec<(String, String)>,
    Option<String>,
    Option<String>,
);

fn run_rows(run: &Option<arca_core::Result<Run>>, run_id: &str) -> RunRows {
    match run {
        None => (
            Vec::new(),
            Vec::new(),
            Some(
                "This version was registered without a run, so it has no metrics or params.".into(),
            ),
            None,
        ),
        Some(Err(e)) => (
            Vec::new(),
            Vec::new(),
            Some(format!("The run {run_id} could not be read: {e}")),
            None,
        ),
        Some(Ok(run)) => {
            let mut metrics: Vec<_> = run.metrics.iter().collect();
            metrics.sort_by(|a, b| a.key.cmp(&b.key));
            let mut params: Vec<_> = run.params.iter().collect();
            params.sort_by(|a, b| a.key.cmp(&b.key));
            let more = (metrics.len() > RUN_ROWS || params.len() > RUN_ROWS).then(|| {
                format!(
                    "The run has {} metrics and {} params; the first {RUN_ROWS} of each are shown.",
                    metrics.len(),
                    params.len()
                )
            });
            (
                metrics
                    .iter()
                    .take(RUN_ROWS)
                    .map(|m| (m.key.clone(), format_metric(m.value), m.step.to_string()))
                    .collect(),
                params
                    .iter()
                    .take(RUN_ROWS)
                    .map(|p| (p.key.clone(), p.value.clone()))
                    .collect(),
                None,
                more,
            )
        }
    }
}

/// A metric as people compare them: up to 6 significant decimals, no float noise.
fn format_metric(value: f64) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "∞" } else { "−∞" }.into();
    }
    if value != 0.0 && (value.abs() >= 1e12 || value.abs() < 1e-4) {
        return format!("{value:.6e}");
    }
    let text = format!("{value:.6}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" { "0" } else { text }.to_owned()
}

fn file_rows(
    ctx: &Ctx,
    self_url: &str,
    files: &VersionFiles,
    preview: Option<&Preview>,
) -> Vec<FileRow> {
    files
        .files
        .iter()
        .map(|f| FileRow {
            size: f.size.map(format_size).unwrap_or_else(|| "unknown".into()),
            sha256: f.sha256.clone().unwrap_or_default(),
            download: version_files::download_url(ctx, &f.store_path),
            preview: format!("{self_url}?file={}#preview", super::page::encode(&f.path)),
            shown: preview.is_some_and(|p| p.path == f.path),
            path: f.path.clone(),
        })
        .collect()
}

fn files_note(files: &VersionFiles) -> Option<String> {
    if files.outside {
        Some(format!(
            "The files of this version are at {}, outside Arca's artifact store, so Arca cannot \
             list them.",
            files.root_uri
        ))
    } else if files.files.is_empty() {
        Some("No files are stored for this version yet.".into())
    } else if files.truncated {
        Some(format!(
            "The first {} files are listed; the version has more.",
            version_files::MAX_FILES
        ))
    } else {
        None
    }
}

async fn read_model_info(
    app: &AppState,
    files: &VersionFiles,
) -> (Option<ModelInfo>, Option<String>) {
    let Some(file) = files.find("MLmodel") else {
        return (None, None);
    };
    let Ok((head, truncated)) =
        version_files::read_head(app, &file.store_path, PREVIEW_BYTES).await
    else {
        return (None, None);
    };
    let Some(text) = version_files::as_text(&head, truncated, "MLmodel") else {
        return (None, None);
    };
    let info = mlmodel::read_mlmodel(&text);
    let example = match info.input_example.as_deref().and_then(|p| files.find(p)) {
        Some(file) => version_files::read_head(app, &file.store_path, EXAMPLE_BYTES)
            .await
            .ok()
            .and_then(|(head, truncated)| {
                let text = version_files::as_text(&head, truncated, &file.path)?;
                Some(if truncated {
                    format!("{text}\n…")
                } else {
                    text
                })
            }),
        None => None,
    };
    (Some(info), example)
}

async fn preview(
    ctx: &Ctx,
    app: &AppState,
    files: &VersionFiles,
    name: &str,
    version: VersionNumber,
    path: &str,
) -> UiResult<Preview> {
    let Some(file) = files.find(path) else {
        return Err(UiError::new(
            ctx,
            arca_core::Error::not_found(format!("{name} version {version} has no file '{path}'.")),
        ));
    };
    let download = version_files::download_url(ctx, &file.store_path);
    if let Kind::Image(_) = version_files::kind_of(file.store_path.file_name()) {
        return Ok(Preview {
            path: path.to_owned(),
            text: None,
            image: Some(format!(
                "{}/image?path={}",
                ctx.version_url(name, &version),
                super::page::encode(path)
            )),
            truncated: false,
            note: None,
            download,
        });
    }
    let (head, truncated) = version_files::read_head(app, &file.store_path, PREVIEW_BYTES)
        .await
        .map_err(|e| UiError::new(ctx, e))?;
    let text = version_files::as_text(&head, truncated, &file.path);
    Ok(Preview {
        note: text.is_none().then(|| {
            "This file is not text or an image, so it has no preview; download it.".into()
        }),
        path: path.to_owned(),
        text,
        image: None,
        truncated,
        download,
    })
}

/// A text as a Python string literal, whatever it holds (quotes, backslashes, newlines).
pub(crate) fn python_str(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A text as one word for a POSIX shell: as it is when it is plain, else single-quoted.
pub(crate) fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c));
    if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// A folder name made from a model name: letters, digits, `-`, `_` and `.`, nothing else.
fn folder_name(name: &str, version: VersionNumber) -> String {
    let mut stem = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || "_.".contains(c) {
            stem.push(c);
        } else if !stem.ends_with('-') {
            stem.push('-');
        }
    }
    let stem = stem.trim_matches(['-', '.']);
    let stem = if stem.is_empty() { "model" } else { stem };
    format!("./{stem}-v{version}")
}

fn snippets(name: &str, version: VersionNumber, aliases: &[String]) -> Vec<Snippet> {
    let by_number = format!("models:/{name}/{version}");
    let mut out = vec![Snippet {
        id: "snippet-pyfunc".into(),
        label: "Load with mlflow".into(),
        code: format!(
            "import mlflow\n\nmodel = mlflow.pyfunc.load_model({})",
            python_str(&by_number)
        ),
    }];
    for (i, alias) in aliases.iter().enumerate() {
        out.push(Snippet {
            id: format!("snippet-alias-{i}"),
            label: format!("Load by the alias @{alias}"),
            code: format!(
                "import mlflow\n\nmodel = mlflow.pyfunc.load_model({})",
                python_str(&format!("models:/{name}@{alias}"))
            ),
        });
    }
    out.push(Snippet {
        id: "snippet-pull".into(),
        label: "Download the files with the arca CLI".into(),
        code: format!(
            "arca pull {} --output {}",
            shell_word(&by_number),
            shell_word(&folder_name(name, version))
        ),
    });
    out.push(Snippet {
        id: "snippet-zenml".into(),
        label: "Load in a ZenML step (the stack's MLflow model registry)".into(),
        code: format!(
            "from zenml.client import Client\n\nmodel_registry = Client().active_stack.model_registry\n\
             model = model_registry.load_model_version(name={}, version={})",
            python_str(name),
            python_str(&version.to_string())
        ),
    });
    out
}

fn describe_versions(versions: &[VersionNumber]) -> String {
    let shown: Vec<String> = versions
        .iter()
        .take(STAGE_NAMES as usize)
        .map(|v| format!("version {v}"))
        .collect();
    let mut text = shown.join(", ");
    if versions.len() > STAGE_NAMES as usize {
        text.push_str(" and more");
    }
    text
}

fn stage_choices(
    name: &str,
    version: VersionNumber,
    current: Stage,
    in_stage: &[(Stage, Vec<VersionNumber>)],
) -> Vec<StageChoice> {
    Stage::ALL
        .into_iter()
        .filter(|s| *s != current)
        .map(|stage| {
            let confirm = format!("Moves version {version} of {name} from {current} to {stage}.");
            let others: Vec<VersionNumber> = in_stage
                .iter()
                .find(|(s, _)| *s == stage)
                .map(|(_, v)| v.iter().copied().filter(|v| *v != version).collect())
                .unwrap_or_default();
            let confirm_archive = if !stage.is_active() {
                confirm.clone()
            } else if others.is_empty() {
                format!("{confirm} No other version is in {stage}, so none is archived.")
            } else {
                format!(
                    "{confirm} It also archives {}, now in {stage}.",
                    describe_versions(&others)
                )
            };
            StageChoice {
                value: stage.as_str(),
                confirm,
                confirm_archive,
            }
        })
        .collect()
}

fn delete_confirm(name: &str, version: VersionNumber, aliases: &[String]) -> String {
    let mut text = format!("Deletes version {version} of {name}");
    if !aliases.is_empty() {
        let names: Vec<String> = aliases.iter().map(|a| format!("@{a}")).collect();
        text.push_str(&format!(" and its aliases {}", names.join(", ")));
    }
    text.push_str(". Its number is never reused. This cannot be undone.");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(n: i64) -> VersionNumber {
        VersionNumber::parse(&n.to_string()).unwrap()
    }

    #[test]
    fn snippets_quote_names_for_python_and_the_shell() {
        assert_eq!(python_str(r#"a "b" \c"#), r#""a \"b\" \\c""#);
        assert_eq!(python_str("line\nnext"), r#""line\nnext""#);
        assert_eq!(shell_word("models:/fraud/3"), "models:/fraud/3");
        assert_eq!(
            shell_word("models:/it's mine/3"),
            r"'models:/it'\''s mine/3'"
        );
        assert_eq!(folder_name("it's mine", v(3)), "./it-s-mine-v3");
        assert_eq!(folder_name("???", v(1)), "./model-v1");
        let s = snippets("my \"model\"", v(2), &["champion".into()]);
        assert!(
            s[0].code
                .ends_with(r#"load_model("models:/my \"model\"/2")"#),
            "{}",
            s[0].code
        );
        assert!(
            s[1].code
                .ends_with(r#"load_model("models:/my \"model\"@champion")"#)
        );
        assert_eq!(
            s[2].code,
            "arca pull 'models:/my \"model\"/2' --output ./my-model-v2"
        );
        assert!(
            s[3].code
                .ends_with(r#"load_model_version(name="my \"model\"", version="2")"#)
        );
    }

    #[test]
    fn stage_confirmations_name_the_versions_archived() {
        let choices = stage_choices(
            "fraud",
            v(3),
            Stage::Staging,
            &[
                (Stage::Staging, vec![v(3)]),
                (Stage::Production, vec![v(2), v(1)]),
            ],
        );
        let values: Vec<_> = choices.iter().map(|c| c.value).collect();
        assert_eq!(values, ["None", "Production", "Archived"]);
        let prod = &choices[1];
        assert_eq!(
            prod.confirm,
            "Moves version 3 of fraud from Staging to Production."
        );
        assert_eq!(
            prod.confirm_archive,
            "Moves version 3 of fraud from Staging to Production. It also archives version 2, \
             version 1, now in Production."
        );
    }

    #[test]
    fn metrics_read_without_float_noise() {
        assert_eq!(format_metric(0.1 + 0.2), "0.3");
        assert_eq!(format_metric(42.0), "42");
        assert_eq!(format_metric(0.00001234), "1.234000e-5");
        assert_eq!(format_metric(f64::NAN), "NaN");
    }
}
