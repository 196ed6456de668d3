//! The registry's nouns, parsed at the edge: a handler turns raw strings into these types once,
//! and everything behind it (the store, the renderers) trusts them.

use crate::{Error, Result};
use std::fmt;

/// MLflow stores names in VARCHAR(256) columns; longer names are refused rather than truncated.
const MAX_NAME_LEN: usize = 256;
const MAX_TAG_KEY_LEN: usize = 250;
const MAX_TAG_VALUE_LEN: usize = 100_000;
/// MLflow accepts `description` up to 5000 characters in the registry.
const MAX_DESCRIPTION_LEN: usize = 5000;

/// The name of a registered model: non-empty, at most 256 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ModelName(String);

impl ModelName {
    pub fn parse(raw: &str) -> Result<Self> {
        if raw.is_empty() {
            return Err(Error::invalid("Registered model name cannot be empty."));
        }
        if raw.chars().count() > MAX_NAME_LEN {
            return Err(Error::invalid(format!(
                "Registered model name is {} characters long; at most {MAX_NAME_LEN} are allowed.",
                raw.chars().count()
            )));
        }
        if raw.chars().any(char::is_control) {
            return Err(Error::invalid(
                "Registered model name must not contain control characters.",
            ));
        }
        // '/' and ':' would make `models:/<name>/<version>` URIs ambiguous; MLflow refuses them too.
        if raw.contains(['/', ':']) {
            return Err(Error::invalid(format!(
                "Invalid model name '{raw}': names cannot contain '/' or ':'."
            )));
        }
        Ok(ModelName(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ModelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A model version number: a positive integer, sent by clients as a string (`"3"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VersionNumber(i64);

impl VersionNumber {
    pub fn parse(raw: &str) -> Result<Self> {
        match raw.trim().parse::<i64>() {
            Ok(n) if n >= 1 => Ok(VersionNumber(n)),
            _ => Err(Error::invalid(format!(
                "Model version must be a positive integer, got '{raw}'."
            ))),
        }
    }

    pub fn from_stored(n: i64) -> Self {
        VersionNumber(n)
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for VersionNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The lifecycle stage of a model version. Input is case-insensitive; output is canonical.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    None,
    Staging,
    Production,
    Archived,
}

impl Stage {
    pub const ALL: [Stage; 4] = [
        Stage::None,
        Stage::Staging,
        Stage::Production,
        Stage::Archived,
    ];

    pub fn parse(raw: &str) -> Result<Self> {
        Stage::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(raw.trim()))
            .ok_or_else(|| {
                Error::invalid(format!(
                    "Invalid Model Version stage: {raw}. Value must be one of None, Staging, Production, Archived."
                ))
            })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::None => "None",
            Stage::Staging => "Staging",
            Stage::Production => "Production",
            Stage::Archived => "Archived",
        }
    }

    /// Only versions moved into an active stage may archive the versions already there.
    pub fn is_active(self) -> bool {
        matches!(self, Stage::Staging | Stage::Production)
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An alias such as `champion`. `latest` is reserved because it always means the newest version
/// (get-by-alias answers it, as `prompts:/name@latest` needs), and `v<digits>` would be ambiguous
/// with version references.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AliasName(String);

impl AliasName {
    pub fn parse(raw: &str) -> Result<Self> {
        if raw.is_empty() {
            return Err(Error::invalid("Alias name cannot be empty."));
        }
        if raw.chars().count() > MAX_NAME_LEN {
            return Err(Error::invalid(format!(
                "Alias '{raw}' is too long; at most {MAX_NAME_LEN} characters are allowed."
            )));
        }
        if raw.eq_ignore_ascii_case("latest") {
            return Err(Error::invalid(
                "'latest' alias name (case insensitive) is reserved.",
            ));
        }
        let lower = raw.to_ascii_lowercase();
        if let Some(digits) = lower.strip_prefix('v')
            && !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(Error::invalid(format!(
                "Version alias name '{raw}' is reserved: aliases of the form 'v<number>' would be \
                 confused with version references."
            )));
        }
        if !raw
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
        {
            return Err(Error::invalid(format!(
                "Invalid alias name: '{raw}'. Alias names may contain only letters, digits, '_' and '-'."
            )));
        }
        Ok(AliasName(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A key/value tag on a registered model or a model version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

impl Tag {
    pub fn parse(key: &str, value: &str) -> Result<Self> {
        Ok(Tag {
            key: parse_tag_key(key)?,
            value: parse_tag_value(key, value)?,
        })
    }
}

pub fn parse_tag_key(key: &str) -> Result<String> {
    if key.is_empty() {
        return Err(Error::invalid("Tag key cannot be empty."));
    }
    if key.chars().count() > MAX_TAG_KEY_LEN {
        return Err(Error::invalid(format!(
            "Tag key '{}...' is too long; at most {MAX_TAG_KEY_LEN} characters are allowed.",
            key.chars().take(40).collect::<String>()
        )));
    }
    if key.chars().any(char::is_control) {
        return Err(Error::invalid(
            "Tag key must not contain control characters.",
        ));
    }
    Ok(key.to_owned())
}

fn parse_tag_value(key: &str, value: &str) -> Result<String> {
    if value.chars().count() > MAX_TAG_VALUE_LEN {
        return Err(Error::invalid(format!(
            "Value of tag '{key}' is too long; at most {MAX_TAG_VALUE_LEN} characters are allowed."
        )));
    }
    Ok(value.to_owned())
}

pub fn parse_description(raw: &str) -> Result<String> {
    if raw.chars().count() > MAX_DESCRIPTION_LEN {
        return Err(Error::invalid(format!(
            "Description is {} characters long; at most {MAX_DESCRIPTION_LEN} are allowed.",
            raw.chars().count()
        )));
    }
    Ok(raw.to_owned())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alias {
    pub alias: String,
    pub version: VersionNumber,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RegisteredModel {
    pub name: String,
    pub description: Option<String>,
    pub creation_timestamp: i64,
    pub last_updated_timestamp: i64,
    pub tags: Vec<Tag>,
    pub aliases: Vec<Alias>,
    /// The newest version in each stage that has one.
    pub latest_versions: Vec<ModelVersion>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ModelVersion {
    pub name: String,
    pub version: VersionNumber,
    pub creation_timestamp: i64,
    pub last_updated_timestamp: i64,
    pub user_id: Option<String>,
    pub current_stage: Stage,
    pub description: String,
    pub source: String,
    /// `""` when the version was registered without a run, as MLflow stores it.
    pub run_id: String,
    pub run_link: String,
    pub model_id: Option<String>,
    pub tags: Vec<Tag>,
    pub aliases: Vec<String>,
}

/// What a caller supplies to create a model version.
#[derive(Debug, Clone, Default)]
pub struct NewModelVersion {
    pub source: String,
    pub run_id: String,
    pub run_link: Option<String>,
    pub description: Option<String>,
    pub model_id: Option<String>,
    pub user_id: Option<String>,
    pub tags: Vec<Tag>,
}

/// One page of a search, with the token for the next page when there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_page_token: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_parse_case_insensitively_and_render_canonically() {
        assert_eq!(Stage::parse("production").unwrap(), Stage::Production);
        assert_eq!(Stage::parse("STAGING").unwrap().as_str(), "Staging");
        assert_eq!(Stage::parse("none").unwrap(), Stage::None);
        let err = Stage::parse("Bogus").unwrap_err().to_string();
        assert_eq!(
            err,
            "Invalid Model Version stage: Bogus. Value must be one of None, Staging, Production, Archived."
        );
    }

    #[test]
    fn reserved_aliases_are_refused() {
        for bad in ["latest", "LATEST", "v1", "V42", "", "a b", "x/y"] {
            assert!(AliasName::parse(bad).is_err(), "{bad:?} should be refused");
        }
        for good in ["champion", "v", "v1a", "prod-2", "blue_green"] {
            assert!(
                AliasName::parse(good).is_ok(),
                "{good:?} should be accepted"
            );
        }
    }

    #[test]
    fn version_numbers_are_positive_integers() {
        assert_eq!(VersionNumber::parse("3").unwrap().get(), 3);
        for bad in ["0", "-1", "abc", "1.5", ""] {
            assert!(VersionNumber::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn model_names_must_be_non_empty_and_bounded() {
        assert!(ModelName::parse("").is_err());
        assert!(ModelName::parse(&"x".repeat(257)).is_err());
        assert!(ModelName::parse("churn model v2 é").is_ok());
        assert!(ModelName::parse("a/b").is_err());
        assert!(ModelName::parse("a:b").is_err());
        assert!(ModelName::parse("a\nb").is_err());
    }
}
