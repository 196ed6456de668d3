//! Experiment tracking: experiments, runs and what they log, and MLflow 3 logged models.
//!
//! Key/value children (tags, params) of every tracking entity share one shape, so they share
//! the two statements below; the table and column names are this crate's constants.

mod experiments;
mod logged_models;
mod names;
mod runs;
mod search;

use crate::sql::{Bind, SqlBuilder};
use crate::{Result, db};
use arca_core::model::Tag;
use sqlx::{AnyConnection, Row};

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
    q.query().execute(&mut *conn).await.map_err(db)?;
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
        .await
        .map_err(db)?
        .iter()
        .map(|r| {
            Ok(Tag {
                key: r.try_get(0).map_err(db)?,
                value: r.try_get(1).map_err(db)?,
            })
        })
        .collect()
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
    let done = q.query().execute(&mut *conn).await.map_err(db)?;
    Ok(done.rows_affected() > 0)
}
