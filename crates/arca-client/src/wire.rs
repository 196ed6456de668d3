//! MLflow's JSON messages as a client reads them, and their conversion into arca-core's types.
//!
//! Reading is lenient where servers differ: int64 fields may be JSON numbers (what the server
//! sends) or strings (proto3 JSON), unset fields and empty lists may be left out, and a metric
//! value may be `NaN` or `Infinity`, which Python's `json` writes although JSON has no such
//! literals.

use arca_core::model::{Alias, ModelVersion, RegisteredModel, Stage, Tag, VersionNumber};
use arca_core::registry::{MetricValue, RunRecord};
use arca_core::tracking::Param;
use serde::{Deserialize, Deserializer, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyValue {
    pub key: String,
    #[serde(default)]
    pub value: String,
}

impl From<&Tag> for KeyValue {
    fn from(t: &Tag) -> Self {
        KeyValue {
            key: t.key.clone(),
            value: t.value.clone(),
        }
    }
}

impl From<KeyValue> for Tag {
    fn from(kv: KeyValue) -> Self {
        Tag {
            key: kv.key,
            value: kv.value,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct AliasJson {
    pub alias: String,
    pub version: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RegisteredModelJson {
    pub name: String,
    #[serde(default, deserialize_with = "int64")]
    pub creation_timestamp: i64,
    #[serde(default, deserialize_with = "int64")]
    pub last_updated_timestamp: i64,
    pub description: Option<String>,
    #[serde(default)]
    pub latest_versions: Vec<ModelVersionJson>,
    #[serde(default)]
    pub tags: Vec<KeyValue>,
    #[serde(default)]
    pub aliases: Vec<AliasJson>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ModelVersionJson {
    pub name: String,
    pub version: String,
    #[serde(default, deserialize_with = "int64")]
    pub creation_timestamp: i64,
    #[serde(default, deserialize_with = "int64")]
    pub last_updated_timestamp: i64,
    pub user_id: Option<String>,
    pub current_stage: Option<String>,
    pub description: Option<String>,
    pub source: Option<String>,
    pub run_id: Option<String>,
    pub run_link: Option<String>,
    pub model_id: Option<String>,
    #[serde(default)]
    pub tags: Vec<KeyValue>,
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// A message that does not fit the domain (a version that is not a number, an unknown stage).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub String);

impl TryFrom<ModelVersionJson> for ModelVersion {
    type Error = Malformed;

    fn try_from(v: ModelVersionJson) -> Result<Self, Malformed> {
        let version = VersionNumber::parse(&v.version)
            .map_err(|_| Malformed(format!("model version '{}' is not a number", v.version)))?;
        let stage = v.current_stage.as_deref().unwrap_or("None");
        let current_stage = Stage::parse(stage)
            .map_err(|_| Malformed(format!("model version stage '{stage}' is unknown")))?;
        Ok(ModelVersion {
            name: v.name,
            version,
            creation_timestamp: v.creation_timestamp,
            last_updated_timestamp: v.last_updated_timestamp,
            user_id: v.user_id,
            current_stage,
            description: v.description.unwrap_or_default(),
            source: v.source.unwrap_or_default(),
            run_id: v.run_id.unwrap_or_default(),
            run_link: v.run_link.unwrap_or_default(),
            model_id: v.model_id.filter(|m| !m.is_empty()),
            tags: v.tags.into_iter().map(Tag::from).collect(),
            aliases: v.aliases,
        })
    }
}

impl TryFrom<RegisteredModelJson> for RegisteredModel {
    type Error = Malformed;

    fn try_from(m: RegisteredModelJson) -> Result<Self, Malformed> {
        let aliases = m
            .aliases
            .into_iter()
            .map(|a| {
                Ok(Alias {
                    version: VersionNumber::parse(&a.version).map_err(|_| {
                        Malformed(format!(
                            "alias '{}' points at version '{}', which is not a number",
                            a.alias, a.version
                        ))
                    })?,
                    alias: a.alias,
                })
            })
            .collect::<Result<_, Malformed>>()?;
        Ok(RegisteredModel {
            name: m.name,
            description: m.description,
            creation_timestamp: m.creation_timestamp,
            last_updated_timestamp: m.last_updated_timestamp,
            tags: m.tags.into_iter().map(Tag::from).collect(),
            aliases,
            latest_versions: m
                .latest_versions
                .into_iter()
                .map(ModelVersion::try_from)
                .collect::<Result<_, _>>()?,
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct RunJson {
    pub info: RunInfoJson,
    #[serde(default)]
    pub data: RunDataJson,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RunInfoJson {
    pub run_id: Option<String>,
    pub run_uuid: Option<String>,
    #[serde(default)]
    pub experiment_id: String,
    pub run_name: Option<String>,
    #[serde(default)]
    pub artifact_uri: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RunDataJson {
    #[serde(default)]
    pub metrics: Vec<MetricJson>,
    #[serde(default)]
    pub params: Vec<KeyValue>,
    #[serde(default)]
    pub tags: Vec<KeyValue>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MetricJson {
    pub key: String,
    /// `None` for a non-finite value the server wrote as `NaN` or `Infinity`.
    pub value: Option<f64>,
}

impl From<RunJson> for RunRecord {
    fn from(run: RunJson) -> Self {
        let run_id = run.info.run_id.or(run.info.run_uuid).unwrap_or_default();
        let tags: Vec<Tag> = run.data.tags.into_iter().map(Tag::from).collect();
        let name = run
            .info
            .run_name
            .or_else(|| {
                tags.iter()
                    .find(|t| t.key == "mlflow.runName")
                    .map(|t| t.value.clone())
            })
            .unwrap_or_default();
        RunRecord {
            run_id,
            experiment_id: run.info.experiment_id,
            name,
            artifact_uri: run.info.artifact_uri,
            params: run
                .data
                .params
                .into_iter()
                .map(|p| Param {
                    key: p.key,
                    value: p.value,
                })
                .collect(),
            metrics: run
                .data
                .metrics
                .into_iter()
                .filter_map(|m| m.value.map(|value| MetricValue { key: m.key, value }))
                .collect(),
            tags,
        }
    }
}

/// An int64 as a JSON number or a numeric string.
fn int64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Int {
        Num(i64),
        Str(String),
    }
    match Option::<Int>::deserialize(d)? {
        None => Ok(0),
        Some(Int::Num(n)) => Ok(n),
        Some(Int::Str(s)) => s.parse().map_err(serde::de::Error::custom),
    }
}

/// Replaces the bare `NaN`, `Infinity` and `-Infinity` that Python's `json` writes with `null`,
/// outside string literals, so that the text parses as JSON.
pub fn sanitize_non_finite(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if in_string {
            out.push(c);
            rest = &rest[c.len_utf8()..];
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        if c == '"' {
            in_string = true;
        } else if let Some(word) = ["-Infinity", "Infinity", "NaN"]
            .into_iter()
            .find(|w| rest.starts_with(w))
        {
            out.push_str("null");
            rest = &rest[word.len()..];
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_read_numbers_or_strings_and_default_the_stage() {
        let v: ModelVersionJson = serde_json::from_str(
            r#"{"name":"m","version":"3","creation_timestamp":"17","last_updated_timestamp":18,
                "source":"runs:/abc/model","run_id":"abc","tags":[{"key":"k","value":"v"}]}"#,
        )
        .unwrap();
        let v = ModelVersion::try_from(v).unwrap();
        assert_eq!(v.version.get(), 3);
        assert_eq!((v.creation_timestamp, v.last_updated_timestamp), (17, 18));
        assert_eq!(v.current_stage, Stage::None);
        assert_eq!(v.description, "");
    }

    #[test]
    fn non_finite_metric_values_parse_as_missing() {
        let text = r#"{"run":{"info":{"run_id":"r","experiment_id":"0","artifact_uri":"x"},
            "data":{"metrics":[{"key":"a","value":NaN},{"key":"b","value":-Infinity},
            {"key":"NaN \"Infinity\"","value":1.5}]}}}"#;
        #[derive(Deserialize)]
        struct Body {
            run: RunJson,
        }
        let body: Body = serde_json::from_str(&sanitize_non_finite(text)).unwrap();
        let run = RunRecord::from(body.run);
        assert_eq!(run.metrics.len(), 1);
        assert_eq!(run.metrics[0].key, "NaN \"Infinity\"");
    }
}
