//! MLflow's webhook endpoints (`WebhookService`: create, list, get, update, delete, test) and
//! Arca's delivery log beside them (`/api/2.0/arca/webhooks/{id}/deliveries`, redelivery).
//!
//! Requests are read as MLflow's server reads them (events as `{entity, action}` enum names or
//! numbers, an unknown `status` ignored, `max_results` 0 meaning the default). The secret is
//! stored and used to sign, never rendered.

use super::{page_token_arg, required};
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Mlflow, RequestMessage, opt_int64};
use crate::webhooks::{self, deliver, event_json};
use arca_core::search::PageStart;
use arca_store::{Delivery, NewWebhook, Webhook, WebhookUpdate};
use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

/// Relative to `/api/2.0/mlflow`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/webhooks", post(create).get(list))
        .route(
            "/webhooks/{webhook_id}",
            get(get_one).patch(update).delete(delete),
        )
        .route("/webhooks/{webhook_id}/test", post(test))
}

/// Arca's delivery log and event feed, under `/api/2.0/arca` (and its `/ajax-api` twin).
pub fn arca_routes() -> Router<AppState> {
    let mut router = Router::new();
    for base in ["/api", "/ajax-api"] {
        router = router
            .route(
                &format!("{base}/2.0/arca/webhooks/{{webhook_id}}/deliveries"),
                get(deliveries),
            )
            .route(
                &format!(
                    "{base}/2.0/arca/webhooks/{{webhook_id}}/deliveries/{{delivery_id}}/redeliver"
                ),
                post(redeliver),
            )
            .route(&format!("{base}/2.0/arca/events"), get(events_feed));
    }
    router
}

pub fn webhook_json(w: &Webhook) -> Value {
    let mut out = json!({
        "webhook_id": w.id,
        "name": w.name,
        "url": w.url,
        "events": w.events.iter().map(|e| event_json(e)).collect::<Vec<_>>(),
        "status": w.status,
        "creation_timestamp": w.created_at,
        "last_updated_timestamp": w.updated_at,
    });
    if let Some(d) = w.description.as_deref().filter(|d| !d.is_empty()) {
        out["description"] = json!(d);
    }
    out
}

pub fn delivery_json(d: &Delivery) -> Value {
    json!({
        "delivery_id": d.delivery_id,
        "webhook_id": d.webhook_id,
        "event_id": d.event_id,
        "model_name": d.model_name,
        "event": d.event,
        "state": d.state,
        "attempts": d.attempts,
        "next_attempt_timestamp": (d.state == "pending").then_some(d.next_attempt_at),
        "last_status": d.last_status,
        "last_error": d.last_error,
        "creation_timestamp": d.created_at,
        "finished_timestamp": d.finished_at,
        "body": d.body,
    })
}

/// MLflow's webhook name rule: 1 to 63 letters, digits, `.`, `_`, `-`, starting and ending with
/// a letter or digit.
fn check_name(name: &str) -> ApiResult<()> {
    let ok_end = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let valid = (1..=63).contains(&name.len())
        && ok_end(name.chars().next())
        && ok_end(name.chars().last())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if valid {
        return Ok(());
    }
    Err(ApiError::invalid(format!(
        "Webhook name '{name}' is invalid. It must start and end with a letter or digit, be less \
         than 63 characters long, and contain only letters, digits, dots (.), underscores (_), \
         and hyphens (-)."
    )))
}

fn events_arg(events: &[Value]) -> ApiResult<Vec<String>> {
    if events.is_empty() {
        return Err(ApiError::invalid(
            "Webhook events must be a non-empty list of WebhookEvent objects: [].",
        ));
    }
    let mut out = events
        .iter()
        .map(|e| webhooks::parse_event(e).map_err(ApiError::invalid))
        .collect::<ApiResult<Vec<_>>>()?;
    out.sort();
    out.dedup();
    Ok(out)
}

/// MLflow reads the status enum leniently: a name it does not know is as if none were given.
fn status_arg(status: Option<Value>) -> Option<String> {
    match status? {
        Value::String(s) if s == "ACTIVE" || s == "DISABLED" => Some(s),
        Value::Number(n) if n.as_u64() == Some(1) => Some("ACTIVE".into()),
        Value::Number(n) if n.as_u64() == Some(2) => Some("DISABLED".into()),
        _ => None,
    }
}

async fn url_arg(app: &AppState, url: &str) -> ApiResult<String> {
    app.webhooks
        .guard
        .check_url(url)
        .await
        .map_err(|refused| ApiError::invalid(refused.0))?;
    Ok(url.to_owned())
}

#[derive(Deserialize)]
pub struct CreateWebhook {
    name: Option<String>,
    url: Option<String>,
    events: Option<Vec<Value>>,
    description: Option<String>,
    secret: Option<String>,
    status: Option<Value>,
}
impl RequestMessage for CreateWebhook {}

async fn create(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<CreateWebhook>,
) -> ApiResult<Json<Value>> {
    let name = required(req.name, "name")?;
    let url = required(req.url, "url")?;
    let Some(events) = req.events else {
        return Err(ApiError::missing("events"));
    };
    check_name(&name)?;
    let url = url_arg(&app, &url).await?;
    let events = events_arg(&events)?;
    let webhook = app
        .metadata
        .create_webhook(NewWebhook {
            name,
            description: req.description.filter(|d| !d.is_empty()),
            url,
            events,
            secret: req.secret.filter(|s| !s.is_empty()),
            status: status_arg(req.status).unwrap_or_else(|| "ACTIVE".into()),
        })
        .await?;
    Ok(Json(json!({ "webhook": webhook_json(&webhook) })))
}

#[derive(Deserialize)]
pub struct ListWebhooks {
    #[serde(default, deserialize_with = "opt_int64")]
    max_results: Option<i64>,
    page_token: Option<String>,
}
impl RequestMessage for ListWebhooks {}

async fn list(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<ListWebhooks>,
) -> ApiResult<Json<Value>> {
    let limit = match req.max_results.unwrap_or(0) {
        0 => 100,
        n @ 1..=1000 => n as u64,
        _ => {
            return Err(ApiError::invalid("max_results must be between 1 and 1000."));
        }
    };
    let offset = match page_token_arg(req.page_token)? {
        None => 0,
        Some(token) => match token.start {
            PageStart::Offset(n) => n,
            PageStart::After(_) => {
                return Err(ApiError::invalid(
                    "Invalid page token: it was not issued by a webhook listing.",
                ));
            }
        },
    };
    let (hooks, more) = app.metadata.list_webhooks(limit, offset).await?;
    let mut body = json!({ "webhooks": hooks.iter().map(webhook_json).collect::<Vec<_>>() });
    if hooks.is_empty() {
        body = json!({});
    }
    if more {
        body["next_page_token"] =
            json!(arca_core::search::PageToken::offset(offset + limit).encode());
    }
    Ok(Json(body))
}

async fn get_one(State(app): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let webhook = app.metadata.get_webhook(&id).await?;
    Ok(Json(json!({ "webhook": webhook_json(&webhook) })))
}

#[derive(Deserialize)]
pub struct UpdateWebhook {
    name: Option<String>,
    description: Option<String>,
    url: Option<String>,
    events: Option<Vec<Value>>,
    secret: Option<String>,
    status: Option<Value>,
}
impl RequestMessage for UpdateWebhook {}

async fn update(
    State(app): State<AppState>,
    Path(id): Path<String>,
    Mlflow(req): Mlflow<UpdateWebhook>,
) -> ApiResult<Json<Value>> {
    // As MLflow: an unknown id is reported before anything in the body.
    app.metadata.get_webhook(&id).await?;
    let name = req.name.filter(|n| !n.is_empty());
    if let Some(name) = &name {
        check_name(name)?;
    }
    let url = match req.url.filter(|u| !u.is_empty()) {
        Some(url) => Some(url_arg(&app, &url).await?),
        None => None,
    };
    // An empty list leaves the events as they are (proto3 cannot tell it from none).
    let events = match req.events.filter(|e| !e.is_empty()) {
        Some(events) => Some(events_arg(&events)?),
        None => None,
    };
    let webhook = app
        .metadata
        .update_webhook(
            &id,
            WebhookUpdate {
                name,
                description: req.description,
                url,
                events,
                secret: req.secret,
                status: status_arg(req.status),
            },
        )
        .await?;
    Ok(Json(json!({ "webhook": webhook_json(&webhook) })))
}

async fn delete(State(app): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    app.metadata.delete_webhook(&id).await?;
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
pub struct TestWebhook {
    event: Option<Value>,
}
impl RequestMessage for TestWebhook {}

/// Sends an example payload once, now, and says how the receiver answered. The guard applies
/// as it does to deliveries; a refusal is a failed test (as in MLflow), not an error.
async fn test(
    State(app): State<AppState>,
    Path(id): Path<String>,
    Mlflow(req): Mlflow<TestWebhook>,
) -> ApiResult<Json<Value>> {
    let webhook = app.metadata.get_webhook(&id).await?;
    let event = match req.event {
        Some(e) => webhooks::parse_event(&e).map_err(ApiError::invalid)?,
        None => webhook.events.first().cloned().unwrap_or_default(),
    };
    let body = webhooks::envelope(
        &event,
        arca_core::now_millis(),
        webhooks::example_payload(&event),
    );
    let delivery_id = uuid::Uuid::new_v4().to_string();
    let sent = deliver::send(
        &app.webhook_client,
        &app.webhooks.guard,
        &webhook.url,
        webhook.secret.as_deref(),
        &delivery_id,
        &body,
    )
    .await;
    let delivered = sent.delivered();
    let mut result = json!({ "success": delivered });
    if let Some(status) = sent.status {
        result["response_status"] = json!(status);
    }
    if let Some(text) = sent.body.filter(|b| !b.is_empty()) {
        result["response_body"] = json!(text);
    }
    if sent.status.is_none() {
        if let Some(error) = sent.error {
            result["error_message"] = json!(format!("Failed to test webhook: {error}"));
        }
    } else if let Some(error) = sent.error.filter(|_| !delivered) {
        result["error_message"] = json!(error);
    }
    Ok(Json(json!({ "result": result })))
}

#[derive(Deserialize)]
pub struct DeliveriesQuery {
    max_results: Option<String>,
    page_token: Option<String>,
}

/// A webhook's deliveries, newest first; `next_page_token` is the id of the last one shown.
async fn deliveries(
    State(app): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<DeliveriesQuery>,
) -> ApiResult<Json<Value>> {
    let limit = match q.max_results.as_deref().map(str::parse::<u32>) {
        None => 100,
        Some(Ok(n @ 1..=1000)) => n,
        Some(_) => {
            return Err(ApiError::invalid(
                "max_results must be an integer between 1 and 1000.",
            ));
        }
    };
    let before = match q.page_token.as_deref().filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => Some(t.parse::<i64>().map_err(|_| {
            ApiError::invalid(format!(
                "Invalid page token '{t}': pass the next_page_token of a previous page unchanged."
            ))
        })?),
    };
    let page = app
        .metadata
        .list_webhook_deliveries(&id, limit + 1, before)
        .await?;
    let more = page.len() > limit as usize;
    let shown = &page[..page.len().min(limit as usize)];
    let mut body = json!({ "deliveries": shown.iter().map(delivery_json).collect::<Vec<_>>() });
    if more && let Some(last) = shown.last() {
        body["next_page_token"] = json!(last.id.to_string());
    }
    Ok(Json(body))
}

async fn redeliver(
    State(app): State<AppState>,
    Path((id, delivery_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let delivery = app
        .metadata
        .redeliver_webhook_delivery(&id, &delivery_id)
        .await?;
    Ok(Json(json!({ "delivery": delivery_json(&delivery) })))
}

#[derive(Deserialize)]
pub struct FeedQuery {
    after: Option<String>,
    max_results: Option<String>,
}

/// The event log as a pull feed, for consumers that cannot take inbound HTTP: events after a
/// cursor, oldest first, each with the webhook event it is delivered as (`webhook_event`,
/// `data`) when there is one. Pass `next_cursor` back as `after`; an empty page keeps the cursor.
async fn events_feed(
    State(app): State<AppState>,
    Query(q): Query<FeedQuery>,
) -> ApiResult<Json<Value>> {
    let after = match q.after.as_deref().filter(|a| !a.is_empty()) {
        None => 0,
        Some(a) => a.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            ApiError::invalid(format!(
                "Invalid cursor '{a}' for parameter 'after': pass 0, or the next_cursor of a \
                 previous page."
            ))
        })?,
    };
    let limit = match q.max_results.as_deref().map(str::parse::<u32>) {
        None => 100,
        Some(Ok(n @ 1..=1000)) => n,
        Some(_) => {
            return Err(ApiError::invalid(
                "max_results must be an integer between 1 and 1000.",
            ));
        }
    };
    let events = app.metadata.events_after(after, limit).await?;
    let next = events.last().map_or(after, |e| e.id);
    let rendered: Vec<Value> = events
        .iter()
        .map(|e| {
            let mut v = json!(e);
            if let Some((name, data)) = webhooks::payload(e) {
                v["webhook_event"] = json!(name);
                v["data"] = data;
            }
            v
        })
        .collect();
    Ok(Json(
        json!({ "events": rendered, "next_cursor": next.to_string() }),
    ))
}
