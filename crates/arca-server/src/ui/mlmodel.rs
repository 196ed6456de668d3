//! What the version page shows of an `MLmodel` file: its flavors, its signature and where its
//! input example is.
//!
//! `MLmodel` is YAML written by PyYAML's `safe_dump`, so only a small part of YAML occurs in it:
//! block mappings and sequences by indentation, plain, single- and double-quoted scalars (long
//! ones folded over several lines, as PyYAML wraps at 80 columns), and the occasional `|`/`>`
//! block. This module reads that part and nothing more, instead of pulling in a YAML crate for
//! one file: anything it does not understand becomes text or is left out, never an error, and
//! the file itself is always there to read in the preview.

/// A YAML node, as far as `MLmodel` needs one.
#[derive(Debug, Clone, PartialEq)]
pub enum Yaml {
    Null,
    Str(String),
    Map(Vec<(String, Yaml)>),
    List(Vec<Yaml>),
}

impl Yaml {
    pub fn get(&self, key: &str) -> Option<&Yaml> {
        match self {
            Yaml::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Yaml::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A short one-line rendering of a value, for a fact list.
    fn summary(&self) -> String {
        match self {
            Yaml::Null => "null".to_owned(),
            Yaml::Str(s) => s.clone(),
            Yaml::List(items) => items
                .iter()
                .map(Yaml::summary)
                .collect::<Vec<_>>()
                .join(", "),
            Yaml::Map(entries) => entries
                .iter()
                .map(|(k, v)| format!("{k}: {}", v.summary()))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

/// Parses the subset of YAML described above; the top level is expected to be a mapping.
pub fn parse_yaml(text: &str) -> Yaml {
    let mut parser = Parser {
        lines: text.lines().map(|l| l.trim_end().to_owned()).collect(),
        at: 0,
    };
    parser.skip_blank();
    match parser.peek_indent() {
        Some(indent) => parser.node(indent),
        None => Yaml::Null,
    }
}

struct Parser {
    lines: Vec<String>,
    at: usize,
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn is_blank(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

fn is_seq_item(content: &str) -> bool {
    content == "-" || content.starts_with("- ")
}

impl Parser {
    fn skip_blank(&mut self) {
        while self.at < self.lines.len() && is_blank(&self.lines[self.at]) {
            self.at += 1;
        }
    }

    fn peek_indent(&mut self) -> Option<usize> {
        self.skip_blank();
        self.lines.get(self.at).map(|l| indent_of(l))
    }

    fn node(&mut self, indent: usize) -> Yaml {
        let line = &self.lines[self.at];
        if is_seq_item(&line[indent..]) {
            self.seq(indent)
        } else {
            self.map(indent)
        }
    }

    fn map(&mut self, indent: usize) -> Yaml {
        let mut entries = Vec::new();
        while let Some(found) = self.peek_indent() {
            let line = self.lines[self.at].clone();
            let content = &line[found.min(line.len())..];
            if found != indent || is_seq_item(content) {
                if found > indent {
                    // Not something this subset knows how to place: skip it.
                    self.at += 1;
                    continue;
                }
                break;
            }
            self.at += 1;
            let Some((key, rest)) = split_key(content) else {
                continue;
            };
            let value = if rest.is_empty() {
                match self.peek_indent() {
                    Some(next)
                        if next > indent
                            || (next == indent && is_seq_item(&self.lines[self.at][next..])) =>
                    {
                        self.node(next)
                    }
                    _ => Yaml::Null,
                }
            } else {
                self.scalar(rest, indent)
            };
            entries.push((key, value));
        }
        Yaml::Map(entries)
    }

    fn seq(&mut self, indent: usize) -> Yaml {
        let mut items = Vec::new();
        while let Some(found) = self.peek_indent() {
            if found != indent || !is_seq_item(&self.lines[self.at][found..]) {
                break;
            }
            let content = self.lines[self.at][indent + 1..].trim_start().to_owned();
            if content.is_empty() {
                self.at += 1;
                match self.peek_indent() {
                    Some(next) if next > indent => items.push(self.node(next)),
                    _ => items.push(Yaml::Null),
                }
            } else if split_key(&content).is_some() && !content.starts_with(['\'', '"']) {
                // `- key: value` opens a mapping whose keys line up after the dash.
                let inner = indent + 2;
                self.lines[self.at] = format!("{}{content}", " ".repeat(inner));
                items.push(self.map(inner));
            } else {
                self.at += 1;
                items.push(self.scalar(&content, indent));
            }
        }
        Yaml::List(items)
    }

    /// A scalar that starts with `first` on the current (already consumed) line; it may go on
    /// over the following lines that are indented more than `indent`.
    fn scalar(&mut self, first: &str, indent: usize) -> Yaml {
        let first = first.trim();
        if let Some(body) = first.strip_prefix('\'') {
            return Yaml::Str(self.quoted(body, '\''));
        }
        if let Some(body) = first.strip_prefix('"') {
            return Yaml::Str(self.quoted(body, '"'));
        }
        if first.starts_with('|') || first.starts_with('>') {
            return Yaml::Str(self.block(indent, first.starts_with('|')));
        }
        let mut text = strip_comment(first).to_owned();
        while let Some(line) = self.lines.get(self.at) {
            if is_blank(line) || indent_of(line) <= indent {
                break;
            }
            text.push(' ');
            text.push_str(strip_comment(line.trim()));
            self.at += 1;
        }
        match text.as_str() {
            "null" | "~" | "Null" | "NULL" => Yaml::Null,
            _ => Yaml::Str(text),
        }
    }

    /// The rest of a quoted scalar: its first line's text after the opening quote, then as many
    /// lines as it takes to find the closing one. Line breaks fold as YAML folds them: one
    /// break is a space, each empty line a newline.
    fn quoted(&mut self, first: &str, quote: char) -> String {
        let mut out = String::new();
        let mut line = first.to_owned();
        loop {
            let mut chars = line.chars().peekable();
            let mut escaped_break = false;
            while let Some(c) = chars.next() {
                if c == quote {
                    if quote == '\'' && chars.peek() == Some(&'\'') {
                        chars.next();
                        out.push('\'');
                        continue;
                    }
                    return out;
                }
                if quote == '"' && c == '\\' {
                    match chars.next() {
                        None => escaped_break = true,
                        Some(e) => push_escape(&mut out, e, &mut chars),
                    }
                    continue;
                }
                out.push(c);
            }
            // No closing quote on this line: fold into the next.
            let mut newlines = 0;
            loop {
                match self.lines.get(self.at) {
                    None => return out,
                    Some(next) if next.trim().is_empty() => {
                        newlines += 1;
                        self.at += 1;
                    }
                    Some(next) => {
                        line = next.trim_start().to_owned();
                        self.at += 1;
                        break;
                    }
                }
            }
            if newlines > 0 {
                out.push_str(&"\n".repeat(newlines));
            } else if !escaped_break {
                while out.ends_with(' ') {
                    out.pop();
                }
                out.push(' ');
            }
        }
    }

    fn block(&mut self, indent: usize, literal: bool) -> String {
        let mut lines = Vec::new();
        while let Some(line) = self.lines.get(self.at) {
            if !line.trim().is_empty() && indent_of(line) <= indent {
                break;
            }
            lines.push(line.trim().to_owned());
            self.at += 1;
        }
        while lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        lines.join(if literal { "\n" } else { " " })
    }
}

fn push_escape(out: &mut String, e: char, rest: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    let hex = |rest: &mut std::iter::Peekable<std::str::Chars<'_>>, n: usize| {
        let digits: String = rest.by_ref().take(n).collect();
        u32::from_str_radix(&digits, 16)
            .ok()
            .and_then(char::from_u32)
            .unwrap_or('\u{fffd}')
    };
    match e {
        'n' => out.push('\n'),
        't' => out.push('\t'),
        'r' => out.push('\r'),
        '0' => out.push('\0'),
        'x' => out.push(hex(rest, 2)),
        'u' => out.push(hex(rest, 4)),
        'U' => out.push(hex(rest, 8)),
        other => out.push(other),
    }
}

fn strip_comment(text: &str) -> &str {
    match text.find(" #") {
        Some(at) => text[..at].trim_end(),
        None => text,
    }
}

/// `key: rest` (or `key:` at the end of the line), with a plain or quoted key.
fn split_key(content: &str) -> Option<(String, &str)> {
    if let Some(body) = content
        .strip_prefix('\'')
        .or_else(|| content.strip_prefix('"'))
    {
        let quote = content.as_bytes()[0] as char;
        let end = body.find(quote)?;
        let rest = body[end + 1..].strip_prefix(':')?;
        return Some((body[..end].to_owned(), rest.trim()));
    }
    let at = content
        .find(": ")
        .or_else(|| content.ends_with(':').then(|| content.len() - 1))?;
    Some((content[..at].trim().to_owned(), content[at + 1..].trim()))
}

/// One flavor of the model: its name and its settings, e.g. `sklearn` with
/// `sklearn_version: 1.5.2`.
#[derive(Debug, Clone, PartialEq)]
pub struct Flavor {
    pub name: String,
    pub fields: Vec<(String, String)>,
}

/// One column (or tensor) of a signature.
#[derive(Debug, Clone, PartialEq)]
pub struct SignatureField {
    pub name: String,
    pub kind: String,
    pub required: bool,
}

impl SignatureField {
    /// `name: type`, `(optional)` when not required: one line of a signature in a table cell.
    pub fn describe(&self) -> String {
        let optional = if self.required { "" } else { " (optional)" };
        format!("{}: {}{optional}", self.name, self.kind)
    }
}

/// The most bytes of an `MLmodel` the UI reads; real ones are a few kilobytes.
pub const MAX_MLMODEL_BYTES: u64 = 256 * 1024;

/// Reads and parses the `MLmodel` file at `path`; `None` when it is missing, too large or
/// unreadable (the page then shows no signature rather than failing).
pub async fn read(
    store: &arca_artifacts::ArtifactStore,
    path: &arca_core::artifact_path::ArtifactPath,
) -> Option<ModelInfo> {
    let download = store.get(path).await.ok()?;
    if download.size > MAX_MLMODEL_BYTES {
        return None;
    }
    let body = axum::body::Body::from_stream(download.stream);
    let bytes = axum::body::to_bytes(body, MAX_MLMODEL_BYTES as usize)
        .await
        .ok()?;
    Some(read_mlmodel(&String::from_utf8_lossy(&bytes)))
}

/// What the page shows of an `MLmodel` file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelInfo {
    pub flavors: Vec<Flavor>,
    pub inputs: Vec<SignatureField>,
    pub outputs: Vec<SignatureField>,
    pub params: Vec<SignatureField>,
    /// The input example's file, relative to the model's folder.
    pub input_example: Option<String>,
    pub mlflow_version: Option<String>,
    pub created: Option<String>,
}

impl ModelInfo {
    pub fn has_signature(&self) -> bool {
        !self.inputs.is_empty() || !self.outputs.is_empty()
    }

    /// (heading, fields, table id) of each part of the signature.
    pub fn signature_parts(&self) -> [(&'static str, &[SignatureField], &'static str); 3] {
        [
            ("Inputs", &self.inputs, "signature-inputs"),
            ("Outputs", &self.outputs, "signature-outputs"),
            ("Params", &self.params, "signature-params"),
        ]
    }
}

pub fn read_mlmodel(text: &str) -> ModelInfo {
    let doc = parse_yaml(text);
    let flavors = match doc.get("flavors") {
        Some(Yaml::Map(entries)) => entries
            .iter()
            .map(|(name, value)| Flavor {
                name: name.clone(),
                fields: match value {
                    Yaml::Map(fields) => fields
                        .iter()
                        .filter(|(_, v)| *v != Yaml::Null)
                        .map(|(k, v)| (k.clone(), v.summary()))
                        .collect(),
                    _ => Vec::new(),
                },
            })
            .collect(),
        _ => Vec::new(),
    };
    let signature = doc.get("signature");
    let part = |key: &str| {
        signature
            .and_then(|s| s.get(key))
            .and_then(Yaml::as_str)
            .map(signature_fields)
            .unwrap_or_default()
    };
    let input_example = doc
        .get("saved_input_example_info")
        .and_then(|i| i.get("artifact_path"))
        .and_then(Yaml::as_str)
        .map(str::to_owned);
    ModelInfo {
        flavors,
        inputs: part("inputs"),
        outputs: part("outputs"),
        params: part("params"),
        input_example,
        mlflow_version: doc
            .get("mlflow_version")
            .and_then(Yaml::as_str)
            .map(str::to_owned),
        created: doc
            .get("utc_time_created")
            .and_then(Yaml::as_str)
            .map(str::to_owned),
    }
}

/// A signature part is a JSON list: columns (`{"name", "type", "required"}`), tensors
/// (`{"type": "tensor", "tensor-spec": {"dtype", "shape"}}`) or params (`{"name", "type",
/// "default", "shape"}`).
fn signature_fields(json: &str) -> Vec<SignatureField> {
    let Ok(serde_json::Value::Array(items)) = serde_json::from_str(json) else {
        return Vec::new();
    };
    items
        .iter()
        .map(|item| {
            let text = |key: &str| item.get(key).and_then(|v| v.as_str()).map(str::to_owned);
            let mut kind = text("type").unwrap_or_else(|| "unknown".to_owned());
            if let Some(spec) = item.get("tensor-spec") {
                let dtype = spec.get("dtype").and_then(|v| v.as_str()).unwrap_or("?");
                let shape = spec.get("shape").map(|s| s.to_string()).unwrap_or_default();
                kind = format!("tensor of {dtype}, shape {shape}");
            } else if kind == "array" || kind == "object" || kind == "map" {
                // Nested types: show their JSON so that nothing is hidden.
                let mut inner = item.clone();
                if let Some(obj) = inner.as_object_mut() {
                    obj.remove("name");
                    obj.remove("required");
                }
                kind = inner.to_string();
            }
            if let Some(default) = item.get("default").filter(|d| !d.is_null()) {
                kind = format!("{kind} (default {default})");
            }
            SignatureField {
                name: text("name").unwrap_or_default(),
                kind,
                required: item
                    .get("required")
                    .and_then(|r| r.as_bool())
                    .unwrap_or(true),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `MLmodel` as mlflow 3 writes it for `mlflow.sklearn.log_model` with an input example,
    /// with PyYAML's folding of the long signature lines.
    const MLMODEL: &str = "artifact_path: model
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
saved_input_example_info:
  artifact_path: input_example.json
  serving_input_path: serving_input_example.json
  type: dataframe
signature:
  inputs: '[{\"type\": \"double\", \"name\": \"sepal length (cm)\", \"required\": true},
    {\"type\": \"double\", \"name\": \"petal width\", \"required\": false}]'
  outputs: '[{\"type\": \"tensor\", \"tensor-spec\": {\"dtype\": \"int64\", \"shape\": [-1]}}]'
  params: null
utc_time_created: '2026-11-30 19:00:00.000000'
";

    #[test]
    fn flavors_signature_and_example_are_read() {
        let info = read_mlmodel(MLMODEL);
        assert_eq!(info.flavors.len(), 2);
        assert_eq!(info.flavors[0].name, "python_function");
        assert!(
            info.flavors[0]
                .fields
                .contains(&("loader_module".into(), "mlflow.sklearn".into()))
        );
        assert!(info.flavors[0].fields.contains(&(
            "env".into(),
            "conda: conda.yaml, virtualenv: python_env.yaml".into()
        )));
        assert!(
            info.flavors[1]
                .fields
                .contains(&("sklearn_version".into(), "1.5.2".into()))
        );
        assert_eq!(
            info.inputs,
            vec![
                SignatureField {
                    name: "sepal length (cm)".into(),
                    kind: "double".into(),
                    required: true
                },
                SignatureField {
                    name: "petal width".into(),
                    kind: "double".into(),
                    required: false
                },
            ]
        );
        assert_eq!(info.outputs[0].kind, "tensor of int64, shape [-1]");
        assert!(info.params.is_empty());
        assert_eq!(info.input_example.as_deref(), Some("input_example.json"));
        assert_eq!(info.mlflow_version.as_deref(), Some("3.17.2"));
        assert_eq!(info.created.as_deref(), Some("2026-11-30 19:00:00.000000"));
    }

    #[test]
    fn quoted_scalars_fold_and_unescape() {
        let doc = parse_yaml(
            "a: 'it''s\n  folded\n\n  twice'\nb: \"tab\\there \\u00e9\\\n  joined\"\nc: plain # note\n",
        );
        assert_eq!(
            doc.get("a").and_then(Yaml::as_str),
            Some("it's folded\ntwice")
        );
        assert_eq!(
            doc.get("b").and_then(Yaml::as_str),
            Some("tab\there éjoined")
        );
        assert_eq!(doc.get("c").and_then(Yaml::as_str), Some("plain"));
    }

    #[test]
    fn sequences_and_blocks_are_read() {
        let doc = parse_yaml("deps:\n- numpy\n- name: x\n  v: 1\nlit: |\n  one\n  two\nend: 1\n");
        assert_eq!(
            doc.get("deps"),
            Some(&Yaml::List(vec![
                Yaml::Str("numpy".into()),
                Yaml::Map(vec![
                    ("name".into(), Yaml::Str("x".into())),
                    ("v".into(), Yaml::Str("1".into()))
                ]),
            ]))
        );
        assert_eq!(doc.get("lit").and_then(Yaml::as_str), Some("one\ntwo"));
        assert_eq!(doc.get("end").and_then(Yaml::as_str), Some("1"));
    }

    #[test]
    fn nonsense_is_not_an_error() {
        for text in [
            "",
            ":",
            "- - -",
            "a: 'never closed",
            "\t\tx",
            "a:\n    b: 1\n  c: 2",
        ] {
            let _ = read_mlmodel(text);
        }
        assert_eq!(read_mlmodel("flavors: 3").flavors, Vec::new());
    }
}
