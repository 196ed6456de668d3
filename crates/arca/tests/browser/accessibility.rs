//! axe-core on every page type that exists: no serious or critical violation.

use crate::harness::{Browser, DESKTOP, PHONE};

#[tokio::test]
#[ignore = "needs chromium, chromium-driver and axe-core (.test-env): run ./scripts/test.sh"]
async fn every_page_type_passes_axe_core() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    // Data through the REST API, so that the list has rows, tags and aliases to check.
    let client = reqwest::Client::new();
    let api = |path: &str| format!("{}/api/2.0/mlflow/{path}", browser.base);
    for (path, body) in [
        (
            "registered-models/create",
            serde_json::json!({"name": "churn", "description": "Who leaves",
                               "tags": [{"key": "team", "value": "risk"}]}),
        ),
        (
            "model-versions/create",
            serde_json::json!({"name": "churn", "source": "s3://bucket/churn/1"}),
        ),
        (
            "registered-models/alias",
            serde_json::json!({"name": "churn", "alias": "champion", "version": "1"}),
        ),
    ] {
        let resp = client.post(api(path)).json(&body).send().await.unwrap();
        assert!(
            resp.status().is_success(),
            "{path}: {}",
            resp.text().await.unwrap()
        );
    }

    let pages = [
        ("the models list", "/models"),
        ("an empty search", "/models?q=nothing-matches"),
        ("the upload form", "/upload"),
        ("an error page", "/models?page=zero"),
    ];
    for size in [DESKTOP, PHONE] {
        browser.resize(size).await;
        for (label, path) in pages {
            browser.goto(path).await;
            browser.find("main h1").await;
            browser.axe_check(&format!("{label} at {}px", size.0)).await;
        }
    }
    // The error page says what was wrong in words.
    browser.goto("/models?page=zero").await;
    assert!(
        browser
            .text_of("main")
            .await
            .contains("'zero' is not a page number")
    );
    browser.close().await;
}

/// The check itself: a page made worse on purpose (an image without a text alternative, a
/// field without a label) fails it, with the rules and elements named.
#[tokio::test]
#[ignore = "needs chromium, chromium-driver and axe-core (.test-env): run ./scripts/test.sh"]
async fn the_accessibility_check_names_what_is_wrong() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    browser.goto("/upload").await;
    assert_eq!(
        browser.axe_violations("the upload form").await,
        Vec::<String>::new()
    );
    browser
        .script(
            "const img = document.createElement('img');
             img.id = 'no-alt';
             img.src = 'data:image/gif;base64,R0lGODlhAQABAAAAACw=';
             document.querySelector('main').append(img);
             document.querySelector('label[for=upload-path]').remove();",
            vec![],
        )
        .await;
    let found = browser.axe_violations("the damaged upload form").await;
    let text = found.join("\n");
    assert!(
        text.contains("image-alt (critical)") && text.contains("#no-alt"),
        "{text}"
    );
    assert!(
        text.contains("label (critical)") && text.contains("#upload-path"),
        "{text}"
    );
    browser.close().await;
}
