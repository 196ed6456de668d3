//! Screenshots of the main pages at a desktop and a phone width, over demo data logged with the
//! real `mlflow` client. In the test run they go to a temporary folder and the walk checks that
//! no page is wider than the phone's screen; `scripts/screenshots.sh` sets
//! `ARCA_SCREENSHOTS_DIR=docs/ui` to refresh the README's pictures.

use crate::harness::{Browser, DESKTOP, PHONE, Tools};
use crate::support::{ArcaServer, python, venv};

/// (file name, page): each is saved as `<name>-desktop.png` and `<name>-narrow.png`.
pub const PAGES: &[(&str, &str)] = &[
    ("models", "/models"),
    ("models-search", "/models?q=churn"),
    ("upload", "/upload?model=churn-classifier"),
];

/// Three models with versions in several stages, aliases, tags, descriptions and metrics.
const DEMO_DATA: &str = r#"
import mlflow
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression

client = MlflowClient()
mlflow.set_experiment("demo")
X, y = [[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1]

def log(name, accuracy, C):
    with mlflow.start_run():
        mlflow.log_params({"C": C, "solver": "lbfgs"})
        mlflow.log_metrics({"accuracy": accuracy, "f1": accuracy - 0.04})
        info = mlflow.sklearn.log_model(LogisticRegression(C=C).fit(X, y), name="model",
                                        registered_model_name=name, input_example=[[1.5]])
    return info.registered_model_version

for accuracy, C in [(0.86, 0.1), (0.91, 1.0), (0.93, 3.0)]:
    log("churn-classifier", accuracy, C)
client.update_registered_model("churn-classifier",
    description="Predicts which customers will cancel in the next 30 days.")
client.set_registered_model_tag("churn-classifier", "team", "risk")
client.transition_model_version_stage("churn-classifier", "1", "Archived")
client.transition_model_version_stage("churn-classifier", "2", "Production")
client.transition_model_version_stage("churn-classifier", "3", "Staging")
client.set_registered_model_alias("churn-classifier", "champion", "2")
client.set_registered_model_alias("churn-classifier", "challenger", "3")

for accuracy in [0.97, 0.98]:
    log("fraud-detector", accuracy, 1.0)
client.update_registered_model("fraud-detector", description="Scores card payments for fraud.")
client.set_registered_model_tag("fraud-detector", "team", "payments")
client.transition_model_version_stage("fraud-detector", "2", "Production")

log("demand-forecast", 0.81, 0.5)
client.set_registered_model_tag("demand-forecast", "team", "supply")
"#;

#[tokio::test]
#[ignore = "needs chromium, chromium-driver, axe-core (.test-env) and the mlflow venv: run ./scripts/test.sh"]
async fn the_main_pages_fit_a_phone_and_are_captured_for_the_docs() {
    let Some(tools) = Tools::find() else { return };
    let Some(venv) = venv() else { return };
    let server = ArcaServer::start();
    python(&venv, &server.url, DEMO_DATA, &[]);
    let browser = Browser::launch(tools, server).await;

    let scratch = tempfile::tempdir().unwrap();
    let dir = match std::env::var_os("ARCA_SCREENSHOTS_DIR") {
        Some(dir) => std::path::PathBuf::from(dir),
        None => scratch.path().to_owned(),
    };
    for (size, suffix) in [(DESKTOP, "desktop"), (PHONE, "narrow")] {
        browser.resize(size).await;
        for (name, path) in PAGES {
            browser.goto(path).await;
            browser.find("main h1").await;
            let widths = browser
                .script(
                    "return [document.documentElement.scrollWidth, window.innerWidth];",
                    vec![],
                )
                .await;
            let (page, window) = (widths[0].as_u64().unwrap(), widths[1].as_u64().unwrap());
            assert!(
                page <= window,
                "{path} is {page}px wide in a {window}px window: it scrolls sideways"
            );
            let png = browser
                .screenshot_into(&dir, &format!("{name}-{suffix}"))
                .await;
            let bytes = std::fs::metadata(&png).unwrap().len();
            assert!(bytes < 300 * 1024, "{} is {bytes} bytes", png.display());
        }
    }
    browser.close().await;
}
