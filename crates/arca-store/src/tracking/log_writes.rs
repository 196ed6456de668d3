//! What a run logs (params, metrics, tags, inputs, outputs), written with one multi-row statement
//! per table for a whole request, not one statement per item.
//!
//! Each statement is a round trip: on SQLite a hand-off from the request's task to sqlx's worker
//! thread and back, on PostgreSQL a network exchange. A 500-metric log-batch used to run 1,000
//! of them, and a profile showed most of its time in those hand-offs (the scheduler and
//! wake-ups), under 5% in SQLite. So a batch is first reduced in Rust to what one-row-at-a-time
//! statements would have left, then written in a few statements (`rows_per_statement` rows
//! each). The reduction also keeps PostgreSQL's `ON CONFLICT DO UPDATE` from seeing one key twice
//! in one statement, which it refuses.

use super::new_id;
use crate::error::Result;
use crate::sql::{rows_per_statement, values_list};
use arca_core::Error;
use arca_core::model::Tag;
use arca_core::tracking::{DatasetInput, Metric, ModelOutput, Param, RUN_NAME_TAG};
use sqlx::{AnyConnection, AssertSqlSafe, Row};
use std::collections::HashMap;
use std::collections::hash_map::Entry;

/// A metric as stored. As MLflow's SQL store does: NaN is a flag (SQLite would turn it into
/// NULL), and infinities are clamped to the largest finite doubles, which is what clients read
/// back.
#[derive(Clone, Copy)]
struct StoredMetric<'a> {
    key: &'a str,
    value: f64,
    is_nan: i64,
    timestamp: i64,
    step: i64,
    model_id: Option<&'a str>,
    dataset_name: Option<&'a str>,
    dataset_digest: Option<&'a str>,
}

impl<'a> StoredMetric<'a> {
    fn of(m: &'a Metric) -> Self {
        let (value, is_nan) = if m.value.is_nan() {
            (0.0, 1)
        } else {
            (m.value.clamp(f64::MIN, f64::MAX), 0)
        };
        StoredMetric {
            key: &m.key,
            value,
            is_nan,
            timestamp: m.timestamp,
            step: m.step,
            model_id: m.model_id.as_deref(),
            dataset_name: m.dataset_name.as_deref(),
            dataset_digest: m.dataset_digest.as_deref(),
        }
    }

    /// The `metrics` primary key beyond the run; `0.0` and `-0.0` are one value to both
    /// databases.
    fn point(&self) -> (&'a str, i64, i64, u64, i64) {
        let bits = if self.value == 0.0 {
            0
        } else {
            self.value.to_bits()
        };
        (self.key, self.step, self.timestamp, bits, self.is_nan)
    }

    /// Whether this value replaces `other` as the latest: a higher step, then a later timestamp,
    /// then a larger value (the rule of `latest_metrics`' upsert below).
    fn newer_than(&self, other: &StoredMetric<'_>) -> bool {
        (self.step, self.timestamp) > (other.step, other.timestamp)
            || (self.step == other.step
                && self.timestamp == other.timestamp
                && self.value > other.value)
    }
}

/// Logs every point of `metrics` and moves each key's latest value forward.
///
/// Logging the same point again links it to the model or dataset given the second time:
/// `log_model` re-logs the run's metrics with the new model's id.
pub(super) async fn insert_metrics(
    conn: &mut AnyConnection,
    run_id: &str,
    metrics: &[Metric],
) -> Result<()> {
    let mut points: Vec<StoredMetric<'_>> = Vec::with_capacity(metrics.len());
    let mut seen = HashMap::with_capacity(metrics.len());
    let mut latest: Vec<StoredMetric<'_>> = Vec::new();
    let mut latest_of = HashMap::new();
    for m in metrics.iter().map(StoredMetric::of) {
        match seen.entry(m.point()) {
            Entry::Vacant(e) => {
                e.insert(points.len());
                points.push(m);
            }
            // What a second upsert of the same point does: a link given now wins, an absent one
            // keeps the earlier.
            Entry::Occupied(e) => {
                let p = &mut points[*e.get()];
                p.model_id = m.model_id.or(p.model_id);
                p.dataset_name = m.dataset_name.or(p.dataset_name);
                p.dataset_digest = m.dataset_digest.or(p.dataset_digest);
            }
        }
        match latest_of.entry(m.key) {
            Entry::Vacant(e) => {
                e.insert(latest.len());
                latest.push(m);
            }
            Entry::Occupied(e) => {
                if m.newer_than(&latest[*e.get()]) {
                    latest[*e.get()] = m;
                }
            }
        }
    }
    for chunk in points.chunks(rows_per_statement(9)) {
        let sql = format!(
            "INSERT INTO metrics (run_uuid, key, value, is_nan, timestamp, step, model_id, \
             dataset_name, dataset_digest) VALUES {} \
             ON CONFLICT (run_uuid, key, step, timestamp, value, is_nan) DO UPDATE SET \
             model_id = COALESCE(excluded.model_id, metrics.model_id), \
             dataset_name = COALESCE(excluded.dataset_name, metrics.dataset_name), \
             dataset_digest = COALESCE(excluded.dataset_digest, metrics.dataset_digest)",
            values_list(conn, chunk.len(), 9)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for m in chunk {
            q = q
                .bind(run_id)
                .bind(m.key)
                .bind(m.value)
                .bind(m.is_nan)
                .bind(m.timestamp)
                .bind(m.step)
                .bind(m.model_id)
                .bind(m.dataset_name)
                .bind(m.dataset_digest);
        }
        q.execute(&mut *conn).await?;
    }
    for chunk in latest.chunks(rows_per_statement(6)) {
        let sql = format!(
            "INSERT INTO latest_metrics (run_uuid, key, value, is_nan, timestamp, step) \
             VALUES {} ON CONFLICT (run_uuid, key) DO UPDATE SET \
             value = excluded.value, is_nan = excluded.is_nan, timestamp = excluded.timestamp, \
             step = excluded.step \
             WHERE excluded.step > latest_metrics.step \
                OR (excluded.step = latest_metrics.step AND excluded.timestamp > latest_metrics.timestamp) \
                OR (excluded.step = latest_metrics.step AND excluded.timestamp = latest_metrics.timestamp \
                    AND excluded.value > latest_metrics.value)",
            values_list(conn, chunk.len(), 6)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for m in chunk {
            q = q
                .bind(run_id)
                .bind(m.key)
                .bind(m.value)
                .bind(m.is_nan)
                .bind(m.timestamp)
                .bind(m.step);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Logs `params`. A param's value cannot change: one logged before with another value, or given
/// twice in the batch with two values, fails the whole batch with MLflow's message, the first
/// such param in the batch's order named.
pub(super) async fn insert_params(
    conn: &mut AnyConnection,
    run_id: &str,
    params: &[Param],
) -> Result<()> {
    let mut unique: Vec<&Param> = Vec::with_capacity(params.len());
    let mut index_of: HashMap<&str, usize> = HashMap::with_capacity(params.len());
    let mut duplicate = None;
    for (i, p) in params.iter().enumerate() {
        match index_of.entry(p.key.as_str()) {
            Entry::Vacant(e) => {
                e.insert(i);
                unique.push(p);
            }
            Entry::Occupied(e) => {
                let other = &params[*e.get()];
                if other.value != p.value {
                    duplicate = Some((i, other, p));
                    break;
                }
            }
        }
    }
    // When the batch is already known to fail, only the params before the duplicate can fail it
    // first, and nothing needs inserting.
    let suspects: Vec<&Param> = match duplicate {
        Some((i, _, _)) => unique
            .iter()
            .copied()
            .filter(|p| index_of[p.key.as_str()] < i)
            .collect(),
        None => {
            let inserted = insert_new_params(conn, run_id, &unique).await?;
            unique
                .iter()
                .copied()
                .filter(|p| !inserted.contains(p.key.as_str()))
                .collect()
        }
    };
    if !suspects.is_empty() {
        let logged = logged_param_values(conn, run_id, &suspects).await?;
        // `suspects` is in the batch's order, so the first mismatch is the one to report.
        for p in suspects {
            if let Some(existing) = logged.get(p.key.as_str()).filter(|v| **v != p.value) {
                return Err(Error::invalid(format!(
                    "Changing param values is not allowed. Param with key='{}' was already \
                     logged with value='{existing}' for run ID='{run_id}'. Attempted logging \
                     new value '{}'.",
                    p.key, p.value
                ))
                .into());
            }
        }
    }
    if let Some((_, other, p)) = duplicate {
        return Err(Error::invalid(format!(
            "Duplicate parameter keys have been submitted: '{}' with values '{}' and '{}'.",
            p.key, other.value, p.value
        ))
        .into());
    }
    Ok(())
}

/// Inserts the params not logged yet; returns the keys it inserted. A key logged by a concurrent
/// request that committed first is left out, and its value is then read back to compare.
async fn insert_new_params(
    conn: &mut AnyConnection,
    run_id: &str,
    params: &[&Param],
) -> Result<std::collections::HashSet<String>> {
    let mut inserted = std::collections::HashSet::with_capacity(params.len());
    for chunk in params.chunks(rows_per_statement(3)) {
        let sql = format!(
            "INSERT INTO params (run_uuid, key, value) VALUES {} ON CONFLICT DO NOTHING \
             RETURNING key",
            values_list(conn, chunk.len(), 3)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for p in chunk {
            q = q.bind(run_id).bind(p.key.as_str()).bind(p.value.as_str());
        }
        for row in q.fetch_all(&mut *conn).await? {
            inserted.insert(row.try_get::<String, _>(0)?);
        }
    }
    Ok(inserted)
}

async fn logged_param_values(
    conn: &mut AnyConnection,
    run_id: &str,
    params: &[&Param],
) -> Result<HashMap<String, String>> {
    let mut logged = HashMap::new();
    for chunk in params.chunks(rows_per_statement(1) - 1) {
        let keys = (2..chunk.len() + 2)
            .map(|n| format!("${n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("SELECT key, value FROM params WHERE run_uuid = $1 AND key IN ({keys})");
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(run_id);
        for p in chunk {
            q = q.bind(p.key.as_str());
        }
        for row in q.fetch_all(&mut *conn).await? {
            logged.insert(row.try_get(0)?, row.try_get(1)?);
        }
    }
    Ok(logged)
}

/// Sets `tags`; of a key given twice, the last value stays, as two upserts in a row would leave
/// it. The run-name tag also renames the run.
pub(super) async fn set_run_tags(
    conn: &mut AnyConnection,
    run_id: &str,
    tags: &[Tag],
) -> Result<()> {
    let tags: Vec<Tag> = crate::models::dedup_tags(tags).cloned().collect();
    upsert_run_tags(conn, run_id, &tags).await?;
    if let Some(name) = tags.iter().find(|t| t.key == RUN_NAME_TAG) {
        sqlx::query("UPDATE runs SET name = $2 WHERE run_uuid = $1")
            .bind(run_id)
            .bind(name.value.as_str())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Sets `tags`, whose keys are unique, and nothing else.
pub(super) async fn upsert_run_tags(
    conn: &mut AnyConnection,
    run_id: &str,
    tags: &[Tag],
) -> Result<()> {
    for chunk in tags.chunks(rows_per_statement(3)) {
        let sql = format!(
            "INSERT INTO run_tags (run_uuid, key, value) VALUES {} \
             ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value",
            values_list(conn, chunk.len(), 3)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for t in chunk {
            q = q.bind(run_id).bind(t.key.as_str()).bind(t.value.as_str());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Records `inputs` in the run's experiment's datasets (one row per name and digest, shared by
/// its runs) and links them to the run; an input given again replaces its tags.
pub(super) async fn insert_dataset_inputs(
    conn: &mut AnyConnection,
    run_id: &str,
    experiment_id: i64,
    inputs: &[DatasetInput],
) -> Result<()> {
    if inputs.is_empty() {
        return Ok(());
    }
    let mut datasets: Vec<&DatasetInput> = Vec::with_capacity(inputs.len());
    let mut seen = std::collections::HashSet::new();
    for input in inputs {
        if seen.insert((&input.dataset.name, &input.dataset.digest)) {
            datasets.push(input);
        }
    }
    for chunk in datasets.chunks(rows_per_statement(8)) {
        let sql = format!(
            "INSERT INTO datasets (dataset_uuid, experiment_id, name, digest, source_type, \
             source, schema, profile) VALUES {} \
             ON CONFLICT (experiment_id, name, digest) DO NOTHING",
            values_list(conn, chunk.len(), 8)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for input in chunk {
            let d = &input.dataset;
            q = q
                .bind(new_id())
                .bind(experiment_id)
                .bind(d.name.as_str())
                .bind(d.digest.as_str())
                .bind(d.source_type.as_str())
                .bind(d.source.as_str())
                .bind(d.schema.as_deref())
                .bind(d.profile.as_deref());
        }
        q.execute(&mut *conn).await?;
    }
    // The ids of both the new rows and the ones other runs made first.
    let mut ids: HashMap<(String, String), String> = HashMap::with_capacity(datasets.len());
    for chunk in datasets.chunks(rows_per_statement(1) - 1) {
        let names = (2..chunk.len() + 2)
            .map(|n| format!("${n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT name, digest, dataset_uuid FROM datasets WHERE experiment_id = $1 \
             AND name IN ({names})"
        );
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(experiment_id);
        for input in chunk {
            q = q.bind(input.dataset.name.as_str());
        }
        for row in q.fetch_all(&mut *conn).await? {
            ids.insert((row.try_get(0)?, row.try_get(1)?), row.try_get(2)?);
        }
    }
    let mut links: Vec<(&str, String, Option<&str>)> = Vec::with_capacity(inputs.len());
    let mut link_of: HashMap<&str, usize> = HashMap::new();
    for input in inputs {
        let d = &input.dataset;
        let Some(id) = ids.get(&(d.name.clone(), d.digest.clone())) else {
            continue;
        };
        let context = input
            .tags
            .iter()
            .find(|t| t.key == "mlflow.data.context")
            .map(|t| t.value.as_str());
        let link = (
            id.as_str(),
            super::runs::encode_input_tags(&input.tags),
            context,
        );
        match link_of.entry(id.as_str()) {
            Entry::Vacant(e) => {
                e.insert(links.len());
                links.push(link);
            }
            Entry::Occupied(e) => links[*e.get()] = link,
        }
    }
    for chunk in links.chunks(rows_per_statement(4)) {
        let sql = format!(
            "INSERT INTO run_dataset_inputs (run_uuid, dataset_uuid, tags, context) VALUES {} \
             ON CONFLICT (run_uuid, dataset_uuid) \
             DO UPDATE SET tags = excluded.tags, context = excluded.context",
            values_list(conn, chunk.len(), 4)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for (id, tags, context) in chunk {
            q = q.bind(run_id).bind(*id).bind(tags.as_str()).bind(*context);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

pub(super) async fn insert_model_inputs(
    conn: &mut AnyConnection,
    run_id: &str,
    model_ids: &[String],
) -> Result<()> {
    for chunk in model_ids.chunks(rows_per_statement(2)) {
        let sql = format!(
            "INSERT INTO run_model_inputs (run_uuid, model_id) VALUES {} ON CONFLICT DO NOTHING",
            values_list(conn, chunk.len(), 2)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for model_id in chunk {
            q = q.bind(run_id).bind(model_id.as_str());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

pub(super) async fn insert_model_outputs(
    conn: &mut AnyConnection,
    run_id: &str,
    outputs: &[ModelOutput],
) -> Result<()> {
    for chunk in outputs.chunks(rows_per_statement(3)) {
        let sql = format!(
            "INSERT INTO run_model_outputs (run_uuid, model_id, step) VALUES {} \
             ON CONFLICT DO NOTHING",
            values_list(conn, chunk.len(), 3)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for output in chunk {
            q = q
                .bind(run_id)
                .bind(output.model_id.as_str())
                .bind(output.step);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}
