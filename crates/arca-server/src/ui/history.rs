//! A model's timeline (`/models/{name}/history`): its events newest first, filtered by version,
//! alias or action in the query string, a page at a time (keyset tokens from the store); and,
//! with `as_of`, the model as it was then (versions, stages, aliases), read from the same events.

use super::page::{Ctx, UiError, UiResult, encode, render};
use crate::AppState;
use arca_core::search::PageToken;
use arca_store::{Event, HistoryFilter};
use askama::Template;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::Value;

const PAGE_SIZE: u64 = 50;

#[derive(Deserialize, Default)]
pub(crate) struct HistoryParams {
    #[serde(default)]
    version: String,
    #[serde(default)]
    alias: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    as_of: String,
    page_token: Option<String>,
}

pub(crate) struct EventRow {
    pub time: String,
    pub action: String,
    pub version: Option<(i64, String)>,
    pub change: String,
    pub actor: String,
}

struct SnapshotRow {
    version: i64,
    url: String,
    stage: String,
    aliases: Vec<String>,
}

#[derive(Template)]
#[template(path = "history.html")]
struct HistoryPage {
    ctx: Ctx,
    name: String,
    model_url: String,
    version: String,
    alias: String,
    action: String,
    actions: &'static [&'static str],
    as_of: String,
    as_of_time: Option<String>,
    existed: bool,
    snapshot: Vec<SnapshotRow>,
    events: Vec<EventRow>,
    older: Option<String>,
    newest: Option<String>,
}

/// What an event changed, in words.
pub(crate) fn change_text(e: &Event) -> String {
    let (before, after) = (e.before.as_ref(), e.after.as_ref());
    let field = |s: Option<&Value>, key: &str| {
        s.and_then(|s| s.get(key))
            .map(|v| match v {
                Value::String(s) => s.clone(),
                Value::Null => "—".to_owned(),
                other => other.to_string(),
            })
            .unwrap_or_else(|| "—".to_owned())
    };
    match e.action.as_str() {
        "transition_stage" => format!("{} → {}", field(before, "stage"), field(after, "stage")),
        "set_alias" => match before {
            Some(_) => format!(
                "@{} from version {} to {}",
                e.detail,
                field(before, "version"),
                field(after, "version")
            ),
            None => format!("@{} to version {}", e.detail, field(after, "version")),
        },
        "delete_alias" => format!("@{} (was version {})", e.detail, field(before, "version")),
        "rename_model" => format!("{} → {}", field(before, "name"), field(after, "name")),
        "update_model" | "update_version" => {
            format!("description: {}", field(after, "description"))
        }
        "set_model_tag" | "set_version_tag" => {
            let value = after
                .and_then(|a| a.get("tags")?.get(&e.detail)?.as_str())
                .unwrap_or("");
            format!("{} = {value}", e.detail)
        }
        "delete_model_tag" | "delete_version_tag" => format!("{} removed", e.detail),
        "create_version" => format!("from {}", e.detail),
        _ => e.detail.clone(),
    }
}

pub(crate) fn event_row(ctx: &Ctx, e: &Event) -> EventRow {
    EventRow {
        time: ctx.time(&e.at),
        action: e.action.replace('_', " "),
        version: e.version.map(|v| (v, ctx.version_url(&e.model_name, &v))),
        change: change_text(e),
        actor: e.actor.clone(),
    }
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

pub(crate) async fn show(
    ctx: Ctx,
    State(app): State<AppState>,
    Path(name): Path<String>,
    Query(params): Query<HistoryParams>,
) -> UiResult {
    let ctx = ctx.with_section("models");
    // The model must exist now: its history page hangs off its page.
    app.metadata
        .get_registered_model(&name)
        .await
        .map_err(|e| UiError::new(&ctx, e))?;
    let version = match non_empty(&params.version) {
        Some(v) => Some(
            arca_core::model::VersionNumber::parse(&v)
                .map_err(|e| UiError::new(&ctx, e))?
                .get(),
        ),
        None => None,
    };
    let action = non_empty(&params.action);
    if let Some(a) = &action
        && !crate::api::history::ACTIONS.contains(&a.as_str())
    {
        return Err(UiError::invalid(&ctx, format!("There is no action '{a}'.")));
    }
    let filter = HistoryFilter {
        name: Some(name.clone()),
        version,
        alias: non_empty(&params.alias),
        action,
        ..HistoryFilter::default()
    };
    let token = match params.page_token.as_deref().filter(|t| !t.is_empty()) {
        Some(raw) => Some(PageToken::decode(raw).map_err(|e| UiError::new(&ctx, e))?),
        None => None,
    };
    let page = app
        .metadata
        .search_events(&filter, PAGE_SIZE, token.as_ref())
        .await
        .map_err(|e| UiError::new(&ctx, e))?;
    let model_url = ctx.model_url(&name);
    let query = |token: Option<&str>| {
        let mut q = format!(
            "{model_url}/history?version={}&alias={}&action={}&as_of={}",
            encode(&params.version),
            encode(&params.alias),
            encode(&params.action),
            encode(&params.as_of)
        );
        if let Some(t) = token {
            q.push_str(&format!("&page_token={}", encode(t)));
        }
        q
    };
    let older = page.next_page_token.as_deref().map(|t| query(Some(t)));
    let newest = token.is_some().then(|| query(None));

    let mut snapshot = Vec::new();
    let mut existed = false;
    let mut as_of_time = None;
    if let Some(raw) = non_empty(&params.as_of) {
        let at = arca_core::time::parse_instant(&raw)
            .map_err(|e| UiError::invalid(&ctx, format!("“As of”: {e}")))?;
        as_of_time = Some(ctx.time(&at));
        let s = app
            .metadata
            .snapshot_as_of(&name, at)
            .await
            .map_err(|e| UiError::new(&ctx, e))?;
        existed = s.exists;
        snapshot = s
            .versions
            .iter()
            .rev()
            .map(|(v, stage)| SnapshotRow {
                version: *v,
                url: ctx.version_url(&name, v),
                stage: stage.clone(),
                aliases: s
                    .aliases
                    .iter()
                    .filter(|(_, target)| *target == v)
                    .map(|(a, _)| a.clone())
                    .collect(),
            })
            .collect();
    }
    let events = page.items.iter().map(|e| event_row(&ctx, e)).collect();
    Ok(render(&HistoryPage {
        events,
        name,
        model_url,
        version: params.version,
        alias: params.alias,
        action: params.action,
        actions: &crate::api::history::ACTIONS,
        as_of: params.as_of,
        as_of_time,
        existed,
        snapshot,
        older,
        newest,
        ctx,
    }))
}
