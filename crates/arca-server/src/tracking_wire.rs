//! JSON shapes of MLflow's tracking messages (experiments, runs, metrics, logged models), as serde
//! structs like `wire.rs`'s, rendered as the real server emits them: ids as strings, int64 as numbers, empty lists left out, and metric
//! values that are not finite written as proto3 JSON's "NaN" / "Infinity" / "-Infinity".

use crate::wire::TagJson;
use arca_core::model::Tag;
use arca_core::tracking::{DatasetInput, Experiment, LoggedModel, Metric, Param, Run, RunInfo};
use serde::de::{Deserializer, Error as _};
use serde::{Deserialize, Serialize, Serializer};

fn tags(tags: &[Tag]) -> Vec<TagJson> {
    tags.iter().map(TagJson::from).collect()
}

/// proto3 JSON writes doubles that are not finite as strings.
fn double<S: Serializer>(value: &f64, s: S) -> Result<S::Ok, S::Error> {
    if value.is_nan() {
        s.serialize_str("NaN")
    } else if *value == f64::INFINITY {
        s.serialize_str("Infinity")
    } else if *value == f64::NEG_INFINITY {
        s.serialize_str("-Infinity")
    } else {
        s.serialize_f64(*value)
    }
}

#[derive(Serialize)]
pub struct MetricJson<'a> {
    key: &'a str,
    #[serde(serialize_with = "double")]
    value: f64,
    timestamp: i64,
    step: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    model_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dataset_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dataset_digest: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    run_id: Option<&'a str>,
}

pub fn metric(m: &Metric) -> MetricJson<'_> {
    MetricJson {
        key: &m.key,
        value: m.value,
        timestamp: m.timestamp,
        step: m.step,
        model_id: m.model_id.as_deref(),
        dataset_name: m.dataset_name.as_deref(),
        dataset_digest: m.dataset_digest.as_deref(),
        run_id: m.run_id.as_deref(),
    }
}

#[derive(Serialize)]
pub struct ParamJson<'a> {
    key: &'a str,
    value: &'a str,
}

fn params(params: &[Param]) -> Vec<ParamJson<'_>> {
    params
        .iter()
        .map(|p| ParamJson {
            key: &p.key,
            value: &p.value,
        })
        .collect()
}

#[derive(Serialize)]
pub struct ExperimentJson<'a> {
    experiment_id: &'a str,
    name: &'a str,
    artifact_location: &'a str,
    lifecycle_stage: &'static str,
    last_update_time: i64,
    creation_time: i64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<TagJson>,
    /// MLflow 3.17 names the workspace of every experiment; Arca has the one default workspace.
    workspace: &'static str,
}

pub fn experiment(e: &Experiment) -> ExperimentJson<'_> {
    ExperimentJson {
        experiment_id: &e.experiment_id,
        name: &e.name,
        artifact_location: &e.artifact_location,
        lifecycle_stage: e.lifecycle_stage.as_str(),
        last_update_time: e.last_update_time,
        creation_time: e.creation_time,
        tags: tags(&e.tags),
        workspace: "default",
    }
}

#[derive(Serialize)]
pub struct RunInfoJson<'a> {
    run_uuid: &'a str,
    experiment_id: &'a str,
    run_name: &'a str,
    user_id: &'a str,
    status: &'static str,
    start_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_time: Option<i64>,
    artifact_uri: &'a str,
    lifecycle_stage: &'static str,
    run_id: &'a str,
}

pub fn run_info(i: &RunInfo) -> RunInfoJson<'_> {
    RunInfoJson {
        run_uuid: &i.run_id,
        experiment_id: &i.experiment_id,
        run_name: &i.run_name,
        user_id: &i.user_id,
        status: i.status.as_str(),
        start_time: i.start_time,
        end_time: i.end_time,
        artifact_uri: &i.artifact_uri,
        lifecycle_stage: i.lifecycle_stage.as_str(),
        run_id: &i.run_id,
    }
}

#[derive(Serialize)]
pub struct RunDataJson<'a> {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    metrics: Vec<MetricJson<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    params: Vec<ParamJson<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<TagJson>,
}

#[derive(Serialize)]
pub struct DatasetJson<'a> {
    name: &'a str,
    digest: &'a str,
    source_type: &'a str,
    source: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    schema: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    profile: Option<&'a str>,
}

#[derive(Serialize)]
pub struct DatasetInputJson<'a> {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<TagJson>,
    dataset: DatasetJson<'a>,
}

fn dataset_input(i: &DatasetInput) -> DatasetInputJson<'_> {
    let d = &i.dataset;
    DatasetInputJson {
        tags: tags(&i.tags),
        dataset: DatasetJson {
            name: &d.name,
            digest: &d.digest,
            source_type: &d.source_type,
            source: &d.source,
            schema: d.schema.as_deref(),
            profile: d.profile.as_deref(),
        },
    }
}

#[derive(Serialize)]
pub struct ModelIdJson<'a> {
    model_id: &'a str,
}

#[derive(Serialize)]
pub struct RunInputsJson<'a> {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    dataset_inputs: Vec<DatasetInputJson<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    model_inputs: Vec<ModelIdJson<'a>>,
}

#[derive(Serialize)]
pub struct ModelOutputJson<'a> {
    model_id: &'a str,
    step: i64,
}

#[derive(Serialize)]
pub struct RunOutputsJson<'a> {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    model_outputs: Vec<ModelOutputJson<'a>>,
}

#[derive(Serialize)]
pub struct RunJson<'a> {
    info: RunInfoJson<'a>,
    data: RunDataJson<'a>,
    inputs: RunInputsJson<'a>,
    /// Left out of MLflow's answer to runs/create (a new run has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outputs: Option<RunOutputsJson<'a>>,
}

pub fn run(r: &Run) -> RunJson<'_> {
    RunJson {
        info: run_info(&r.info),
        data: RunDataJson {
            metrics: r.metrics.iter().map(metric).collect(),
            params: params(&r.params),
            tags: tags(&r.tags),
        },
        inputs: RunInputsJson {
            dataset_inputs: r.dataset_inputs.iter().map(dataset_input).collect(),
            model_inputs: r
                .model_inputs
                .iter()
                .map(|m| ModelIdJson { model_id: m })
                .collect(),
        },
        outputs: Some(RunOutputsJson {
            model_outputs: r
                .model_outputs
                .iter()
                .map(|o| ModelOutputJson {
                    model_id: &o.model_id,
                    step: o.step,
                })
                .collect(),
        }),
    }
}

#[derive(Serialize)]
pub struct LoggedModelInfoJson<'a> {
    model_id: &'a str,
    experiment_id: &'a str,
    name: &'a str,
    creation_timestamp_ms: i64,
    last_updated_timestamp_ms: i64,
    artifact_uri: &'a str,
    status: &'static str,
    model_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_run_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_message: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<TagJson>,
}

#[derive(Serialize)]
pub struct LoggedModelDataJson<'a> {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    params: Vec<ParamJson<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    metrics: Vec<MetricJson<'a>>,
}

#[derive(Serialize)]
pub struct LoggedModelJson<'a> {
    info: LoggedModelInfoJson<'a>,
    data: LoggedModelDataJson<'a>,
}

pub fn logged_model(m: &LoggedModel) -> LoggedModelJson<'_> {
    LoggedModelJson {
        info: LoggedModelInfoJson {
            model_id: &m.model_id,
            experiment_id: &m.experiment_id,
            name: &m.name,
            creation_timestamp_ms: m.creation_timestamp_ms,
            last_updated_timestamp_ms: m.last_updated_timestamp_ms,
            artifact_uri: &m.artifact_uri,
            status: m.status.as_str(),
            model_type: &m.model_type,
            source_run_id: m.source_run_id.as_deref(),
            status_message: m.status_message.as_deref(),
            tags: tags(&m.tags),
        },
        data: LoggedModelDataJson {
            params: params(&m.params),
            metrics: m.metrics.iter().map(metric).collect(),
        },
    }
}

/// A double proto field: a JSON number, or "NaN" / "Infinity" / "-Infinity" / a number as text.
pub fn opt_double<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Double {
        Num(f64),
        Text(String),
        // protobuf's JSON reader takes true and false for a double, as 1 and 0
        Bool(bool),
        Null(()),
    }
    match Option::<Double>::deserialize(d)? {
        None | Some(Double::Null(())) => Ok(None),
        Some(Double::Num(n)) => Ok(Some(n)),
        Some(Double::Bool(b)) => Ok(Some(if b { 1.0 } else { 0.0 })),
        Some(Double::Text(s)) => match s.as_str() {
            "NaN" | "nan" => Ok(Some(f64::NAN)),
            "Infinity" | "inf" => Ok(Some(f64::INFINITY)),
            "-Infinity" | "-inf" => Ok(Some(f64::NEG_INFINITY)),
            other => other
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| D::Error::custom(format!("expected a number, got \"{s}\""))),
        },
    }
}
