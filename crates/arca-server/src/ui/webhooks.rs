//! The webhooks pages: `/webhooks` (every webhook with how its deliveries stand) and
//! `/webhooks/{id}` (one webhook's delivery log, newest first, with redelivery). Webhooks are
//! created with the API or `arca webhooks create`; the pages show whether they work.

use super::models::{Pager, parse_page};
use super::page::{Ctx, OnPage, UiResult, encode, render, see_other};
use super::security::CsrfForm;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use serde::Deserialize;

const PAGE_SIZE: u64 = 25;
const DELIVERIES_PAGE: u32 = 50;

struct WebhookRow {
    name: String,
    url: String,
    target: String,
    events: Vec<String>,
    active: bool,
    pending: i64,
    delivered: i64,
    dead: i64,
    created: String,
}

#[derive(Template)]
#[template(path = "webhooks.html")]
struct WebhooksPage {
    ctx: Ctx,
    webhooks: Vec<WebhookRow>,
    pager: Pager,
}

#[derive(Deserialize, Default)]
pub(crate) struct ListParams {
    page: Option<String>,
}

pub(crate) async fn list(
    ctx: Ctx,
    State(app): State<AppState>,
    Query(params): Query<ListParams>,
) -> UiResult {
    let ctx = ctx.with_section("webhooks");
    let page = parse_page(&ctx, params.page.as_deref())?;
    let (hooks, more) = app
        .metadata
        .list_webhooks(PAGE_SIZE, (page - 1) * PAGE_SIZE)
        .await
        .on_page(&ctx)?;
    let mut webhooks = Vec::with_capacity(hooks.len());
    for h in hooks {
        let (pending, delivered, dead) = app
            .metadata
            .webhook_delivery_counts(&h.id)
            .await
            .on_page(&ctx)?;
        webhooks.push(WebhookRow {
            url: ctx.url(&format!("/webhooks/{}", encode(&h.id))),
            name: h.name,
            target: h.url,
            events: h.events,
            active: h.status == "ACTIVE",
            pending,
            delivered,
            dead,
            created: ctx.time(&h.created_at),
        });
    }
    let base = ctx.url("/webhooks");
    Ok(render(&WebhooksPage {
        pager: Pager::new(&base, page, more),
        ctx,
        webhooks,
    }))
}

struct DeliveryRow {
    delivery_id: String,
    event: String,
    model: String,
    model_url: String,
    state: String,
    attempts: i64,
    last: String,
    created: String,
    finished: String,
    next_attempt: String,
}

#[derive(Template)]
#[template(path = "webhook.html")]
struct WebhookPage {
    ctx: Ctx,
    id: String,
    name: String,
    description: String,
    target: String,
    events: Vec<String>,
    active: bool,
    self_url: String,
    deliveries: Vec<DeliveryRow>,
    older: Option<String>,
    newest: Option<String>,
}

#[derive(Deserialize, Default)]
pub(crate) struct ShowParams {
    before: Option<String>,
}

pub(crate) async fn show(
    ctx: Ctx,
    State(app): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<ShowParams>,
) -> UiResult {
    let ctx = ctx.with_section("webhooks");
    let hook = app.metadata.get_webhook(&id).await.on_page(&ctx)?;
    let before = params.before.as_deref().and_then(|b| b.parse::<i64>().ok());
    let mut page = app
        .metadata
        .list_webhook_deliveries(&id, DELIVERIES_PAGE + 1, before)
        .await
        .on_page(&ctx)?;
    let more = page.len() > DELIVERIES_PAGE as usize;
    page.truncate(DELIVERIES_PAGE as usize);
    let self_url = ctx.url(&format!("/webhooks/{}", encode(&id)));
    let older = more
        .then(|| page.last().map(|d| format!("{self_url}?before={}", d.id)))
        .flatten();
    let deliveries = page
        .iter()
        .map(|d| DeliveryRow {
            delivery_id: d.delivery_id.clone(),
            event: d.event.clone(),
            model_url: ctx.model_url(&d.model_name),
            model: d.model_name.clone(),
            state: d.state.clone(),
            attempts: d.attempts,
            last: match (&d.last_error, d.last_status) {
                (Some(e), _) if !e.is_empty() => e.clone(),
                (_, Some(s)) => format!("HTTP {s}"),
                _ => String::new(),
            },
            created: ctx.time(&d.created_at),
            finished: d.finished_at.map(|t| ctx.time(&t)).unwrap_or_default(),
            next_attempt: if d.state == "pending" {
                ctx.time(&d.next_attempt_at)
            } else {
                String::new()
            },
        })
        .collect();
    Ok(render(&WebhookPage {
        newest: before.map(|_| self_url.clone()),
        ctx,
        id: hook.id,
        name: hook.name,
        description: hook.description.unwrap_or_default(),
        target: hook.url,
        events: hook.events,
        active: hook.status == "ACTIVE",
        self_url,
        deliveries,
        older,
    }))
}

#[derive(Deserialize)]
pub(crate) struct RedeliverForm {
    #[serde(default)]
    delivery_id: String,
}

pub(crate) async fn redeliver(
    ctx: Ctx,
    State(app): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<RedeliverForm>,
) -> UiResult {
    app.metadata
        .redeliver_webhook_delivery(&id, &form.delivery_id)
        .await
        .on_page(&ctx)?;
    Ok(see_other(
        &ctx.url(&format!("/webhooks/{}#deliveries", encode(&id))),
    ))
}
