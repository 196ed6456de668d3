//! The event log: who changed what, the state before and after, the hash chain, and the registry
//! read back as of a time.

use super::{Store, name, source, tag, v};
use arca_core::model::{AliasName, Stage};
use arca_store::{AsOfRef, Event, HistoryFilter, with_actor};
use serde_json::json;
use sqlx::{AnyConnection, Connection, Row};

on_both_backends!(
    each_change_records_its_actor_and_the_state_before_and_after,
    archiving_existing_versions_records_one_event_per_archived_version,
    an_edited_removed_or_reordered_event_fails_verification,
    the_registry_as_of_a_time_follows_a_sequence_of_promotions,
    rollback_moves_an_alias_back_to_its_previous_version,
    history_pages_newest_first_with_filters,
);

async fn last_event(store: &Store) -> Event {
    let mut all = store.events_after(0, 10_000).await.unwrap();
    all.pop().expect("an event")
}

async fn each_change_records_its_actor_and_the_state_before_and_after(store: Store) {
    let alias = AliasName::parse("champion").unwrap();
    with_actor("alice @ 10.0.0.1".into(), async {
        store
            .create_registered_model(&name("m"), Some("first"), &[tag("team", "a")])
            .await
            .unwrap();
    })
    .await;
    let e = last_event(&store).await;
    assert_eq!(
        (e.action.as_str(), e.actor.as_str()),
        ("create_model", "alice @ 10.0.0.1")
    );
    assert_eq!(e.before, None);
    assert_eq!(
        e.after,
        Some(json!({"name": "m", "description": "first", "tags": {"team": "a"}}))
    );

    with_actor("bob".into(), async {
        store
            .create_model_version(&name("m"), &source("s3://b/m/1"))
            .await
            .unwrap();
        store
            .set_registered_model_alias("m", &alias, v(1))
            .await
            .unwrap();
    })
    .await;
    let e = last_event(&store).await;
    assert_eq!(
        (e.action.as_str(), e.actor.as_str(), e.alias.as_deref()),
        ("set_alias", "bob", Some("champion"))
    );
    assert_eq!(
        (e.before, e.after),
        (None, Some(json!({"alias": "champion", "version": 1})))
    );

    store.delete_model_version("m", v(1)).await.unwrap();
    let e = last_event(&store).await;
    assert_eq!(
        (e.action.as_str(), e.actor.as_str()),
        ("delete_version", "")
    );
    assert_eq!(
        e.before,
        Some(
            json!({"name": "m", "version": 1, "source": "s3://b/m/1", "run_id": null,
            "description": null, "stage": "None", "tags": {}, "aliases": ["champion"]})
        )
    );
    assert_eq!(e.after, None);

    store
        .rename_registered_model("m", &name("n"))
        .await
        .unwrap();
    let e = last_event(&store).await;
    assert_eq!(
        (e.action.as_str(), e.model_name.as_str()),
        ("rename_model", "n")
    );
    assert_eq!(e.before.unwrap()["name"], "m");
    assert_eq!(e.after.unwrap()["name"], "n");
    assert!(store.verify_event_chain().await.unwrap().broken.is_none());
}

async fn archiving_existing_versions_records_one_event_per_archived_version(store: Store) {
    super::model_with_versions(&store, "m", 3).await;
    for n in [1, 2] {
        store
            .transition_model_version_stage("m", v(n), Stage::Production, false)
            .await
            .unwrap();
    }
    let before = store.events_after(0, 10_000).await.unwrap().len();
    store
        .transition_model_version_stage("m", v(3), Stage::Production, true)
        .await
        .unwrap();
    let new: Vec<(String, Option<i64>, String, String)> = store
        .events_after(0, 10_000)
        .await
        .unwrap()
        .split_off(before)
        .into_iter()
        .map(|e| {
            let stage =
                |s: Option<serde_json::Value>| s.unwrap()["stage"].as_str().unwrap().to_owned();
            (e.action, e.version, stage(e.before), stage(e.after))
        })
        .collect();
    let t = |v, from: &str, to: &str| {
        (
            "transition_stage".to_owned(),
            Some(v),
            from.to_owned(),
            to.to_owned(),
        )
    };
    assert_eq!(
        new,
        [
            t(3, "None", "Production"),
            t(1, "Production", "Archived"),
            t(2, "Production", "Archived"),
        ]
    );
}

async fn raw(store: &Store) -> AnyConnection {
    sqlx::any::install_default_drivers();
    AnyConnection::connect(&store.url).await.unwrap()
}

async fn broken_at(store: &Store) -> Option<(i64, String)> {
    store
        .verify_event_chain()
        .await
        .unwrap()
        .broken
        .map(|b| (b.id, b.reason))
}

async fn an_edited_removed_or_reordered_event_fails_verification(store: Store) {
    super::model_with_versions(&store, "m", 4).await;
    let events = store.events_after(0, 100).await.unwrap();
    let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
    assert_eq!(ids.len(), 5);
    let report = store.verify_event_chain().await.unwrap();
    assert_eq!((report.checked, report.broken), (5, None));
    assert_eq!(report.head, events[4].hash);
    let mut db = raw(&store).await;

    // Edited: the source a version was created from is changed after the fact.
    sqlx::query("UPDATE registry_events SET detail = 's3://evil' WHERE id = $1")
        .bind(ids[2])
        .execute(&mut db)
        .await
        .unwrap();
    let (id, reason) = broken_at(&store).await.unwrap();
    assert_eq!(id, ids[2]);
    assert!(reason.contains("edited"), "{reason}");
    sqlx::query("UPDATE registry_events SET detail = $2 WHERE id = $1")
        .bind(ids[2])
        .bind(&events[2].detail)
        .execute(&mut db)
        .await
        .unwrap();
    assert_eq!(broken_at(&store).await, None);

    // Removed: the next event no longer follows the one before the gap.
    let kept = sqlx::query("SELECT * FROM registry_events WHERE id = $1")
        .bind(ids[1])
        .fetch_one(&mut db)
        .await
        .unwrap();
    let kept: Vec<Option<String>> = ["before_state", "after_state", "prev_hash", "hash"]
        .iter()
        .map(|c| kept.try_get(*c).unwrap())
        .collect();
    sqlx::query("DELETE FROM registry_events WHERE id = $1")
        .bind(ids[1])
        .execute(&mut db)
        .await
        .unwrap();
    let (id, reason) = broken_at(&store).await.unwrap();
    assert_eq!(id, ids[2]);
    assert!(reason.contains("removed"), "{reason}");
    let e = &events[1];
    sqlx::query(
        "INSERT INTO registry_events (id, at, actor, action, model_name, version, alias, detail, \
         before_state, after_state, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(e.id)
    .bind(e.at)
    .bind(&e.actor)
    .bind(&e.action)
    .bind(&e.model_name)
    .bind(e.version)
    .bind(e.alias.as_deref())
    .bind(&e.detail)
    .bind(kept[0].as_deref())
    .bind(kept[1].as_deref())
    .bind(kept[2].as_deref())
    .bind(kept[3].as_deref())
    .execute(&mut db)
    .await
    .unwrap();
    assert_eq!(broken_at(&store).await, None);

    // Reordered: two events swap places, each with its own (valid) hash.
    for (at, other) in [(ids[3], ids[4]), (ids[4], ids[3])] {
        sqlx::query(
            "UPDATE registry_events SET version = $2, detail = $3, prev_hash = $4, hash = $5, \
             after_state = $6 WHERE id = $1",
        )
        .bind(at)
        .bind(events.iter().find(|e| e.id == other).unwrap().version)
        .bind(&events.iter().find(|e| e.id == other).unwrap().detail)
        .bind(
            sqlx::query("SELECT prev_hash FROM registry_events WHERE id = $1")
                .bind(other)
                .fetch_one(&mut db)
                .await
                .unwrap()
                .try_get::<String, _>(0)
                .unwrap(),
        )
        .bind(&events.iter().find(|e| e.id == other).unwrap().hash)
        .bind(
            events
                .iter()
                .find(|e| e.id == other)
                .unwrap()
                .after
                .as_ref()
                .map(|a| a.to_string()),
        )
        .execute(&mut db)
        .await
        .unwrap();
    }
    let (id, reason) = broken_at(&store).await.unwrap();
    assert_eq!(id, ids[3], "{reason}");
    let _ = db.close().await;
}

/// Waits until the clock has passed `t`, so that the next change is stamped after it.
async fn after(t: i64) {
    while arca_core::now_millis() <= t {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
}

async fn the_registry_as_of_a_time_follows_a_sequence_of_promotions(store: Store) {
    let champion = AliasName::parse("champion").unwrap();
    super::model_with_versions(&store, "m", 3).await;
    let mut times = Vec::new();
    let mut mark = async |store: &Store| {
        let t = last_event(store).await.at;
        after(t).await;
        times.push(t);
    };
    mark(&store).await; // t0: three versions, nothing promoted
    store
        .transition_model_version_stage("m", v(1), Stage::Production, false)
        .await
        .unwrap();
    store
        .set_registered_model_alias("m", &champion, v(1))
        .await
        .unwrap();
    mark(&store).await; // t1: v1 in Production, @champion = 1
    store
        .transition_model_version_stage("m", v(2), Stage::Production, true)
        .await
        .unwrap();
    store
        .set_registered_model_alias("m", &champion, v(2))
        .await
        .unwrap();
    mark(&store).await; // t2: v2 in Production (v1 archived), @champion = 2
    store.delete_model_version("m", v(3)).await.unwrap();
    store
        .delete_registered_model_alias("m", "champion")
        .await
        .unwrap();
    mark(&store).await; // t3: v3 gone, no champion

    let at = |r: AsOfRef, t: i64| {
        let store = &store;
        async move { store.resolve_as_of("m", &r, t).await.ok() }
    };
    let prod = || AsOfRef::Stage(Stage::Production);
    let champ = || AsOfRef::Alias("champion".into());
    assert_eq!(at(prod(), times[0]).await, None);
    assert_eq!(at(champ(), times[0]).await, None);
    assert_eq!(at(AsOfRef::Latest, times[0]).await, Some(3));
    assert_eq!(at(prod(), times[1]).await, Some(1));
    assert_eq!(at(champ(), times[1]).await, Some(1));
    assert_eq!(at(prod(), times[2]).await, Some(2));
    assert_eq!(at(AsOfRef::Stage(Stage::Archived), times[2]).await, Some(1));
    assert_eq!(at(champ(), times[2]).await, Some(2));
    assert_eq!(at(AsOfRef::Latest, times[3]).await, Some(2));
    assert_eq!(at(AsOfRef::Version(3), times[2]).await, Some(3));
    assert_eq!(at(AsOfRef::Version(3), times[3]).await, None);
    assert_eq!(at(champ(), times[3]).await, None);
    // Before the model existed.
    let early = store
        .resolve_as_of("m", &AsOfRef::Latest, times[0] - 60_000)
        .await;
    assert!(
        matches!(early, Err(arca_core::Error::NotFound(_))),
        "{early:?}"
    );
}

async fn rollback_moves_an_alias_back_to_its_previous_version(store: Store) {
    let champion = AliasName::parse("champion").unwrap();
    super::model_with_versions(&store, "m", 2).await;
    store
        .set_registered_model_alias("m", &champion, v(1))
        .await
        .unwrap();
    assert!(store.rollback_alias("m", "champion").await.is_err());
    store
        .set_registered_model_alias("m", &champion, v(2))
        .await
        .unwrap();
    assert_eq!(store.rollback_alias("m", "champion").await.unwrap(), 1);
    let now = store
        .get_model_version_by_alias("m", "champion")
        .await
        .unwrap();
    assert_eq!(now.version, v(1));
    let e = last_event(&store).await;
    assert_eq!(e.action, "set_alias");
    assert_eq!(
        (e.before, e.after),
        (
            Some(json!({"alias": "champion", "version": 2})),
            Some(json!({"alias": "champion", "version": 1}))
        )
    );
    store
        .delete_registered_model_alias("m", "champion")
        .await
        .unwrap();
    assert_eq!(store.rollback_alias("m", "champion").await.unwrap(), 1);
    assert!(store.rollback_alias("m", "nope").await.is_err());
}

async fn history_pages_newest_first_with_filters(store: Store) {
    super::model_with_versions(&store, "m", 5).await;
    super::model_with_versions(&store, "other", 1).await;
    let filter = HistoryFilter {
        name: Some("m".into()),
        ..HistoryFilter::default()
    };
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page = store
            .search_events(&filter, 2, token.as_ref())
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|e| (e.action.clone(), e.version)));
        match page.next_page_token {
            Some(t) => token = Some(arca_core::search::PageToken::decode(&t).unwrap()),
            None => break,
        }
    }
    let mut expected: Vec<(String, Option<i64>)> = (1..=5)
        .rev()
        .map(|n| ("create_version".into(), Some(n)))
        .collect();
    expected.push(("create_model".into(), None));
    assert_eq!(seen, expected);

    let only_v3 = HistoryFilter {
        version: Some(3),
        ..filter.clone()
    };
    let page = store.search_events(&only_v3, 100, None).await.unwrap();
    assert_eq!(page.items.len(), 1);
    let models = HistoryFilter {
        action: Some("create_model".into()),
        ..HistoryFilter::default()
    };
    let names: Vec<String> = store
        .search_events(&models, 100, None)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| e.model_name)
        .collect();
    assert_eq!(names, ["other", "m"]);
}
