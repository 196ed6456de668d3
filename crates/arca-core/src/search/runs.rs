//! `runs/search`: the run filter and order_by grammar, as MLflow 3.18's `SearchUtils` and SQL
//! store define it (`mlflow/utils/search_utils.py`, `_get_sqlalchemy_filter_clauses` and
//! `_get_orderby_clauses` in `mlflow/store/tracking/sqlalchemy_store.py`):
//!
//! | identifier | comparators | value |
//! |---|---|---|
//! | `metrics.<k>` (`metric.`) | `=`, `!=`, `<`, `<=`, `>`, `>=` | a number: `0.5`, `-1`, `1e-3` |
//! | `params.<k>` (`param.`, `parameter.`, `parameters.`) | `=`, `!=`, `LIKE`, `ILIKE`, `IS [NOT] NULL` | a quoted string |
//! | `tags.<k>` (`tag.`) | the same as params | a quoted string |
//! | `run_id` | `=`, `!=`, `LIKE`, `ILIKE`, `IN`, `NOT IN` | a quoted string or a list |
//! | `run_name`, `status`, `user_id`, `artifact_uri` | `=`, `!=`, `LIKE`, `ILIKE` | a quoted string |
//! | `start_time`, `end_time` | the numeric ones | an integer (ms since the epoch) |
//! | `datasets.name`, `.digest`, `.context` (`dataset.`) | `=`, `!=`, `LIKE`, `ILIKE`, `IN`, `NOT IN` | a quoted string or a list |
//!
//! Attributes are written bare or behind `attributes.`, `attribute.`, `attr.` or `run.`; MLflow
//! also takes the aliases `created`/`Created` for `start_time` and `` `run name` `` (any of
//! three capitalisations) for `run_name`. Keys with spaces or odd characters are backtick- or
//! double-quoted: ``metrics.`my metric` ``; dotted keys need no quotes (`tags.mlflow.runName`),
//! because only the first dot separates the prefix. `lifecycle_stage` and `experiment_id` are
//! not searchable: the request's `run_view_type` and `experiment_ids` select those.
//!
//! Where MLflow is looser than this grammar: it also compares `start_time` with a fractional
//! number (`start_time > 1.5`), which Arca refuses because times are whole milliseconds.

use super::comparisons::{
    Condition, Grammar, NUMERIC_OPS, Rule, STRING_OPS, STRING_OR_LIST_OPS, ValueKind,
    parse_conjunction, parse_order_item,
};
use super::lexer::Ident;
use super::{Comparator, FilterValue};
use crate::Error;
use std::fmt;

/// A conjunction of run clauses. No clauses matches every run of the searched experiments.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunFilter {
    pub clauses: Vec<RunClause>,
}

impl RunFilter {
    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum RunClause {
    /// `metrics.<key>`: compares the run's latest value of the metric (MLflow's
    /// `latest_metrics`). A NaN metric satisfies only `!=`.
    Metric {
        key: String,
        op: Comparator,
        value: f64,
    },
    /// `params.<key>`: holds when the run has the param and its value matches; `value` is a `Str`.
    Param {
        key: String,
        op: Comparator,
        value: FilterValue,
    },
    /// `tags.<key>`: like `Param`; `value` is a `Str`.
    Tag {
        key: String,
        op: Comparator,
        value: FilterValue,
    },
    /// `params.<key> IS NOT NULL` (`present`) or `IS NULL` (`!present`).
    ParamPresence { key: String, present: bool },
    /// `tags.<key> IS NOT NULL` (`present`) or `IS NULL` (`!present`).
    TagPresence { key: String, present: bool },
    /// `value` is an `Int` for `start_time`/`end_time`, a `List` after `IN`/`NOT IN` (`run_id`
    /// only) and a `Str` otherwise. MLflow evaluates `run_name` against the `mlflow.runName` tag,
    /// because runs logged before MLflow 1.30 have no name column.
    Attribute {
        key: RunAttribute,
        op: Comparator,
        value: FilterValue,
    },
    /// `datasets.<field>`: holds when some dataset input of the run matches. `context` is the
    /// input's `mlflow.data.context` tag. `value` is a `Str` or, after `IN`/`NOT IN`, a `List`.
    Dataset {
        field: DatasetField,
        op: Comparator,
        value: FilterValue,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunAttribute {
    RunId,
    RunName,
    UserId,
    Status,
    /// Also written `created` or `Created`.
    StartTime,
    EndTime,
    ArtifactUri,
}

impl RunAttribute {
    /// The canonical key as written in a filter or order_by.
    pub fn as_str(self) -> &'static str {
        match self {
            RunAttribute::RunId => "run_id",
            RunAttribute::RunName => "run_name",
            RunAttribute::UserId => "user_id",
            RunAttribute::Status => "status",
            RunAttribute::StartTime => "start_time",
            RunAttribute::EndTime => "end_time",
            RunAttribute::ArtifactUri => "artifact_uri",
        }
    }

    /// Every spelling MLflow accepts, with the attribute it names.
    fn lookup(key: &str) -> Option<RunAttribute> {
        Some(match key {
            "run_id" => RunAttribute::RunId,
            "run_name" | "run name" | "Run name" | "Run Name" => RunAttribute::RunName,
            "user_id" => RunAttribute::UserId,
            "status" => RunAttribute::Status,
            "start_time" | "created" | "Created" => RunAttribute::StartTime,
            "end_time" => RunAttribute::EndTime,
            "artifact_uri" => RunAttribute::ArtifactUri,
            _ => return None,
        })
    }
}

impl fmt::Display for RunAttribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What `datasets.<field>` compares: the dataset's name or digest, or the input's context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DatasetField {
    Name,
    Digest,
    Context,
}

impl DatasetField {
    pub fn as_str(self) -> &'static str {
        match self {
            DatasetField::Name => "name",
            DatasetField::Digest => "digest",
            DatasetField::Context => "context",
        }
    }
}

impl fmt::Display for DatasetField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RunOrderKey {
    /// The latest value; runs without the metric sort last, NaN after every number.
    Metric(String),
    /// Runs without the param sort last, in either direction.
    Param(String),
    /// Runs without the tag sort last, in either direction.
    Tag(String),
    Attribute(RunAttribute),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RunOrderBy {
    pub key: RunOrderKey,
    pub ascending: bool,
}

/// Parses the `filter` of `runs/search`. Empty or whitespace-only input is the empty filter.
pub fn parse_run_filter(input: &str) -> Result<RunFilter, Error> {
    parse_conjunction::<RunGrammar>(input).map(|clauses| RunFilter { clauses })
}

/// Parses the `order_by` of `runs/search` and makes the order total the way MLflow's SQL store
/// does: `start_time DESC` is appended unless start_time is already a key, then `run_id ASC`
/// unless run_id is. So no items give MLflow's default, `start_time DESC, run_id ASC`.
pub fn parse_run_order_by(items: &[String]) -> Result<Vec<RunOrderBy>, Error> {
    super::comparisons::check_order_by_items(items)?;
    let mut order: Vec<RunOrderBy> = Vec::with_capacity(items.len() + 2);
    for item in items {
        let fail =
            |detail: String| Error::invalid(format!("Invalid order_by clause '{item}': {detail}"));
        let (ident, written, ascending) = parse_order_item(item, ORDER_EXPECTED).map_err(fail)?;
        let key = order_key(&ident, written).map_err(fail)?;
        if order.iter().any(|o| o.key == key) {
            return Err(fail(format!(
                "the list already orders by {}; each key may appear once",
                describe(&key)
            )));
        }
        order.push(RunOrderBy { key, ascending });
    }
    for (attribute, ascending) in [
        (RunAttribute::StartTime, false),
        (RunAttribute::RunId, true),
    ] {
        let key = RunOrderKey::Attribute(attribute);
        if !order.iter().any(|o| o.key == key) {
            order.push(RunOrderBy { key, ascending });
        }
    }
    Ok(order)
}

const FILTER_EXPECTED: &str = "metrics.<key>, params.<key>, tags.<key>, \
     datasets.name, datasets.digest, datasets.context, or an attribute: run_id, run_name, \
     status, user_id, artifact_uri, start_time (or created), end_time";
const ORDER_KEYS: &str = "metrics.<key>, params.<key>, tags.<key>, or an attribute: run_id, \
     run_name, status, user_id, artifact_uri, start_time (or created), end_time";
const ORDER_EXPECTED: &str = "expected '<key> [ASC|DESC]' with key metrics.<key>, params.<key>, \
     tags.<key>, or an attribute: run_id, run_name, status, user_id, artifact_uri, \
     start_time (or created), end_time";

#[derive(Debug)]
enum Subject {
    Metric(String),
    Param(String),
    Tag(String),
    Attribute(RunAttribute),
    Dataset(DatasetField),
}

/// The entity an identifier's prefix names; a bare identifier is an attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prefix {
    Metric,
    Param,
    Tag,
    Attribute,
    Dataset,
}

fn prefix(ident: &Ident) -> Option<Prefix> {
    Some(match ident.prefix.as_deref() {
        None | Some("attribute" | "attributes" | "attr" | "run") => Prefix::Attribute,
        Some("metric" | "metrics") => Prefix::Metric,
        Some("param" | "params" | "parameter" | "parameters") => Prefix::Param,
        Some("tag" | "tags") => Prefix::Tag,
        Some("dataset" | "datasets") => Prefix::Dataset,
        Some(_) => return None,
    })
}

fn attribute(ident: &Ident, written: &str, expected: &str) -> Result<RunAttribute, String> {
    RunAttribute::lookup(&ident.key).ok_or_else(|| {
        let hint = match ident.key.as_str() {
            "lifecycle_stage" => "; runs are selected by lifecycle stage with run_view_type",
            "experiment_id" => "; runs are selected by experiment with experiment_ids",
            _ => "",
        };
        format!("unsupported attribute '{written}' for runs{hint}; expected {expected}")
    })
}

fn unknown_prefix(ident: &Ident, written: &str, expected: &str) -> String {
    format!(
        "unsupported identifier '{written}': prefix '{}.' is not supported here; \
         expected {expected}",
        ident.prefix.as_deref().unwrap_or_default()
    )
}

fn order_key(ident: &Ident, written: &str) -> Result<RunOrderKey, String> {
    let key = ident.key.clone();
    match prefix(ident) {
        Some(Prefix::Metric) => Ok(RunOrderKey::Metric(key)),
        Some(Prefix::Param) => Ok(RunOrderKey::Param(key)),
        Some(Prefix::Tag) => Ok(RunOrderKey::Tag(key)),
        Some(Prefix::Attribute) if ident.is_keyword("ASC") || ident.is_keyword("DESC") => {
            Err(format!("missing key before '{written}'; {ORDER_EXPECTED}"))
        }
        Some(Prefix::Attribute) => {
            attribute(ident, written, ORDER_KEYS).map(RunOrderKey::Attribute)
        }
        Some(Prefix::Dataset) => Err(format!(
            "runs cannot be ordered by dataset fields such as '{written}'; {ORDER_EXPECTED}"
        )),
        None => Err(unknown_prefix(ident, written, ORDER_KEYS)),
    }
}

fn describe(key: &RunOrderKey) -> String {
    match key {
        RunOrderKey::Metric(k) => format!("metrics.{k}"),
        RunOrderKey::Param(k) => format!("params.{k}"),
        RunOrderKey::Tag(k) => format!("tags.{k}"),
        RunOrderKey::Attribute(a) => a.to_string(),
    }
}

struct RunGrammar;

impl Grammar for RunGrammar {
    type Subject = Subject;
    type Clause = RunClause;
    const EXPECTED: &'static str = FILTER_EXPECTED;

    fn resolve(ident: &Ident, written: &str) -> Result<Subject, String> {
        let key = ident.key.clone();
        match prefix(ident) {
            Some(Prefix::Metric) => Ok(Subject::Metric(key)),
            Some(Prefix::Param) => Ok(Subject::Param(key)),
            Some(Prefix::Tag) => Ok(Subject::Tag(key)),
            Some(Prefix::Attribute) => {
                attribute(ident, written, FILTER_EXPECTED).map(Subject::Attribute)
            }
            Some(Prefix::Dataset) => match key.as_str() {
                "name" => Ok(Subject::Dataset(DatasetField::Name)),
                "digest" => Ok(Subject::Dataset(DatasetField::Digest)),
                "context" => Ok(Subject::Dataset(DatasetField::Context)),
                _ => Err(format!(
                    "unsupported dataset field '{written}'; expected datasets.name, \
                     datasets.digest or datasets.context"
                )),
            },
            None => Err(unknown_prefix(ident, written, FILTER_EXPECTED)),
        }
    }

    fn rule(subject: &Subject) -> Rule {
        let (ops, value, presence) = match subject {
            Subject::Metric(_) => (NUMERIC_OPS, ValueKind::Number, false),
            Subject::Param(_) | Subject::Tag(_) => (STRING_OPS, ValueKind::Text, true),
            Subject::Attribute(RunAttribute::StartTime | RunAttribute::EndTime) => {
                (NUMERIC_OPS, ValueKind::Integer, false)
            }
            // MLflow takes lists for run_id only (`SearchUtils.LIST_SUPPORTED_KEYS`).
            Subject::Attribute(RunAttribute::RunId) | Subject::Dataset(_) => {
                (STRING_OR_LIST_OPS, ValueKind::Text, false)
            }
            Subject::Attribute(_) => (STRING_OPS, ValueKind::Text, false),
        };
        Rule {
            ops,
            value,
            presence,
        }
    }

    fn clause(subject: Subject, condition: Condition, _written: &str) -> Result<RunClause, String> {
        Ok(match (subject, condition) {
            (Subject::Metric(key), Condition::CompareNumber(op, value)) => {
                RunClause::Metric { key, op, value }
            }
            (Subject::Param(key), Condition::Compare(op, value)) => {
                RunClause::Param { key, op, value }
            }
            (Subject::Param(key), Condition::Presence(present)) => {
                RunClause::ParamPresence { key, present }
            }
            (Subject::Tag(key), Condition::Compare(op, value)) => RunClause::Tag { key, op, value },
            (Subject::Tag(key), Condition::Presence(present)) => {
                RunClause::TagPresence { key, present }
            }
            (Subject::Attribute(key), Condition::Compare(op, value)) => {
                RunClause::Attribute { key, op, value }
            }
            (Subject::Dataset(field), Condition::Compare(op, value)) => {
                RunClause::Dataset { field, op, value }
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

    fn clauses(input: &str) -> Vec<RunClause> {
        match parse_run_filter(input) {
            Ok(filter) => filter.clauses,
            Err(err) => panic!("{input:?} should parse: {err}"),
        }
    }

    fn error(input: &str) -> String {
        let err = parse_run_filter(input).expect_err(input);
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

    fn metric(key: &str, op: Op, value: f64) -> RunClause {
        RunClause::Metric {
            key: key.to_owned(),
            op,
            value,
        }
    }

    fn param(key: &str, op: Op, value: &str) -> RunClause {
        RunClause::Param {
            key: key.to_owned(),
            op,
            value: s(value),
        }
    }

    fn tag(key: &str, op: Op, value: &str) -> RunClause {
        RunClause::Tag {
            key: key.to_owned(),
            op,
            value: s(value),
        }
    }

    fn attr(key: RunAttribute, op: Op, value: FilterValue) -> RunClause {
        RunClause::Attribute { key, op, value }
    }

    fn dataset(field: DatasetField, op: Op, value: FilterValue) -> RunClause {
        RunClause::Dataset { field, op, value }
    }

    #[test]
    fn empty_filters_match_every_run() {
        for input in ["", "  ", "\n\t"] {
            assert!(parse_run_filter(input).unwrap().is_empty());
        }
    }

    #[test]
    fn parses_what_the_mlflow_client_sends() {
        assert_eq!(clauses("metrics.acc > 0.5"), [metric("acc", Op::Gt, 0.5)]);
        assert_eq!(clauses("params.C = '1.0'"), [param("C", Op::Eq, "1.0")]);
        assert_eq!(
            clauses("attributes.status = 'FINISHED'"),
            [attr(RunAttribute::Status, Op::Eq, s("FINISHED"))]
        );
        assert_eq!(
            clauses("run_id IN ('a','b')"),
            [attr(RunAttribute::RunId, Op::In, list(&["a", "b"]))]
        );
        assert_eq!(
            clauses("tags.mlflow.runName = 'x'"),
            [tag("mlflow.runName", Op::Eq, "x")]
        );
        assert_eq!(
            clauses("tags.`mlflow.runName` = 'x'"),
            [tag("mlflow.runName", Op::Eq, "x")]
        );
        assert_eq!(
            clauses("attributes.run_name = 'r1' and metrics.loss <= 0.25"),
            [
                attr(RunAttribute::RunName, Op::Eq, s("r1")),
                metric("loss", Op::Le, 0.25),
            ]
        );
    }

    #[test]
    fn metrics_take_every_numeric_comparator_and_any_number() {
        let cases = [
            ("metrics.m = 1", Op::Eq, 1.0),
            ("metrics.m != 1.5", Op::Ne, 1.5),
            ("metrics.m < -1", Op::Lt, -1.0),
            ("metrics.m <= -0.5", Op::Le, -0.5),
            ("metrics.m > 1e-3", Op::Gt, 0.001),
            ("metrics.m >= 2E5", Op::Ge, 200000.0),
            ("metric.m > .5", Op::Gt, 0.5),
            ("metrics.m>-.5", Op::Gt, -0.5),
            ("metrics.m > +2", Op::Gt, 2.0),
            ("metrics.m < 1.5e+10", Op::Lt, 1.5e10),
        ];
        for (input, op, value) in cases {
            assert_eq!(clauses(input), [metric("m", op, value)], "{input}");
        }
    }

    #[test]
    fn keys_may_be_quoted_and_prefixes_have_aliases() {
        assert_eq!(
            clauses("metrics.`my metric` > 0"),
            [metric("my metric", Op::Gt, 0.0)]
        );
        assert_eq!(clauses(r#"tags."a.b" != 'c'"#), [tag("a.b", Op::Ne, "c")]);
        for prefix in ["param", "params", "parameter", "parameters"] {
            assert_eq!(
                clauses(&format!("{prefix}.lr LIKE '0.%'")),
                [param("lr", Op::Like, "0.%")]
            );
        }
        assert_eq!(clauses("tag.t ILIKE '%X%'"), [tag("t", Op::ILike, "%X%")]);
        for prefix in ["", "attribute.", "attributes.", "attr.", "run."] {
            assert_eq!(
                clauses(&format!("{prefix}user_id = 'root'")),
                [attr(RunAttribute::UserId, Op::Eq, s("root"))]
            );
        }
    }

    #[test]
    fn string_values_take_either_quote() {
        assert_eq!(clauses(r#"params.a = "x""#), [param("a", Op::Eq, "x")]);
        assert_eq!(clauses("params.a = 'it''s'"), [param("a", Op::Eq, "it's")]);
        assert_eq!(clauses("params.a = ''"), [param("a", Op::Eq, "")]);
    }

    #[test]
    fn params_and_tags_can_test_presence() {
        assert_eq!(
            clauses("params.lr IS NULL AND tags.t is not null"),
            [
                RunClause::ParamPresence {
                    key: "lr".into(),
                    present: false
                },
                RunClause::TagPresence {
                    key: "t".into(),
                    present: true
                },
            ]
        );
    }

    #[test]
    fn attributes_follow_their_type() {
        assert_eq!(
            clauses("start_time >= 1700000000000 AND end_time < 1.8e12"),
            [
                attr(
                    RunAttribute::StartTime,
                    Op::Ge,
                    FilterValue::Int(1_700_000_000_000)
                ),
                attr(
                    RunAttribute::EndTime,
                    Op::Lt,
                    FilterValue::Int(1_800_000_000_000)
                ),
            ]
        );
        assert_eq!(
            clauses("created > 5 AND Created != 6"),
            [
                attr(RunAttribute::StartTime, Op::Gt, FilterValue::Int(5)),
                attr(RunAttribute::StartTime, Op::Ne, FilterValue::Int(6)),
            ]
        );
        for alias in ["`run name`", "`Run name`", "attributes.`Run Name`"] {
            assert_eq!(
                clauses(&format!("{alias} LIKE 'r%'")),
                [attr(RunAttribute::RunName, Op::Like, s("r%"))]
            );
        }
        assert_eq!(
            clauses("run_id NOT IN ('a') AND artifact_uri ILIKE 's3://%'"),
            [
                attr(RunAttribute::RunId, Op::NotIn, list(&["a"])),
                attr(RunAttribute::ArtifactUri, Op::ILike, s("s3://%")),
            ]
        );
    }

    #[test]
    fn datasets_match_name_digest_and_context() {
        assert_eq!(
            clauses(
                "datasets.name IN ('train', 'eval') AND dataset.digest = 'abc' \
                 AND datasets.context LIKE 'train%'"
            ),
            [
                dataset(DatasetField::Name, Op::In, list(&["train", "eval"])),
                dataset(DatasetField::Digest, Op::Eq, s("abc")),
                dataset(DatasetField::Context, Op::Like, s("train%")),
            ]
        );
    }

    #[test]
    fn identifier_errors_list_what_is_searchable() {
        assert_eq!(
            error("foo.bar = 'x'"),
            format!(
                "unsupported identifier 'foo.bar': prefix 'foo.' is not supported here; \
                 expected {FILTER_EXPECTED}"
            )
        );
        assert_eq!(
            error("name = 'x'"),
            format!("unsupported attribute 'name' for runs; expected {FILTER_EXPECTED}")
        );
        assert!(
            error("lifecycle_stage = 'active'")
                .starts_with("unsupported attribute 'lifecycle_stage' for runs; runs are selected")
        );
        assert!(error("experiment_id = '0'").contains("with experiment_ids"));
        assert!(error("Metrics.acc > 1").starts_with("unsupported identifier 'Metrics.acc'"));
        assert!(error("`metrics.acc` > 1").starts_with("unsupported attribute '`metrics.acc`'"));
        assert_eq!(
            error("datasets.size = 'x'"),
            "unsupported dataset field 'datasets.size'; expected datasets.name, datasets.digest \
             or datasets.context"
        );
    }

    #[test]
    fn comparator_errors_say_what_the_key_accepts() {
        let cases = [
            (
                "metrics.acc LIKE '0.%'",
                "comparator 'LIKE' is not supported for 'metrics.acc'; expected one of \
                 =, !=, <, <=, >, >=",
            ),
            (
                "params.a > 'x'",
                "comparator '>' is not supported for 'params.a'; expected one of \
                 =, !=, LIKE, ILIKE, IS NULL, IS NOT NULL",
            ),
            (
                "tags.t IN ('a')",
                "comparator 'IN' is not supported for 'tags.t'",
            ),
            (
                "status IN ('FINISHED')",
                "comparator 'IN' is not supported for 'status'; expected one of =, !=, LIKE, ILIKE",
            ),
            (
                "start_time LIKE '1%'",
                "comparator 'LIKE' is not supported for 'start_time'",
            ),
            (
                "datasets.name > 'a'",
                "comparator '>' is not supported for 'datasets.name'; expected one of \
                 =, !=, LIKE, ILIKE, IN, NOT IN",
            ),
            ("metrics.acc == 1", "unsupported comparator '=='"),
            ("params.a NOT LIKE 'x'", "unsupported comparator 'NOT LIKE'"),
            (
                "metrics.acc IS NULL",
                "IS NULL and IS NOT NULL are not supported for 'metrics.acc'; expected one of \
                 =, !=, <, <=, >, >=",
            ),
            (
                "run_name IS NOT NULL",
                "IS NULL and IS NOT NULL are not supported for 'run_name'",
            ),
            (
                "params.a IS 'x'",
                "expected NULL after 'params.a IS', got ''x''; e.g. params.a IS NULL or \
                 params.a IS NOT NULL",
            ),
            ("tags.t IS NOT", "missing NULL after 'tags.t IS NOT'"),
        ];
        for (input, expected) in cases {
            let err = error(input);
            assert!(err.starts_with(expected), "{input}: {err}");
        }
    }

    #[test]
    fn value_errors_say_what_the_key_takes() {
        let cases = [
            (
                "metrics.acc > '0.5'",
                "'metrics.acc' is compared with an unquoted number, got the string '0.5'; \
                 e.g. metrics.acc > 0.5",
            ),
            (
                "metrics.acc > abc",
                "'metrics.acc' is compared with a number, got 'abc'",
            ),
            (
                "metrics.acc > NaN",
                "'metrics.acc' is compared with a number",
            ),
            ("metrics.acc > 1e400", "the number '1e400' is out of range"),
            (
                "params.C = 1.0",
                "the value for 'params.C' must be a quoted string, got '1.0'; \
                 e.g. params.C = 'value'",
            ),
            (
                "tags.t = x",
                "the value for 'tags.t' must be a quoted string",
            ),
            (
                "start_time > 1.5",
                "'start_time' is compared with an integer, got '1.5'",
            ),
            (
                "end_time = '5'",
                "'end_time' is compared with an unquoted number, got the string '5'; \
                 e.g. end_time = 1700000000000",
            ),
            (
                "run_id = ('a')",
                "a parenthesized list can only follow IN or NOT IN, not '='",
            ),
            (
                "run_id IN 'a'",
                "IN must be followed by a parenthesized list of quoted strings, got ''a''; \
                 e.g. run_id IN ('a', 'b')",
            ),
            ("run_id IN ()", "empty IN list"),
            (
                "run_id IN (1)",
                "IN lists hold quoted strings only, got '1'",
            ),
            (
                "run_id NOT IN ('a' 'b')",
                "expected ',' or ')' in the IN list, got ''b''",
            ),
            ("datasets.digest IN ('a',", "unclosed IN list"),
        ];
        for (input, expected) in cases {
            let err = error(input);
            assert!(err.starts_with(expected), "{input}: {err}");
        }
    }

    #[test]
    fn structure_errors_say_what_is_missing() {
        let cases = [
            (
                "metrics.acc",
                "missing comparator after 'metrics.acc'; expected one of =, !=, <, <=, >, >=",
            ),
            ("metrics.acc >", "missing value after 'metrics.acc >'"),
            (
                "metrics.acc 1",
                "missing comparator between 'metrics.acc' and '1'",
            ),
            ("metrics.acc > 1 AND", "the filter ends with AND"),
            (
                "metrics.acc > 1 OR metrics.acc < 0",
                "OR is not supported; comparisons can only be joined with AND",
            ),
            (
                "metrics.acc > 1 metrics.b > 2",
                "unexpected 'metrics.b' after a comparison",
            ),
            (
                "(metrics.acc > 1)",
                "parentheses are only allowed around IN lists",
            ),
            (
                "AND metrics.acc > 1",
                "expected an identifier (metrics.<key>, params.<key>",
            ),
            ("1 = metrics.acc", "expected an identifier"),
            ("params.a = 'x", "unterminated quoted text"),
            ("metrics.acc > 1;", "unexpected character ';'"),
            ("metrics. > 1", "expected a key after 'metrics.'"),
            ("metrics.val-loss > 1", "unexpected character '-'"),
        ];
        for (input, expected) in cases {
            let err = error(input);
            assert!(err.starts_with(expected), "{input}: {err}");
        }
    }

    fn order(items: &[&str]) -> Vec<RunOrderBy> {
        let items: Vec<String> = items.iter().map(|i| i.to_string()).collect();
        parse_run_order_by(&items).unwrap_or_else(|e| panic!("{items:?}: {e}"))
    }

    fn order_error(items: &[&str]) -> String {
        let items: Vec<String> = items.iter().map(|i| i.to_string()).collect();
        let err = parse_run_order_by(&items).expect_err("should fail");
        assert_eq!(err.code(), ErrorCode::InvalidParameterValue);
        err.to_string()
    }

    fn by(key: RunOrderKey, ascending: bool) -> RunOrderBy {
        RunOrderBy { key, ascending }
    }

    fn by_attr(attribute: RunAttribute, ascending: bool) -> RunOrderBy {
        by(RunOrderKey::Attribute(attribute), ascending)
    }

    #[test]
    fn default_order_is_newest_first_then_run_id() {
        assert_eq!(
            order(&[]),
            [
                by_attr(RunAttribute::StartTime, false),
                by_attr(RunAttribute::RunId, true)
            ]
        );
        // What `MlflowClient.search_runs(..., order_by=["start_time DESC"])` sends.
        assert_eq!(order(&["start_time DESC"]), order(&[]));
    }

    #[test]
    fn order_keys_get_the_tiebreaks_they_lack() {
        assert_eq!(
            order(&["metrics.acc DESC", "params.`my param` asc", "tags.t"]),
            [
                by(RunOrderKey::Metric("acc".into()), false),
                by(RunOrderKey::Param("my param".into()), true),
                by(RunOrderKey::Tag("t".into()), true),
                by_attr(RunAttribute::StartTime, false),
                by_attr(RunAttribute::RunId, true),
            ]
        );
        assert_eq!(
            order(&["created"]),
            [
                by_attr(RunAttribute::StartTime, true),
                by_attr(RunAttribute::RunId, true)
            ]
        );
        assert_eq!(
            order(&["attributes.run_id DESC"]),
            [
                by_attr(RunAttribute::RunId, false),
                by_attr(RunAttribute::StartTime, false)
            ]
        );
        assert_eq!(
            order(&[
                "metric.m",
                "run_name",
                "status",
                "user_id",
                "artifact_uri",
                "end_time"
            ])
            .len(),
            8
        );
    }

    #[test]
    fn order_errors_quote_the_item() {
        assert_eq!(
            order_error(&["start_time", "created DESC"]),
            "Invalid order_by clause 'created DESC': the list already orders by start_time; \
             each key may appear once"
        );
        assert!(order_error(&["metrics.a", "metric.a"]).contains("already orders by metrics.a"));
        assert_eq!(
            order_error(&["datasets.name"]),
            format!(
                "Invalid order_by clause 'datasets.name': runs cannot be ordered by dataset \
                 fields such as 'datasets.name'; {ORDER_EXPECTED}"
            )
        );
        assert_eq!(
            order_error(&["lifecycle_stage"]),
            format!(
                "Invalid order_by clause 'lifecycle_stage': unsupported attribute \
                 'lifecycle_stage' for runs; runs are selected by lifecycle stage with \
                 run_view_type; expected {ORDER_KEYS}"
            )
        );
        assert!(order_error(&["foo.bar"]).contains(&format!(
            "prefix 'foo.' is not supported here; expected {ORDER_KEYS}"
        )));
        assert!(order_error(&["DESC"]).contains("missing key before 'DESC'"));
        assert!(order_error(&["metrics.acc UP"]).contains("unsupported direction 'UP'"));
        assert!(order_error(&[""]).contains("it is empty"));
        assert!(
            order_error(&["metrics.acc DESC, start_time"])
                .contains("unexpected ', start_time' after the direction")
        );
    }
}
