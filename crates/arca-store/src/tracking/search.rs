//! Search over experiments, runs and logged models: parsed filters become WHERE clauses with
//! bound values, order_by lists become ORDER BY, pages resume after the last row (`keyset.rs`)
//! with an opaque token. An order by a metric, param, tag or a column that may be NULL pages by
//! offset instead, as MLflow does.

use super::experiments::{experiment_from_row, parse_experiment_id};
use super::load_key_values_of;
use super::logged_models::{
    COLUMNS as LM_COLUMNS, attach_logged_model_details, logged_model_from_row,
};
use super::runs::{INFO_COLUMNS as RUN_COLUMNS, load_run_data, run_info_from_row};
use crate::MetadataStore;
use crate::error::Result;
use crate::keyset::{self, KeyType, Paging, SortKey};
use crate::search::{SearchQuery, push_comparison, unindexed_unless_leading};
use crate::sql::{Bind, SqlBuilder};
use arca_core::model::Page;
use arca_core::search::{
    Comparator, DatasetField, ExperimentAttribute, ExperimentClause, ExperimentFilter,
    ExperimentOrderBy, FilterValue, LoggedModelAttribute, LoggedModelClause, LoggedModelFilter,
    LoggedModelOrderBy, LoggedModelOrderKey, PageToken, RunAttribute, RunClause, RunFilter,
    RunOrderBy, RunOrderKey,
};
use arca_core::tracking::{Experiment, LoggedModel, Run, ViewType};
use sqlx::Row;

fn numeric_op(op: &Comparator) -> &'static str {
    match op {
        Comparator::Eq => " = ",
        Comparator::Ne => " <> ",
        Comparator::Lt => " < ",
        Comparator::Le => " <= ",
        Comparator::Gt => " > ",
        Comparator::Ge => " >= ",
        Comparator::Like | Comparator::ILike | Comparator::In | Comparator::NotIn => {
            unreachable!("the grammars give metrics numeric comparators only, not {op}")
        }
    }
}

/// `EXISTS (<subquery> AND key = $k AND <column> <op> <value>)` for a key/value child table.
fn push_keyed(
    q: &mut SqlBuilder,
    subquery: &str,
    key: &str,
    column: &str,
    op: &Comparator,
    value: &FilterValue,
) {
    q.push(" AND EXISTS (").push(subquery).push(" AND t.key = ");
    q.bind_text(key).push(" AND ");
    push_comparison(q, column, op, value);
    q.push(")");
}

fn push_presence(q: &mut SqlBuilder, subquery: &str, key: &str, present: bool) {
    q.push(if present {
        " AND EXISTS ("
    } else {
        " AND NOT EXISTS ("
    });
    q.push(subquery).push(" AND t.key = ");
    q.bind_text(key).push(")");
}

/// A metric comparison on non-NaN values; a NaN value satisfies only `!=`.
fn push_metric(q: &mut SqlBuilder, subquery: &str, key: &str, op: &Comparator, value: f64) {
    q.push(" AND EXISTS (").push(subquery).push(" AND t.key = ");
    q.bind_text(key);
    if *op == Comparator::Ne {
        q.push(" AND (t.is_nan = 1 OR t.value <> ");
        q.bind(Bind::Float(value)).push("))");
    } else {
        q.push(" AND t.is_nan = 0 AND t.value").push(numeric_op(op));
        q.bind(Bind::Float(value)).push(")");
    }
}

fn push_lifecycles(q: &mut SqlBuilder, column: &str, view: ViewType) {
    q.push(" AND ").push(column).push(" IN ");
    q.bind_list(view.lifecycles().iter().map(|s| Bind::Text((*s).into())));
}

/// `ORDER BY <value expr> ... ` where rows without a value sort last in either direction.
fn push_nulls_last(q: &mut SqlBuilder, expr: impl Fn(&mut SqlBuilder), ascending: bool) {
    q.push("CASE WHEN ");
    expr(q);
    q.push(" IS NULL THEN 1 ELSE 0 END, ");
    expr(q);
    q.push(if ascending { " ASC" } else { " DESC" });
}

/// `a.x, a.y` for the column list `x, y`.
fn prefixed(alias: &str, columns: &str) -> String {
    columns
        .split(',')
        .map(|c| format!("{alias}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn experiment_id_binds(ids: &[String]) -> Vec<Bind> {
    // An id that is not a number names no experiment; it simply matches nothing.
    ids.iter()
        .map(|id| Bind::Int(parse_experiment_id(id).unwrap_or(-1)))
        .collect()
}

pub(crate) fn experiments_query(
    filter: &ExperimentFilter,
    order_by: &[ExperimentOrderBy],
    view: ViewType,
    max_results: u64,
    page_token: Option<&PageToken>,
    scope: Option<&crate::auth::ReadScope>,
) -> Result<SearchQuery> {
    let mut keys: Vec<SortKey> = order_by
        .iter()
        .map(|o| {
            let (column, ty) = experiment_column(o.key);
            SortKey::new(column, ty, o.ascending)
        })
        .collect();
    // A unique last key, so that rows that tie on the requested order keep one order from
    // page to page and a page can resume after its last row.
    if !order_by
        .iter()
        .any(|o| o.key == ExperimentAttribute::ExperimentId)
    {
        keys.push(SortKey::new("e.experiment_id", KeyType::Int, true));
    }
    let mut q = SqlBuilder::new(&format!(
        "SELECT e.experiment_id, e.name, e.artifact_location, e.lifecycle_stage, \
         e.creation_time, e.last_update_time{} FROM experiments e WHERE 1 = 1",
        keyset::select_list(&keys)
    ));
    push_lifecycles(&mut q, "e.lifecycle_stage", view);
    if let Some(scope) = scope {
        scope.push(&mut q, "e.experiment_id", "experiment_grants");
    }
    let tag_subquery = "SELECT 1 FROM experiment_tags t WHERE t.experiment_id = e.experiment_id";
    for clause in &filter.clauses {
        match clause {
            ExperimentClause::Attribute { key, op, value } => {
                let value = match (key, value) {
                    (ExperimentAttribute::ExperimentId, FilterValue::Str(s)) => {
                        FilterValue::Int(s.parse().unwrap_or(-1))
                    }
                    (ExperimentAttribute::ExperimentId, FilterValue::List(items)) => {
                        q.push(" AND e.experiment_id");
                        q.push(if *op == Comparator::In {
                            " IN "
                        } else {
                            " NOT IN "
                        });
                        q.bind_list(items.iter().map(|s| Bind::Int(s.parse().unwrap_or(-1))));
                        continue;
                    }
                    (_, v) => v.clone(),
                };
                q.push(" AND ");
                let column = unindexed_unless_leading(experiment_column(*key).0, op, &keys);
                push_comparison(&mut q, &column, op, &value);
            }
            ExperimentClause::Tag { key, op, value } => {
                push_keyed(&mut q, tag_subquery, key, "t.value", op, value)
            }
            ExperimentClause::TagPresence { key, present } => {
                push_presence(&mut q, tag_subquery, key, *present)
            }
        }
    }
    let paging = Paging::begin(&mut q, Some(&keys), "", page_token, max_results)?;
    keyset::push_order_by(&mut q, &keys);
    paging.push_limit(&mut q);
    Ok(SearchQuery { sql: q, paging })
}

pub(crate) fn runs_query(
    experiment_ids: &[String],
    filter: &RunFilter,
    order_by: &[RunOrderBy],
    view: ViewType,
    max_results: u64,
    page_token: Option<&PageToken>,
) -> Result<SearchQuery> {
    // Resumable by value when every key is a NOT NULL column; the run id makes it total.
    let mut keys: Option<Vec<SortKey>> = order_by
        .iter()
        .map(|o| match &o.key {
            RunOrderKey::Attribute(RunAttribute::EndTime) => None,
            RunOrderKey::Attribute(a) => {
                let ty = if *a == RunAttribute::StartTime {
                    KeyType::Int
                } else {
                    KeyType::Text
                };
                Some(SortKey::new(run_column(*a), ty, o.ascending))
            }
            RunOrderKey::Metric(_) | RunOrderKey::Param(_) | RunOrderKey::Tag(_) => None,
        })
        .collect();
    let run_id = RunOrderKey::Attribute(RunAttribute::RunId);
    if let Some(keys) = &mut keys
        && !order_by.iter().any(|o| o.key == run_id)
    {
        keys.push(SortKey::new("r.run_uuid", KeyType::Text, true));
    }
    let mut q = SqlBuilder::new(&format!(
        "SELECT {}{} FROM runs r WHERE r.experiment_id IN ",
        prefixed("r", RUN_COLUMNS),
        keys.as_deref().map(keyset::select_list).unwrap_or_default()
    ));
    q.bind_list(experiment_id_binds(experiment_ids));
    push_lifecycles(&mut q, "r.lifecycle_stage", view);
    let metrics = "SELECT 1 FROM latest_metrics t WHERE t.run_uuid = r.run_uuid";
    let params = "SELECT 1 FROM params t WHERE t.run_uuid = r.run_uuid";
    let tags = "SELECT 1 FROM run_tags t WHERE t.run_uuid = r.run_uuid";
    for clause in &filter.clauses {
        match clause {
            RunClause::Metric { key, op, value } => push_metric(&mut q, metrics, key, op, *value),
            RunClause::Param { key, op, value } => {
                push_keyed(&mut q, params, key, "t.value", op, value)
            }
            RunClause::Tag { key, op, value } => {
                push_keyed(&mut q, tags, key, "t.value", op, value)
            }
            RunClause::ParamPresence { key, present } => {
                push_presence(&mut q, params, key, *present)
            }
            RunClause::TagPresence { key, present } => push_presence(&mut q, tags, key, *present),
            RunClause::Attribute { key, op, value } => {
                q.push(" AND ");
                push_comparison(&mut q, run_column(*key), op, value);
            }
            RunClause::Dataset { field, op, value } => {
                let column = match field {
                    DatasetField::Name => "d.name",
                    DatasetField::Digest => "d.digest",
                    DatasetField::Context => "i.context",
                };
                q.push(
                    " AND EXISTS (SELECT 1 FROM run_dataset_inputs i JOIN datasets d \
                     ON d.dataset_uuid = i.dataset_uuid WHERE i.run_uuid = r.run_uuid AND ",
                );
                push_comparison(&mut q, column, op, value);
                q.push(")");
            }
        }
    }
    let order = format!("{order_by:?}");
    let paging = Paging::begin(&mut q, keys.as_deref(), &order, page_token, max_results)?;
    if let Some(keys) = &keys {
        keyset::push_order_by(&mut q, keys);
        paging.push_limit(&mut q);
        return Ok(SearchQuery { sql: q, paging });
    }
    q.push(" ORDER BY ");
    for (i, o) in order_by.iter().enumerate() {
        if i > 0 {
            q.push(", ");
        }
        let (table, key) = match &o.key {
            RunOrderKey::Attribute(a) => {
                q.push(run_column(*a));
                q.push(if o.ascending { " ASC" } else { " DESC" });
                continue;
            }
            RunOrderKey::Metric(k) => ("latest_metrics", k),
            RunOrderKey::Param(k) => ("params", k),
            RunOrderKey::Tag(k) => ("run_tags", k),
        };
        // NaN metrics sort after every number, as in MLflow.
        let value = if table == "latest_metrics" {
            "CASE WHEN t.is_nan = 1 THEN NULL ELSE t.value END"
        } else {
            "t.value"
        };
        let expr = |q: &mut SqlBuilder| {
            q.push(&format!(
                "(SELECT {value} FROM {table} t WHERE t.run_uuid = r.run_uuid AND t.key = "
            ));
            q.bind_text(key.as_str()).push(")");
        };
        push_nulls_last(&mut q, expr, o.ascending);
    }
    // A unique last key, so that rows that tie on the requested order keep one order
    // from page to page.
    q.push(if order_by.is_empty() {
        "r.run_uuid"
    } else {
        ", r.run_uuid"
    });
    paging.push_limit(&mut q);
    Ok(SearchQuery { sql: q, paging })
}

pub(crate) fn logged_models_query(
    experiment_ids: &[String],
    filter: &LoggedModelFilter,
    order_by: &[LoggedModelOrderBy],
    max_results: u64,
    page_token: Option<&PageToken>,
) -> Result<SearchQuery> {
    let mut keys: Option<Vec<SortKey>> = order_by
        .iter()
        .map(|o| match &o.key {
            LoggedModelOrderKey::Attribute(LoggedModelAttribute::SourceRunId) => None,
            LoggedModelOrderKey::Attribute(a) => {
                let ty = match a {
                    LoggedModelAttribute::CreationTimestamp
                    | LoggedModelAttribute::LastUpdatedTimestamp => KeyType::Int,
                    _ => KeyType::Text,
                };
                Some(SortKey::new(logged_model_column(*a), ty, o.ascending))
            }
            LoggedModelOrderKey::Metric(_) => None,
        })
        .collect();
    let model_id = LoggedModelOrderKey::Attribute(LoggedModelAttribute::ModelId);
    if let Some(keys) = &mut keys
        && !order_by.iter().any(|o| o.key == model_id)
    {
        keys.push(SortKey::new("lm.model_id", KeyType::Text, true));
    }
    let mut q = SqlBuilder::new(&format!(
        "SELECT {}{} FROM logged_models lm WHERE lm.lifecycle_stage = 'active'",
        prefixed("lm", LM_COLUMNS),
        keys.as_deref().map(keyset::select_list).unwrap_or_default()
    ));
    if !experiment_ids.is_empty() {
        q.push(" AND lm.experiment_id IN ");
        q.bind_list(experiment_id_binds(experiment_ids));
    }
    let metrics = "SELECT 1 FROM metrics t WHERE t.model_id = lm.model_id";
    let params = "SELECT 1 FROM logged_model_params t WHERE t.model_id = lm.model_id";
    let tags = "SELECT 1 FROM logged_model_tags t WHERE t.model_id = lm.model_id";
    for clause in &filter.clauses {
        match clause {
            LoggedModelClause::Attribute { key, op, value } => {
                q.push(" AND ");
                push_comparison(&mut q, logged_model_column(*key), op, value);
            }
            LoggedModelClause::Metric { key, op, value } => {
                push_metric(&mut q, metrics, key, op, *value)
            }
            LoggedModelClause::Param { key, op, value } => {
                push_keyed(&mut q, params, key, "t.value", op, value)
            }
            LoggedModelClause::Tag { key, op, value } => {
                push_keyed(&mut q, tags, key, "t.value", op, value)
            }
        }
    }
    let order = format!("{order_by:?}");
    let paging = Paging::begin(&mut q, keys.as_deref(), &order, page_token, max_results)?;
    if let Some(keys) = &keys {
        keyset::push_order_by(&mut q, keys);
        paging.push_limit(&mut q);
        return Ok(SearchQuery { sql: q, paging });
    }
    q.push(" ORDER BY ");
    for (i, o) in order_by.iter().enumerate() {
        if i > 0 {
            q.push(", ");
        }
        match &o.key {
            LoggedModelOrderKey::Attribute(a) => {
                q.push(logged_model_column(*a));
                q.push(if o.ascending { " ASC" } else { " DESC" });
            }
            LoggedModelOrderKey::Metric(key) => {
                let expr = |q: &mut SqlBuilder| {
                    q.push(
                        "(SELECT MAX(CASE WHEN t.is_nan = 1 THEN NULL ELSE t.value END) \
                         FROM metrics t WHERE t.model_id = lm.model_id AND t.key = ",
                    );
                    q.bind_text(key.as_str());
                    if let Some(name) = &o.dataset_name {
                        q.push(" AND t.dataset_name = ").bind_text(name.as_str());
                    }
                    if let Some(digest) = &o.dataset_digest {
                        q.push(" AND t.dataset_digest = ")
                            .bind_text(digest.as_str());
                    }
                    q.push(")");
                };
                push_nulls_last(&mut q, expr, o.ascending);
            }
        }
    }
    // A unique last key, so that rows that tie on the requested order keep one order
    // from page to page.
    q.push(if order_by.is_empty() {
        "lm.model_id"
    } else {
        ", lm.model_id"
    });
    paging.push_limit(&mut q);
    Ok(SearchQuery { sql: q, paging })
}

impl MetadataStore {
    pub async fn search_experiments(
        &self,
        filter: &ExperimentFilter,
        order_by: &[ExperimentOrderBy],
        view: ViewType,
        max_results: u64,
        page_token: Option<&PageToken>,
    ) -> arca_core::Result<Page<Experiment>> {
        self.search_experiments_as(None, filter, order_by, view, max_results, page_token)
            .await
    }

    /// Only the experiments `scope`'s user may read, paged in the query itself.
    pub async fn search_experiments_as(
        &self,
        scope: Option<&crate::auth::ReadScope>,
        filter: &ExperimentFilter,
        order_by: &[ExperimentOrderBy],
        view: ViewType,
        max_results: u64,
        page_token: Option<&PageToken>,
    ) -> arca_core::Result<Page<Experiment>> {
        self.read(async |conn| {
            let SearchQuery { sql, paging } =
                experiments_query(filter, order_by, view, max_results, page_token, scope)?;
            let rows = sql.query().fetch_all(&mut *conn).await?;
            let next_page_token = paging.next_token(&rows)?;
            let mut items = rows
                .iter()
                .take(max_results as usize)
                .map(experiment_from_row)
                .collect::<Result<Vec<_>>>()?;
            let ids = rows
                .iter()
                .take(max_results as usize)
                .map(|row| Ok(Bind::Int(row.try_get("experiment_id")?)))
                .collect::<Result<Vec<_>>>()?;
            let mut tags =
                load_key_values_of::<i64>(conn, "experiment_tags", "experiment_id", &ids).await?;
            for (e, id) in items.iter_mut().zip(&ids) {
                if let Bind::Int(id) = id {
                    e.tags = tags.remove(id).unwrap_or_default();
                }
            }
            Ok(Page {
                items,
                next_page_token,
            })
        })
        .await
    }

    pub async fn search_runs(
        &self,
        experiment_ids: &[String],
        filter: &RunFilter,
        order_by: &[RunOrderBy],
        view: ViewType,
        max_results: u64,
        page_token: Option<&PageToken>,
    ) -> arca_core::Result<Page<Run>> {
        if experiment_ids.is_empty() {
            return Ok(Page {
                items: Vec::new(),
                next_page_token: None,
            });
        }
        self.read(async |conn| {
            let SearchQuery { sql, paging } = runs_query(
                experiment_ids,
                filter,
                order_by,
                view,
                max_results,
                page_token,
            )?;
            let rows = sql.query().fetch_all(&mut *conn).await?;
            let next_page_token = paging.next_token(&rows)?;
            let infos = rows
                .iter()
                .take(max_results as usize)
                .map(run_info_from_row)
                .collect::<Result<Vec<_>>>()?;
            let items = load_run_data(conn, infos).await?;
            Ok(Page {
                items,
                next_page_token,
            })
        })
        .await
    }

    pub async fn search_logged_models(
        &self,
        experiment_ids: &[String],
        filter: &LoggedModelFilter,
        order_by: &[LoggedModelOrderBy],
        max_results: u64,
        page_token: Option<&PageToken>,
    ) -> arca_core::Result<Page<LoggedModel>> {
        self.read(async |conn| {
            let SearchQuery { sql, paging } =
                logged_models_query(experiment_ids, filter, order_by, max_results, page_token)?;
            let rows = sql.query().fetch_all(&mut *conn).await?;
            let next_page_token = paging.next_token(&rows)?;
            let mut items = rows
                .iter()
                .take(max_results as usize)
                .map(logged_model_from_row)
                .collect::<Result<Vec<_>>>()?;
            attach_logged_model_details(conn, &mut items).await?;
            Ok(Page {
                items,
                next_page_token,
            })
        })
        .await
    }
}

fn experiment_column(attribute: ExperimentAttribute) -> (&'static str, KeyType) {
    match attribute {
        ExperimentAttribute::ExperimentId => ("e.experiment_id", KeyType::Int),
        ExperimentAttribute::Name => ("e.name", KeyType::Text),
        ExperimentAttribute::CreationTime => ("e.creation_time", KeyType::Int),
        ExperimentAttribute::LastUpdateTime => ("e.last_update_time", KeyType::Int),
    }
}

fn run_column(attribute: RunAttribute) -> &'static str {
    match attribute {
        RunAttribute::RunId => "r.run_uuid",
        // Kept equal to the mlflow.runName tag by every write.
        RunAttribute::RunName => "r.name",
        RunAttribute::UserId => "r.user_id",
        RunAttribute::Status => "r.status",
        RunAttribute::StartTime => "r.start_time",
        RunAttribute::EndTime => "r.end_time",
        RunAttribute::ArtifactUri => "r.artifact_uri",
    }
}

fn logged_model_column(attribute: LoggedModelAttribute) -> &'static str {
    match attribute {
        LoggedModelAttribute::ModelId => "lm.model_id",
        LoggedModelAttribute::Name => "lm.name",
        LoggedModelAttribute::ModelType => "lm.model_type",
        LoggedModelAttribute::Status => "lm.status",
        LoggedModelAttribute::SourceRunId => "lm.source_run_id",
        LoggedModelAttribute::CreationTimestamp => "lm.creation_time",
        LoggedModelAttribute::LastUpdatedTimestamp => "lm.last_updated_time",
    }
}

#[cfg(test)]
mod tests {
    use super::super::IN_LIST_MAX;
    use crate::{MetadataStore, NewLoggedModel, NewRun, StoreUri};
    use arca_core::model::Tag;
    use arca_core::search::{
        LoggedModelAttribute, LoggedModelFilter, LoggedModelOrderBy, LoggedModelOrderKey,
        RunAttribute, RunFilter, RunOrderBy, RunOrderKey,
    };
    use arca_core::tracking::{Metric, Param, ViewType};

    /// The page's children are read in lists of `IN_LIST_MAX` runs; a page one run longer than
    /// a list must still give every run its own values, the last run included.
    #[tokio::test]
    async fn a_page_longer_than_one_in_list_keeps_each_runs_values() {
        let dir = tempfile::tempdir().unwrap();
        let registry = MetadataStore::open(&StoreUri::sqlite(dir.path().join("a.db")))
            .await
            .unwrap();
        let exp = registry.create_experiment("many", None, &[]).await.unwrap();
        let count = IN_LIST_MAX + 1;
        for i in 0..count {
            let run = registry
                .create_run(&NewRun {
                    experiment_id: exp.clone(),
                    start_time: Some(i as i64),
                    tags: vec![Tag {
                        key: "t".into(),
                        value: format!("tag-{i}"),
                    }],
                    ..NewRun::default()
                })
                .await
                .unwrap();
            let metric = Metric {
                key: "m".into(),
                value: i as f64,
                timestamp: 1,
                step: 0,
                model_id: None,
                dataset_name: None,
                dataset_digest: None,
                run_id: None,
            };
            let param = Param {
                key: "p".into(),
                value: format!("param-{i}"),
            };
            registry
                .log_batch(&run.info.run_id, &[metric], &[param], &[])
                .await
                .unwrap();
        }
        let order = [RunOrderBy {
            key: RunOrderKey::Attribute(RunAttribute::StartTime),
            ascending: true,
        }];
        let page = registry
            .search_runs(
                std::slice::from_ref(&exp),
                &RunFilter::default(),
                &order,
                ViewType::ActiveOnly,
                1000,
                None,
            )
            .await
            .unwrap();
        assert_eq!(page.items.len(), count);
        for (i, run) in page.items.iter().enumerate() {
            assert_eq!(run.info.start_time, i as i64);
            let params: Vec<(&str, &str)> = run
                .params
                .iter()
                .map(|p| (p.key.as_str(), p.value.as_str()))
                .collect();
            assert_eq!(params, [("p", format!("param-{i}").as_str())]);
            let metrics: Vec<(&str, f64)> = run
                .metrics
                .iter()
                .map(|m| (m.key.as_str(), m.value))
                .collect();
            assert_eq!(metrics, [("m", i as f64)]);
            let tag = run.tags.iter().find(|t| t.key == "t").unwrap();
            assert_eq!(tag.value, format!("tag-{i}"));
            assert_eq!(run.tags.len(), 2, "t and mlflow.runName: {:?}", run.tags);
        }
    }

    /// As for runs: logged models are detailed in lists of `IN_LIST_MAX`; a page one model
    /// longer than a list, plus a model with nothing logged, must give each model its own
    /// tags, params and metrics and nothing of its neighbours'.
    #[tokio::test]
    async fn a_page_longer_than_one_in_list_keeps_each_logged_models_values() {
        let dir = tempfile::tempdir().unwrap();
        let store = MetadataStore::open(&StoreUri::sqlite(dir.path().join("a.db")))
            .await
            .unwrap();
        let exp = store.create_experiment("models", None, &[]).await.unwrap();
        let run = store
            .create_run(&NewRun {
                experiment_id: exp.clone(),
                ..NewRun::default()
            })
            .await
            .unwrap();
        let run_id = run.info.run_id;
        let count = IN_LIST_MAX + 1;
        let mut metrics = Vec::new();
        for i in 0..count {
            let model = store
                .create_logged_model(&NewLoggedModel {
                    experiment_id: exp.clone(),
                    name: Some(format!("model-{i:04}")),
                    params: vec![Param {
                        key: "p".into(),
                        value: format!("param-{i}"),
                    }],
                    tags: vec![Tag {
                        key: "t".into(),
                        value: format!("tag-{i}"),
                    }],
                    ..NewLoggedModel::default()
                })
                .await
                .unwrap();
            metrics.push(Metric {
                key: "m".into(),
                value: i as f64,
                timestamp: 1,
                step: 0,
                model_id: Some(model.model_id),
                dataset_name: None,
                dataset_digest: None,
                run_id: None,
            });
        }
        store
            .create_logged_model(&NewLoggedModel {
                experiment_id: exp.clone(),
                name: Some("z-bare".into()),
                ..NewLoggedModel::default()
            })
            .await
            .unwrap();
        for chunk in metrics.chunks(400) {
            store.log_batch(&run_id, chunk, &[], &[]).await.unwrap();
        }
        let order = [LoggedModelOrderBy {
            key: LoggedModelOrderKey::Attribute(LoggedModelAttribute::Name),
            ascending: true,
            dataset_name: None,
            dataset_digest: None,
        }];

        let page = store
            .search_logged_models(
                std::slice::from_ref(&exp),
                &LoggedModelFilter::default(),
                &order,
                1000,
                None,
            )
            .await
            .unwrap();

        assert_eq!(page.items.len(), count + 1);
        for (i, model) in page.items[..count].iter().enumerate() {
            assert_eq!(model.name, format!("model-{i:04}"));
            let params: Vec<(&str, &str)> = model
                .params
                .iter()
                .map(|p| (p.key.as_str(), p.value.as_str()))
                .collect();
            assert_eq!(params, [("p", format!("param-{i}").as_str())]);
            let tags: Vec<(&str, &str)> = model
                .tags
                .iter()
                .map(|t| (t.key.as_str(), t.value.as_str()))
                .collect();
            assert_eq!(tags, [("t", format!("tag-{i}").as_str())]);
            let metrics: Vec<(&str, f64, Option<&str>, Option<&str>)> = model
                .metrics
                .iter()
                .map(|m| {
                    (
                        m.key.as_str(),
                        m.value,
                        m.model_id.as_deref(),
                        m.run_id.as_deref(),
                    )
                })
                .collect();
            assert_eq!(
                metrics,
                [(
                    "m",
                    i as f64,
                    Some(model.model_id.as_str()),
                    Some(run_id.as_str())
                )]
            );
        }
        let bare = &page.items[count];
        assert_eq!(bare.name, "z-bare");
        assert!(bare.tags.is_empty() && bare.params.is_empty() && bare.metrics.is_empty());
    }
}
