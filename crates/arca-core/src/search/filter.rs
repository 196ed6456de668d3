//! The registry's filter grammar, read by the shared reader in `comparisons.rs`:
//!
//! | identifier | comparators | value |
//! |---|---|---|
//! | `name` | `=`, `!=`, `LIKE`, `ILIKE`, `IN`, `NOT IN` | a quoted string or a list of them |
//! | `run_id` (versions) | the same as `name` | the same as `name` |
//! | `source_path` (versions) | `=`, `!=`, `LIKE`, `ILIKE` | a quoted string |
//! | `version_number` (versions) | `=`, `!=`, `<`, `<=`, `>`, `>=` | an integer, bare or quoted |
//! | `tag.<k>` (`tags.`) | `=`, `!=`, `LIKE`, `ILIKE` | a quoted string |
//!
//! Attributes are written bare or behind `attribute.`/`attributes.`; registered models have only
//! `name`. This follows MLflow's SQL store (`mlflow-api.md` §1.4), which also drops a trailing
//! `AND`.

use super::comparisons::{
    Condition, Grammar, NUMERIC_OPS, Rule, STRING_OPS, STRING_OR_LIST_OPS, ValueKind,
    parse_conjunction,
};
use super::lexer::Ident;
use super::{AttributeKey, Clause, Filter, SearchEntity};
use crate::Error;

/// Parses a `filter` of `search_registered_models` or `search_model_versions`. Empty or
/// whitespace-only input is the empty filter.
pub fn parse_filter(entity: SearchEntity, input: &str) -> Result<Filter, Error> {
    let clauses = match entity {
        SearchEntity::RegisteredModels => parse_conjunction::<RegistryGrammar<false>>(input),
        SearchEntity::ModelVersions => parse_conjunction::<RegistryGrammar<true>>(input),
    }?;
    Ok(Filter { clauses })
}

/// What a comparison's left side names, before the comparator and value are attached.
#[derive(Debug)]
enum Subject {
    Attribute(AttributeKey),
    Tag(String),
}

/// The grammar of model versions (`VERSIONS`) or of registered models. The entity is a type
/// parameter because a grammar's list of identifiers is a constant of its type.
struct RegistryGrammar<const VERSIONS: bool>;

impl<const VERSIONS: bool> RegistryGrammar<VERSIONS> {
    const ENTITY: SearchEntity = if VERSIONS {
        SearchEntity::ModelVersions
    } else {
        SearchEntity::RegisteredModels
    };
}

fn attribute_keys(entity: SearchEntity) -> &'static [AttributeKey] {
    match entity {
        SearchEntity::RegisteredModels => &[AttributeKey::Name],
        SearchEntity::ModelVersions => &[
            AttributeKey::Name,
            AttributeKey::RunId,
            AttributeKey::SourcePath,
            AttributeKey::VersionNumber,
        ],
    }
}

impl<const VERSIONS: bool> Grammar for RegistryGrammar<VERSIONS> {
    type Subject = Subject;
    type Clause = Clause;
    const EXPECTED: &'static str = if VERSIONS {
        "name, run_id, source_path, version_number, or tag.<key>"
    } else {
        "name, or tag.<key>"
    };
    const DROPS_TRAILING_AND: bool = true;

    fn resolve(ident: &Ident, written: &str) -> Result<Subject, String> {
        let expected = Self::EXPECTED;
        match ident.prefix.as_deref() {
            None | Some("attribute" | "attributes") => attribute_keys(Self::ENTITY)
                .iter()
                .find(|key| key.as_str() == ident.key)
                .map(|key| Subject::Attribute(*key))
                .ok_or_else(|| {
                    let entity = match Self::ENTITY {
                        SearchEntity::RegisteredModels => "registered models",
                        SearchEntity::ModelVersions => "model versions",
                    };
                    format!(
                        "unsupported attribute '{written}' for {entity}; expected one of {expected}"
                    )
                }),
            Some("tag" | "tags") => Ok(Subject::Tag(ident.key.clone())),
            Some(prefix) => Err(format!(
                "unsupported identifier '{written}': prefix '{prefix}.' is not searchable here; \
                 expected one of {expected}"
            )),
        }
    }

    /// The same for both entities; they differ only in which attributes exist.
    fn rule(subject: &Subject) -> Rule {
        let (ops, value) = match subject {
            Subject::Tag(_) | Subject::Attribute(AttributeKey::SourcePath) => {
                (STRING_OPS, ValueKind::Text)
            }
            Subject::Attribute(AttributeKey::VersionNumber) => {
                (NUMERIC_OPS, ValueKind::QuotableInteger)
            }
            Subject::Attribute(AttributeKey::Name | AttributeKey::RunId) => {
                (STRING_OR_LIST_OPS, ValueKind::Text)
            }
        };
        Rule {
            ops,
            value,
            presence: false,
        }
    }

    fn clause(subject: Subject, condition: Condition, _written: &str) -> Result<Clause, String> {
        Ok(match (subject, condition) {
            (Subject::Attribute(key), Condition::Compare(op, value)) => {
                Clause::Attribute { key, op, value }
            }
            (Subject::Tag(key), Condition::Compare(op, value)) => Clause::Tag { key, op, value },
            (subject, condition) => {
                unreachable!("{subject:?} was read as {condition:?}, against its rule")
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;
    use crate::search::{Comparator as Op, FilterValue};

    const MODELS: SearchEntity = SearchEntity::RegisteredModels;
    const VERSIONS: SearchEntity = SearchEntity::ModelVersions;

    fn attr(key: AttributeKey, op: Op, value: FilterValue) -> Clause {
        Clause::Attribute { key, op, value }
    }

    fn tag(key: &str, op: Op, value: FilterValue) -> Clause {
        Clause::Tag {
            key: key.to_owned(),
            op,
            value,
        }
    }

    fn s(value: &str) -> FilterValue {
        FilterValue::Str(value.to_owned())
    }

    fn list(items: &[&str]) -> FilterValue {
        FilterValue::List(items.iter().map(|i| i.to_string()).collect())
    }

    fn clauses(entity: SearchEntity, input: &str) -> Vec<Clause> {
        match parse_filter(entity, input) {
            Ok(filter) => filter.clauses,
            Err(err) => panic!("{input:?} should parse: {err}"),
        }
    }

    fn error(entity: SearchEntity, input: &str) -> String {
        let err = parse_filter(entity, input).expect_err(input);
        assert_eq!(err.code(), ErrorCode::InvalidParameterValue, "{input}");
        let message = err.to_string();
        let prefix = format!("Invalid filter '{input}': ");
        assert!(message.starts_with(&prefix), "{message}");
        message[prefix.len()..].to_owned()
    }

    #[test]
    fn empty_filters_match_everything() {
        for input in ["", "   ", "\t\n"] {
            assert_eq!(parse_filter(MODELS, input).unwrap(), Filter::default());
            assert!(parse_filter(VERSIONS, input).unwrap().is_empty());
        }
    }

    #[test]
    fn parses_the_filter_the_mlflow_client_sends() {
        assert_eq!(
            clauses(
                MODELS,
                "name LIKE 'ch%' AND tag.`mlflow.prompt.is_prompt` != 'true'"
            ),
            [
                attr(AttributeKey::Name, Op::Like, s("ch%")),
                tag("mlflow.prompt.is_prompt", Op::Ne, s("true")),
            ]
        );
        assert_eq!(
            clauses(VERSIONS, "name='churn'"),
            [attr(AttributeKey::Name, Op::Eq, s("churn"))]
        );
    }

    #[test]
    fn registered_model_name_takes_every_string_comparator() {
        let cases = [
            ("name = 'a'", Op::Eq, s("a")),
            ("name != 'a'", Op::Ne, s("a")),
            ("name LIKE 'a%'", Op::Like, s("a%")),
            ("name ILIKE '%A_'", Op::ILike, s("%A_")),
            ("name IN ('a', 'b')", Op::In, list(&["a", "b"])),
            ("name NOT IN ('a')", Op::NotIn, list(&["a"])),
        ];
        for (input, op, value) in cases {
            assert_eq!(
                clauses(MODELS, input),
                [attr(AttributeKey::Name, op, value)],
                "{input}"
            );
        }
    }

    #[test]
    fn keywords_and_comparators_are_case_insensitive() {
        assert_eq!(
            clauses(
                MODELS,
                "name like 'a' and name ILike 'b' AnD name not in ('c')"
            ),
            [
                attr(AttributeKey::Name, Op::Like, s("a")),
                attr(AttributeKey::Name, Op::ILike, s("b")),
                attr(AttributeKey::Name, Op::NotIn, list(&["c"])),
            ]
        );
        assert_eq!(
            clauses(MODELS, "name In ('x')"),
            [attr(AttributeKey::Name, Op::In, list(&["x"]))]
        );
    }

    #[test]
    fn identifiers_take_prefixes_and_quoted_keys() {
        let name_eq = [attr(AttributeKey::Name, Op::Eq, s("m"))];
        for input in [
            "attribute.name = 'm'",
            "attributes.name = 'm'",
            "`name` = 'm'",
            "attribute.`name` = 'm'",
        ] {
            assert_eq!(clauses(MODELS, input), name_eq, "{input}");
        }
        for (input, key) in [
            ("tag.team = 'x'", "team"),
            ("tags.team = 'x'", "team"),
            ("tag.mlflow.runName = 'x'", "mlflow.runName"),
            ("tag.`key with spaces` = 'x'", "key with spaces"),
            (
                r#"tag."mlflow.prompt.is_prompt" = 'x'"#,
                "mlflow.prompt.is_prompt",
            ),
            (r#"tags."a""b" = 'x'"#, "a\"b"),
        ] {
            assert_eq!(
                clauses(VERSIONS, input),
                [tag(key, Op::Eq, s("x"))],
                "{input}"
            );
        }
    }

    #[test]
    fn string_values_take_either_quote_and_doubled_quotes() {
        assert_eq!(
            clauses(MODELS, r#"name = "double" AND tag.k = 'it''s'"#),
            [
                attr(AttributeKey::Name, Op::Eq, s("double")),
                tag("k", Op::Eq, s("it's")),
            ]
        );
        assert_eq!(
            clauses(MODELS, "name IN (\"a\", 'b''c', '')"),
            [attr(AttributeKey::Name, Op::In, list(&["a", "b'c", ""]))]
        );
        assert_eq!(
            clauses(MODELS, "name = 'AND OR ( ) , = 3'"),
            [attr(AttributeKey::Name, Op::Eq, s("AND OR ( ) , = 3"))]
        );
    }

    #[test]
    fn a_trailing_and_is_dropped_as_mlflow_drops_it() {
        assert_eq!(
            clauses(MODELS, "name = 'a' AND"),
            [attr(AttributeKey::Name, Op::Eq, s("a"))]
        );
        assert_eq!(
            clauses(MODELS, "name = 'a' and  "),
            [attr(AttributeKey::Name, Op::Eq, s("a"))]
        );
    }

    #[test]
    fn tags_take_string_comparators() {
        for (input, op) in [
            ("tag.k = 'v'", Op::Eq),
            ("tag.k != 'v'", Op::Ne),
            ("tag.k LIKE 'v'", Op::Like),
            ("tag.k ILIKE 'v'", Op::ILike),
        ] {
            assert_eq!(clauses(MODELS, input), [tag("k", op, s("v"))], "{input}");
        }
    }

    #[test]
    fn model_versions_take_their_string_attributes() {
        assert_eq!(
            clauses(
                VERSIONS,
                "name = 'm' AND run_id IN ('r1','r2') AND source_path LIKE 'models:/%' \
                 AND run_id NOT IN ('r3') AND source_path ILIKE '%X%' AND name != 'n'"
            ),
            [
                attr(AttributeKey::Name, Op::Eq, s("m")),
                attr(AttributeKey::RunId, Op::In, list(&["r1", "r2"])),
                attr(AttributeKey::SourcePath, Op::Like, s("models:/%")),
                attr(AttributeKey::RunId, Op::NotIn, list(&["r3"])),
                attr(AttributeKey::SourcePath, Op::ILike, s("%X%")),
                attr(AttributeKey::Name, Op::Ne, s("n")),
            ]
        );
    }

    #[test]
    fn version_number_takes_integers_and_numeric_comparators() {
        let int = FilterValue::Int;
        for (input, op, value) in [
            ("version_number >= 3", Op::Ge, int(3)),
            ("version_number>3", Op::Gt, int(3)),
            ("version_number <= 10", Op::Le, int(10)),
            ("version_number < 2", Op::Lt, int(2)),
            ("version_number = 1", Op::Eq, int(1)),
            ("version_number != -1", Op::Ne, int(-1)),
            ("version_number = '3'", Op::Eq, int(3)),
            ("version_number = \"7\"", Op::Eq, int(7)),
            ("attribute.version_number = +4", Op::Eq, int(4)),
        ] {
            assert_eq!(
                clauses(VERSIONS, input),
                [attr(AttributeKey::VersionNumber, op, value)],
                "{input}"
            );
        }
    }

    #[test]
    fn version_number_rejects_non_integers() {
        for input in [
            "version_number = 1.5",
            "version_number = '1.5'",
            "version_number = 'three'",
            "version_number = 1e3",
            "version_number = 99999999999999999999",
        ] {
            let err = error(VERSIONS, input);
            assert!(
                err.starts_with("version_number must be compared with an integer, got "),
                "{input}: {err}"
            );
        }
        assert_eq!(
            error(VERSIONS, "version_number = three"),
            "version_number must be compared with an integer, got 'three'"
        );
    }

    #[test]
    fn comparators_outside_the_allowed_set_are_rejected() {
        assert_eq!(
            error(MODELS, "name ~ 1"),
            "unsupported comparator '~'; expected one of =, !=, LIKE, ILIKE, IN, NOT IN"
        );
        assert_eq!(
            error(MODELS, "name == 'a'"),
            "unsupported comparator '=='; expected one of =, !=, LIKE, ILIKE, IN, NOT IN"
        );
        assert_eq!(
            error(MODELS, "name <> 'a'"),
            "unsupported comparator '<>'; expected one of =, !=, LIKE, ILIKE, IN, NOT IN"
        );
        assert_eq!(
            error(MODELS, "name NOT LIKE 'a'"),
            "unsupported comparator 'NOT LIKE'; expected one of =, !=, LIKE, ILIKE, IN, NOT IN"
        );
        assert_eq!(
            error(MODELS, "name CONTAINS 'a'"),
            "unsupported comparator 'CONTAINS'; expected one of =, !=, LIKE, ILIKE, IN, NOT IN"
        );
        assert_eq!(
            error(MODELS, "name > 'a'"),
            "comparator '>' is not supported for 'name'; expected one of =, !=, LIKE, ILIKE, IN, NOT IN"
        );
        assert_eq!(
            error(MODELS, "tag.k IN ('a')"),
            "comparator 'IN' is not supported for 'tag.k'; expected one of =, !=, LIKE, ILIKE"
        );
        assert_eq!(
            error(VERSIONS, "source_path IN ('a')"),
            "comparator 'IN' is not supported for 'source_path'; expected one of =, !=, LIKE, ILIKE"
        );
        assert_eq!(
            error(VERSIONS, "version_number IN (1, 2)"),
            "comparator 'IN' is not supported for 'version_number'; expected one of =, !=, <, <=, >, >="
        );
        assert_eq!(
            error(VERSIONS, "version_number LIKE '1%'"),
            "comparator 'LIKE' is not supported for 'version_number'; expected one of =, !=, <, <=, >, >="
        );
    }

    #[test]
    fn is_null_is_rejected() {
        for input in ["name IS NULL", "tag.k IS NOT NULL"] {
            assert!(
                error(MODELS, input).starts_with("IS NULL and IS NOT NULL are not supported"),
                "{input}"
            );
        }
    }

    #[test]
    fn unknown_identifiers_name_the_allowed_keys() {
        assert_eq!(
            error(MODELS, "run_id = 'r'"),
            "unsupported attribute 'run_id' for registered models; expected one of name, or tag.<key>"
        );
        assert_eq!(
            error(VERSIONS, "stage = 'Production'"),
            "unsupported attribute 'stage' for model versions; expected one of \
             name, run_id, source_path, version_number, or tag.<key>"
        );
        assert!(error(MODELS, "Name = 'a'").starts_with("unsupported attribute 'Name'"));
        assert!(
            error(MODELS, "metrics.acc > 0.5")
                .starts_with("unsupported identifier 'metrics.acc': prefix 'metrics.'")
        );
        assert!(error(MODELS, "`tag.k` = 'a'").starts_with("unsupported attribute '`tag.k`'"));
    }

    #[test]
    fn string_attributes_need_quoted_values() {
        assert_eq!(
            error(MODELS, "name = churn"),
            "the value for 'name' must be a quoted string, got 'churn'; e.g. name = 'value'"
        );
        assert!(error(VERSIONS, "run_id = 3").contains("must be a quoted string, got '3'"));
        assert!(error(MODELS, "tag.k = 1.5").contains("must be a quoted string, got '1.5'"));
        assert!(error(MODELS, "name = ('a')").contains("a parenthesized list can only follow IN"));
    }

    #[test]
    fn in_lists_must_be_parenthesized_quoted_strings() {
        let cases = [
            ("name IN 'a'", "IN must be followed by a parenthesized list"),
            (
                "name NOT IN 'a'",
                "NOT IN must be followed by a parenthesized list",
            ),
            ("name IN ()", "empty IN list"),
            (
                "name IN ('a',)",
                "IN lists hold quoted strings only, got ')'",
            ),
            (
                "name IN ('a' 'b')",
                "expected ',' or ')' in the IN list, got ''b''",
            ),
            ("name IN (a)", "IN lists hold quoted strings only, got 'a'"),
            (
                "name IN (1, 2)",
                "IN lists hold quoted strings only, got '1'",
            ),
            ("name IN ('a'", "unclosed IN list"),
            ("name IN ('a',", "unclosed IN list"),
            ("name IN (", "unclosed IN list"),
        ];
        for (input, expected) in cases {
            let err = error(MODELS, input);
            assert!(err.starts_with(expected), "{input}: {err}");
        }
    }

    #[test]
    fn structure_errors_say_what_is_missing() {
        let cases = [
            (
                MODELS,
                "name",
                "missing comparator after 'name'; expected one of =",
            ),
            (MODELS, "name =", "missing value after 'name ='"),
            (MODELS, "name NOT IN", "missing value after 'name NOT IN'"),
            (
                MODELS,
                "name 'a'",
                "missing comparator between 'name' and ''a''",
            ),
            (
                MODELS,
                "AND name = 'a'",
                "expected an identifier (name, or tag.<key>), found the keyword 'AND'",
            ),
            (
                MODELS,
                "name = 'a' AND AND name = 'b'",
                "expected an identifier (name, or tag.<key>), found the keyword 'AND'",
            ),
            (
                MODELS,
                "name = 'a' OR name = 'b'",
                "OR is not supported; comparisons can only be joined with AND",
            ),
            (
                MODELS,
                "name = 'a' name = 'b'",
                "unexpected 'name' after a comparison; expected AND or the end",
            ),
            (MODELS, "name = 'a' )", "unexpected ')' after a comparison"),
            (
                MODELS,
                "(name = 'a')",
                "parentheses are only allowed around IN lists",
            ),
            (
                MODELS,
                "'a' = name",
                "expected an identifier (name, or tag.<key>), found ''a''",
            ),
            (
                MODELS,
                "= 'a'",
                "expected an identifier (name, or tag.<key>), found '='",
            ),
        ];
        for (entity, input, expected) in cases {
            let err = error(entity, input);
            assert!(err.starts_with(expected), "{input}: {err}");
        }
    }

    #[test]
    fn lexical_errors_are_invalid_filters() {
        assert!(error(MODELS, "name = 'churn").starts_with("unterminated quoted text"));
        assert!(error(MODELS, "tag.`k = 'v'").starts_with("unterminated quoted text"));
        assert!(error(MODELS, "name = 'a'; DROP TABLE x").starts_with("unexpected character ';'"));
        assert!(error(MODELS, "tag. = 'v'").starts_with("expected a key after 'tag.'"));
        assert!(error(VERSIONS, "version_number = 3x").starts_with("malformed number '3x'"));
    }
}
