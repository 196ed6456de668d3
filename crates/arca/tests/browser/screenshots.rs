//! Screenshots of the main pages at a desktop and a phone width, over demo data logged with the
//! real `mlflow` client. In the test run they go to a temporary folder and the walk checks that
//! no page is wider than the phone's screen; `scripts/screenshots.sh` sets
//! `ARCA_SCREENSHOTS_DIR=docs/ui` to refresh the README's pictures.

use crate::harness::{Browser, DESKTOP, PHONE, Tools};
use crate::support::{ArcaServer, python, venv};

/// (file name, page): each is saved as `<name>-desktop.png` and `<name>-narrow.png`. `{run}`
/// stands for the run of churn-classifier's version 2; a `#fragment` scrolls to that part.
pub const PAGES: &[(&str, &str)] = &[
    ("models", "/models"),
    ("models-search", "/models?q=churn"),
    ("upload", "/upload?model=churn-classifier"),
    ("model", "/models/churn-classifier"),
    ("version", "/models/churn-classifier/versions/2"),
    ("compare", "/models/churn-classifier/compare?v=1&v=2&v=3"),
    ("chart", "/models/churn-classifier/chart?metric=accuracy"),
    ("experiments", "/experiments"),
    ("run", "/runs/{run}#metric-charts"),
];

/// Three models with versions in several stages, aliases, tags, descriptions and metrics (with
/// a history over training steps). Prints the run id of churn-classifier's version 2.
const DEMO_DATA: &str = r#"
import mlflow
import numpy as np
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression

client = MlflowClient()
mlflow.set_experiment("demo")
X, y = [[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1]
runs = {}

def log(name, accuracy, C):
    with mlflow.start_run(run_name=f"{name}-C{C}") as run:
        mlflow.log_params({"C": C, "solver": "lbfgs"})
        for step in range(10):
            mlflow.log_metrics({"accuracy": accuracy - 0.3 * 0.6 ** step,
                                "f1": accuracy - 0.04 - 0.3 * 0.6 ** step,
                                "loss": 0.2 + 0.6 * 0.7 ** step}, step=step)
        info = mlflow.sklearn.log_model(LogisticRegression(C=C).fit(X, y), name="model",
                                        registered_model_name=name, input_example=np.array([[1.5]]))
    runs[(name, str(info.registered_model_version))] = run.info.run_id
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
print(runs[("churn-classifier", "2")])
"#;

#[tokio::test]
#[ignore = "needs chromium, chromium-driver, axe-core (.test-env) and the mlflow venv: run ./scripts/test.sh"]
async fn the_main_pages_fit_a_phone_and_are_captured_for_the_docs() {
    let Some(tools) = Tools::find() else { return };
    let Some(venv) = venv() else { return };
    let server = ArcaServer::start();
    let out = python(&venv, &server.url, DEMO_DATA, &[]);
    let run = out.lines().last().unwrap_or_default().trim().to_owned();
    assert!(!run.is_empty(), "the script's output: {out}");
    let browser = Browser::launch(tools, server).await;

    let scratch = tempfile::tempdir().unwrap();
    let dir = match std::env::var_os("ARCA_SCREENSHOTS_DIR") {
        Some(dir) => std::path::PathBuf::from(dir),
        None => scratch.path().to_owned(),
    };
    for (size, suffix) in [(DESKTOP, "desktop"), (PHONE, "narrow")] {
        browser.resize(size).await;
        for (name, path) in PAGES {
            let path = &path.replace("{run}", &run);
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
