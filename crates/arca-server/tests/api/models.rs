use crate::helpers::{TestApp, assert_error};
use serde_json::json;

crate::on_both_backends!(
    create_then_get_returns_the_model_in_mlflow_wire_format,
    duplicate_names_and_missing_models_get_mlflow_error_codes,
    rename_carries_versions_tags_and_aliases,
    update_and_delete_a_model,
    model_tags_set_overwrite_and_delete,
    data_survives_a_restart,
);

async fn create_then_get_returns_the_model_in_mlflow_wire_format(app: TestApp) {
    let created = app.create_model("churn").await;
    assert_eq!(created["name"], "churn");
    assert!(
        created["creation_timestamp"].is_i64(),
        "int64 as JSON number"
    );
    assert_eq!(
        created["creation_timestamp"],
        created["last_updated_timestamp"]
    );
    // Unset fields and empty lists are left out, as MLflow leaves them out.
    for absent in ["description", "latest_versions", "tags", "aliases"] {
        assert!(created.get(absent).is_none(), "{absent} in {created}");
    }

    let (status, body) = app.get("registered-models/get", &[("name", "churn")]).await;
    assert_eq!(status, 200);
    assert_eq!(body["registered_model"]["name"], "churn");

    let (status, body) = app
        .post(
            "registered-models/create",
            json!({"name": "with-desc", "description": "d", "tags": [{"key": "team", "value": "x"}]}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["registered_model"]["description"], "d");
    assert_eq!(
        body["registered_model"]["tags"],
        json!([{"key": "team", "value": "x"}])
    );

    // The UI's ajax-api prefix serves the same API.
    let resp = app
        .client
        .get(format!(
            "{}/ajax-api/2.0/mlflow/registered-models/get?name=churn",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

async fn duplicate_names_and_missing_models_get_mlflow_error_codes(app: TestApp) {
    app.create_model("dup").await;
    let got = app
        .post("registered-models/create", json!({"name": "dup"}))
        .await;
    assert_error(
        &got,
        400,
        "RESOURCE_ALREADY_EXISTS",
        "Registered Model (name=dup) already exists.",
    );
    let got = app.get("registered-models/get", &[("name", "nope")]).await;
    assert_error(
        &got,
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "Registered Model with name=nope not found",
    );
    let got = app.post("registered-models/create", json!({})).await;
    assert_error(
        &got,
        400,
        "INVALID_PARAMETER_VALUE",
        "Missing value for required parameter 'name'",
    );
    let got = app.get("registered-models/get", &[]).await;
    assert_error(&got, 400, "INVALID_PARAMETER_VALUE", "'name'");
}

async fn rename_carries_versions_tags_and_aliases(app: TestApp) {
    app.create_model("old").await;
    app.create_version("old", "s3://b/1").await;
    app.create_version("old", "s3://b/2").await;
    app.post(
        "registered-models/set-tag",
        json!({"name": "old", "key": "k", "value": "v"}),
    )
    .await;
    app.post(
        "model-versions/set-tag",
        json!({"name": "old", "version": "2", "key": "vk", "value": "vv"}),
    )
    .await;
    let (s, _) = app
        .post(
            "registered-models/alias",
            json!({"name": "old", "alias": "champion", "version": "2"}),
        )
        .await;
    assert_eq!(s, 200);

    let (status, body) = app
        .post(
            "registered-models/rename",
            json!({"name": "old", "new_name": "new"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let model = &body["registered_model"];
    assert_eq!(model["name"], "new");
    assert_eq!(model["tags"], json!([{"key": "k", "value": "v"}]));
    assert_eq!(
        model["aliases"],
        json!([{"alias": "champion", "version": "2"}])
    );
    assert_eq!(model["latest_versions"][0]["name"], "new");

    let got = app.get("registered-models/get", &[("name", "old")]).await;
    assert_error(&got, 404, "RESOURCE_DOES_NOT_EXIST", "old");
    let (status, body) = app
        .get(
            "registered-models/alias",
            &[("name", "new"), ("alias", "champion")],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["model_version"]["version"], "2");
    assert_eq!(
        body["model_version"]["tags"],
        json!([{"key": "vk", "value": "vv"}])
    );
    assert_eq!(body["model_version"]["aliases"], json!(["champion"]));

    // Numbering continues where it was.
    assert_eq!(app.create_version("new", "s3://b/3").await, "3");
    // The old name is free again; the new one is taken.
    app.create_model("old").await;
    let got = app
        .post(
            "registered-models/rename",
            json!({"name": "old", "new_name": "new"}),
        )
        .await;
    assert_error(&got, 400, "RESOURCE_ALREADY_EXISTS", "new");
}

async fn update_and_delete_a_model(app: TestApp) {
    let created = app.create_model("m").await;
    let (status, body) = app
        .patch(
            "registered-models/update",
            json!({"name": "m", "description": "better"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["registered_model"]["description"], "better");
    assert!(
        body["registered_model"]["last_updated_timestamp"].as_i64()
            >= created["last_updated_timestamp"].as_i64()
    );

    app.create_version("m", "s3://b/1").await;
    app.post(
        "registered-models/alias",
        json!({"name": "m", "alias": "a", "version": "1"}),
    )
    .await;
    let (status, body) = app
        .delete("registered-models/delete", json!({"name": "m"}))
        .await;
    assert_eq!((status.as_u16(), body), (200, json!({})));
    let got = app.get("registered-models/get", &[("name", "m")]).await;
    assert_error(&got, 404, "RESOURCE_DOES_NOT_EXIST", "m");
    let got = app
        .delete("registered-models/delete", json!({"name": "m"}))
        .await;
    assert_error(&got, 404, "RESOURCE_DOES_NOT_EXIST", "m");

    // Recreated under the same name, it starts afresh.
    app.create_model("m").await;
    assert_eq!(app.create_version("m", "s3://b/1").await, "1");
    let got = app
        .get("registered-models/alias", &[("name", "m"), ("alias", "a")])
        .await;
    assert_error(
        &got,
        400,
        "INVALID_PARAMETER_VALUE",
        "Registered model alias a not found.",
    );
}

async fn model_tags_set_overwrite_and_delete(app: TestApp) {
    app.create_model("t").await;
    for value in ["1", "2", ""] {
        let (s, b) = app
            .post(
                "registered-models/set-tag",
                json!({"name": "t", "key": "k", "value": value}),
            )
            .await;
        assert_eq!((s.as_u16(), b), (200, json!({})));
        let (_, body) = app.get("registered-models/get", &[("name", "t")]).await;
        assert_eq!(
            body["registered_model"]["tags"],
            json!([{"key": "k", "value": value}])
        );
    }
    let (s, _) = app
        .delete(
            "registered-models/delete-tag",
            json!({"name": "t", "key": "k"}),
        )
        .await;
    assert_eq!(s, 200);
    let (_, body) = app.get("registered-models/get", &[("name", "t")]).await;
    assert!(body["registered_model"].get("tags").is_none());
    // As in MLflow, a tag sent without a value gets the empty value.
    let (s, _) = app
        .post(
            "registered-models/set-tag",
            json!({"name": "t", "key": "k"}),
        )
        .await;
    assert_eq!(s, 200);
    let (_, body) = app.get("registered-models/get", &[("name", "t")]).await;
    assert_eq!(
        body["registered_model"]["tags"],
        json!([{"key": "k", "value": ""}])
    );
    let got = app
        .post(
            "registered-models/set-tag",
            json!({"name": "nope", "key": "k", "value": "v"}),
        )
        .await;
    assert_error(&got, 404, "RESOURCE_DOES_NOT_EXIST", "nope");
}

async fn data_survives_a_restart(app: TestApp) {
    app.create_model("kept").await;
    app.create_version("kept", "s3://b/1").await;
    app.post("model-versions/transition-stage", json!({"name": "kept", "version": "1", "stage": "Production", "archive_existing_versions": false})).await;
    app.post(
        "registered-models/alias",
        json!({"name": "kept", "alias": "champion", "version": "1"}),
    )
    .await;
    let app = app.restart().await;
    let (status, body) = app
        .get(
            "registered-models/alias",
            &[("name", "kept"), ("alias", "champion")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["model_version"]["current_stage"], "Production");
    assert_eq!(app.create_version("kept", "s3://b/2").await, "2");
}
