//! The `ModelRegistry` trait: one abstraction over registered models, their versions, stages,
//! aliases and files, whatever serves them. It follows ZenML's `BaseModelRegistry`
//! (`register_model`, `update_model_version`, `list_model_versions`, ...), so a tool written
//! against it works the same over Arca's HTTP API, a plain `mlflow server`, or an Arca data
//! directory opened in-process. The implementations ("flavors") live where their I/O lives:
//! `arca-client` (HTTP) and the `arca` binary (local store).
//!
//! Why boxed futures: the CLI picks a flavor at run time from a URI, and `arca copy` holds two
//! registries of possibly different flavors, so the trait must be usable as `dyn ModelRegistry`.
//! `async fn` in traits is not dyn-compatible; a boxed `Send` future is, and costs one allocation
//! per call, which is nothing next to a database or network round trip. Keeping the trait free of
//! tokio, reqwest and sqlx types keeps this crate compiling in seconds.
//!
//! ZenML's methods and theirs here: `register_model`, `get_model`, `update_model`,
//! `delete_model`, `list_models` keep their names; `register_model_version`,
//! `get_model_version`, `update_model_version`, `delete_model_version`, `list_model_versions` and
//! `get_latest_model_version` are `register_version`, `get_version`, `update_version`,
//! `delete_version`, `list_versions` and `latest_version`; `load_model_version` is
//! `resolve_model_uri` plus `download_version` (Arca never deserializes a model). ZenML's
//! `ModelRegistryModelMetadata` is [`VersionMetadata`]. Beyond ZenML: renames, aliases, stage
//! transitions with `archive_existing`, and the runs that carry a version's metrics and params.
//!
//! Files: a version's files are listed with [`ModelRegistry::version_files`] and read with
//! [`ModelRegistry::open_file`], chunk by chunk, so memory does not grow with file size.
//! [`ModelRegistry::download_version`] drives both into a caller-supplied [`FileSink`] (the CLI's
//! sink writes to disk, hashes and draws a progress bar). Uploads go to a run's artifacts
//! ([`ModelRegistry::upload_file`]), from which a version is then registered with
//! `source = runs:/<run_id>/<path>`, the way MLflow's own clients register models.

mod lineage;
mod query;
mod uri;

pub use lineage::{LINEAGE_KEYS, VersionMetadata, lineage_key};
pub use query::{ModelQuery, ModelUpdate, VersionOrder, VersionQuery, VersionUpdate};
pub use uri::{ModelUri, VersionRef, artifact_store_path};

use crate::model::VersionNumber;
use crate::model::{AliasName, ModelName, ModelVersion, Page, RegisteredModel, Stage, Tag};
use crate::tracking::Param;
use std::future::Future;
use std::pin::Pin;

/// What every [`ModelRegistry`] method returns.
pub type RegistryFuture<'a, T> =
    Pin<Box<dyn Future<Output = Result<T, RegistryError>> + Send + 'a>>;

/// What can go wrong talking to a registry, sorted by what the caller should do about it.
/// Messages are whole sentences that name the thing and, where there is one, the fix.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The model, version, alias or run does not exist.
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    AlreadyExists(String),
    /// The request was refused as malformed or not allowed (bad name, bad stage, ...).
    #[error("{0}")]
    Invalid(String),
    /// The registry refused the credentials (HTTP 401/403).
    #[error("{0}")]
    Unauthorized(String),
    /// The registry could not be reached or opened at all.
    #[error("{0}")]
    Unavailable(String),
    /// The registry cannot do this (an endpoint a plain MLflow server lacks, files kept in a
    /// store the registry does not serve).
    #[error("{0}")]
    Unsupported(String),
    /// Bytes read do not match the size or SHA-256 recorded when they were stored.
    #[error("{0}")]
    Integrity(String),
    #[error("{0:#}")]
    Other(anyhow::Error),
}

impl RegistryError {
    pub fn other(message: impl std::fmt::Display) -> RegistryError {
        RegistryError::Other(anyhow::anyhow!("{message}"))
    }
}

impl From<crate::Error> for RegistryError {
    fn from(err: crate::Error) -> Self {
        match err {
            crate::Error::InvalidParameter(m) | crate::Error::BadRequest(m) => {
                RegistryError::Invalid(m)
            }
            crate::Error::AlreadyExists(m) => RegistryError::AlreadyExists(m),
            crate::Error::NotFound(m) => RegistryError::NotFound(m),
            crate::Error::Internal(e) => RegistryError::Other(e),
            crate::Error::Unavailable(m) => RegistryError::Other(anyhow::anyhow!("{m}")),
        }
    }
}

/// A run as the registry needs it: the lineage of a version (its metrics and params) and the
/// place its files are uploaded to.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    pub run_id: String,
    pub experiment_id: String,
    pub name: String,
    /// Where the run's files are, e.g. `mlflow-artifacts:/0/<run_id>/artifacts`.
    pub artifact_uri: String,
    pub params: Vec<Param>,
    /// The latest value of each metric.
    pub metrics: Vec<MetricValue>,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetricValue {
    pub key: String,
    pub value: f64,
}

/// A run to create: a version registered from the CLI gets one that carries its metrics, params
/// and tags, so MLflow's UI and ZenML show them as the version's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewRunRecord {
    pub experiment_id: String,
    pub name: Option<String>,
    pub params: Vec<Param>,
    pub metrics: Vec<MetricValue>,
    pub tags: Vec<Tag>,
}

/// What a caller supplies to register a version (ZenML's `register_model_version`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewVersion {
    /// Where the files are: `runs:/<run_id>/<path>`, `mlflow-artifacts:/...`, `s3://...`.
    pub source: String,
    /// The run that produced the version; required by MLflow for a `runs:/` source.
    pub run_id: Option<String>,
    pub description: Option<String>,
    /// Lineage and free key/values, stored as version tags.
    pub metadata: VersionMetadata,
}

/// One file of a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionFile {
    /// The path below the version's root, `/`-separated (`MLmodel`, `data/model.pkl`).
    pub path: String,
    /// The path in the registry's artifact store, as the registry addresses it.
    pub store_path: String,
    pub size: Option<u64>,
    /// The SHA-256 (lowercase hex) recorded when the file was stored, when the registry keeps one.
    pub sha256: Option<String>,
}

/// The files of a version and whether the registry vouches for their content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionFiles {
    pub name: String,
    pub version: VersionNumber,
    /// The location the version's files resolved to, e.g. `mlflow-artifacts:/0/<run>/artifacts/model`.
    pub root: String,
    /// By path.
    pub files: Vec<VersionFile>,
    /// Why the files carry no SHA-256 (a plain MLflow server records none); `None` when they do.
    pub unverified_reason: Option<String>,
}

impl VersionFiles {
    pub fn total_size(&self) -> u64 {
        self.files.iter().filter_map(|f| f.size).sum()
    }
}

/// A source of bytes read one chunk at a time; `None` is the end.
pub trait ByteReader: Send {
    fn next_chunk(&mut self) -> RegistryFuture<'_, Option<Vec<u8>>>;
}

/// Where [`ModelRegistry::download_version`] puts what it reads.
pub trait FileSink: Send {
    /// Called once, before the first file, with the whole list.
    fn begin(&mut self, files: &VersionFiles) -> Result<(), RegistryError>;
    fn begin_file(&mut self, file: &VersionFile) -> Result<(), RegistryError>;
    fn write(&mut self, chunk: &[u8]) -> Result<(), RegistryError>;
    /// Called after the last chunk of `file`; the place to check its digest.
    fn end_file(&mut self, file: &VersionFile) -> Result<(), RegistryError>;
}

/// A model registry, after ZenML's `BaseModelRegistry`. Names are taken as `&str` where the
/// entity must already exist (the registry says if it does not) and as parsed newtypes where
/// one is created.
pub trait ModelRegistry: Send + Sync {
    /// Where this registry is, for messages: a URL or a data directory.
    fn location(&self) -> &str;

    // ----------------------------------------------------------------- registered models

    fn register_model<'a>(
        &'a self,
        name: &'a ModelName,
        description: Option<&'a str>,
        tags: &'a [Tag],
    ) -> RegistryFuture<'a, RegisteredModel>;

    fn get_model<'a>(&'a self, name: &'a str) -> RegistryFuture<'a, RegisteredModel>;

    /// Sets the description (when given), sets tags, then removes tags.
    fn update_model<'a>(
        &'a self,
        name: &'a str,
        update: &'a ModelUpdate,
    ) -> RegistryFuture<'a, RegisteredModel>;

    fn rename_model<'a>(
        &'a self,
        name: &'a str,
        new_name: &'a ModelName,
    ) -> RegistryFuture<'a, RegisteredModel>;

    /// Deletes the model with all its versions, tags and aliases.
    fn delete_model<'a>(&'a self, name: &'a str) -> RegistryFuture<'a, ()>;

    /// One page of MLflow's `search_registered_models`.
    fn search_models_page<'a>(
        &'a self,
        filter: &'a str,
        max_results: u64,
        page_token: Option<&'a str>,
    ) -> RegistryFuture<'a, Page<RegisteredModel>>;

    /// Models matching `query`, by name, across as many pages as it takes.
    fn list_models<'a>(
        &'a self,
        query: &'a ModelQuery,
    ) -> RegistryFuture<'a, Vec<RegisteredModel>> {
        Box::pin(async move {
            let filter = query.filter_string();
            let mut out = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let page_size = query.limit.map_or(500, |l| (l - out.len()).clamp(1, 500));
                let page = self
                    .search_models_page(&filter, page_size as u64, token.as_deref())
                    .await?;
                out.extend(page.items);
                if let Some(limit) = query.limit
                    && out.len() >= limit
                {
                    out.truncate(limit);
                    return Ok(out);
                }
                match page.next_page_token {
                    Some(t) if !t.is_empty() => token = Some(t),
                    _ => return Ok(out),
                }
            }
        })
    }

    // ----------------------------------------------------------------- model versions

    /// Registers a new version of an existing model; the registry assigns the number.
    fn register_version<'a>(
        &'a self,
        name: &'a ModelName,
        new: &'a NewVersion,
    ) -> RegistryFuture<'a, ModelVersion>;

    fn get_version<'a>(
        &'a self,
        name: &'a str,
        version: VersionNumber,
    ) -> RegistryFuture<'a, ModelVersion>;

    /// Sets the description (when given) and tags, removes tags, then moves the version to
    /// `update.stage` when one is given.
    fn update_version<'a>(
        &'a self,
        name: &'a str,
        version: VersionNumber,
        update: &'a VersionUpdate,
    ) -> RegistryFuture<'a, ModelVersion>;

    fn delete_version<'a>(
        &'a self,
        name: &'a str,
        version: VersionNumber,
    ) -> RegistryFuture<'a, ()>;

    fn transition_stage<'a>(
        &'a self,
        name: &'a str,
        version: VersionNumber,
        stage: Stage,
        archive_existing: bool,
    ) -> RegistryFuture<'a, ModelVersion>;

    /// The newest version in each of `stages` (all stages when empty), as MLflow's
    /// `get_latest_versions`.
    fn latest_versions<'a>(
        &'a self,
        name: &'a str,
        stages: &'a [Stage],
    ) -> RegistryFuture<'a, Vec<ModelVersion>>;

    /// One page of MLflow's `search_model_versions`.
    fn search_versions_page<'a>(
        &'a self,
        filter: &'a str,
        order_by: &'a [String],
        max_results: u64,
        page_token: Option<&'a str>,
    ) -> RegistryFuture<'a, Page<ModelVersion>>;

    /// Versions matching `query`. The model, source, run and tags are filtered by the registry;
    /// stage and creation time by this method (MLflow's search cannot), reading pages until
    /// `query.limit` versions matched.
    fn list_versions<'a>(
        &'a self,
        query: &'a VersionQuery,
    ) -> RegistryFuture<'a, Vec<ModelVersion>> {
        Box::pin(async move {
            let filter = query.filter_string();
            let order_by = query.order_by();
            let mut out = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let page = self
                    .search_versions_page(&filter, &order_by, 1000, token.as_deref())
                    .await?;
                for version in page.items {
                    if query.matches(&version) {
                        out.push(version);
                        if query.limit.is_some_and(|l| out.len() >= l) {
                            return Ok(out);
                        }
                    }
                }
                match page.next_page_token {
                    Some(t) if !t.is_empty() => token = Some(t),
                    _ => return Ok(out),
                }
            }
        })
    }

    /// The newest version of `name`, or the newest in `stage` (ZenML's `get_latest_model_version`).
    fn latest_version<'a>(
        &'a self,
        name: &'a str,
        stage: Option<Stage>,
    ) -> RegistryFuture<'a, Option<ModelVersion>> {
        Box::pin(async move {
            let stages: Vec<Stage> = stage.into_iter().collect();
            let versions = self.latest_versions(name, &stages).await?;
            Ok(versions.into_iter().max_by_key(|v| v.version))
        })
    }

    // ----------------------------------------------------------------- aliases

    fn set_alias<'a>(
        &'a self,
        name: &'a str,
        alias: &'a AliasName,
        version: VersionNumber,
    ) -> RegistryFuture<'a, ()>;

    fn delete_alias<'a>(&'a self, name: &'a str, alias: &'a str) -> RegistryFuture<'a, ()>;

    fn get_version_by_alias<'a>(
        &'a self,
        name: &'a str,
        alias: &'a str,
    ) -> RegistryFuture<'a, ModelVersion>;

    /// The version a `models:/` URI names, resolved as the `mlflow` client resolves it:
    /// `/latest` is the highest version number, `/<Stage>` the newest version in that stage.
    fn resolve_model_uri<'a>(&'a self, uri: &'a ModelUri) -> RegistryFuture<'a, ModelVersion> {
        Box::pin(async move {
            let name = uri.name();
            match uri.reference() {
                VersionRef::Number(v) => self.get_version(name, *v).await,
                VersionRef::Alias(alias) => self.get_version_by_alias(name, alias).await,
                VersionRef::Latest => self.latest_version(name, None).await?.ok_or_else(|| {
                    RegistryError::NotFound(format!("Registered model '{name}' has no versions."))
                }),
                VersionRef::Stage(stage) => self
                    .latest_version(name, Some(*stage))
                    .await?
                    .ok_or_else(|| {
                        RegistryError::NotFound(format!(
                            "Registered model '{name}' has no version in stage '{stage}'."
                        ))
                    }),
            }
        })
    }

    // ----------------------------------------------------------------- runs

    fn create_run<'a>(&'a self, new: &'a NewRunRecord) -> RegistryFuture<'a, RunRecord>;

    fn get_run<'a>(&'a self, run_id: &'a str) -> RegistryFuture<'a, RunRecord>;

    /// Marks the run FINISHED.
    fn finish_run<'a>(&'a self, run_id: &'a str) -> RegistryFuture<'a, ()>;

    // ----------------------------------------------------------------- files

    /// Where a version's files are and what they are, by path.
    fn version_files<'a>(
        &'a self,
        name: &'a str,
        version: VersionNumber,
    ) -> RegistryFuture<'a, VersionFiles>;

    fn open_file<'a>(&'a self, file: &'a VersionFile) -> RegistryFuture<'a, Box<dyn ByteReader>>;

    /// Stores `body` as `path` below the run's artifacts (`<artifact_uri>/<path>`).
    fn upload_file<'a>(
        &'a self,
        run: &'a RunRecord,
        path: &'a str,
        size: Option<u64>,
        body: Box<dyn ByteReader>,
    ) -> RegistryFuture<'a, ()>;

    /// Reads every file of a version into `sink`, file by file, chunk by chunk.
    fn download_version<'a>(
        &'a self,
        name: &'a str,
        version: VersionNumber,
        sink: &'a mut dyn FileSink,
    ) -> RegistryFuture<'a, VersionFiles> {
        Box::pin(async move {
            let files = self.version_files(name, version).await?;
            sink.begin(&files)?;
            for file in &files.files {
                sink.begin_file(file)?;
                let mut reader = self.open_file(file).await?;
                while let Some(chunk) = reader.next_chunk().await? {
                    sink.write(&chunk)?;
                }
                sink.end_file(file)?;
            }
            Ok(files)
        })
    }
}
