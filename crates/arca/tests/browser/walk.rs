//! A person's path through the UI: models logged with the real `mlflow` client are found on
//! their runs, registered from the run page, promoted to Production, given `@champion`, and
//! compared. (Uploading a version from the browser and pulling it back is `upload.rs`.)

use crate::harness::Browser;
use crate::support::{ArcaServer, python, venv};

/// Logs two runs, each with a scikit-learn model and different metrics and params, in the
/// experiment `argv[1]`, without registering them; prints their run ids.
const LOG_RUNS: &str = r#"
import sys, mlflow
import numpy as np
from sklearn.linear_model import LogisticRegression
mlflow.set_experiment(sys.argv[1])
ids = []
for c, accuracy in [(0.5, 0.81), (2.0, 0.87)]:
    with mlflow.start_run(run_name=f"train-C{c}") as run:
        model = LogisticRegression(C=c).fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
        mlflow.log_param("C", c)
        mlflow.log_metric("accuracy", accuracy)
        mlflow.sklearn.log_model(model, name="model", input_example=np.array([[1.5]]))
        ids.append(run.info.run_id)
print(" ".join(ids))
"#;

#[tokio::test]
#[ignore = "needs chromium, chromium-driver, axe-core (.test-env) and the mlflow venv: run ./scripts/test.sh"]
async fn register_promote_alias_and_compare_in_the_browser() {
    let Some(tools) = crate::harness::Tools::find() else {
        return;
    };
    let Some(venv) = venv() else { return };
    let server = ArcaServer::start();
    let out = python(&venv, &server.url, LOG_RUNS, &["churn-walk"]);
    let run_ids: Vec<String> = out
        .lines()
        .last()
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    assert_eq!(run_ids.len(), 2, "the script's output: {out}");
    let browser = Browser::launch(tools, server).await;

    // Find the runs: experiments → the experiment → the first run.
    browser.goto("/experiments").await;
    browser
        .click("#experiments a[href$='/experiments/1']")
        .await;
    browser.wait_for_path("/experiments/1").await;
    let runs = browser.text_of("#runs").await;
    assert!(
        runs.contains("train-C0.5") && runs.contains("train-C2.0"),
        "{runs}"
    );
    browser
        .click(&format!("#runs a[href$='/runs/{}']", run_ids[0]))
        .await;
    browser
        .wait_for_path(&format!("/runs/{}", run_ids[0]))
        .await;
    assert!(browser.text_of("#run-params").await.contains("0.5"));
    assert!(browser.text_of("#run-metrics").await.contains("0.81"));

    // Register its logged model as version 1 of a new registered model.
    browser.click("#logged-models a.register-link").await;
    browser.fill("#register-name", "churn").await;
    let question = browser
        .click_and_confirm("#register-form button[type=submit]")
        .await;
    assert!(question.contains("new version"), "{question}");
    browser.wait_for_path("/models/churn/versions/1").await;
    assert!(browser.text_of("#lineage").await.contains("train-C0.5"));
    let signature = browser.text_of("#signature").await;
    assert!(
        signature.contains("Inputs") && signature.contains("Outputs"),
        "{signature}"
    );

    // The second run's model becomes version 2.
    browser.goto(&format!("/runs/{}", run_ids[1])).await;
    browser.click("#logged-models a.register-link").await;
    browser.fill("#register-name", "churn").await;
    browser
        .click_and_confirm("#register-form button[type=submit]")
        .await;
    browser.wait_for_path("/models/churn/versions/2").await;

    // Promote it to Production, archiving what is there (nothing yet).
    browser.select("#stage-select", "Production").await;
    browser.click("#stage-archive").await;
    let question = browser
        .click_and_confirm("#stage-form button[type=submit]")
        .await;
    assert!(question.contains("Production"), "{question}");
    browser
        .wait_until("the stage shown as Production", || async {
            (browser.text_of("#version-stage").await == "Production").then_some(())
        })
        .await;

    // Point @champion at it.
    browser.fill("#alias-input", "champion").await;
    let question = browser
        .click_and_confirm("#alias-form button[type=submit]")
        .await;
    assert!(question.contains("champion"), "{question}");
    browser
        .wait_until("@champion in the aliases", || async {
            browser
                .text_of("#alias-list")
                .await
                .contains("@champion")
                .then_some(())
        })
        .await;

    // The model page shows it; pick both versions and compare them.
    browser.goto("/models/churn").await;
    let versions = browser.text_of("#versions").await;
    assert!(versions.contains("Production"), "{versions}");
    assert!(versions.contains("@champion"), "{versions}");
    browser.click("#pick-1").await;
    browser.click("#pick-2").await;
    browser.click("#compare-selected").await;
    browser.wait_for_path("/models/churn/compare").await;
    let metrics = browser.text_of("#compare-metrics").await;
    assert!(
        metrics.contains("0.81") && metrics.contains("0.87") && metrics.contains("differs"),
        "{metrics}"
    );
    let differing = browser.texts_of("#compare-params tr.differs").await;
    assert!(
        differing.iter().any(|row| row.contains('C')),
        "the param C differs: {differing:?}"
    );

    // The metric across versions: one point per version.
    browser.goto("/models/churn/chart?metric=accuracy").await;
    let points = browser.texts_of("#metric-chart circle.point").await;
    assert_eq!(points.len(), 2);
    browser.close().await;
}
