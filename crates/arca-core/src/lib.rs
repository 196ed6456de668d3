//! arca-core: the registry's domain types, the MLflow search grammar and the error type.
//! No I/O lives here, so it compiles in seconds and every other crate can depend on it.

pub mod artifact_path;
pub mod error;
pub mod model;
pub mod prompt;
pub mod registry;
pub mod search;
pub mod tracking;

pub use error::{Error, ErrorCode, Result};
