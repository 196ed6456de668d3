//! MLflow 3's prompt registry lives in the model registry's tables: a prompt is a registered model
//! tagged `mlflow.prompt.is_prompt=true`, a prompt version is a model version with the same tag
//! and its template in `mlflow.prompt.text`. The client builds everything else from the registry
//! endpoints; the server's part is to keep the two kinds apart, by the rules `mlflow server`
//! applies (which differ in where they look at the tag's value and where only at its presence).

use crate::model::Tag;
use crate::search::{Clause, Comparator, Filter, FilterValue};
use crate::{Error, Result};

pub const IS_PROMPT_TAG: &str = "mlflow.prompt.is_prompt";
/// The version tag that holds a prompt version's template.
pub const PROMPT_TEXT_TAG: &str = "mlflow.prompt.text";
/// MLflow's limit on a registry tag value, which is also the longest template.
const MAX_PROMPT_TEXT_LEN: usize = 100_000;

/// The sources MLflow's own clients give a prompt version, which has no files; the server refuses
/// any other.
const PROMPT_SOURCE_PLACEHOLDERS: [&str; 2] = ["dummy-source", "prompt-template"];

/// Whether a new version's tags make it a prompt version: the last value given for the tag,
/// compared with `true` ignoring case.
pub fn is_prompt_version(tags: &[Tag]) -> bool {
    tags.iter()
        .rev()
        .find(|t| t.key == IS_PROMPT_TAG)
        .is_some_and(|t| t.value.to_lowercase() == "true")
}

/// Whether a registered model counts as a prompt when a create clashes with its name: there
/// MLflow looks only at whether the tag is present, whatever its value.
pub fn has_prompt_tag(tags: &[Tag]) -> bool {
    tags.iter().any(|t| t.key == IS_PROMPT_TAG)
}

pub fn validate_prompt_source(source: &str) -> Result<()> {
    if PROMPT_SOURCE_PLACEHOLDERS.contains(&source) {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "Invalid prompt source: '{source}'. Prompt sources must use an MLflow placeholder."
    )))
}

/// A version tag holding a template that is too long gets MLflow's prompt-specific message
/// rather than the one for any long tag value.
pub fn check_prompt_text(key: &str, value: &str) -> Result<()> {
    if key == PROMPT_TEXT_TAG && value.chars().count() > MAX_PROMPT_TEXT_LEN {
        return Err(Error::invalid(format!(
            "Prompt text exceeds max length of {MAX_PROMPT_TEXT_LEN} characters."
        )));
    }
    Ok(())
}

/// The error for creating a registered model or prompt under a name that is taken.
pub fn name_taken(name: &str, existing_is_prompt: bool, new_is_prompt: bool) -> Error {
    let kind = |prompt: bool| if prompt { "Prompt" } else { "Registered Model" };
    if existing_is_prompt != new_is_prompt {
        return Error::AlreadyExists(format!(
            "Tried to create a {} with name {}, but the name is already taken by a {}. MLflow \
             does not allow creating a model and a prompt with the same name.",
            kind(new_is_prompt).to_lowercase(),
            python_repr(name),
            kind(existing_is_prompt).to_lowercase(),
        ));
    }
    Error::AlreadyExists(format!(
        "{} (name={name}) already exists.",
        kind(new_is_prompt)
    ))
}

/// Whether a registry search returns prompts instead of models. MLflow decides on the first
/// condition on the prompt tag: `= 'true'` or `!= 'false'` (values ignoring case) select the
/// prompts, and that condition then filters like any tag condition. Otherwise the search
/// leaves every prompt out and drops its conditions on the prompt tag.
pub fn search_selects_prompts(filter: &Filter) -> bool {
    filter
        .clauses
        .iter()
        .find_map(|c| match c {
            Clause::Tag { key, op, value } if key == IS_PROMPT_TAG => {
                let value = match value {
                    FilterValue::Str(s) => s.to_lowercase(),
                    _ => return Some(false),
                };
                Some(
                    (*op == Comparator::Eq && value == "true")
                        || (*op == Comparator::Ne && value == "false"),
                )
            }
            _ => None,
        })
        .unwrap_or(false)
}

/// The name as Python's `repr` writes it, which is how MLflow quotes it in a name clash.
fn python_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::{SearchEntity, parse_filter};

    fn tag(key: &str, value: &str) -> Tag {
        Tag {
            key: key.into(),
            value: value.into(),
        }
    }

    #[test]
    fn the_last_prompt_tag_given_decides_ignoring_case() {
        assert!(is_prompt_version(&[tag(IS_PROMPT_TAG, "TRUE")]));
        assert!(is_prompt_version(&[
            tag(IS_PROMPT_TAG, "no"),
            tag("x", "y"),
            tag(IS_PROMPT_TAG, "true")
        ]));
        assert!(!is_prompt_version(&[
            tag(IS_PROMPT_TAG, "true"),
            tag(IS_PROMPT_TAG, "false")
        ]));
        assert!(!is_prompt_version(&[tag("team", "true")]));
        assert!(has_prompt_tag(&[tag(IS_PROMPT_TAG, "false")]));
        assert!(!has_prompt_tag(&[tag("team", "nlp")]));
    }

    #[test]
    fn only_the_placeholders_are_prompt_sources() {
        assert!(validate_prompt_source("dummy-source").is_ok());
        assert!(validate_prompt_source("prompt-template").is_ok());
        let err = validate_prompt_source("s3://b/p").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid prompt source: 's3://b/p'. Prompt sources must use an MLflow placeholder."
        );
    }

    #[test]
    fn a_template_longer_than_mlflow_allows_is_refused() {
        let long = "x".repeat(MAX_PROMPT_TEXT_LEN + 1);
        assert!(check_prompt_text(PROMPT_TEXT_TAG, &long[1..]).is_ok());
        assert_eq!(
            check_prompt_text(PROMPT_TEXT_TAG, &long)
                .unwrap_err()
                .to_string(),
            "Prompt text exceeds max length of 100000 characters."
        );
        assert!(check_prompt_text("other", &long).is_ok());
    }

    #[test]
    fn a_name_clash_says_which_kind_holds_the_name() {
        assert_eq!(
            name_taken("p", true, true).to_string(),
            "Prompt (name=p) already exists."
        );
        assert_eq!(
            name_taken("m", false, false).to_string(),
            "Registered Model (name=m) already exists."
        );
        assert_eq!(
            name_taken("m", false, true).to_string(),
            "Tried to create a prompt with name 'm', but the name is already taken by a \
             registered model. MLflow does not allow creating a model and a prompt with the same \
             name."
        );
        assert!(
            name_taken("it's", true, false)
                .to_string()
                .starts_with("Tried to create a registered model with name \"it's\", but the name is already taken by a prompt.")
        );
    }

    #[test]
    fn python_repr_quotes_like_python() {
        assert_eq!(python_repr("abc"), "'abc'");
        assert_eq!(python_repr("it's"), "\"it's\"");
        assert_eq!(python_repr("a'b\"c"), "'a\\'b\"c'");
        assert_eq!(python_repr("a\\b\n"), "'a\\\\b\\n'");
    }

    #[test]
    fn the_first_prompt_condition_decides_what_a_search_returns() {
        let selects = |f: &str| {
            search_selects_prompts(&parse_filter(SearchEntity::RegisteredModels, f).unwrap())
        };
        assert!(!selects(""));
        assert!(!selects("name = 'x'"));
        assert!(selects("tags.`mlflow.prompt.is_prompt` = 'true'"));
        assert!(selects(
            "name = 'x' AND tag.`mlflow.prompt.is_prompt` = 'True'"
        ));
        assert!(selects("tags.`mlflow.prompt.is_prompt` != 'FALSE'"));
        assert!(!selects("tags.`mlflow.prompt.is_prompt` != 'true'"));
        assert!(!selects("tags.`mlflow.prompt.is_prompt` = 'false'"));
        assert!(!selects("tags.`mlflow.prompt.is_prompt` LIKE 'true'"));
        assert!(!selects(
            "tags.`mlflow.prompt.is_prompt` = 'no' AND tags.`mlflow.prompt.is_prompt` = 'true'"
        ));
    }
}
