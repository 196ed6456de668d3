//! `list_model_versions`: one model's versions a page at a time, filtered in the database.

use super::{Store, model_with_versions, not_found, tag, v};
use arca_core::model::{AliasName, ModelVersion, Stage};
use arca_store::version_list::VersionCount::{self, AtLeast, Exact};
use arca_store::version_list::{VersionListFilter, VersionListStart};

on_both_backends!(
    versions_are_listed_newest_first_a_page_at_a_time,
    every_page_is_walked_both_ways_with_every_filter,
    filters_narrow_the_list_to_one_model_s_matching_versions,
    versions_are_filtered_by_creation_time,
    deleted_versions_and_unknown_models_are_not_listed,
);

fn numbers(versions: &[ModelVersion]) -> Vec<i64> {
    versions.iter().map(|mv| mv.version.get()).collect()
}

async fn count(store: &Store, model: &str, bound: u64) -> VersionCount {
    store.count_model_versions(model, bound).await.unwrap()
}

async fn versions_are_listed_newest_first_a_page_at_a_time(store: Store) {
    model_with_versions(&store, "m", 7).await;
    model_with_versions(&store, "other", 3).await;
    let all = VersionListFilter::default();
    let page = |filter: &VersionListFilter, start| {
        let (store, filter) = (&store, filter.clone());
        async move {
            store
                .list_model_versions("m", &filter, start, 3)
                .await
                .unwrap()
        }
    };
    let first = page(&all, VersionListStart::First).await;
    assert_eq!(numbers(&first.versions), [7, 6, 5]);
    assert!(!first.has_previous && first.has_next);
    let second = page(&all, VersionListStart::After(5)).await;
    assert_eq!(numbers(&second.versions), [4, 3, 2]);
    assert!(second.has_previous && second.has_next);
    let third = page(&all, VersionListStart::After(2)).await;
    assert_eq!(numbers(&third.versions), [1]);
    assert!(third.has_previous && !third.has_next);
    // Back from the second page; the last page is a full one, read from the end.
    let back = page(&all, VersionListStart::Before(4)).await;
    assert_eq!(numbers(&back.versions), [7, 6, 5]);
    assert!(!back.has_previous && back.has_next);
    let last = page(&all, VersionListStart::Last).await;
    assert_eq!(numbers(&last.versions), [3, 2, 1]);
    assert!(last.has_previous && !last.has_next);
    let past_the_end = page(&all, VersionListStart::After(1)).await;
    assert!(past_the_end.versions.is_empty() && !past_the_end.has_next);

    let oldest = VersionListFilter {
        oldest_first: true,
        ..VersionListFilter::default()
    };
    let first = page(&oldest, VersionListStart::First).await;
    assert_eq!(numbers(&first.versions), [1, 2, 3]);
    let second = page(&oldest, VersionListStart::After(3)).await;
    assert_eq!(numbers(&second.versions), [4, 5, 6]);
    let back = page(&oldest, VersionListStart::Before(4)).await;
    assert_eq!(numbers(&back.versions), [1, 2, 3]);
    assert!(!back.has_previous);
    let last = page(&oldest, VersionListStart::Last).await;
    assert_eq!(numbers(&last.versions), [5, 6, 7]);
    assert!(last.versions.iter().all(|mv| mv.name == "m"));

    assert_eq!(count(&store, "m", 100).await, Exact(7));
    assert_eq!(count(&store, "other", 100).await, Exact(3));
    // Deleted versions are not counted; past the bound of deletes, the live ones are counted
    // up to the bound.
    store.delete_model_version("m", v(2)).await.unwrap();
    store.delete_model_version("m", v(7)).await.unwrap();
    assert_eq!(count(&store, "m", 2).await, Exact(5));
    assert_eq!(count(&store, "m", 1).await, AtLeast(1));
    assert_eq!(count(&store, "m", 5).await, Exact(5));
    assert_eq!(count(&store, "other", 1).await, Exact(3));
}

/// Every version the list holds, following the pages from the first to the last, and, in the
/// list's order again, following them back from the last to the first; with the pages' sizes.
async fn walk_both_ways(
    store: &Store,
    filter: &VersionListFilter,
    size: u64,
) -> (Vec<i64>, Vec<i64>) {
    let mut forwards = Vec::new();
    let mut start = VersionListStart::First;
    loop {
        let page = store
            .list_model_versions("m", filter, start, size)
            .await
            .unwrap();
        assert!(page.versions.len() as u64 <= size);
        assert_eq!(page.has_previous, start != VersionListStart::First);
        forwards.extend(numbers(&page.versions));
        match page.versions.last() {
            Some(last) if page.has_next => start = VersionListStart::After(last.version.get()),
            _ => break,
        }
    }
    let mut pages = Vec::new();
    let mut start = VersionListStart::Last;
    loop {
        let page = store
            .list_model_versions("m", filter, start, size)
            .await
            .unwrap();
        assert_eq!(page.has_next, start != VersionListStart::Last);
        pages.push(numbers(&page.versions));
        match page.versions.first() {
            Some(first) if page.has_previous => {
                start = VersionListStart::Before(first.version.get())
            }
            _ => break,
        }
    }
    let backwards = pages.into_iter().rev().flatten().collect();
    (forwards, backwards)
}

async fn every_page_is_walked_both_ways_with_every_filter(store: Store) {
    // 40 versions; every third in Staging, every fourth tagged `data` (every eighth `data=a`),
    // version 17 is @champion.
    model_with_versions(&store, "m", 40).await;
    model_with_versions(&store, "other", 5).await;
    for n in 1..=40 {
        if n % 3 == 0 {
            store
                .transition_model_version_stage("m", v(n), Stage::Staging, false)
                .await
                .unwrap();
        }
        if n % 4 == 0 {
            let value = if n % 8 == 0 { "a" } else { "b" };
            store
                .set_model_version_tag("m", v(n), &tag("data", value))
                .await
                .unwrap();
        }
    }
    store
        .set_registered_model_alias("m", &AliasName::parse("champion").unwrap(), v(17))
        .await
        .unwrap();
    store.delete_model_version("m", v(24)).await.unwrap();
    let all = store
        .list_model_versions(
            "m",
            &VersionListFilter::default(),
            VersionListStart::First,
            100,
        )
        .await
        .unwrap()
        .versions;
    let (first, last) = (all.last().unwrap(), all.first().unwrap());
    let stamp = |mv: &ModelVersion| mv.creation_timestamp;
    let middle = stamp(all.iter().find(|mv| mv.version == v(20)).unwrap());

    let staging = Some(Stage::Staging);
    let data = Some("data".to_owned());
    let filters = [
        VersionListFilter::default(),
        VersionListFilter {
            stage: staging,
            ..Default::default()
        },
        VersionListFilter {
            alias: Some("champion".into()),
            ..Default::default()
        },
        VersionListFilter {
            tag_key: data.clone(),
            ..Default::default()
        },
        VersionListFilter {
            tag_key: data.clone(),
            tag_value: Some("a".into()),
            ..Default::default()
        },
        VersionListFilter {
            tag_key: data.clone(),
            stage: staging,
            ..Default::default()
        },
        VersionListFilter {
            created_from: Some(middle),
            ..Default::default()
        },
        VersionListFilter {
            created_to: Some(middle),
            ..Default::default()
        },
        VersionListFilter {
            created_from: Some(stamp(first)),
            created_to: Some(stamp(last) + 1),
            ..Default::default()
        },
        VersionListFilter {
            stage: staging,
            created_from: Some(middle),
            ..Default::default()
        },
    ];
    for filter in filters {
        for oldest_first in [false, true] {
            let filter = VersionListFilter {
                oldest_first,
                ..filter.clone()
            };
            // What the filter selects, worked out here from the versions themselves.
            let mut expected: Vec<i64> = all
                .iter()
                .filter(|mv| filter.stage.is_none_or(|s| mv.current_stage == s))
                .filter(|mv| filter.alias.as_ref().is_none_or(|a| mv.aliases.contains(a)))
                .filter(|mv| {
                    filter.tag_key.as_ref().is_none_or(|k| {
                        mv.tags.iter().any(|t| {
                            &t.key == k
                                && filter.tag_value.as_ref().is_none_or(|val| &t.value == val)
                        })
                    })
                })
                .filter(|mv| {
                    filter
                        .created_from
                        .is_none_or(|f| mv.creation_timestamp >= f)
                })
                .filter(|mv| filter.created_to.is_none_or(|t| mv.creation_timestamp < t))
                .map(|mv| mv.version.get())
                .collect();
            let by_time = filter.created_from.is_some() || filter.created_to.is_some();
            if oldest_first {
                expected.reverse();
            }
            for size in [1, 3, 25] {
                let (forwards, backwards) = walk_both_ways(&store, &filter, size).await;
                let mut seen = forwards.clone();
                if by_time && filter.stage.is_none() {
                    // Listed by creation time: versions created in one millisecond may come in
                    // either order, but each comes once.
                    seen.sort_unstable();
                    seen.dedup();
                    let mut want = expected.clone();
                    want.sort_unstable();
                    assert_eq!(seen, want, "{filter:?}, {size} a page");
                    assert_eq!(forwards.len(), expected.len(), "{filter:?}, {size} a page");
                } else {
                    assert_eq!(forwards, expected, "{filter:?}, {size} a page, forwards");
                }
                assert_eq!(backwards, forwards, "{filter:?}, {size} a page, backwards");
            }
        }
    }
}

async fn filters_narrow_the_list_to_one_model_s_matching_versions(store: Store) {
    model_with_versions(&store, "m", 6).await;
    model_with_versions(&store, "other", 6).await;
    for model in ["m", "other"] {
        for n in [2, 5] {
            store
                .transition_model_version_stage(model, v(n), Stage::Production, false)
                .await
                .unwrap();
        }
        store
            .set_model_version_tag(model, v(3), &tag("team", "risk"))
            .await
            .unwrap();
        store
            .set_model_version_tag(model, v(5), &tag("team", "ops"))
            .await
            .unwrap();
        store
            .set_registered_model_alias(model, &AliasName::parse("champion").unwrap(), v(5))
            .await
            .unwrap();
    }
    let list = |filter: VersionListFilter| {
        let store = &store;
        async move {
            store
                .list_model_versions("m", &filter, VersionListStart::First, 100)
                .await
                .unwrap()
                .versions
        }
    };

    let production = list(VersionListFilter {
        stage: Some(Stage::Production),
        ..Default::default()
    })
    .await;
    assert_eq!(numbers(&production), [5, 2]);
    assert!(
        production
            .iter()
            .all(|mv| mv.current_stage == Stage::Production)
    );

    let champion = list(VersionListFilter {
        alias: Some("champion".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(numbers(&champion), [5]);
    assert_eq!(champion[0].aliases, ["champion"]);
    assert_eq!(champion[0].tags, [tag("team", "ops")]);

    let tagged = list(VersionListFilter {
        tag_key: Some("team".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(numbers(&tagged), [5, 3]);
    let risk = list(VersionListFilter {
        tag_key: Some("team".into()),
        tag_value: Some("risk".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(numbers(&risk), [3]);

    // Conditions combine: Production and tagged `team` is only version 5.
    let both = list(VersionListFilter {
        stage: Some(Stage::Production),
        tag_key: Some("team".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(numbers(&both), [5]);

    let nothing = list(VersionListFilter {
        alias: Some("nobody".into()),
        ..Default::default()
    })
    .await;
    assert!(nothing.is_empty());
    // User text is a bound value, never SQL.
    let injected = list(VersionListFilter {
        tag_key: Some("team' OR '1'='1".into()),
        ..Default::default()
    })
    .await;
    assert!(injected.is_empty());
}

async fn versions_are_filtered_by_creation_time(store: Store) {
    model_with_versions(&store, "m", 5).await;
    let all = store
        .list_model_versions(
            "m",
            &VersionListFilter::default(),
            VersionListStart::First,
            100,
        )
        .await
        .unwrap()
        .versions;
    let third = all.iter().find(|mv| mv.version == v(3)).unwrap();
    let cut = third.creation_timestamp;
    // What each bound must select, worked out from the stored times themselves, so that
    // versions created within the same millisecond do not make the test flaky.
    let expect = |keep: &dyn Fn(i64) -> bool| -> Vec<i64> {
        all.iter()
            .filter(|mv| keep(mv.creation_timestamp))
            .map(|mv| mv.version.get())
            .collect()
    };
    let from = store
        .list_model_versions(
            "m",
            &VersionListFilter {
                created_from: Some(cut),
                ..Default::default()
            },
            VersionListStart::First,
            100,
        )
        .await
        .unwrap();
    assert_eq!(numbers(&from.versions), expect(&|t| t >= cut));
    assert!(numbers(&from.versions).contains(&3));
    let to = store
        .list_model_versions(
            "m",
            &VersionListFilter {
                created_to: Some(cut),
                ..Default::default()
            },
            VersionListStart::First,
            100,
        )
        .await
        .unwrap();
    assert_eq!(numbers(&to.versions), expect(&|t| t < cut));
    assert!(!numbers(&to.versions).contains(&3));
    let future = store
        .list_model_versions(
            "m",
            &VersionListFilter {
                created_from: Some(cut + 86_400_000),
                ..Default::default()
            },
            VersionListStart::First,
            100,
        )
        .await
        .unwrap();
    assert!(future.versions.is_empty());
}

async fn deleted_versions_and_unknown_models_are_not_listed(store: Store) {
    model_with_versions(&store, "m", 4).await;
    store.delete_model_version("m", v(4)).await.unwrap();
    store.delete_model_version("m", v(2)).await.unwrap();
    let page = store
        .list_model_versions(
            "m",
            &VersionListFilter::default(),
            VersionListStart::First,
            10,
        )
        .await
        .unwrap();
    assert_eq!(numbers(&page.versions), [3, 1]);
    assert_eq!(count(&store, "m", 100).await, Exact(2));
    assert_eq!(count(&store, "m", 1).await, AtLeast(1));
    let message = not_found(
        store
            .list_model_versions(
                "nope",
                &VersionListFilter::default(),
                VersionListStart::First,
                10,
            )
            .await,
    );
    assert!(message.contains("nope"), "{message}");
    not_found(store.count_model_versions("nope", 100).await);
}
