//! The models list: a model logged with the real `mlflow` client is found with the search box.

use crate::harness::{Browser, Tools};
use crate::support::{ArcaServer, python, venv};

/// Logs a scikit-learn model as `argv[1]` (registering it), and registers an empty model
/// `argv[2]` that the search must leave out.
const LOG_MODEL: &str = r#"
import sys, mlflow
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression
name, other = sys.argv[1], sys.argv[2]
model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
with mlflow.start_run():
    mlflow.log_metric("accuracy", 0.93)
    mlflow.sklearn.log_model(model, name="model", registered_model_name=name)
client = MlflowClient()
client.update_registered_model(name, description="Predicts which customers leave.")
client.set_registered_model_tag(name, "team", "risk")
client.create_registered_model(other)
"#;

#[tokio::test]
#[ignore = "needs chromium, chromium-driver, axe-core (.test-env) and the mlflow venv: run ./scripts/test.sh"]
async fn a_model_logged_with_mlflow_is_found_with_the_search_box() {
    let Some(tools) = Tools::find() else { return };
    let Some(venv) = venv() else { return };
    let server = ArcaServer::start();
    python(
        &venv,
        &server.url,
        LOG_MODEL,
        &["churn-classifier", "fraud-detector"],
    );
    let browser = Browser::launch(tools, server).await;

    browser.goto("/models").await;
    let names = browser.texts_of("table.models td[data-label=Name] a").await;
    assert_eq!(names, ["churn-classifier", "fraud-detector"]);

    browser.fill("#q", "churn").await;
    browser.click("form.search button[type=submit]").await;
    browser
        .wait_until("the search's results", || async {
            browser.location().await.contains("q=churn").then_some(())
        })
        .await;
    let names = browser.texts_of("table.models td[data-label=Name] a").await;
    assert_eq!(names, ["churn-classifier"]);
    let row = browser.text_of("table.models tbody tr").await;
    assert!(row.contains("Predicts which customers leave."), "{row}");
    assert!(row.contains("None: v1"), "{row}");
    assert!(row.contains("team=risk"), "{row}");

    browser.fill("#q", "tags.team = 'risk'").await;
    browser.click("form.search button[type=submit]").await;
    browser
        .wait_until("the filter's results", || async {
            browser
                .location()
                .await
                .contains("q=tags.team")
                .then_some(())
        })
        .await;
    assert!(
        browser
            .text_of("main")
            .await
            .contains("Read as an MLflow filter.")
    );
    let names = browser.texts_of("table.models td[data-label=Name] a").await;
    assert_eq!(names, ["churn-classifier"]);

    // The link leads to the model's page.
    browser.click("table.models td[data-label=Name] a").await;
    browser.wait_for_path("/models/churn-classifier").await;
    browser.close().await;
}
