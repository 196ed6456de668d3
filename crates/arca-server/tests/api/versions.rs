use crate::helpers::{TestApp, assert_error};
use serde_json::json;

crate::on_both_backends!(
    versions_are_numbered_from_one_and_never_reused,
    a_version_is_rendered_as_mlflow_renders_it,
    stage_transitions_archive_existing_versions,
    latest_versions_are_the_newest_per_stage,
    aliases_point_at_versions_and_go_with_them,
    version_tags_and_descriptions,
    download_uri_follows_copies,
);

async fn versions_are_numbered_from_one_and_never_reused(app: TestApp) {
    app.create_model("n").await;
    for expected in ["1", "2", "3"] {
        assert_eq!(app.create_version("n", "s3://b/m").await, expected);
    }
    let (s, b) = app
        .delete(
            "model-versions/delete",
            json!({"name": "n", "version": "3"}),
        )
        .await;
    assert_eq!((s.as_u16(), b), (200, json!({})));
    let got = app
        .get("model-versions/get", &[("name", "n"), ("version", "3")])
        .await;
    assert_error(
        &got,
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "Model Version (name=n, version=3) not found",
    );
    let got = app
        .delete(
            "model-versions/delete",
            json!({"name": "n", "version": "3"}),
        )
        .await;
    assert_error(&got, 404, "RESOURCE_DOES_NOT_EXIST", "version=3");
    assert_eq!(app.create_version("n", "s3://b/m").await, "4");

    let (_, body) = app
        .get("model-versions/search", &[("filter", "name='n'")])
        .await;
    let versions: Vec<&str> = body["model_versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions.len(), 3);
    assert!(
        !versions.contains(&"3"),
        "deleted version hidden from search: {versions:?}"
    );

    let got = app
        .post(
            "model-versions/create",
            json!({"name": "missing", "source": "s3://x/model"}),
        )
        .await;
    assert_error(&got, 404, "RESOURCE_DOES_NOT_EXIST", "missing");
    let got = app
        .post("model-versions/create", json!({"name": "n"}))
        .await;
    assert_error(&got, 400, "INVALID_PARAMETER_VALUE", "'source'");
    let got = app
        .get("model-versions/get", &[("name", "n"), ("version", "abc")])
        .await;
    assert_error(&got, 400, "INVALID_PARAMETER_VALUE", "abc");
}

const RUN: &str = "0123456789abcdef0123456789abcdef";

async fn a_version_is_rendered_as_mlflow_renders_it(app: TestApp) {
    app.create_model("w").await;
    let (status, body) = app
        .post(
            "model-versions/create",
            json!({"name": "w", "source": format!("runs:/{RUN}/model"), "run_id": RUN, "description": "first",
                   "tags": [{"key": "k", "value": "v"}], "run_link": "http://x"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let mv = &body["model_version"];
    assert_eq!(mv["name"], "w");
    assert_eq!(mv["version"], "1", "versions are strings");
    assert!(mv["creation_timestamp"].is_i64());
    assert_eq!(mv["current_stage"], "None");
    assert_eq!(mv["status"], "READY");
    assert_eq!(mv["source"], format!("runs:/{RUN}/model"));
    assert_eq!(mv["run_id"], RUN);
    assert_eq!(mv["description"], "first");
    assert_eq!(mv["run_link"], "http://x");
    assert_eq!(mv["tags"], json!([{"key": "k", "value": "v"}]));

    // A bare version has an empty description and run_link, and no run_id.
    let (_, body) = app
        .post(
            "model-versions/create",
            json!({"name": "w", "source": "s3://b/2"}),
        )
        .await;
    let mv = &body["model_version"];
    assert_eq!(mv["description"], "");
    assert_eq!(mv["run_link"], "");
    assert_eq!(
        mv["run_id"], "",
        "MLflow stores a missing run_id as empty text"
    );
    assert!(mv.get("tags").is_none());

    // Creating a version marks the model updated.
    let (_, model) = app.get("registered-models/get", &[("name", "w")]).await;
    assert_eq!(
        model["registered_model"]["last_updated_timestamp"],
        mv["creation_timestamp"]
    );
}

async fn stage_transitions_archive_existing_versions(app: TestApp) {
    app.create_model("s").await;
    for _ in 0..3 {
        app.create_version("s", "s3://b/m").await;
    }
    let transition = |version: &'static str, stage: &'static str, archive: bool| {
        app.post(
            "model-versions/transition-stage",
            json!({"name": "s", "version": version, "stage": stage, "archive_existing_versions": archive}),
        )
    };
    let (status, body) = transition("1", "production", false).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["model_version"]["current_stage"], "Production",
        "canonical spelling out"
    );
    let (_, body) = transition("2", "PRODUCTION", false).await;
    assert_eq!(body["model_version"]["current_stage"], "Production");
    // Two versions in Production; moving 3 there with archiving archives both others.
    let (status, body) = transition("3", "Production", true).await;
    assert_eq!(status, 200);
    assert_eq!(body["model_version"]["current_stage"], "Production");
    for v in ["1", "2"] {
        let (_, body) = app
            .get("model-versions/get", &[("name", "s"), ("version", v)])
            .await;
        assert_eq!(
            body["model_version"]["current_stage"], "Archived",
            "version {v}"
        );
    }
    let got = transition("1", "Bogus", false).await;
    assert_error(
        &got,
        400,
        "INVALID_PARAMETER_VALUE",
        "Invalid Model Version stage: Bogus. Value must be one of None, Staging, Production, Archived.",
    );
    // MLflow answers this one with a 500; it is the caller's mistake, so Arca says 400.
    let got = transition("1", "Archived", true).await;
    assert_error(&got, 400, "INVALID_PARAMETER_VALUE", "not an Active stage");
    let got = transition("9", "Staging", false).await;
    assert_error(&got, 404, "RESOURCE_DOES_NOT_EXIST", "version=9");
    // The boolean also arrives as text from some clients.
    let (status, _) = transition("1", "Staging", false).await;
    assert_eq!(status, 200);
}

async fn latest_versions_are_the_newest_per_stage(app: TestApp) {
    app.create_model("l").await;
    for _ in 0..5 {
        app.create_version("l", "s3://b/m").await;
    }
    for (v, stage) in [
        ("1", "Production"),
        ("2", "Staging"),
        ("3", "Production"),
        ("4", "Archived"),
    ] {
        let (s, _) = app.post("model-versions/transition-stage", json!({"name": "l", "version": v, "stage": stage, "archive_existing_versions": false})).await;
        assert_eq!(s, 200);
    }
    let (status, body) = app
        .post(
            "registered-models/get-latest-versions",
            json!({"name": "l"}),
        )
        .await;
    assert_eq!(status, 200);
    let mut got: Vec<(String, String)> = body["model_versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["current_stage"].as_str().unwrap().into(),
                v["version"].as_str().unwrap().into(),
            )
        })
        .collect();
    got.sort();
    let want: Vec<(String, String)> = [
        ("Archived", "4"),
        ("None", "5"),
        ("Production", "3"),
        ("Staging", "2"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(got, want);

    let (_, body) = app
        .post(
            "registered-models/get-latest-versions",
            json!({"name": "l", "stages": ["production", "Staging"]}),
        )
        .await;
    let versions: Vec<&str> = body["model_versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions.len(), 2);
    assert!(versions.contains(&"3") && versions.contains(&"2"));

    // GET with repeated query keys, as the client encodes repeated fields.
    let (status, body) = app
        .get(
            "registered-models/get-latest-versions",
            &[
                ("name", "l"),
                ("stages", "Production"),
                ("stages", "Archived"),
            ],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["model_versions"].as_array().unwrap().len(), 2);

    // The registered model carries the same latest versions.
    let (_, body) = app.get("registered-models/get", &[("name", "l")]).await;
    assert_eq!(
        body["registered_model"]["latest_versions"]
            .as_array()
            .unwrap()
            .len(),
        4
    );

    let got = app
        .post(
            "registered-models/get-latest-versions",
            json!({"name": "l", "stages": "Production"}),
        )
        .await;
    assert_error(&got, 400, "INVALID_PARAMETER_VALUE", "");
    let got = app
        .post(
            "registered-models/get-latest-versions",
            json!({"name": "nope"}),
        )
        .await;
    assert_error(&got, 404, "RESOURCE_DOES_NOT_EXIST", "nope");
}

async fn aliases_point_at_versions_and_go_with_them(app: TestApp) {
    app.create_model("a").await;
    app.create_version("a", "s3://b/1").await;
    app.create_version("a", "s3://b/2").await;
    let set = |alias: &'static str, version: &'static str| {
        app.post(
            "registered-models/alias",
            json!({"name": "a", "alias": alias, "version": version}),
        )
    };
    let (s, b) = set("champion", "1").await;
    assert_eq!((s.as_u16(), b), (200, json!({})));
    set("challenger", "2").await;
    // Setting an alias again moves it.
    set("champion", "2").await;
    let (_, body) = app
        .get(
            "registered-models/alias",
            &[("name", "a"), ("alias", "champion")],
        )
        .await;
    assert_eq!(body["model_version"]["version"], "2");
    assert_eq!(
        body["model_version"]["aliases"],
        json!(["challenger", "champion"])
    );
    let (_, body) = app.get("registered-models/get", &[("name", "a")]).await;
    assert_eq!(
        body["registered_model"]["aliases"],
        json!([{"alias": "challenger", "version": "2"}, {"alias": "champion", "version": "2"}])
    );

    assert_error(
        &set("latest", "1").await,
        400,
        "INVALID_PARAMETER_VALUE",
        "reserved",
    );
    assert_error(&set("v3", "1").await, 400, "INVALID_PARAMETER_VALUE", "v3");
    assert_error(
        &set("other", "7").await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "version=7",
    );

    // Deleting the version removes its aliases.
    app.delete(
        "model-versions/delete",
        json!({"name": "a", "version": "2"}),
    )
    .await;
    let got = app
        .get(
            "registered-models/alias",
            &[("name", "a"), ("alias", "champion")],
        )
        .await;
    assert_error(
        &got,
        400,
        "INVALID_PARAMETER_VALUE",
        "Registered model alias champion not found.",
    );
    let (_, body) = app.get("registered-models/get", &[("name", "a")]).await;
    assert!(body["registered_model"].get("aliases").is_none(), "{body}");

    set("champion", "1").await;
    let (s, _) = app
        .delete(
            "registered-models/alias",
            json!({"name": "a", "alias": "champion"}),
        )
        .await;
    assert_eq!(s, 200);
    let got = app
        .get(
            "registered-models/alias",
            &[("name", "a"), ("alias", "champion")],
        )
        .await;
    assert_error(&got, 400, "INVALID_PARAMETER_VALUE", "champion");
    let got = app
        .get(
            "registered-models/alias",
            &[("name", "zz"), ("alias", "champion")],
        )
        .await;
    assert_error(&got, 404, "RESOURCE_DOES_NOT_EXIST", "zz");
}

async fn version_tags_and_descriptions(app: TestApp) {
    app.create_model("vt").await;
    app.create_version("vt", "s3://b/1").await;
    let (s, _) = app
        .post(
            "model-versions/set-tag",
            json!({"name": "vt", "version": "1", "key": "k", "value": "v"}),
        )
        .await;
    assert_eq!(s, 200);
    let (status, body) = app
        .patch(
            "model-versions/update",
            json!({"name": "vt", "version": "1", "description": "new words"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["model_version"]["description"], "new words");
    assert_eq!(
        body["model_version"]["tags"],
        json!([{"key": "k", "value": "v"}])
    );
    let (s, _) = app
        .delete(
            "model-versions/delete-tag",
            json!({"name": "vt", "version": "1", "key": "k"}),
        )
        .await;
    assert_eq!(s, 200);
    let (_, body) = app
        .get("model-versions/get", &[("name", "vt"), ("version", "1")])
        .await;
    assert!(body["model_version"].get("tags").is_none());
    let got = app
        .post(
            "model-versions/set-tag",
            json!({"name": "vt", "version": "5", "key": "k", "value": "v"}),
        )
        .await;
    assert_error(&got, 404, "RESOURCE_DOES_NOT_EXIST", "version=5");
}

async fn download_uri_follows_copies(app: TestApp) {
    app.create_model("src").await;
    app.create_version("src", "s3://bucket/models/churn").await;
    app.create_model("copy").await;
    app.create_version("copy", "models:/src/1").await;
    let (status, body) = app
        .get(
            "model-versions/get-download-uri",
            &[("name", "copy"), ("version", "1")],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"artifact_uri": "s3://bucket/models/churn"}));
    let (_, body) = app
        .get("model-versions/get", &[("name", "copy"), ("version", "1")])
        .await;
    assert_eq!(
        body["model_version"]["source"], "models:/src/1",
        "the source is kept as given"
    );
}
