//! The registry's nouns, parsed at the edge: a handler turns raw strings into these types once,
//! and everything behind it (the store, the renderers) trusts them.

use crate::{Error, Result};
use std::fmt;

/// MLflow stores names in VARCHAR(256) columns; longer names are refused rather than truncated.
const MAX_NAME_LEN: usize = 256;
const MAX_TAG_KEY_LEN: usize = 250;
const MAX_ALIAS_LEN: usize = 255;
const MAX_TAG_VALUE_LEN: usize = 100_000;
/// MLflow accepts `description` up to 5000 characters in the registry.
const MAX_DESCRIPTION_LEN: usize = 5000;

/// The name of a registered model: non-empty, at most 256 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ModelName(String);

impl ModelName {
    /// A name for a new model (create, rename): MLflow's rules plus a length limit.
    pub fn parse(raw: &str) -> Result<Self> {
        check_model_name(raw)?;
        if raw.chars().count() > MAX_NAME_LEN {
            return Err(Error::invalid(format!(
                "Registered model name is {} characters long; at most {MAX_NAME_LEN} are allowed.",
                raw.chars().count()
            )));
        }
        Ok(ModelName(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The checks MLflow makes on a model name in every registry call, lookups included: not blank,
/// no '/' or ':' (they would make `models:/<name>/<version>` ambiguous), and not a name that
/// resolves to another one when used as a path.
pub fn check_model_name(raw: &str) -> Result<()> {
    if raw.trim().is_empty() {
        return Err(missing("name"));
    }
    if raw.contains(['/', ':']) {
        return Err(Error::invalid(format!(
            "Invalid model name '{raw}'. Names cannot contain '/' or ':'."
        )));
    }
    check_path_unique("name", raw)
}

fn missing(field: &str) -> Error {
    Error::invalid(format!(
        "Missing value for required parameter '{field}'. See the API docs for more information \
         about request parameters."
    ))
}

/// Names may end up as file names (MLflow's file store, exports): one that `normpath` would
/// change, or that starts with `..` or `/`, is refused, as MLflow refuses it.
fn check_path_unique(field: &str, name: &str) -> Result<()> {
    let norm = normpath(name);
    if norm != name || norm == "." || norm.starts_with("..") || norm.starts_with('/') {
        return Err(Error::invalid(format!(
            "Invalid value {} for parameter '{field}' supplied: Names may be treated as files in \
             certain cases, and must not resolve to other names when treated as such. This name \
             would resolve to '{norm}'",
            serde_json::Value::from(name)
        )));
    }
    Ok(())
}

/// POSIX path normalization as Python's `posixpath.normpath` does it: `.` and empty segments
/// go, `..` eats the segment before it, and a path that becomes empty is `.`.
fn normpath(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let slashes = if path.starts_with("//") && !path.starts_with("///") {
        "//"
    } else if path.starts_with('/') {
        "/"
    } else {
        ""
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if slashes.is_empty() && (parts.is_empty() || parts.last() == Some(&"..")) => {
                parts.push(part)
            }
            ".." => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    let joined = format!("{slashes}{}", parts.join("/"));
    if joined.is_empty() {
        ".".into()
    } else {
        joined
    }
}

impl fmt::Display for ModelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A model version number, sent by clients as a string (`"3"`); stored versions start at 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VersionNumber(i64);

impl VersionNumber {
    pub fn parse(raw: &str) -> Result<Self> {
        // Any integer is a version number to look up (0 and negatives are simply never found),
        // as in MLflow.
        match raw.trim().parse::<i64>() {
            Ok(n) => Ok(VersionNumber(n)),
            _ => Err(Error::invalid(format!(
                "Model version must be an integer, got '{raw}'."
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
    /// An alias to set: [`AliasName::parse_ref`]'s rules, and not one of the reserved names.
    pub fn parse(raw: &str) -> Result<Self> {
        let alias = AliasName::parse_ref(raw)?;
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
        Ok(alias)
    }

    /// An alias to read or delete: not empty, letters, digits, '_' and '-' only, at most 255
    /// characters (MLflow's rules; `latest` reads the newest version).
    pub fn parse_ref(raw: &str) -> Result<Self> {
        if raw.is_empty() {
            return Err(Error::invalid(
                "Registered model alias name cannot be empty.",
            ));
        }
        if !raw
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
        {
            return Err(Error::invalid(format!(
                "Invalid alias name: '{raw}'. Names may only contain alphanumerics, underscores (_), and dashes (-)."
            )));
        }
        if raw.chars().count() > MAX_ALIAS_LEN {
            return Err(Error::invalid(format!(
                "'Registered model alias name' exceeds the maximum length of {MAX_ALIAS_LEN} characters"
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

/// A tag key to set: [`check_tag_key`]'s rules and at most 250 characters.
pub fn parse_tag_key(key: &str) -> Result<String> {
    check_tag_key(key)?;
    if key.chars().count() > MAX_TAG_KEY_LEN {
        return Err(Error::invalid(format!(
            "Tag key '{}...' is too long; at most {MAX_TAG_KEY_LEN} characters are allowed.",
            key.chars().take(40).collect::<String>()
        )));
    }
    Ok(key.to_owned())
}

/// MLflow's rule for tag keys, checked on deletes too: letters, digits, `_ - . / :` and spaces,
/// and not a key that resolves to another one as a path.
pub fn check_tag_key(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(Error::invalid("Tag key cannot be empty."));
    }
    if !key
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | ' ' | ':'))
    {
        return Err(Error::invalid(format!(
            "Invalid value {} for parameter 'key' supplied: Names may only contain alphanumerics, \
             underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/).",
            serde_json::Value::from(key)
        )));
    }
    check_path_unique("key", key)
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
    fn version_numbers_are_integers() {
        assert_eq!(VersionNumber::parse("3").unwrap().get(), 3);
        assert_eq!(VersionNumber::parse(" 01 ").unwrap().get(), 1);
        // looked up and not found, as in MLflow
        assert_eq!(VersionNumber::parse("0").unwrap().get(), 0);
        assert_eq!(VersionNumber::parse("-1").unwrap().get(), -1);
        for bad in ["abc", "1.5", "", "99999999999999999999"] {
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
        assert!(ModelName::parse("   ").is_err());
        // MLflow accepts control characters in names
        assert!(ModelName::parse("a\nb").is_ok());
    }

    #[test]
    fn names_that_resolve_to_another_path_are_refused() {
        for bad in ["..", "..x", ".", "a/../b", "./a"] {
            assert!(check_model_name(bad).is_err(), "{bad:?}");
        }
        for bad in ["../x", "/x", "a//b", "a/./b", ""] {
            assert!(check_tag_key(bad).is_err(), "{bad:?}");
        }
        for good in ["x..", "a.b", "a b", "ключ", "a/b", "mlflow.note"] {
            assert!(check_tag_key(good).is_ok(), "{good:?}");
        }
        assert!(check_tag_key("a@b").is_err());
        assert_eq!(normpath("a//b/./c/../d"), "a/b/d");
        assert_eq!(normpath("//a"), "//a");
        assert_eq!(normpath("///a"), "/a");
        assert_eq!(normpath("../../a"), "../../a");
        assert_eq!(normpath("/../a"), "/a");
    }
}
