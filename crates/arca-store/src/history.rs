//! Reading the event log back: history searches, the registry as of a time, and alias rollback.
//!
//! The registry's past is not kept anywhere but in the events: a model's versions, stages and
//! aliases at a time are its events up to that time, folded in id order (`snapshot_as_of`). So
//! time travel is exactly as trustworthy as the chain `verify_event_chain` checks.
//!
//! A model's events carry the name it had when each was written. A rename is recorded under the
//! new name with the old one in `before`; the fold follows it back into the old name's events,
//! and a rename away from a name ends that name's model (`detail` is `renamed from <old>`).

use crate::error::Result;
use crate::events::{Change, EVENT_COLUMNS, Event, alias_state, alias_target, stored_from_row};
use crate::keyset::{self, KeyType, Paging, SortKey};
use crate::sql::SqlBuilder;
use crate::{MetadataStore, now_millis, record_event};
use arca_core::Error;
use arca_core::model::{Page, Stage};
use arca_core::search::PageToken;
use serde_json::Value;
use sqlx::AnyConnection;
use std::collections::BTreeMap;

/// The most events one history page holds.
pub const HISTORY_MAX_RESULTS: u64 = 1000;

/// What a history search selects; every field narrows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryFilter {
    pub name: Option<String>,
    pub version: Option<i64>,
    pub alias: Option<String>,
    pub action: Option<String>,
    pub actor: Option<String>,
    /// Epoch milliseconds, inclusive.
    pub since: Option<i64>,
    /// Epoch milliseconds, inclusive.
    pub until: Option<i64>,
}

/// A model's versions (number → stage) and aliases (name → version) at one time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub exists: bool,
    pub versions: BTreeMap<i64, String>,
    pub aliases: BTreeMap<String, i64>,
}

/// What `models:/<name>/...` names, for [`MetadataStore::resolve_as_of`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AsOfRef {
    Version(i64),
    Stage(Stage),
    Alias(String),
    Latest,
}

const HISTORY_KEYS: [SortKey; 1] = [SortKey::new("id", KeyType::Int, false)];

fn version_of(state: Option<&Value>) -> Option<i64> {
    state?.get("version")?.as_i64()
}

fn stage_of(state: Option<&Value>) -> Option<String> {
    Some(state?.get("stage")?.as_str()?.to_owned())
}

/// Folds `name`'s events with `id < before_id` and `at <= as_of` into a snapshot, following
/// renames back through at most `depth` earlier names.
async fn fold(
    conn: &mut AnyConnection,
    name: &str,
    before_id: i64,
    as_of: i64,
    depth: u32,
) -> Result<Snapshot> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {EVENT_COLUMNS} FROM registry_events \
         WHERE (model_name = $1 OR (action = 'rename_model' AND detail = $2)) \
         AND id < $3 AND at <= $4 ORDER BY id"
    )))
    .bind(name)
    .bind(format!("renamed from {name}"))
    .bind(before_id)
    .bind(as_of)
    .fetch_all(&mut *conn)
    .await?;
    let mut s = Snapshot::default();
    for row in &rows {
        let e = stored_from_row(row)?.event;
        let (before, after) = (e.before.as_ref(), e.after.as_ref());
        match e.action.as_str() {
            "rename_model" if e.model_name != name => s = Snapshot::default(),
            "rename_model" => {
                let old = before.and_then(|b| b.get("name")?.as_str()).unwrap_or(name);
                if old != name && depth > 0 {
                    s = Box::pin(fold(conn, old, e.id, as_of, depth - 1)).await?;
                }
                s.exists = true;
            }
            "create_model" => {
                s = Snapshot {
                    exists: true,
                    ..Snapshot::default()
                }
            }
            "delete_model" => s = Snapshot::default(),
            "create_version" | "transition_stage" => {
                if let (Some(v), Some(stage)) = (e.version, stage_of(after)) {
                    s.versions.insert(v, stage);
                }
            }
            "delete_version" => {
                if let Some(v) = e.version {
                    s.versions.remove(&v);
                    s.aliases.retain(|_, target| *target != v);
                }
            }
            "set_alias" => {
                if let (Some(alias), Some(v)) = (&e.alias, version_of(after)) {
                    s.aliases.insert(alias.clone(), v);
                }
            }
            "delete_alias" => {
                if let Some(alias) = &e.alias {
                    s.aliases.remove(alias);
                }
            }
            _ => {}
        }
    }
    Ok(s)
}

impl MetadataStore {
    /// Events matching `filter`, newest first, a page at a time (keyset tokens on the id).
    pub async fn search_events(
        &self,
        filter: &HistoryFilter,
        max_results: u64,
        page_token: Option<&PageToken>,
    ) -> arca_core::Result<Page<Event>> {
        self.read(async |conn| {
            let mut q = SqlBuilder::new(&format!(
                "SELECT {EVENT_COLUMNS}{} FROM registry_events WHERE 1 = 1",
                keyset::select_list(&HISTORY_KEYS)
            ));
            if let Some(name) = &filter.name {
                q.push(" AND model_name = ").bind_text(name.as_str());
            }
            if let Some(version) = filter.version {
                q.push(" AND version = ").bind_int(version);
            }
            if let Some(alias) = &filter.alias {
                q.push(" AND alias = ").bind_text(alias.as_str());
            }
            if let Some(action) = &filter.action {
                q.push(" AND action = ").bind_text(action.as_str());
            }
            if let Some(actor) = &filter.actor {
                q.push(" AND actor = ").bind_text(actor.as_str());
            }
            if let Some(since) = filter.since {
                q.push(" AND at >= ").bind_int(since);
            }
            if let Some(until) = filter.until {
                q.push(" AND at <= ").bind_int(until);
            }
            let paging = Paging::begin(&mut q, Some(&HISTORY_KEYS), "", page_token, max_results)?;
            keyset::push_order_by(&mut q, &HISTORY_KEYS);
            paging.push_limit(&mut q);
            let mut rows = q.query().fetch_all(&mut *conn).await?;
            let next_page_token = paging.next_token(&rows)?;
            rows.truncate(max_results as usize);
            let items = rows
                .iter()
                .map(|r| Ok(stored_from_row(r)?.event))
                .collect::<Result<Vec<_>>>()?;
            Ok(Page {
                items,
                next_page_token,
            })
        })
        .await
    }

    /// `name`'s versions, stages and aliases as they were at `as_of` (epoch milliseconds),
    /// read from its events.
    pub async fn snapshot_as_of(&self, name: &str, as_of: i64) -> arca_core::Result<Snapshot> {
        self.read(async |conn| fold(conn, name, i64::MAX, as_of, 16).await)
            .await
    }

    /// The version `models:/<name>/<reference>` named at `as_of`.
    pub async fn resolve_as_of(
        &self,
        name: &str,
        reference: &AsOfRef,
        as_of: i64,
    ) -> arca_core::Result<i64> {
        let s = self.snapshot_as_of(name, as_of).await?;
        if !s.exists {
            return Err(Error::not_found(format!(
                "Registered Model with name={name} did not exist at {as_of}"
            )));
        }
        let found = match reference {
            AsOfRef::Version(v) => s.versions.contains_key(v).then_some(*v),
            AsOfRef::Stage(stage) => s
                .versions
                .iter()
                .rev()
                .find(|(_, st)| st.as_str() == stage.as_str())
                .map(|(v, _)| *v),
            AsOfRef::Alias(alias) => s.aliases.get(alias).copied(),
            AsOfRef::Latest => s.versions.keys().next_back().copied(),
        };
        found.ok_or_else(|| {
            let what = match reference {
                AsOfRef::Version(v) => format!("Model Version (name={name}, version={v})"),
                AsOfRef::Stage(stage) => format!("A version of {name} in stage {stage}"),
                AsOfRef::Alias(alias) => format!("Registered model alias {alias} of {name}"),
                AsOfRef::Latest => format!("A version of {name}"),
            };
            Error::not_found(format!("{what} did not exist at {as_of}"))
        })
    }

    /// Moves `alias` back to the version it pointed at before its last change (a set or a
    /// delete), recorded as a `set_alias` event. Returns the version it now points at.
    pub async fn rollback_alias(&self, name: &str, alias: &str) -> arca_core::Result<i64> {
        let now = now_millis();
        let name = name.to_owned();
        let alias = alias.to_owned();
        self.write(move |conn| {
            Box::pin(async move {
                let (name, alias) = (name.as_str(), alias.as_str());
                let id = crate::models::lock_model(conn, name).await?;
                let last = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {EVENT_COLUMNS} FROM registry_events WHERE model_name = $1 \
                     AND alias = $2 ORDER BY id DESC LIMIT 1"
                )))
                .bind(name)
                .bind(alias)
                .fetch_optional(&mut *conn)
                .await?;
                let Some(last) = last else {
                    return Err(Error::invalid(format!(
                        "Registered model alias {alias} of {name} has no history to roll back"
                    ))
                    .into());
                };
                let last = stored_from_row(&last)?.event;
                let Some(target) = version_of(last.before.as_ref()) else {
                    return Err(Error::invalid(format!(
                        "Registered model alias {alias} of {name} pointed at no version before \
                         its last change (event {}): there is nothing to roll back to",
                        last.id
                    ))
                    .into());
                };
                let target_version = arca_core::model::VersionNumber::from_stored(target);
                crate::versions::require_live_version(conn, id, name, target_version)
                    .await
                    .map_err(|e| {
                        crate::error::StoreError::from(Error::invalid(format!(
                            "Cannot roll alias {alias} back to version {target}: {}",
                            arca_core::Error::from(e)
                        )))
                    })?;
                let before = alias_target(conn, id, alias).await?;
                sqlx::query(
                    "INSERT INTO registered_model_aliases (model_id, alias, version) \
                     VALUES ($1, $2, $3) \
                     ON CONFLICT (model_id, alias) DO UPDATE SET version = excluded.version",
                )
                .bind(id)
                .bind(alias)
                .bind(target)
                .execute(&mut *conn)
                .await?;
                let change = Change {
                    alias: Some(alias),
                    ..Change::version("set_alias", name, target).detail(alias)
                }
                .states(
                    before.map(|v| alias_state(alias, v)),
                    Some(alias_state(alias, target)),
                );
                record_event(conn, now, change).await?;
                Ok(target)
            })
        })
        .await
    }
}
