//! `experiments/search`: the experiment filter and order_by grammar, as MLflow 3.18's
//! `SearchExperimentsUtils` (`mlflow/utils/search_utils.py`) and its SQL store
//! (`_get_search_experiments_filter_clauses`, `_get_search_experiments_order_by_clauses` in
//! `mlflow/store/tracking/sqlalchemy_store.py`) define it:
//!
//! | identifier | comparators | value |
//! |---|---|---|
//! | `name` | `=`, `!=`, `LIKE`, `ILIKE` | a quoted string |
//! | `experiment_id` | `=`, `!=`, `IN`, `NOT IN` | a quoted integer (`'1'`) or a list of them |
//! | `creation_time`, `last_update_time` | `=`, `!=`, `<`, `<=`, `>`, `>=` | an integer (ms since the epoch) |
//! | `tags.<k>` (`tag.`) | `=`, `!=`, `LIKE`, `ILIKE`, `IS [NOT] NULL` | a quoted string |
//!
//! Attributes are written bare or behind `attribute.`/`attributes.` (MLflow 3.17 knew only
//! `attribute.`). Lifecycle stage is not searchable: `view_type` selects it.

use super::comparisons::{
    Condition, EQUALITY_OR_LIST_OPS, Grammar, NUMERIC_OPS, Rule, STRING_OPS, ValueKind,
    parse_conjunction, parse_order_item,
};
use super::lexer::Ident;
use super::{Comparator, FilterValue};
use crate::Error;
use std::fmt;

/// A conjunction of experiment clauses. No clauses matches every experiment of the view type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExperimentFilter {
    pub clauses: Vec<ExperimentClause>,
}

impl ExperimentFilter {
    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExperimentClause {
    /// `value` is a `Str` for `name`; an `Int` for the two times; for `experiment_id` a `Str`,
    /// or after `IN`/`NOT IN` a `List`, whose items are always canonical decimal integers
    /// (`'007'` arrives as `"7"`), so the store can parse them without a failure path.
    Attribute {
        key: ExperimentAttribute,
        op: Comparator,
        value: FilterValue,
    },
    /// `tags.<key>`: holds when the experiment has the tag and its value matches; `value` is a
    /// `Str`.
    Tag {
        key: String,
        op: Comparator,
        value: FilterValue,
    },
    /// `tags.<key> IS NOT NULL` (`present`) or `IS NULL` (`!present`).
    TagPresence { key: String, present: bool },
}

/// The experiment's searchable and orderable fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExperimentAttribute {
    ExperimentId,
    Name,
    CreationTime,
    LastUpdateTime,
}

impl ExperimentAttribute {
    pub fn as_str(self) -> &'static str {
        match self {
            ExperimentAttribute::ExperimentId => "experiment_id",
            ExperimentAttribute::Name => "name",
            ExperimentAttribute::CreationTime => "creation_time",
            ExperimentAttribute::LastUpdateTime => "last_update_time",
        }
    }

    fn lookup(key: &str) -> Option<ExperimentAttribute> {
        [
            ExperimentAttribute::ExperimentId,
            ExperimentAttribute::Name,
            ExperimentAttribute::CreationTime,
            ExperimentAttribute::LastUpdateTime,
        ]
        .into_iter()
        .find(|attribute| attribute.as_str() == key)
    }
}

impl fmt::Display for ExperimentAttribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExperimentOrderBy {
    pub key: ExperimentAttribute,
    pub ascending: bool,
}

/// Parses the `filter` of `experiments/search`. Empty or whitespace-only input is the empty filter.
pub fn parse_experiment_filter(input: &str) -> Result<ExperimentFilter, Error> {
    parse_conjunction::<ExperimentGrammar>(input).map(|clauses| ExperimentFilter { clauses })
}

/// Parses the `order_by` of `experiments/search` the way MLflow's SQL store does: no items mean
/// `creation_time DESC, experiment_id ASC`; otherwise `experiment_id DESC` (sic: descending, as
/// MLflow appends it) breaks ties unless experiment_id is already a key. MLflow accepts a key
/// twice; the repeat changes nothing, so it is dropped.
pub fn parse_experiment_order_by(items: &[String]) -> Result<Vec<ExperimentOrderBy>, Error> {
    super::comparisons::check_order_by_items(items)?;
    if items.is_empty() {
        return Ok(vec![
            ExperimentOrderBy {
                key: ExperimentAttribute::CreationTime,
                ascending: false,
            },
            ExperimentOrderBy {
                key: ExperimentAttribute::ExperimentId,
                ascending: true,
            },
        ]);
    }
    let mut order: Vec<ExperimentOrderBy> = Vec::with_capacity(items.len() + 1);
    for item in items {
        let fail =
            |detail: String| Error::invalid(format!("Invalid order_by clause '{item}': {detail}"));
        let (ident, written, ascending) = parse_order_item(item, ORDER_EXPECTED).map_err(fail)?;
        let key = order_key(&ident, written).map_err(fail)?;
        if !order.iter().any(|o| o.key == key) {
            order.push(ExperimentOrderBy { key, ascending });
        }
    }
    if !order
        .iter()
        .any(|o| o.key == ExperimentAttribute::ExperimentId)
    {
        order.push(ExperimentOrderBy {
            key: ExperimentAttribute::ExperimentId,
            ascending: false,
        });
    }
    Ok(order)
}

const ATTRIBUTES: &str = "name, experiment_id, creation_time, last_update_time";
const FILTER_EXPECTED: &str = "name, experiment_id, creation_time, last_update_time, or tags.<key>";
const ORDER_EXPECTED: &str = "expected '<key> [ASC|DESC]' with key one of name, experiment_id, \
     creation_time, last_update_time";

#[derive(Debug)]
enum Subject {
    Attribute(ExperimentAttribute),
    Tag(String),
}

fn attribute(ident: &Ident, written: &str, expected: &str) -> Result<ExperimentAttribute, String> {
    ExperimentAttribute::lookup(&ident.key).ok_or_else(|| {
        let hint = if ident.key == "lifecycle_stage" {
            "; experiments are selected by lifecycle stage with view_type"
        } else {
            ""
        };
        format!("unsupported attribute '{written}' for experiments{hint}; expected {expected}")
    })
}

fn order_key(ident: &Ident, written: &str) -> Result<ExperimentAttribute, String> {
    match ident.prefix.as_deref() {
        None if ident.is_keyword("ASC") || ident.is_keyword("DESC") => {
            Err(format!("missing key before '{written}'; {ORDER_EXPECTED}"))
        }
        None | Some("attribute" | "attributes") => attribute(ident, written, ATTRIBUTES),
        Some("tag" | "tags") => Err(format!(
            "experiments cannot be ordered by tags such as '{written}'; {ORDER_EXPECTED}"
        )),
        Some(prefix) => Err(format!(
            "unsupported key '{written}': prefix '{prefix}.' is not orderable here; \
             {ORDER_EXPECTED}"
        )),
    }
}

/// MLflow compares `experiment_id` as an integer column, so each value must be one.
fn experiment_id(value: &str, written: &str) -> Result<String, String> {
    value
        .trim()
        .parse::<i64>()
        .map(|id| id.to_string())
        .map_err(|_| {
            format!(
                "invalid experiment ID '{value}' in '{written}'; experiment IDs are integers, \
                 e.g. experiment_id = '1'"
            )
        })
}

struct ExperimentGrammar;

impl Grammar for ExperimentGrammar {
    type Subject = Subject;
    type Clause = ExperimentClause;
    const EXPECTED: &'static str = FILTER_EXPECTED;

    fn resolve(ident: &Ident, written: &str) -> Result<Subject, String> {
        match ident.prefix.as_deref() {
            None | Some("attribute" | "attributes") => {
                attribute(ident, written, FILTER_EXPECTED).map(Subject::Attribute)
            }
            Some("tag" | "tags") => Ok(Subject::Tag(ident.key.clone())),
            Some(prefix) => Err(format!(
                "unsupported identifier '{written}': prefix '{prefix}.' is not searchable \
                 for experiments; expected {FILTER_EXPECTED}"
            )),
        }
    }

    fn rule(subject: &Subject) -> Rule {
        let (ops, value, presence) = match subject {
            Subject::Attribute(ExperimentAttribute::Name) => (STRING_OPS, ValueKind::Text, false),
            Subject::Attribute(ExperimentAttribute::ExperimentId) => {
                (EQUALITY_OR_LIST_OPS, ValueKind::Text, false)
            }
            Subject::Attribute(
                ExperimentAttribute::CreationTime | ExperimentAttribute::LastUpdateTime,
            ) => (NUMERIC_OPS, ValueKind::Integer, false),
            Subject::Tag(_) => (STRING_OPS, ValueKind::Text, true),
        };
        Rule {
            ops,
            value,
            presence,
        }
    }

    fn clause(
        subject: Subject,
        condition: Condition,
        written: &str,
    ) -> Result<ExperimentClause, String> {
        Ok(match (subject, condition) {
            (Subject::Attribute(key), Condition::Compare(op, value)) => {
                let value = match (key, value) {
                    (ExperimentAttribute::ExperimentId, FilterValue::Str(id)) => {
                        FilterValue::Str(experiment_id(&id, written)?)
                    }
                    (ExperimentAttribute::ExperimentId, FilterValue::List(ids)) => {
                        FilterValue::List(
                            ids.iter()
                                .map(|id| experiment_id(id, written))
                                .collect::<Result<_, _>>()?,
                        )
                    }
                    (_, value) => value,
                };
                ExperimentClause::Attribute { key, op, value }
            }
            (Subject::Tag(key), Condition::Compare(op, value)) => {
                ExperimentClause::Tag { key, op, value }
            }
            (Subject::Tag(key), Condition::Presence(present)) => {
                ExperimentClause::TagPresence { key, present }
            }
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
    use Comparator as Op;
    use ExperimentAttribute as A;

    fn clauses(input: &str) -> Vec<ExperimentClause> {
        match parse_experiment_filter(input) {
            Ok(filter) => filter.clauses,
            Err(err) => panic!("{input:?} should parse: {err}"),
        }
    }

    fn error(input: &str) -> String {
        let err = parse_experiment_filter(input).expect_err(input);
        assert_eq!(err.code(), ErrorCode::InvalidParameterValue, "{input}");
        let message = err.to_string();
        let prefix = format!("Invalid filter '{input}': ");
        assert!(message.starts_with(&prefix), "{message}");
        message[prefix.len()..].to_owned()
    }

    fn s(value: &str) -> FilterValue {
        FilterValue::Str(value.to_owned())
    }

    fn attr(key: ExperimentAttribute, op: Op, value: FilterValue) -> ExperimentClause {
        ExperimentClause::Attribute { key, op, value }
    }

    fn tag(key: &str, op: Op, value: &str) -> ExperimentClause {
        ExperimentClause::Tag {
            key: key.to_owned(),
            op,
            value: s(value),
        }
    }

    #[test]
    fn empty_filters_match_every_experiment() {
        assert!(parse_experiment_filter("").unwrap().is_empty());
        assert!(parse_experiment_filter(" \n").unwrap().is_empty());
    }

    #[test]
    fn names_take_string_comparators() {
        assert_eq!(
            clauses("name = 'churn-exp'"),
            [attr(A::Name, Op::Eq, s("churn-exp"))]
        );
        assert_eq!(
            clauses("attribute.name != 'a' AND attributes.name LIKE 'ch%' AND name ILIKE '%EXP'"),
            [
                attr(A::Name, Op::Ne, s("a")),
                attr(A::Name, Op::Like, s("ch%")),
                attr(A::Name, Op::ILike, s("%EXP")),
            ]
        );
    }

    #[test]
    fn times_take_numeric_comparators_and_integers() {
        assert_eq!(
            clauses("creation_time >= 1700000000000 and last_update_time < 1.8e12"),
            [
                attr(A::CreationTime, Op::Ge, FilterValue::Int(1_700_000_000_000)),
                attr(
                    A::LastUpdateTime,
                    Op::Lt,
                    FilterValue::Int(1_800_000_000_000)
                ),
            ]
        );
        for op in ["=", "!=", "<", "<=", ">", ">="] {
            assert_eq!(clauses(&format!("creation_time {op} 0")).len(), 1, "{op}");
        }
    }

    #[test]
    fn experiment_ids_are_canonical_integers() {
        assert_eq!(
            clauses("experiment_id = '007'"),
            [attr(A::ExperimentId, Op::Eq, s("7"))]
        );
        assert_eq!(
            clauses("experiment_id NOT IN ('0', ' 12 ')"),
            [attr(
                A::ExperimentId,
                Op::NotIn,
                FilterValue::List(vec!["0".into(), "12".into()])
            )]
        );
    }

    #[test]
    fn tags_compare_and_test_presence() {
        assert_eq!(
            clauses("tags.team = 'ml' AND tag.`mlflow.note` LIKE '%x%' AND tags.a IS NULL"),
            [
                tag("team", Op::Eq, "ml"),
                tag("mlflow.note", Op::Like, "%x%"),
                ExperimentClause::TagPresence {
                    key: "a".into(),
                    present: false
                },
            ]
        );
        assert_eq!(
            clauses("tags.a IS NOT NULL"),
            [ExperimentClause::TagPresence {
                key: "a".into(),
                present: true
            }]
        );
    }

    #[test]
    fn errors_say_what_is_accepted() {
        let cases = [
            (
                "run_id = 'a'",
                "unsupported attribute 'run_id' for experiments; expected name, experiment_id, \
                 creation_time, last_update_time, or tags.<key>",
            ),
            (
                "lifecycle_stage = 'active'",
                "unsupported attribute 'lifecycle_stage' for experiments; experiments are \
                 selected by lifecycle stage with view_type",
            ),
            (
                "metrics.acc > 1",
                "unsupported identifier 'metrics.acc': prefix 'metrics.' is not searchable \
                 for experiments",
            ),
            ("attr.name = 'a'", "unsupported identifier 'attr.name'"),
            (
                "name IN ('a')",
                "comparator 'IN' is not supported for 'name'; expected one of =, !=, LIKE, ILIKE",
            ),
            (
                "experiment_id LIKE '1%'",
                "comparator 'LIKE' is not supported for 'experiment_id'; expected one of \
                 =, !=, IN, NOT IN",
            ),
            (
                "experiment_id = 'abc'",
                "invalid experiment ID 'abc' in 'experiment_id = 'abc''; experiment IDs are \
                 integers",
            ),
            (
                "experiment_id IN ('1', 'x')",
                "invalid experiment ID 'x' in 'experiment_id IN ('1', 'x')'",
            ),
            (
                "experiment_id = 1",
                "the value for 'experiment_id' must be a quoted string, got '1'",
            ),
            (
                "creation_time > 1.5",
                "'creation_time' is compared with an integer, got '1.5'",
            ),
            (
                "creation_time > '5'",
                "'creation_time' is compared with an unquoted number",
            ),
            (
                "creation_time LIKE '1%'",
                "comparator 'LIKE' is not supported for 'creation_time'",
            ),
            (
                "name IS NULL",
                "IS NULL and IS NOT NULL are not supported for 'name'",
            ),
            (
                "tags.t IN ('a')",
                "comparator 'IN' is not supported for 'tags.t'",
            ),
            (
                "tags.t = 1",
                "the value for 'tags.t' must be a quoted string",
            ),
            ("name = 'a' OR name = 'b'", "OR is not supported"),
            ("name = 'a' AND", "the filter ends with AND"),
        ];
        for (input, expected) in cases {
            let err = error(input);
            assert!(err.starts_with(expected), "{input}: {err}");
        }
    }

    fn order(items: &[&str]) -> Vec<ExperimentOrderBy> {
        let items: Vec<String> = items.iter().map(|i| i.to_string()).collect();
        parse_experiment_order_by(&items).unwrap_or_else(|e| panic!("{items:?}: {e}"))
    }

    fn order_error(items: &[&str]) -> String {
        let items: Vec<String> = items.iter().map(|i| i.to_string()).collect();
        let err = parse_experiment_order_by(&items).expect_err("should fail");
        assert_eq!(err.code(), ErrorCode::InvalidParameterValue);
        err.to_string()
    }

    fn by(key: ExperimentAttribute, ascending: bool) -> ExperimentOrderBy {
        ExperimentOrderBy { key, ascending }
    }

    #[test]
    fn default_order_is_newest_first() {
        assert_eq!(
            order(&[]),
            [by(A::CreationTime, false), by(A::ExperimentId, true)]
        );
    }

    #[test]
    fn given_orders_break_ties_on_descending_experiment_id() {
        assert_eq!(
            order(&["name"]),
            [by(A::Name, true), by(A::ExperimentId, false)]
        );
        assert_eq!(
            order(&["attributes.last_update_time DESC", "creation_time asc"]),
            [
                by(A::LastUpdateTime, false),
                by(A::CreationTime, true),
                by(A::ExperimentId, false)
            ]
        );
        assert_eq!(order(&["experiment_id ASC"]), [by(A::ExperimentId, true)]);
        assert_eq!(
            order(&["name DESC", "attribute.name ASC"]),
            [by(A::Name, false), by(A::ExperimentId, false)]
        );
    }

    #[test]
    fn order_errors_quote_the_item() {
        assert_eq!(
            order_error(&["tags.team"]),
            format!(
                "Invalid order_by clause 'tags.team': experiments cannot be ordered by tags \
                 such as 'tags.team'; {ORDER_EXPECTED}"
            )
        );
        assert_eq!(
            order_error(&["last_updated_time"]),
            format!(
                "Invalid order_by clause 'last_updated_time': unsupported attribute \
                 'last_updated_time' for experiments; expected {ATTRIBUTES}"
            )
        );
        assert!(order_error(&["metrics.a"]).contains("prefix 'metrics.' is not orderable"));
        assert!(order_error(&["ASC"]).contains("missing key before 'ASC'"));
        assert!(order_error(&["name sideways"]).contains("unsupported direction 'sideways'"));
        assert!(order_error(&["name", ""]).contains("Invalid order_by clause '': it is empty"));
    }
}
