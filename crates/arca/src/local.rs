//! The local flavor of the `ModelRegistry` trait: an Arca store opened in-process, with no server
//! running. It does what the server's handlers do, through the same `MetadataStore` service and
//! `ArtifactStore`: version sources are checked with the same gate, every stored file has its
//! size and SHA-256 recorded, and every file read is checked against that record.
//!
//! Another process (a running `arca server`) may use the same store at the same time: SQLite in
//! WAL mode takes one writer at a time across processes, and PostgreSQL is shared by design.
//!
//! A store is opened only if it is Arca's: `MetadataStore::open` refuses a database with another
//! application's tables (`MLFLOW_TRACKING_URI=sqlite:///mlflow.db` is a common setting in an
//! MLflow user's shell), and that refusal is the user's mistake here (exit 2), not an outage.

use arca_artifacts::{ArtifactStore, StoredFile};
use arca_core::artifact_path::ArtifactPath;
use arca_core::model::{
    AliasName, ModelName, ModelVersion, NewModelVersion, Page, RegisteredModel, Stage, Tag,
    VersionNumber,
};
use arca_core::registry::{
    ByteReader, MetricValue, ModelRegistry, ModelUpdate, NewRunRecord, NewVersion, RegistryError,
    RegistryFuture, RunRecord, VersionFile, VersionFiles, VersionUpdate, artifact_store_path,
};
use arca_core::search::{
    MODEL_SEARCH_MAX, PageToken, SearchEntity, VERSION_SEARCH_MAX, parse_filter, parse_order_by,
};
use arca_core::tracking::{Metric, RunStatus};
use arca_store::{MetadataStore, NewRun, StoreUri};
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Where a local registry is: its database, and its artifact store when known.
#[derive(Debug, Clone)]
pub struct LocalTarget {
    pub store: StoreUri,
    /// A folder or object-store URI, as `arca server --artifacts-destination` takes it.
    pub artifacts: Option<String>,
    /// The data directory when the target was given as one.
    pub data_dir: Option<PathBuf>,
    /// How the user named it, for messages.
    pub location: String,
}

impl LocalTarget {
    /// A data directory laid out as `arca server --data-dir` lays it out.
    pub fn data_dir(dir: &Path, artifacts: Option<String>, location: String) -> LocalTarget {
        LocalTarget {
            store: StoreUri::sqlite(dir.join("arca.db")),
            artifacts: Some(
                artifacts.unwrap_or_else(|| dir.join("artifacts").display().to_string()),
            ),
            data_dir: Some(dir.to_owned()),
            location,
        }
    }

    /// A database URI. Next to a SQLite file the artifacts are looked for in `artifacts/`, as
    /// in a data directory; for PostgreSQL they must be named.
    pub fn database(store: StoreUri, artifacts: Option<String>, location: String) -> LocalTarget {
        let artifacts = artifacts.or_else(|| match &store {
            StoreUri::Sqlite { path } => Some(
                path.parent()
                    .unwrap_or(Path::new("."))
                    .join("artifacts")
                    .display()
                    .to_string(),
            ),
            StoreUri::Postgres { .. } => None,
        });
        LocalTarget {
            store,
            artifacts,
            data_dir: None,
            location,
        }
    }
}

pub struct LocalRegistry {
    metadata: MetadataStore,
    artifacts: Option<ArtifactStore>,
    location: String,
}

fn unavailable(location: &str, err: impl std::fmt::Display) -> RegistryError {
    RegistryError::Unavailable(format!("Cannot open the Arca store at {location}: {err}"))
}

impl LocalRegistry {
    /// Opens the store, creating it when `create` is set and it does not exist yet.
    pub async fn open(target: &LocalTarget, create: bool) -> Result<LocalRegistry, RegistryError> {
        let location = target.location.as_str();
        if let Some(dir) = &target.data_dir {
            check_data_dir(dir, location, create)?;
        }
        if let StoreUri::Sqlite { path } = &target.store
            && !path.exists()
            && !create
        {
            return Err(RegistryError::NotFound(format!(
                "There is no Arca database at {}; check --tracking-uri, or start one with \
                 `arca server --backend-store-uri {location}`.",
                path.display()
            )));
        }
        let metadata =
            MetadataStore::open(&target.store)
                .await
                .map_err(|e| match e.downcast_ref::<arca_store::ForeignDatabase>() {
                    Some(foreign) => RegistryError::Invalid(foreign.to_string()),
                    None => unavailable(location, format!("{e:#}")),
                })?;
        let artifacts = match &target.artifacts {
            Some(uri) => Some(ArtifactStore::from_uri(uri).map_err(|e| unavailable(location, e))?),
            None => None,
        };
        Ok(LocalRegistry {
            metadata,
            artifacts,
            location: target.location.clone(),
        })
    }

    pub async fn close(&self) {
        self.metadata.close().await;
    }

    /// The store itself, for what only Arca has (the event log).
    pub fn metadata(&self) -> &MetadataStore {
        &self.metadata
    }

    fn artifacts(&self) -> Result<&ArtifactStore, RegistryError> {
        self.artifacts.as_ref().ok_or_else(|| {
            RegistryError::Invalid(format!(
                "The store at {} has no known artifact location: pass --artifacts-destination \
                 (or set ARCA_ARTIFACTS_DESTINATION) as the server was started with.",
                self.location
            ))
        })
    }
}

/// A data directory must be Arca's: `arca.db` inside, or empty, or (when creating) absent.
fn check_data_dir(dir: &Path, location: &str, create: bool) -> Result<(), RegistryError> {
    if dir.join("arca.db").is_file() {
        return Ok(());
    }
    let empty = std::fs::read_dir(dir).map(|mut entries| entries.next().is_none());
    match empty {
        Ok(false) => Err(RegistryError::Invalid(format!(
            "{location} is not an Arca data directory (it has no arca.db); point --tracking-uri \
             at the folder `arca server --data-dir` uses, or at its database URI."
        ))),
        Ok(true) if create => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
            std::fs::create_dir_all(dir)
                .map_err(|e| unavailable(location, format!("creating {}: {e}", dir.display())))
        }
        Ok(_) | Err(_) => Err(RegistryError::NotFound(format!(
            "There is no Arca data directory at {location}; check --tracking-uri, or start a \
             server there with `arca server --data-dir {location}`."
        ))),
    }
}

use arca_core::now_millis;

fn store_error(err: arca_artifacts::Error) -> RegistryError {
    match err {
        arca_artifacts::Error::NotFound(_) => RegistryError::NotFound(err.to_string()),
        arca_artifacts::Error::Integrity(_) => RegistryError::Integrity(err.to_string()),
        arca_artifacts::Error::Conflict(_) => RegistryError::Invalid(err.to_string()),
        other => RegistryError::Other(anyhow::Error::new(other).context("artifact store")),
    }
}

fn artifact_path(raw: &str) -> Result<ArtifactPath, RegistryError> {
    Ok(ArtifactPath::parse(raw)?)
}

fn run_record(run: arca_core::tracking::Run) -> RunRecord {
    RunRecord {
        run_id: run.info.run_id,
        experiment_id: run.info.experiment_id,
        name: run.info.run_name,
        artifact_uri: run.info.artifact_uri,
        params: run.params,
        metrics: run
            .metrics
            .into_iter()
            .map(|m| MetricValue {
                key: m.key,
                value: m.value,
            })
            .collect(),
        tags: run.tags,
    }
}

/// A reader as a stream of `Bytes`, for `ArtifactStore::put`. Boxed here, outside the caller's
/// future, so that the compiler sees a plain `'static` stream type.
fn byte_stream(reader: Box<dyn ByteReader>) -> BoxStream<'static, Result<Bytes, RegistryError>> {
    futures::stream::try_unfold(reader, |mut reader| async move {
        Ok(reader
            .next_chunk()
            .await?
            .map(|chunk| (Bytes::from(chunk), reader)))
    })
    .boxed()
}

/// A stored file read chunk by chunk.
struct StoreReader {
    stream: BoxStream<'static, Result<Bytes, arca_artifacts::Error>>,
}

impl ByteReader for StoreReader {
    fn next_chunk(&mut self) -> RegistryFuture<'_, Option<Vec<u8>>> {
        Box::pin(async move {
            match self.stream.next().await {
                Some(Ok(chunk)) => Ok(Some(chunk.to_vec())),
                Some(Err(e)) => Err(store_error(e)),
                None => Ok(None),
            }
        })
    }
}

impl ModelRegistry for LocalRegistry {
    fn location(&self) -> &str {
        &self.location
    }

    fn register_model<'a>(
        &'a self,
        name: &'a ModelName,
        description: Option<&'a str>,
        tags: &'a [Tag],
    ) -> RegistryFuture<'a, RegisteredModel> {
        Box::pin(async move {
            Ok(self
                .metadata
                .create_registered_model(name, description, tags)
                .await?)
        })
    }

    fn get_model<'a>(&'a self, name: &'a str) -> RegistryFuture<'a, RegisteredModel> {
        Box::pin(async move { Ok(self.metadata.get_registered_model(name).await?) })
    }

    fn update_model<'a>(
        &'a self,
        name: &'a str,
        update: &'a ModelUpdate,
    ) -> RegistryFuture<'a, RegisteredModel> {
        Box::pin(async move { Ok(self.metadata.apply_model_update(name, update).await?) })
    }

    fn rename_model<'a>(
        &'a self,
        name: &'a str,
        new_name: &'a ModelName,
    ) -> RegistryFuture<'a, RegisteredModel> {
        Box::pin(async move {
            Ok(self
                .metadata
                .rename_registered_model(name, new_name)
                .await?)
        })
    }

    fn delete_model<'a>(&'a self, name: &'a str) -> RegistryFuture<'a, ()> {
        Box::pin(async move { Ok(self.metadata.delete_registered_model(name).await?) })
    }

    fn search_models_page<'a>(
        &'a self,
        filter: &'a str,
        max_results: u64,
        page_token_raw: Option<&'a str>,
    ) -> RegistryFuture<'a, Page<RegisteredModel>> {
        Box::pin(async move {
            let filter = parse_filter(SearchEntity::RegisteredModels, filter)?;
            let order = parse_order_by(SearchEntity::RegisteredModels, &["name ASC".to_owned()])?;
            let token = PageToken::from_request(page_token_raw)?;
            Ok(self
                .metadata
                .search_registered_models(
                    &filter,
                    &order,
                    max_results.clamp(1, MODEL_SEARCH_MAX),
                    token.as_ref(),
                )
                .await?)
        })
    }

    fn register_version<'a>(
        &'a self,
        name: &'a ModelName,
        new: &'a NewVersion,
    ) -> RegistryFuture<'a, ModelVersion> {
        Box::pin(async move {
            let version = NewModelVersion {
                source: new.source.clone(),
                run_id: new.run_id.clone().unwrap_or_default(),
                run_link: None,
                description: new.description.clone(),
                model_id: None,
                user_id: None,
                tags: new.metadata.to_tags(),
            };
            Ok(self.metadata.create_model_version(name, &version).await?)
        })
    }

    fn get_version<'a>(
        &'a self,
        name: &'a str,
        version: VersionNumber,
    ) -> RegistryFuture<'a, ModelVersion> {
        Box::pin(async move { Ok(self.metadata.get_model_version(name, version).await?) })
    }

    fn update_version<'a>(
        &'a self,
        name: &'a str,
        version: VersionNumber,
        update: &'a VersionUpdate,
    ) -> RegistryFuture<'a, ModelVersion> {
        Box::pin(async move {
            Ok(self
                .metadata
                .apply_version_update(name, version, update)
                .await?)
        })
    }

    fn delete_version<'a>(
        &'a self,
        name: &'a str,
        version: VersionNumber,
    ) -> RegistryFuture<'a, ()> {
        Box::pin(async move { Ok(self.metadata.delete_model_version(name, version).await?) })
    }

    fn transition_stage<'a>(
        &'a self,
        name: &'a str,
        version: VersionNumber,
        stage: Stage,
        archive_existing: bool,
    ) -> RegistryFuture<'a, ModelVersion> {
        Box::pin(async move {
            Ok(self
                .metadata
                .transition_model_version_stage(name, version, stage, archive_existing)
                .await?)
        })
    }

    fn latest_versions<'a>(
        &'a self,
        name: &'a str,
        stages: &'a [Stage],
    ) -> RegistryFuture<'a, Vec<ModelVersion>> {
        Box::pin(async move { Ok(self.metadata.get_latest_versions(name, stages).await?) })
    }

    fn search_versions_page<'a>(
        &'a self,
        filter: &'a str,
        order_by: &'a [String],
        max_results: u64,
        page_token_raw: Option<&'a str>,
    ) -> RegistryFuture<'a, Page<ModelVersion>> {
        Box::pin(async move {
            let filter = parse_filter(SearchEntity::ModelVersions, filter)?;
            let order = parse_order_by(SearchEntity::ModelVersions, order_by)?;
            let token = PageToken::from_request(page_token_raw)?;
            Ok(self
                .metadata
                .search_model_versions(
                    &filter,
                    &order,
                    max_results.clamp(1, VERSION_SEARCH_MAX),
                    token.as_ref(),
                )
                .await?)
        })
    }

    fn set_alias<'a>(
        &'a self,
        name: &'a str,
        alias: &'a AliasName,
        version: VersionNumber,
    ) -> RegistryFuture<'a, ()> {
        Box::pin(async move {
            Ok(self
                .metadata
                .set_registered_model_alias(name, alias, version)
                .await?)
        })
    }

    fn delete_alias<'a>(&'a self, name: &'a str, alias: &'a str) -> RegistryFuture<'a, ()> {
        Box::pin(async move {
            Ok(self
                .metadata
                .delete_registered_model_alias(name, alias)
                .await?)
        })
    }

    fn get_version_by_alias<'a>(
        &'a self,
        name: &'a str,
        alias: &'a str,
    ) -> RegistryFuture<'a, ModelVersion> {
        Box::pin(async move {
            match self.metadata.get_model_version_by_alias(name, alias).await {
                // The store answers a missing alias as MLflow does (an invalid parameter).
                Err(arca_core::Error::InvalidParameter(m)) if m.contains("not found") => {
                    Err(RegistryError::NotFound(m))
                }
                other => Ok(other?),
            }
        })
    }

    fn create_run<'a>(&'a self, new: &'a NewRunRecord) -> RegistryFuture<'a, RunRecord> {
        Box::pin(async move {
            let experiment_id = if new.experiment_id.is_empty() {
                "0".to_owned()
            } else {
                new.experiment_id.clone()
            };
            let run = self
                .metadata
                .create_run(&NewRun {
                    experiment_id,
                    user_id: crate::cli::user_name(),
                    run_name: new.name.clone(),
                    start_time: None,
                    tags: new.tags.clone(),
                })
                .await?;
            let now = now_millis();
            let metrics: Vec<Metric> = new
                .metrics
                .iter()
                .map(|m| Metric {
                    key: m.key.clone(),
                    value: m.value,
                    timestamp: now,
                    step: 0,
                    model_id: None,
                    dataset_name: None,
                    dataset_digest: None,
                    run_id: None,
                })
                .collect();
            self.metadata
                .log_batch(&run.info.run_id, &metrics, &new.params, &[])
                .await?;
            Ok(run_record(self.metadata.get_run(&run.info.run_id).await?))
        })
    }

    fn get_run<'a>(&'a self, run_id: &'a str) -> RegistryFuture<'a, RunRecord> {
        Box::pin(async move { Ok(run_record(self.metadata.get_run(run_id).await?)) })
    }

    fn finish_run<'a>(&'a self, run_id: &'a str) -> RegistryFuture<'a, ()> {
        Box::pin(async move {
            self.metadata
                .update_run(run_id, Some(RunStatus::Finished), Some(now_millis()), None)
                .await?;
            Ok(())
        })
    }

    fn version_files<'a>(
        &'a self,
        name: &'a str,
        version: VersionNumber,
    ) -> RegistryFuture<'a, VersionFiles> {
        Box::pin(async move {
            let store = self.artifacts()?;
            let root = self
                .metadata
                .get_model_version_download_uri(name, version)
                .await?;
            let prefix = artifact_store_path(&root).ok_or_else(|| {
                RegistryError::Unsupported(format!(
                    "The files of {name} version {version} are at '{root}', outside this Arca \
                     store; fetch them from there."
                ))
            })?;
            let prefix = artifact_path(&prefix)?;
            let mut listed = Vec::new();
            let mut pending: Vec<(ArtifactPath, String)> = vec![(prefix.clone(), String::new())];
            while let Some((dir, rel)) = pending.pop() {
                for entry in store.list(Some(&dir)).await.map_err(store_error)? {
                    let child_rel = if rel.is_empty() {
                        entry.name.clone()
                    } else {
                        format!("{rel}/{}", entry.name)
                    };
                    let child = artifact_path(&format!("{dir}/{}", entry.name))?;
                    if entry.is_dir {
                        pending.push((child, child_rel));
                    } else {
                        listed.push((child_rel, child, entry.size));
                    }
                }
            }
            if listed.is_empty() {
                return Err(RegistryError::NotFound(format!(
                    "{name} version {version} has no files at {root}."
                )));
            }
            listed.sort_by(|a, b| a.0.cmp(&b.0));
            let digests: HashMap<String, (i64, String)> = self
                .metadata
                .artifact_manifest(Some(&prefix))
                .await?
                .into_iter()
                .map(|d| (d.path, (d.size, d.sha256)))
                .collect();
            let files = listed
                .into_iter()
                .map(|(path, full, size)| {
                    let recorded = digests.get(full.as_str());
                    VersionFile {
                        path,
                        store_path: full.to_string(),
                        size: recorded.and_then(|(s, _)| u64::try_from(*s).ok()).or(size),
                        sha256: recorded.map(|(_, d)| d.clone()),
                    }
                })
                .collect();
            Ok(VersionFiles {
                name: name.to_owned(),
                version,
                root,
                files,
                unverified_reason: None,
            })
        })
    }

    fn open_file<'a>(&'a self, file: &'a VersionFile) -> RegistryFuture<'a, Box<dyn ByteReader>> {
        Box::pin(async move {
            let store = self.artifacts()?;
            let path = artifact_path(&file.store_path)?;
            let recorded = self.metadata.artifact_digest(&path).await?;
            let mut download = store.get(&path).await.map_err(store_error)?;
            if let Some(recorded) = recorded {
                download = download.verified(
                    &path,
                    StoredFile {
                        size: u64::try_from(recorded.size).unwrap_or_default(),
                        sha256: recorded.sha256,
                    },
                );
            }
            Ok(Box::new(StoreReader {
                stream: download.stream,
            }) as Box<dyn ByteReader>)
        })
    }

    fn upload_file<'a>(
        &'a self,
        run: &'a RunRecord,
        path: &'a str,
        _size: Option<u64>,
        body: Box<dyn ByteReader>,
    ) -> RegistryFuture<'a, ()> {
        Box::pin(async move {
            let store = self.artifacts()?;
            let root = artifact_store_path(&run.artifact_uri).ok_or_else(|| {
                RegistryError::Unsupported(format!(
                    "Run {} keeps its files at '{}', outside this Arca store.",
                    run.run_id, run.artifact_uri
                ))
            })?;
            let dest = artifact_path(&format!("{root}/{}", path.trim_matches('/')))?;
            let body = byte_stream(body);
            let staged = store.stage(&dest, body).await.map_err(store_error)?;
            let pending = self.metadata.begin_artifact_record(&dest).await?;
            let stored = staged.commit().await.map_err(store_error)?;
            Ok(pending.record(stored.size, &stored.sha256).await?)
        })
    }
}
