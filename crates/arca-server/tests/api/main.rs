//! The server driven over HTTP, as the `mlflow` client drives it.

mod artifacts;
mod auth;
mod auth_sources;
mod concurrency;
mod errors;
mod helpers;
mod history;
mod metrics;
mod models;
mod multipart;
mod prompts;
mod search;
mod tracking;
mod ui_compare;
mod ui_history;
mod ui_model;
mod ui_models;
mod ui_runs;
mod ui_upload;
mod ui_version;
mod ui_webhooks;
mod versions;
pub mod webhooks;
