//! axe-core on every page type that exists: no serious or critical violation.

use crate::harness::{Browser, DESKTOP, PHONE, Tools};
use crate::support::{ArcaServer, python, venv};

/// Two runs of an experiment, each with a metric history, params, its model saved among the
/// run's artifacts (`model/`) and logged with `log_model` as a version of `churn`; tags, an
/// alias and a description on top. Prints the experiment id and the run ids.
const LOG_DATA: &str = r#"
import tempfile, mlflow
import numpy as np
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression
client = MlflowClient()
experiment = mlflow.set_experiment("churn-a11y")
X, y = np.array([[0.0], [1.0], [2.0], [3.0]]), [0, 0, 1, 1]
ids = []
for c, accuracy in [(0.5, 0.81), (2.0, 0.87)]:
    with mlflow.start_run(run_name=f"train-C{c}") as run:
        model = LogisticRegression(C=c).fit(X, y)
        mlflow.log_params({"C": c, "solver": "lbfgs"})
        for step in range(5):
            mlflow.log_metrics({"accuracy": accuracy - 0.04 * (4 - step),
                                "loss": 1.0 / (step + 1)}, step=step)
        with tempfile.TemporaryDirectory() as tmp:
            mlflow.sklearn.save_model(model, tmp + "/model", input_example=X[:1])
            mlflow.log_artifacts(tmp + "/model", "model")
        mlflow.sklearn.log_model(model, name="model", registered_model_name="churn",
                                 input_example=X[:1])
        ids.append(run.info.run_id)
client.update_registered_model("churn", description="Who leaves, **and when**.")
client.set_registered_model_tag("churn", "team", "risk")
client.set_model_version_tag("churn", "1", "validated", "yes")
client.transition_model_version_stage("churn", "2", "Production")
client.set_registered_model_alias("churn", "champion", "2")
print(experiment.experiment_id, " ".join(ids))
"#;

#[tokio::test]
#[ignore = "needs chromium, chromium-driver, axe-core (.test-env) and the mlflow venv: run ./scripts/test.sh"]
async fn every_page_type_passes_axe_core() {
    let Some(tools) = Tools::find() else { return };
    let Some(venv) = venv() else { return };
    let server = ArcaServer::start();
    let out = python(&venv, &server.url, LOG_DATA, &[]);
    let ids: Vec<String> = out
        .lines()
        .last()
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let [experiment, run, ..] = ids.as_slice() else {
        panic!("the script's output: {out}")
    };
    let browser = Browser::launch(tools, server).await;

    // (what, path, an element that shows the page has what is checked)
    let pages = [
        ("the models list", "/models".to_owned(), "table.models"),
        (
            "an empty search",
            "/models?q=nothing-matches".to_owned(),
            "main h1",
        ),
        ("a model page", "/models/churn".to_owned(), "#versions"),
        (
            "a version page",
            "/models/churn/versions/1".to_owned(),
            "#signature table",
        ),
        (
            "a file preview",
            "/models/churn/versions/1?file=MLmodel".to_owned(),
            "#preview-text",
        ),
        (
            "a comparison",
            "/models/churn/compare?v=1&v=2".to_owned(),
            "#compare-metrics",
        ),
        (
            "a metric across versions",
            "/models/churn/chart?metric=accuracy".to_owned(),
            "#metric-chart svg",
        ),
        ("the experiments", "/experiments".to_owned(), "#experiments"),
        (
            "an experiment's runs",
            format!("/experiments/{experiment}"),
            "#runs",
        ),
        ("a run page", format!("/runs/{run}"), "#metric-charts svg"),
        (
            "a run's artifacts",
            format!("/runs/{run}/artifacts"),
            "#artifacts",
        ),
        (
            "a run's model folder",
            format!("/runs/{run}/artifacts?path=model"),
            "#register-folder",
        ),
        (
            "the register form",
            format!("/runs/{run}/register?path=model"),
            "#register-form",
        ),
        ("the upload form", "/upload".to_owned(), "#upload-path"),
        ("an error page", "/models?page=zero".to_owned(), "main h1"),
        (
            "a missing model",
            "/models/no-such-model".to_owned(),
            "main h1",
        ),
    ];
    for size in [DESKTOP, PHONE] {
        browser.resize(size).await;
        for (label, path, shown) in &pages {
            browser.goto(path).await;
            browser.find(shown).await;
            browser.axe_check(&format!("{label} at {}px", size.0)).await;
        }
    }
    // What the checked pages showed: the run's charts, the version's signature and files.
    browser.goto(&format!("/runs/{run}")).await;
    let charts = browser.texts_of("#metric-charts figcaption").await;
    assert_eq!(
        charts,
        [
            "accuracy over steps (5 points)",
            "loss over steps (5 points)"
        ]
    );
    browser.goto("/models/churn/versions/1").await;
    let files = browser.text_of("#files-table").await;
    assert!(files.contains("MLmodel"), "{files}");
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
