//! The experiments, runs, artifact browser and "Register" pages, read as a person reads them.

use crate::helpers::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};

crate::on_both_backends!(
    experiments_are_listed_and_searched,
    a_run_page_shows_params_metrics_history_and_artifacts,
    a_run_folder_with_an_mlmodel_is_registered_from_the_page,
    a_logged_model_is_registered_from_the_page,
    the_register_form_is_refused_without_its_token,
);

/// A client that does not follow redirects, so that a test sees where a form sends it.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// GETs a UI page: its status, its HTML, and the CSRF token its cookie carries.
pub async fn page(app: &TestApp, path: &str) -> (StatusCode, String, Option<String>) {
    let resp = browser()
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let token = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("arca_csrf="))
        .map(|c| c.split(';').next().unwrap().to_owned());
    (status, resp.text().await.unwrap(), token)
}

/// The HTML of the element that starts with `<tag` and holds `id="<id>"`, up to its end tag.
#[track_caller]
pub fn element<'a>(html: &'a str, tag: &str, id: &str) -> &'a str {
    let marker = format!("id=\"{id}\"");
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no #{id} in the page:\n{html}"));
    let start = html[..at].rfind(&format!("<{tag}")).unwrap();
    let end = html[start..].find(&format!("</{tag}>")).unwrap() + start;
    &html[start..end]
}

/// The `<tr>` of `table` whose text holds `>label<`.
#[track_caller]
pub fn row<'a>(table: &'a str, label: &str) -> &'a str {
    let needle = format!(">{label}<");
    let at = table
        .find(&needle)
        .unwrap_or_else(|| panic!("no row {label:?} in:\n{table}"));
    let start = table[..at].rfind("<tr").unwrap();
    let end = table[at..].find("</tr>").unwrap() + at;
    &table[start..end]
}

/// Creates an experiment and a run in it; returns (experiment id, run id).
pub async fn experiment_with_run(app: &TestApp, experiment: &str, run: &str) -> (String, String) {
    let (s, body) = app
        .post("experiments/create", json!({ "name": experiment }))
        .await;
    let experiment_id = if s == StatusCode::OK {
        body["experiment_id"].as_str().unwrap().to_owned()
    } else {
        let (_, body) = app
            .get(
                "experiments/get-by-name",
                &[("experiment_name", experiment)],
            )
            .await;
        body["experiment"]["experiment_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let run_id = new_run(app, &experiment_id, run).await;
    (experiment_id, run_id)
}

pub async fn new_run(app: &TestApp, experiment_id: &str, name: &str) -> String {
    let (s, body) = app
        .post(
            "runs/create",
            json!({ "experiment_id": experiment_id, "run_name": name, "start_time": 1_700_000_000_000i64 }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body["run"]["info"]["run_id"].as_str().unwrap().to_owned()
}

/// Logs params and metrics (each metric at the steps given, values in order).
pub async fn log(app: &TestApp, run_id: &str, params: &[(&str, &str)], metrics: &[(&str, &[f64])]) {
    let params: Vec<Value> = params
        .iter()
        .map(|(k, v)| json!({ "key": k, "value": v }))
        .collect();
    let metrics: Vec<Value> = metrics
        .iter()
        .flat_map(|(k, values)| {
            values.iter().enumerate().map(move |(step, v)| {
                json!({ "key": k, "value": v, "timestamp": 1_700_000_000_000i64 + step as i64, "step": step })
            })
        })
        .collect();
    let (s, body) = app
        .post(
            "runs/log-batch",
            json!({ "run_id": run_id, "params": params, "metrics": metrics }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
}

/// Stores `files` (path relative to the run's artifact root, bytes) as the run's artifacts.
pub async fn put_run_files(
    app: &TestApp,
    experiment_id: &str,
    run_id: &str,
    files: &[(&str, &[u8])],
) {
    for (path, bytes) in files {
        let (s, body) = app
            .put_artifact(
                &format!("{experiment_id}/{run_id}/artifacts/{path}"),
                bytes.to_vec(),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
    }
}

pub const MLMODEL: &str = "flavors:
  python_function:
    loader_module: mlflow.sklearn
  sklearn:
    sklearn_version: 1.5.2
mlflow_version: 3.17.2
signature:
  inputs: '[{\"type\": \"double\", \"name\": \"age\", \"required\": true}]'
  outputs: '[{\"type\": \"long\", \"required\": true}]'
";

async fn experiments_are_listed_and_searched(app: TestApp) {
    let (fraud, run_a) = experiment_with_run(&app, "fraud detection", "baseline").await;
    new_run(&app, &fraud, "tuned-forest").await;
    experiment_with_run(&app, "churn", "other").await;
    log(&app, &run_a, &[], &[("auc", &[0.7])]).await;

    let (s, html, _) = page(&app, "/experiments").await;
    assert_eq!(s, StatusCode::OK);
    let table = element(&html, "table", "experiments");
    assert!(table.contains(">fraud detection<") && table.contains(">churn<"));

    let (_, html, _) = page(&app, "/experiments?q=FRAUD").await;
    let table = element(&html, "table", "experiments");
    assert!(table.contains(">fraud detection<") && !table.contains(">churn<"));

    let (s, html, _) = page(&app, &format!("/experiments/{fraud}")).await;
    assert_eq!(s, StatusCode::OK);
    let runs = element(&html, "table", "runs");
    assert!(runs.contains(">baseline<") && runs.contains(">tuned-forest<"));
    assert!(row(runs, "baseline").contains(">0.7<"), "the auc column");

    let (_, html, _) = page(&app, &format!("/experiments/{fraud}?q=tuned")).await;
    let runs = element(&html, "table", "runs");
    assert!(runs.contains(">tuned-forest<") && !runs.contains(">baseline<"));
    let (_, html, _) = page(&app, &format!("/experiments/{fraud}?q=metrics.auc+%3E+0.5")).await;
    let runs = element(&html, "table", "runs");
    assert!(runs.contains(">baseline<") && !runs.contains(">tuned-forest<"));

    let (s, html, _) = page(
        &app,
        &format!("/experiments/{fraud}?q=metrics.auc+%3E+%27x%27"),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        html.contains("could not be read as an MLflow run filter"),
        "{html}"
    );
    let (s, _, _) = page(&app, "/experiments/987654").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = page(&app, "/experiments?page=zero").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

async fn a_run_page_shows_params_metrics_history_and_artifacts(app: TestApp) {
    let (exp, run) = experiment_with_run(&app, "e", "first-run").await;
    log(
        &app,
        &run,
        &[("learning_rate", "0.01"), ("depth", "<7>")],
        &[("loss", &[0.9, 0.5, 0.3, 0.2, 0.15]), ("acc", &[0.8])],
    )
    .await;
    let weights = crate::helpers::pseudo_random(3000, 7);
    put_run_files(
        &app,
        &exp,
        &run,
        &[
            ("model/MLmodel", MLMODEL.as_bytes()),
            ("model/model.pkl", &weights),
            ("notes.txt", b"hello"),
        ],
    )
    .await;

    let (s, html, _) = page(&app, &format!("/runs/{run}")).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains("<h1>first-run</h1>"));
    let params = element(&html, "table", "run-params");
    assert!(row(params, "learning_rate").contains(">0.01<"));
    let depth = row(params, "depth");
    assert!(depth.contains("&#60;7&#62;"), "escaped: {depth}");
    let metrics = element(&html, "table", "run-metrics");
    assert!(row(metrics, "loss").contains(">0.15<"), "latest value");
    assert!(row(metrics, "loss").contains(">4<"), "latest step");

    let charts = element(&html, "section", "metric-charts");
    let loss = &charts[charts.find("data-metric=\"loss\"").unwrap()..];
    let loss = &loss[..loss.find("</figure>").unwrap()];
    assert_eq!(loss.matches("<circle class=\"point\"").count(), 5, "{loss}");
    assert!(loss.contains("<title>step 2: 0.3</title>"));

    let files = element(&html, "table", "artifacts");
    assert!(files.contains(">model/<"), "{files}");
    let notes = row(files, "notes.txt");
    assert!(notes.contains(">5 B<"), "{notes}");
    let model_row = row(files, "model/");
    assert!(
        model_row.contains(&format!("/runs/{run}/register?path=model")),
        "a folder with an MLmodel can be registered: {model_row}"
    );
    assert!(!notes.contains("register"));

    let href = notes
        .split("href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let got = app
        .client
        .get(format!("{}{href}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(got.bytes().await.unwrap().as_ref(), b"hello");

    let (s, html, _) = page(&app, &format!("/runs/{run}/artifacts?path=model")).await;
    assert_eq!(s, StatusCode::OK);
    let files = element(&html, "table", "artifacts");
    assert!(row(files, "model.pkl").contains(">2.9 KiB<"), "{files}");
    assert!(files.contains(">MLmodel<"), "{files}");
    assert!(
        html.contains("id=\"register-folder\""),
        "the folder itself is a model"
    );

    let (s, html, _) = page(&app, &format!("/runs/{run}/artifacts?path=..%2Fx")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{html}");
    let (s, _, _) = page(&app, &format!("/runs/{run}?chart=nope")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _, _) = page(&app, "/runs/0123456789abcdef0123456789abcdef").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

/// Posts the register form the way the page does; returns the status and `Location`.
async fn submit_register(
    app: &TestApp,
    run: &str,
    token: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String, String) {
    let mut body: Vec<String> = vec![format!("_csrf={token}")];
    body.extend(fields.iter().map(|(k, v)| {
        format!(
            "{k}={}",
            percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
        )
    }));
    let resp = browser()
        .post(format!("{}/runs/{run}/register", app.base))
        .header("cookie", format!("arca_csrf={token}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin")
        .body(body.join("&"))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let location = resp
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, location, resp.text().await.unwrap())
}

async fn a_run_folder_with_an_mlmodel_is_registered_from_the_page(app: TestApp) {
    let (exp, run) = experiment_with_run(&app, "e", "r").await;
    put_run_files(&app, &exp, &run, &[("model/MLmodel", MLMODEL.as_bytes())]).await;
    app.create_model("existing").await;

    let (s, html, token) = page(&app, &format!("/runs/{run}/register?path=model")).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    let form = element(&html, "form", "register-form");
    assert!(form.contains("data-confirm="));
    assert!(form.contains("<option value=\"existing\">"), "{form}");
    assert!(html.contains(&format!("runs:/{run}/model")));
    let token = token.expect("the page sets its token");
    assert!(form.contains(&format!("value=\"{token}\"")));

    let (s, location, body) = submit_register(
        &app,
        &run,
        &token,
        &[("name", "brand new"), ("path", "model")],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(location, "/models/brand%20new/versions/1");
    let (_, v) = app
        .get(
            "model-versions/get",
            &[("name", "brand new"), ("version", "1")],
        )
        .await;
    assert_eq!(v["model_version"]["source"], format!("runs:/{run}/model"));
    assert_eq!(v["model_version"]["run_id"], run.as_str());

    let (s, location, _) = submit_register(
        &app,
        &run,
        &token,
        &[("name", "existing"), ("path", "model")],
    )
    .await;
    assert_eq!(
        (s, location.as_str()),
        (StatusCode::SEE_OTHER, "/models/existing/versions/1")
    );

    let (s, _, body) =
        submit_register(&app, &run, &token, &[("name", ""), ("path", "model")]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("cannot be a model name"), "{body}");
    let (s, _, body) =
        submit_register(&app, &run, &token, &[("name", "x"), ("path", "../other")]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    let (s, _, _) = page(&app, &format!("/runs/{run}/register")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "nothing named to register");
}

async fn a_logged_model_is_registered_from_the_page(app: TestApp) {
    let (exp, run) = experiment_with_run(&app, "e", "r").await;
    let (s, body) = app
        .post(
            "logged-models",
            json!({ "experiment_id": exp, "name": "iris", "source_run_id": run }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let model_id = body["model"]["info"]["model_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let (_, html, token) = page(&app, &format!("/runs/{run}")).await;
    let models = element(&html, "table", "logged-models");
    assert!(row(models, "iris").contains(&format!("register?model_id={model_id}")));

    let (s, html, _) = page(&app, &format!("/runs/{run}/register?model_id={model_id}")).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains(&format!("models:/{model_id}")));
    let (s, location, body) = submit_register(
        &app,
        &run,
        &token.unwrap(),
        &[("name", "iris-prod"), ("model_id", &model_id)],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(location, "/models/iris-prod/versions/1");
    let (_, v) = app
        .get(
            "model-versions/get",
            &[("name", "iris-prod"), ("version", "1")],
        )
        .await;
    assert_eq!(v["model_version"]["source"], format!("models:/{model_id}"));
    assert_eq!(v["model_version"]["run_id"], run.as_str());

    let (_, other) = experiment_with_run(&app, "e", "other").await;
    let (s, html, _) = page(&app, &format!("/runs/{other}/register?model_id={model_id}")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(html.contains("was not logged by run"), "{html}");
}

async fn the_register_form_is_refused_without_its_token(app: TestApp) {
    let (exp, run) = experiment_with_run(&app, "e", "r").await;
    put_run_files(&app, &exp, &run, &[("model/MLmodel", MLMODEL.as_bytes())]).await;
    let (_, _, token) = page(&app, &format!("/runs/{run}/register?path=model")).await;
    let token = token.unwrap();
    let url = format!("{}/runs/{run}/register", app.base);
    let form = "name=stolen&path=model";

    // No cookie at all (a cross-site form post does not carry the SameSite=Strict cookie).
    let resp = browser()
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("_csrf={token}&{form}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(resp.text().await.unwrap().contains("security token"));
    // The cookie, but a form without the matching token.
    let resp = browser()
        .post(&url)
        .header("cookie", format!("arca_csrf={token}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("_csrf={}&{form}", "0".repeat(32)))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    // Token and cookie, but the browser says another site sent it.
    let resp = browser()
        .post(&url)
        .header("cookie", format!("arca_csrf={token}"))
        .header("sec-fetch-site", "cross-site")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("_csrf={token}&{form}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    let (s, _) = app
        .get("registered-models/get", &[("name", "stolen")])
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "nothing was registered");
}
