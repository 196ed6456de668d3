//! Group commit on SQLite: concurrent writes share a transaction, yet each lands whole or not at
//! all, alone. SQLite only: on PostgreSQL every write is its own transaction.
//!
//! The tests run on tokio's current-thread runtime unless they say otherwise: spawned requests
//! then all queue before the writer task runs, so batches of more than one write are certain,
//! not a matter of timing.

use super::{Store, name, tag};
use arca_core::Error;
use arca_core::model::{ModelVersion, NewModelVersion, Tag};
use arca_core::search::{SearchEntity, parse_filter, parse_order_by};
use arca_store::{MetadataStore, NewLoggedModel};
use futures::FutureExt;
use std::collections::BTreeSet;
use std::time::Duration;

/// Every live version of `model`, by number.
async fn versions_of(store: &MetadataStore, model: &str) -> Vec<ModelVersion> {
    let filter = parse_filter(SearchEntity::ModelVersions, &format!("name = '{model}'")).unwrap();
    let order =
        parse_order_by(SearchEntity::ModelVersions, &["version_number ASC".into()]).unwrap();
    let page = store
        .search_model_versions(&filter, &order, 10_000, None)
        .await
        .unwrap();
    assert_eq!(page.next_page_token, None);
    page.items
}

fn request_tags(request: usize) -> Vec<Tag> {
    vec![
        tag("request", &request.to_string()),
        tag("part", "a"),
        tag("other_part", "b"),
    ]
}

fn version_from(model: &str, request: usize) -> NewModelVersion {
    NewModelVersion {
        source: format!("s3://bucket/{model}/{request}"),
        tags: request_tags(request),
        ..NewModelVersion::default()
    }
}

/// The request a version was made by, asserting that all of its tags landed with it.
fn request_of(mv: &ModelVersion) -> usize {
    let request: usize = mv
        .tags
        .iter()
        .find(|t| t.key == "request")
        .unwrap_or_else(|| panic!("version {} has no request tag: {mv:?}", mv.version))
        .value
        .parse()
        .unwrap();
    let mut tags = mv.tags.clone();
    tags.sort_by(|a, b| a.key.cmp(&b.key));
    let mut expected = request_tags(request);
    expected.sort_by(|a, b| a.key.cmp(&b.key));
    assert_eq!(tags, expected, "version {}", mv.version);
    request
}

/// The versions of `model` are numbered 1..N without a gap, each has all its tags and exactly
/// one `create_version` history row, and nothing else is in its history. Returns the requests
/// that made them.
async fn assert_whole_versions(store: &MetadataStore, model: &str) -> BTreeSet<usize> {
    let versions = versions_of(store, model).await;
    let numbers: Vec<i64> = versions.iter().map(|mv| mv.version.get()).collect();
    let expected: Vec<i64> = (1..=versions.len() as i64).collect();
    assert_eq!(numbers, expected, "version numbers of {model}");
    let requests: BTreeSet<usize> = versions.iter().map(request_of).collect();
    assert_eq!(requests.len(), versions.len(), "one version per request");
    let history = store.model_history(model).await.unwrap();
    let actions: Vec<(&str, Option<i64>)> = history
        .iter()
        .map(|e| (e.action.as_str(), e.version))
        .collect();
    let mut expected_actions = vec![("create_model", None)];
    expected_actions.extend(numbers.iter().map(|n| ("create_version", Some(*n))));
    assert_eq!(actions, expected_actions, "history of {model}");
    requests
}

/// A logged model that was deleted: a version made from it passes the source check and fails
/// only after its version number was allocated.
async fn deleted_logged_model(store: &MetadataStore) -> String {
    let experiment = store.create_experiment("logged", None, &[]).await.unwrap();
    let logged = store
        .create_logged_model(&NewLoggedModel {
            experiment_id: experiment,
            name: Some("gone".into()),
            model_type: None,
            source_run_id: None,
            params: Vec::new(),
            tags: Vec::new(),
        })
        .await
        .unwrap();
    store.delete_logged_model(&logged.model_id).await.unwrap();
    logged.model_id
}

#[tokio::test]
async fn a_failing_write_fails_alone_and_its_batch_commits() {
    let store = Store::sqlite().await;
    let store: MetadataStore = (*store).clone();
    for model in ["m", "taken"] {
        store
            .create_registered_model(&name(model), None, &[])
            .await
            .unwrap();
    }
    let gone = deleted_logged_model(&store).await;
    let before = store.write_stats();

    let requests: Vec<_> = (0..160)
        .map(|request| {
            let store = store.clone();
            let gone = gone.clone();
            tokio::spawn(async move {
                match request % 4 {
                    // Succeeds, and is readable as soon as it is answered.
                    0 | 1 => {
                        let mv = store
                            .create_model_version(&name("m"), &version_from("m", request))
                            .await
                            .unwrap();
                        let read = store.get_model_version("m", mv.version).await.unwrap();
                        assert_eq!(read.source, format!("s3://bucket/m/{request}"));
                        Some(request)
                    }
                    // Fails after bumping the model's version counter.
                    2 => {
                        let from_gone = NewModelVersion {
                            source: format!("models:/{gone}"),
                            model_id: Some(gone),
                            ..version_from("m", request)
                        };
                        let failed = store.create_model_version(&name("m"), &from_gone).await;
                        assert!(matches!(failed, Err(Error::NotFound(_))), "{failed:?}");
                        None
                    }
                    // Fails on a name clash.
                    _ => {
                        let failed = store
                            .create_registered_model(&name("taken"), None, &request_tags(request))
                            .await;
                        assert!(matches!(failed, Err(Error::AlreadyExists(_))), "{failed:?}");
                        None
                    }
                }
            })
        })
        .collect();
    let mut succeeded = BTreeSet::new();
    for request in requests {
        succeeded.extend(request.await.unwrap());
    }

    assert_eq!(succeeded.len(), 80);
    assert_eq!(assert_whole_versions(&store, "m").await, succeeded);
    let taken = store.get_registered_model("taken").await.unwrap();
    assert!(taken.tags.is_empty(), "{:?}", taken.tags);
    let history = store.model_history("taken").await.unwrap();
    assert_eq!(history.len(), 1, "{history:?}");

    let after = store.write_stats();
    let (batches, writes) = (after.batches - before.batches, after.writes - before.writes);
    assert_eq!(writes, 160);
    assert!(batches < writes, "{batches} batches for {writes} writes");
    assert!(after.largest_batch > 1, "{after:?}");
    assert!(after.commit_time > Duration::ZERO, "{after:?}");
}

#[tokio::test]
async fn a_write_whose_caller_left_before_it_started_leaves_nothing() {
    let store = Store::sqlite().await;
    store
        .create_registered_model(&name("m"), None, &[])
        .await
        .unwrap();

    for request in 0..20 {
        // Polled once, so the write is queued, then dropped: its caller went away.
        let gave_up = store
            .create_model_version(&name("m"), &version_from("m", request))
            .now_or_never();
        assert!(gave_up.is_none(), "{gave_up:?}");
    }
    let next = store
        .create_model_version(&name("m"), &version_from("m", 20))
        .await
        .unwrap();

    assert_eq!(next.version.get(), 1);
    assert_eq!(
        assert_whole_versions(&store, "m").await,
        BTreeSet::from([20])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_cancelled_midway_land_whole_or_not_at_all_and_the_store_stays_usable() {
    let store = Store::sqlite().await;
    let store: MetadataStore = (*store).clone();
    store
        .create_registered_model(&name("m"), None, &[])
        .await
        .unwrap();

    let requests: Vec<_> = (0..200)
        .map(|request| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .create_model_version(&name("m"), &version_from("m", request))
                    .await
                    .unwrap();
                request
            })
        })
        .collect();
    // Cancel every other request wherever it happens to be: queued, running, or waiting for
    // its batch's COMMIT. Waiting for the request before it first lets the writer get busy.
    let mut answered = BTreeSet::new();
    let mut requests = requests.into_iter();
    while let (Some(kept), Some(cancelled)) = (requests.next(), requests.next()) {
        answered.insert(kept.await.unwrap());
        cancelled.abort();
        match cancelled.await {
            Ok(request) => {
                answered.insert(request);
            }
            Err(err) => assert!(err.is_cancelled(), "{err}"),
        }
    }

    // A hang would fail here rather than stall the suite.
    let next = tokio::time::timeout(
        Duration::from_secs(60),
        store.create_model_version(&name("m"), &version_from("m", 1000)),
    )
    .await
    .expect("the store still takes writes")
    .unwrap();
    let present = assert_whole_versions(&store, "m").await;
    assert!(
        present.is_superset(&answered),
        "every answered write is kept"
    );
    assert!(present.contains(&1000));
    assert_eq!(next.version.get(), present.len() as i64);
}
