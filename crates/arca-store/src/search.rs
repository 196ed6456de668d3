//! Search over registered models and model versions: a parsed MLflow filter becomes a WHERE
//! clause with bound values, an order_by list becomes ORDER BY over indexed columns, and a page is
//! read by keyset (`keyset.rs`) plus a fixed number of detail queries, however large the
//! registry and however deep the page. Versions are searched without a join: their model's
//! name is kept on each version row (`model_name`), so that orders and filters by name are
//! served by indexes of `model_versions` alone.

use crate::MetadataStore;
use crate::auth::ReadScope;
use crate::error::Result;
use crate::keyset::{self, KeyType, Paging, SortKey};
use crate::models::{RM_COLUMNS, load_models};
use crate::sql::{Bind, SqlBuilder};
use crate::versions::{DELETED_STAGE, MV_COLUMNS, attach_version_details, version_from_row};
use arca_core::model::{ModelVersion, Page, RegisteredModel};
use arca_core::prompt::{IS_PROMPT_TAG, search_selects_prompts};
use arca_core::search::{
    AttributeKey, Clause, Comparator, Filter, FilterValue, OrderBy, OrderKey, PageToken,
    SearchEntity, parse_order_by,
};
use std::collections::BTreeMap;

#[derive(Clone, Copy)]
enum Target {
    Models,
    Versions,
}

impl Target {
    fn entity(self) -> SearchEntity {
        match self {
            Target::Models => SearchEntity::RegisteredModels,
            Target::Versions => SearchEntity::ModelVersions,
        }
    }

    fn attribute_column(self, key: &AttributeKey) -> &'static str {
        match key {
            AttributeKey::Name => match self {
                Target::Models => "rm.name",
                Target::Versions => "mv.model_name",
            },
            AttributeKey::RunId => "mv.run_id",
            AttributeKey::SourcePath => "mv.source",
            AttributeKey::VersionNumber => "mv.version",
        }
    }

    fn tag_subquery(self) -> &'static str {
        match self {
            Target::Models => {
                "SELECT 1 FROM registered_model_tags t WHERE t.model_id = rm.id AND t.key = "
            }
            Target::Versions => {
                "SELECT 1 FROM model_version_tags t WHERE t.model_id = mv.model_id \
                 AND t.version = mv.version AND t.key = "
            }
        }
    }

    /// Leaves prompts out, as MLflow does: a model tagged as a prompt, and every version of a
    /// model that has a version (even a deleted one) tagged as a prompt. That set of models is
    /// read once per query from the tag index, so it costs what the prompt versions number, not
    /// what all versions do.
    fn exclude_prompts(self) -> &'static str {
        match self {
            Target::Models => {
                " AND NOT EXISTS (SELECT 1 FROM registered_model_tags t \
                 WHERE t.model_id = rm.id AND t.key = "
            }
            Target::Versions => {
                " AND mv.model_id NOT IN (SELECT t.model_id FROM model_version_tags t \
                 WHERE t.key = "
            }
        }
    }

    fn sort_key(self, order: &OrderBy) -> SortKey {
        let (column, ty) = match (self, order.key) {
            (Target::Models, OrderKey::Name) => ("rm.name", KeyType::Text),
            (Target::Versions, OrderKey::Name) => ("mv.model_name", KeyType::Text),
            (_, OrderKey::VersionNumber) => ("mv.version", KeyType::Int),
            (Target::Models, OrderKey::CreationTimestamp) => ("rm.creation_time", KeyType::Int),
            (Target::Models, OrderKey::LastUpdatedTimestamp) => {
                ("rm.last_updated_time", KeyType::Int)
            }
            (Target::Versions, OrderKey::CreationTimestamp) => ("mv.creation_time", KeyType::Int),
            (Target::Versions, OrderKey::LastUpdatedTimestamp) => {
                ("mv.last_updated_time", KeyType::Int)
            }
        };
        SortKey::new(column, ty, order.ascending)
    }
}

fn value_bind(value: &FilterValue) -> Bind {
    match value {
        FilterValue::Str(s) => Bind::Text(s.clone()),
        FilterValue::Int(i) => Bind::Int(*i),
        FilterValue::List(items) => Bind::Text(items.join(",")),
    }
}

/// `<lhs> <op> <value>` with the value bound; `lhs` is a column name of ours.
pub(crate) fn push_comparison(q: &mut SqlBuilder, lhs: &str, op: &Comparator, value: &FilterValue) {
    let sql_op = match (op, value) {
        (Comparator::In, FilterValue::List(items)) => return push_in(q, lhs, " IN ", items),
        (Comparator::NotIn, FilterValue::List(items)) => {
            return push_in(q, lhs, " NOT IN ", items);
        }
        (Comparator::ILike, _) => {
            q.push("LOWER(").push(lhs).push(") LIKE LOWER(");
            q.bind(value_bind(value)).push(")");
            return;
        }
        (Comparator::Eq, _) => " = ",
        (Comparator::Ne, _) => " <> ",
        (Comparator::Like, _) => " LIKE ",
        (Comparator::Lt, _) => " < ",
        (Comparator::Le, _) => " <= ",
        (Comparator::Gt, _) => " > ",
        (Comparator::Ge, _) => " >= ",
        // The parser only builds IN/NOT IN with a list; anything else is compared as text.
        (Comparator::In, FilterValue::Str(_) | FilterValue::Int(_)) => " = ",
        (Comparator::NotIn, FilterValue::Str(_) | FilterValue::Int(_)) => " <> ",
    };
    q.push(lhs).push(sql_op);
    q.bind(value_bind(value));
}

fn push_in(q: &mut SqlBuilder, lhs: &str, sql_op: &str, items: &[String]) {
    q.push(lhs).push(sql_op);
    q.bind_list(items.iter().cloned().map(Bind::Text));
}

/// `column`, or an expression of the same value that no index serves: a LIKE prefix on a
/// column that is not the order's first key would otherwise tempt the planner into reading the
/// prefix's rows through that column's index and sorting them all, which costs what the prefix
/// matches (a million versions for `m-%`). Walking the order's own index instead stops as soon
/// as the page is full.
pub(crate) fn unindexed_unless_leading(
    column: &'static str,
    op: &Comparator,
    order: &[SortKey],
) -> String {
    let ranged = matches!(op, Comparator::Like);
    if ranged && order.first().is_some_and(|k| k.column != column) {
        format!("({column} || '')")
    } else {
        column.to_owned()
    }
}

fn push_filter(q: &mut SqlBuilder, target: Target, filter: &Filter, order: &[SortKey]) {
    let selects_prompts = search_selects_prompts(filter);
    if !selects_prompts {
        q.push(target.exclude_prompts());
        q.bind_text(IS_PROMPT_TAG).push(" AND t.value = ");
        q.bind_text("true").push(")");
    }
    for clause in &filter.clauses {
        match clause {
            Clause::Attribute { key, op, value } => {
                q.push(" AND ");
                let column = unindexed_unless_leading(target.attribute_column(key), op, order);
                push_comparison(q, &column, op, value);
            }
            // A search for models drops its conditions on the prompt tag.
            Clause::Tag { key, .. } if key == IS_PROMPT_TAG && !selects_prompts => {}
            Clause::Tag { key, op, value } => {
                q.push(" AND EXISTS (").push(target.tag_subquery());
                q.bind_text(key.as_str()).push(" AND ");
                push_comparison(q, "t.value", op, value);
                q.push(")");
            }
        }
    }
}

/// The order's keys. `parse_order_by` always ends with tiebreaks that make it total (the name
/// for models, name and version for versions); a caller that passes none gets the entity's
/// default rather than broken SQL.
fn sort_keys(target: Target, order_by: &[OrderBy]) -> Vec<SortKey> {
    let default;
    let order_by = if order_by.is_empty() {
        default = parse_order_by(target.entity(), &[]).expect("the default order parses");
        &default[..]
    } else {
        order_by
    };
    order_by.iter().map(|o| target.sort_key(o)).collect()
}

/// The token of the page after one read with `LIMIT max_results + 1 OFFSET offset`, when that
/// extra row showed there is one; for lists that still page by offset (a metric's history).
pub(crate) fn next_token(fetched: usize, max_results: u64, offset: u64) -> Option<String> {
    (fetched as u64 > max_results).then(|| PageToken::offset(offset + max_results).encode())
}

/// A search's query, up to its LIMIT, and how its page starts.
pub(crate) struct SearchQuery {
    pub(crate) sql: SqlBuilder,
    pub(crate) paging: Paging,
}

fn search_query(
    target: Target,
    select: &str,
    filter: &Filter,
    order_by: &[OrderBy],
    max_results: u64,
    page_token: Option<&PageToken>,
    scope: Option<&ReadScope>,
) -> Result<SearchQuery> {
    let keys = sort_keys(target, order_by);
    let mut q = SqlBuilder::new(&select.replace("{keys}", &keyset::select_list(&keys)));
    if let Target::Versions = target {
        q.bind_text(DELETED_STAGE);
    }
    push_filter(&mut q, target, filter, &keys);
    if let Some(scope) = scope {
        match target {
            Target::Models => scope.push(&mut q, "rm.id", "model_grants"),
            Target::Versions => scope.push(&mut q, "mv.model_id", "model_grants"),
        }
    }
    let paging = Paging::begin(&mut q, Some(&keys), "", page_token, max_results)?;
    keyset::push_order_by(&mut q, &keys);
    paging.push_limit(&mut q);
    Ok(SearchQuery { sql: q, paging })
}

pub(crate) fn registered_models_query(
    filter: &Filter,
    order_by: &[OrderBy],
    max_results: u64,
    page_token: Option<&PageToken>,
    scope: Option<&ReadScope>,
) -> Result<SearchQuery> {
    search_query(
        Target::Models,
        &format!("SELECT {RM_COLUMNS}{{keys}} FROM registered_models rm WHERE 1 = 1"),
        filter,
        order_by,
        max_results,
        page_token,
        scope,
    )
}

pub(crate) fn model_versions_query(
    filter: &Filter,
    order_by: &[OrderBy],
    max_results: u64,
    page_token: Option<&PageToken>,
    scope: Option<&ReadScope>,
) -> Result<SearchQuery> {
    search_query(
        Target::Versions,
        &format!("SELECT {MV_COLUMNS}{{keys}} FROM model_versions mv WHERE mv.current_stage <> "),
        filter,
        order_by,
        max_results,
        page_token,
        scope,
    )
}

impl MetadataStore {
    pub async fn search_registered_models(
        &self,
        filter: &Filter,
        order_by: &[OrderBy],
        max_results: u64,
        page_token: Option<&PageToken>,
    ) -> arca_core::Result<Page<RegisteredModel>> {
        self.search_registered_models_as(None, filter, order_by, max_results, page_token)
            .await
    }

    /// A search that shows only the models `scope`'s user may read, paged as any search: the
    /// condition is part of the query, so every page is full and tokens resume exactly.
    pub async fn search_registered_models_as(
        &self,
        scope: Option<&ReadScope>,
        filter: &Filter,
        order_by: &[OrderBy],
        max_results: u64,
        page_token: Option<&PageToken>,
    ) -> arca_core::Result<Page<RegisteredModel>> {
        self.read(async |conn| {
            let SearchQuery { sql, paging } =
                registered_models_query(filter, order_by, max_results, page_token, scope)?;
            let mut rows = sql.query().fetch_all(&mut *conn).await?;
            let next_page_token = paging.next_token(&rows)?;
            rows.truncate(max_results as usize);
            let items = load_models(conn, &rows).await?;
            Ok(Page {
                items,
                next_page_token,
            })
        })
        .await
    }

    /// Soft-deleted versions never match. Unlike MLflow, results carry their aliases.
    pub async fn search_model_versions(
        &self,
        filter: &Filter,
        order_by: &[OrderBy],
        max_results: u64,
        page_token: Option<&PageToken>,
    ) -> arca_core::Result<Page<ModelVersion>> {
        self.search_model_versions_as(None, filter, order_by, max_results, page_token)
            .await
    }

    /// Versions of the models `scope`'s user may read (see `search_registered_models_as`).
    pub async fn search_model_versions_as(
        &self,
        scope: Option<&ReadScope>,
        filter: &Filter,
        order_by: &[OrderBy],
        max_results: u64,
        page_token: Option<&PageToken>,
    ) -> arca_core::Result<Page<ModelVersion>> {
        self.read(async |conn| {
            let SearchQuery { sql, paging } =
                model_versions_query(filter, order_by, max_results, page_token, scope)?;
            let mut rows = sql.query().fetch_all(&mut *conn).await?;
            let next_page_token = paging.next_token(&rows)?;
            rows.truncate(max_results as usize);
            let mut found = rows
                .iter()
                .map(version_from_row)
                .collect::<Result<Vec<_>>>()?;

            // Details are read per model, then put back in the page's order.
            let mut by_model: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
            for (i, (model_id, _)) in found.iter().enumerate() {
                by_model.entry(*model_id).or_default().push(i);
            }
            for (model_id, positions) in by_model {
                let mut versions: Vec<ModelVersion> =
                    positions.iter().map(|&i| found[i].1.clone()).collect();
                attach_version_details(conn, model_id, &mut versions).await?;
                for (i, v) in positions.into_iter().zip(versions) {
                    found[i].1 = v;
                }
            }
            Ok(Page {
                items: found.into_iter().map(|(_, v)| v).collect(),
                next_page_token,
            })
        })
        .await
    }
}
