//! Every search's SQL, first page and resumed page, asked for its plan: on SQLite with
//! `EXPLAIN QUERY PLAN`, on PostgreSQL with `EXPLAIN` in a session where sequential scans and
//! sorts are priced out (`enable_seqscan`, `enable_sort`, `enable_incremental_sort` off), so that a plan that still scans
//! a table or sorts shows that no index can serve the query. A search that falls back to
//! reading a whole table and sorting it costs what the table holds; these tests fail then.
//!
//! Runs are also planned at 100,000 rows with the planner's statistics gathered (`ANALYZE`), as
//! a store that has grown would plan them, and paged through to the end.

use crate::MetadataStore;
use crate::keyset::KeyType;
use crate::search::{SearchQuery, model_versions_query, registered_models_query};
use crate::sql::SqlBuilder;
use crate::tracking::search::{experiments_query, logged_models_query, runs_query};
use crate::version_list::{VersionListFilter, VersionListStart, version_list_query};
use crate::versions::{LatestOf, latest_per_stage_query};
use crate::{Backend, NewLoggedModel, NewRun, StoreUri};
use arca_core::model::{ModelName, NewModelVersion, Stage, Tag};
use arca_core::search::{
    KeyValue, PageStart, PageToken, SearchEntity, complete_logged_model_order,
    parse_experiment_filter, parse_experiment_order_by, parse_filter, parse_logged_model_filter,
    parse_logged_model_order_by, parse_order_by, parse_run_filter, parse_run_order_by,
};
use arca_core::tracking::ViewType;
use sqlx::Row;

/// The tables a search reads rows from; the registry's and tracking's big ones.
const BIG_TABLES: [&str; 5] = [
    "registered_models",
    "model_versions",
    "runs",
    "experiments",
    "logged_models",
];

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// A token that resumes `query`'s own search after a row (the values' kinds match its keys).
fn resume_token(query: &SearchQuery) -> PageToken {
    let (keys, search) = query.paging.parts();
    let values = keys
        .expect("the search resumes by value")
        .iter()
        .map(|k| match k.ty {
            KeyType::Int => KeyValue::Int(1),
            KeyType::Text => KeyValue::Text("m".into()),
        })
        .collect();
    PageToken {
        start: PageStart::After(values),
        search: Some(search.to_owned()),
    }
}

impl MetadataStore {
    async fn plan(&self, q: &SqlBuilder) -> Vec<String> {
        let backend = self.backend;
        let explain = q.prefixed(match backend {
            Backend::Sqlite => "EXPLAIN QUERY PLAN ",
            Backend::Postgres => "EXPLAIN ",
        });
        self.read(async |conn| {
            if backend == Backend::Postgres {
                sqlx::query("SET enable_seqscan = off")
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("SET enable_sort = off")
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("SET enable_incremental_sort = off")
                    .execute(&mut *conn)
                    .await?;
            }
            let rows = explain.query().fetch_all(&mut *conn).await?;
            if backend == Backend::Postgres {
                sqlx::query("RESET ALL").execute(&mut *conn).await?;
            }
            rows.iter()
                .map(|row| {
                    Ok(match backend {
                        Backend::Sqlite => row.try_get::<String, _>("detail")?,
                        Backend::Postgres => row.try_get::<String, _>(0)?,
                    })
                })
                .collect::<crate::error::Result<Vec<_>>>()
        })
        .await
        .unwrap_or_else(|e| panic!("explaining {}: {e}", q.sql()))
    }

    /// Notes in `failures`, with the plan, a query that reads a big table whole or sorts.
    async fn check_served_by_index(&self, failures: &mut Vec<String>, what: &str, q: &SqlBuilder) {
        let plan = self.plan(q).await;
        let bad: Vec<&String> = plan
            .iter()
            .filter(|line| match self.backend {
                // "SCAN t" reads a table in rowid order; "SCAN t USING INDEX i" walks an index
                // in the order it needs. A temp B-tree is a sort.
                Backend::Sqlite => {
                    line.contains("TEMP B-TREE")
                        || (line.starts_with("SCAN ") && !line.contains(" INDEX "))
                }
                Backend::Postgres => {
                    line.contains("Sort")
                        || BIG_TABLES
                            .iter()
                            .any(|t| line.contains(&format!("Seq Scan on {t} ")))
                }
            })
            .collect();
        if !bad.is_empty() {
            failures.push(format!(
                "{what} ({:?}) is not served by an index: {bad:?}\nSQL: {}\nplan:\n{}",
                self.backend,
                q.sql(),
                plan.join("\n")
            ));
        }
    }

    /// Notes in `failures` a latest-versions statement that does not find each version by its
    /// full key. Its sort is allowed: it orders only the rows found, at most four per model.
    /// What must not happen is a walk over a model's versions, which costs what the model
    /// holds (100,000 versions for one model of the scale bench).
    async fn check_latest_per_stage(&self, failures: &mut Vec<String>, what: &str, q: &SqlBuilder) {
        let plan = self.plan(q).await;
        let (bad, keyed): (Vec<&String>, bool) = match self.backend {
            Backend::Sqlite => (
                plan.iter()
                    .filter(|l| {
                        ["m", "x", "mv", "t"].iter().any(|a| {
                            l.starts_with(&format!("SCAN {a} ")) || **l == format!("SCAN {a}")
                        })
                    })
                    .collect(),
                plan.iter().any(|l| {
                    l.starts_with("SEARCH mv ") && l.contains("(model_id=? AND version=?)")
                }),
            ),
            Backend::Postgres => (
                plan.iter()
                    .filter(|l| {
                        BIG_TABLES
                            .iter()
                            .any(|t| l.contains(&format!("Seq Scan on {t} ")))
                    })
                    .collect(),
                plan.iter().any(|l| {
                    l.contains("Index Cond: ((model_id = lv.model_id) AND (version = lv.version))")
                }),
            ),
        };
        if !bad.is_empty() || !keyed {
            failures.push(format!(
                "{what} ({:?}) does not seek each latest version by its key: {bad:?}\nSQL: {}\nplan:\n{}",
                self.backend,
                q.sql(),
                plan.join("\n")
            ));
        }
    }

    /// A search's first page and a page resumed from a token.
    async fn check_pages_served_by_index(
        &self,
        failures: &mut Vec<String>,
        what: &str,
        build: impl Fn(Option<&PageToken>) -> crate::error::Result<SearchQuery>,
    ) {
        let first = build(None).unwrap_or_else(|e| panic!("{what}: {e:?}"));
        self.check_served_by_index(failures, &format!("{what}, first page"), &first.sql)
            .await;
        let token = resume_token(&first);
        let resumed = build(Some(&token)).unwrap_or_else(|e| panic!("{what}: {e:?}"));
        assert!(
            resumed.sql.sql().len() > first.sql.sql().len(),
            "{what}: the token adds its resume condition"
        );
        self.check_served_by_index(failures, &format!("{what}, resumed page"), &resumed.sql)
            .await;
    }
}

async fn seed(store: &MetadataStore) -> (String, String) {
    let tag = |k: &str, v: &str| Tag {
        key: k.into(),
        value: v.into(),
    };
    for model in ["big", "m-1", "m-2"] {
        let name = ModelName::parse(model).unwrap();
        store
            .create_registered_model(&name, None, &[tag("team", "risk")])
            .await
            .unwrap();
        for n in 0..3 {
            let new = NewModelVersion {
                source: format!("s3://bucket/{model}/{n}"),
                tags: vec![tag("k", "v")],
                ..NewModelVersion::default()
            };
            store.create_model_version(&name, &new).await.unwrap();
        }
    }
    let one = store.create_experiment("one", None, &[]).await.unwrap();
    let two = store.create_experiment("two", None, &[]).await.unwrap();
    for exp in [&one, &two] {
        for _ in 0..3 {
            store
                .create_run(&NewRun {
                    experiment_id: exp.clone(),
                    tags: vec![tag("t", "x")],
                    ..NewRun::default()
                })
                .await
                .unwrap();
            store
                .create_logged_model(&NewLoggedModel {
                    experiment_id: exp.clone(),
                    tags: vec![tag("t", "x")],
                    ..NewLoggedModel::default()
                })
                .await
                .unwrap();
        }
    }
    (one, two)
}

async fn every_search_is_served_by_an_index(store: MetadataStore) {
    // The second experiment's rows are there to be skipped, not searched.
    let (one, _two) = seed(&store).await;
    let mut failures = Vec::new();

    let models = SearchEntity::RegisteredModels;
    for filter in ["", "name = 'big'", "name LIKE 'm-%'", "tags.team = 'risk'"] {
        for order in [
            &[][..],
            &["name DESC"],
            &["last_updated_timestamp DESC"],
            &["timestamp ASC"],
        ] {
            let f = parse_filter(models, filter).unwrap();
            let o = parse_order_by(models, &strings(order)).unwrap();
            store
                .check_pages_served_by_index(
                    &mut failures,
                    &format!("registered-models/search filter={filter:?} order_by={order:?}"),
                    |t| registered_models_query(&f, &o, 100, t, None),
                )
                .await;
        }
    }

    let versions = SearchEntity::ModelVersions;
    let any_version_orders: [&[&str]; 7] = [
        &[],
        &["last_updated_timestamp DESC"],
        &["last_updated_timestamp ASC"],
        &["creation_timestamp DESC"],
        &["creation_timestamp ASC"],
        &["name ASC"],
        &["name DESC"],
    ];
    let one_model_orders: [&[&str]; 5] = [
        &[],
        &["creation_timestamp DESC"],
        &["name"],
        &["version_number DESC"],
        &["version_number ASC"],
    ];
    let cases = any_version_orders
        .iter()
        .flat_map(|o| ["", "name LIKE 'm-%'", "tags.k = 'v'"].map(|f| (f, *o)))
        .chain(one_model_orders.iter().map(|o| ("name = 'big'", *o)))
        .chain([
            ("run_id = 'abc'", &[][..]),
            ("name = 'big' AND tags.k = 'v'", &[][..]),
        ]);
    for (filter, order) in cases {
        let f = parse_filter(versions, filter).unwrap();
        let o = parse_order_by(versions, &strings(order)).unwrap();
        store
            .check_pages_served_by_index(
                &mut failures,
                &format!("model-versions/search filter={filter:?} order_by={order:?}"),
                |t| model_versions_query(&f, &o, 1000, t, None),
            )
            .await;
    }

    // The model page's versions table: every filter, both orders, every kind of page start.
    let (stage, tag) = (
        Some(arca_core::model::Stage::Archived),
        Some("k".to_owned()),
    );
    let filters = [
        VersionListFilter::default(),
        VersionListFilter {
            stage,
            ..Default::default()
        },
        VersionListFilter {
            alias: Some("champion".into()),
            ..Default::default()
        },
        VersionListFilter {
            tag_key: tag.clone(),
            ..Default::default()
        },
        VersionListFilter {
            tag_key: tag.clone(),
            tag_value: Some("v".into()),
            ..Default::default()
        },
        VersionListFilter {
            tag_key: tag.clone(),
            stage,
            ..Default::default()
        },
        VersionListFilter {
            created_from: Some(1),
            created_to: Some(2),
            ..Default::default()
        },
        VersionListFilter {
            stage,
            alias: Some("champion".into()),
            tag_key: tag.clone(),
            tag_value: Some("v".into()),
            created_from: Some(1),
            created_to: Some(2),
            oldest_first: false,
        },
    ];
    for filter in filters {
        for oldest_first in [false, true] {
            let filter = VersionListFilter {
                oldest_first,
                ..filter.clone()
            };
            for start in [
                VersionListStart::First,
                VersionListStart::After(2),
                VersionListStart::Before(2),
                VersionListStart::Last,
            ] {
                let q = version_list_query(1, "big", &filter, start, Some(1), 25);
                store
                    .check_served_by_index(
                        &mut failures,
                        &format!("model page versions {filter:?} from {start:?}"),
                        &q,
                    )
                    .await;
            }
        }
    }

    // Runs and logged models are planned in one experiment (or, for logged models, in all):
    // across several listed experiments each one's rows are found by index and then sorted,
    // which costs what those experiments hold.
    for exps in [vec![one.clone()]] {
        let runs_cases: [(&str, &[&str]); 6] = [
            ("", &[]),
            ("", &["attributes.start_time DESC"]),
            ("tags.t = 'x'", &[]),
            ("params.p = '1'", &[]),
            ("attributes.status = 'RUNNING'", &[]),
            ("metrics.m > 0", &[]),
        ];
        let one_experiment_orders: [(&str, &[&str]); 2] = [
            ("", &["start_time ASC"]),
            ("tags.t = 'x'", &["start_time ASC"]),
        ];
        let cases = runs_cases
            .iter()
            .chain(one_experiment_orders.iter().filter(|_| exps.len() == 1));
        for (filter, order) in cases {
            let f = parse_run_filter(filter).unwrap();
            let o = parse_run_order_by(&strings(order)).unwrap();
            store
                .check_pages_served_by_index(
                    &mut failures,
                    &format!(
                        "runs/search experiments={exps:?} filter={filter:?} order_by={order:?}"
                    ),
                    |t| runs_query(&exps, &f, &o, ViewType::ActiveOnly, 1000, t),
                )
                .await;
        }
    }

    for filter in ["", "name LIKE 'e%'", "tags.t = 'x'"] {
        for order in [
            &[][..],
            &["creation_time ASC"],
            &["creation_time DESC"],
            &["last_update_time DESC"],
            &["last_update_time ASC"],
            &["name"],
            &["name DESC"],
        ] {
            let f = parse_experiment_filter(filter).unwrap();
            let o = parse_experiment_order_by(&strings(order)).unwrap();
            store
                .check_pages_served_by_index(
                    &mut failures,
                    &format!("experiments/search filter={filter:?} order_by={order:?}"),
                    |t| experiments_query(&f, &o, ViewType::ActiveOnly, 1000, t, None),
                )
                .await;
        }
    }

    for exps in [vec![one.clone()], vec![]] {
        for filter in ["", "name = 'x'", "tags.t = 'x'"] {
            let mut orders = vec![complete_logged_model_order(Vec::new())];
            if exps.len() == 1 {
                let ascending =
                    parse_logged_model_order_by("creation_timestamp", Some(true), None, None)
                        .unwrap();
                orders.push(complete_logged_model_order(vec![ascending]));
            }
            for o in orders {
                let f = parse_logged_model_filter(filter).unwrap();
                store
                    .check_pages_served_by_index(
                    &mut failures,
                        &format!("logged-models/search experiments={exps:?} filter={filter:?} order_by={o:?}"),
                        |t| logged_models_query(&exps, &f, &o, 100, t),
                    )
                    .await;
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

const MANY_VERSIONS: i64 = 20_000;

/// Each model's latest version per stage, for a page of models and for one model by name, in a
/// model of 20,000 versions: planned as SQLite plans it without statistics (Arca never runs
/// `ANALYZE` there), then on both backends with them, as PostgreSQL's autovacuum gathers them.
/// On the seed's few versions per model PostgreSQL finds a walk over a model's versions as cheap
/// as a seek, so only a grown model tells them apart.
async fn latest_versions_are_sought_by_key(store: MetadataStore) {
    let name = ModelName::parse("big").unwrap();
    store
        .create_registered_model(&name, None, &[])
        .await
        .unwrap();
    let numbers = match store.backend {
        Backend::Sqlite => {
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1) \
             SELECT i FROM n"
        }
        Backend::Postgres => "SELECT generate_series(1, $1) AS i",
    };
    store
        .write(move |conn| {
            Box::pin(async move {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO model_versions (model_id, model_name, version, creation_time, \
                     last_updated_time, current_stage, source) \
                     SELECT rm.id, rm.name, i, i, i, \
                     CASE WHEN i % 4 = 0 THEN 'Archived' WHEN i % 1000 = 1 THEN 'Production' \
                     ELSE 'None' END, 's3://b/' || CAST(i AS TEXT) \
                     FROM registered_models rm CROSS JOIN ({numbers}) AS nums \
                     WHERE rm.name = 'big'"
                )))
                .bind(MANY_VERSIONS)
                .execute(&mut *conn)
                .await?;
                Ok(())
            })
        })
        .await
        .unwrap();
    let id: i64 = store
        .read(async |conn| crate::models::model_id(conn, "big").await)
        .await
        .unwrap();

    let check = async |failures: &mut Vec<String>, when: &str| {
        let ids = [id];
        for (what, of) in [
            ("a page's latest versions", LatestOf::Ids(&ids)),
            ("one model's latest versions", LatestOf::Name("big")),
        ] {
            for stages in [&Stage::ALL[..], &[Stage::Production]] {
                let q = latest_per_stage_query(&of, stages);
                store
                    .check_latest_per_stage(failures, &format!("{what} in {stages:?}, {when}"), &q)
                    .await;
            }
        }
    };
    let mut failures = Vec::new();
    if store.backend == Backend::Sqlite {
        check(&mut failures, "no statistics").await;
    }
    analyze(&store).await;
    check(&mut failures, "after ANALYZE").await;
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));

    // And the statement finds them: the newest of each stage that has one.
    let latest = store.get_latest_versions("big", &[]).await.unwrap();
    let found: Vec<(i64, Stage)> = latest
        .iter()
        .map(|v| (v.version.get(), v.current_stage))
        .collect();
    assert_eq!(
        found,
        [
            (19_001, Stage::Production),
            (19_999, Stage::None),
            (20_000, Stage::Archived)
        ]
    );
}

const MANY_RUNS: i64 = 100_000;

/// 100,000 runs in one experiment, inserted in one statement; every 1000th carries a tag.
async fn seed_many_runs(store: &MetadataStore) -> String {
    let exp = store.create_experiment("many", None, &[]).await.unwrap();
    let id: i64 = exp.parse().unwrap();
    let (numbers, padded) = match store.backend {
        Backend::Sqlite => (
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $2) \
             SELECT i FROM n",
            "substr('000000' || i, -6, 6)",
        ),
        Backend::Postgres => (
            "SELECT generate_series(1, $2) AS i",
            "lpad(CAST(i AS TEXT), 6, '0')",
        ),
    };
    store
        .write(move |conn| {
            Box::pin(async move {
                // Run ids are zero-padded so that their text order is their number's order.
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO runs (run_uuid, experiment_id, name, user_id, status, start_time, \
                     lifecycle_stage, artifact_uri) \
                     SELECT 'run-' || {padded}, $1, 'r', 'u', 'FINISHED', \
                     1700000000000 + (i / 3), 'active', 'file:///tmp' FROM ({numbers}) AS nums"
                )))
                .bind(id)
                .bind(MANY_RUNS)
                .execute(&mut *conn)
                .await?;
                sqlx::query(
                    "INSERT INTO run_tags (run_uuid, key, value) \
                     SELECT run_uuid, 't', 'x' FROM runs WHERE experiment_id = $1 \
                     AND start_time % 1000 = 0",
                )
                .bind(id)
                .execute(&mut *conn)
                .await?;
                Ok(())
            })
        })
        .await
        .unwrap();
    analyze(store).await;
    exp
}

/// Gathers the planner's statistics, as a store that has grown would have them.
async fn analyze(store: &MetadataStore) {
    store
        .write(move |conn| {
            Box::pin(async move {
                sqlx::query("ANALYZE").execute(&mut *conn).await?;
                Ok(())
            })
        })
        .await
        .unwrap();
}

async fn runs_search_at_100_000_runs_is_served_by_an_index(store: MetadataStore) {
    let exp = seed_many_runs(&store).await;
    let mut failures = Vec::new();
    let exps = [exp];
    for (filter, order) in [
        ("", &[][..]),
        ("", &["start_time ASC"]),
        ("tags.t = 'x'", &[]),
        ("attributes.status = 'FINISHED'", &[]),
    ] {
        let f = parse_run_filter(filter).unwrap();
        let o = parse_run_order_by(&strings(order)).unwrap();
        store
            .check_pages_served_by_index(
                &mut failures,
                &format!("runs/search at 100,000 runs filter={filter:?} order_by={order:?}"),
                |t| runs_query(&exps, &f, &o, ViewType::ActiveOnly, 1000, t),
            )
            .await;
    }

    assert_eq!(
        failures,
        Vec::<String>::new(),
        "\n{}",
        failures.join("\n\n")
    );

    // And the pages, followed to the end, hold every run once, newest first, ties by run id.
    let f = parse_run_filter("").unwrap();
    let o = parse_run_order_by(&[]).unwrap();
    let mut token = None;
    let mut seen: Vec<(i64, String)> = Vec::new();
    loop {
        let page = store
            .search_runs(&exps, &f, &o, ViewType::ActiveOnly, 1000, token.as_ref())
            .await
            .unwrap();
        seen.extend(
            page.items
                .iter()
                .map(|r| (r.info.start_time, r.info.run_id.clone())),
        );
        match page.next_page_token {
            Some(next) => token = Some(PageToken::decode(&next).unwrap()),
            None => break,
        }
    }
    assert_eq!(seen.len() as i64, MANY_RUNS);
    let mut expected = seen.clone();
    expected.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    expected.dedup();
    assert_eq!(seen, expected);
}

async fn sqlite() -> (MetadataStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = MetadataStore::open(&StoreUri::sqlite(dir.path().join("a.db")))
        .await
        .unwrap();
    (store, dir)
}

async fn postgres() -> Option<MetadataStore> {
    let url = crate::testing::fresh_postgres_database().await?;
    Some(
        MetadataStore::open(&StoreUri::parse(&url).unwrap())
            .await
            .unwrap(),
    )
}

#[tokio::test]
async fn every_search_is_served_by_an_index_on_sqlite() {
    let (store, _dir) = sqlite().await;
    every_search_is_served_by_an_index(store).await;
}

#[tokio::test]
#[ignore = "needs ARCA_TEST_PG_URL (a PostgreSQL server): run ./scripts/test.sh"]
async fn every_search_is_served_by_an_index_on_postgres() {
    if let Some(store) = postgres().await {
        every_search_is_served_by_an_index(store).await;
    }
}

#[tokio::test]
async fn latest_versions_are_sought_by_key_on_sqlite() {
    let (store, _dir) = sqlite().await;
    latest_versions_are_sought_by_key(store).await;
}

#[tokio::test]
#[ignore = "needs ARCA_TEST_PG_URL (a PostgreSQL server): run ./scripts/test.sh"]
async fn latest_versions_are_sought_by_key_on_postgres() {
    if let Some(store) = postgres().await {
        latest_versions_are_sought_by_key(store).await;
    }
}

#[tokio::test]
async fn runs_search_at_100_000_runs_is_served_by_an_index_on_sqlite() {
    let (store, _dir) = sqlite().await;
    runs_search_at_100_000_runs_is_served_by_an_index(store).await;
}

#[tokio::test]
#[ignore = "needs ARCA_TEST_PG_URL (a PostgreSQL server): run ./scripts/test.sh"]
async fn runs_search_at_100_000_runs_is_served_by_an_index_on_postgres() {
    if let Some(store) = postgres().await {
        runs_search_at_100_000_runs_is_served_by_an_index(store).await;
    }
}
