//! JSON shapes of MLflow's tracking messages (experiments, runs, metrics, logged models), as the
//! real server emits them: ids as strings, int64 as numbers, empty lists left out, and metric
//! values that are not finite written as proto3 JSON's "NaN" / "Infinity" / "-Infinity".

use crate::wire::TagJson;
use arca_core::model::Tag;
use arca_core::tracking::{Experiment, LoggedModel, Metric, Param, Run, RunInfo};
use serde::Deserialize;
use serde::de::{Deserializer, Error as _};
use serde_json::{Map, Value, json};

fn tags(tags: &[Tag]) -> Value {
    json!(tags.iter().map(TagJson::from).collect::<Vec<_>>())
}

fn params(params: &[Param]) -> Value {
    json!(
        params
            .iter()
            .map(|p| json!({"key": p.key, "value": p.value}))
            .collect::<Vec<_>>()
    )
}

/// Puts `value` under `key` unless it is an empty list.
fn put_list(map: &mut Map<String, Value>, key: &str, value: Value) {
    if value.as_array().is_some_and(|a| !a.is_empty()) {
        map.insert(key.to_owned(), value);
    }
}

pub fn double(value: f64) -> Value {
    if value.is_nan() {
        json!("NaN")
    } else if value == f64::INFINITY {
        json!("Infinity")
    } else if value == f64::NEG_INFINITY {
        json!("-Infinity")
    } else {
        json!(value)
    }
}

pub fn metric(m: &Metric) -> Value {
    let mut out = Map::new();
    out.insert("key".into(), json!(m.key));
    out.insert("value".into(), double(m.value));
    out.insert("timestamp".into(), json!(m.timestamp));
    out.insert("step".into(), json!(m.step));
    for (key, value) in [
        ("model_id", &m.model_id),
        ("dataset_name", &m.dataset_name),
        ("dataset_digest", &m.dataset_digest),
        ("run_id", &m.run_id),
    ] {
        if let Some(v) = value {
            out.insert(key.into(), json!(v));
        }
    }
    Value::Object(out)
}

pub fn experiment(e: &Experiment) -> Value {
    let mut out = Map::new();
    out.insert("experiment_id".into(), json!(e.experiment_id));
    out.insert("name".into(), json!(e.name));
    out.insert("artifact_location".into(), json!(e.artifact_location));
    out.insert("lifecycle_stage".into(), json!(e.lifecycle_stage.as_str()));
    out.insert("last_update_time".into(), json!(e.last_update_time));
    out.insert("creation_time".into(), json!(e.creation_time));
    put_list(&mut out, "tags", tags(&e.tags));
    // MLflow 3.17 names the workspace of every experiment; Arca has the one default workspace.
    out.insert("workspace".into(), json!("default"));
    Value::Object(out)
}

pub fn run_info(i: &RunInfo) -> Value {
    let mut out = Map::new();
    out.insert("run_uuid".into(), json!(i.run_id));
    out.insert("experiment_id".into(), json!(i.experiment_id));
    out.insert("run_name".into(), json!(i.run_name));
    out.insert("user_id".into(), json!(i.user_id));
    out.insert("status".into(), json!(i.status.as_str()));
    out.insert("start_time".into(), json!(i.start_time));
    if let Some(end) = i.end_time {
        out.insert("end_time".into(), json!(end));
    }
    out.insert("artifact_uri".into(), json!(i.artifact_uri));
    out.insert("lifecycle_stage".into(), json!(i.lifecycle_stage.as_str()));
    out.insert("run_id".into(), json!(i.run_id));
    Value::Object(out)
}

pub fn run(r: &Run) -> Value {
    let mut data = Map::new();
    put_list(
        &mut data,
        "metrics",
        json!(r.metrics.iter().map(metric).collect::<Vec<_>>()),
    );
    put_list(&mut data, "params", params(&r.params));
    put_list(&mut data, "tags", tags(&r.tags));
    let mut inputs = Map::new();
    put_list(
        &mut inputs,
        "dataset_inputs",
        json!(
            r.dataset_inputs
                .iter()
                .map(|i| {
                    let d = &i.dataset;
                    let mut dataset = Map::new();
                    dataset.insert("name".into(), json!(d.name));
                    dataset.insert("digest".into(), json!(d.digest));
                    dataset.insert("source_type".into(), json!(d.source_type));
                    dataset.insert("source".into(), json!(d.source));
                    if let Some(s) = &d.schema {
                        dataset.insert("schema".into(), json!(s));
                    }
                    if let Some(p) = &d.profile {
                        dataset.insert("profile".into(), json!(p));
                    }
                    let mut input = Map::new();
                    put_list(&mut input, "tags", tags(&i.tags));
                    input.insert("dataset".into(), Value::Object(dataset));
                    Value::Object(input)
                })
                .collect::<Vec<_>>()
        ),
    );
    put_list(
        &mut inputs,
        "model_inputs",
        json!(
            r.model_inputs
                .iter()
                .map(|m| json!({"model_id": m}))
                .collect::<Vec<_>>()
        ),
    );
    let mut outputs = Map::new();
    put_list(
        &mut outputs,
        "model_outputs",
        json!(
            r.model_outputs
                .iter()
                .map(|o| json!({"model_id": o.model_id, "step": o.step}))
                .collect::<Vec<_>>()
        ),
    );
    json!({
        "info": run_info(&r.info),
        "data": Value::Object(data),
        "inputs": Value::Object(inputs),
        "outputs": Value::Object(outputs),
    })
}

pub fn logged_model(m: &LoggedModel) -> Value {
    let mut info = Map::new();
    info.insert("model_id".into(), json!(m.model_id));
    info.insert("experiment_id".into(), json!(m.experiment_id));
    info.insert("name".into(), json!(m.name));
    info.insert(
        "creation_timestamp_ms".into(),
        json!(m.creation_timestamp_ms),
    );
    info.insert(
        "last_updated_timestamp_ms".into(),
        json!(m.last_updated_timestamp_ms),
    );
    info.insert("artifact_uri".into(), json!(m.artifact_uri));
    info.insert("status".into(), json!(m.status.as_str()));
    info.insert("model_type".into(), json!(m.model_type));
    if let Some(run) = &m.source_run_id {
        info.insert("source_run_id".into(), json!(run));
    }
    if let Some(msg) = &m.status_message {
        info.insert("status_message".into(), json!(msg));
    }
    put_list(&mut info, "tags", tags(&m.tags));
    let mut data = Map::new();
    put_list(&mut data, "params", params(&m.params));
    put_list(
        &mut data,
        "metrics",
        json!(m.metrics.iter().map(metric).collect::<Vec<_>>()),
    );
    json!({"info": Value::Object(info), "data": Value::Object(data)})
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
