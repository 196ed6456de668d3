//! `models:/` URIs, the way the `mlflow` client spells a registered version, and the artifact
//! store paths behind the `mlflow-artifacts` locations a registry hands out.

use crate::model::{Stage, VersionNumber};
use crate::{Error, Result};
use std::fmt;

/// How a URI picks one version of a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionRef {
    Number(VersionNumber),
    Stage(Stage),
    Alias(String),
    /// The highest version number.
    Latest,
}

impl VersionRef {
    /// `3`, `latest`, a stage name (any case) or `@alias`.
    pub fn parse(raw: &str) -> Result<VersionRef> {
        if let Some(alias) = raw.strip_prefix('@') {
            if alias.is_empty() {
                return Err(Error::invalid("An alias reference needs a name after '@'."));
            }
            return Ok(VersionRef::Alias(alias.to_owned()));
        }
        if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(VersionRef::Number(VersionNumber::parse(raw)?));
        }
        if raw.eq_ignore_ascii_case("latest") {
            return Ok(VersionRef::Latest);
        }
        Stage::parse(raw).map(VersionRef::Stage).map_err(|_| {
            Error::invalid(format!(
                "'{raw}' is not a version: use a version number, 'latest', a stage (None, Staging, \
                 Production, Archived) or @alias."
            ))
        })
    }
}

/// `models:/<name>/<version>`, `models:/<name>/<stage>`, `models:/<name>/latest` or
/// `models:/<name>@<alias>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelUri {
    name: String,
    reference: VersionRef,
}

const FORMS: &str = "models:/<name>/<version>, models:/<name>/<stage>, models:/<name>/latest or models:/<name>@<alias>";

impl ModelUri {
    pub fn new(name: impl Into<String>, reference: VersionRef) -> ModelUri {
        ModelUri {
            name: name.into(),
            reference,
        }
    }

    /// Parses a `models:/` URI; the `models:/` prefix may be left out (`churn@champion`).
    pub fn parse(raw: &str) -> Result<ModelUri> {
        let rest = raw.strip_prefix("models:/").unwrap_or(raw);
        if rest.starts_with('/') {
            return Err(Error::invalid(format!(
                "Unsupported model URI '{raw}': registry profiles (models://...) are not \
                 supported; use {FORMS}."
            )));
        }
        if let Some((name, reference)) = rest.split_once('/') {
            if name.is_empty() || reference.is_empty() || reference.contains('/') {
                return Err(Error::invalid(format!(
                    "Invalid model URI '{raw}': use {FORMS}."
                )));
            }
            if reference.starts_with('@') {
                return Err(Error::invalid(format!(
                    "Invalid model URI '{raw}': write an alias as models:/<name>@<alias>."
                )));
            }
            let reference = VersionRef::parse(reference)
                .map_err(|e| Error::invalid(format!("Invalid model URI '{raw}': {e}")))?;
            return Ok(ModelUri::new(name, reference));
        }
        if let Some((name, alias)) = rest.rsplit_once('@')
            && !name.is_empty()
            && !alias.is_empty()
        {
            return Ok(ModelUri::new(name, VersionRef::Alias(alias.to_owned())));
        }
        if rest.starts_with("m-") && rest.len() > 2 {
            return Err(Error::invalid(format!(
                "'{raw}' names an MLflow logged model, not a registered version: use {FORMS}."
            )));
        }
        Err(Error::invalid(format!(
            "Invalid model URI '{raw}': say which version, as in {FORMS}."
        )))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn reference(&self) -> &VersionRef {
        &self.reference
    }
}

impl fmt::Display for ModelUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.reference {
            VersionRef::Number(v) => write!(f, "models:/{}/{v}", self.name),
            VersionRef::Stage(s) => write!(f, "models:/{}/{s}", self.name),
            VersionRef::Alias(a) => write!(f, "models:/{}@{a}", self.name),
            VersionRef::Latest => write!(f, "models:/{}/latest", self.name),
        }
    }
}

/// The artifact-store path behind a location the registry serves files from:
/// `mlflow-artifacts:/<path>`, `mlflow-artifacts://host:port/<path>`, or
/// `http(s)://host/.../api/2.0/mlflow-artifacts/artifacts/<path>`. `None` for any other
/// location (`s3://...`, `file://...`), whose files the registry does not serve.
pub fn artifact_store_path(uri: &str) -> Option<String> {
    const HTTP_MARKER: &str = "/api/2.0/mlflow-artifacts/artifacts/";
    let path = if let Some(rest) = uri.strip_prefix("mlflow-artifacts:") {
        match rest.strip_prefix("//") {
            Some(authority_and_path) => authority_and_path
                .find('/')
                .map_or("", |i| &authority_and_path[i..]),
            None => rest,
        }
    } else if uri.starts_with("http://") || uri.starts_with("https://") {
        let i = uri.find(HTTP_MARKER)?;
        &uri[i + HTTP_MARKER.len()..]
    } else {
        return None;
    };
    let path = path.trim_matches('/');
    (!path.is_empty()).then(|| path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(n: &str) -> VersionRef {
        VersionRef::Number(VersionNumber::parse(n).unwrap())
    }

    #[test]
    fn every_mlflow_form_parses_and_prints_back() {
        for (raw, name, reference) in [
            ("models:/churn/3", "churn", v("3")),
            (
                "models:/churn/Production",
                "churn",
                VersionRef::Stage(Stage::Production),
            ),
            (
                "models:/churn/staging",
                "churn",
                VersionRef::Stage(Stage::Staging),
            ),
            (
                "models:/churn@champion",
                "churn",
                VersionRef::Alias("champion".into()),
            ),
            ("models:/churn/latest", "churn", VersionRef::Latest),
            (
                "churn@champion",
                "churn",
                VersionRef::Alias("champion".into()),
            ),
            ("my model/2", "my model", v("2")),
        ] {
            let uri = ModelUri::parse(raw).unwrap();
            assert_eq!((uri.name(), uri.reference()), (name, &reference), "{raw}");
        }
        assert_eq!(
            ModelUri::parse("models:/churn/production")
                .unwrap()
                .to_string(),
            "models:/churn/Production"
        );
        assert_eq!(
            ModelUri::parse("churn@x").unwrap().to_string(),
            "models:/churn@x"
        );
    }

    #[test]
    fn malformed_uris_say_which_forms_work() {
        for bad in [
            "models:/churn",
            "models:/churn/",
            "models:/churn/Bogus",
            "models:/churn/1/extra",
            "models:/churn/@x",
            "models:/m-0123abcd",
            "models://profile/churn/1",
            "",
        ] {
            let err = ModelUri::parse(bad).unwrap_err().to_string();
            assert!(
                err.contains("models:/<name>") || err.contains("version"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn version_refs_accept_numbers_stages_latest_and_aliases() {
        assert_eq!(VersionRef::parse("7").unwrap(), v("7"));
        assert_eq!(VersionRef::parse("LATEST").unwrap(), VersionRef::Latest);
        assert_eq!(
            VersionRef::parse("archived").unwrap(),
            VersionRef::Stage(Stage::Archived)
        );
        assert_eq!(
            VersionRef::parse("@blue").unwrap(),
            VersionRef::Alias("blue".into())
        );
        assert!(VersionRef::parse("champion").is_err());
        assert!(VersionRef::parse("@").is_err());
    }

    #[test]
    fn store_paths_come_from_proxied_locations_only() {
        for (uri, path) in [
            (
                "mlflow-artifacts:/0/abc/artifacts/model",
                Some("0/abc/artifacts/model"),
            ),
            (
                "mlflow-artifacts://host:5000/0/models/m-1/artifacts",
                Some("0/models/m-1/artifacts"),
            ),
            (
                "http://h:5000/api/2.0/mlflow-artifacts/artifacts/0/r/artifacts/model/",
                Some("0/r/artifacts/model"),
            ),
            ("s3://bucket/m", None),
            ("file:///tmp/m", None),
            ("mlflow-artifacts:/", None),
        ] {
            assert_eq!(artifact_store_path(uri).as_deref(), path, "{uri}");
        }
    }
}
