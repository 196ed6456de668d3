//! arca-core: the registry's domain types, the MLflow search grammar and the error type.
//! No I/O lives here, so it compiles in seconds and every other crate can depend on it.

pub mod artifact_path;
pub mod auth;
pub mod error;
pub mod model;
pub mod prompt;
pub mod registry;
pub mod search;
pub mod time;
pub mod tracking;

pub use error::{Error, ErrorCode, Result};

/// Now, in milliseconds since the Unix epoch: every timestamp MLflow's API carries.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
