//! MLflow's registry search: the `filter` grammar, `order_by` lists and page tokens.
//!
//! MLflow parses filters with `sqlparse` and then validates the resulting tree per entity. Arca
//! mirrors the grammar the SQL store accepts, not sqlparse's full SQL dialect: a conjunction of
//! `<identifier> <comparator> <value>` comparisons (see `mlflow-api.md` §1.4). Every search
//! (registry, runs, experiments, logged models) reads its filter in three layers:
//!
//! - `lexer`: grammar-agnostic tokens. Identifiers arrive already split into `prefix.key`,
//!   numbers keep their text and operators are whatever run of comparison characters was written,
//!   so the grammar layer, which knows what is allowed, is the one that explains what is not.
//! - `comparisons`: the one reader of the shared shape (conjunctions, comparators, values, IN
//!   lists, order_by items), driven by a grammar's `Grammar` implementation.
//! - `filter` and `order`: the registry's rules, which turn tokens into the AST below (`runs`,
//!   `experiments` and `logged_models` do the same for tracking). Everything behind them (the
//!   store's SQL builder) trusts the AST: a `version_number` clause always holds an `Int`, an
//!   `IN` always holds a non-empty `List`.
//!
//! Every mistake a caller can make is an `Error::invalid` (HTTP 400 INVALID_PARAMETER_VALUE)
//! that quotes the input and says what would have been accepted.

mod comparisons;
mod experiments;
mod filter;
mod lexer;
mod logged_models;
mod order;
mod runs;

use crate::Error;
use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE_NO_PAD, URL_SAFE_NO_PAD_INDIFFERENT};
use std::fmt;

pub use comparisons::{MAX_FILTER_LEN, MAX_ORDER_BY_ITEMS, MAX_ORDER_ITEM_LEN};
pub use experiments::{
    ExperimentAttribute, ExperimentClause, ExperimentFilter, ExperimentOrderBy,
    parse_experiment_filter, parse_experiment_order_by,
};
pub use filter::parse_filter;
pub use logged_models::{
    LoggedModelAttribute, LoggedModelClause, LoggedModelFilter, LoggedModelOrderBy,
    LoggedModelOrderKey, complete_logged_model_order, parse_logged_model_filter,
    parse_logged_model_order_by, parse_logged_model_order_field,
};
pub use order::parse_order_by;
pub use runs::{
    DatasetField, RunAttribute, RunClause, RunFilter, RunOrderBy, RunOrderKey, parse_run_filter,
    parse_run_order_by,
};

/// Which search endpoint a filter or order_by belongs to; each allows different keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SearchEntity {
    RegisteredModels,
    ModelVersions,
}

/// A conjunction of clauses. No clauses matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub clauses: Vec<Clause>,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clause {
    Attribute {
        key: AttributeKey,
        op: Comparator,
        value: FilterValue,
    },
    /// `tag.<key>`: the condition holds when the entity has the tag and its value matches.
    Tag {
        key: String,
        op: Comparator,
        value: FilterValue,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttributeKey {
    Name,
    RunId,
    /// `source_path` in the filter, the version's `source` on the wire.
    SourcePath,
    VersionNumber,
}

impl AttributeKey {
    /// The key as written in a filter.
    pub fn as_str(self) -> &'static str {
        match self {
            AttributeKey::Name => "name",
            AttributeKey::RunId => "run_id",
            AttributeKey::SourcePath => "source_path",
            AttributeKey::VersionNumber => "version_number",
        }
    }
}

impl fmt::Display for AttributeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Comparator {
    Eq,
    Ne,
    /// SQL `LIKE` with `%` and `_`; case-sensitive, as MLflow makes it on SQLite.
    Like,
    /// Case-insensitive `LIKE`.
    ILike,
    In,
    NotIn,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Comparator {
    /// The comparator as written in a filter (keywords upper-case).
    pub fn as_str(self) -> &'static str {
        match self {
            Comparator::Eq => "=",
            Comparator::Ne => "!=",
            Comparator::Like => "LIKE",
            Comparator::ILike => "ILIKE",
            Comparator::In => "IN",
            Comparator::NotIn => "NOT IN",
            Comparator::Lt => "<",
            Comparator::Le => "<=",
            Comparator::Gt => ">",
            Comparator::Ge => ">=",
        }
    }
}

impl fmt::Display for Comparator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterValue {
    Str(String),
    Int(i64),
    /// The elements of an `IN (...)` list; never empty.
    List(Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderKey {
    Name,
    VersionNumber,
    CreationTimestamp,
    LastUpdatedTimestamp,
}

impl OrderKey {
    /// The canonical key as written in an order_by clause.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderKey::Name => "name",
            OrderKey::VersionNumber => "version_number",
            OrderKey::CreationTimestamp => "creation_timestamp",
            OrderKey::LastUpdatedTimestamp => "last_updated_timestamp",
        }
    }
}

impl fmt::Display for OrderKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrderBy {
    pub key: OrderKey,
    pub ascending: bool,
}

/// Where the next page starts. Clients only round-trip `next_page_token`, so the format is ours:
/// URL-safe base64 (no padding) of a small JSON object.
///
/// - `{"after":[...],"search":"..."}`: resume after the row whose order-key values are listed
///   (keyset paging), in the search that `search` fingerprints. Each page then costs an index
///   seek, however deep it is, and rows inserted while a client pages never shift the rest.
/// - `{"offset":N}`: skip N rows. That is MLflow's payload; decoding also tolerates padding and
///   extra fields, so a token minted by MLflow itself still works. Arca mints these (with a
///   `search` fingerprint) only for orders it cannot resume by value, such as a metric.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageToken {
    pub start: PageStart,
    /// The fingerprint of the search (filter, order, scope) that minted the token; `None` in a
    /// token minted by MLflow, which is then trusted as MLflow trusts it.
    pub search: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PageStart {
    Offset(u64),
    /// The order-key values of the last row already shown, in the order's own order.
    After(Vec<KeyValue>),
}

/// One order-key value of a row, as a keyset page token carries it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum KeyValue {
    Int(i64),
    Text(String),
}

#[derive(serde::Serialize, serde::Deserialize)]
struct PageTokenBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    offset: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    after: Option<Vec<KeyValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    search: Option<String>,
}

/// MLflow's page sizes for registry searches: registered models 100 by default and at most 1000,
/// model versions up to 200,000.
pub const MODEL_SEARCH_DEFAULT: u64 = 100;
pub const MODEL_SEARCH_MAX: u64 = 1000;
pub const VERSION_SEARCH_DEFAULT: u64 = 200_000;
pub const VERSION_SEARCH_MAX: u64 = 200_000;

impl PageToken {
    /// A token that skips `offset` rows of any search, as MLflow's do.
    pub fn offset(offset: u64) -> Self {
        PageToken {
            start: PageStart::Offset(offset),
            search: None,
        }
    }

    pub fn encode(&self) -> String {
        let (offset, after) = match &self.start {
            PageStart::Offset(n) => (Some(*n), None),
            PageStart::After(values) => (None, Some(values.clone())),
        };
        let body = PageTokenBody {
            offset,
            after,
            search: self.search.clone(),
        };
        let json = serde_json::to_vec(&body).expect("numbers and strings always serialize");
        URL_SAFE_NO_PAD.encode(json)
    }

    /// The page token of a request: none when absent or empty, as MLflow reads it.
    pub fn from_request(raw: Option<&str>) -> Result<Option<Self>, Error> {
        raw.filter(|t| !t.is_empty())
            .map(PageToken::decode)
            .transpose()
    }

    pub fn decode(s: &str) -> Result<Self, Error> {
        let invalid = |why: &str| {
            Error::invalid(format!(
                "Invalid page token '{s}': {why}; pass the next_page_token of a previous search unchanged"
            ))
        };
        let bytes = URL_SAFE_NO_PAD_INDIFFERENT
            .decode(s.trim())
            .map_err(|_| invalid("it is not URL-safe base64"))?;
        let body: PageTokenBody = serde_json::from_slice(&bytes)
            .map_err(|_| invalid("it does not hold a non-negative offset"))?;
        let start = match (body.offset, body.after) {
            (Some(offset), None) => PageStart::Offset(offset),
            (None, Some(values)) if body.search.is_some() && !values.is_empty() => {
                PageStart::After(values)
            }
            _ => return Err(invalid("it does not hold a non-negative offset")),
        };
        Ok(PageToken {
            start,
            search: body.search,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_tokens_round_trip() {
        for offset in [0, 1, 100, u64::MAX] {
            let token = PageToken::offset(offset).encode();
            assert!(!token.contains('='), "no padding in {token}");
            assert!(!token.contains('+') && !token.contains('/'));
            assert_eq!(
                PageToken::decode(&token).unwrap(),
                PageToken::offset(offset)
            );
        }
    }

    #[test]
    fn page_token_payload_is_mlflow_shaped() {
        let token = PageToken::offset(100).encode();
        let json = URL_SAFE_NO_PAD.decode(&token).unwrap();
        assert_eq!(json, br#"{"offset":100}"#);
    }

    #[test]
    fn page_tokens_minted_by_mlflow_decode() {
        // base64(json.dumps({"offset": 100})) from the reference, with and without padding.
        assert_eq!(
            PageToken::decode("eyJvZmZzZXQiOiAxMDB9").unwrap(),
            PageToken::offset(100)
        );
        let padded = base64::engine::general_purpose::STANDARD.encode(br#"{"offset": 7}"#);
        assert!(padded.ends_with('='));
        assert_eq!(PageToken::decode(&padded).unwrap(), PageToken::offset(7));
        // MLflow's logged-model searches put their scope beside the offset.
        let logged = base64::engine::general_purpose::STANDARD.encode(
            br#"{"experiment_ids": ["1"], "filter_string": null, "order_by": null, "offset": 3}"#,
        );
        assert_eq!(PageToken::decode(&logged).unwrap(), PageToken::offset(3));
    }

    #[test]
    fn keyset_tokens_round_trip_with_their_search() {
        let token = PageToken {
            start: PageStart::After(vec![KeyValue::Int(-5), KeyValue::Text("m-1".into())]),
            search: Some("0123abcd".into()),
        };
        let encoded = token.encode();
        let json = URL_SAFE_NO_PAD.decode(&encoded).unwrap();
        assert_eq!(json, br#"{"after":[-5,"m-1"],"search":"0123abcd"}"#);
        assert_eq!(PageToken::decode(&encoded).unwrap(), token);
    }

    #[test]
    fn bad_page_tokens_are_invalid_parameters() {
        let not_json = URL_SAFE_NO_PAD.encode("offset=3");
        let negative = URL_SAFE_NO_PAD.encode(r#"{"offset":-1}"#);
        let missing = URL_SAFE_NO_PAD.encode(r#"{"start":1}"#);
        let both = URL_SAFE_NO_PAD.encode(r#"{"offset":1,"after":[1],"search":"x"}"#);
        let unscoped = URL_SAFE_NO_PAD.encode(r#"{"after":[1]}"#);
        let empty_after = URL_SAFE_NO_PAD.encode(r#"{"after":[],"search":"x"}"#);
        let float_after = URL_SAFE_NO_PAD.encode(r#"{"after":[1.5],"search":"x"}"#);
        for bad in [
            both.as_str(),
            unscoped.as_str(),
            empty_after.as_str(),
            float_after.as_str(),
            "",
            "!!!",
            "a",
            not_json.as_str(),
            negative.as_str(),
            missing.as_str(),
        ] {
            let err = PageToken::decode(bad).unwrap_err();
            assert_eq!(err.code(), crate::ErrorCode::InvalidParameterValue, "{bad}");
            assert!(err.to_string().starts_with("Invalid page token"), "{err}");
        }
    }

    #[test]
    fn comparators_and_keys_render_as_written() {
        assert_eq!(Comparator::NotIn.to_string(), "NOT IN");
        assert_eq!(Comparator::Ge.to_string(), ">=");
        assert_eq!(AttributeKey::SourcePath.to_string(), "source_path");
        assert_eq!(
            OrderKey::LastUpdatedTimestamp.to_string(),
            "last_updated_timestamp"
        );
    }
}
