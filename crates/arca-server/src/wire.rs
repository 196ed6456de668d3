//! The JSON shapes of MLflow's registry messages as the real server emits them: int64 as JSON
//! numbers, version numbers as strings, unset optional fields and empty lists left out.

use arca_core::model::{ModelVersion, RegisteredModel, Tag};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize)]
pub struct TagJson {
    pub key: String,
    pub value: String,
}

impl From<&Tag> for TagJson {
    fn from(t: &Tag) -> Self {
        TagJson {
            key: t.key.clone(),
            value: t.value.clone(),
        }
    }
}

/// A tag as sent by a client; both fields are checked by the handler, so both are optional here.
#[derive(Debug, Deserialize)]
pub struct TagIn {
    pub key: Option<String>,
    pub value: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct AliasJson {
    pub alias: String,
    pub version: String,
}

#[derive(Debug, Serialize)]
pub struct RegisteredModelJson {
    pub name: String,
    pub creation_timestamp: i64,
    pub last_updated_timestamp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub latest_versions: Vec<ModelVersionJson>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<TagJson>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<AliasJson>,
}

impl From<&RegisteredModel> for RegisteredModelJson {
    fn from(m: &RegisteredModel) -> Self {
        RegisteredModelJson {
            name: m.name.clone(),
            creation_timestamp: m.creation_timestamp,
            last_updated_timestamp: m.last_updated_timestamp,
            // MLflow leaves out an empty description, as it leaves out an unset one.
            description: m.description.clone().filter(|d| !d.is_empty()),
            latest_versions: m.latest_versions.iter().map(Into::into).collect(),
            tags: m.tags.iter().map(Into::into).collect(),
            aliases: m
                .aliases
                .iter()
                .map(|a| AliasJson {
                    alias: a.alias.clone(),
                    version: a.version.to_string(),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ModelVersionJson {
    pub name: String,
    pub version: String,
    pub creation_timestamp: i64,
    pub last_updated_timestamp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    pub current_stage: &'static str,
    pub description: String,
    pub source: String,
    pub run_id: String,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<TagJson>,
    pub run_link: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
}

impl From<&ModelVersion> for ModelVersionJson {
    fn from(v: &ModelVersion) -> Self {
        ModelVersionJson {
            name: v.name.clone(),
            version: v.version.to_string(),
            creation_timestamp: v.creation_timestamp,
            last_updated_timestamp: v.last_updated_timestamp,
            user_id: v.user_id.clone(),
            current_stage: v.current_stage.as_str(),
            description: v.description.clone(),
            source: v.source.clone(),
            run_id: v.run_id.clone(),
            status: "READY",
            tags: v.tags.iter().map(Into::into).collect(),
            run_link: v.run_link.clone(),
            aliases: v.aliases.clone(),
        }
    }
}
