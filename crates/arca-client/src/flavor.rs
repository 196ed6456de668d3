//! The HTTP flavor of the `ModelRegistry` trait: any MLflow-compatible server, Arca or a plain
//! `mlflow server`. Everything goes through the MLflow REST API and the `mlflow-artifacts`
//! proxy; the one Arca-only call is the artifact manifest, and without it files are served
//! unverified (`VersionFiles::unverified_reason` says so).

use crate::{Client, ClientError};
use arca_core::model::{
    AliasName, ModelName, ModelVersion, Page, RegisteredModel, Stage, Tag, VersionNumber,
};
use arca_core::registry::{
    ByteReader, ModelRegistry, ModelUpdate, NewRunRecord, NewVersion, RegistryError,
    RegistryFuture, RunRecord, VersionFile, VersionFiles, VersionUpdate, artifact_store_path,
};
use std::collections::HashMap;

/// A registry behind an MLflow-compatible HTTP API.
#[derive(Debug, Clone)]
pub struct HttpRegistry {
    client: Client,
}

impl HttpRegistry {
    /// Turns a download URI into the location of the files. Arca resolves `runs:/` and
    /// `models:/m-<id>` sources itself; `mlflow server` hands a version registered with a
    /// `runs:/` source back unresolved, as its own client resolves it: through the run's (or the
    /// logged model's) artifact URI.
    async fn resolve_location(&self, uri: &str) -> Result<String, RegistryError> {
        let mut location = uri.to_owned();
        // Each step replaces a reference by what it names; a few steps always suffice.
        for _ in 0..4 {
            if let Some(rest) = location.strip_prefix("runs:/") {
                let (run_id, path) = rest.split_once('/').unwrap_or((rest, ""));
                let run = self
                    .client
                    .get_run(run_id)
                    .await
                    .map_err(|e| self.error(e))?;
                let path = path.trim_matches('/');
                location = if path.is_empty() {
                    run.artifact_uri
                } else {
                    format!("{}/{path}", run.artifact_uri.trim_end_matches('/'))
                };
            } else if let Some(id) = location
                .strip_prefix("models:/")
                .filter(|id| id.starts_with("m-") && !id.contains('/'))
            {
                location = self
                    .client
                    .logged_model_artifact_uri(id)
                    .await
                    .map_err(|e| self.error(e))?;
            } else {
                break;
            }
        }
        Ok(location)
    }

    pub fn new(client: Client) -> HttpRegistry {
        HttpRegistry { client }
    }

    /// A registry at `base` with credentials from the `MLFLOW_TRACKING_*` environment.
    pub fn from_env(base: &str) -> Result<HttpRegistry, RegistryError> {
        Client::from_env(base)
            .map(HttpRegistry::new)
            .map_err(|e| RegistryError::Invalid(e.to_string()))
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// A JSON call to an endpoint outside the `ModelRegistry` trait (webhooks, Arca's own API),
    /// with the trait's error mapping. `path` starts at the server's root (`/api/2.0/...`).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&serde_json::Value>,
    ) -> Result<serde_json::Value, RegistryError> {
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|_| RegistryError::Invalid(format!("not an HTTP method: {method}")))?;
        let result = match body {
            Some(body) if method != reqwest::Method::GET => {
                self.client.call_json(method, path, body).await
            }
            _ => self.client.get_json(path, query).await,
        };
        result.map_err(|e| self.error(e))
    }

    /// An Arca-only `GET /api/2.0/arca/<endpoint>`; `None` from a plain MLflow server.
    pub async fn arca_get(
        &self,
        endpoint: &str,
        query: &[(&str, &str)],
    ) -> Result<Option<serde_json::Value>, RegistryError> {
        self.client
            .arca_get(endpoint, query)
            .await
            .map_err(|e| self.error(e))
    }

    /// An Arca-only `POST /api/2.0/arca/<endpoint>`; `None` from a plain MLflow server.
    pub async fn arca_post(
        &self,
        endpoint: &str,
        body: &serde_json::Value,
    ) -> Result<Option<serde_json::Value>, RegistryError> {
        self.client
            .arca_post(endpoint, body)
            .await
            .map_err(|e| self.error(e))
    }

    fn error(&self, err: ClientError) -> RegistryError {
        let base = self.client.base();
        match err {
            ClientError::Api {
                status,
                code,
                message,
            } => match code.as_str() {
                "RESOURCE_DOES_NOT_EXIST" | "NOT_FOUND" => RegistryError::NotFound(message),
                "RESOURCE_ALREADY_EXISTS" | "ALREADY_EXISTS" => {
                    RegistryError::AlreadyExists(message)
                }
                "INVALID_PARAMETER_VALUE" | "BAD_REQUEST" | "INVALID_STATE" => {
                    RegistryError::Invalid(message)
                }
                _ if status == 401 || status == 403 => RegistryError::Unauthorized(format!(
                    "The registry at {base} refused the request (HTTP {status}): {message}. Set \
                     MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or MLFLOW_TRACKING_TOKEN."
                )),
                "ENDPOINT_NOT_FOUND" => RegistryError::Unsupported(format!(
                    "The server at {base} does not serve this MLflow endpoint ({message}); is \
                     --tracking-uri the address of an MLflow-compatible server?"
                )),
                _ => RegistryError::other(format!(
                    "The registry at {base} failed: {message} ({code})"
                )),
            },
            ClientError::Unreachable { .. } => RegistryError::Unavailable(format!(
                "{err}. Is the server running? Set --tracking-uri (or ARCA_TRACKING_URI / \
                 MLFLOW_TRACKING_URI) to its address."
            )),
            ClientError::Protocol { .. } => RegistryError::other(err),
        }
    }
}

/// The chunks of a download as they arrive.
struct HttpReader {
    response: reqwest::Response,
    base: String,
}

impl ByteReader for HttpReader {
    fn next_chunk(&mut self) -> RegistryFuture<'_, Option<Vec<u8>>> {
        Box::pin(async move {
            match self.response.chunk().await {
                Ok(chunk) => Ok(chunk.map(|c| c.to_vec())),
                Err(e) => Err(RegistryError::Unavailable(format!(
                    "the download from {} broke off: {e}",
                    self.base
                ))),
            }
        })
    }
}

/// A reader as a stream of chunks, for a streaming request body.
pub(crate) fn reader_stream(
    reader: Box<dyn ByteReader>,
) -> impl futures::Stream<Item = Result<Vec<u8>, RegistryError>> + Send + 'static {
    futures::stream::try_unfold(reader, |mut reader| async move {
        Ok(reader.next_chunk().await?.map(|chunk| (chunk, reader)))
    })
}

impl ModelRegistry for HttpRegistry {
    fn location(&self) -> &str {
        self.client.base()
    }

    fn register_model<'a>(
        &'a self,
        name: &'a ModelName,
        description: Option<&'a str>,
        tags: &'a [Tag],
    ) -> RegistryFuture<'a, RegisteredModel> {
        Box::pin(async move {
            self.client
                .create_registered_model(name.as_str(), description, tags)
                .await
                .map_err(|e| self.error(e))
        })
    }

    fn get_model<'a>(&'a self, name: &'a str) -> RegistryFuture<'a, RegisteredModel> {
        Box::pin(async move {
            self.client
                .get_registered_model(name)
                .await
                .map_err(|e| self.error(e))
        })
    }

    fn update_model<'a>(
        &'a self,
        name: &'a str,
        update: &'a ModelUpdate,
    ) -> RegistryFuture<'a, RegisteredModel> {
        Box::pin(async move {
            let c = &self.client;
            if let Some(description) = &update.description {
                c.update_registered_model(name, description)
                    .await
                    .map_err(|e| self.error(e))?;
            }
            for tag in &update.set_tags {
                c.set_registered_model_tag(name, tag)
                    .await
                    .map_err(|e| self.error(e))?;
            }
            for key in &update.remove_tags {
                c.delete_registered_model_tag(name, key)
                    .await
                    .map_err(|e| self.error(e))?;
            }
            c.get_registered_model(name)
                .await
                .map_err(|e| self.error(e))
        })
    }

    fn rename_model<'a>(
        &'a self,
        name: &'a str,
        new_name: &'a ModelName,
    ) -> RegistryFuture<'a, RegisteredModel> {
        Box::pin(async move {
            self.client
                .rename_registered_model(name, new_name.as_str())
                .await
                .map_err(|e| self.error(e))
        })
    }

    fn delete_model<'a>(&'a self, name: &'a str) -> RegistryFuture<'a, ()> {
        Box::pin(async move {
            self.client
                .delete_registered_model(name)
                .await
                .map_err(|e| self.error(e))
        })
    }

    fn search_models_page<'a>(
        &'a self,
        filter: &'a str,
        max_results: u64,
        page_token: Option<&'a str>,
    ) -> RegistryFuture<'a, Page<RegisteredModel>> {
        Box::pin(async move {
            self.client
                .search_registered_models(filter, &["name ASC"], max_results.min(1000), page_token)
                .await
                .map_err(|e| self.error(e))
        })
    }

    fn register_version<'a>(
        &'a self,
        name: &'a ModelName,
        new: &'a NewVersion,
    ) -> RegistryFuture<'a, ModelVersion> {
        Box::pin(async move {
            self.client
                .create_model_version(
                    name.as_str(),
                    &new.source,
                    new.run_id.as_deref(),
                    new.description.as_deref(),
                    &new.metadata.to_tags(),
                )
                .await
                .map_err(|e| self.error(e))
        })
    }

    fn get_version<'a>(
        &'a self,
        name: &'a str,
        version: VersionNumber,
    ) -> RegistryFuture<'a, ModelVersion> {
        Box::pin(async move {
            self.client
                .get_model_version(name, version)
                .await
                .map_err(|e| self.error(e))
        })
    }

    fn update_version<'a>(
        &'a self,
        name: &'a str,
        version: VersionNumber,
        update: &'a VersionUpdate,
    ) -> RegistryFuture<'a, ModelVersion> {
        Box::pin(async move {
            let c = &self.client;
            if let Some(description) = &update.description {
                c.update_model_version(name, version, description)
                    .await
                    .map_err(|e| self.error(e))?;
            }
            for tag in &update.set_tags {
                c.set_model_version_tag(name, version, tag)
                    .await
                    .map_err(|e| self.error(e))?;
            }
            for key in &update.remove_tags {
                c.delete_model_version_tag(name, version, key)
                    .await
                    .map_err(|e| self.error(e))?;
            }
            if let Some(stage) = update.stage {
                c.transition_model_version_stage(name, version, stage, false)
                    .await
                    .map_err(|e| self.error(e))?;
            }
            c.get_model_version(name, version)
                .await
                .map_err(|e| self.error(e))
        })
    }

    fn delete_version<'a>(
        &'a self,
        name: &'a str,
        version: VersionNumber,
    ) -> RegistryFuture<'a, ()> {
        Box::pin(async move {
            self.client
                .delete_model_version(name, version)
                .await
                .map_err(|e| self.error(e))
        })
    }

    fn transition_stage<'a>(
        &'a self,
        name: &'a str,
        version: VersionNumber,
        stage: Stage,
        archive_existing: bool,
    ) -> RegistryFuture<'a, ModelVersion> {
        Box::pin(async move {
            self.client
                .transition_model_version_stage(name, version, stage, archive_existing)
                .await
                .map_err(|e| self.error(e))
        })
    }

    fn latest_versions<'a>(
        &'a self,
        name: &'a str,
        stages: &'a [Stage],
    ) -> RegistryFuture<'a, Vec<ModelVersion>> {
        Box::pin(async move {
            self.client
                .get_latest_versions(name, stages)
                .await
                .map_err(|e| self.error(e))
        })
    }

    fn search_versions_page<'a>(
        &'a self,
        filter: &'a str,
        order_by: &'a [String],
        max_results: u64,
        page_token: Option<&'a str>,
    ) -> RegistryFuture<'a, Page<ModelVersion>> {
        Box::pin(async move {
            self.client
                .search_model_versions(filter, order_by, max_results, page_token)
                .await
                .map_err(|e| self.error(e))
        })
    }

    fn set_alias<'a>(
        &'a self,
        name: &'a str,
        alias: &'a AliasName,
        version: VersionNumber,
    ) -> RegistryFuture<'a, ()> {
        Box::pin(async move {
            self.client
                .set_registered_model_alias(name, alias.as_str(), version)
                .await
                .map_err(|e| self.error(e))
        })
    }

    fn delete_alias<'a>(&'a self, name: &'a str, alias: &'a str) -> RegistryFuture<'a, ()> {
        Box::pin(async move {
            self.client
                .delete_registered_model_alias(name, alias)
                .await
                .map_err(|e| self.error(e))
        })
    }

    fn get_version_by_alias<'a>(
        &'a self,
        name: &'a str,
        alias: &'a str,
    ) -> RegistryFuture<'a, ModelVersion> {
        Box::pin(async move {
            match self.client.get_model_version_by_alias(name, alias).await {
                Ok(v) => Ok(v),
                // MLflow answers a missing alias with INVALID_PARAMETER_VALUE, not a 404.
                Err(ClientError::Api { code, message, .. })
                    if code == "INVALID_PARAMETER_VALUE" && message.contains("not found") =>
                {
                    Err(RegistryError::NotFound(message))
                }
                Err(e) => Err(self.error(e)),
            }
        })
    }

    fn create_run<'a>(&'a self, new: &'a NewRunRecord) -> RegistryFuture<'a, RunRecord> {
        Box::pin(async move {
            let experiment = if new.experiment_id.is_empty() {
                "0"
            } else {
                new.experiment_id.as_str()
            };
            let mut run = self
                .client
                .create_run(experiment, new.name.as_deref(), &new.tags)
                .await
                .map_err(|e| self.error(e))?;
            self.client
                .log_batch(&run.run_id, &new.params, &new.metrics, &[])
                .await
                .map_err(|e| self.error(e))?;
            run.params = new.params.clone();
            run.metrics = new.metrics.clone();
            Ok(run)
        })
    }

    fn get_run<'a>(&'a self, run_id: &'a str) -> RegistryFuture<'a, RunRecord> {
        Box::pin(async move { self.client.get_run(run_id).await.map_err(|e| self.error(e)) })
    }

    fn finish_run<'a>(&'a self, run_id: &'a str) -> RegistryFuture<'a, ()> {
        Box::pin(async move {
            self.client
                .finish_run(run_id)
                .await
                .map_err(|e| self.error(e))
        })
    }

    fn version_files<'a>(
        &'a self,
        name: &'a str,
        version: VersionNumber,
    ) -> RegistryFuture<'a, VersionFiles> {
        Box::pin(async move {
            let base = self.client.base();
            let uri = self
                .client
                .get_model_version_download_uri(name, version)
                .await
                .map_err(|e| self.error(e))?;
            let root = self.resolve_location(&uri).await?;
            let prefix = artifact_store_path(&root).ok_or_else(|| {
                RegistryError::Unsupported(format!(
                    "The files of {name} version {version} are at '{root}', which the server at \
                     {base} does not serve through its artifact proxy; fetch them from there."
                ))
            })?;
            let listed = self
                .client
                .list_artifacts_recursive(&prefix)
                .await
                .map_err(|e| self.error(e))?;
            if listed.is_empty() {
                return Err(RegistryError::NotFound(format!(
                    "{name} version {version} has no files at {root}."
                )));
            }
            let manifest = self
                .client
                .artifact_manifest(&prefix)
                .await
                .map_err(|e| self.error(e))?;
            let digests: HashMap<String, (u64, String)> = manifest
                .iter()
                .flatten()
                .map(|m| (m.path.clone(), (m.size, m.sha256.clone())))
                .collect();
            let files = listed
                .into_iter()
                .map(|(path, size)| {
                    let recorded = digests.get(&path);
                    VersionFile {
                        store_path: format!("{prefix}/{path}"),
                        size: recorded.map(|(s, _)| *s).or(size),
                        sha256: recorded.map(|(_, d)| d.clone()),
                        path,
                    }
                })
                .collect();
            Ok(VersionFiles {
                name: name.to_owned(),
                version,
                root,
                files,
                unverified_reason: manifest.is_none().then(|| {
                    format!(
                        "the server at {base} keeps no SHA-256 digests (it is not Arca), so the \
                         files were not verified"
                    )
                }),
            })
        })
    }

    fn open_file<'a>(&'a self, file: &'a VersionFile) -> RegistryFuture<'a, Box<dyn ByteReader>> {
        Box::pin(async move {
            let response = self
                .client
                .download_artifact(&file.store_path)
                .await
                .map_err(|e| self.error(e))?;
            Ok(Box::new(HttpReader {
                response,
                base: self.client.base().to_owned(),
            }) as Box<dyn ByteReader>)
        })
    }

    fn upload_file<'a>(
        &'a self,
        run: &'a RunRecord,
        path: &'a str,
        size: Option<u64>,
        body: Box<dyn ByteReader>,
    ) -> RegistryFuture<'a, ()> {
        Box::pin(async move {
            let root = artifact_store_path(&run.artifact_uri).ok_or_else(|| {
                RegistryError::Unsupported(format!(
                    "Run {} keeps its files at '{}', which the server at {} does not proxy, so \
                     arca cannot upload through it; start the server with artifact serving \
                     (`mlflow server --serve-artifacts`, the default since MLflow 2).",
                    run.run_id,
                    run.artifact_uri,
                    self.client.base()
                ))
            })?;
            let body = reqwest::Body::wrap_stream(reader_stream(body));
            self.client
                .upload_artifact(&format!("{root}/{}", path.trim_matches('/')), body, size)
                .await
                .map_err(|e| self.error(e))
        })
    }
}
