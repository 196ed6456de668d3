//! The model-registry endpoints (`/api/2.0/mlflow/registered-models/...`,
//! `/api/2.0/mlflow/model-versions/...`), one method each, answering arca-core types.

use crate::wire::{KeyValue, Malformed, ModelVersionJson, RegisteredModelJson};
use crate::{Client, ClientError};
use arca_core::model::{ModelVersion, Page, RegisteredModel, Stage, Tag, VersionNumber};
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

const API: &str = "/api/2.0/mlflow";

#[derive(Deserialize)]
struct ModelBody {
    registered_model: RegisteredModelJson,
}

#[derive(Deserialize)]
struct VersionBody {
    model_version: ModelVersionJson,
}

#[derive(Deserialize)]
struct ModelsPage {
    #[serde(default)]
    registered_models: Vec<RegisteredModelJson>,
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct VersionsPage {
    #[serde(default)]
    model_versions: Vec<ModelVersionJson>,
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct Empty {}

fn tags_json(tags: &[Tag]) -> Vec<KeyValue> {
    tags.iter().map(KeyValue::from).collect()
}

impl Client {
    fn malformed(&self, path: &str, err: Malformed) -> ClientError {
        ClientError::Protocol {
            url: format!("{}{API}{path}", self.base),
            detail: err.0,
        }
    }

    fn model(&self, path: &str, m: RegisteredModelJson) -> Result<RegisteredModel, ClientError> {
        RegisteredModel::try_from(m).map_err(|e| self.malformed(path, e))
    }

    fn version(&self, path: &str, v: ModelVersionJson) -> Result<ModelVersion, ClientError> {
        ModelVersion::try_from(v).map_err(|e| self.malformed(path, e))
    }

    async fn model_call(
        &self,
        method: Method,
        path: &str,
        body: serde_json::Value,
    ) -> Result<RegisteredModel, ClientError> {
        let body: ModelBody = self
            .call_json(method, &format!("{API}{path}"), &body)
            .await?;
        self.model(path, body.registered_model)
    }

    async fn version_call(
        &self,
        method: Method,
        path: &str,
        body: serde_json::Value,
    ) -> Result<ModelVersion, ClientError> {
        let body: VersionBody = self
            .call_json(method, &format!("{API}{path}"), &body)
            .await?;
        self.version(path, body.model_version)
    }

    async fn empty_call(
        &self,
        method: Method,
        path: &str,
        body: serde_json::Value,
    ) -> Result<(), ClientError> {
        let _: Empty = self
            .call_json(method, &format!("{API}{path}"), &body)
            .await?;
        Ok(())
    }

    pub async fn create_registered_model(
        &self,
        name: &str,
        description: Option<&str>,
        tags: &[Tag],
    ) -> Result<RegisteredModel, ClientError> {
        let mut body = json!({"name": name, "tags": tags_json(tags)});
        if let Some(d) = description {
            body["description"] = json!(d);
        }
        self.model_call(Method::POST, "/registered-models/create", body)
            .await
    }

    pub async fn get_registered_model(&self, name: &str) -> Result<RegisteredModel, ClientError> {
        let path = "/registered-models/get";
        let body: ModelBody = self
            .get_json(&format!("{API}{path}"), &[("name", name)])
            .await?;
        self.model(path, body.registered_model)
    }

    pub async fn rename_registered_model(
        &self,
        name: &str,
        new_name: &str,
    ) -> Result<RegisteredModel, ClientError> {
        self.model_call(
            Method::POST,
            "/registered-models/rename",
            json!({"name": name, "new_name": new_name}),
        )
        .await
    }

    pub async fn update_registered_model(
        &self,
        name: &str,
        description: &str,
    ) -> Result<RegisteredModel, ClientError> {
        self.model_call(
            Method::PATCH,
            "/registered-models/update",
            json!({"name": name, "description": description}),
        )
        .await
    }

    pub async fn delete_registered_model(&self, name: &str) -> Result<(), ClientError> {
        self.empty_call(
            Method::DELETE,
            "/registered-models/delete",
            json!({"name": name}),
        )
        .await
    }

    pub async fn set_registered_model_tag(&self, name: &str, tag: &Tag) -> Result<(), ClientError> {
        self.empty_call(
            Method::POST,
            "/registered-models/set-tag",
            json!({"name": name, "key": tag.key, "value": tag.value}),
        )
        .await
    }

    pub async fn delete_registered_model_tag(
        &self,
        name: &str,
        key: &str,
    ) -> Result<(), ClientError> {
        self.empty_call(
            Method::DELETE,
            "/registered-models/delete-tag",
            json!({"name": name, "key": key}),
        )
        .await
    }

    pub async fn search_registered_models(
        &self,
        filter: &str,
        order_by: &[&str],
        max_results: u64,
        page_token: Option<&str>,
    ) -> Result<Page<RegisteredModel>, ClientError> {
        let path = "/registered-models/search";
        let max_results = max_results.to_string();
        let mut query = vec![("max_results", max_results.as_str())];
        if !filter.is_empty() {
            query.push(("filter", filter));
        }
        query.extend(order_by.iter().map(|o| ("order_by", *o)));
        if let Some(token) = page_token {
            query.push(("page_token", token));
        }
        let page: ModelsPage = self.get_json(&format!("{API}{path}"), &query).await?;
        Ok(Page {
            items: page
                .registered_models
                .into_iter()
                .map(|m| self.model(path, m))
                .collect::<Result<_, _>>()?,
            next_page_token: page.next_page_token.filter(|t| !t.is_empty()),
        })
    }

    pub async fn create_model_version(
        &self,
        name: &str,
        source: &str,
        run_id: Option<&str>,
        description: Option<&str>,
        tags: &[Tag],
    ) -> Result<ModelVersion, ClientError> {
        let mut body = json!({"name": name, "source": source, "tags": tags_json(tags)});
        if let Some(run_id) = run_id.filter(|r| !r.is_empty()) {
            body["run_id"] = json!(run_id);
        }
        if let Some(d) = description {
            body["description"] = json!(d);
        }
        self.version_call(Method::POST, "/model-versions/create", body)
            .await
    }

    pub async fn get_model_version(
        &self,
        name: &str,
        version: VersionNumber,
    ) -> Result<ModelVersion, ClientError> {
        let path = "/model-versions/get";
        let version = version.to_string();
        let body: VersionBody = self
            .get_json(
                &format!("{API}{path}"),
                &[("name", name), ("version", &version)],
            )
            .await?;
        self.version(path, body.model_version)
    }

    pub async fn update_model_version(
        &self,
        name: &str,
        version: VersionNumber,
        description: &str,
    ) -> Result<ModelVersion, ClientError> {
        self.version_call(
            Method::PATCH,
            "/model-versions/update",
            json!({"name": name, "version": version.to_string(), "description": description}),
        )
        .await
    }

    pub async fn delete_model_version(
        &self,
        name: &str,
        version: VersionNumber,
    ) -> Result<(), ClientError> {
        self.empty_call(
            Method::DELETE,
            "/model-versions/delete",
            json!({"name": name, "version": version.to_string()}),
        )
        .await
    }

    pub async fn transition_model_version_stage(
        &self,
        name: &str,
        version: VersionNumber,
        stage: Stage,
        archive_existing_versions: bool,
    ) -> Result<ModelVersion, ClientError> {
        self.version_call(
            Method::POST,
            "/model-versions/transition-stage",
            json!({
                "name": name,
                "version": version.to_string(),
                "stage": stage.as_str(),
                "archive_existing_versions": archive_existing_versions,
            }),
        )
        .await
    }

    pub async fn set_model_version_tag(
        &self,
        name: &str,
        version: VersionNumber,
        tag: &Tag,
    ) -> Result<(), ClientError> {
        self.empty_call(
            Method::POST,
            "/model-versions/set-tag",
            json!({"name": name, "version": version.to_string(), "key": tag.key, "value": tag.value}),
        )
        .await
    }

    pub async fn delete_model_version_tag(
        &self,
        name: &str,
        version: VersionNumber,
        key: &str,
    ) -> Result<(), ClientError> {
        self.empty_call(
            Method::DELETE,
            "/model-versions/delete-tag",
            json!({"name": name, "version": version.to_string(), "key": key}),
        )
        .await
    }

    pub async fn search_model_versions(
        &self,
        filter: &str,
        order_by: &[String],
        max_results: u64,
        page_token: Option<&str>,
    ) -> Result<Page<ModelVersion>, ClientError> {
        let path = "/model-versions/search";
        let max_results = max_results.to_string();
        let mut query = vec![("max_results", max_results.as_str())];
        if !filter.is_empty() {
            query.push(("filter", filter));
        }
        query.extend(order_by.iter().map(|o| ("order_by", o.as_str())));
        if let Some(token) = page_token {
            query.push(("page_token", token));
        }
        let page: VersionsPage = self.get_json(&format!("{API}{path}"), &query).await?;
        Ok(Page {
            items: page
                .model_versions
                .into_iter()
                .map(|v| self.version(path, v))
                .collect::<Result<_, _>>()?,
            next_page_token: page.next_page_token.filter(|t| !t.is_empty()),
        })
    }

    pub async fn get_latest_versions(
        &self,
        name: &str,
        stages: &[Stage],
    ) -> Result<Vec<ModelVersion>, ClientError> {
        #[derive(Deserialize)]
        struct Latest {
            #[serde(default)]
            model_versions: Vec<ModelVersionJson>,
        }
        let path = "/registered-models/get-latest-versions";
        let stages: Vec<&str> = stages.iter().map(|s| s.as_str()).collect();
        let body: Latest = self
            .call_json(
                Method::POST,
                &format!("{API}{path}"),
                &json!({"name": name, "stages": stages}),
            )
            .await?;
        body.model_versions
            .into_iter()
            .map(|v| self.version(path, v))
            .collect()
    }

    pub async fn set_registered_model_alias(
        &self,
        name: &str,
        alias: &str,
        version: VersionNumber,
    ) -> Result<(), ClientError> {
        self.empty_call(
            Method::POST,
            "/registered-models/alias",
            json!({"name": name, "alias": alias, "version": version.to_string()}),
        )
        .await
    }

    pub async fn delete_registered_model_alias(
        &self,
        name: &str,
        alias: &str,
    ) -> Result<(), ClientError> {
        self.empty_call(
            Method::DELETE,
            "/registered-models/alias",
            json!({"name": name, "alias": alias}),
        )
        .await
    }

    pub async fn get_model_version_by_alias(
        &self,
        name: &str,
        alias: &str,
    ) -> Result<ModelVersion, ClientError> {
        let path = "/registered-models/alias";
        let body: VersionBody = self
            .get_json(&format!("{API}{path}"), &[("name", name), ("alias", alias)])
            .await?;
        self.version(path, body.model_version)
    }

    /// Where the version's files are, as the server resolves its `source`.
    pub async fn get_model_version_download_uri(
        &self,
        name: &str,
        version: VersionNumber,
    ) -> Result<String, ClientError> {
        #[derive(Deserialize)]
        struct DownloadUri {
            artifact_uri: Option<String>,
        }
        let version = version.to_string();
        let body: DownloadUri = self
            .get_json(
                &format!("{API}/model-versions/get-download-uri"),
                &[("name", name), ("version", &version)],
            )
            .await?;
        Ok(body.artifact_uri.unwrap_or_default())
    }
}
