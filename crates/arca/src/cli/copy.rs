//! `arca copy --from URI --to URI`: registered models with their versions, descriptions, tags,
//! stages, aliases and files, from any registry to any other (an `mlflow server` into Arca, Arca
//! into a data directory, and back).
//!
//! Each copied version is made the way `arca versions register` makes one: a run in the target's
//! default experiment carries the source run's params, latest metrics and user tags; the files
//! stream from the source straight into that run's artifacts (checked against the source's
//! SHA-256 where it records one); the version gets `source = runs:/<new run>/model`, the source
//! version's description and tags (lineage included), and its stage. Aliases are set last, on the
//! copies of the versions they point at. Versions are copied oldest first, so a model new to the
//! target gets the same version numbers as in the source when the source has no gaps.
//!
//! Re-running copies only what is missing. A copied version carries two tags:
//! `arca.copied_from` = `models:/<name>/<version>` and `arca.copied_from_registry` = the `--from`
//! registry (its URL without a trailing `/`, or a local store's absolute path). A source version
//! whose copy is found by those tags is not copied again; its copy's stage and the model's
//! aliases are brought in line with the source. Versions already in the target by other means
//! are left alone. A run stopped half-way leaves at most an unused run behind, never a version
//! without its files.

use super::output::{self, Format, Table};
use super::transfer::{CheckedReader, progress_bar};
use super::{CliResult, Failure, OutputArgs, target};
use arca_core::model::VersionNumber;
use arca_core::model::{AliasName, ModelName, ModelVersion, RegisteredModel, Stage, Tag};
use arca_core::registry::{
    ModelQuery, ModelRegistry, ModelUpdate, NewRunRecord, NewVersion, RegistryError,
    VersionMetadata, VersionOrder, VersionQuery,
};
use clap::Args;
use serde_json::{Value, json};
use std::collections::HashMap;

pub const COPIED_FROM: &str = "arca.copied_from";
pub const COPIED_FROM_REGISTRY: &str = "arca.copied_from_registry";
const COPIED_FROM_RUN: &str = "arca.copied_from_run";
const PROMPT_TAG: &str = "mlflow.prompt.is_prompt";
/// The folder of a copied version's files in its run's artifacts.
const ARTIFACT_DIR: &str = "model";

#[derive(Args)]
pub struct CopyArgs {
    /// The registry to copy from: http(s)://host:port, an Arca data directory, or a database URI.
    #[arg(long, value_name = "URI")]
    from: String,
    /// The registry to copy into (same forms; a new local store is created).
    #[arg(long, value_name = "URI")]
    to: String,
    /// Copy only this model (repeatable). Default: every registered model.
    #[arg(long = "model", value_name = "NAME")]
    models: Vec<String>,
    /// Where --from keeps its files, when it is a store opened directly.
    #[arg(long, value_name = "URI")]
    from_artifacts_destination: Option<String>,
    /// Where --to keeps its files, when it is a store opened directly.
    #[arg(long, value_name = "URI")]
    to_artifacts_destination: Option<String>,
    /// Show what would be copied without changing the target.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    pub(super) output: OutputArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Copied,
    AlreadyCopied,
    WouldCopy,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::Copied => "copied",
            Action::AlreadyCopied => "already_copied",
            Action::WouldCopy => "would_copy",
        }
    }
}

struct VersionReport {
    source: VersionNumber,
    target: Option<VersionNumber>,
    action: Action,
    files: usize,
    bytes: u64,
    note: Option<String>,
}

struct ModelReport {
    name: String,
    action: &'static str,
    versions: Vec<VersionReport>,
    aliases: Vec<(String, VersionNumber)>,
}

/// How a registry is named in the `arca.copied_from_registry` tag.
fn registry_key(uri: &str) -> String {
    let uri = uri.trim();
    let lower = uri.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") || uri.contains("://") {
        return uri.trim_end_matches('/').to_owned();
    }
    let path = uri.strip_prefix("file:").unwrap_or(uri);
    std::path::absolute(path)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| uri.to_owned())
}

pub async fn run(args: CopyArgs) -> CliResult {
    let source =
        target::open_uri(&args.from, args.from_artifacts_destination.clone(), false).await?;
    let to_artifacts = args.to_artifacts_destination.clone();
    let dest = match target::open_uri(&args.to, to_artifacts, !args.dry_run).await {
        Ok(d) => Some(d),
        // A dry run into a local store that does not exist yet: everything would be copied.
        Err(e) if args.dry_run && e.code == Failure::NOT_FOUND => None,
        Err(e) => {
            source.close().await;
            return Err(e);
        }
    };
    let from_key = registry_key(&args.from);
    let target = dest.as_ref().map(|d| d.get());
    let result = copy_all(source.get(), target, &args, &from_key).await;
    source.close().await;
    if let Some(dest) = dest {
        dest.close().await;
    }
    let reports = result?;
    print_reports(&reports, &args, args.output.format());
    Ok(())
}

async fn copy_all(
    src: &dyn ModelRegistry,
    dst: Option<&dyn ModelRegistry>,
    args: &CopyArgs,
    from_key: &str,
) -> CliResult<Vec<ModelReport>> {
    let models = if args.models.is_empty() {
        src.list_models(&ModelQuery::default()).await?
    } else {
        let mut models = Vec::new();
        for name in &args.models {
            models.push(src.get_model(name).await.map_err(|e| {
                Failure::from(e).with_context(&format!("--model {name} in {}", args.from))
            })?);
        }
        models
    };
    let mut reports = Vec::new();
    for model in &models {
        reports.push(copy_model(src, dst, model, from_key, args.dry_run).await?);
    }
    Ok(reports)
}

impl Failure {
    fn with_context(mut self, context: &str) -> Failure {
        self.message = format!("{context}: {}", self.message);
        self
    }
}

/// The source version each copy in `versions` was made from, by source version number.
fn copies_by_source(
    versions: &[ModelVersion],
    name: &str,
    from_key: &str,
) -> HashMap<VersionNumber, ModelVersion> {
    let prefix = format!("models:/{name}/");
    versions
        .iter()
        .filter(|v| {
            v.tags
                .iter()
                .any(|t| t.key == COPIED_FROM_REGISTRY && t.value == from_key)
        })
        .filter_map(|v| {
            let tag = v.tags.iter().find(|t| t.key == COPIED_FROM)?;
            let number = VersionNumber::parse(tag.value.strip_prefix(&prefix)?).ok()?;
            Some((number, v.clone()))
        })
        .collect()
}

/// Copies one model; `dst` is `None` only in a dry run into a store that does not exist yet.
async fn copy_model(
    src: &dyn ModelRegistry,
    dst: Option<&dyn ModelRegistry>,
    model: &RegisteredModel,
    from_key: &str,
    dry_run: bool,
) -> CliResult<ModelReport> {
    let name = model.name.as_str();
    let mut report = ModelReport {
        name: name.to_owned(),
        action: "existing",
        versions: Vec::new(),
        aliases: Vec::new(),
    };
    if model
        .tags
        .iter()
        .any(|t| t.key == PROMPT_TAG && t.value.eq_ignore_ascii_case("true"))
    {
        report.action = "skipped_prompt";
        return Ok(report);
    }
    let context =
        |e: RegistryError| Failure::from(e).with_context(&format!("copying model {name}"));

    let target_model = match dst.map(|d| d.get_model(name)) {
        Some(found) => match found.await {
            Ok(m) => Some(m),
            Err(RegistryError::NotFound(_)) => None,
            Err(e) => return Err(context(e)),
        },
        None => None,
    };
    // Writes below happen only when not a dry run, and then `dst` is always there.
    let writer = || dst.expect("a target registry outside dry runs");
    let target_model = match target_model {
        Some(existing) => {
            let missing: Vec<Tag> = model
                .tags
                .iter()
                .filter(|t| !existing.tags.iter().any(|e| e.key == t.key))
                .cloned()
                .collect();
            let description = model.description.clone().filter(|d| {
                !d.is_empty() && existing.description.as_deref().unwrap_or("").is_empty()
            });
            if !dry_run && (!missing.is_empty() || description.is_some()) {
                let update = ModelUpdate {
                    description,
                    set_tags: missing,
                    remove_tags: Vec::new(),
                };
                writer()
                    .update_model(name, &update)
                    .await
                    .map_err(context)?
            } else {
                existing
            }
        }
        None if dry_run => {
            report.action = "would_create";
            model.clone()
        }
        None => {
            let model_name = ModelName::parse(name)?;
            report.action = "created";
            writer()
                .register_model(&model_name, model.description.as_deref(), &model.tags)
                .await
                .map_err(context)?
        }
    };

    let oldest_first = |model: &str| VersionQuery {
        model: Some(model.to_owned()),
        order: VersionOrder::OldestFirst,
        ..Default::default()
    };
    let query = oldest_first(name);
    let source_versions = src.list_versions(&query).await.map_err(context)?;
    let existing = match dst {
        Some(dst) if report.action == "existing" => {
            dst.list_versions(&query).await.map_err(context)?
        }
        _ => Vec::new(),
    };
    let mut copies = copies_by_source(&existing, name, from_key);

    for version in &source_versions {
        if let Some(copy) = copies.get(&version.version) {
            if !dry_run && copy.current_stage != version.current_stage {
                writer()
                    .transition_stage(name, copy.version, version.current_stage, false)
                    .await
                    .map_err(context)?;
            }
            report.versions.push(VersionReport {
                source: version.version,
                target: Some(copy.version),
                action: Action::AlreadyCopied,
                files: 0,
                bytes: 0,
                note: None,
            });
            continue;
        }
        if dry_run {
            report.versions.push(VersionReport {
                source: version.version,
                target: None,
                action: Action::WouldCopy,
                files: 0,
                bytes: 0,
                note: None,
            });
            continue;
        }
        let (copy, version_report) = copy_version(src, writer(), version, from_key)
            .await
            .map_err(|e| e.with_context(&format!("copying {name} version {}", version.version)))?;
        copies.insert(version.version, copy);
        report.versions.push(version_report);
    }

    if !dry_run {
        for alias in &model.aliases {
            let Some(copy) = copies.get(&alias.version) else {
                continue;
            };
            let current = target_model
                .aliases
                .iter()
                .find(|a| a.alias == alias.alias)
                .map(|a| a.version);
            if current != Some(copy.version) {
                let alias_name = AliasName::parse(&alias.alias)?;
                writer()
                    .set_alias(name, &alias_name, copy.version)
                    .await
                    .map_err(context)?;
            }
            report.aliases.push((alias.alias.clone(), copy.version));
        }
    }
    Ok(report)
}

async fn copy_version(
    src: &dyn ModelRegistry,
    dst: &dyn ModelRegistry,
    version: &ModelVersion,
    from_key: &str,
) -> CliResult<(ModelVersion, VersionReport)> {
    let name = version.name.as_str();
    let mut metadata = VersionMetadata::from_tags(&version.tags);
    metadata.set(Tag {
        key: COPIED_FROM.into(),
        value: format!("models:/{name}/{}", version.version),
    });
    metadata.set(Tag {
        key: COPIED_FROM_REGISTRY.into(),
        value: from_key.to_owned(),
    });
    let mut files_copied = 0;
    let mut bytes = 0;
    let mut note = None;
    let (source, run_id) = match src.version_files(name, version.version).await {
        Ok(files) => {
            let source_run = match version.run_id.as_str() {
                "" => None,
                id => src.get_run(id).await.ok(),
            };
            let mut run_tags: Vec<Tag> = source_run
                .iter()
                .flat_map(|r| r.tags.iter())
                .filter(|t| !t.key.starts_with("mlflow."))
                .cloned()
                .collect();
            if !version.run_id.is_empty() {
                run_tags.push(Tag {
                    key: COPIED_FROM_RUN.into(),
                    value: version.run_id.clone(),
                });
            }
            let run = dst
                .create_run(&NewRunRecord {
                    experiment_id: "0".into(),
                    name: source_run
                        .as_ref()
                        .map(|r| r.name.clone())
                        .filter(|n| !n.is_empty()),
                    params: source_run
                        .as_ref()
                        .map(|r| r.params.clone())
                        .unwrap_or_default(),
                    metrics: source_run
                        .as_ref()
                        .map(|r| r.metrics.clone())
                        .unwrap_or_default(),
                    tags: run_tags,
                })
                .await?;
            let bar = progress_bar(files.total_size());
            for file in &files.files {
                bar.set_message(format!("{name} v{} {}", version.version, file.path));
                let reader = src.open_file(file).await?;
                let checked = CheckedReader::new(reader, bar.clone(), file.clone());
                dst.upload_file(
                    &run,
                    &format!("{ARTIFACT_DIR}/{}", file.path),
                    file.size,
                    Box::new(checked),
                )
                .await?;
                files_copied += 1;
                bytes += file.size.unwrap_or(0);
            }
            bar.finish_and_clear();
            dst.finish_run(&run.run_id).await?;
            (
                format!("runs:/{}/{ARTIFACT_DIR}", run.run_id),
                Some(run.run_id),
            )
        }
        // Files kept outside the source registry (s3://..., gs://...) stay where they are: the
        // copy points at the same place.
        Err(RegistryError::Unsupported(reason))
            if !version.source.starts_with("runs:/") && !version.source.starts_with("models:/") =>
        {
            note = Some(format!("files not copied: {reason}"));
            (version.source.clone(), None)
        }
        Err(e) => return Err(e.into()),
    };
    let copy = dst
        .register_version(
            &ModelName::parse(name)?,
            &NewVersion {
                source,
                run_id,
                description: Some(version.description.clone()).filter(|d| !d.is_empty()),
                metadata,
            },
        )
        .await?;
    let copy = if version.current_stage != Stage::None {
        dst.transition_stage(name, copy.version, version.current_stage, false)
            .await?
    } else {
        copy
    };
    let report = VersionReport {
        source: version.version,
        target: Some(copy.version),
        action: Action::Copied,
        files: files_copied,
        bytes,
        note,
    };
    Ok((copy, report))
}

fn print_reports(reports: &[ModelReport], args: &CopyArgs, format: Format) {
    let copied: usize = reports
        .iter()
        .flat_map(|m| &m.versions)
        .filter(|v| v.action == Action::Copied)
        .count();
    let already: usize = reports
        .iter()
        .flat_map(|m| &m.versions)
        .filter(|v| v.action == Action::AlreadyCopied)
        .count();
    match format {
        Format::Json => {
            let models: Vec<Value> = reports
                .iter()
                .map(|m| {
                    json!({
                        "name": m.name,
                        "action": m.action,
                        "versions": m.versions.iter().map(|v| json!({
                            "source_version": v.source.get(),
                            "target_version": v.target.map(|t| t.get()),
                            "action": v.action.as_str(),
                            "files": v.files,
                            "bytes": v.bytes,
                            "note": v.note,
                        })).collect::<Vec<_>>(),
                        "aliases": m.aliases.iter()
                            .map(|(a, v)| (a.clone(), json!(v.get())))
                            .collect::<serde_json::Map<_, _>>(),
                    })
                })
                .collect();
            output::print_json(&json!({
                "from": args.from,
                "to": args.to,
                "dry_run": args.dry_run,
                "copied": copied,
                "already_copied": already,
                "models": models,
            }));
        }
        Format::Table => {
            let mut table = Table::new(&["MODEL", "FROM", "TO", "ACTION", "FILES", "NOTE"]);
            for m in reports {
                if m.versions.is_empty() {
                    table.row(vec![
                        m.name.clone(),
                        String::new(),
                        String::new(),
                        m.action.to_owned(),
                        String::new(),
                        String::new(),
                    ]);
                }
                for v in &m.versions {
                    table.row(vec![
                        m.name.clone(),
                        v.source.to_string(),
                        v.target.map(|t| t.to_string()).unwrap_or_default(),
                        v.action.as_str().to_owned(),
                        if v.action == Action::Copied {
                            v.files.to_string()
                        } else {
                            String::new()
                        },
                        v.note.clone().unwrap_or_default(),
                    ]);
                }
            }
            table.print();
            eprintln!(
                "{} {copied} version{} of {} model{}; {already} already there.",
                if args.dry_run { "Would copy" } else { "Copied" },
                if copied == 1 { "" } else { "s" },
                reports.len(),
                if reports.len() == 1 { "" } else { "s" },
            );
        }
    }
}
