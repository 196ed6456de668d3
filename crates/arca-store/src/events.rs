//! The event log: one `registry_events` row per registry change, written in the change's own
//! transaction (savepoint), with who made it, the state before and after, and a hash chain.
//!
//! Every row carries `hash = SHA-256(content, prev_hash)` where `prev_hash` is the hash of the
//! row before it in id order. Editing a row changes its content and breaks its own hash; removing
//! a row or swapping two breaks the next row's `prev_hash`; so a walk from the first row finds the
//! first row that is not what was written (`verify_event_chain`). What the chain cannot show is
//! the loss of the newest rows (a truncated tail is a shorter valid chain): an auditor who needs
//! that keeps the head hash somewhere else, as `arca history verify` prints it.
//!
//! The chain needs one total order in which rows are appended: ids in commit order. On SQLite the
//! single writer connection gives that. On PostgreSQL each change takes a transaction-scoped
//! advisory lock before it reads the previous hash, so appends are serialized until commit, and
//! a reader paging `events_after(id)` can never see a gap that a slower transaction fills later.
//!
//! The actor is a task-local: the server wraps each request in [`with_actor`], and
//! [`crate::MetadataStore::write`] carries it into the work, which on SQLite runs on the writer
//! task, not the caller's.

use crate::error::Result;
use crate::sql::{rows_per_statement, values_list};
use arca_core::model::{ModelVersion, Tag};
use serde::Serialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use std::future::Future;

tokio::task_local! {
    static ACTOR: String;
}

/// Runs `fut` with `actor` as the author of every registry change it makes.
pub async fn with_actor<F: Future>(actor: String, fut: F) -> F::Output {
    ACTOR.scope(actor, fut).await
}

/// The actor of the running task, or `""` outside [`with_actor`] (the CLI's local flavor,
/// tests).
pub(crate) fn current_actor() -> String {
    ACTOR.try_with(Clone::clone).unwrap_or_default()
}

pub(crate) fn scope_actor<F: Future>(
    actor: String,
    fut: F,
) -> tokio::task::futures::TaskLocalFuture<String, F> {
    ACTOR.scope(actor, fut)
}

/// The hash the first event chains to.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An arbitrary constant: the key of the PostgreSQL advisory lock that orders appends to the
/// log.
const CHAIN_LOCK_KEY: i64 = 0x6172_6361_6576_7473;

/// One change from the registry's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub id: i64,
    /// Epoch milliseconds.
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub model_name: String,
    pub version: Option<i64>,
    pub alias: Option<String>,
    pub detail: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub hash: String,
}

pub(crate) const EVENT_COLUMNS: &str = "id, at, actor, action, model_name, version, alias, \
     detail, before_state, after_state, prev_hash, hash";

/// A row as stored, the JSON states as their text: the hash is over these exact bytes.
pub(crate) struct StoredEvent {
    pub event: Event,
    pub before_text: Option<String>,
    pub after_text: Option<String>,
    pub prev_hash: Option<String>,
    pub hash: Option<String>,
}

pub(crate) fn stored_from_row(row: &AnyRow) -> Result<StoredEvent> {
    let before_text: Option<String> = row.try_get("before_state")?;
    let after_text: Option<String> = row.try_get("after_state")?;
    let parse = |t: &Option<String>| t.as_deref().and_then(|t| serde_json::from_str(t).ok());
    let hash: Option<String> = row.try_get("hash")?;
    Ok(StoredEvent {
        event: Event {
            id: row.try_get("id")?,
            at: row.try_get("at")?,
            actor: row.try_get("actor")?,
            action: row.try_get("action")?,
            model_name: row.try_get("model_name")?,
            version: row.try_get("version")?,
            alias: row.try_get("alias")?,
            detail: row.try_get("detail")?,
            before: parse(&before_text),
            after: parse(&after_text),
            hash: hash.clone().unwrap_or_default(),
        },
        before_text,
        after_text,
        prev_hash: row.try_get("prev_hash")?,
        hash,
    })
}

/// What a change did, as [`record_event`] writes it.
pub(crate) struct Change<'a> {
    pub action: &'a str,
    pub model_name: &'a str,
    pub version: Option<i64>,
    pub alias: Option<&'a str>,
    pub detail: &'a str,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl<'a> Change<'a> {
    pub(crate) fn model(action: &'a str, model_name: &'a str) -> Self {
        Change {
            action,
            model_name,
            version: None,
            alias: None,
            detail: "",
            before: None,
            after: None,
        }
    }

    pub(crate) fn version(action: &'a str, model_name: &'a str, version: i64) -> Self {
        Change {
            version: Some(version),
            ..Change::model(action, model_name)
        }
    }

    pub(crate) fn detail(self, detail: &'a str) -> Self {
        Change { detail, ..self }
    }

    pub(crate) fn states(self, before: Option<Value>, after: Option<Value>) -> Self {
        Change {
            before,
            after,
            ..self
        }
    }
}

/// The canonical bytes an event's hash covers: every field, each length-prefixed so that no
/// two different events encode alike, then the previous hash.
#[allow(clippy::too_many_arguments)]
pub(crate) fn event_hash(
    at: i64,
    actor: &str,
    action: &str,
    model_name: &str,
    version: Option<i64>,
    alias: Option<&str>,
    detail: &str,
    before: Option<&str>,
    after: Option<&str>,
    prev_hash: &str,
) -> String {
    let mut h = Sha256::new();
    let mut field = |v: Option<&[u8]>| match v {
        None => h.update(b"-"),
        Some(bytes) => {
            h.update(format!("{}:", bytes.len()).as_bytes());
            h.update(bytes);
        }
    };
    field(Some(b"arca-event-v1"));
    field(Some(at.to_string().as_bytes()));
    field(Some(actor.as_bytes()));
    field(Some(action.as_bytes()));
    field(Some(model_name.as_bytes()));
    field(version.map(|v| v.to_string()).as_deref().map(str::as_bytes));
    field(alias.map(str::as_bytes));
    field(Some(detail.as_bytes()));
    field(before.map(str::as_bytes));
    field(after.map(str::as_bytes));
    field(Some(prev_hash.as_bytes()));
    hex::encode(h.finalize())
}

pub(crate) fn stored_hash(e: &StoredEvent, prev_hash: &str) -> String {
    event_hash(
        e.event.at,
        &e.event.actor,
        &e.event.action,
        &e.event.model_name,
        e.event.version,
        e.event.alias.as_deref(),
        &e.event.detail,
        e.before_text.as_deref(),
        e.after_text.as_deref(),
        prev_hash,
    )
}

/// Serializes appends to the log (PostgreSQL) and reads the hash to chain to.
async fn chain_head(conn: &mut AnyConnection) -> Result<String> {
    if conn.backend_name().eq_ignore_ascii_case("postgresql") {
        // Wrapped so that the row has a column type the Any driver reads (the lock function
        // returns `void`).
        sqlx::query("SELECT 1 AS locked FROM (SELECT pg_advisory_xact_lock($1)) AS taken")
            .bind(CHAIN_LOCK_KEY)
            .execute(&mut *conn)
            .await?;
    }
    let head: Option<Option<String>> =
        sqlx::query("SELECT hash FROM registry_events ORDER BY id DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
    Ok(head.flatten().unwrap_or_else(|| GENESIS_HASH.to_owned()))
}

/// Writes the history row for a change, inside the change's own transaction, by the task's
/// actor.
pub(crate) async fn record_event(
    conn: &mut AnyConnection,
    at: i64,
    change: Change<'_>,
) -> Result<()> {
    record_events(conn, at, vec![change]).await
}

/// Writes the history rows of a request's changes, in order: one read of the chain's head, the
/// hashes chained in Rust, and one INSERT for all of them, however many versions a transition
/// archived.
pub(crate) async fn record_events(
    conn: &mut AnyConnection,
    at: i64,
    changes: Vec<Change<'_>>,
) -> Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let actor = current_actor();
    let mut prev = chain_head(conn).await?;
    let mut rows = Vec::with_capacity(changes.len());
    for change in changes {
        let before = change.before.as_ref().map(Value::to_string);
        let after = change.after.as_ref().map(Value::to_string);
        let hash = event_hash(
            at,
            &actor,
            change.action,
            change.model_name,
            change.version,
            change.alias,
            change.detail,
            before.as_deref(),
            after.as_deref(),
            &prev,
        );
        let prev_hash = std::mem::replace(&mut prev, hash.clone());
        rows.push((change, before, after, prev_hash, hash));
    }
    for chunk in rows.chunks(rows_per_statement(11)) {
        let sql = format!(
            "INSERT INTO registry_events (at, actor, action, model_name, version, alias, detail, \
             before_state, after_state, prev_hash, hash) VALUES {}",
            values_list(conn, chunk.len(), 11)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (change, before, after, prev_hash, hash) in chunk {
            q = q
                .bind(at)
                .bind(actor.as_str())
                .bind(change.action)
                .bind(change.model_name)
                .bind(change.version)
                .bind(change.alias)
                .bind(change.detail)
                .bind(before.as_deref())
                .bind(after.as_deref())
                .bind(prev_hash.as_str())
                .bind(hash.as_str());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// A model as events record it, from what the change already knows.
pub(crate) fn model_state_of(name: &str, description: Option<&str>, tags: &[Tag]) -> Value {
    let tags: Map<String, Value> = tags
        .iter()
        .map(|t| (t.key.clone(), Value::String(t.value.clone())))
        .collect();
    json!({"name": name, "description": description, "tags": tags})
}

/// A live version as events record it: `{"name", "version", "source", "run_id", "description",
/// "stage", "tags", "aliases"}`, from a version the change has already read, so that the state
/// costs no statement of its own.
pub(crate) fn version_state_of(mv: &ModelVersion) -> Value {
    let tags: Map<String, Value> = mv
        .tags
        .iter()
        .map(|t| (t.key.clone(), Value::String(t.value.clone())))
        .collect();
    // Versions store "no run" and "no description" as empty text.
    let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    json!({
        "name": mv.name,
        "version": mv.version.get(),
        "source": mv.source,
        "run_id": non_empty(&mv.run_id),
        "description": non_empty(&mv.description),
        "stage": mv.current_stage.as_str(),
        "tags": tags,
        "aliases": mv.aliases,
    })
}

/// A model as events record it: `{"name", "description", "tags"}`; `None` when it does not
/// exist.
pub(crate) async fn model_state(conn: &mut AnyConnection, name: &str) -> Result<Option<Value>> {
    let Some(row) =
        sqlx::query("SELECT id, name, description FROM registered_models WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *conn)
            .await?
    else {
        return Ok(None);
    };
    let id: i64 = row.try_get(0)?;
    let mut tags = Map::new();
    for t in
        sqlx::query("SELECT key, value FROM registered_model_tags WHERE model_id = $1 ORDER BY key")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?
    {
        tags.insert(t.try_get(0)?, Value::String(t.try_get(1)?));
    }
    Ok(Some(json!({
        "name": row.try_get::<String, _>(1)?,
        "description": row.try_get::<Option<String>, _>(2)?,
        "tags": tags,
    })))
}

/// An alias as events record it.
pub(crate) fn alias_state(alias: &str, version: i64) -> Value {
    json!({"alias": alias, "version": version})
}

/// The version an alias points at now, if it exists.
pub(crate) async fn alias_target(
    conn: &mut AnyConnection,
    model_id: i64,
    alias: &str,
) -> Result<Option<i64>> {
    Ok(sqlx::query(
        "SELECT version FROM registered_model_aliases WHERE model_id = $1 AND alias = $2",
    )
    .bind(model_id)
    .bind(alias)
    .fetch_optional(&mut *conn)
    .await?
    .map(|r| r.try_get::<i64, _>(0))
    .transpose()?)
}

/// Chains the rows of a log written before hashes existed (migration 0006), once: only when no
/// row carries a hash yet, so that a row whose hash was later erased is reported, not resealed.
pub(crate) async fn seal_legacy_events(conn: &mut AnyConnection) -> Result<()> {
    chain_head(conn).await?;
    let sealed = sqlx::query("SELECT 1 FROM registry_events WHERE hash IS NOT NULL LIMIT 1")
        .fetch_optional(&mut *conn)
        .await?;
    if sealed.is_some() {
        return Ok(());
    }
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {EVENT_COLUMNS} FROM registry_events ORDER BY id"
    )))
    .fetch_all(&mut *conn)
    .await?;
    let mut prev = GENESIS_HASH.to_owned();
    for row in &rows {
        let e = stored_from_row(row)?;
        let hash = stored_hash(&e, &prev);
        sqlx::query("UPDATE registry_events SET prev_hash = $2, hash = $3 WHERE id = $1")
            .bind(e.event.id)
            .bind(&prev)
            .bind(&hash)
            .execute(&mut *conn)
            .await?;
        prev = hash;
    }
    Ok(())
}

impl crate::MetadataStore {
    /// Up to `limit` events with an id above `after_id`, oldest first: a consumer that keeps the
    /// last id it handled resumes there and misses nothing (ids are in commit order).
    pub async fn events_after(&self, after_id: i64, limit: u32) -> arca_core::Result<Vec<Event>> {
        self.read(async |conn| {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {EVENT_COLUMNS} FROM registry_events WHERE id > $1 ORDER BY id LIMIT $2"
            )))
            .bind(after_id)
            .bind(i64::from(limit))
            .fetch_all(&mut *conn)
            .await?;
            rows.iter().map(|r| Ok(stored_from_row(r)?.event)).collect()
        })
        .await
    }

    /// Every event recorded under the model name `name`, oldest first.
    pub async fn model_history(&self, name: &str) -> arca_core::Result<Vec<Event>> {
        self.read(async |conn| {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {EVENT_COLUMNS} FROM registry_events WHERE model_name = $1 ORDER BY id"
            )))
            .bind(name)
            .fetch_all(&mut *conn)
            .await?;
            rows.iter().map(|r| Ok(stored_from_row(r)?.event)).collect()
        })
        .await
    }
}

/// What a walk of the whole chain found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    /// Events checked, up to and including the first broken one.
    pub checked: u64,
    /// The hash of the newest event (the genesis hash for an empty log): kept elsewhere, it
    /// shows a later truncation of the log, which the chain alone cannot.
    pub head: String,
    /// The first event that is not what was written, if any.
    pub broken: Option<ChainBreak>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainBreak {
    pub id: i64,
    pub reason: String,
}

impl crate::MetadataStore {
    /// Walks the event log from the first event and reports the first one that was edited (its
    /// content no longer matches its hash), or that does not follow the event before it (one
    /// was removed between them, or events were reordered).
    pub async fn verify_event_chain(&self) -> arca_core::Result<ChainReport> {
        const PAGE: i64 = 1000;
        self.read(async |conn| {
            let mut report = ChainReport {
                checked: 0,
                head: GENESIS_HASH.to_owned(),
                broken: None,
            };
            let mut last_id: Option<i64> = None;
            loop {
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {EVENT_COLUMNS} FROM registry_events WHERE id > $1 ORDER BY id LIMIT $2"
                )))
                .bind(last_id.unwrap_or(i64::MIN))
                .bind(PAGE)
                .fetch_all(&mut *conn)
                .await?;
                for row in &rows {
                    let e = stored_from_row(row)?;
                    report.checked += 1;
                    let id = e.event.id;
                    let broken = |reason: String| Some(ChainBreak { id, reason });
                    let (Some(prev), Some(hash)) = (&e.prev_hash, &e.hash) else {
                        report.broken = broken(format!("event {id} has no hash: it was edited"));
                        return Ok(report);
                    };
                    if stored_hash(&e, prev) != *hash {
                        report.broken = broken(format!(
                            "event {id} was edited: its content does not match its hash"
                        ));
                        return Ok(report);
                    }
                    if *prev != report.head {
                        let after = last_id
                            .map_or("the start of the log".to_owned(), |p| format!("event {p}"));
                        report.broken = broken(format!(
                            "event {id} does not follow {after}: an event between them was \
                             removed, or events were reordered"
                        ));
                        return Ok(report);
                    }
                    report.head = hash.clone();
                    last_id = Some(id);
                }
                if (rows.len() as i64) < PAGE {
                    return Ok(report);
                }
            }
        })
        .await
    }
}
