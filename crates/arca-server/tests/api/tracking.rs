//! Experiments, runs and logged models, as `mlflow.start_run()` and `log_model` drive them.

use crate::helpers::{TestApp, assert_error, read};
use serde_json::{Value, json};

crate::on_both_backends!(
    experiments_are_created_found_renamed_deleted_and_restored,
    a_run_logs_params_metrics_and_tags,
    metric_history_keeps_every_point_and_non_finite_values,
    batches_are_limited_and_applied_whole,
    a_logged_model_registers_as_a_version_of_its_run,
    runs_experiments_and_logged_models_are_searchable,
    run_and_logged_model_artifacts_are_listed_relative_to_their_root,
    a_search_page_gives_each_run_and_experiment_exactly_its_own_data,
);

async fn experiments_are_created_found_renamed_deleted_and_restored(app: TestApp) {
    let (status, body) = app.get("experiments/get", &[("experiment_id", "0")]).await;
    assert_eq!(status, 200, "the default experiment exists: {body}");
    assert_eq!(body["experiment"]["name"], "Default");

    let (status, body) = app
        .post(
            "experiments/create",
            json!({"name": "churn-exp", "tags": [{"key": "team", "value": "risk"}]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let id = body["experiment_id"]
        .as_str()
        .expect("id as a string")
        .to_owned();
    let (_, body) = app
        .get(
            "experiments/get-by-name",
            &[("experiment_name", "churn-exp")],
        )
        .await;
    let exp = &body["experiment"];
    assert_eq!(exp["experiment_id"], id.as_str());
    assert_eq!(exp["artifact_location"], format!("mlflow-artifacts:/{id}"));
    assert_eq!(exp["lifecycle_stage"], "active");
    assert_eq!(exp["tags"], json!([{"key": "team", "value": "risk"}]));
    assert!(exp["creation_time"].is_i64());

    let got = app
        .post("experiments/create", json!({"name": "churn-exp"}))
        .await;
    assert_error(&got, 400, "RESOURCE_ALREADY_EXISTS", "churn-exp");
    let got = app
        .get("experiments/get-by-name", &[("experiment_name", "nope")])
        .await;
    assert_error(
        &got,
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "Could not find experiment with name 'nope'",
    );
    let got = app
        .get("experiments/get", &[("experiment_id", "999")])
        .await;
    assert_error(&got, 404, "RESOURCE_DOES_NOT_EXIST", "999");
    let got = app
        .post(
            "experiments/create",
            json!({"name": "x", "artifact_location": "/etc"}),
        )
        .await;
    assert_error(&got, 400, "INVALID_PARAMETER_VALUE", "local path");

    let (s, _) = app
        .post(
            "experiments/update",
            json!({"experiment_id": id, "new_name": "renamed"}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = app
        .post("experiments/delete", json!({"experiment_id": id}))
        .await;
    assert_eq!(s, 200);
    let (_, body) = app.get("experiments/get", &[("experiment_id", &id)]).await;
    assert_eq!(body["experiment"]["name"], "renamed");
    assert_eq!(body["experiment"]["lifecycle_stage"], "deleted");
    let got = app.post("runs/create", json!({"experiment_id": id})).await;
    assert_error(&got, 400, "INVALID_PARAMETER_VALUE", "active");
    let (s, _) = app
        .post("experiments/restore", json!({"experiment_id": id}))
        .await;
    assert_eq!(s, 200);
    let got = app
        .post("experiments/delete", json!({"experiment_id": "0"}))
        .await;
    assert_error(&got, 400, "INVALID_PARAMETER_VALUE", "default experiment");
}

async fn create_run(app: &TestApp) -> String {
    let (status, body) = app
        .post(
            "runs/create",
            json!({"experiment_id": "0", "user_id": "ana", "start_time": 1000,
            "tags": [{"key": "mlflow.source.name", "value": "train.py"}]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["run"]["info"]["run_id"].as_str().unwrap().to_owned()
}

async fn get_run(app: &TestApp, run_id: &str) -> Value {
    let (status, body) = app
        .get("runs/get", &[("run_uuid", run_id), ("run_id", run_id)])
        .await;
    assert_eq!(status, 200, "{body}");
    body["run"].clone()
}

async fn a_run_logs_params_metrics_and_tags(app: TestApp) {
    let run_id = create_run(&app).await;
    assert_eq!(run_id.len(), 32);
    let run = get_run(&app, &run_id).await;
    assert_eq!(run["info"]["status"], "RUNNING");
    assert_eq!(
        run["info"]["artifact_uri"],
        format!("mlflow-artifacts:/0/{run_id}/artifacts")
    );
    assert_eq!(run["inputs"], json!({}));
    let name = run["info"]["run_name"].as_str().unwrap();
    assert!(!name.is_empty(), "a generated name");
    let tags = run["data"]["tags"].as_array().unwrap();
    assert!(tags.contains(&json!({"key": "mlflow.runName", "value": name})));

    let r = |v: &str| json!({"run_id": run_id, "run_uuid": run_id, "key": "C", "value": v});
    assert_eq!(app.post("runs/log-parameter", r("1.0")).await.0, 200);
    assert_eq!(
        app.post("runs/log-parameter", r("1.0")).await.0,
        200,
        "same value again is fine"
    );
    let got = app.post("runs/log-parameter", r("2.0")).await;
    assert_error(
        &got,
        400,
        "INVALID_PARAMETER_VALUE",
        "Changing param values is not allowed",
    );

    for (step, value) in [(0, 0.5), (2, 0.9), (1, 0.7)] {
        let (s, _) = app
            .post("runs/log-metric", json!({"run_id": run_id, "key": "acc", "value": value, "timestamp": 10, "step": step}))
            .await;
        assert_eq!(s, 200);
    }
    assert_eq!(
        app.post(
            "runs/set-tag",
            json!({"run_id": run_id, "key": "mlflow.runName", "value": "r1"})
        )
        .await
        .0,
        200
    );
    assert_eq!(
        app.post(
            "runs/set-tag",
            json!({"run_id": run_id, "key": "k", "value": "v"})
        )
        .await
        .0,
        200
    );
    assert_eq!(
        app.post("runs/delete-tag", json!({"run_id": run_id, "key": "k"}))
            .await
            .0,
        200
    );
    let got = app
        .post("runs/delete-tag", json!({"run_id": run_id, "key": "k"}))
        .await;
    assert_error(&got, 404, "RESOURCE_DOES_NOT_EXIST", "k");

    let run = get_run(&app, &run_id).await;
    assert_eq!(run["data"]["params"], json!([{"key": "C", "value": "1.0"}]));
    assert_eq!(
        run["data"]["metrics"],
        json!([{"key": "acc", "value": 0.9, "timestamp": 10, "step": 2}]),
        "latest = highest step"
    );
    assert_eq!(
        run["info"]["run_name"], "r1",
        "the runName tag renames the run"
    );

    let (status, body) = app
        .post(
            "runs/update",
            json!({"run_id": run_id, "run_uuid": run_id, "status": "FINISHED", "end_time": 2000}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["run_info"]["status"], "FINISHED");
    assert_eq!(body["run_info"]["end_time"], 2000);

    assert_eq!(
        app.post("runs/delete", json!({"run_id": run_id})).await.0,
        200
    );
    let got = app
        .post(
            "runs/log-metric",
            json!({"run_id": run_id, "key": "acc", "value": 1, "timestamp": 1}),
        )
        .await;
    assert_error(&got, 400, "INVALID_PARAMETER_VALUE", "active");
    assert_eq!(
        app.post("runs/restore", json!({"run_id": run_id})).await.0,
        200
    );
    let got = app
        .get(
            "runs/get",
            &[("run_id", "0123456789abcdef0123456789abcdef")],
        )
        .await;
    assert_error(
        &got,
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "0123456789abcdef0123456789abcdef",
    );
    let got = app
        .post(
            "runs/log-metric",
            json!({"run_id": run_id, "key": "../etc", "value": 1, "timestamp": 1}),
        )
        .await;
    assert_error(&got, 400, "INVALID_PARAMETER_VALUE", "../etc");
}

async fn metric_history_keeps_every_point_and_non_finite_values(app: TestApp) {
    let run_id = create_run(&app).await;
    // The Python client writes NaN and infinities as bare JSON tokens.
    for (step, value) in [
        (0, "0.25"),
        (1, "NaN"),
        (2, "Infinity"),
        (3, "-Infinity"),
        (3, "0.5"),
    ] {
        let body = format!(
            r#"{{"run_id": "{run_id}", "key": "loss", "value": {value}, "timestamp": 7, "step": {step}}}"#
        );
        let resp = app
            .client
            .post(app.url("runs/log-metric"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let got = read(resp).await;
        assert_eq!(got.0, 200, "{value}: {}", got.1);
    }
    let (status, body) = app
        .get(
            "metrics/get-history",
            &[
                ("run_id", &run_id),
                ("metric_key", "loss"),
                ("max_results", "25000"),
            ],
        )
        .await;
    assert_eq!(status, 200);
    let values: Vec<Value> = body["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].clone())
        .collect();
    assert_eq!(
        values,
        [
            json!(0.25),
            json!("NaN"),
            json!(f64::MAX),
            json!(f64::MIN),
            json!(0.5)
        ]
    );

    let (_, first) = app
        .get(
            "metrics/get-history",
            &[
                ("run_id", &run_id),
                ("metric_key", "loss"),
                ("max_results", "2"),
            ],
        )
        .await;
    assert_eq!(first["metrics"].as_array().unwrap().len(), 2);
    let token = first["next_page_token"].as_str().unwrap();
    let (_, second) = app
        .get(
            "metrics/get-history",
            &[
                ("run_id", &run_id),
                ("metric_key", "loss"),
                ("max_results", "2"),
                ("page_token", token),
            ],
        )
        .await;
    assert_eq!(
        second["metrics"][0]["value"],
        json!(f64::MAX),
        "infinities are clamped as in MLflow"
    );
}

async fn batches_are_limited_and_applied_whole(app: TestApp) {
    let run_id = create_run(&app).await;
    let metrics: Vec<Value> = (0..1001)
        .map(|i| json!({"key": "m", "value": i, "timestamp": 1, "step": i}))
        .collect();
    let got = app
        .post(
            "runs/log-batch",
            json!({"run_id": run_id, "metrics": metrics}),
        )
        .await;
    assert_error(&got, 400, "INVALID_PARAMETER_VALUE", "at most 1000 metrics");
    // A batch whose param conflicts leaves nothing behind.
    app.post(
        "runs/log-parameter",
        json!({"run_id": run_id, "key": "p", "value": "1"}),
    )
    .await;
    let got = app
        .post("runs/log-batch", json!({"run_id": run_id, "metrics": [{"key": "m", "value": 1, "timestamp": 1}],
            "params": [{"key": "q", "value": "x"}, {"key": "p", "value": "2"}], "tags": [{"key": "t", "value": "v"}]}))
        .await;
    assert_error(
        &got,
        400,
        "INVALID_PARAMETER_VALUE",
        "Changing param values",
    );
    let run = get_run(&app, &run_id).await;
    assert!(run["data"].get("metrics").is_none(), "{run}");
    assert_eq!(run["data"]["params"], json!([{"key": "p", "value": "1"}]));
    let (s, _) = app
        .post(
            "runs/log-batch",
            json!({"run_id": run_id, "metrics": [{"key": "m", "value": 1, "timestamp": 1}],
            "params": [{"key": "q", "value": "x"}], "tags": [{"key": "t", "value": "v"}]}),
        )
        .await;
    assert_eq!(s, 200);
    let run = get_run(&app, &run_id).await;
    assert_eq!(run["data"]["params"].as_array().unwrap().len(), 2);
    assert_eq!(run["data"]["metrics"].as_array().unwrap().len(), 1);
}

async fn a_logged_model_registers_as_a_version_of_its_run(app: TestApp) {
    let run_id = create_run(&app).await;
    let (status, body) = app
        .post("logged-models", json!({"experiment_id": "0", "name": "m", "source_run_id": run_id,
            "params": [{"key": "C", "value": "1.0"}], "tags": [{"key": "mlflow.user", "value": "ana"}]}))
        .await;
    assert_eq!(status, 200, "{body}");
    let info = &body["model"]["info"];
    let model_id = info["model_id"].as_str().unwrap().to_owned();
    assert!(model_id.starts_with("m-") && model_id.len() == 34);
    assert_eq!(info["status"], "LOGGED_MODEL_PENDING");
    assert_eq!(
        info["artifact_uri"],
        format!("mlflow-artifacts:/0/models/{model_id}/artifacts")
    );
    assert_eq!(
        body["model"]["data"]["params"],
        json!([{"key": "C", "value": "1.0"}])
    );

    assert_eq!(
        app.post(
            "runs/outputs",
            json!({"run_id": run_id, "models": [{"model_id": model_id, "step": 0}]})
        )
        .await
        .0,
        200
    );
    assert_eq!(app.post("runs/log-batch", json!({"run_id": run_id, "metrics": [{"key": "acc", "value": 0.9, "timestamp": 5, "step": 0, "model_id": model_id}]})).await.0, 200);
    let (status, body) = app
        .patch(
            &format!("logged-models/{model_id}"),
            json!({"model_id": model_id, "status": "LOGGED_MODEL_READY"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["model"]["info"]["status"], "LOGGED_MODEL_READY");
    assert_eq!(
        body["model"]["data"]["metrics"][0]["run_id"],
        run_id.as_str()
    );

    app.create_model("churn").await;
    let (status, body) = app
        .post(
            "model-versions/create",
            json!({"name": "churn", "source": format!("models:/{model_id}"), "model_id": model_id}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["model_version"]["run_id"],
        run_id.as_str(),
        "run_id from the logged model"
    );
    let (_, body) = app
        .get(
            "model-versions/get-download-uri",
            &[("name", "churn"), ("version", "1")],
        )
        .await;
    assert_eq!(
        body["artifact_uri"],
        format!("mlflow-artifacts:/0/models/{model_id}/artifacts")
    );
    let (_, body) = app.get(&format!("logged-models/{model_id}"), &[]).await;
    let tags = body["model"]["info"]["tags"].as_array().unwrap();
    let versions = tags
        .iter()
        .find(|t| t["key"] == "mlflow.modelVersions")
        .expect("modelVersions tag");
    assert!(versions["value"].as_str().unwrap().contains("churn"));

    let run = get_run(&app, &run_id).await;
    assert_eq!(
        run["outputs"]["model_outputs"],
        json!([{"model_id": model_id, "step": 0}])
    );

    // A runs:/ source must come with its run's id, as MLflow requires; get-download-uri hands
    // it back as it is (the client resolves it through the run), the manifest resolves it.
    let got = app
        .post(
            "model-versions/create",
            json!({"name": "churn", "source": format!("runs:/{run_id}/model")}),
        )
        .await;
    assert_error(
        &got,
        400,
        "INVALID_PARAMETER_VALUE",
        "run_id request parameter",
    );
    let (status, body) = app
        .post(
            "model-versions/create",
            json!({"name": "churn", "source": format!("runs:/{run_id}/model"), "run_id": run_id}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["model_version"]["version"], "2");
    let (_, body) = app
        .get(
            "model-versions/get-download-uri",
            &[("name", "churn"), ("version", "2")],
        )
        .await;
    assert_eq!(body["artifact_uri"], format!("runs:/{run_id}/model"));

    let (s, _) = app
        .patch(
            &format!("logged-models/{model_id}/tags"),
            json!({"tags": [{"key": "a", "value": "b"}]}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = app
        .delete(&format!("logged-models/{model_id}/tags/a"), json!({}))
        .await;
    assert_eq!(s, 200);
    let (s, _) = app
        .delete(&format!("logged-models/{model_id}"), json!({}))
        .await;
    assert_eq!(s, 200);
    let got = app.get(&format!("logged-models/{model_id}"), &[]).await;
    assert_error(&got, 404, "RESOURCE_DOES_NOT_EXIST", &model_id);
    let got = app
        .post(
            "model-versions/create",
            json!({"name": "churn", "source": "/etc/passwd"}),
        )
        .await;
    assert_error(&got, 400, "INVALID_PARAMETER_VALUE", "local path");
}

async fn runs_experiments_and_logged_models_are_searchable(app: TestApp) {
    let (_, body) = app
        .post("experiments/create", json!({"name": "search-exp"}))
        .await;
    let exp = body["experiment_id"].as_str().unwrap().to_owned();
    let mut runs = Vec::new();
    for (i, acc) in [0.3, 0.9, 0.6].iter().enumerate() {
        let (_, body) = app
            .post(
                "runs/create",
                json!({"experiment_id": exp, "start_time": 100 + i}),
            )
            .await;
        let run_id = body["run"]["info"]["run_id"].as_str().unwrap().to_owned();
        app.post(
            "runs/log-batch",
            json!({"run_id": run_id,
            "metrics": [{"key": "acc", "value": acc, "timestamp": 1, "step": 0}],
            "params": [{"key": "C", "value": format!("{i}.0")}],
            "tags": [{"key": "team", "value": if i == 1 { "a" } else { "b" }}]}),
        )
        .await;
        runs.push(run_id);
    }
    let run_ids = |body: &Value| -> Vec<String> {
        body["runs"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|r| r["info"]["run_id"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    let search = async |filter: &str, order: Vec<&str>| {
        app.post("runs/search", json!({"experiment_ids": [exp], "filter": filter, "order_by": order, "run_view_type": "ACTIVE_ONLY"})).await
    };
    let (status, body) = search("metrics.acc > 0.5", vec!["metrics.acc DESC"]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(run_ids(&body), [runs[1].clone(), runs[2].clone()]);
    let (_, body) = search("params.C = '0.0'", vec![]).await;
    assert_eq!(run_ids(&body), [runs[0].clone()]);
    let (_, body) = search(
        "tags.team = 'b' AND attributes.status = 'RUNNING'",
        vec!["start_time ASC"],
    )
    .await;
    assert_eq!(run_ids(&body), [runs[0].clone(), runs[2].clone()]);
    let (_, body) = search("", vec![]).await;
    assert_eq!(
        run_ids(&body),
        [runs[2].clone(), runs[1].clone(), runs[0].clone()],
        "newest first by default"
    );
    let got = search("metrics.acc > 'high'", vec![]).await;
    assert_error(&got, 400, "INVALID_PARAMETER_VALUE", "acc");

    // Deleted runs appear only when asked for.
    app.post("runs/delete", json!({"run_id": runs[0]})).await;
    let (_, body) = search("", vec![]).await;
    assert_eq!(run_ids(&body).len(), 2);
    let (_, body) = app
        .post(
            "runs/search",
            json!({"experiment_ids": [exp], "run_view_type": "DELETED_ONLY"}),
        )
        .await;
    assert_eq!(run_ids(&body), [runs[0].clone()]);

    // Pages of one cover the two active runs once.
    let (_, first) = app
        .post(
            "runs/search",
            json!({"experiment_ids": [exp], "max_results": 1}),
        )
        .await;
    let token = first["next_page_token"].as_str().unwrap().to_owned();
    let (_, second) = app
        .post(
            "runs/search",
            json!({"experiment_ids": [exp], "max_results": 1, "page_token": token}),
        )
        .await;
    assert_eq!(run_ids(&second), [runs[1].clone()]);
    assert!(second.get("next_page_token").is_none());

    let (status, body) = app.post("experiments/search", json!({"filter": "name LIKE 'search-%'", "max_results": 1000, "view_type": "ACTIVE_ONLY"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["experiments"].as_array().unwrap().len(), 1);
    assert_eq!(body["experiments"][0]["experiment_id"], exp.as_str());

    let (_, body) = app
        .post(
            "logged-models",
            json!({"experiment_id": exp, "name": "extra", "source_run_id": runs[1]}),
        )
        .await;
    let model_id = body["model"]["info"]["model_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        "logged-models",
        json!({"experiment_id": exp, "name": "other"}),
    )
    .await;
    let (status, body) = app
        .post(
            "logged-models/search",
            json!({"experiment_ids": [exp], "filter": "name = 'extra'"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let models = body["models"].as_array().unwrap();
    assert_eq!(models.len(), 1);
    assert_eq!(models[0]["info"]["model_id"], model_id.as_str());
    let (_, body) = app.post("logged-models/search", json!({"experiment_ids": [exp], "order_by": [{"field_name": "name", "ascending": true}]})).await;
    let names: Vec<&str> = body["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["info"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["extra", "other"]);
}

async fn put_artifact(app: &TestApp, path: &str, body: &'static str) {
    let resp = app
        .client
        .put(format!(
            "{}/api/2.0/mlflow-artifacts/artifacts/{path}",
            app.base
        ))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

async fn run_and_logged_model_artifacts_are_listed_relative_to_their_root(app: TestApp) {
    let run_id = create_run(&app).await;
    put_artifact(
        &app,
        &format!("0/{run_id}/artifacts/extra/notes.txt"),
        "hello",
    )
    .await;
    put_artifact(&app, &format!("0/{run_id}/artifacts/top.txt"), "top").await;
    let (status, body) = app.get("artifacts/list", &[("run_id", &run_id)]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["root_uri"],
        format!("mlflow-artifacts:/0/{run_id}/artifacts")
    );
    let mut files = body["files"].as_array().unwrap().clone();
    files.sort_by_key(|f| f["path"].as_str().unwrap().to_owned());
    assert_eq!(
        files,
        [
            json!({"path": "extra", "is_dir": true}),
            json!({"path": "top.txt", "is_dir": false, "file_size": 3})
        ]
    );
    let (_, body) = app
        .get("artifacts/list", &[("run_id", &run_id), ("path", "extra")])
        .await;
    assert_eq!(
        body["files"],
        json!([{"path": "extra/notes.txt", "is_dir": false, "file_size": 5}])
    );
    let (_, body) = app
        .get(
            "artifacts/list",
            &[("run_id", &run_id), ("path", "missing")],
        )
        .await;
    assert!(body.get("files").is_none(), "{body}");
    let got = app
        .get("artifacts/list", &[("run_id", &run_id), ("path", "../..")])
        .await;
    assert_error(&got, 400, "INVALID_PARAMETER_VALUE", "..");

    let (_, body) = app
        .post("logged-models", json!({"experiment_id": "0", "name": "m"}))
        .await;
    let model_id = body["model"]["info"]["model_id"]
        .as_str()
        .unwrap()
        .to_owned();
    put_artifact(
        &app,
        &format!("0/models/{model_id}/artifacts/MLmodel"),
        "flavors: {}",
    )
    .await;
    let (status, body) = app
        .get(
            &format!("logged-models/{model_id}/artifacts/directories"),
            &[],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["files"],
        json!([{"path": "MLmodel", "is_dir": false, "file_size": 11}])
    );

    // Arca's manifest: every file with its size and SHA-256, for a run, a logged model or a
    // registered version made from it.
    let manifest = async |query: &[(&str, &str)]| {
        let resp = app
            .client
            .get(format!("{}/api/2.0/arca/artifacts/manifest", app.base))
            .query(query)
            .send()
            .await
            .unwrap();
        read(resp).await
    };
    let (status, body) = manifest(&[("run_id", &run_id)]).await;
    assert_eq!(status, 200, "{body}");
    let files = body["files"].as_array().unwrap();
    let notes = files
        .iter()
        .find(|f| f["path"] == "extra/notes.txt")
        .expect("nested file");
    assert_eq!(notes["size"], 5);
    assert_eq!(
        notes["sha256"], "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
        "sha256 of 'hello'"
    );
    app.create_model("manifested").await;
    app.post(
        "model-versions/create",
        json!({"name": "manifested", "source": format!("models:/{model_id}"), "model_id": model_id}),
    )
    .await;
    let (_, by_version) = manifest(&[("name", "manifested"), ("version", "1")]).await;
    let (_, by_model) = manifest(&[("model_id", &model_id)]).await;
    assert_eq!(by_version, by_model);
    assert_eq!(by_model["files"][0]["path"], "MLmodel");
    let got = manifest(&[("run_id", &run_id), ("model_id", &model_id)]).await;
    assert_error(&got, 400, "INVALID_PARAMETER_VALUE", "exactly one");
}

/// A page's runs are loaded together; every run must still get only what was logged to it,
/// also where runs share keys or lack one that the others have.
async fn a_search_page_gives_each_run_and_experiment_exactly_its_own_data(app: TestApp) {
    let (_, body) = app
        .post("experiments/create", json!({"name": "page-exp"}))
        .await;
    let exp = body["experiment_id"].as_str().unwrap().to_owned();
    let keys = |i: usize| if i.is_multiple_of(3) { 2 } else { 3 };
    let mut expected = std::collections::HashMap::new();
    for i in 0..24usize {
        let (_, body) = app
            .post(
                "runs/create",
                json!({"experiment_id": exp, "start_time": 1000 + i}),
            )
            .await;
        let run_id = body["run"]["info"]["run_id"].as_str().unwrap().to_owned();
        let params: Vec<Value> = (0..keys(i))
            .map(|k| json!({"key": format!("p{k}"), "value": format!("{i}-{k}")}))
            .collect();
        let metrics: Vec<Value> = (0..keys(i))
            .map(|k| json!({"key": format!("m{k}"), "value": (i * 10 + k) as f64, "timestamp": 5, "step": 1}))
            .collect();
        let tags: Vec<Value> = (0..keys(i))
            .map(|k| json!({"key": format!("t{k}"), "value": format!("{i}-{k}")}))
            .collect();
        let (status, body) = app
            .post(
                "runs/log-batch",
                json!({"run_id": run_id, "params": params, "metrics": metrics, "tags": tags}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let datasets: Vec<Value> = (0..i % 3)
            .map(|d| {
                json!({"dataset": {"name": format!("ds-{i}-{d}"), "digest": "d1",
                "source_type": "local", "source": "{}"}, "tags": []})
            })
            .collect();
        if !datasets.is_empty() {
            let (status, body) = app
                .post(
                    "runs/log-inputs",
                    json!({"run_id": run_id, "datasets": datasets}),
                )
                .await;
            assert_eq!(status, 200, "{body}");
        }
        expected.insert(run_id, (i, params, metrics, tags, datasets));
    }
    let by_key = |items: &Value| -> Vec<(String, Value)> {
        items
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["key"].as_str().unwrap().to_owned(), t["value"].clone()))
            .collect()
    };
    let check_page = |runs: &Value| {
        for run in runs.as_array().unwrap() {
            let run_id = run["info"]["run_id"].as_str().unwrap();
            let (i, params, metrics, tags, datasets) = &expected[run_id];
            assert_eq!(
                by_key(&run["data"]["params"]),
                by_key(&json!(params)),
                "run {i}"
            );
            assert_eq!(
                by_key(&run["data"]["metrics"]),
                by_key(&json!(metrics)),
                "run {i}"
            );
            let mut own_tags = by_key(&json!(tags));
            own_tags.push(("mlflow.runName".into(), run["info"]["run_name"].clone()));
            own_tags.sort_by(|a, b| a.0.cmp(&b.0));
            assert_eq!(by_key(&run["data"]["tags"]), own_tags, "run {i}");
            let names: Vec<&Value> = run["inputs"]["dataset_inputs"]
                .as_array()
                .map(|a| a.iter().map(|d| &d["dataset"]["name"]).collect())
                .unwrap_or_default();
            let logged: Vec<&Value> = datasets.iter().map(|d| &d["dataset"]["name"]).collect();
            assert_eq!(names, logged, "run {i}");
        }
    };

    let (status, body) = app
        .post(
            "runs/search",
            json!({"experiment_ids": [exp], "max_results": 1000}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["runs"].as_array().unwrap().len(), 24);
    check_page(&body["runs"]);
    // The same run read alone is identical to the run on the page.
    let first = &body["runs"][0];
    let alone = get_run(&app, first["info"]["run_id"].as_str().unwrap()).await;
    assert_eq!(first, &alone);

    let mut seen = std::collections::HashSet::new();
    let mut token: Option<String> = None;
    loop {
        let mut request = json!({"experiment_ids": [exp], "max_results": 5,
            "order_by": ["metrics.m2 DESC"]});
        if let Some(t) = &token {
            request["page_token"] = json!(t);
        }
        let (status, body) = app.post("runs/search", request).await;
        assert_eq!(status, 200, "{body}");
        check_page(&body["runs"]);
        for run in body["runs"].as_array().unwrap() {
            assert!(seen.insert(run["info"]["run_id"].as_str().unwrap().to_owned()));
        }
        match body["next_page_token"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 24);

    let mut expected_tags = std::collections::HashMap::new();
    for i in 0..12usize {
        let tags: Vec<Value> = (0..keys(i))
            .map(|k| json!({"key": format!("t{k}"), "value": format!("e{i}-{k}")}))
            .collect();
        let (status, body) = app
            .post(
                "experiments/create",
                json!({"name": format!("page-exp-{i}"), "tags": tags}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        expected_tags.insert(body["experiment_id"].as_str().unwrap().to_owned(), tags);
    }
    let (status, body) = app
        .post(
            "experiments/search",
            json!({"max_results": 1000, "filter": "name LIKE 'page-exp-%'"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let experiments = body["experiments"].as_array().unwrap();
    assert_eq!(experiments.len(), 12);
    for e in experiments {
        let tags = &expected_tags[e["experiment_id"].as_str().unwrap()];
        assert_eq!(by_key(&e["tags"]), by_key(&json!(tags)), "{e}");
    }
}
