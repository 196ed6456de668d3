//! Stand-in for the event log's reader until the `events` branch lands (same names and shapes
//! as the shared contract): it reads the columns `registry_events` has today, so events carry no
//! actor, alias or before/after state yet.

use crate::MetadataStore;
use sqlx::Row;

/// One event of the registry's log.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub model_name: String,
    pub version: Option<i64>,
    pub alias: Option<String>,
    pub detail: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub hash: String,
}

impl MetadataStore {
    /// Events after `after_id`, oldest first.
    pub async fn events_after(&self, after_id: i64, limit: u32) -> arca_core::Result<Vec<Event>> {
        self.read(async |conn| {
            let rows = sqlx::query(
                "SELECT id, at, model_name, version, action, detail FROM registry_events \
                 WHERE id > $1 ORDER BY id LIMIT $2",
            )
            .bind(after_id)
            .bind(i64::from(limit))
            .fetch_all(&mut *conn)
            .await?;
            rows.iter()
                .map(|r| {
                    let action: String = r.try_get("action")?;
                    let detail: String = r.try_get("detail")?;
                    let alias = matches!(action.as_str(), "set_alias" | "delete_alias")
                        .then(|| detail.clone());
                    Ok(Event {
                        id: r.try_get("id")?,
                        at: r.try_get("at")?,
                        actor: String::new(),
                        action,
                        model_name: r.try_get("model_name")?,
                        version: r.try_get("version")?,
                        alias,
                        detail,
                        before: None,
                        after: None,
                        hash: String::new(),
                    })
                })
                .collect()
        })
        .await
    }
}
