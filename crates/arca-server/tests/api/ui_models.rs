//! The web UI's models list, and what every UI page carries: the security headers and the
//! escaping of user text.

use crate::helpers::TestApp;
use serde_json::json;

crate::on_both_backends!(
    the_models_list_shows_stages_aliases_and_tags,
    the_search_box_takes_a_name_or_an_mlflow_filter,
    the_models_list_pages_on_the_server,
    user_text_is_escaped_and_pages_carry_a_strict_csp,
);

async fn page(app: &TestApp, path_and_query: &str) -> (u16, String) {
    let resp = app
        .client
        .get(format!("{}{path_and_query}", app.base))
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

async fn the_models_list_shows_stages_aliases_and_tags(app: TestApp) {
    app.post(
        "registered-models/create",
        json!({"name": "fraud-detector", "description": "# Fraud\nCard transactions.",
               "tags": [{"key": "team", "value": "risk"}]}),
    )
    .await;
    for _ in 0..2 {
        app.create_version("fraud-detector", "s3://bucket/model")
            .await;
    }
    app.post(
        "model-versions/transition-stage",
        json!({"name": "fraud-detector", "version": "2", "stage": "Production",
               "archive_existing_versions": false}),
    )
    .await;
    app.post(
        "registered-models/alias",
        json!({"name": "fraud-detector", "alias": "champion", "version": "2"}),
    )
    .await;

    let (status, html) = page(&app, "/").await;
    assert_eq!(status, 200, "the root leads to the models list");
    assert!(html.contains("Registered models"), "{html}");
    assert!(html.contains(r#"href="/models/fraud-detector""#), "{html}");
    assert!(html.contains("Production: v2"), "{html}");
    assert!(html.contains("None: v1"), "{html}");
    assert!(html.contains("@champion"), "{html}");
    assert!(html.contains("team=risk"), "{html}");
    assert!(
        html.contains("Fraud"),
        "the description's first line: {html}"
    );
}

async fn the_search_box_takes_a_name_or_an_mlflow_filter(app: TestApp) {
    for name in ["churn-v1", "churn-v2", "fraud"] {
        app.create_model(name).await;
    }
    app.post(
        "registered-models/set-tag",
        json!({"name": "fraud", "key": "team", "value": "risk"}),
    )
    .await;

    let (_, html) = page(&app, "/models?q=CHURN").await;
    assert!(
        html.contains("churn-v1") && html.contains("churn-v2"),
        "{html}"
    );
    assert!(!html.contains(r#"href="/models/fraud""#), "{html}");

    let (_, html) = page(&app, "/models?q=tags.team+%3D+%27risk%27").await;
    assert!(html.contains(r#"href="/models/fraud""#), "{html}");
    assert!(!html.contains("churn-v1"), "{html}");
    assert!(html.contains("Read as an MLflow filter"), "{html}");

    let (_, html) = page(&app, "/models?q=nothing-like-this").await;
    assert!(html.contains("No model matches"), "{html}");

    let (status, html) = page(&app, "/models?q=name+%3D%3D+%27x").await;
    assert_eq!(status, 400, "a broken filter is the user's mistake");
    assert!(
        html.contains("could not be read as an MLflow filter"),
        "{html}"
    );
    let (status, html) = page(&app, "/models?page=zero").await;
    assert_eq!(status, 400);
    assert!(html.contains("is not a page number"), "{html}");
}

async fn the_models_list_pages_on_the_server(app: TestApp) {
    for i in 0..30 {
        app.create_model(&format!("m{i:02}")).await;
    }
    let (_, first) = page(&app, "/models").await;
    assert!(
        first.contains(">m00<") && first.contains(">m24<"),
        "{first}"
    );
    assert!(!first.contains(">m25<"), "25 a page: {first}");
    assert!(
        first.contains(r#"href="/models?q=&#38;sort=name&#38;page=2""#),
        "{first}"
    );

    let (_, second) = page(&app, "/models?q=&sort=name&page=2").await;
    assert!(
        second.contains(">m25<") && second.contains(">m29<"),
        "{second}"
    );
    assert!(!second.contains(">m24<"), "{second}");
    assert!(second.contains("page=1"), "a way back: {second}");

    let (_, reversed) = page(&app, "/models?sort=-name").await;
    let at = |name: &str| reversed.find(&format!(">{name}<")).unwrap();
    assert!(at("m29") < at("m28"), "Z to A");
}

async fn user_text_is_escaped_and_pages_carry_a_strict_csp(app: TestApp) {
    app.post(
        "registered-models/create",
        json!({"name": "<b>x<b> & \"y\"", "description": "<script>alert(1)</script>",
               "tags": [{"key": "k", "value": "<img src=x onerror=alert(1)>"}]}),
    )
    .await;
    let resp = app
        .client
        .get(format!("{}/models", app.base))
        .send()
        .await
        .unwrap();
    let csp = resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.starts_with("arca_csrf=") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let html = resp.text().await.unwrap();
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(!html.contains("<img src=x"), "{html}");
    assert!(!html.contains("<b>x"), "{html}");
    assert!(
        html.contains("&#60;b&#62;x&#60;b&#62; &#38; &#34;y&#34;"),
        "the name is shown as typed: {html}"
    );
    assert!(html.contains("&#60;script&#62;alert(1)"), "{html}");
}
