//! The registry service driven directly, as the server's handlers and the CLI's local flavor
//! drive it: every test runs on a fresh SQLite file, and on a fresh PostgreSQL database when
//! `ARCA_TEST_PG_URL` names a server (those variants are ignored in a plain `cargo test`;
//! `./scripts/test.sh` runs them).

use arca_core::Error;
use arca_core::model::{AliasName, ModelName, NewModelVersion, Stage, Tag, VersionNumber};
use arca_core::search::{PageToken, SearchEntity, parse_filter, parse_order_by};
use arca_store::{MetadataStore, NewRun, StoreUri};
use std::ops::Deref;
use tempfile::TempDir;

mod errors;
mod foreign;
mod group_commit;

use errors::{
    a_database_failure_is_an_internal_error_with_its_cause, a_refused_change_leaves_nothing_behind,
};

/// A registry on its own database, with the folder that holds it (SQLite) kept alive.
pub struct Store {
    metadata: MetadataStore,
    /// The database's URL, for tests that reach past the store (tampering with the log).
    url: String,
    _dir: Option<TempDir>,
}

impl Deref for Store {
    type Target = MetadataStore;
    fn deref(&self) -> &MetadataStore {
        &self.metadata
    }
}

impl Store {
    async fn sqlite() -> Store {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("arca.db");
        let metadata = MetadataStore::open(&StoreUri::sqlite(&path)).await.unwrap();
        Store {
            metadata,
            url: format!("sqlite://{}", path.display()),
            _dir: Some(dir),
        }
    }

    async fn postgres() -> Option<Store> {
        let url = arca_store::testing::fresh_postgres_database().await?;
        let metadata = MetadataStore::open(&StoreUri::parse(&url).unwrap())
            .await
            .unwrap();
        Some(Store {
            metadata,
            url,
            _dir: None,
        })
    }
}

/// Runs each listed `async fn(Store)` on SQLite and on PostgreSQL.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::Store::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                #[ignore = "needs ARCA_TEST_PG_URL (a PostgreSQL server): run ./scripts/test.sh"]
                async fn $name() {
                    if let Some(store) = super::Store::postgres().await {
                        super::$name(store).await;
                    }
                }
            )*
        }
    };
}

mod creators;
mod events;
mod log_batch;
mod version_list;

on_both_backends!(
    models_are_created_read_updated_and_deleted,
    versions_are_numbered_from_one_and_never_reused,
    a_soft_deleted_version_is_gone_everywhere,
    stage_transitions_archive_the_existing_versions_when_asked,
    aliases_point_at_one_live_version,
    tags_are_set_overwritten_and_deleted,
    search_pages_through_every_model_once,
    search_pages_through_versions_with_a_filter,
    a_search_without_an_order_uses_the_default_order,
    paging_while_versions_are_added_shows_each_earlier_version_once,
    paging_while_runs_are_added_shows_each_earlier_run_once,
    a_page_token_from_another_search_is_refused,
    rename_moves_versions_aliases_and_tags,
    sources_that_reach_a_host_or_the_local_disk_are_refused,
    run_sources_must_name_their_run,
    copies_of_versions_are_stored_by_number_with_their_run,
    every_change_is_in_the_history,
    a_refused_change_leaves_nothing_behind,
    a_database_failure_is_an_internal_error_with_its_cause,
);

fn name(raw: &str) -> ModelName {
    ModelName::parse(raw).unwrap()
}

fn v(n: i64) -> VersionNumber {
    VersionNumber::from_stored(n)
}

fn tag(key: &str, value: &str) -> Tag {
    Tag {
        key: key.into(),
        value: value.into(),
    }
}

fn source(uri: &str) -> NewModelVersion {
    NewModelVersion {
        source: uri.into(),
        ..NewModelVersion::default()
    }
}

/// The error's message, asserting its kind.
fn invalid(result: arca_core::Result<impl std::fmt::Debug>) -> String {
    match result {
        Err(Error::InvalidParameter(message)) => message,
        other => panic!("expected an invalid-parameter error, got {other:?}"),
    }
}

fn not_found(result: arca_core::Result<impl std::fmt::Debug>) -> String {
    match result {
        Err(Error::NotFound(message)) => message,
        other => panic!("expected a not-found error, got {other:?}"),
    }
}

/// A model with `count` versions from `s3://bucket/<model>/<n>`.
async fn model_with_versions(store: &MetadataStore, model: &str, count: i64) {
    store
        .create_registered_model(&name(model), None, &[])
        .await
        .unwrap();
    for n in 1..=count {
        let mv = store
            .create_model_version(&name(model), &source(&format!("s3://bucket/{model}/{n}")))
            .await
            .unwrap();
        assert_eq!(mv.version, v(n));
    }
}

async fn models_are_created_read_updated_and_deleted(store: Store) {
    let created = store
        .create_registered_model(&name("churn"), Some("first"), &[tag("team", "risk")])
        .await
        .unwrap();
    assert_eq!(created.description.as_deref(), Some("first"));
    let again = store
        .create_registered_model(&name("churn"), None, &[])
        .await;
    assert!(
        matches!(&again, Err(Error::AlreadyExists(m)) if m.contains("churn")),
        "{again:?}"
    );

    let read = store.get_registered_model("churn").await.unwrap();
    assert_eq!(read.tags, vec![tag("team", "risk")]);
    assert_eq!(read.creation_timestamp, created.creation_timestamp);

    let updated = store
        .update_registered_model("churn", Some("second"))
        .await
        .unwrap();
    assert_eq!(updated.description.as_deref(), Some("second"));
    // No description leaves the one there.
    let kept = store.update_registered_model("churn", None).await.unwrap();
    assert_eq!(kept.description.as_deref(), Some("second"));

    store
        .create_model_version(&name("churn"), &source("s3://bucket/churn/1"))
        .await
        .unwrap();
    store.delete_registered_model("churn").await.unwrap();
    not_found(store.get_registered_model("churn").await);
    not_found(store.get_model_version("churn", v(1)).await);
    not_found(store.delete_registered_model("churn").await);
    // The name is free again, and its versions start over.
    model_with_versions(&store, "churn", 1).await;
}

async fn versions_are_numbered_from_one_and_never_reused(store: Store) {
    model_with_versions(&store, "m", 3).await;
    store.delete_model_version("m", v(3)).await.unwrap();
    let next = store
        .create_model_version(&name("m"), &source("s3://bucket/m/4"))
        .await
        .unwrap();
    assert_eq!(
        next.version,
        v(4),
        "a deleted number is not handed out again"
    );
    assert_eq!(next.current_stage, Stage::None);
    assert_eq!(next.source, "s3://bucket/m/4");

    // Numbers are per model.
    model_with_versions(&store, "other", 1).await;
    let missing = store
        .create_model_version(&name("nope"), &source("s3://bucket/x"))
        .await;
    assert!(not_found(missing).contains("nope"));
}

async fn a_soft_deleted_version_is_gone_everywhere(store: Store) {
    model_with_versions(&store, "m", 2).await;
    let alias = AliasName::parse("champion").unwrap();
    store
        .set_registered_model_alias("m", &alias, v(2))
        .await
        .unwrap();
    store
        .transition_model_version_stage("m", v(2), Stage::Production, false)
        .await
        .unwrap();
    store.delete_model_version("m", v(2)).await.unwrap();

    not_found(store.get_model_version("m", v(2)).await);
    not_found(store.delete_model_version("m", v(2)).await);
    not_found(store.update_model_version("m", v(2), Some("x")).await);
    not_found(
        store
            .transition_model_version_stage("m", v(2), Stage::Staging, false)
            .await,
    );
    // Its alias went with it, and it is no stage's latest.
    let by_alias = store.get_model_version_by_alias("m", "champion").await;
    assert!(invalid(by_alias).contains("champion"));
    let latest = store.get_latest_versions("m", &[]).await.unwrap();
    assert_eq!(
        latest
            .iter()
            .map(|mv| (mv.version, mv.current_stage))
            .collect::<Vec<_>>(),
        vec![(v(1), Stage::None)]
    );
    let all = parse_filter(SearchEntity::ModelVersions, "name = 'm'").unwrap();
    let order = parse_order_by(SearchEntity::ModelVersions, &[]).unwrap();
    let found = store
        .search_model_versions(&all, &order, 100, None)
        .await
        .unwrap();
    assert_eq!(
        found.items.iter().map(|mv| mv.version).collect::<Vec<_>>(),
        vec![v(1)]
    );
}

async fn stage_transitions_archive_the_existing_versions_when_asked(store: Store) {
    model_with_versions(&store, "m", 4).await;
    for n in [1, 2] {
        store
            .transition_model_version_stage("m", v(n), Stage::Production, false)
            .await
            .unwrap();
    }
    store
        .transition_model_version_stage("m", v(3), Stage::Staging, false)
        .await
        .unwrap();
    // Without archiving, two versions share Production.
    let stage_of = |n: i64| {
        let store = &store;
        async move {
            store
                .get_model_version("m", v(n))
                .await
                .unwrap()
                .current_stage
        }
    };
    assert_eq!(stage_of(1).await, Stage::Production);

    let moved = store
        .transition_model_version_stage("m", v(4), Stage::Production, true)
        .await
        .unwrap();
    assert_eq!(moved.current_stage, Stage::Production);
    assert_eq!(stage_of(1).await, Stage::Archived);
    assert_eq!(stage_of(2).await, Stage::Archived);
    assert_eq!(stage_of(3).await, Stage::Staging, "other stages stay");

    let latest = store
        .get_latest_versions("m", &[Stage::Production, Stage::Archived])
        .await
        .unwrap();
    let mut pairs: Vec<_> = latest
        .iter()
        .map(|mv| (mv.current_stage, mv.version))
        .collect();
    pairs.sort_by_key(|(_, n)| n.get());
    assert_eq!(
        pairs,
        vec![(Stage::Archived, v(2)), (Stage::Production, v(4))]
    );

    // Archiving into a stage that is not Staging or Production is the caller's mistake.
    let refused = store
        .transition_model_version_stage("m", v(3), Stage::Archived, true)
        .await;
    assert!(invalid(refused).contains("not an Active stage"));
    assert_eq!(stage_of(3).await, Stage::Staging);
}

async fn aliases_point_at_one_live_version(store: Store) {
    model_with_versions(&store, "m", 2).await;
    let champion = AliasName::parse("champion").unwrap();
    store
        .set_registered_model_alias("m", &champion, v(1))
        .await
        .unwrap();
    assert_eq!(
        store
            .get_model_version_by_alias("m", "champion")
            .await
            .unwrap()
            .version,
        v(1)
    );
    // Setting it again moves it.
    store
        .set_registered_model_alias("m", &champion, v(2))
        .await
        .unwrap();
    let mv = store
        .get_model_version_by_alias("m", "champion")
        .await
        .unwrap();
    assert_eq!(mv.version, v(2));
    assert_eq!(mv.aliases, vec!["champion".to_owned()]);
    let model = store.get_registered_model("m").await.unwrap();
    assert_eq!(model.aliases.len(), 1);
    assert_eq!(model.aliases[0].version, v(2));
    assert!(
        store
            .get_model_version("m", v(1))
            .await
            .unwrap()
            .aliases
            .is_empty()
    );

    // `latest` reads the newest live version.
    let latest = store.get_model_version_by_alias("m", "latest").await;
    assert_eq!(latest.unwrap().version, v(2));

    not_found(store.set_registered_model_alias("m", &champion, v(9)).await);
    not_found(
        store
            .set_registered_model_alias("nope", &champion, v(1))
            .await,
    );
    store
        .delete_registered_model_alias("m", "champion")
        .await
        .unwrap();
    invalid(store.get_model_version_by_alias("m", "champion").await);
    // Deleting an alias that is not there succeeds, as in MLflow.
    store
        .delete_registered_model_alias("m", "champion")
        .await
        .unwrap();
}

async fn tags_are_set_overwritten_and_deleted(store: Store) {
    model_with_versions(&store, "m", 1).await;
    store
        .set_registered_model_tag("m", &tag("team", "risk"))
        .await
        .unwrap();
    store
        .set_registered_model_tag("m", &tag("team", "growth"))
        .await
        .unwrap();
    store
        .set_model_version_tag("m", v(1), &tag("validated", "yes"))
        .await
        .unwrap();
    assert_eq!(
        store.get_registered_model("m").await.unwrap().tags,
        vec![tag("team", "growth")]
    );
    assert_eq!(
        store.get_model_version("m", v(1)).await.unwrap().tags,
        vec![tag("validated", "yes")]
    );

    store
        .delete_registered_model_tag("m", "team")
        .await
        .unwrap();
    store
        .delete_model_version_tag("m", v(1), "validated")
        .await
        .unwrap();
    assert!(
        store
            .get_registered_model("m")
            .await
            .unwrap()
            .tags
            .is_empty()
    );
    assert!(
        store
            .get_model_version("m", v(1))
            .await
            .unwrap()
            .tags
            .is_empty()
    );
    // A missing tag deletes quietly; a missing version or model does not.
    store
        .delete_registered_model_tag("m", "team")
        .await
        .unwrap();
    not_found(store.set_model_version_tag("m", v(7), &tag("k", "v")).await);
    not_found(store.set_registered_model_tag("nope", &tag("k", "v")).await);
}

async fn search_pages_through_every_model_once(store: Store) {
    for i in 0..7 {
        let tags = [tag("parity", if i % 2 == 0 { "even" } else { "odd" })];
        store
            .create_registered_model(&name(&format!("model-{i}")), None, &tags)
            .await
            .unwrap();
    }
    let filter = parse_filter(SearchEntity::RegisteredModels, "").unwrap();
    let order = parse_order_by(SearchEntity::RegisteredModels, &["name DESC".into()]).unwrap();
    let mut seen = Vec::new();
    let mut token: Option<PageToken> = None;
    let mut pages = 0;
    loop {
        let page = store
            .search_registered_models(&filter, &order, 3, token.as_ref())
            .await
            .unwrap();
        pages += 1;
        assert!(page.items.len() <= 3);
        seen.extend(page.items.into_iter().map(|m| m.name));
        match page.next_page_token {
            Some(next) => token = Some(PageToken::decode(&next).unwrap()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = (0..7).rev().map(|i| format!("model-{i}")).collect();
    assert_eq!(seen, expected);

    let odd = parse_filter(SearchEntity::RegisteredModels, "tags.parity = 'odd'").unwrap();
    let page = store
        .search_registered_models(&odd, &order, 100, None)
        .await
        .unwrap();
    let names: Vec<_> = page.items.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["model-5", "model-3", "model-1"]);
    assert_eq!(page.next_page_token, None);
}

async fn a_search_without_an_order_uses_the_default_order(store: Store) {
    model_with_versions(&store, "a", 3).await;
    let filter = parse_filter(SearchEntity::ModelVersions, "name = 'a'").unwrap();
    let page = store
        .search_model_versions(&filter, &[], 10, None)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 3);
    let models = store
        .search_registered_models(
            &parse_filter(SearchEntity::RegisteredModels, "").unwrap(),
            &[],
            10,
            None,
        )
        .await
        .unwrap();
    assert_eq!(models.items.len(), 1);
}

async fn search_pages_through_versions_with_a_filter(store: Store) {
    model_with_versions(&store, "a", 5).await;
    model_with_versions(&store, "b", 2).await;
    let filter = parse_filter(SearchEntity::ModelVersions, "name = 'a'").unwrap();
    let order =
        parse_order_by(SearchEntity::ModelVersions, &["version_number ASC".into()]).unwrap();
    let first = store
        .search_model_versions(&filter, &order, 2, None)
        .await
        .unwrap();
    let token = PageToken::decode(first.next_page_token.as_deref().unwrap()).unwrap();
    let second = store
        .search_model_versions(&filter, &order, 2, Some(&token))
        .await
        .unwrap();
    let token = PageToken::decode(second.next_page_token.as_deref().unwrap()).unwrap();
    let third = store
        .search_model_versions(&filter, &order, 2, Some(&token))
        .await
        .unwrap();
    assert_eq!(third.next_page_token, None);
    let numbers: Vec<i64> = [first, second, third]
        .iter()
        .flat_map(|page| page.items.iter())
        .inspect(|mv| assert_eq!(mv.name, "a"))
        .map(|mv| mv.version.get())
        .collect();
    assert_eq!(numbers, [1, 2, 3, 4, 5]);
}

async fn rename_moves_versions_aliases_and_tags(store: Store) {
    model_with_versions(&store, "old", 2).await;
    model_with_versions(&store, "taken", 0).await;
    store
        .set_registered_model_tag("old", &tag("team", "risk"))
        .await
        .unwrap();
    store
        .set_registered_model_alias("old", &AliasName::parse("prod").unwrap(), v(2))
        .await
        .unwrap();

    let clash = store.rename_registered_model("old", &name("taken")).await;
    assert!(matches!(clash, Err(Error::AlreadyExists(_))), "{clash:?}");

    let renamed = store
        .rename_registered_model("old", &name("new"))
        .await
        .unwrap();
    assert_eq!(renamed.name, "new");
    assert_eq!(renamed.tags, vec![tag("team", "risk")]);
    not_found(store.get_registered_model("old").await);
    let mv = store
        .get_model_version_by_alias("new", "prod")
        .await
        .unwrap();
    assert_eq!((mv.name.as_str(), mv.version), ("new", v(2)));
    // Numbering carries on where it was.
    let next = store
        .create_model_version(&name("new"), &source("s3://bucket/new/3"))
        .await
        .unwrap();
    assert_eq!(next.version, v(3));
    not_found(store.rename_registered_model("old", &name("x")).await);
    // Searches find the versions under the new name only.
    let under = |n: &str| parse_filter(SearchEntity::ModelVersions, &format!("name = '{n}'"));
    let found = store
        .search_model_versions(&under("new").unwrap(), &[], 10, None)
        .await
        .unwrap();
    let found: Vec<_> = found
        .items
        .iter()
        .map(|mv| (mv.name.as_str(), mv.version))
        .collect();
    assert_eq!(found, [("new", v(3)), ("new", v(2)), ("new", v(1))]);
    let gone = store
        .search_model_versions(&under("old").unwrap(), &[], 10, None)
        .await
        .unwrap();
    assert!(gone.items.is_empty(), "{gone:?}");
}

/// Keyset pages resume after the last row shown, so versions registered while a client pages
/// (the newest sort first in the default order) neither push an earlier version onto the next
/// page a second time nor past it.
async fn paging_while_versions_are_added_shows_each_earlier_version_once(store: Store) {
    model_with_versions(&store, "a", 12).await;
    model_with_versions(&store, "b", 12).await;
    let before: Vec<(String, i64)> = ["a", "b"]
        .iter()
        .flat_map(|m| (1..=12).map(move |n| (m.to_string(), n)))
        .collect();
    let filter = parse_filter(SearchEntity::ModelVersions, "").unwrap();
    let order = parse_order_by(SearchEntity::ModelVersions, &[]).unwrap();
    let mut seen: Vec<(String, i64)> = Vec::new();
    let mut token: Option<PageToken> = None;
    for i in 0.. {
        let page = store
            .search_model_versions(&filter, &order, 5, token.as_ref())
            .await
            .unwrap();
        seen.extend(
            page.items
                .iter()
                .map(|mv| (mv.name.clone(), mv.version.get())),
        );
        let Some(next) = page.next_page_token else {
            break;
        };
        token = Some(PageToken::decode(&next).unwrap());
        store
            .create_model_version(&name("a"), &source("s3://bucket/a/new"))
            .await
            .unwrap();
        model_with_versions(&store, &format!("c-{i}"), 1).await;
    }
    for row in &before {
        let times = seen.iter().filter(|s| *s == row).count();
        assert_eq!(times, 1, "{row:?} was shown {times} times in {seen:?}");
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "a row shown twice: {seen:?}");
}

async fn paging_while_runs_are_added_shows_each_earlier_run_once(store: Store) {
    let exp = store.create_experiment("paging", None, &[]).await.unwrap();
    let mut before = Vec::new();
    for i in 0..20 {
        let run = store
            .create_run(&NewRun {
                experiment_id: exp.clone(),
                // Pairs of runs tie on start_time; the run id orders them.
                start_time: Some(1_000 + i / 2),
                ..NewRun::default()
            })
            .await
            .unwrap();
        before.push(run.info.run_id);
    }
    let exps = [exp.clone()];
    let filter = arca_core::search::parse_run_filter("").unwrap();
    let order = arca_core::search::parse_run_order_by(&[]).unwrap();
    let mut seen: Vec<String> = Vec::new();
    let mut token: Option<PageToken> = None;
    loop {
        let page = store
            .search_runs(
                &exps,
                &filter,
                &order,
                Default::default(),
                3,
                token.as_ref(),
            )
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|r| r.info.run_id.clone()));
        let Some(next) = page.next_page_token else {
            break;
        };
        token = Some(PageToken::decode(&next).unwrap());
        // Started now: ahead of every earlier run in the default order (newest first).
        store
            .create_run(&NewRun {
                experiment_id: exp.clone(),
                ..NewRun::default()
            })
            .await
            .unwrap();
    }
    for run in &before {
        let times = seen.iter().filter(|s| *s == run).count();
        assert_eq!(times, 1, "run {run} was shown {times} times");
    }
    assert_eq!(
        seen.len(),
        before.len(),
        "runs started while paging sort first: {seen:?}"
    );
}

/// A token resumes the search that issued it; with another filter or order it is refused, as
/// MLflow refuses a token it cannot use. MLflow's own offset tokens still work.
async fn a_page_token_from_another_search_is_refused(store: Store) {
    model_with_versions(&store, "a", 3).await;
    model_with_versions(&store, "b", 3).await;
    let filter = |f: &str| parse_filter(SearchEntity::ModelVersions, f).unwrap();
    let order = parse_order_by(SearchEntity::ModelVersions, &[]).unwrap();
    let page = store
        .search_model_versions(&filter("name = 'a'"), &order, 1, None)
        .await
        .unwrap();
    let token = PageToken::decode(page.next_page_token.as_deref().unwrap()).unwrap();

    let other_filter = store
        .search_model_versions(&filter("name = 'b'"), &order, 1, Some(&token))
        .await;
    let message = invalid(other_filter);
    assert!(message.starts_with("Invalid page token"), "{message}");
    assert!(message.contains("different filter, order_by"), "{message}");
    let by_number =
        parse_order_by(SearchEntity::ModelVersions, &["version_number ASC".into()]).unwrap();
    invalid(
        store
            .search_model_versions(&filter("name = 'a'"), &by_number, 1, Some(&token))
            .await,
    );
    let models = parse_filter(SearchEntity::RegisteredModels, "").unwrap();
    invalid(
        store
            .search_registered_models(&models, &[], 1, Some(&token))
            .await,
    );

    // The same search with a larger page carries on after the row the token names.
    let rest = store
        .search_model_versions(&filter("name = 'a'"), &order, 10, Some(&token))
        .await
        .unwrap();
    let rest: Vec<i64> = rest.items.iter().map(|mv| mv.version.get()).collect();
    assert_eq!(rest, [2, 1]);

    // base64 of MLflow's {"offset": 1}, with padding.
    let mlflow = PageToken::decode("eyJvZmZzZXQiOiAxfQ==").unwrap();
    let page = store
        .search_model_versions(&filter("name = 'a'"), &order, 1, Some(&mlflow))
        .await
        .unwrap();
    assert_eq!(page.items[0].version, v(2));
    let next = PageToken::decode(page.next_page_token.as_deref().unwrap()).unwrap();
    let last = store
        .search_model_versions(&filter("name = 'a'"), &order, 1, Some(&next))
        .await
        .unwrap();
    assert_eq!(last.items[0].version, v(1));
    assert_eq!(last.next_page_token, None);
}

async fn sources_that_reach_a_host_or_the_local_disk_are_refused(store: Store) {
    model_with_versions(&store, "m", 0).await;
    let m = name("m");
    for host in [
        "http://example.com/model",
        "hdfs://nn/model",
        "ftp://h/model",
    ] {
        let message = invalid(store.create_model_version(&m, &source(host)).await);
        assert!(message.contains("addresses a host"), "{host}: {message}");
    }
    for local in ["/srv/models/m", "file:///srv/models/m", "relative/dir"] {
        let message = invalid(store.create_model_version(&m, &source(local)).await);
        assert!(message.contains("local path"), "{local}: {message}");
    }
    for traversal in ["s3://bucket/a/../b", "s3://bucket"] {
        invalid(store.create_model_version(&m, &source(traversal)).await);
    }
    // Nothing was stored by the refusals: the first accepted source is version 1.
    let ok = store
        .create_model_version(&m, &source("gs://bucket/models/m"))
        .await
        .unwrap();
    assert_eq!(ok.version, v(1));
}

async fn new_run(store: &MetadataStore) -> arca_core::tracking::Run {
    let experiment = store
        .create_experiment(&format!("exp-{}", uuid_like()), None, &[])
        .await
        .unwrap();
    store
        .create_run(&NewRun {
            experiment_id: experiment,
            user_id: "tester".into(),
            run_name: None,
            start_time: None,
            tags: Vec::new(),
        })
        .await
        .unwrap()
}

fn uuid_like() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

async fn run_sources_must_name_their_run(store: Store) {
    model_with_versions(&store, "m", 0).await;
    let m = name("m");
    let run = new_run(&store).await;
    let run_id = run.info.run_id.clone();
    let other = new_run(&store).await.info.run_id;

    let runs_source = format!("runs:/{run_id}/model");
    let without_run = invalid(store.create_model_version(&m, &source(&runs_source)).await);
    assert!(without_run.contains("run_id"), "{without_run}");
    let wrong_run = NewModelVersion {
        run_id: other.clone(),
        ..source(&runs_source)
    };
    invalid(store.create_model_version(&m, &wrong_run).await);
    let right = NewModelVersion {
        run_id: run_id.clone(),
        ..source(&runs_source)
    };
    let mv = store.create_model_version(&m, &right).await.unwrap();
    assert_eq!((mv.version, mv.run_id.as_str()), (v(1), run_id.as_str()));

    // A file behind the artifact proxy must lie inside the named run's artifacts.
    let inside = format!("{}/model", run.info.artifact_uri.trim_end_matches('/'));
    assert!(inside.starts_with("mlflow-artifacts:"), "{inside}");
    let proxied = NewModelVersion {
        run_id: run_id.clone(),
        ..source(&inside)
    };
    assert_eq!(
        store
            .create_model_version(&m, &proxied)
            .await
            .unwrap()
            .version,
        v(2)
    );
    let elsewhere = NewModelVersion {
        run_id: other,
        ..source(&inside)
    };
    invalid(store.create_model_version(&m, &elsewhere).await);
}

async fn copies_of_versions_are_stored_by_number_with_their_run(store: Store) {
    model_with_versions(&store, "src", 0).await;
    let run = new_run(&store).await.info.run_id;
    let registered = NewModelVersion {
        run_id: run.clone(),
        ..source(&format!("runs:/{run}/model"))
    };
    store
        .create_model_version(&name("src"), &registered)
        .await
        .unwrap();
    store
        .set_registered_model_alias("src", &AliasName::parse("best").unwrap(), v(1))
        .await
        .unwrap();
    model_with_versions(&store, "dst", 0).await;

    let by_alias = store
        .create_model_version(&name("dst"), &source("models:/src@best"))
        .await
        .unwrap();
    assert_eq!(
        by_alias.source, "models:/src/1",
        "stored as the exact version"
    );
    assert_eq!(by_alias.run_id, run, "the copy belongs to the source's run");
    let uri = store
        .get_model_version_download_uri("dst", v(1))
        .await
        .unwrap();
    assert!(uri.ends_with("/model"), "resolved through the copy: {uri}");

    not_found(
        store
            .create_model_version(&name("dst"), &source("models:/src/9"))
            .await,
    );
    not_found(
        store
            .create_model_version(&name("dst"), &source("models:/absent/1"))
            .await,
    );
    let message = invalid(
        store
            .create_model_version(&name("dst"), &source("models://other-registry/src/1"))
            .await,
    );
    assert!(message.contains("active model registry"), "{message}");
}

async fn every_change_is_in_the_history(store: Store) {
    model_with_versions(&store, "m", 1).await;
    store
        .transition_model_version_stage("m", v(1), Stage::Staging, false)
        .await
        .unwrap();
    store
        .set_registered_model_alias("m", &AliasName::parse("a").unwrap(), v(1))
        .await
        .unwrap();
    store.delete_model_version("m", v(1)).await.unwrap();
    let actions: Vec<_> = store
        .model_history("m")
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.action, e.version))
        .collect();
    assert_eq!(
        actions,
        [
            ("create_model".to_owned(), None),
            ("create_version".to_owned(), Some(1)),
            ("transition_stage".to_owned(), Some(1)),
            ("set_alias".to_owned(), Some(1)),
            ("delete_version".to_owned(), Some(1)),
        ]
    );
}
