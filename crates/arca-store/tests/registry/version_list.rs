//! `list_model_versions`: one model's versions a page at a time, filtered in the database.

use super::{Store, model_with_versions, not_found, tag, v};
use arca_core::model::{AliasName, ModelVersion, Stage};
use arca_store::version_list::VersionListFilter;

on_both_backends!(
    versions_are_listed_newest_first_a_page_at_a_time,
    filters_narrow_the_list_to_one_model_s_matching_versions,
    versions_are_filtered_by_creation_time,
    deleted_versions_and_unknown_models_are_not_listed,
);

fn numbers(versions: &[ModelVersion]) -> Vec<i64> {
    versions.iter().map(|mv| mv.version.get()).collect()
}

async fn versions_are_listed_newest_first_a_page_at_a_time(store: Store) {
    model_with_versions(&store, "m", 7).await;
    model_with_versions(&store, "other", 3).await;
    let all = VersionListFilter::default();
    let first = store.list_model_versions("m", &all, 3, 0).await.unwrap();
    assert_eq!(numbers(&first.items), [7, 6, 5]);
    assert!(first.next_page_token.is_some());
    let last = store.list_model_versions("m", &all, 3, 6).await.unwrap();
    assert_eq!(numbers(&last.items), [1]);
    assert_eq!(last.next_page_token, None);
    let past_the_end = store.list_model_versions("m", &all, 3, 9).await.unwrap();
    assert!(past_the_end.items.is_empty());

    let oldest = VersionListFilter {
        oldest_first: true,
        ..VersionListFilter::default()
    };
    let first = store.list_model_versions("m", &oldest, 4, 0).await.unwrap();
    assert_eq!(numbers(&first.items), [1, 2, 3, 4]);
    let second = store.list_model_versions("m", &oldest, 4, 4).await.unwrap();
    assert_eq!(numbers(&second.items), [5, 6, 7]);
    assert_eq!(second.next_page_token, None);
    assert!(second.items.iter().all(|mv| mv.name == "m"));

    assert_eq!(store.count_model_versions("m").await.unwrap(), 7);
    assert_eq!(store.count_model_versions("other").await.unwrap(), 3);
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
                .list_model_versions("m", &filter, 100, 0)
                .await
                .unwrap()
                .items
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
        .list_model_versions("m", &VersionListFilter::default(), 100, 0)
        .await
        .unwrap()
        .items;
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
            100,
            0,
        )
        .await
        .unwrap();
    assert_eq!(numbers(&from.items), expect(&|t| t >= cut));
    assert!(numbers(&from.items).contains(&3));
    let to = store
        .list_model_versions(
            "m",
            &VersionListFilter {
                created_to: Some(cut),
                ..Default::default()
            },
            100,
            0,
        )
        .await
        .unwrap();
    assert_eq!(numbers(&to.items), expect(&|t| t < cut));
    assert!(!numbers(&to.items).contains(&3));
    let future = store
        .list_model_versions(
            "m",
            &VersionListFilter {
                created_from: Some(cut + 86_400_000),
                ..Default::default()
            },
            100,
            0,
        )
        .await
        .unwrap();
    assert!(future.items.is_empty());
}

async fn deleted_versions_and_unknown_models_are_not_listed(store: Store) {
    model_with_versions(&store, "m", 4).await;
    store.delete_model_version("m", v(4)).await.unwrap();
    store.delete_model_version("m", v(2)).await.unwrap();
    let page = store
        .list_model_versions("m", &VersionListFilter::default(), 10, 0)
        .await
        .unwrap();
    assert_eq!(numbers(&page.items), [3, 1]);
    assert_eq!(store.count_model_versions("m").await.unwrap(), 2);
    let message = not_found(
        store
            .list_model_versions("nope", &VersionListFilter::default(), 10, 0)
            .await,
    );
    assert!(message.contains("nope"), "{message}");
    not_found(store.count_model_versions("nope").await);
}
