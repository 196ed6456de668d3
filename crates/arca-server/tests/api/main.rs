//! The server driven over HTTP, as the `mlflow` client drives it.

mod artifacts;
mod concurrency;
mod errors;
mod helpers;
mod models;
mod multipart;
mod prompts;
mod search;
mod tracking;
mod ui_model;
mod versions;
