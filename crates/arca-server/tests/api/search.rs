use crate::helpers::{TestApp, assert_error};
use serde_json::{Value, json};

crate::on_both_backends!(
    model_search_filters_like_the_mlflow_client_sends_them,
    model_search_pages_through_every_model_once,
    version_search_filters_orders_and_pages,
    malformed_searches_are_400s_that_say_what_is_wrong,
);

fn names(body: &Value, field: &str) -> Vec<String> {
    body[field]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|m| m["name"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

async fn model_search_filters_like_the_mlflow_client_sends_them(app: TestApp) {
    for name in ["churn-a", "churn-b", "Churn-C", "fraud"] {
        app.create_model(name).await;
    }
    app.post(
        "registered-models/set-tag",
        json!({"name": "churn-b", "key": "team", "value": "risk"}),
    )
    .await;
    app.post(
        "registered-models/set-tag",
        json!({"name": "fraud", "key": "mlflow.prompt.is_prompt", "value": "true"}),
    )
    .await;
    let search = async |filter: &str| {
        app.get(
            "registered-models/search",
            &[("filter", filter), ("max_results", "100")],
        )
        .await
    };
    let prompt = "tag.`mlflow.prompt.is_prompt` != 'true'";
    let (status, body) =
        search("name LIKE 'churn%' AND tag.`mlflow.prompt.is_prompt` != 'true'").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        names(&body, "registered_models"),
        ["churn-a", "churn-b"],
        "LIKE is case-sensitive"
    );
    let (_, body) = search("name ILIKE 'churn%'").await;
    assert_eq!(
        names(&body, "registered_models"),
        ["Churn-C", "churn-a", "churn-b"]
    );
    // A model without the prompt tag matches `!= 'true'`; the prompt does not.
    let (_, body) = app
        .get("registered-models/search", &[("filter", prompt)])
        .await;
    assert_eq!(
        names(&body, "registered_models"),
        ["Churn-C", "churn-a", "churn-b"]
    );
    let (_, body) = search("tags.team = 'risk'").await;
    assert_eq!(names(&body, "registered_models"), ["churn-b"]);
    // Prompts are left out unless the filter asks about them.
    let (_, body) = search("name IN ('churn-a', 'fraud')").await;
    assert_eq!(names(&body, "registered_models"), ["churn-a"]);
    let (_, body) = search("tag.`mlflow.prompt.is_prompt` = 'true'").await;
    assert_eq!(names(&body, "registered_models"), ["fraud"]);
    let (_, body) = search("name != 'fraud' AND name NOT IN ('churn-a')").await;
    assert_eq!(names(&body, "registered_models"), ["Churn-C", "churn-b"]);
    let (_, body) = search("name = 'nothing'").await;
    assert_eq!(body, json!({}), "an empty result is an empty message");

    let (_, body) = app
        .get(
            "registered-models/search",
            &[("order_by", "name DESC"), ("filter", prompt)],
        )
        .await;
    assert_eq!(
        names(&body, "registered_models"),
        ["churn-b", "churn-a", "Churn-C"]
    );
}

async fn model_search_pages_through_every_model_once(app: TestApp) {
    let mut expected: Vec<String> = (0..23).map(|i| format!("page-{i:02}")).collect();
    for name in &expected {
        app.create_model(name).await;
    }
    expected.sort();
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut query = vec![
            ("max_results", "5".to_owned()),
            ("filter", "name LIKE 'page-%'".to_owned()),
        ];
        if let Some(t) = &token {
            query.push(("page_token", t.clone()));
        }
        let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, body) = app.get("registered-models/search", &query).await;
        assert_eq!(status, 200, "{body}");
        let page = names(&body, "registered_models");
        assert!(page.len() <= 5);
        seen.extend(page);
        pages += 1;
        match body["next_page_token"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 5);
    assert_eq!(seen, expected);
}

async fn version_search_filters_orders_and_pages(app: TestApp) {
    app.create_model("vs").await;
    app.create_model("other").await;
    for i in 1..=6 {
        let run = if i % 2 == 0 { "even" } else { "odd" };
        app.post(
            "model-versions/create",
            json!({"name": "vs", "source": format!("s3://b/vs/{i}"), "run_id": run}),
        )
        .await;
    }
    app.create_version("other", "s3://b/other/1").await;
    app.post(
        "model-versions/set-tag",
        json!({"name": "vs", "version": "4", "key": "k", "value": "yes"}),
    )
    .await;
    app.post(
        "registered-models/alias",
        json!({"name": "vs", "alias": "champion", "version": "4"}),
    )
    .await;
    let versions = |body: &Value| -> Vec<String> {
        body["model_versions"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|v| v["version"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    let search = async |filter: &str, order: &str| {
        app.get(
            "model-versions/search",
            &[
                ("filter", filter),
                ("order_by", order),
                ("max_results", "10000"),
            ],
        )
        .await
    };
    let (status, body) = search("name = 'vs'", "version_number ASC").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(versions(&body), ["1", "2", "3", "4", "5", "6"]);
    let (_, body) = search("name='vs' AND version_number >= 5", "version_number DESC").await;
    assert_eq!(versions(&body), ["6", "5"]);
    let (_, body) = search("name='vs' AND run_id = 'even'", "version_number ASC").await;
    assert_eq!(versions(&body), ["2", "4", "6"]);
    let (_, body) = search("name='vs' AND tag.k = 'yes'", "version_number ASC").await;
    assert_eq!(versions(&body), ["4"]);
    // Beyond MLflow: search results carry aliases.
    assert_eq!(body["model_versions"][0]["aliases"], json!(["champion"]));
    let (_, body) = search(
        "source_path LIKE 's3://b/vs/%' AND version_number < 3",
        "version_number ASC",
    )
    .await;
    assert_eq!(versions(&body), ["1", "2"]);
    let (_, body) = search("run_id IN ('odd') AND name = 'vs'", "version_number ASC").await;
    assert_eq!(versions(&body), ["1", "3", "5"]);

    // Pages of 4 cover all 7 versions once, in the default order (newest update first).
    let (_, first) = app
        .get("model-versions/search", &[("max_results", "4")])
        .await;
    assert_eq!(first["model_versions"].as_array().unwrap().len(), 4);
    let token = first["next_page_token"]
        .as_str()
        .expect("a second page")
        .to_owned();
    let (_, second) = app
        .get(
            "model-versions/search",
            &[("max_results", "4"), ("page_token", &token)],
        )
        .await;
    assert_eq!(second["model_versions"].as_array().unwrap().len(), 3);
    assert!(second.get("next_page_token").is_none());
}

async fn malformed_searches_are_400s_that_say_what_is_wrong(app: TestApp) {
    for (path, filter) in [
        ("registered-models/search", "name = "),
        ("registered-models/search", "name = 'a' OR name = 'b'"),
        ("registered-models/search", "run_id = 'x'"),
        ("registered-models/search", "name IS NULL"),
        ("model-versions/search", "version_number > 'abc'"),
        ("model-versions/search", "version_number = 1.5"),
        ("model-versions/search", "name = 'unterminated"),
        ("model-versions/search", "bogus.key = 'x'"),
    ] {
        let got = app.get(path, &[("filter", filter)]).await;
        assert_error(&got, 400, "INVALID_PARAMETER_VALUE", "");
        let message = got.1["message"].as_str().unwrap();
        assert!(
            message.len() > 20,
            "a helpful message for {filter:?}: {message}"
        );
    }
    let got = app
        .get("registered-models/search", &[("order_by", "size DESC")])
        .await;
    assert_error(&got, 400, "INVALID_PARAMETER_VALUE", "size");
    let got = app
        .get("registered-models/search", &[("page_token", "not-a-token")])
        .await;
    assert_error(&got, 400, "INVALID_PARAMETER_VALUE", "token");
    let got = app
        .get("registered-models/search", &[("max_results", "1001")])
        .await;
    assert_error(&got, 400, "INVALID_PARAMETER_VALUE", "max_results");
    let got = app
        .get("registered-models/search", &[("max_results", "0")])
        .await;
    assert_error(&got, 400, "INVALID_PARAMETER_VALUE", "max_results");
    let got = app
        .get("model-versions/search", &[("max_results", "ten")])
        .await;
    assert_error(&got, 400, "INVALID_PARAMETER_VALUE", "ten");
    // User text never reaches SQL: a quote-laden filter is just a value that matches nothing.
    let (status, body) = app
        .get(
            "registered-models/search",
            &[("filter", "name = 'x'' OR 1=1 --'")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({}));
}
