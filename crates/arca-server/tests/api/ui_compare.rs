//! Comparing versions side by side and charting one metric across versions.

use crate::helpers::TestApp;
use crate::ui_runs::{
    MLMODEL, element, experiment_with_run, log, new_run, page, put_run_files, row,
};
use reqwest::StatusCode;
use serde_json::json;

crate::on_both_backends!(
    versions_are_compared_side_by_side_with_differences_marked,
    a_comparison_needs_two_to_ten_known_versions,
    a_metric_is_charted_with_one_point_per_version,
);

/// Registers `runs:/<run>/model` as a new version of `name`.
async fn version_of_run(app: &TestApp, name: &str, run: &str) -> String {
    let (s, body) = app
        .post(
            "model-versions/create",
            json!({ "name": name, "source": format!("runs:/{run}/model"), "run_id": run }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body["model_version"]["version"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn versions_are_compared_side_by_side_with_differences_marked(app: TestApp) {
    app.create_model("churn").await;
    let (exp, run1) = experiment_with_run(&app, "e", "first").await;
    let run2 = new_run(&app, &exp, "second").await;
    log(
        &app,
        &run1,
        &[("lr", "0.1"), ("depth", "4")],
        &[("accuracy", &[0.91])],
    )
    .await;
    log(
        &app,
        &run2,
        &[("lr", "0.1"), ("depth", "6")],
        &[("accuracy", &[0.87])],
    )
    .await;
    let other_signature = MLMODEL.replace("\"age\"", "\"income\"");
    put_run_files(
        &app,
        &exp,
        &run1,
        &[
            ("model/MLmodel", MLMODEL.as_bytes()),
            ("model/conda.yaml", b"deps: [sklearn]"),
            ("model/model.pkl", b"weights one"),
        ],
    )
    .await;
    put_run_files(
        &app,
        &exp,
        &run2,
        &[
            ("model/MLmodel", other_signature.as_bytes()),
            ("model/conda.yaml", b"deps: [sklearn]"),
            ("model/model.pkl", b"weights two"),
        ],
    )
    .await;
    version_of_run(&app, "churn", &run1).await;
    version_of_run(&app, "churn", &run2).await;
    let (s, b) = app
        .post(
            "registered-models/alias",
            json!({"name": "churn", "alias": "champion", "version": "1"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");

    let (s, html, _) = page(&app, "/models/churn/compare?v=1&v=2").await;
    assert_eq!(s, StatusCode::OK, "{html}");
    let compare = html.as_str();
    assert!(html.contains("id=\"compare\""));

    let metrics = element(compare, "section", "compare-metrics");
    let accuracy = row(metrics, "accuracy");
    assert!(
        accuracy.contains(">0.91<") && accuracy.contains(">0.87<"),
        "{accuracy}"
    );
    assert!(accuracy.contains("class=\"differs\"") && accuracy.contains("differs</span>"));

    let params = element(compare, "section", "compare-params");
    assert!(
        !row(params, "lr").contains("differs"),
        "equal params are not flagged"
    );
    let depth = row(params, "depth");
    assert!(depth.contains("class=\"differs\"") && depth.contains(">6<"));

    let overview = element(compare, "section", "compare-overview");
    assert!(row(overview, "Aliases").contains("@champion"));
    assert!(row(overview, "Aliases").contains("class=\"differs\""));
    assert!(row(overview, "Run").contains(">first<") && row(overview, "Run").contains(">second<"));
    assert!(!row(overview, "Stage").contains("differs"));

    let signature = element(compare, "section", "compare-signature");
    let inputs = row(signature, "Inputs");
    assert!(inputs.contains("age: double") && inputs.contains("income: double"));
    assert!(inputs.contains("class=\"differs\""));
    assert!(!row(signature, "Outputs").contains("differs"));

    let files = element(compare, "section", "compare-files");
    let sha = |bytes: &[u8]| crate::helpers::sha256_hex(bytes)[..12].to_owned();
    let conda = row(files, "conda.yaml");
    assert!(conda.contains(&sha(b"deps: [sklearn]")) && !conda.contains("differs"));
    let weights = row(files, "model.pkl");
    assert!(weights.contains(&sha(b"weights one")) && weights.contains(&sha(b"weights two")));
    assert!(weights.contains("class=\"differs\""));

    let (_, html, _) = page(&app, "/models/churn/compare?v=1&v=2&only=differences").await;
    let params = element(&html, "section", "compare-params");
    assert!(params.contains(">depth<") && !params.contains(">lr<"));
    let (_, html, _) = page(&app, "/models/churn/compare?versions=2%2C+1").await;
    assert!(
        element(&html, "section", "compare-params").contains(">depth<"),
        "the typed list"
    );
}

async fn a_comparison_needs_two_to_ten_known_versions(app: TestApp) {
    app.create_model("m").await;
    for _ in 0..11 {
        app.create_version("m", "s3://bucket/m").await;
    }
    let (s, html, _) = page(&app, "/models/m/compare?v=1").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        html.contains("Choose from 2 to 10 different versions"),
        "{html}"
    );
    let eleven: Vec<String> = (1..=11).map(|v| format!("v={v}")).collect();
    let (s, _, _) = page(&app, &format!("/models/m/compare?{}", eleven.join("&"))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, html, _) = page(&app, "/models/m/compare?v=1&v=two").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        html.contains("&#39;two&#39; is not a version number"),
        "{html}"
    );
    let (s, _, _) = page(&app, "/models/m/compare?v=1&v=99").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = page(&app, "/models/nope/compare?v=1&v=2").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, html, _) = page(&app, "/models/m/compare").await;
    assert_eq!(s, StatusCode::OK, "no versions yet: the chooser");
    assert!(html.contains("id=\"compare-form\""));
    // Versions without runs or files still compare.
    let (s, html, _) = page(&app, "/models/m/compare?v=1&v=2").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("None of these versions has a run with metrics."));
}

async fn a_metric_is_charted_with_one_point_per_version(app: TestApp) {
    app.create_model("m").await;
    let (exp, _) = experiment_with_run(&app, "e", "unused").await;
    for (i, accuracy) in [0.8, 0.9, 0.7].into_iter().enumerate() {
        let run = new_run(&app, &exp, &format!("run{i}")).await;
        log(
            &app,
            &run,
            &[],
            &[("accuracy", &[accuracy]), ("loss", &[1.0])],
        )
        .await;
        version_of_run(&app, "m", &run).await;
    }
    app.create_version("m", "s3://bucket/no-run").await;

    let (s, html, _) = page(&app, "/models/m/chart?metric=accuracy").await;
    assert_eq!(s, StatusCode::OK, "{html}");
    let select = element(&html, "select", "metric");
    assert!(select.contains(">accuracy<") && select.contains(">loss<"));
    let chart = element(&html, "figure", "metric-chart");
    assert_eq!(
        chart.matches("<circle class=\"point\"").count(),
        3,
        "{chart}"
    );
    assert!(chart.contains("<title>version 3: 0.7</title>"));
    let values = element(&html, "table", "metric-values");
    assert!(row(values, "Version 2").contains(">0.9<"));
    assert!(!values.contains(">Version 4<"), "no run, no value");
    assert!(html.contains("1 version has none"), "{html}");

    let (s, html, _) = page(&app, "/models/m/chart").await;
    assert_eq!(s, StatusCode::OK);
    assert!(element(&html, "select", "metric").contains("value=\"accuracy\" selected"));
    let (s, html, _) = page(&app, "/models/m/chart?metric=f1").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        html.contains("Metrics they have: accuracy, loss."),
        "{html}"
    );
    let (s, _, _) = page(&app, "/models/nope/chart").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
