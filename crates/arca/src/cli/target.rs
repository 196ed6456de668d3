//! From `--tracking-uri` to an open registry of the right flavor.
//!
//! `http://` and `https://` select the HTTP flavor; `sqlite:`, `postgresql://` (and
//! `postgres://`), `file:` and plain paths select the local flavor. Other schemes MLflow knows
//! (`databricks`, `databricks-uc`, ...) are refused with a message rather than misread as paths.

use super::{CliResult, Failure, RegistryArgs};
use crate::local::{LocalRegistry, LocalTarget};
use arca_client::HttpRegistry;
use arca_core::registry::ModelRegistry;
use arca_store::StoreUri;
use std::path::Path;

pub const DEFAULT_TRACKING_URI: &str = "http://127.0.0.1:5000";

/// The flag, else `ARCA_TRACKING_URI`, else `MLFLOW_TRACKING_URI`, else the default.
pub fn tracking_uri(flag: Option<&str>) -> String {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    flag.map(str::to_owned)
        .or_else(|| env("ARCA_TRACKING_URI"))
        .or_else(|| env("MLFLOW_TRACKING_URI"))
        .unwrap_or_else(|| DEFAULT_TRACKING_URI.to_owned())
}

/// The name runs are created under, as the `mlflow` client picks it.
pub fn user_name() -> String {
    ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "arca".to_owned())
}

/// An open registry of either flavor.
pub enum Registry {
    Http(HttpRegistry),
    Local(LocalRegistry),
}

impl Registry {
    pub fn get(&self) -> &dyn ModelRegistry {
        match self {
            Registry::Http(r) => r,
            Registry::Local(r) => r,
        }
    }

    /// Lets a local store finish cleanly (SQLite checkpoints its log on the last close).
    pub async fn close(self) {
        if let Registry::Local(r) = self {
            r.close().await;
        }
    }
}

/// Opens the registry `args` name. `create` lets a write command start a new local store.
pub async fn open(args: &RegistryArgs, create: bool) -> CliResult<Registry> {
    let uri = tracking_uri(args.tracking_uri.as_deref());
    open_uri(&uri, args.artifacts(), create).await
}

pub async fn open_uri(uri: &str, artifacts: Option<String>, create: bool) -> CliResult<Registry> {
    let uri = uri.trim();
    let lower = uri.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        let registry = HttpRegistry::from_env(uri)?;
        return Ok(Registry::Http(registry));
    }
    let target = if lower.starts_with("sqlite:")
        || lower.starts_with("postgresql")
        || lower.starts_with("postgres://")
    {
        let store = StoreUri::parse(uri)
            .map_err(|e| Failure::invalid(format!("--tracking-uri {}: {e}", redact(uri))))?;
        LocalTarget::database(store, artifacts, redact(uri))
    } else if let Some(path) = uri
        .strip_prefix("file://")
        .or_else(|| uri.strip_prefix("file:"))
    {
        let dir = std::path::absolute(Path::new(path)).map_err(|e| {
            Failure::invalid(format!("--tracking-uri {uri}: not a usable path: {e}"))
        })?;
        LocalTarget::data_dir(&dir, artifacts, uri.to_owned())
    } else if let Some((scheme, _)) = uri.split_once(':')
        && scheme.len() > 1
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        return Err(Failure::invalid(format!(
            "Unsupported tracking URI '{uri}': use http(s)://host:port for a server, or an Arca \
             data directory, sqlite:///path.db or postgresql://user@host/db."
        )));
    } else if uri.is_empty() {
        return Err(Failure::invalid("The tracking URI is empty."));
    } else {
        let dir = std::path::absolute(Path::new(uri)).map_err(|e| {
            Failure::invalid(format!("--tracking-uri {uri}: not a usable path: {e}"))
        })?;
        LocalTarget::data_dir(&dir, artifacts, uri.to_owned())
    };
    Ok(Registry::Local(LocalRegistry::open(&target, create).await?))
}

/// A URI with any password hidden, for messages.
fn redact(uri: &str) -> String {
    match StoreUri::parse(uri) {
        Ok(store) if matches!(store, StoreUri::Postgres { .. }) => store.redacted(),
        _ => uri.to_owned(),
    }
}
