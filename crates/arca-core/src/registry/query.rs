//! What to list and what to change, as plain values. A query renders to MLflow's filter grammar
//! (one text that Arca's parser and MLflow's both accept), so every flavor filters the same way;
//! what that grammar cannot say (stage, creation time) is checked by [`VersionQuery::matches`].

use crate::model::{ModelVersion, Stage, Tag};

/// Which registered models to list (ZenML's `list_models(name, metadata)`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelQuery {
    /// An exact name, or a SQL `LIKE` pattern when it contains `%`.
    pub name: Option<String>,
    /// Every tag must be present with this exact value.
    pub tags: Vec<Tag>,
    pub limit: Option<usize>,
}

impl ModelQuery {
    pub fn filter_string(&self) -> String {
        let mut clauses = Vec::new();
        if let Some(name) = &self.name {
            let op = if name.contains('%') { "LIKE" } else { "=" };
            clauses.push(format!("name {op} {}", quote(name)));
        }
        clauses.extend(self.tags.iter().map(tag_clause));
        clauses.join(" AND ")
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum VersionOrder {
    #[default]
    NewestFirst,
    OldestFirst,
}

/// Which versions to list (ZenML's `list_model_versions`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionQuery {
    pub model: Option<String>,
    pub source: Option<String>,
    pub run_id: Option<String>,
    pub tags: Vec<Tag>,
    pub stage: Option<Stage>,
    /// Epoch milliseconds, inclusive.
    pub created_after: Option<i64>,
    /// Epoch milliseconds, exclusive.
    pub created_before: Option<i64>,
    pub order: VersionOrder,
    pub limit: Option<usize>,
}

impl VersionQuery {
    pub fn filter_string(&self) -> String {
        let mut clauses = Vec::new();
        if let Some(model) = &self.model {
            clauses.push(format!("name = {}", quote(model)));
        }
        if let Some(source) = &self.source {
            clauses.push(format!("source_path = {}", quote(source)));
        }
        if let Some(run_id) = &self.run_id {
            clauses.push(format!("run_id = {}", quote(run_id)));
        }
        clauses.extend(self.tags.iter().map(tag_clause));
        clauses.join(" AND ")
    }

    /// Creation time first (ties broken by name and number), in the requested direction.
    pub fn order_by(&self) -> Vec<String> {
        let dir = match self.order {
            VersionOrder::NewestFirst => "DESC",
            VersionOrder::OldestFirst => "ASC",
        };
        vec![
            format!("creation_timestamp {dir}"),
            "name ASC".to_owned(),
            format!("version_number {dir}"),
        ]
    }

    /// Whether `version` passes the conditions the registry's filter cannot express.
    pub fn matches(&self, version: &ModelVersion) -> bool {
        self.stage.is_none_or(|s| version.current_stage == s)
            && self
                .created_after
                .is_none_or(|t| version.creation_timestamp >= t)
            && self
                .created_before
                .is_none_or(|t| version.creation_timestamp < t)
    }
}

/// Changes to a registered model (ZenML's `update_model`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelUpdate {
    pub description: Option<String>,
    pub set_tags: Vec<Tag>,
    pub remove_tags: Vec<String>,
}

/// Changes to a model version (ZenML's `update_model_version`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionUpdate {
    pub description: Option<String>,
    pub set_tags: Vec<Tag>,
    pub remove_tags: Vec<String>,
    pub stage: Option<Stage>,
}

/// A string literal in MLflow's filter grammar; a quote inside is doubled.
fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

fn tag_clause(tag: &Tag) -> String {
    format!("tags.`{}` = {}", tag.key, quote(&tag.value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::{SearchEntity, parse_filter, parse_order_by};

    fn tag(k: &str, v: &str) -> Tag {
        Tag {
            key: k.into(),
            value: v.into(),
        }
    }

    #[test]
    fn filters_render_in_the_grammar_arca_parses() {
        let q = VersionQuery {
            model: Some("churn".into()),
            source: Some("runs:/abc/model".into()),
            tags: vec![tag("zenml_pipeline_name", "it's"), tag("a.b", "1")],
            ..Default::default()
        };
        let filter = q.filter_string();
        assert_eq!(
            filter,
            "name = 'churn' AND source_path = 'runs:/abc/model' AND \
             tags.`zenml_pipeline_name` = 'it''s' AND tags.`a.b` = '1'"
        );
        assert_eq!(
            parse_filter(SearchEntity::ModelVersions, &filter)
                .unwrap()
                .clauses
                .len(),
            4
        );
        parse_order_by(SearchEntity::ModelVersions, &q.order_by()).unwrap();

        let m = ModelQuery {
            name: Some("ch%".into()),
            tags: vec![tag("team", "risk")],
            limit: None,
        };
        assert_eq!(
            m.filter_string(),
            "name LIKE 'ch%' AND tags.`team` = 'risk'"
        );
        parse_filter(SearchEntity::RegisteredModels, &m.filter_string()).unwrap();
        assert_eq!(ModelQuery::default().filter_string(), "");
    }
}
