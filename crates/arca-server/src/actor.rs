//! The actor of each request's changes, for the event log: the authenticated user's name when
//! there is one ([`crate::auth::Identity`]), else `"<User-Agent> @ <client address>"`, which is
//! what an anonymous registry can honestly say about who made a change. The store reads it from
//! a task-local ([`arca_store::with_actor`]), so no handler passes it along.
//!
//! The layer sits inside whatever sets the identity, so it sees it.

use crate::auth::Identity;
use axum::extract::{ConnectInfo, Request};
use axum::middleware::Next;
use axum::response::Response;
use std::net::SocketAddr;

/// The longest User-Agent kept, so that a client cannot bloat every event it causes.
const MAX_USER_AGENT: usize = 200;

pub fn actor_of(req: &Request) -> String {
    if let Some(identity) = req.extensions().get::<Identity>() {
        return identity.name.clone();
    }
    let agent = req
        .headers()
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .unwrap_or("unknown client");
    let agent: String = agent.chars().take(MAX_USER_AGENT).collect();
    match req.extensions().get::<ConnectInfo<SocketAddr>>() {
        Some(ConnectInfo(addr)) => format!("{agent} @ {}", addr.ip()),
        None => format!("{agent} @ unknown address"),
    }
}

pub async fn attribute_changes(req: Request, next: Next) -> Response {
    let actor = actor_of(&req);
    arca_store::with_actor(actor, next.run(req)).await
}
