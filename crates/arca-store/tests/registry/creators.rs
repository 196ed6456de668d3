//! The creator of an experiment or model gets MANAGE in the create's own transaction: a model
//! never exists without its creator's grant, and a create that fails leaves no grant (nor a
//! model whose grant could not be written). Under SQLite's group commit each create is one
//! savepoint of a shared transaction, and the same holds for every request of a batch.

use super::{Store, name};
use arca_core::Error;
use arca_core::auth::Permission;
use arca_store::{GrantTarget, MetadataStore};

on_both_backends!(
    a_created_model_and_experiment_carry_their_creators_manage,
    a_create_whose_grant_fails_leaves_nothing,
    a_create_that_fails_grants_nothing,
    concurrent_creates_each_land_whole_with_their_grant_or_not_at_all,
);

/// No user has this id: its grant breaks the foreign key to `users`.
const NO_SUCH_USER: i64 = 987_654;

async fn user(store: &MetadataStore, username: &str) -> i64 {
    // The store keeps whatever PHC string it is given; no password is checked here.
    store
        .create_user(username, "$argon2id$not-checked-here", false)
        .await
        .unwrap()
        .id
}

async fn a_created_model_and_experiment_carry_their_creators_manage(store: Store) {
    let ana = user(&store, "ana").await;
    let bo = user(&store, "bo").await;
    store
        .create_registered_model_by(&name("churn"), None, &[], Some(ana))
        .await
        .unwrap();
    let model = GrantTarget::Model("churn".into());
    assert_eq!(
        store.grant_of(&model, ana).await.unwrap(),
        Some(Permission::Manage)
    );
    assert_eq!(store.grant_of(&model, bo).await.unwrap(), None);
    let exp = store
        .create_experiment_by("ana-exp", None, &[], Some(ana))
        .await
        .unwrap();
    assert_eq!(
        store
            .grant_of(&GrantTarget::Experiment(exp), ana)
            .await
            .unwrap(),
        Some(Permission::Manage)
    );
    // Without a creator (no --auth, the CLI's local flavor) nobody is granted anything.
    store
        .create_registered_model(&name("nobodys"), None, &[])
        .await
        .unwrap();
    assert!(store.model_grants("nobodys").await.unwrap().is_empty());
}

async fn a_create_whose_grant_fails_leaves_nothing(store: Store) {
    let err = store
        .create_registered_model_by(&name("orphan"), None, &[], Some(NO_SUCH_USER))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    // The model went with its grant: nothing of it, not even its history.
    assert!(matches!(
        store.get_registered_model("orphan").await,
        Err(Error::NotFound(_))
    ));
    assert!(store.model_history("orphan").await.unwrap().is_empty());
    // The name is free for the next create.
    store
        .create_registered_model(&name("orphan"), None, &[])
        .await
        .unwrap();

    let err = store
        .create_experiment_by("orphan-exp", None, &[], Some(NO_SUCH_USER))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    assert!(matches!(
        store.get_experiment_by_name("orphan-exp").await,
        Err(Error::NotFound(_))
    ));
}

async fn a_create_that_fails_grants_nothing(store: Store) {
    let ana = user(&store, "ana").await;
    let bo = user(&store, "bo").await;
    store
        .create_registered_model_by(&name("taken"), None, &[], Some(ana))
        .await
        .unwrap();
    let err = store
        .create_registered_model_by(&name("taken"), None, &[], Some(bo))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::AlreadyExists(_)), "{err:?}");
    assert_eq!(
        store.model_grants("taken").await.unwrap(),
        vec![("ana".to_owned(), Permission::Manage)]
    );
    store
        .create_experiment_by("taken-exp", None, &[], Some(ana))
        .await
        .unwrap();
    let err = store
        .create_experiment_by("taken-exp", None, &[], Some(bo))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::AlreadyExists(_)), "{err:?}");
    let exp = store.get_experiment_by_name("taken-exp").await.unwrap();
    assert_eq!(
        store
            .grant_of(&GrantTarget::Experiment(exp.experiment_id), bo)
            .await
            .unwrap(),
        None
    );
}

/// Many creates at once (on SQLite, batched into shared transactions), every other one by a
/// creator whose grant cannot be written: exactly the others exist, each with its grant.
async fn concurrent_creates_each_land_whole_with_their_grant_or_not_at_all(store: Store) {
    let ana = user(&store, "ana").await;
    let store = std::sync::Arc::new(store);
    let mut tasks = Vec::new();
    for i in 0..40 {
        let store = store.clone();
        let creator = if i % 2 == 0 { ana } else { NO_SUCH_USER };
        tasks.push(tokio::spawn(async move {
            store
                .create_registered_model_by(&name(&format!("m{i:02}")), None, &[], Some(creator))
                .await
                .is_ok()
        }));
    }
    for (i, task) in tasks.into_iter().enumerate() {
        assert_eq!(task.await.unwrap(), i % 2 == 0, "create m{i:02}");
    }
    for i in 0..40 {
        let model = format!("m{i:02}");
        let exists = store.get_registered_model(&model).await.is_ok();
        assert_eq!(exists, i % 2 == 0, "{model} exists");
        let grant = store
            .grant_of(&GrantTarget::Model(model.clone()), ana)
            .await
            .unwrap();
        assert_eq!(grant, exists.then_some(Permission::Manage), "{model}");
    }
}
