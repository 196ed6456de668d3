//! `logged-models/search`: the logged-model filter grammar and the structured order_by, as
//! MLflow 3.18's SQL store reads them (`mlflow/utils/search_logged_model_utils.py`, and
//! `_apply_filter_string_datasets_search_logged_models` / `_apply_order_by_search_logged_models`
//! in `mlflow/store/tracking/sqlalchemy_store.py`), with the attribute names of
//! `SearchLoggedModelsUtils` (`mlflow/utils/search_utils.py`):
//!
//! | identifier | comparators | value |
//! |---|---|---|
//! | `name`, `model_id`, `model_type`, `source_run_id` | `=`, `!=`, `LIKE`, `ILIKE`, `IN`, `NOT IN` | a quoted string or a list |
//! | `status` | `=`, `!=`, `IN`, `NOT IN` | a status name or a list of them |
//! | `creation_timestamp` (`creation_time`), `last_updated_timestamp` (`last_updated_time`) | `=`, `!=`, `<`, `<=`, `>`, `>=` | an integer (ms since the epoch) |
//! | `metrics.<k>` | the numeric ones | a number |
//! | `params.<k>`, `tags.<k>` | the string ones, lists included | a quoted string or a list |
//!
//! Attributes are written bare or behind `attributes.`. MLflow's SQL store knows only the plural
//! prefixes; Arca also takes `attribute.`, `metric.`, `param.` and `tag.`, as the run grammar
//! does. There is no `IS NULL` here, unlike for runs.
//!
//! The `mlflow` client sends `name = 'extra'` from `mlflow.artifacts.download_artifacts`.

use super::comparisons::{
    Condition, EQUALITY_OR_LIST_OPS, Grammar, NUMERIC_OPS, Rule, STRING_OR_LIST_OPS, ValueKind,
    parse_conjunction,
};
use super::lexer::Ident;
use super::{Comparator, FilterValue};
use crate::Error;
use std::fmt;

/// A conjunction of logged-model clauses. No clauses matches every model of the experiments.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoggedModelFilter {
    pub clauses: Vec<LoggedModelClause>,
}

impl LoggedModelFilter {
    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum LoggedModelClause {
    /// `value` is an `Int` for the timestamps, a `List` after `IN`/`NOT IN` and a `Str`
    /// otherwise. Status values are always wire names (`LOGGED_MODEL_READY`), whichever
    /// spelling the filter used.
    Attribute {
        key: LoggedModelAttribute,
        op: Comparator,
        value: FilterValue,
    },
    /// `metrics.<key>`: compares the model's latest value of the metric, counting only metrics
    /// on the request's `datasets` when it names any.
    Metric {
        key: String,
        op: Comparator,
        value: f64,
    },
    /// `params.<key>`: holds when the model has the param and its value matches.
    Param {
        key: String,
        op: Comparator,
        value: FilterValue,
    },
    /// `tags.<key>`: holds when the model has the tag and its value matches.
    Tag {
        key: String,
        op: Comparator,
        value: FilterValue,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoggedModelAttribute {
    ModelId,
    Name,
    ModelType,
    Status,
    SourceRunId,
    /// Also written `creation_time`.
    CreationTimestamp,
    /// Also written `last_updated_time`.
    LastUpdatedTimestamp,
}

const ALL_ATTRIBUTES: [LoggedModelAttribute; 7] = [
    LoggedModelAttribute::ModelId,
    LoggedModelAttribute::Name,
    LoggedModelAttribute::ModelType,
    LoggedModelAttribute::Status,
    LoggedModelAttribute::SourceRunId,
    LoggedModelAttribute::CreationTimestamp,
    LoggedModelAttribute::LastUpdatedTimestamp,
];

impl LoggedModelAttribute {
    /// The canonical key as written in a filter or an order_by `field_name`.
    pub fn as_str(self) -> &'static str {
        match self {
            LoggedModelAttribute::ModelId => "model_id",
            LoggedModelAttribute::Name => "name",
            LoggedModelAttribute::ModelType => "model_type",
            LoggedModelAttribute::Status => "status",
            LoggedModelAttribute::SourceRunId => "source_run_id",
            LoggedModelAttribute::CreationTimestamp => "creation_timestamp",
            LoggedModelAttribute::LastUpdatedTimestamp => "last_updated_timestamp",
        }
    }

    fn lookup(key: &str) -> Option<LoggedModelAttribute> {
        match key {
            "creation_time" => Some(LoggedModelAttribute::CreationTimestamp),
            "last_updated_time" => Some(LoggedModelAttribute::LastUpdatedTimestamp),
            _ => ALL_ATTRIBUTES.into_iter().find(|a| a.as_str() == key),
        }
    }
}

impl fmt::Display for LoggedModelAttribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LoggedModelOrderKey {
    Attribute(LoggedModelAttribute),
    /// `metrics.<key>`: the latest value (optionally on one dataset); models without it sort
    /// last in either direction.
    Metric(String),
}

/// One element of the request's structured `order_by`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LoggedModelOrderBy {
    pub key: LoggedModelOrderKey,
    pub ascending: bool,
    /// Only metrics on this dataset count; set only for `Metric` keys.
    pub dataset_name: Option<String>,
    /// Only metrics on the dataset with this digest count; set only with `dataset_name`.
    pub dataset_digest: Option<String>,
}

/// Parses the `filter` of `logged-models/search`. Empty or whitespace-only input is the empty
/// filter.
pub fn parse_logged_model_filter(input: &str) -> Result<LoggedModelFilter, Error> {
    parse_conjunction::<LoggedModelGrammar>(input).map(|clauses| LoggedModelFilter { clauses })
}

/// Parses an order_by element's `field_name`: `metrics.<name>` (the rest taken verbatim, as
/// MLflow does, so no quoting) or an attribute name.
pub fn parse_logged_model_order_field(field_name: &str) -> Result<LoggedModelOrderKey, Error> {
    let fail = |detail: String| {
        Error::invalid(format!(
            "Invalid order_by field_name '{field_name}': {detail}; expected metrics.<name> or \
             one of {ATTRIBUTES}"
        ))
    };
    let trimmed = field_name.trim();
    if trimmed.is_empty() {
        return Err(fail("it is empty".to_owned()));
    }
    match trimmed.split_once('.') {
        Some(("metrics", "")) => Err(fail("the metric name is missing".to_owned())),
        Some(("metrics", key)) => Ok(LoggedModelOrderKey::Metric(key.to_owned())),
        Some((prefix, _)) => Err(fail(format!(
            "only metrics can be ordered by with a prefix, not '{prefix}.'"
        ))),
        None => LoggedModelAttribute::lookup(trimmed)
            .map(LoggedModelOrderKey::Attribute)
            .ok_or_else(|| fail("unknown field".to_owned())),
    }
}

/// Parses one element of the structured `order_by`. `ascending` defaults to true. Empty dataset
/// strings count as absent, and the dataset is dropped for attribute keys, which MLflow ignores
/// it for; a digest without a name is refused, as MLflow refuses it.
pub fn parse_logged_model_order_by(
    field_name: &str,
    ascending: Option<bool>,
    dataset_name: Option<&str>,
    dataset_digest: Option<&str>,
) -> Result<LoggedModelOrderBy, Error> {
    let key = parse_logged_model_order_field(field_name)?;
    let present = |s: Option<&str>| s.filter(|s| !s.is_empty()).map(str::to_owned);
    let (dataset_name, dataset_digest) = (present(dataset_name), present(dataset_digest));
    if let (None, Some(digest)) = (&dataset_name, &dataset_digest) {
        return Err(Error::invalid(format!(
            "Invalid order_by for '{field_name}': dataset_digest '{digest}' is given without a \
             dataset_name; name the dataset too"
        )));
    }
    let metric = matches!(key, LoggedModelOrderKey::Metric(_));
    Ok(LoggedModelOrderBy {
        key,
        ascending: ascending.unwrap_or(true),
        dataset_name: dataset_name.filter(|_| metric),
        dataset_digest: dataset_digest.filter(|_| metric),
    })
}

/// Makes a parsed order_by total the way MLflow's SQL store does: appends
/// `creation_timestamp DESC` unless that is already a key, then `model_id ASC` unless that is.
/// So an empty order_by gives MLflow's default, `creation_timestamp DESC, model_id ASC`.
pub fn complete_logged_model_order(mut order: Vec<LoggedModelOrderBy>) -> Vec<LoggedModelOrderBy> {
    for (attribute, ascending) in [
        (LoggedModelAttribute::CreationTimestamp, false),
        (LoggedModelAttribute::ModelId, true),
    ] {
        let key = LoggedModelOrderKey::Attribute(attribute);
        if !order.iter().any(|o| o.key == key) {
            order.push(LoggedModelOrderBy {
                key,
                ascending,
                dataset_name: None,
                dataset_digest: None,
            });
        }
    }
    order
}

const ATTRIBUTES: &str = "name, model_id, model_type, status, source_run_id, \
     creation_timestamp (or creation_time), last_updated_timestamp (or last_updated_time)";
const FILTER_EXPECTED: &str = "metrics.<key>, params.<key>, tags.<key>, or an attribute: name, \
     model_id, model_type, status, source_run_id, creation_timestamp (or creation_time), \
     last_updated_timestamp (or last_updated_time)";

/// Filter spellings of each status, MLflow's (`READY`) and the wire's (`LOGGED_MODEL_READY`),
/// with the wire name the clause carries.
const STATUSES: &[(&str, &str)] = &[
    ("UNSPECIFIED", "LOGGED_MODEL_STATUS_UNSPECIFIED"),
    ("PENDING", "LOGGED_MODEL_PENDING"),
    ("READY", "LOGGED_MODEL_READY"),
    ("FAILED", "LOGGED_MODEL_UPLOAD_FAILED"),
];

fn status(value: &str, written: &str) -> Result<String, String> {
    STATUSES
        .iter()
        .find(|(short, wire)| value == *short || value == *wire)
        .map(|(_, wire)| (*wire).to_owned())
        .ok_or_else(|| {
            format!(
                "unknown logged model status '{value}' in '{written}'; expected one of \
                 UNSPECIFIED, PENDING, READY, FAILED (or their LOGGED_MODEL_ names)"
            )
        })
}

#[derive(Debug)]
enum Subject {
    Attribute(LoggedModelAttribute),
    Metric(String),
    Param(String),
    Tag(String),
}

struct LoggedModelGrammar;

impl Grammar for LoggedModelGrammar {
    type Subject = Subject;
    type Clause = LoggedModelClause;
    const EXPECTED: &'static str = FILTER_EXPECTED;

    fn resolve(ident: &Ident, written: &str) -> Result<Subject, String> {
        let key = ident.key.clone();
        match ident.prefix.as_deref() {
            None | Some("attribute" | "attributes") => LoggedModelAttribute::lookup(&key)
                .map(Subject::Attribute)
                .ok_or_else(|| {
                    format!(
                        "unsupported attribute '{written}' for logged models; expected \
                         {FILTER_EXPECTED}"
                    )
                }),
            Some("metric" | "metrics") => Ok(Subject::Metric(key)),
            Some("param" | "params") => Ok(Subject::Param(key)),
            Some("tag" | "tags") => Ok(Subject::Tag(key)),
            Some(prefix) => Err(format!(
                "unsupported identifier '{written}': prefix '{prefix}.' is not searchable \
                 for logged models; expected {FILTER_EXPECTED}"
            )),
        }
    }

    fn rule(subject: &Subject) -> Rule {
        let (ops, value) = match subject {
            Subject::Metric(_) => (NUMERIC_OPS, ValueKind::Number),
            Subject::Attribute(
                LoggedModelAttribute::CreationTimestamp
                | LoggedModelAttribute::LastUpdatedTimestamp,
            ) => (NUMERIC_OPS, ValueKind::Integer),
            Subject::Attribute(LoggedModelAttribute::Status) => {
                (EQUALITY_OR_LIST_OPS, ValueKind::Text)
            }
            Subject::Attribute(_) | Subject::Param(_) | Subject::Tag(_) => {
                (STRING_OR_LIST_OPS, ValueKind::Text)
            }
        };
        Rule {
            ops,
            value,
            presence: false,
        }
    }

    fn clause(
        subject: Subject,
        condition: Condition,
        written: &str,
    ) -> Result<LoggedModelClause, String> {
        Ok(match (subject, condition) {
            (Subject::Attribute(key), Condition::Compare(op, value)) => {
                let value = match (key, value) {
                    (LoggedModelAttribute::Status, FilterValue::Str(s)) => {
                        FilterValue::Str(status(&s, written)?)
                    }
                    (LoggedModelAttribute::Status, FilterValue::List(items)) => FilterValue::List(
                        items
                            .iter()
                            .map(|s| status(s, written))
                            .collect::<Result<_, _>>()?,
                    ),
                    (_, value) => value,
                };
                LoggedModelClause::Attribute { key, op, value }
            }
            (Subject::Metric(key), Condition::CompareNumber(op, value)) => {
                LoggedModelClause::Metric { key, op, value }
            }
            (Subject::Param(key), Condition::Compare(op, value)) => {
                LoggedModelClause::Param { key, op, value }
            }
            (Subject::Tag(key), Condition::Compare(op, value)) => {
                LoggedModelClause::Tag { key, op, value }
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
    use LoggedModelAttribute as A;

    fn clauses(input: &str) -> Vec<LoggedModelClause> {
        match parse_logged_model_filter(input) {
            Ok(filter) => filter.clauses,
            Err(err) => panic!("{input:?} should parse: {err}"),
        }
    }

    fn error(input: &str) -> String {
        let err = parse_logged_model_filter(input).expect_err(input);
        assert_eq!(err.code(), ErrorCode::InvalidParameterValue, "{input}");
        let message = err.to_string();
        let prefix = format!("Invalid filter '{input}': ");
        assert!(message.starts_with(&prefix), "{message}");
        message[prefix.len()..].to_owned()
    }

    fn s(value: &str) -> FilterValue {
        FilterValue::Str(value.to_owned())
    }

    fn list(items: &[&str]) -> FilterValue {
        FilterValue::List(items.iter().map(|i| i.to_string()).collect())
    }

    fn attr(key: LoggedModelAttribute, op: Op, value: FilterValue) -> LoggedModelClause {
        LoggedModelClause::Attribute { key, op, value }
    }

    #[test]
    fn parses_what_the_mlflow_client_sends() {
        assert_eq!(
            clauses("name = 'extra'"),
            [attr(A::Name, Op::Eq, s("extra"))]
        );
        assert!(parse_logged_model_filter("").unwrap().is_empty());
    }

    #[test]
    fn string_attributes_params_and_tags_take_lists() {
        assert_eq!(
            clauses(
                "model_id IN ('m-1', 'm-2') AND attributes.model_type LIKE 'sk%' \
                 AND source_run_id != 'r' AND params.C NOT IN ('1.0') AND tags.t ILIKE '%x'"
            ),
            [
                attr(A::ModelId, Op::In, list(&["m-1", "m-2"])),
                attr(A::ModelType, Op::Like, s("sk%")),
                attr(A::SourceRunId, Op::Ne, s("r")),
                LoggedModelClause::Param {
                    key: "C".into(),
                    op: Op::NotIn,
                    value: list(&["1.0"])
                },
                LoggedModelClause::Tag {
                    key: "t".into(),
                    op: Op::ILike,
                    value: s("%x")
                },
            ]
        );
        assert_eq!(
            clauses("param.a = 'b' AND tag.`mlflow.user` = 'root'").len(),
            2
        );
    }

    #[test]
    fn metrics_and_timestamps_are_numeric() {
        assert_eq!(
            clauses(
                "metrics.loss < 0.1 AND creation_time >= 1700000000000 \
                 AND last_updated_timestamp < 1.8e12 AND metric.acc != -1e-3"
            ),
            [
                LoggedModelClause::Metric {
                    key: "loss".into(),
                    op: Op::Lt,
                    value: 0.1
                },
                attr(
                    A::CreationTimestamp,
                    Op::Ge,
                    FilterValue::Int(1_700_000_000_000)
                ),
                attr(
                    A::LastUpdatedTimestamp,
                    Op::Lt,
                    FilterValue::Int(1_800_000_000_000)
                ),
                LoggedModelClause::Metric {
                    key: "acc".into(),
                    op: Op::Ne,
                    value: -0.001
                },
            ]
        );
        assert_eq!(
            clauses("last_updated_time > 0 AND creation_timestamp = 1"),
            [
                attr(A::LastUpdatedTimestamp, Op::Gt, FilterValue::Int(0)),
                attr(A::CreationTimestamp, Op::Eq, FilterValue::Int(1)),
            ]
        );
    }

    #[test]
    fn statuses_become_wire_names() {
        assert_eq!(
            clauses("status = 'READY'"),
            [attr(A::Status, Op::Eq, s("LOGGED_MODEL_READY"))]
        );
        assert_eq!(
            clauses("status NOT IN ('PENDING', 'LOGGED_MODEL_UPLOAD_FAILED', 'FAILED')"),
            [attr(
                A::Status,
                Op::NotIn,
                list(&[
                    "LOGGED_MODEL_PENDING",
                    "LOGGED_MODEL_UPLOAD_FAILED",
                    "LOGGED_MODEL_UPLOAD_FAILED"
                ])
            )]
        );
        assert_eq!(
            clauses("status != 'UNSPECIFIED'"),
            [attr(
                A::Status,
                Op::Ne,
                s("LOGGED_MODEL_STATUS_UNSPECIFIED")
            )]
        );
    }

    #[test]
    fn errors_say_what_is_accepted() {
        let cases = [
            (
                "status = 'ready'",
                "unknown logged model status 'ready' in 'status = 'ready''; expected one of \
                 UNSPECIFIED, PENDING, READY, FAILED",
            ),
            (
                "status IN ('READY', 'DONE')",
                "unknown logged model status 'DONE' in 'status IN ('READY', 'DONE')'",
            ),
            (
                "status LIKE 'R%'",
                "comparator 'LIKE' is not supported for 'status'; expected one of \
                 =, !=, IN, NOT IN",
            ),
            (
                "experiment_id = '0'",
                "unsupported attribute 'experiment_id' for logged models; expected metrics.<key>",
            ),
            (
                "datasets.name = 'x'",
                "unsupported identifier 'datasets.name': prefix 'datasets.' is not searchable \
                 for logged models",
            ),
            (
                "metrics.acc LIKE '1'",
                "comparator 'LIKE' is not supported for 'metrics.acc'",
            ),
            (
                "metrics.acc > '0.5'",
                "'metrics.acc' is compared with an unquoted number",
            ),
            (
                "creation_timestamp > 1.5",
                "'creation_timestamp' is compared with an integer, got '1.5'",
            ),
            (
                "creation_time IN ('1')",
                "comparator 'IN' is not supported for 'creation_time'",
            ),
            (
                "name = extra",
                "the value for 'name' must be a quoted string",
            ),
            (
                "params.a IS NULL",
                "IS NULL and IS NOT NULL are not supported for 'params.a'; expected one of \
                 =, !=, LIKE, ILIKE, IN, NOT IN",
            ),
            ("name = 'a' OR name = 'b'", "OR is not supported"),
        ];
        for (input, expected) in cases {
            let err = error(input);
            assert!(err.starts_with(expected), "{input}: {err}");
        }
    }

    #[test]
    fn order_fields_are_metrics_or_attributes() {
        let field = |f: &str| parse_logged_model_order_field(f).unwrap();
        assert_eq!(
            field("metrics.accuracy"),
            LoggedModelOrderKey::Metric("accuracy".into())
        );
        assert_eq!(
            field("metrics.a.b c"),
            LoggedModelOrderKey::Metric("a.b c".into())
        );
        assert_eq!(
            field(" creation_time "),
            LoggedModelOrderKey::Attribute(A::CreationTimestamp)
        );
        for attribute in ALL_ATTRIBUTES {
            assert_eq!(
                field(attribute.as_str()),
                LoggedModelOrderKey::Attribute(attribute)
            );
        }
    }

    #[test]
    fn bad_order_fields_list_the_accepted_ones() {
        let error = |f: &str| {
            let err = parse_logged_model_order_field(f).expect_err(f);
            assert_eq!(err.code(), ErrorCode::InvalidParameterValue);
            err.to_string()
        };
        assert_eq!(
            error("params.C"),
            format!(
                "Invalid order_by field_name 'params.C': only metrics can be ordered by with a \
                 prefix, not 'params.'; expected metrics.<name> or one of {ATTRIBUTES}"
            )
        );
        assert!(error("experiment_id").contains("'experiment_id': unknown field"));
        assert!(error("metrics.").contains("the metric name is missing"));
        assert!(error("").contains("it is empty"));
        assert!(error("attributes.name").contains("not 'attributes.'"));
    }

    #[test]
    fn order_elements_carry_datasets_for_metrics_only() {
        let by = parse_logged_model_order_by("metrics.acc", Some(false), Some("eval"), Some("d1"))
            .unwrap();
        assert_eq!(
            by,
            LoggedModelOrderBy {
                key: LoggedModelOrderKey::Metric("acc".into()),
                ascending: false,
                dataset_name: Some("eval".into()),
                dataset_digest: Some("d1".into()),
            }
        );
        let by = parse_logged_model_order_by("name", None, Some("eval"), None).unwrap();
        assert!(by.ascending);
        assert_eq!(by.dataset_name, None);
        let by = parse_logged_model_order_by("metrics.acc", None, Some(""), Some("")).unwrap();
        assert_eq!((by.dataset_name, by.dataset_digest), (None, None));
        let err = parse_logged_model_order_by("metrics.acc", None, None, Some("d1")).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidParameterValue);
        assert_eq!(
            err.to_string(),
            "Invalid order_by for 'metrics.acc': dataset_digest 'd1' is given without a \
             dataset_name; name the dataset too"
        );
    }

    #[test]
    fn completed_orders_end_in_creation_then_model_id() {
        let plain = |key, ascending| LoggedModelOrderBy {
            key,
            ascending,
            dataset_name: None,
            dataset_digest: None,
        };
        let creation = LoggedModelOrderKey::Attribute(A::CreationTimestamp);
        let model_id = LoggedModelOrderKey::Attribute(A::ModelId);
        assert_eq!(
            complete_logged_model_order(Vec::new()),
            [
                plain(creation.clone(), false),
                plain(model_id.clone(), true)
            ]
        );
        let metric = plain(LoggedModelOrderKey::Metric("acc".into()), false);
        assert_eq!(
            complete_logged_model_order(vec![metric.clone()]),
            [
                metric,
                plain(creation.clone(), false),
                plain(model_id.clone(), true)
            ]
        );
        assert_eq!(
            complete_logged_model_order(vec![plain(creation.clone(), true)]),
            [plain(creation, true), plain(model_id, true)]
        );
    }
}
