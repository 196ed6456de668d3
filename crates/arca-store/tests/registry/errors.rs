//! What a caller sees when a change fails: a refused change leaves no trace, and a database
//! failure is an internal error that keeps its cause for the log.

use super::{Store, name};
use arca_core::Error;
use std::time::Duration;

pub async fn a_refused_change_leaves_nothing_behind(store: Store) {
    let before = store
        .create_registered_model(&name("a"), None, &[])
        .await
        .unwrap();
    store
        .create_registered_model(&name("b"), None, &[])
        .await
        .unwrap();
    // The rename marks "a" as updated before it finds "b" taken; a later clock makes that
    // write visible if the refusal were to commit it.
    tokio::time::sleep(Duration::from_millis(5)).await;

    let clash = store.rename_registered_model("a", &name("b")).await;

    assert!(matches!(clash, Err(Error::AlreadyExists(_))), "{clash:?}");
    let after = store.get_registered_model("a").await.unwrap();
    assert_eq!(after.last_updated_timestamp, before.last_updated_timestamp);
    let history = store.model_history("a").await.unwrap();
    let actions: Vec<&str> = history.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["create_model"]);
}

pub async fn a_database_failure_is_an_internal_error_with_its_cause(store: Store) {
    store
        .create_registered_model(&name("kept"), None, &[])
        .await
        .unwrap();
    store.close().await;

    for (what, result) in [
        ("read", store.get_registered_model("kept").await.map(drop)),
        (
            "write",
            store
                .create_registered_model(&name("new"), None, &[])
                .await
                .map(drop),
        ),
    ] {
        match result {
            Err(Error::Internal(cause)) => {
                let chain = format!("{cause:#}");
                assert!(chain.starts_with("database error: "), "{what}: {chain}");
                assert!(chain.contains("closed pool"), "{what}: {chain}");
            }
            other => panic!("{what}: expected an internal error, got {other:?}"),
        }
    }
}
