//! What a page shows of an MLflow `MLmodel` file: its flavors and its input/output signature.
//!
//! `MLmodel` is YAML written by PyYAML, but only a small, regular part of YAML: nested mappings
//! by indentation, plain or quoted scalars, and the signature's columns as a JSON text in a
//! quoted scalar that PyYAML folds over several lines when it is long. Reading that part by hand
//! keeps a YAML crate out of the build; anything else in the file (lists, anchors) is skipped,
//! never an error, because the page shows what it can and links to the file itself.

use arca_artifacts::ArtifactStore;
use arca_core::artifact_path::ArtifactPath;

/// The parts of an `MLmodel` the UI shows.
#[derive(Debug, Default, PartialEq)]
pub struct MlModel {
    /// Flavor names (`python_function`, `sklearn`, ...) with their scalar settings.
    pub flavors: Vec<(String, Vec<(String, String)>)>,
    pub inputs: Option<Vec<SignatureColumn>>,
    pub outputs: Option<Vec<SignatureColumn>>,
    pub mlflow_version: Option<String>,
}

/// One input or output of a signature, as a line of text: `name: type` (`-` when unnamed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureColumn {
    pub name: String,
    pub kind: String,
    pub required: bool,
}

impl SignatureColumn {
    pub fn describe(&self) -> String {
        let optional = if self.required { "" } else { " (optional)" };
        format!("{}: {}{optional}", self.name, self.kind)
    }
}

/// The most bytes of an `MLmodel` the UI reads; real ones are a few kilobytes.
pub const MAX_MLMODEL_BYTES: u64 = 256 * 1024;

#[derive(Debug)]
enum Node {
    Scalar(String),
    Map(Vec<(String, Node)>),
}

impl Node {
    fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            Node::Scalar(_) => None,
        }
    }

    fn scalar(&self) -> Option<&str> {
        match self {
            Node::Scalar(s) if s != "null" && s != "~" && !s.is_empty() => Some(s),
            _ => None,
        }
    }
}

/// Reads and parses the `MLmodel` file at `path`; `None` when it is missing, too large or
/// unreadable (the page then shows no signature rather than failing).
pub async fn read(store: &ArtifactStore, path: &ArtifactPath) -> Option<MlModel> {
    let download = store.get(path).await.ok()?;
    if download.size > MAX_MLMODEL_BYTES {
        return None;
    }
    let body = axum::body::Body::from_stream(download.stream);
    let bytes = axum::body::to_bytes(body, MAX_MLMODEL_BYTES as usize)
        .await
        .ok()?;
    Some(parse(&String::from_utf8_lossy(&bytes)))
}

pub fn parse(text: &str) -> MlModel {
    let lines = logical_lines(text);
    let mut pos = 0;
    let root = parse_map(&lines, &mut pos, 0);
    let flavors = match root.get("flavors") {
        Some(Node::Map(entries)) => entries
            .iter()
            .map(|(name, node)| {
                let settings = match node {
                    Node::Map(e) => e
                        .iter()
                        .filter_map(|(k, v)| v.scalar().map(|s| (k.clone(), s.to_owned())))
                        .collect(),
                    Node::Scalar(_) => Vec::new(),
                };
                (name.clone(), settings)
            })
            .collect(),
        _ => Vec::new(),
    };
    let signature = root.get("signature");
    let columns = |key: &str| {
        signature
            .and_then(|s| s.get(key))
            .and_then(Node::scalar)
            .and_then(signature_columns)
    };
    MlModel {
        flavors,
        inputs: columns("inputs"),
        outputs: columns("outputs"),
        mlflow_version: root
            .get("mlflow_version")
            .and_then(Node::scalar)
            .map(str::to_owned),
    }
}

/// (indent, key, value text) per mapping entry, with folded quoted scalars joined.
fn logical_lines(text: &str) -> Vec<(usize, String, String)> {
    let mut out = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("- ") {
            continue;
        }
        let indent = line.len() - trimmed.len();
        let Some((key, rest)) = split_key(trimmed) else {
            continue;
        };
        let mut value = rest.trim().to_owned();
        if let Some(quote) = value.chars().next().filter(|c| *c == '\'' || *c == '"') {
            while !closed(&value, quote) {
                match lines.next() {
                    Some(next) if next.trim().is_empty() => value.push('\n'),
                    Some(next) => {
                        if !value.ends_with('\n') {
                            value.push(' ');
                        }
                        value.push_str(next.trim());
                    }
                    None => break,
                }
            }
            value = unquote(&value, quote);
        }
        out.push((indent, key, value));
    }
    out
}

fn split_key(line: &str) -> Option<(String, &str)> {
    if let Some(rest) = line.strip_prefix('\'') {
        let end = rest.find("':")?;
        return Some((rest[..end].to_owned(), &rest[end + 2..]));
    }
    let colon = line
        .find(": ")
        .or_else(|| line.ends_with(':').then(|| line.len() - 1))?;
    Some((line[..colon].to_owned(), &line[colon + 1..]))
}

/// Whether a scalar that starts with `quote` has its closing quote (`''` is an escaped quote
/// in single-quoted YAML, `\"` in double-quoted).
fn closed(value: &str, quote: char) -> bool {
    let body: Vec<char> = value.chars().skip(1).collect();
    let mut i = 0;
    while i < body.len() {
        if quote == '"' && body[i] == '\\' {
            i += 2;
            continue;
        }
        if body[i] == quote {
            if quote == '\'' && body.get(i + 1) == Some(&'\'') {
                i += 2;
                continue;
            }
            return true;
        }
        i += 1;
    }
    false
}

fn unquote(value: &str, quote: char) -> String {
    let inner = value
        .strip_prefix(quote)
        .and_then(|v| v.rfind(quote).map(|end| &v[..end]))
        .unwrap_or(value);
    if quote == '\'' {
        inner.replace("''", "'")
    } else {
        inner.replace("\\\"", "\"").replace("\\\\", "\\")
    }
}

fn parse_map(lines: &[(usize, String, String)], pos: &mut usize, indent: usize) -> Node {
    let mut entries = Vec::new();
    while let Some((line_indent, key, value)) = lines.get(*pos) {
        if *line_indent < indent {
            break;
        }
        *pos += 1;
        if *line_indent > indent {
            // Deeper than expected without a parent key: skip it.
            continue;
        }
        let child = match lines.get(*pos) {
            Some((next_indent, _, _)) if value.is_empty() && *next_indent > indent => {
                let next = *next_indent;
                parse_map(lines, pos, next)
            }
            _ => Node::Scalar(value.clone()),
        };
        entries.push((key.clone(), child));
    }
    Node::Map(entries)
}

/// The columns of a signature's JSON text: named columns (`{"name", "type", "required"}`) or
/// tensors (`{"type": "tensor", "tensor-spec": {"dtype", "shape"}}`).
fn signature_columns(json: &str) -> Option<Vec<SignatureColumn>> {
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    let items = value.as_array()?;
    Some(
        items
            .iter()
            .map(|item| {
                let name = item["name"].as_str().unwrap_or("-").to_owned();
                let mut kind = item["type"].as_str().unwrap_or("?").to_owned();
                if let Some(spec) = item.get("tensor-spec") {
                    let dtype = spec["dtype"].as_str().unwrap_or("?");
                    let shape = spec["shape"]
                        .as_array()
                        .map(|dims| {
                            dims.iter()
                                .map(|d| d.to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        })
                        .unwrap_or_default();
                    kind = format!("tensor {dtype} ({shape})");
                }
                SignatureColumn {
                    name,
                    kind,
                    required: item["required"].as_bool().unwrap_or(true),
                }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As mlflow 3 writes it for a scikit-learn model (PyYAML folds the long signature line).
    const SKLEARN: &str = "artifact_path: model
flavors:
  python_function:
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    loader_module: mlflow.sklearn
    model_path: model.pkl
    predict_fn: predict
    python_version: 3.11.2
  sklearn:
    code: null
    pickled_model: model.pkl
    serialization_format: cloudpickle
    sklearn_version: 1.5.2
mlflow_version: 3.17.2
model_id: m-0123
signature:
  inputs: '[{\"type\": \"double\", \"name\": \"sepal length\", \"required\": true}, {\"type\":
    \"double\", \"name\": \"it''s\", \"required\": false}]'
  outputs: '[{\"type\": \"tensor\", \"tensor-spec\": {\"dtype\": \"int64\", \"shape\": [-1]}}]'
  params: null
utc_time_created: '2026-01-01 10:00:00.000000'
";

    #[test]
    fn flavors_and_a_folded_signature_are_read() {
        let m = parse(SKLEARN);
        let names: Vec<&str> = m.flavors.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["python_function", "sklearn"]);
        assert!(
            m.flavors[1]
                .1
                .contains(&("sklearn_version".into(), "1.5.2".into()))
        );
        assert!(!m.flavors[1].1.iter().any(|(k, _)| k == "code"));
        let inputs: Vec<String> = m.inputs.unwrap().iter().map(|c| c.describe()).collect();
        assert_eq!(inputs, ["sepal length: double", "it's: double (optional)"]);
        let outputs: Vec<String> = m.outputs.unwrap().iter().map(|c| c.describe()).collect();
        assert_eq!(outputs, ["-: tensor int64 (-1)"]);
        assert_eq!(m.mlflow_version.as_deref(), Some("3.17.2"));
    }

    #[test]
    fn a_file_without_a_signature_or_that_is_not_yaml_gives_what_it_can() {
        let m = parse("flavors:\n  pytorch:\n    pytorch_version: 2.1\n");
        assert_eq!(m.flavors.len(), 1);
        assert_eq!(m.inputs, None);
        assert_eq!(parse("- x\n- y: 1\nno colon here\n"), MlModel::default());
        let m = parse("signature:\n  inputs: 'not json'\n");
        assert_eq!(m.inputs, None);
    }
}
