//! A version's metadata: where it came from (ZenML's lineage fields) and free key/values.
//!
//! ZenML's MLflow registry flavor writes every field of `ModelRegistryModelMetadata` as a model
//! version tag under its own name (`zenml_pipeline_name`, `zenml_pipeline_run_uuid`, ...). Arca
//! stores lineage under exactly those keys, so a version registered by `arca` shows its pipeline
//! in `zenml model-registry models get-version`, and one registered by ZenML shows it in Arca.

use crate::model::Tag;

/// The lineage fields, as `(name used by Arca, tag key written by ZenML)`, in display order.
pub const LINEAGE_KEYS: &[(&str, &str)] = &[
    ("pipeline_name", "zenml_pipeline_name"),
    ("pipeline_run_id", "zenml_pipeline_run_uuid"),
    ("step_name", "zenml_step_name"),
    ("run_name", "zenml_run_name"),
    ("pipeline_id", "zenml_pipeline_uuid"),
    ("project", "zenml_project"),
    ("zenml_version", "zenml_version"),
];

/// The tag key of the lineage field `name` (`pipeline_name` → `zenml_pipeline_name`).
pub fn lineage_key(name: &str) -> Option<&'static str> {
    LINEAGE_KEYS
        .iter()
        .find(|(field, _)| *field == name)
        .map(|(_, key)| *key)
}

/// ZenML's `ModelRegistryModelMetadata`: the lineage fields plus every other tag.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionMetadata {
    pub pipeline_name: Option<String>,
    pub pipeline_run_id: Option<String>,
    pub step_name: Option<String>,
    pub run_name: Option<String>,
    pub pipeline_id: Option<String>,
    pub project: Option<String>,
    pub zenml_version: Option<String>,
    /// Every tag that is not a lineage field, in the order given.
    pub custom: Vec<Tag>,
}

impl VersionMetadata {
    fn field_mut(&mut self, key: &str) -> Option<&mut Option<String>> {
        Some(match key {
            "zenml_pipeline_name" => &mut self.pipeline_name,
            "zenml_pipeline_run_uuid" => &mut self.pipeline_run_id,
            "zenml_step_name" => &mut self.step_name,
            "zenml_run_name" => &mut self.run_name,
            "zenml_pipeline_uuid" => &mut self.pipeline_id,
            "zenml_project" => &mut self.project,
            "zenml_version" => &mut self.zenml_version,
            _ => return None,
        })
    }

    fn field(&self, key: &str) -> Option<&Option<String>> {
        Some(match key {
            "zenml_pipeline_name" => &self.pipeline_name,
            "zenml_pipeline_run_uuid" => &self.pipeline_run_id,
            "zenml_step_name" => &self.step_name,
            "zenml_run_name" => &self.run_name,
            "zenml_pipeline_uuid" => &self.pipeline_id,
            "zenml_project" => &self.project,
            "zenml_version" => &self.zenml_version,
            _ => return None,
        })
    }

    /// Reads a version's tags; a lineage tag with an empty value counts as absent.
    pub fn from_tags(tags: &[Tag]) -> VersionMetadata {
        let mut meta = VersionMetadata::default();
        for tag in tags {
            match meta.field_mut(&tag.key) {
                Some(field) => *field = Some(tag.value.clone()).filter(|v| !v.is_empty()),
                None => meta.custom.push(tag.clone()),
            }
        }
        meta
    }

    /// Sets a tag: a lineage key fills its field, any other key goes to `custom`, replacing an
    /// earlier value of the same key.
    pub fn set(&mut self, tag: Tag) {
        match self.field_mut(&tag.key) {
            Some(field) => *field = Some(tag.value),
            None => match self.custom.iter_mut().find(|t| t.key == tag.key) {
                Some(existing) => existing.value = tag.value,
                None => self.custom.push(tag),
            },
        }
    }

    /// The lineage fields that are set, as `(field name, tag key, value)`.
    pub fn lineage(&self) -> Vec<(&'static str, &'static str, &str)> {
        LINEAGE_KEYS
            .iter()
            .filter_map(|(field, key)| {
                self.field(key)
                    .and_then(|v| v.as_deref())
                    .map(|v| (*field, *key, v))
            })
            .collect()
    }

    /// The tags to store: the lineage fields that are set, then the custom tags.
    pub fn to_tags(&self) -> Vec<Tag> {
        let mut tags: Vec<Tag> = self
            .lineage()
            .into_iter()
            .map(|(_, key, value)| Tag {
                key: key.to_owned(),
                value: value.to_owned(),
            })
            .collect();
        tags.extend(self.custom.iter().cloned());
        tags
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(k: &str, v: &str) -> Tag {
        Tag {
            key: k.into(),
            value: v.into(),
        }
    }

    #[test]
    fn lineage_round_trips_through_zenml_tag_keys() {
        let tags = vec![
            tag("zenml_pipeline_name", "train"),
            tag("team", "risk"),
            tag("zenml_pipeline_run_uuid", "r-1"),
            tag("mlflow_run_id", "abc"),
            tag("zenml_step_name", ""),
        ];
        let meta = VersionMetadata::from_tags(&tags);
        assert_eq!(meta.pipeline_name.as_deref(), Some("train"));
        assert_eq!(meta.pipeline_run_id.as_deref(), Some("r-1"));
        assert_eq!(meta.step_name, None);
        assert_eq!(
            meta.custom,
            vec![tag("team", "risk"), tag("mlflow_run_id", "abc")]
        );
        assert_eq!(
            meta.to_tags(),
            vec![
                tag("zenml_pipeline_name", "train"),
                tag("zenml_pipeline_run_uuid", "r-1"),
                tag("team", "risk"),
                tag("mlflow_run_id", "abc"),
            ]
        );
        assert_eq!(lineage_key("step_name"), Some("zenml_step_name"));
        assert_eq!(lineage_key("team"), None);
    }

    #[test]
    fn set_replaces_values_of_the_same_key() {
        let mut meta = VersionMetadata::default();
        meta.set(tag("a", "1"));
        meta.set(tag("a", "2"));
        meta.set(tag("zenml_step_name", "fit"));
        assert_eq!(meta.custom, vec![tag("a", "2")]);
        assert_eq!(meta.step_name.as_deref(), Some("fit"));
    }
}
