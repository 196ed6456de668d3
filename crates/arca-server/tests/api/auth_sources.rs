//! `--auth`: a new model version needs READ on what it is made from, as MLflow's auth app has
//! it (`validate_can_create_model_version`). EDIT on your own model must not let you register
//! someone else's run, logged model or registered model into it and read their files through
//! your version. The same holds for the UI's "register this run's model" form, whose new
//! model, like one made with `registered-models/create`, is managed by its creator.

use crate::auth::{ADMIN, Who};
use crate::helpers::{Backend, TestApp};
use arca_core::auth::Permission;
use reqwest::Method;
use serde_json::{Value, json};

crate::on_both_backends_with_auth!(
    a_new_version_needs_read_on_its_run_logged_model_or_source_model,
    the_ui_registers_a_runs_model_only_for_those_who_may_read_the_run,
);

/// An experiment with a run and a logged model, and a model with one version: all the admin's.
struct Theirs {
    experiment: String,
    run: String,
    logged_model: String,
}

async fn theirs(app: &TestApp) -> Theirs {
    let experiment = app.create_experiment(&ADMIN, "theirs").await;
    let run = app
        .ok(
            &ADMIN,
            Method::POST,
            "runs/create",
            json!({"experiment_id": experiment}),
        )
        .await["run"]["info"]["run_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let logged_model = app
        .ok(
            &ADMIN,
            Method::POST,
            "logged-models",
            json!({"experiment_id": experiment, "name": "lm", "source_run_id": run}),
        )
        .await["model"]["info"]["model_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.ok(
        &ADMIN,
        Method::POST,
        "registered-models/create",
        json!({"name": "their-model"}),
    )
    .await;
    app.ok(
        &ADMIN,
        Method::POST,
        "model-versions/create",
        json!({"name": "their-model", "source": "s3://b/their-model/1"}),
    )
    .await;
    Theirs {
        experiment,
        run,
        logged_model,
    }
}

async fn version_count(app: &TestApp, model: &str) -> usize {
    app.ok(
        &ADMIN,
        Method::GET,
        "model-versions/search",
        json!({"filter": format!("name='{model}'")}),
    )
    .await["model_versions"]
        .as_array()
        .map_or(0, Vec::len)
}

async fn a_new_version_needs_read_on_its_run_logged_model_or_source_model(app: TestApp) {
    let t = theirs(&app).await;
    app.add_user("ana", "ana-password-1").await;
    let ana = Who::Basic("ana", "ana-password-1");
    app.ok(
        &ana,
        Method::POST,
        "registered-models/create",
        json!({"name": "ana-model"}),
    )
    .await;
    let run_source = json!({"name": "ana-model", "source": format!("runs:/{}/model", t.run),
                            "run_id": t.run});
    let logged_source = json!({"name": "ana-model",
                               "source": format!("models:/{}", t.logged_model),
                               "model_id": t.logged_model});
    let copy_source = json!({"name": "ana-model", "source": "models:/their-model/1"});
    let refused: [(&str, Value); 6] = [
        ("a run she may not read", run_source.clone()),
        ("a logged model she may not read", logged_source.clone()),
        (
            "a models:/m-... source alone",
            json!({"name": "ana-model", "source": format!("models:/{}", t.logged_model)}),
        ),
        ("a registered model she may not read", copy_source.clone()),
        // Ids that do not exist are refused as unreadable ones, so the answer tells nothing.
        (
            "a run that does not exist",
            json!({"name": "ana-model", "source": "runs:/0123456789abcdef/model",
                   "run_id": "0123456789abcdef"}),
        ),
        (
            "an explicitly empty run_id",
            json!({"name": "ana-model", "source": "s3://b/x", "run_id": ""}),
        ),
    ];
    for (what, body) in &refused {
        let (status, answer) = app
            .api(&ana, Method::POST, "model-versions/create", body.clone())
            .await;
        assert_eq!(status, 403, "{what}: {answer}");
        assert_eq!(answer["error_code"], "PERMISSION_DENIED", "{what}");
    }
    assert_eq!(version_count(&app, "ana-model").await, 0);
    // A source that is no one's needs nothing more than EDIT on her model.
    app.ok(
        &ana,
        Method::POST,
        "model-versions/create",
        json!({"name": "ana-model", "source": "s3://b/ana/1"}),
    )
    .await;

    // READ on the experiment opens its run and its logged model; READ on the model its copy.
    app.grant("ana", "experiment", &t.experiment, "READ").await;
    app.grant("ana", "registered_model", "their-model", "READ")
        .await;
    for body in [run_source, logged_source, copy_source] {
        app.ok(&ana, Method::POST, "model-versions/create", body)
            .await;
    }
    assert_eq!(version_count(&app, "ana-model").await, 4);

    // READ on the source is not EDIT on the model the version goes to.
    app.add_user("bo", "bo-password-1").await;
    app.grant("bo", "experiment", &t.experiment, "READ").await;
    let (status, answer) = app
        .api(
            &Who::Basic("bo", "bo-password-1"),
            Method::POST,
            "model-versions/create",
            json!({"name": "ana-model", "source": format!("runs:/{}/model", t.run),
                   "run_id": t.run}),
        )
        .await;
    assert_eq!(status, 403, "{answer}");
    assert_eq!(version_count(&app, "ana-model").await, 4);
}

async fn the_ui_registers_a_runs_model_only_for_those_who_may_read_the_run(app: TestApp) {
    let t = theirs(&app).await;
    app.add_user("ana", "ana-password-1").await;
    let ana = Who::Basic("ana", "ana-password-1");
    let register = format!("/runs/{}/register", t.run);
    let form = |name: &str| json!({"name": name, "path": "model"});
    let (status, _) = app
        .call(&ana, Method::POST, &register, form("from-ui"))
        .await;
    assert_eq!(status, 403, "a run she may not read");
    let (status, _) = app
        .api(
            &ADMIN,
            Method::GET,
            "registered-models/get",
            json!({"name": "from-ui"}),
        )
        .await;
    assert_eq!(status, 404, "nothing was created");

    app.grant("ana", "experiment", &t.experiment, "READ").await;
    // Into someone else's model she may not edit: no.
    let (status, _) = app
        .call(&ana, Method::POST, &register, form("their-model"))
        .await;
    assert_eq!(status, 403);
    assert_eq!(version_count(&app, "their-model").await, 1);
    // Into a new model: she creates it (the answer is the new version's page) and manages it.
    let (status, _) = app
        .call(&ana, Method::POST, &register, form("from-ui"))
        .await;
    assert_eq!(status, 200);
    let (status, body) = app
        .call(
            &ADMIN,
            Method::GET,
            "/api/3.0/mlflow/users/permissions/get",
            json!({"username": "ana", "resource_type": "registered_model",
                   "resource_id": "from-ui"}),
        )
        .await;
    assert_eq!((status, &body["permission"]), (200, &json!("MANAGE")));
    let version = app
        .ok(
            &ana,
            Method::GET,
            "model-versions/get",
            json!({"name": "from-ui", "version": "1"}),
        )
        .await;
    assert_eq!(
        version["model_version"]["source"],
        format!("runs:/{}/model", t.run)
    );
}
