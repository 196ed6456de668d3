//! Experiment tracking: experiments, runs and what runs log (params, metrics, tags, dataset
//! inputs, model outputs), and MLflow 3 logged models. A model version's lineage points here: its
//! `run_id` is the run that produced it, and that run's metrics and params are the version's.

use crate::{Error, Result};
use std::fmt;

/// MLflow's limits (`mlflow/utils/validation.py`, 3.x).
pub const MAX_PARAM_VALUE_LEN: usize = 6000;
pub const MAX_TAG_VALUE_LEN: usize = 8000;
pub const MAX_ENTITY_KEY_LEN: usize = 250;
pub const MAX_BATCH_METRICS: usize = 1000;
pub const MAX_BATCH_PARAMS: usize = 100;
pub const MAX_BATCH_TAGS: usize = 100;
pub const MAX_BATCH_TOTAL: usize = 1000;

/// The tag that holds a run's name; setting it renames the run.
pub const RUN_NAME_TAG: &str = "mlflow.runName";
pub const DEFAULT_EXPERIMENT_ID: i64 = 0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    Active,
    Deleted,
}

impl Lifecycle {
    pub fn as_str(self) -> &'static str {
        match self {
            Lifecycle::Active => "active",
            Lifecycle::Deleted => "deleted",
        }
    }

    pub fn from_stored(s: &str) -> Lifecycle {
        if s == "deleted" {
            Lifecycle::Deleted
        } else {
            Lifecycle::Active
        }
    }
}

/// Which lifecycle stages a search returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ViewType {
    #[default]
    ActiveOnly,
    DeletedOnly,
    All,
}

impl ViewType {
    pub fn parse(raw: &str) -> Result<ViewType> {
        match raw.to_ascii_uppercase().as_str() {
            "ACTIVE_ONLY" | "1" => Ok(ViewType::ActiveOnly),
            "DELETED_ONLY" | "2" => Ok(ViewType::DeletedOnly),
            "ALL" | "3" => Ok(ViewType::All),
            _ => Err(Error::invalid(format!(
                "Invalid view type '{raw}'. Expected one of ACTIVE_ONLY, DELETED_ONLY, ALL."
            ))),
        }
    }

    /// The stored lifecycle values this view includes.
    pub fn lifecycles(self) -> &'static [&'static str] {
        match self {
            ViewType::ActiveOnly => &["active"],
            ViewType::DeletedOnly => &["deleted"],
            ViewType::All => &["active", "deleted"],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    Running,
    Scheduled,
    Finished,
    Failed,
    Killed,
}

impl RunStatus {
    pub const ALL: [RunStatus; 5] = [
        RunStatus::Running,
        RunStatus::Scheduled,
        RunStatus::Finished,
        RunStatus::Failed,
        RunStatus::Killed,
    ];

    pub fn parse(raw: &str) -> Result<RunStatus> {
        let by_number = match raw {
            "1" => Some(RunStatus::Running),
            "2" => Some(RunStatus::Scheduled),
            "3" => Some(RunStatus::Finished),
            "4" => Some(RunStatus::Failed),
            "5" => Some(RunStatus::Killed),
            _ => None,
        };
        by_number
            .or_else(|| {
                RunStatus::ALL
                    .into_iter()
                    .find(|s| s.as_str().eq_ignore_ascii_case(raw))
            })
            .ok_or_else(|| {
                Error::invalid(format!(
                    "Invalid run status '{raw}'. Expected one of RUNNING, SCHEDULED, FINISHED, FAILED, KILLED."
                ))
            })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "RUNNING",
            RunStatus::Scheduled => "SCHEDULED",
            RunStatus::Finished => "FINISHED",
            RunStatus::Failed => "FAILED",
            RunStatus::Killed => "KILLED",
        }
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Experiment {
    pub experiment_id: String,
    pub name: String,
    pub artifact_location: String,
    pub lifecycle_stage: Lifecycle,
    pub creation_time: i64,
    pub last_update_time: i64,
    pub tags: Vec<crate::model::Tag>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RunInfo {
    pub run_id: String,
    pub experiment_id: String,
    pub run_name: String,
    pub user_id: String,
    pub status: RunStatus,
    pub start_time: i64,
    pub end_time: Option<i64>,
    pub artifact_uri: String,
    pub lifecycle_stage: Lifecycle,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub key: String,
    pub value: f64,
    pub timestamp: i64,
    pub step: i64,
    pub model_id: Option<String>,
    pub dataset_name: Option<String>,
    pub dataset_digest: Option<String>,
    /// Set when the metric is read through a logged model, which lists metrics of several runs.
    pub run_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataset {
    pub name: String,
    pub digest: String,
    pub source_type: String,
    pub source: String,
    pub schema: Option<String>,
    pub profile: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetInput {
    pub tags: Vec<crate::model::Tag>,
    pub dataset: Dataset,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelOutput {
    pub model_id: String,
    pub step: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub info: RunInfo,
    /// The latest value of each metric (highest step, then latest timestamp).
    pub metrics: Vec<Metric>,
    pub params: Vec<Param>,
    pub tags: Vec<crate::model::Tag>,
    pub dataset_inputs: Vec<DatasetInput>,
    pub model_inputs: Vec<String>,
    pub model_outputs: Vec<ModelOutput>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoggedModelStatus {
    Unspecified,
    Pending,
    Ready,
    UploadFailed,
}

impl LoggedModelStatus {
    pub fn parse(raw: &str) -> Result<LoggedModelStatus> {
        match raw {
            "LOGGED_MODEL_STATUS_UNSPECIFIED" | "0" => Ok(LoggedModelStatus::Unspecified),
            "LOGGED_MODEL_PENDING" | "1" => Ok(LoggedModelStatus::Pending),
            "LOGGED_MODEL_READY" | "2" => Ok(LoggedModelStatus::Ready),
            "LOGGED_MODEL_UPLOAD_FAILED" | "3" => Ok(LoggedModelStatus::UploadFailed),
            _ => Err(Error::invalid(format!(
                "Invalid logged model status '{raw}'. Expected one of LOGGED_MODEL_PENDING, \
                 LOGGED_MODEL_READY, LOGGED_MODEL_UPLOAD_FAILED."
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LoggedModelStatus::Unspecified => "LOGGED_MODEL_STATUS_UNSPECIFIED",
            LoggedModelStatus::Pending => "LOGGED_MODEL_PENDING",
            LoggedModelStatus::Ready => "LOGGED_MODEL_READY",
            LoggedModelStatus::UploadFailed => "LOGGED_MODEL_UPLOAD_FAILED",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LoggedModel {
    pub model_id: String,
    pub experiment_id: String,
    pub name: String,
    pub artifact_uri: String,
    pub status: LoggedModelStatus,
    pub status_message: Option<String>,
    pub model_type: String,
    pub source_run_id: Option<String>,
    pub creation_timestamp_ms: i64,
    pub last_updated_timestamp_ms: i64,
    pub tags: Vec<crate::model::Tag>,
    pub params: Vec<Param>,
    pub metrics: Vec<Metric>,
}

/// A metric, param or tag key: non-empty, bounded, and safe as a path segment (MLflow stores
/// keys as file names in its file store, and refuses the same keys in every store).
pub fn parse_entity_key(kind: &str, key: &str) -> Result<String> {
    if key.is_empty() {
        return Err(Error::invalid(format!("{kind} name cannot be empty.")));
    }
    if key.chars().count() > MAX_ENTITY_KEY_LEN {
        return Err(Error::invalid(format!(
            "{kind} name '{}...' is too long; at most {MAX_ENTITY_KEY_LEN} characters are allowed.",
            key.chars().take(40).collect::<String>()
        )));
    }
    let path_like = key.starts_with('/')
        || key.split('/').any(|seg| seg == ".." || seg == ".")
        || key.contains('\\');
    if path_like || key.chars().any(char::is_control) {
        return Err(Error::invalid(format!(
            "Invalid {} name: '{key}'. Names may be treated as files in certain cases, and must not \
             resolve to other names when treated as such. This name would resolve to '{}'",
            kind.to_lowercase(),
            key.trim_start_matches('/')
        )));
    }
    Ok(key.to_owned())
}

/// MLflow keeps at most `max` characters of a run's param or tag value and drops the rest
/// (`MLFLOW_TRUNCATE_LONG_VALUES`, on by default), so a long value never fails a run.
pub fn truncate_value(mut value: String, max: usize) -> String {
    if let Some((cut, _)) = value.char_indices().nth(max) {
        value.truncate(cut);
    }
    value
}

/// MLflow's limit on an experiment tag's value (refused, not truncated).
pub const MAX_EXPERIMENT_TAG_VALUE_LEN: usize = 20_000;

pub fn check_value_len(kind: &str, key: &str, value: &str, max: usize) -> Result<()> {
    let len = value.chars().count();
    if len > max {
        return Err(Error::invalid(format!(
            "{kind} '{key}' had length {len}, which exceeded length limit of {max}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_cut_at_a_character_boundary() {
        assert_eq!(truncate_value("abc".into(), 5), "abc");
        assert_eq!(truncate_value("abcdef".into(), 3), "abc");
        assert_eq!(truncate_value("ééé".into(), 2), "éé");
    }

    #[test]
    fn statuses_and_views_parse_from_names_and_numbers() {
        assert_eq!(RunStatus::parse("FINISHED").unwrap(), RunStatus::Finished);
        assert_eq!(RunStatus::parse("3").unwrap(), RunStatus::Finished);
        assert!(RunStatus::parse("DONE").is_err());
        assert_eq!(
            ViewType::parse("deleted_only").unwrap(),
            ViewType::DeletedOnly
        );
        assert!(ViewType::parse("SOME").is_err());
    }

    #[test]
    fn keys_that_would_resolve_to_other_paths_are_refused() {
        for bad in ["", "../x", "/abs", "a/../b", "a\\b", "a\0b"] {
            assert!(parse_entity_key("Metric", bad).is_err(), "{bad:?}");
        }
        for good in ["acc", "train/loss", "a.b c", "m-1"] {
            assert!(parse_entity_key("Metric", good).is_ok(), "{good:?}");
        }
    }
}
