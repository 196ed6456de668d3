//! How results are printed: tables sized to the terminal, or JSON.
//!
//! The JSON shapes are the CLI's contract with scripts: keys are only ever added. Versions are
//! numbers (not MLflow's strings), tags and aliases are objects, times are epoch milliseconds
//! under MLflow's names, and a version's lineage is an object of its own.

use super::time::format_time;
use arca_core::model::{ModelVersion, RegisteredModel, Tag};
use arca_core::registry::{RunRecord, VersionMetadata};
use serde_json::{Map, Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
}

pub fn print_json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("JSON values always serialize")
    );
}

fn tags_object(tags: &[Tag]) -> Value {
    Value::Object(
        tags.iter()
            .map(|t| (t.key.clone(), Value::String(t.value.clone())))
            .collect(),
    )
}

pub fn model_json(model: &RegisteredModel) -> Value {
    let aliases: Map<String, Value> = model
        .aliases
        .iter()
        .map(|a| (a.alias.clone(), json!(a.version.get())))
        .collect();
    let latest: Vec<Value> = model
        .latest_versions
        .iter()
        .map(|v| json!({"version": v.version.get(), "stage": v.current_stage.as_str()}))
        .collect();
    json!({
        "name": model.name,
        "description": model.description.clone().unwrap_or_default(),
        "tags": tags_object(&model.tags),
        "aliases": aliases,
        "latest_versions": latest,
        "creation_timestamp": model.creation_timestamp,
        "last_updated_timestamp": model.last_updated_timestamp,
    })
}

pub fn version_json(version: &ModelVersion) -> Value {
    let meta = VersionMetadata::from_tags(&version.tags);
    let lineage: Map<String, Value> = meta
        .lineage()
        .into_iter()
        .map(|(field, _, value)| (field.to_owned(), json!(value)))
        .collect();
    json!({
        "name": version.name,
        "version": version.version.get(),
        "stage": version.current_stage.as_str(),
        "aliases": version.aliases,
        "description": version.description,
        "source": version.source,
        "run_id": version.run_id,
        "tags": tags_object(&version.tags),
        "lineage": lineage,
        "creation_timestamp": version.creation_timestamp,
        "last_updated_timestamp": version.last_updated_timestamp,
    })
}

pub fn run_json(run: &RunRecord) -> Value {
    let metrics: Map<String, Value> = run
        .metrics
        .iter()
        .map(|m| (m.key.clone(), json!(m.value)))
        .collect();
    let params: Map<String, Value> = run
        .params
        .iter()
        .map(|p| (p.key.clone(), json!(p.value)))
        .collect();
    json!({"run_id": run.run_id, "name": run.name, "metrics": metrics, "params": params})
}

/// `k=v, k2=v2`.
pub fn join_tags(tags: &[Tag]) -> String {
    tags.iter()
        .map(|t| format!("{}={}", t.key, t.value))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn model_aliases(model: &RegisteredModel) -> String {
    model
        .aliases
        .iter()
        .map(|a| format!("@{}={}", a.alias, a.version))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn version_aliases(version: &ModelVersion) -> String {
    version
        .aliases
        .iter()
        .map(|a| format!("@{a}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn models_table(models: &[RegisteredModel]) {
    let mut table = Table::new(&[
        "NAME",
        "LATEST",
        "ALIASES",
        "UPDATED",
        "DESCRIPTION",
        "TAGS",
    ]);
    for m in models {
        let latest = m
            .latest_versions
            .iter()
            .map(|v| v.version)
            .max()
            .map(|v| v.to_string())
            .unwrap_or_default();
        table.row(vec![
            m.name.clone(),
            latest,
            model_aliases(m),
            format_time(m.last_updated_timestamp),
            m.description.clone().unwrap_or_default(),
            join_tags(&m.tags),
        ]);
    }
    table.print();
}

pub fn model_fields(model: &RegisteredModel) {
    let latest = model
        .latest_versions
        .iter()
        .map(|v| format!("{}: {}", v.current_stage, v.version))
        .collect::<Vec<_>>()
        .join(", ");
    print_fields(&[
        ("Name", model.name.clone()),
        ("Description", model.description.clone().unwrap_or_default()),
        ("Tags", join_tags(&model.tags)),
        ("Aliases", model_aliases(model)),
        ("Latest", latest),
        ("Created", format_time(model.creation_timestamp)),
        ("Updated", format_time(model.last_updated_timestamp)),
    ]);
}

pub fn versions_table(versions: &[ModelVersion], with_model: bool) {
    let mut headers = vec![
        "VERSION",
        "STAGE",
        "ALIASES",
        "CREATED",
        "DESCRIPTION",
        "SOURCE",
    ];
    if with_model {
        headers.insert(0, "MODEL");
    }
    let mut table = Table::new(&headers);
    for v in versions {
        let mut row = vec![
            v.version.to_string(),
            v.current_stage.to_string(),
            version_aliases(v),
            format_time(v.creation_timestamp),
            v.description.clone(),
            v.source.clone(),
        ];
        if with_model {
            row.insert(0, v.name.clone());
        }
        table.row(row);
    }
    table.print();
}

pub fn version_fields(version: &ModelVersion, run: Option<&RunRecord>) {
    let meta = VersionMetadata::from_tags(&version.tags);
    let mut fields = vec![
        ("Model", version.name.clone()),
        ("Version", version.version.to_string()),
        ("Stage", version.current_stage.to_string()),
        ("Aliases", version_aliases(version)),
        ("Description", version.description.clone()),
        ("Source", version.source.clone()),
        ("Run", version.run_id.clone()),
        ("Created", format_time(version.creation_timestamp)),
        ("Updated", format_time(version.last_updated_timestamp)),
    ];
    let labels = [
        ("pipeline_name", "Pipeline"),
        ("pipeline_run_id", "Pipeline run"),
        ("step_name", "Step"),
        ("run_name", "ZenML run"),
        ("pipeline_id", "Pipeline id"),
        ("project", "Project"),
        ("zenml_version", "ZenML version"),
    ];
    for (field, _, value) in meta.lineage() {
        let label = labels
            .iter()
            .find(|(f, _)| *f == field)
            .map_or(field, |(_, l)| l);
        fields.push((label, value.to_owned()));
    }
    fields.push(("Tags", join_tags(&meta.custom)));
    if let Some(run) = run {
        let metrics = run
            .metrics
            .iter()
            .map(|m| format!("{}={}", m.key, m.value))
            .collect::<Vec<_>>()
            .join(", ");
        let params = run
            .params
            .iter()
            .map(|p| format!("{}={}", p.key, p.value))
            .collect::<Vec<_>>()
            .join(", ");
        fields.push(("Metrics", metrics));
        fields.push(("Params", params));
    }
    print_fields(&fields);
}

/// One entity as `Label  value` lines; empty values are left out.
pub fn print_fields(fields: &[(&str, String)]) {
    let width = fields.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    let columns = terminal_width();
    for (label, value) in fields.iter().filter(|(_, v)| !v.is_empty()) {
        let value = one_line(value);
        let value = match columns {
            Some(cols) if cols > width + 12 => {
                console::truncate_str(&value, cols - width - 2, "…").into_owned()
            }
            _ => value,
        };
        println!("{label:<width$}  {value}");
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The terminal's width when standard output is one (`COLUMNS` overrides); `None` when piped,
/// so nothing a script reads is ever cut.
fn terminal_width() -> Option<usize> {
    if let Some(cols) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<usize>().ok())
        .filter(|c| *c > 0)
    {
        return Some(cols);
    }
    console::Term::stdout()
        .size_checked()
        .map(|(_, cols)| cols as usize)
}

/// A table whose widest columns are cut (with `…`) until it fits the terminal.
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&str]) -> Table {
        Table {
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows
            .push(cells.into_iter().map(|c| one_line(&c)).collect());
    }

    pub fn print(&self) {
        for line in self.render(terminal_width()) {
            println!("{}", line.trim_end());
        }
    }

    fn render(&self, max_width: Option<usize>) -> Vec<String> {
        const GAP: usize = 2;
        let mut widths: Vec<usize> = self
            .headers
            .iter()
            .enumerate()
            .map(|(i, h)| {
                self.rows
                    .iter()
                    .map(|r| console::measure_text_width(&r[i]))
                    .chain([h.len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        if let Some(max) = max_width {
            let total = |w: &[usize]| w.iter().sum::<usize>() + GAP * w.len().saturating_sub(1);
            // Shrink the widest column one step at a time, never below its header or 6 cells.
            while total(&widths) > max {
                let Some((i, _)) = widths
                    .iter()
                    .enumerate()
                    .filter(|(i, w)| **w > self.headers[*i].len().max(6))
                    .max_by_key(|(_, w)| **w)
                else {
                    break;
                };
                widths[i] -= 1;
            }
        }
        std::iter::once(&self.headers)
            .chain(&self.rows)
            .map(|cells| {
                cells
                    .iter()
                    .zip(&widths)
                    .map(|(cell, w)| {
                        let cut = console::truncate_str(cell, *w, "…");
                        let pad = w.saturating_sub(console::measure_text_width(&cut));
                        format!("{cut}{}", " ".repeat(pad))
                    })
                    .collect::<Vec<_>>()
                    .join(&" ".repeat(GAP))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_cut_their_widest_column_to_fit() {
        let mut t = Table::new(&["NAME", "DESCRIPTION"]);
        t.row(vec![
            "churn".into(),
            "a very long description of the model".into(),
        ]);
        let lines = t.render(Some(30));
        assert!(
            lines.iter().all(|l| console::measure_text_width(l) <= 30),
            "{lines:?}"
        );
        assert!(lines[1].starts_with("churn  a very long"));
        assert!(lines[1].trim_end().ends_with('…'));
        let wide = t.render(None);
        assert!(wide[1].contains("of the model"));
    }
}
