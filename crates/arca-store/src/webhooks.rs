//! Webhooks and their deliveries, fed by the event log.
//!
//! Delivery is a queue kept in the database, so that it survives a crash and so that servers
//! sharing one PostgreSQL split the work instead of repeating it:
//!
//! 1. *Planning* turns new `registry_events` rows into `webhook_deliveries` rows, one per event
//!    and subscribed webhook. The `webhook_dispatch` row holds how far the log has been planned
//!    and a revision of the webhook list; a plan is committed only if both are still what the
//!    planner read (compare and set), so an event is planned once, against the webhooks that
//!    existed when it was committed.
//! 2. *Claiming* takes a lease on a due delivery (`lease_until`); a server that dies mid-attempt
//!    loses its lease when it runs out and another attempt follows. Only the oldest pending
//!    delivery of a (webhook, model) pair can be claimed, so each model's events reach each
//!    receiver in the order they happened.
//! 3. *Finishing* records the attempt: delivered, retry at a given time, or dead.
//!
//! Delivery is therefore at least once: a server killed after the receiver answered but before
//! the answer was recorded sends again, with the same `X-MLflow-Delivery-Id`.

use crate::MetadataStore;
use crate::error::{Result, StoreError};
use arca_core::Error;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

/// A webhook as stored. The secret is here because the deliverer signs with it; the API's
/// renderer leaves it out, and `Debug` does too.
#[derive(Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub url: String,
    /// `entity.action` names (`model_version.created`), sorted.
    pub events: Vec<String>,
    pub secret: Option<String>,
    /// `ACTIVE` or `DISABLED`.
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("url", &self.url)
            .field("events", &self.events)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// What a new webhook is made of, already checked by the caller.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub name: String,
    pub description: Option<String>,
    pub url: String,
    pub events: Vec<String>,
    pub secret: Option<String>,
    pub status: String,
}

/// The fields an update changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct WebhookUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub secret: Option<String>,
    pub status: Option<String>,
}

/// One event on its way to one webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: i64,
    pub delivery_id: String,
    pub webhook_id: String,
    pub event_id: i64,
    pub model_name: String,
    pub event: String,
    pub body: String,
    /// `pending`, `delivered` or `dead`.
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

/// A delivery planned from an event, before it is stored.
#[derive(Debug, Clone)]
pub struct PlannedDelivery {
    pub webhook_id: String,
    pub event_id: i64,
    pub model_name: String,
    pub event: String,
    pub body: String,
}

/// A claimed delivery with what the deliverer needs to send it.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub delivery: Delivery,
    pub url: String,
    pub secret: Option<String>,
}

/// How an attempt ended.
#[derive(Debug, Clone)]
pub enum AttemptOutcome {
    Delivered {
        status: i64,
    },
    /// Failed; `retry_at` is when to try again, `None` when no tries are left.
    Failed {
        status: Option<i64>,
        error: String,
        retry_at: Option<i64>,
    },
}

/// The event log as the planner sees it: a cursor, the webhooks to plan for and their revision.
#[derive(Debug, Clone)]
pub struct DispatchState {
    pub event_cursor: i64,
    pub hooks_rev: i64,
    /// Active, not deleted webhooks.
    pub webhooks: Vec<DispatchTarget>,
}

#[derive(Debug, Clone)]
pub struct DispatchTarget {
    pub webhook: Webhook,
    /// The webhook gets the events after this registry_events id only.
    pub after_event: i64,
}

const WEBHOOK_COLUMNS: &str = "id, name, description, url, events, secret, status, created_at, \
                               updated_at, after_event";
const DELIVERY_COLUMNS: &str = "d.id, d.delivery_id, d.webhook_id, d.event_id, d.model_name, \
     d.event, d.body, d.state, d.attempts, d.next_attempt_at, d.last_status, d.last_error, \
     d.created_at, d.finished_at";

fn webhook_from_row(row: &sqlx::any::AnyRow) -> Result<(Webhook, i64)> {
    let events: String = row.try_get("events")?;
    Ok((
        Webhook {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            description: row.try_get("description")?,
            url: row.try_get("url")?,
            events: events.split_whitespace().map(str::to_owned).collect(),
            secret: row.try_get("secret")?,
            status: row.try_get("status")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        },
        row.try_get("after_event")?,
    ))
}

fn delivery_from_row(row: &sqlx::any::AnyRow) -> Result<Delivery> {
    Ok(Delivery {
        id: row.try_get("id")?,
        delivery_id: row.try_get("delivery_id")?,
        webhook_id: row.try_get("webhook_id")?,
        event_id: row.try_get("event_id")?,
        model_name: row.try_get("model_name")?,
        event: row.try_get("event")?,
        body: row.try_get("body")?,
        state: row.try_get("state")?,
        attempts: row.try_get("attempts")?,
        next_attempt_at: row.try_get("next_attempt_at")?,
        last_status: row.try_get("last_status")?,
        last_error: row.try_get("last_error")?,
        created_at: row.try_get("created_at")?,
        finished_at: row.try_get("finished_at")?,
    })
}

fn not_found(id: &str) -> StoreError {
    Error::NotFound(format!("Webhook with ID {id} not found.")).into()
}

async fn load_webhook(conn: &mut AnyConnection, id: &str) -> Result<Webhook> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1 AND deleted_at IS NULL"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => Ok(webhook_from_row(&row)?.0),
        None => Err(not_found(id)),
    }
}

/// Every change to a webhook bumps the revision the planner compares against; on PostgreSQL the
/// row lock also orders the change against a planner's commit.
async fn bump_hooks_rev(conn: &mut AnyConnection) -> Result<()> {
    sqlx::query("UPDATE webhook_dispatch SET hooks_rev = hooks_rev + 1 WHERE id = 1")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

impl MetadataStore {
    pub async fn create_webhook(&self, new: NewWebhook) -> arca_core::Result<Webhook> {
        let now = crate::now_millis();
        self.write(move |conn| {
            Box::pin(async move {
                bump_hooks_rev(conn).await?;
                let after: i64 = sqlx::query("SELECT COALESCE(MAX(id), 0) FROM registry_events")
                    .fetch_one(&mut *conn)
                    .await?
                    .try_get(0)?;
                let id = uuid::Uuid::new_v4().to_string();
                sqlx::query(
                    "INSERT INTO webhooks (id, name, description, url, events, secret, status, \
                     created_at, updated_at, after_event) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)",
                )
                .bind(&id)
                .bind(&new.name)
                .bind(new.description.as_deref())
                .bind(&new.url)
                .bind(new.events.join(" "))
                .bind(new.secret.as_deref())
                .bind(&new.status)
                .bind(now)
                .bind(after)
                .execute(&mut *conn)
                .await?;
                load_webhook(conn, &id).await
            })
        })
        .await
    }

    pub async fn get_webhook(&self, id: &str) -> arca_core::Result<Webhook> {
        self.read(async |conn| load_webhook(conn, id).await).await
    }

    /// Newest first, as MLflow lists them; `offset` is MLflow's page token.
    pub async fn list_webhooks(
        &self,
        limit: u64,
        offset: u64,
    ) -> arca_core::Result<(Vec<Webhook>, bool)> {
        self.read(async |conn| {
            let rows = sqlx::query(AssertSqlSafe(format!(
                "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE deleted_at IS NULL \
                 ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2"
            )))
            .bind(i64::try_from(limit + 1).unwrap_or(i64::MAX))
            .bind(i64::try_from(offset).unwrap_or(i64::MAX))
            .fetch_all(&mut *conn)
            .await?;
            let mut hooks = rows
                .iter()
                .map(|r| Ok(webhook_from_row(r)?.0))
                .collect::<Result<Vec<_>>>()?;
            let more = hooks.len() as u64 > limit;
            hooks.truncate(limit as usize);
            Ok((hooks, more))
        })
        .await
    }

    pub async fn update_webhook(
        &self,
        id: &str,
        update: WebhookUpdate,
    ) -> arca_core::Result<Webhook> {
        let now = crate::now_millis();
        let id = id.to_owned();
        self.write(move |conn| {
            Box::pin(async move {
                let old = load_webhook(conn, &id).await?;
                bump_hooks_rev(conn).await?;
                let events = update.events.map(|e| e.join(" "));
                sqlx::query(
                    "UPDATE webhooks SET name = $2, description = $3, url = $4, \
                     events = COALESCE($5, events), secret = $6, status = $7, updated_at = $8 \
                     WHERE id = $1",
                )
                .bind(&id)
                .bind(update.name.unwrap_or(old.name))
                .bind(update.description.or(old.description))
                .bind(update.url.unwrap_or(old.url))
                .bind(events)
                .bind(update.secret.or(old.secret))
                .bind(update.status.unwrap_or(old.status))
                .bind(now)
                .execute(&mut *conn)
                .await?;
                load_webhook(conn, &id).await
            })
        })
        .await
    }

    /// Deleted webhooks are kept (as MLflow keeps them) so their delivery log stays readable;
    /// their pending deliveries are never claimed.
    pub async fn delete_webhook(&self, id: &str) -> arca_core::Result<()> {
        let now = crate::now_millis();
        let id = id.to_owned();
        self.write(move |conn| {
            Box::pin(async move {
                load_webhook(conn, &id).await?;
                bump_hooks_rev(conn).await?;
                sqlx::query("UPDATE webhooks SET deleted_at = $2, updated_at = $2 WHERE id = $1")
                    .bind(&id)
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            })
        })
        .await
    }

    /// What the planner needs to turn new events into deliveries.
    pub async fn webhook_dispatch_state(&self) -> arca_core::Result<DispatchState> {
        self.read(async |conn| {
            let row =
                sqlx::query("SELECT event_cursor, hooks_rev FROM webhook_dispatch WHERE id = 1")
                    .fetch_one(&mut *conn)
                    .await?;
            let rows = sqlx::query(AssertSqlSafe(format!(
                "SELECT {WEBHOOK_COLUMNS} FROM webhooks \
                 WHERE deleted_at IS NULL AND status = 'ACTIVE'"
            )))
            .fetch_all(&mut *conn)
            .await?;
            Ok(DispatchState {
                event_cursor: row.try_get("event_cursor")?,
                hooks_rev: row.try_get("hooks_rev")?,
                webhooks: rows
                    .iter()
                    .map(|r| {
                        let (webhook, after_event) = webhook_from_row(r)?;
                        Ok(DispatchTarget {
                            webhook,
                            after_event,
                        })
                    })
                    .collect::<Result<_>>()?,
            })
        })
        .await
    }

    /// Commits a plan: the deliveries for the events up to `new_cursor`, if the cursor and the
    /// webhook revision are still `seen`. `Ok(false)` when another server planned first or a
    /// webhook changed; the caller reads again and replans.
    pub async fn commit_webhook_plan(
        &self,
        seen: (i64, i64),
        new_cursor: i64,
        deliveries: Vec<PlannedDelivery>,
    ) -> arca_core::Result<bool> {
        let now = crate::now_millis();
        self.write(move |conn| {
            Box::pin(async move {
                let moved = sqlx::query(
                    "UPDATE webhook_dispatch SET event_cursor = $3 \
                     WHERE id = 1 AND event_cursor = $1 AND hooks_rev = $2",
                )
                .bind(seen.0)
                .bind(seen.1)
                .bind(new_cursor)
                .execute(&mut *conn)
                .await?
                .rows_affected();
                if moved != 1 {
                    return Ok(false);
                }
                for d in &deliveries {
                    insert_delivery(conn, d, now).await?;
                }
                Ok(true)
            })
        })
        .await
    }

    /// Takes a lease of `lease_ms` on up to `limit` due deliveries for `owner`. A delivery is due
    /// when its time has come, nobody holds a lease on it, its webhook is active, and no older
    /// delivery of the same model to the same webhook is still pending.
    pub async fn claim_webhook_deliveries(
        &self,
        owner: &str,
        lease_ms: i64,
        limit: u32,
    ) -> arca_core::Result<Vec<ClaimedDelivery>> {
        let now = crate::now_millis();
        let due = "d.state = 'pending' AND d.next_attempt_at <= $1 AND d.lease_until <= $1 \
             AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e \
               WHERE e.webhook_id = d.webhook_id AND e.model_name = d.model_name \
                 AND e.state = 'pending' AND e.id < d.id)";
        let candidates: Vec<i64> = self
            .read(async |conn| {
                let rows = sqlx::query(AssertSqlSafe(format!(
                    "SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
                     WHERE {due} AND w.deleted_at IS NULL AND w.status = 'ACTIVE' \
                     ORDER BY d.id LIMIT $2"
                )))
                .bind(now)
                .bind(i64::from(limit))
                .fetch_all(&mut *conn)
                .await?;
                rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
            })
            .await?;
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let owner = owner.to_owned();
        self.write(move |conn| {
            Box::pin(async move {
                let mut claimed = Vec::new();
                for id in candidates {
                    // The conditions on the row itself are re-checked under its lock (PostgreSQL
                    // re-reads a row another transaction changed before updating it): of two
                    // servers racing for one delivery, the second finds the lease taken.
                    let taken = sqlx::query(
                        "UPDATE webhook_deliveries SET lease_owner = $3, lease_until = $4 \
                         WHERE id = $2 AND state = 'pending' AND next_attempt_at <= $1 \
                           AND lease_until <= $1 \
                           AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e \
                             WHERE e.webhook_id = webhook_deliveries.webhook_id \
                               AND e.model_name = webhook_deliveries.model_name \
                               AND e.state = 'pending' AND e.id < webhook_deliveries.id)",
                    )
                    .bind(now)
                    .bind(id)
                    .bind(&owner)
                    .bind(now + lease_ms)
                    .execute(&mut *conn)
                    .await?
                    .rows_affected();
                    if taken != 1 {
                        continue;
                    }
                    let row = sqlx::query(AssertSqlSafe(format!(
                        "SELECT {DELIVERY_COLUMNS}, w.url, w.secret FROM webhook_deliveries d \
                         JOIN webhooks w ON w.id = d.webhook_id WHERE d.id = $1"
                    )))
                    .bind(id)
                    .fetch_one(&mut *conn)
                    .await?;
                    claimed.push(ClaimedDelivery {
                        delivery: delivery_from_row(&row)?,
                        url: row.try_get("url")?,
                        secret: row.try_get("secret")?,
                    });
                }
                Ok(claimed)
            })
        })
        .await
    }

    /// Records how an attempt ended, if `owner` still holds the lease (a lease that ran out may
    /// already belong to another attempt, whose result counts instead).
    pub async fn finish_webhook_attempt(
        &self,
        id: i64,
        owner: &str,
        outcome: AttemptOutcome,
    ) -> arca_core::Result<()> {
        let now = crate::now_millis();
        let owner = owner.to_owned();
        self.write(move |conn| {
            Box::pin(async move {
                let (state, status, error, next, finished) = match outcome {
                    AttemptOutcome::Delivered { status } => {
                        ("delivered", Some(status), None, now, Some(now))
                    }
                    AttemptOutcome::Failed {
                        status,
                        error,
                        retry_at: Some(at),
                    } => ("pending", status, Some(error), at, None),
                    AttemptOutcome::Failed {
                        status,
                        error,
                        retry_at: None,
                    } => ("dead", status, Some(error), now, Some(now)),
                };
                sqlx::query(
                    "UPDATE webhook_deliveries SET state = $3, attempts = attempts + 1, \
                     last_status = $4, last_error = $5, next_attempt_at = $6, finished_at = $7, \
                     lease_owner = NULL, lease_until = 0 \
                     WHERE id = $1 AND lease_owner = $2 AND state = 'pending'",
                )
                .bind(id)
                .bind(&owner)
                .bind(state)
                .bind(status)
                .bind(error)
                .bind(next)
                .bind(finished)
                .execute(&mut *conn)
                .await?;
                Ok(())
            })
        })
        .await
    }

    /// A webhook's deliveries, newest first, `limit` at a time below `before` (a delivery's
    /// `id`, for the next page).
    pub async fn list_webhook_deliveries(
        &self,
        webhook_id: &str,
        limit: u32,
        before: Option<i64>,
    ) -> arca_core::Result<Vec<Delivery>> {
        self.read(async |conn| {
            let exists = sqlx::query("SELECT 1 FROM webhooks WHERE id = $1")
                .bind(webhook_id)
                .fetch_optional(&mut *conn)
                .await?;
            if exists.is_none() {
                return Err(not_found(webhook_id));
            }
            let rows = sqlx::query(AssertSqlSafe(format!(
                "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d \
                 WHERE d.webhook_id = $1 AND d.id < $2 ORDER BY d.id DESC LIMIT $3"
            )))
            .bind(webhook_id)
            .bind(before.unwrap_or(i64::MAX))
            .bind(i64::from(limit))
            .fetch_all(&mut *conn)
            .await?;
            rows.iter().map(delivery_from_row).collect()
        })
        .await
    }

    /// Sends a delivery again: a new delivery (new id) of the same body, queued behind the
    /// model's pending ones.
    pub async fn redeliver_webhook_delivery(
        &self,
        webhook_id: &str,
        delivery_id: &str,
    ) -> arca_core::Result<Delivery> {
        let now = crate::now_millis();
        let webhook_id = webhook_id.to_owned();
        let delivery_id = delivery_id.to_owned();
        self.write(move |conn| {
            Box::pin(async move {
                load_webhook(conn, &webhook_id).await?;
                let row = sqlx::query(AssertSqlSafe(format!(
                    "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d \
                     WHERE d.webhook_id = $1 AND d.delivery_id = $2"
                )))
                .bind(&webhook_id)
                .bind(&delivery_id)
                .fetch_optional(&mut *conn)
                .await?;
                let Some(row) = row else {
                    return Err(Error::NotFound(format!(
                        "Delivery {delivery_id} of webhook {webhook_id} not found."
                    ))
                    .into());
                };
                let old = delivery_from_row(&row)?;
                let id = insert_delivery(
                    conn,
                    &PlannedDelivery {
                        webhook_id: old.webhook_id,
                        event_id: old.event_id,
                        model_name: old.model_name,
                        event: old.event,
                        body: old.body,
                    },
                    now,
                )
                .await?;
                let row = sqlx::query(AssertSqlSafe(format!(
                    "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d WHERE d.id = $1"
                )))
                .bind(id)
                .fetch_one(&mut *conn)
                .await?;
                delivery_from_row(&row)
            })
        })
        .await
    }

    /// The state of each of a webhook's deliveries, counted: (pending, delivered, dead).
    pub async fn webhook_delivery_counts(
        &self,
        webhook_id: &str,
    ) -> arca_core::Result<(i64, i64, i64)> {
        self.read(async |conn| {
            let rows = sqlx::query(
                "SELECT state, COUNT(*) FROM webhook_deliveries WHERE webhook_id = $1 \
                 GROUP BY state",
            )
            .bind(webhook_id)
            .fetch_all(&mut *conn)
            .await?;
            let mut counts = (0, 0, 0);
            for r in &rows {
                let state: String = r.try_get(0)?;
                let n: i64 = r.try_get(1)?;
                match state.as_str() {
                    "pending" => counts.0 = n,
                    "delivered" => counts.1 = n,
                    _ => counts.2 = n,
                }
            }
            Ok(counts)
        })
        .await
    }
}

async fn insert_delivery(conn: &mut AnyConnection, d: &PlannedDelivery, now: i64) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO webhook_deliveries (delivery_id, webhook_id, event_id, model_name, event, \
         body, state, next_attempt_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $7) RETURNING id",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(&d.webhook_id)
    .bind(d.event_id)
    .bind(&d.model_name)
    .bind(&d.event)
    .bind(&d.body)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get(0)?)
}
