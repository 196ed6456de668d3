//! MLflow 3 prompts: registered models and versions tagged `mlflow.prompt.is_prompt`, kept apart
//! from models the way `mlflow server` keeps them apart.

use crate::helpers::{TestApp, assert_error};
use serde_json::{Value, json};

crate::on_both_backends!(
    prompt_versions_take_only_placeholder_sources,
    a_prompt_version_is_no_model_version_source,
    latest_alias_is_the_highest_live_version,
    a_name_clash_says_whether_a_prompt_or_a_model_holds_it,
    searches_leave_prompts_out_unless_the_filter_selects_them,
    a_template_past_the_limit_gets_the_prompt_message,
);

const IS_PROMPT: &str = "mlflow.prompt.is_prompt";

async fn create_prompt(app: &TestApp, name: &str) {
    let (status, body) = app
        .post(
            "registered-models/create",
            json!({"name": name, "tags": [{"key": IS_PROMPT, "value": "true"}]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

async fn create_prompt_version(app: &TestApp, name: &str, source: &str) -> (u16, Value) {
    let (status, body) = app
        .post(
            "model-versions/create",
            json!({"name": name, "source": source, "tags": [
                {"key": IS_PROMPT, "value": "true"},
                {"key": "mlflow.prompt.text", "value": "Hello {{name}}"},
            ]}),
        )
        .await;
    (status.as_u16(), body)
}

fn names(body: &Value, field: &str) -> Vec<String> {
    let mut names: Vec<String> = body[field]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|m| m["name"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

async fn prompt_versions_take_only_placeholder_sources(app: TestApp) {
    create_prompt(&app, "greet").await;
    for source in ["dummy-source", "prompt-template"] {
        let (status, body) = create_prompt_version(&app, "greet", source).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["model_version"]["source"], source);
    }
    let (status, body) = create_prompt_version(&app, "greet", "s3://bucket/p").await;
    assert_error(
        &(reqwest::StatusCode::from_u16(status).unwrap(), body),
        400,
        "INVALID_PARAMETER_VALUE",
        "Invalid prompt source: 's3://bucket/p'. Prompt sources must use an MLflow placeholder.",
    );
    // Without the tag a placeholder is just a local path, which a model version cannot have.
    let got = app
        .post(
            "model-versions/create",
            json!({"name": "greet", "source": "dummy-source"}),
        )
        .await;
    assert_error(&got, 400, "INVALID_PARAMETER_VALUE", "dummy-source");
    let (_, body) = app
        .get("model-versions/get", &[("name", "greet"), ("version", "2")])
        .await;
    assert_eq!(body["model_version"]["version"], "2", "{body}");
    let (status, _) = app
        .get("model-versions/get", &[("name", "greet"), ("version", "3")])
        .await;
    assert_eq!(status, 404, "the refused versions left nothing behind");
}

async fn a_prompt_version_is_no_model_version_source(app: TestApp) {
    create_prompt(&app, "greet").await;
    create_prompt_version(&app, "greet", "dummy-source").await;
    app.create_model("churn").await;
    app.create_version("churn", "s3://bucket/churn").await;
    app.create_model("copy").await;
    for source in [
        "models:/greet/1",
        "models:/greet@prod",
        "models:/greet/Production",
    ] {
        let got = app
            .post(
                "model-versions/create",
                json!({"name": "copy", "source": source}),
            )
            .await;
        assert_error(
            &got,
            400,
            "INVALID_PARAMETER_VALUE",
            &format!(
                "Invalid model version source: '{source}'. Prompt versions cannot be used as \
                 model version sources."
            ),
        );
    }
    assert_eq!(app.create_version("copy", "models:/churn/1").await, "1");
}

async fn latest_alias_is_the_highest_live_version(app: TestApp) {
    app.create_model("churn").await;
    for i in 1..=3 {
        app.create_version("churn", &format!("s3://bucket/{i}"))
            .await;
    }
    app.post(
        "model-versions/transition-stage",
        json!({"name": "churn", "version": "1", "stage": "Production"}),
    )
    .await;
    app.post(
        "registered-models/alias",
        json!({"name": "churn", "alias": "champion", "version": "3"}),
    )
    .await;
    let by_alias = async |alias: &str| {
        app.get(
            "registered-models/alias",
            &[("name", "churn"), ("alias", alias)],
        )
        .await
    };
    for alias in ["latest", "LATEST", "Latest"] {
        let (status, body) = by_alias(alias).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["model_version"]["version"], "3");
        assert_eq!(body["model_version"]["aliases"], json!(["champion"]));
    }
    app.delete(
        "model-versions/delete",
        json!({"name": "churn", "version": "3"}),
    )
    .await;
    let (_, body) = by_alias("latest").await;
    assert_eq!(body["model_version"]["version"], "2");
    for v in ["1", "2"] {
        app.delete(
            "model-versions/delete",
            json!({"name": "churn", "version": v}),
        )
        .await;
    }
    assert_error(
        &by_alias("latest").await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "Latest version not found for model churn.",
    );
    let got = app
        .get(
            "registered-models/alias",
            &[("name", "nothing"), ("alias", "latest")],
        )
        .await;
    assert_error(
        &got,
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "Registered Model with name=nothing not found",
    );
}

async fn a_name_clash_says_whether_a_prompt_or_a_model_holds_it(app: TestApp) {
    create_prompt(&app, "greet").await;
    app.create_model("churn").await;
    let create = async |name: &str, tags: Value| {
        let got = app
            .post(
                "registered-models/create",
                json!({"name": name, "tags": tags}),
            )
            .await;
        assert_eq!(got.0, 400, "{}", got.1);
        assert_eq!(got.1["error_code"], "RESOURCE_ALREADY_EXISTS");
        got.1["message"].as_str().unwrap().to_owned()
    };
    let clash = "MLflow does not allow creating a model and a prompt with the same name.";
    assert_eq!(
        create("greet", json!([])).await,
        format!(
            "Tried to create a registered model with name 'greet', but the name is already \
             taken by a prompt. {clash}"
        )
    );
    assert_eq!(
        create("churn", json!([{"key": IS_PROMPT, "value": "true"}])).await,
        format!(
            "Tried to create a prompt with name 'churn', but the name is already taken by a \
             registered model. {clash}"
        )
    );
    assert_eq!(
        create("greet", json!([{"key": IS_PROMPT, "value": "false"}])).await,
        "Prompt (name=greet) already exists."
    );
    assert_eq!(
        create("churn", json!([{"key": "team", "value": "x"}])).await,
        "Registered Model (name=churn) already exists."
    );
}

async fn searches_leave_prompts_out_unless_the_filter_selects_them(app: TestApp) {
    app.create_model("churn").await;
    app.create_version("churn", "s3://bucket/churn").await;
    create_prompt(&app, "greet").await;
    create_prompt_version(&app, "greet", "dummy-source").await;
    create_prompt_version(&app, "greet", "dummy-source").await;
    // A model with one version tagged as a prompt: MLflow leaves all its versions out of a
    // version search, and keeps doing so after that version is deleted.
    app.create_model("mixed").await;
    app.create_version("mixed", "s3://bucket/mixed").await;
    app.create_version("mixed", "s3://bucket/mixed").await;
    app.post(
        "model-versions/set-tag",
        json!({"name": "mixed", "version": "2", "key": IS_PROMPT, "value": "true"}),
    )
    .await;
    app.delete(
        "model-versions/delete",
        json!({"name": "mixed", "version": "2"}),
    )
    .await;

    let search = async |path: &str, field: &str, filter: &str| {
        let (status, body) = app.get(path, &[("filter", filter)]).await;
        assert_eq!(status, 200, "{filter}: {body}");
        names(&body, field)
    };
    let models =
        async |filter: &str| search("registered-models/search", "registered_models", filter).await;
    let versions =
        async |filter: &str| search("model-versions/search", "model_versions", filter).await;

    let tag = format!("tags.`{IS_PROMPT}`");
    assert_eq!(models("").await, ["churn", "mixed"]);
    assert_eq!(versions("").await, ["churn"]);
    assert_eq!(models(&format!("{tag} = 'true'")).await, ["greet"]);
    // The deleted version of `mixed` matches no search.
    assert_eq!(
        versions(&format!("{tag} = 'true'")).await,
        ["greet", "greet"]
    );
    assert_eq!(models(&format!("{tag} != 'FALSE'")).await, ["greet"]);
    assert_eq!(
        models(&format!("{tag} = 'TRUE'")).await,
        Vec::<String>::new()
    );
    for dropped in ["!= 'true'", "= 'false'", "LIKE '%'"] {
        assert_eq!(
            models(&format!("{tag} {dropped}")).await,
            ["churn", "mixed"],
            "{dropped}"
        );
        assert_eq!(
            versions(&format!("{tag} {dropped}")).await,
            ["churn"],
            "{dropped}"
        );
    }
    assert_eq!(
        models(&format!("name = 'greet' AND {tag} = 'true'")).await,
        ["greet"]
    );
    assert_eq!(models("name = 'greet'").await, Vec::<String>::new());
}

async fn a_template_past_the_limit_gets_the_prompt_message(app: TestApp) {
    create_prompt(&app, "greet").await;
    let long = "x".repeat(100_001);
    let tags = json!([
        {"key": IS_PROMPT, "value": "true"},
        {"key": "mlflow.prompt.text", "value": long},
    ]);
    let message = "Prompt text exceeds max length of 100000 characters.";
    let got = app
        .post(
            "model-versions/create",
            json!({"name": "greet", "source": "dummy-source", "tags": tags}),
        )
        .await;
    assert_error(&got, 400, "INVALID_PARAMETER_VALUE", message);
    create_prompt_version(&app, "greet", "dummy-source").await;
    let got = app
        .post(
            "model-versions/set-tag",
            json!({"name": "greet", "version": "1", "key": "mlflow.prompt.text", "value": long}),
        )
        .await;
    assert_error(&got, 400, "INVALID_PARAMETER_VALUE", message);
    // Any other tag keeps the general message.
    let got = app
        .post(
            "model-versions/set-tag",
            json!({"name": "greet", "version": "1", "key": "note", "value": long}),
        )
        .await;
    assert_eq!(got.0, 400);
    assert!(!got.1["message"].as_str().unwrap().contains("Prompt text"));
}
