//! Experiment tracking: experiments, runs and what they log, and MLflow 3 logged models.
//!
//! Key/value children (tags, params) of every tracking entity share one shape, so they share
//! the statements below; the table and column names are this crate's constants. The children of
//! a run or experiment search page are read for all its rows at once (`fetch_for_owners`), not
//! one row at a time.

mod experiments;
mod latest_metrics;
mod log_writes;
mod logged_models;
mod names;
mod runs;
pub(crate) mod search;

use crate::error::Result;
use crate::sql::{Bind, SqlBuilder};
use arca_core::model::Tag;
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Row};
use std::collections::HashMap;
use std::hash::Hash;

pub use logged_models::NewLoggedModel;
pub use runs::NewRun;
pub(crate) use runs::load_run_info;

/// A fresh id in MLflow's format: 32 lowercase hex characters.
pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

pub(crate) async fn upsert_key_value(
    conn: &mut AnyConnection,
    table: &'static str,
    owner_column: &'static str,
    owner: Bind,
    key: &str,
    value: &str,
) -> Result<()> {
    let mut q = SqlBuilder::new(&format!(
        "INSERT INTO {table} ({owner_column}, key, value) VALUES ("
    ));
    q.bind(owner)
        .push(", ")
        .bind_text(key)
        .push(", ")
        .bind_text(value);
    q.push(&format!(
        ") ON CONFLICT ({owner_column}, key) DO UPDATE SET value = excluded.value"
    ));
    q.query().execute(&mut *conn).await?;
    Ok(())
}

pub(crate) async fn load_key_values(
    conn: &mut AnyConnection,
    table: &'static str,
    owner_column: &'static str,
    owner: Bind,
) -> Result<Vec<Tag>> {
    let mut q = SqlBuilder::new(&format!(
        "SELECT key, value FROM {table} WHERE {owner_column} = "
    ));
    q.bind(owner).push(" ORDER BY key");
    q.query()
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| {
            Ok(Tag {
                key: r.try_get(0)?,
                value: r.try_get(1)?,
            })
        })
        .collect()
}

/// How many owners one `IN (...)` list names when a page's children are loaded together: one
/// statement per child table per this many owners, far below either database's limit on bound
/// values however large the page.
pub(crate) const IN_LIST_MAX: usize = 500;

/// Runs `select` (which must end in `... IN `) once per `IN_LIST_MAX` owners with their list
/// appended, then `order_by`, and returns every row.
pub(crate) async fn fetch_for_owners(
    conn: &mut AnyConnection,
    select: &str,
    owners: &[Bind],
    order_by: &str,
) -> Result<Vec<AnyRow>> {
    let mut rows = Vec::new();
    for chunk in owners.chunks(IN_LIST_MAX) {
        let mut q = SqlBuilder::new(select);
        q.bind_list(chunk.iter().cloned()).push(order_by);
        rows.extend(q.query().fetch_all(&mut *conn).await?);
    }
    Ok(rows)
}

/// The rows of `fetch_for_owners` grouped by owner (its first column), in the statement's order.
pub(crate) fn group_by_owner<O, T>(
    rows: &[AnyRow],
    item: impl Fn(&AnyRow) -> Result<T>,
) -> Result<HashMap<O, Vec<T>>>
where
    O: for<'r> sqlx::Decode<'r, Any> + sqlx::Type<Any> + Eq + Hash,
{
    let mut grouped: HashMap<O, Vec<T>> = HashMap::new();
    for row in rows {
        let owner: O = row.try_get(0)?;
        grouped.entry(owner).or_default().push(item(row)?);
    }
    Ok(grouped)
}

/// `load_key_values` for many owners in a fixed number of statements.
pub(crate) async fn load_key_values_of<O>(
    conn: &mut AnyConnection,
    table: &'static str,
    owner_column: &'static str,
    owners: &[Bind],
) -> Result<HashMap<O, Vec<Tag>>>
where
    O: for<'r> sqlx::Decode<'r, Any> + sqlx::Type<Any> + Eq + Hash,
{
    let select = format!("SELECT {owner_column}, key, value FROM {table} WHERE {owner_column} IN ");
    let rows = fetch_for_owners(
        conn,
        &select,
        owners,
        &format!(" ORDER BY {owner_column}, key"),
    )
    .await?;
    group_by_owner(&rows, |r| {
        Ok(Tag {
            key: r.try_get(1)?,
            value: r.try_get(2)?,
        })
    })
}

/// Deletes one key; tells whether it was there.
pub(crate) async fn delete_key(
    conn: &mut AnyConnection,
    table: &'static str,
    owner_column: &'static str,
    owner: Bind,
    key: &str,
) -> Result<bool> {
    let mut q = SqlBuilder::new(&format!("DELETE FROM {table} WHERE {owner_column} = "));
    q.bind(owner).push(" AND key = ").bind_text(key);
    let done = q.query().execute(&mut *conn).await?;
    Ok(done.rows_affected() > 0)
}
