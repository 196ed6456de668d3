//! `/api/2.0/arca/diff?name=&a=&b=`: what changed from version `a` to version `b` of a model.
//!
//! Scalar fields (description, stage, source, run), the tag, param and metric maps, the aliases,
//! the files (by the size and SHA-256 recorded when each was stored, so no file is read), and
//! the `MLmodel` signature when both versions have one. A signature change that breaks a caller
//! written against `a` is listed under `breaking`: an input removed or newly required, an input
//! or output whose type changed, an output removed. Adding an optional input or a new output
//! breaks nobody.

use super::artifact_roots::store_path_of;
use super::required;
use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{Mlflow, RequestMessage};
use crate::ui::mlmodel::{self, ModelInfo, SignatureField};
use arca_core::artifact_path::{ArtifactDigest, ArtifactPath};
use arca_core::model::{ModelVersion, VersionNumber};
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

#[derive(Deserialize)]
pub struct Diff {
    name: Option<String>,
    a: Option<String>,
    b: Option<String>,
}

impl RequestMessage for Diff {}

/// What the diff reads of one version besides its own fields.
struct Side {
    version: ModelVersion,
    params: Option<BTreeMap<String, Value>>,
    metrics: Option<BTreeMap<String, Value>>,
    files: Option<Vec<ArtifactDigest>>,
    mlmodel: Option<ModelInfo>,
}

async fn load_side(state: &AppState, version: ModelVersion) -> ApiResult<Side> {
    let run = if version.run_id.is_empty() {
        None
    } else {
        // A version may name a run another server tracks; its params are then unknown here.
        state.metadata.get_run(&version.run_id).await.ok()
    };
    let params = run.as_ref().map(|r| {
        r.params
            .iter()
            .map(|p| (p.key.clone(), json!(p.value)))
            .collect()
    });
    let metrics = run.as_ref().map(|r| {
        r.metrics
            .iter()
            .map(|m| (m.key.clone(), json!(m.value)))
            .collect()
    });
    let root = state
        .metadata
        .get_model_version_download_uri(&version.name, version.version)
        .await
        .ok()
        .and_then(|uri| store_path_of(&uri))
        .flatten();
    let (files, mlmodel) = match &root {
        Some(root) => {
            let prefix = format!("{root}/");
            let files = state
                .metadata
                .artifact_manifest(Some(root))
                .await?
                .into_iter()
                .map(|mut d| {
                    d.path = d.path.strip_prefix(&prefix).unwrap_or(&d.path).to_owned();
                    d
                })
                .collect();
            let mlmodel = match ArtifactPath::parse(&format!("{root}/MLmodel")) {
                Ok(path) => mlmodel::read(&state.artifacts, &path).await,
                Err(_) => None,
            };
            (Some(files), mlmodel)
        }
        None => (None, None),
    };
    Ok(Side {
        version,
        params,
        metrics,
        files,
        mlmodel,
    })
}

/// `{"added": {k: v}, "removed": {k: v}, "changed": {k: {"a", "b"}}}`, each left out when
/// empty.
fn map_diff(a: &BTreeMap<String, Value>, b: &BTreeMap<String, Value>) -> Value {
    let mut added = Map::new();
    let mut removed = Map::new();
    let mut changed = Map::new();
    for (k, va) in a {
        match b.get(k) {
            None => {
                removed.insert(k.clone(), va.clone());
            }
            Some(vb) if vb != va => {
                changed.insert(k.clone(), json!({"a": va, "b": vb}));
            }
            Some(_) => {}
        }
    }
    for (k, vb) in b {
        if !a.contains_key(k) {
            added.insert(k.clone(), vb.clone());
        }
    }
    let mut out = Map::new();
    for (key, part) in [("added", added), ("removed", removed), ("changed", changed)] {
        if !part.is_empty() {
            out.insert(key.to_owned(), Value::Object(part));
        }
    }
    Value::Object(out)
}

fn optional_map_diff(
    a: &Option<BTreeMap<String, Value>>,
    b: &Option<BTreeMap<String, Value>>,
) -> Value {
    match (a, b) {
        (None, None) => Value::Null,
        _ => map_diff(
            a.as_ref().unwrap_or(&BTreeMap::new()),
            b.as_ref().unwrap_or(&BTreeMap::new()),
        ),
    }
}

fn file_json(d: &ArtifactDigest) -> Value {
    json!({"path": d.path, "size": d.size, "sha256": d.sha256})
}

fn files_diff(a: &[ArtifactDigest], b: &[ArtifactDigest]) -> Value {
    let a_by: BTreeMap<&str, &ArtifactDigest> = a.iter().map(|d| (d.path.as_str(), d)).collect();
    let b_by: BTreeMap<&str, &ArtifactDigest> = b.iter().map(|d| (d.path.as_str(), d)).collect();
    let added: Vec<Value> = b
        .iter()
        .filter(|d| !a_by.contains_key(d.path.as_str()))
        .map(file_json)
        .collect();
    let removed: Vec<Value> = a
        .iter()
        .filter(|d| !b_by.contains_key(d.path.as_str()))
        .map(file_json)
        .collect();
    let mut changed = Vec::new();
    let mut unchanged = 0;
    for d in a {
        if let Some(other) = b_by.get(d.path.as_str()) {
            if other.sha256 == d.sha256 && other.size == d.size {
                unchanged += 1;
            } else {
                changed.push(json!({
                    "path": d.path,
                    "a": {"size": d.size, "sha256": d.sha256},
                    "b": {"size": other.size, "sha256": other.sha256},
                }));
            }
        }
    }
    json!({"added": added, "removed": removed, "changed": changed, "unchanged": unchanged})
}

fn field_json(f: &SignatureField) -> Value {
    json!({"name": f.name, "type": f.kind, "required": f.required})
}

/// One side of a signature (inputs or outputs) compared, with what of it breaks callers.
fn signature_part_diff(
    part: &str,
    a: &[SignatureField],
    b: &[SignatureField],
    breaking: &mut Vec<String>,
) -> Value {
    let a_by: BTreeMap<&str, &SignatureField> = a.iter().map(|f| (f.name.as_str(), f)).collect();
    let b_by: BTreeMap<&str, &SignatureField> = b.iter().map(|f| (f.name.as_str(), f)).collect();
    let mut added = Vec::new();
    let mut removed = Vec::new();
    let mut changed = Vec::new();
    for f in b {
        if !a_by.contains_key(f.name.as_str()) {
            if part == "inputs" && f.required {
                breaking.push(format!("new required input '{}' ({})", f.name, f.kind));
            }
            added.push(field_json(f));
        }
    }
    for f in a {
        match b_by.get(f.name.as_str()) {
            None => {
                let what = if part == "inputs" { "input" } else { "output" };
                breaking.push(format!("{what} '{}' ({}) removed", f.name, f.kind));
                removed.push(field_json(f));
            }
            Some(other) if other.kind != f.kind || other.required != f.required => {
                let what = if part == "inputs" { "input" } else { "output" };
                if other.kind != f.kind {
                    breaking.push(format!(
                        "{what} '{}' changed type from {} to {}",
                        f.name, f.kind, other.kind
                    ));
                } else if part == "inputs" && other.required {
                    breaking.push(format!("input '{}' became required", f.name));
                }
                changed.push(json!({"name": f.name, "a": field_json(f), "b": field_json(other)}));
            }
            Some(_) => {}
        }
    }
    json!({"added": added, "removed": removed, "changed": changed})
}

/// What in `b`'s signature breaks a caller written against `a`'s; empty when either has none.
pub(crate) fn breaking_changes(a: &ModelInfo, b: &ModelInfo) -> Vec<String> {
    let mut breaking = Vec::new();
    if a.has_signature() && b.has_signature() {
        signature_part_diff("inputs", &a.inputs, &b.inputs, &mut breaking);
        signature_part_diff("outputs", &a.outputs, &b.outputs, &mut breaking);
    }
    breaking
}

/// The whole diff of two loaded versions, as the endpoint answers it.
fn diff_json(a: &Side, b: &Side) -> Value {
    let (va, vb) = (&a.version, &b.version);
    let mut fields = Vec::new();
    let scalar = |name: &str, x: String, y: String, fields: &mut Vec<Value>| {
        if x != y {
            fields.push(json!({"field": name, "a": x, "b": y}));
        }
    };
    scalar(
        "description",
        va.description.clone(),
        vb.description.clone(),
        &mut fields,
    );
    scalar(
        "stage",
        va.current_stage.as_str().to_owned(),
        vb.current_stage.as_str().to_owned(),
        &mut fields,
    );
    scalar("source", va.source.clone(), vb.source.clone(), &mut fields);
    scalar("run_id", va.run_id.clone(), vb.run_id.clone(), &mut fields);
    let tags = |v: &ModelVersion| -> BTreeMap<String, Value> {
        v.tags
            .iter()
            .map(|t| (t.key.clone(), json!(t.value)))
            .collect()
    };
    let only = |x: &[String], y: &[String]| -> Vec<String> {
        x.iter().filter(|s| !y.contains(s)).cloned().collect()
    };
    let mut breaking = Vec::new();
    let signature = match (&a.mlmodel, &b.mlmodel) {
        (Some(ma), Some(mb)) if ma.has_signature() && mb.has_signature() => json!({
            "inputs": signature_part_diff("inputs", &ma.inputs, &mb.inputs, &mut breaking),
            "outputs": signature_part_diff("outputs", &ma.outputs, &mb.outputs, &mut breaking),
        }),
        _ => Value::Null,
    };
    let files = match (&a.files, &b.files) {
        (Some(fa), Some(fb)) => files_diff(fa, fb),
        _ => Value::Null,
    };
    json!({
        "name": va.name,
        "a": va.version.to_string(),
        "b": vb.version.to_string(),
        "fields": fields,
        "tags": map_diff(&tags(va), &tags(vb)),
        "params": optional_map_diff(&a.params, &b.params),
        "metrics": optional_map_diff(&a.metrics, &b.metrics),
        "aliases": {
            "a": va.aliases,
            "b": vb.aliases,
            "moved_to_b": only(&vb.aliases, &va.aliases),
            "only_a": only(&va.aliases, &vb.aliases),
        },
        "files": files,
        "signature": signature,
        "breaking": breaking,
    })
}

pub(crate) async fn diff(
    State(state): State<AppState>,
    Mlflow(req): Mlflow<Diff>,
) -> ApiResult<Json<Value>> {
    let name = required(req.name, "name")?;
    let a = VersionNumber::parse(&required(req.a, "a")?)?;
    let b = VersionNumber::parse(&required(req.b, "b")?)?;
    let va = state.metadata.get_model_version(&name, a).await?;
    let vb = state.metadata.get_model_version(&name, b).await?;
    let (sa, sb) = (load_side(&state, va).await?, load_side(&state, vb).await?);
    Ok(Json(diff_json(&sa, &sb)))
}
