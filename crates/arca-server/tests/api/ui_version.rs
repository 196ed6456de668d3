//! The version page, as a person sees and uses it: a model's files logged through the artifact
//! proxy as the `mlflow` client logs them, a version registered from the run, then the page's
//! facts, files (with the SHA-256 the store recorded), previews, signature, run metrics and
//! lineage, and its forms changing the registry.

use crate::helpers::{TestApp, sha256_hex};
use crate::on_both_backends;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};

/// A name that needs escaping everywhere: HTML, URLs, Python and the shell.
const NAME: &str = "churn <img src=x onerror=\"v()\"> it's";

const MLMODEL: &str = "artifact_path: model
flavors:
  python_function:
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    loader_module: mlflow.sklearn
    model_path: model.pkl
    predict_fn: predict
    python_version: 3.11.2
  sklearn:
    code: null
    pickled_model: model.pkl
    serialization_format: cloudpickle
    sklearn_version: 1.5.2
mlflow_version: 3.17.2
saved_input_example_info:
  artifact_path: input_example.json
  pandas_orient: split
  serving_input_path: serving_input_example.json
  type: dataframe
signature:
  inputs: '[{\"type\": \"double\", \"name\": \"tenure_months\", \"required\": true}, {\"type\":
    \"double\", \"name\": \"monthly_charges\", \"required\": true}]'
  outputs: '[{\"type\": \"tensor\", \"tensor-spec\": {\"dtype\": \"int64\", \"shape\": [-1]}}]'
  params: null
utc_time_created: '2026-11-30 19:00:00.000000'
";

const REQUIREMENTS: &str = "mlflow==3.17.2\nscikit-learn==1.5.2\n<script>alert(1)</script>\n";
const EXAMPLE: &str =
    r#"{"columns": ["tenure_months", "monthly_charges"], "data": [[12.0, 70.5]]}"#;

/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53,
    0xde, 0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0x00,
    0x00, 0x03, 0x01, 0x01, 0x00, 0xc9, 0xfe, 0x92, 0xef, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e,
    0x44, 0xae, 0x42, 0x60, 0x82,
];

fn enc(raw: &str) -> String {
    utf8_percent_encode(raw, NON_ALPHANUMERIC).to_string()
}

/// A browser: keeps the CSRF cookie, reads the page's token, does not follow redirects.
struct Browser<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
    cookie: Option<String>,
    token: String,
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp) -> Browser<'a> {
        Browser {
            app,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookie: None,
            token: String::new(),
        }
    }

    async fn get(&mut self, path: &str) -> (StatusCode, String) {
        let mut req = self.client.get(format!("{}{path}", self.app.base));
        if let Some(c) = &self.cookie {
            req = req.header(COOKIE, c);
        }
        let resp = req.send().await.unwrap();
        if let Some(set) = resp.headers().get(SET_COOKIE) {
            let pair = set.to_str().unwrap().split(';').next().unwrap().to_owned();
            self.cookie = Some(pair);
        }
        let status = resp.status();
        let html = resp.text().await.unwrap();
        if let Some(token) = html
            .split(r#"<meta name="csrf-token" content=""#)
            .nth(1)
            .and_then(|rest| rest.split('"').next())
        {
            self.token = token.to_owned();
        }
        (status, html)
    }

    /// POSTs a form as the page's browser would (with the token unless `token` is false);
    /// returns the status and where it redirects to.
    async fn post(&self, path: &str, fields: &[(&str, &str)], token: bool) -> (StatusCode, String) {
        let mut body: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect();
        if token {
            body.push(format!("_csrf={}", self.token));
        }
        let mut req = self
            .client
            .post(format!("{}{path}", self.app.base))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "same-origin")
            .body(body.join("&"));
        if let Some(c) = &self.cookie {
            req = req.header(COOKIE, c);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let location = resp
            .headers()
            .get(LOCATION)
            .map(|l| l.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, location)
    }
}

/// The text a person sees in the element with this id (its tags dropped, entities decoded).
fn text_of(html: &str, id: &str) -> String {
    let start = html
        .find(&format!(r#"id="{id}""#))
        .unwrap_or_else(|| panic!("no #{id}"));
    let inner = &html[start..];
    let inner = &inner[inner.find('>').unwrap() + 1..];
    let end = inner.find("</pre>").expect("a <pre>");
    let mut text = String::new();
    let mut in_tag = false;
    for c in inner[..end].chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.replace("&lt;", "<")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

struct Logged {
    run_id: String,
    page: String,
    files: Vec<(&'static str, Vec<u8>)>,
}

/// A run with metrics and params, a model's files uploaded under its artifacts, and two
/// versions registered from it (the second with ZenML's lineage tags).
async fn log_model(app: &TestApp) -> Logged {
    let (s, body) = app
        .post(
            "runs/create",
            json!({"experiment_id": "0", "user_id": "ana", "start_time": 1000, "run_name": "nightly-train"}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let run_id = body["run"]["info"]["run_id"].as_str().unwrap().to_owned();
    let (s, body) = app
        .post(
            "runs/log-batch",
            json!({"run_id": run_id,
                "metrics": [{"key": "auc", "value": 0.9312, "timestamp": 1, "step": 0},
                            {"key": "auc", "value": 0.9475, "timestamp": 2, "step": 1}],
                "params": [{"key": "max_depth", "value": "7"}]}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let files: Vec<(&'static str, Vec<u8>)> = vec![
        ("MLmodel", MLMODEL.as_bytes().to_vec()),
        ("requirements.txt", REQUIREMENTS.as_bytes().to_vec()),
        ("input_example.json", EXAMPLE.as_bytes().to_vec()),
        ("model.pkl", crate::helpers::pseudo_random(3000, 7)),
        ("plots/roc.png", PNG.to_vec()),
    ];
    for (path, bytes) in &files {
        let (s, body) = app
            .put_artifact(&format!("0/{run_id}/artifacts/model/{path}"), bytes.clone())
            .await;
        assert_eq!(s, 200, "{body}");
    }
    app.create_model(NAME).await;
    for tags in [
        json!([]),
        json!([{"key": "zenml_pipeline_name", "value": "churn_training"},
               {"key": "zenml_pipeline_run_uuid", "value": "6c1f0e2a-run"},
               {"key": "zenml_step_name", "value": "register_model"},
               {"key": "team", "value": "<i>risk</i>"}]),
    ] {
        let (s, body) = app
            .post(
                "model-versions/create",
                json!({"name": NAME, "source": format!("runs:/{run_id}/model"), "run_id": run_id,
                       "tags": tags, "description": "Trained **nightly**. <script>x()</script>"}),
            )
            .await;
        assert_eq!(s, 200, "{body}");
    }
    Logged {
        run_id,
        page: format!("/models/{}/versions/2", enc(NAME)),
        files,
    }
}

async fn version(app: &TestApp, v: &str) -> Value {
    let (s, body) = app
        .get("model-versions/get", &[("name", NAME), ("version", v)])
        .await;
    assert_eq!(s, 200, "{body}");
    body["model_version"].clone()
}

async fn ui_version_page_shows_files_signature_metrics_and_lineage(app: TestApp) {
    let logged = log_model(&app).await;
    let mut browser = Browser::new(&app);
    let (status, html) = browser.get(&logged.page).await;
    assert_eq!(status, 200, "{html}");

    // Every file, with the SHA-256 of the bytes uploaded and a download link that returns them.
    for (path, bytes) in &logged.files {
        assert!(html.contains(path), "{path} listed");
        assert!(html.contains(&sha256_hex(bytes)), "SHA-256 of {path}");
        let (s, got) = app
            .get_artifact(&format!("0/{}/artifacts/model/{path}", logged.run_id))
            .await;
        assert_eq!(s, 200);
        assert_eq!(&got[..], &bytes[..]);
    }
    assert!(html.contains(&format!(
        "/api/2.0/mlflow-artifacts/artifacts/0/{}/artifacts/model/plots/roc.png",
        logged.run_id
    )));

    // What the MLmodel says.
    assert!(html.contains("mlflow.sklearn"), "loader module");
    assert!(html.contains("1.5.2"), "sklearn version");
    let signature = html.split(r#"id="signature""#).nth(1).expect("a signature");
    assert!(signature.contains("tenure_months") && signature.contains("monthly_charges"));
    assert!(signature.contains("tensor of int64, shape [-1]"));
    assert!(html.contains("70.5"), "input example");

    // The run: latest metric value, params, and the lineage with links.
    let metrics = html.split(r#"id="run-metrics""#).nth(1).expect("metrics");
    assert!(metrics.contains("auc") && metrics.contains("0.9475"));
    assert!(!metrics.contains("0.9312"), "only the latest value");
    assert!(html.contains("max_depth"));
    let lineage = html.split(r#"id="lineage""#).nth(1).expect("lineage");
    assert!(lineage.contains(&format!(r#"href="/runs/{}""#, logged.run_id)));
    assert!(lineage.contains(r#"href="/experiments/0""#));
    assert!(lineage.contains("nightly-train"));
    assert!(lineage.contains("churn_training") && lineage.contains("6c1f0e2a-run"));
    assert!(lineage.contains("register_model"));

    // Snippets a person can paste: Python and shell quoting of the awkward name.
    assert_eq!(
        text_of(&html, "snippet-pyfunc"),
        r#"import mlflow

model = mlflow.pyfunc.load_model("models:/churn <img src=x onerror=\"v()\"> it's/2")"#
    );
    assert_eq!(
        text_of(&html, "snippet-pull"),
        r#"arca pull 'models:/churn <img src=x onerror="v()"> it'\''s/2' --output ./churn-img-src-x-onerror-v-it-s-v2"#
    );
    assert!(text_of(&html, "snippet-zenml").ends_with(
        r#"load_model_version(name="churn <img src=x onerror=\"v()\"> it's", version="2")"#
    ));

    // User text is escaped, the description is sanitized Markdown.
    assert!(!html.contains("<img src=x"), "the name is escaped");
    assert!(!html.contains("<i>risk</i>"), "tag values are escaped");
    assert!(
        !html.contains("<script>x()</script>"),
        "the description is sanitized"
    );
    assert!(html.contains("<strong>nightly</strong>"));

    // Previews: text escaped in <pre>, an image through the image route, binary refused.
    let (s, html) = browser
        .get(&format!("{}?file=requirements.txt", logged.page))
        .await;
    assert_eq!(s, 200);
    let preview = html
        .split(r#"id="preview-text""#)
        .nth(1)
        .expect("a preview");
    assert!(preview.contains("scikit-learn==1.5.2"));
    assert!(!preview.contains("<script>"), "the text is escaped");
    assert!(text_of(&html, "preview-text").contains("<script>alert(1)</script>"));
    let (_, html) = browser
        .get(&format!("{}?file=model.pkl", logged.page))
        .await;
    assert!(html.contains("has no preview"));
    let (_, html) = browser
        .get(&format!("{}?file=plots%2Froc.png", logged.page))
        .await;
    let src = html
        .split(r#"id="preview-image" src=""#)
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("an image")
        .replace("&amp;", "&");
    let resp = reqwest::get(format!("{}{src}", app.base)).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()[CONTENT_TYPE], "image/png");
    assert_eq!(&resp.bytes().await.unwrap()[..], PNG);
    let (s, html) = browser
        .get(&format!("{}/image?path=model.pkl", logged.page))
        .await;
    assert_eq!(s, 400);
    assert!(html.contains("is not an image"));

    // Bad addresses are plain-words errors, not 5xx.
    let (s, html) = browser
        .get(&format!("{}?file=..%2Fsecret", logged.page))
        .await;
    assert_eq!(s, 404, "{html}");
    let (s, html) = browser
        .get(&format!("/models/{}/versions/zero", enc(NAME)))
        .await;
    assert_eq!(s, 400);
    assert!(html.contains("is not a version number"));
    let (s, _) = browser
        .get(&format!("/models/{}/versions/9", enc(NAME)))
        .await;
    assert_eq!(s, 404);
}

async fn ui_version_actions_change_the_registry(app: TestApp) {
    let logged = log_model(&app).await;
    let page = &logged.page;
    let mut browser = Browser::new(&app);
    browser.get(page).await;

    let (s, to) = browser
        .post(&format!("{page}/stage"), &[("stage", "production")], true)
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(to.starts_with(page), "{to}");
    assert_eq!(version(&app, "2").await["current_stage"], "Production");

    // Version 1 to Production archiving the others: the page names version 2 beforehand.
    let v1 = format!("/models/{}/versions/1", enc(NAME));
    let (_, html) = browser.get(&v1).await;
    assert!(html.contains("It also archives version 2, now in Production."));
    browser
        .post(
            &format!("{v1}/stage"),
            &[("stage", "Production"), ("archive_existing", "true")],
            true,
        )
        .await;
    assert_eq!(version(&app, "2").await["current_stage"], "Archived");
    assert_eq!(version(&app, "1").await["current_stage"], "Production");

    // Aliases: set on v1, then the page of v2 offers to move it, saying from where.
    browser
        .post(&format!("{v1}/aliases"), &[("alias", "@champion")], true)
        .await;
    assert_eq!(version(&app, "1").await["aliases"], json!(["champion"]));
    let (_, html) = browser.get(page).await;
    assert!(html.contains("Moves @champion from version 1 to version 2"));
    browser
        .post(&format!("{page}/aliases"), &[("alias", "champion")], true)
        .await;
    assert_eq!(version(&app, "2").await["aliases"], json!(["champion"]));
    let (_, html) = browser.get(&format!("{page}?done=alias-set")).await;
    assert!(html.contains("The alias now points at this version."));
    assert!(text_of(&html, "snippet-alias-0").ends_with(r#"it's@champion")"#));
    browser
        .post(
            &format!("{page}/aliases/delete"),
            &[("alias", "champion")],
            true,
        )
        .await;
    assert_eq!(
        version(&app, "2").await.get("aliases"),
        None,
        "no alias left"
    );

    // Tags and description.
    browser
        .post(
            &format!("{page}/tags"),
            &[("key", "owner"), ("value", "ana")],
            true,
        )
        .await;
    browser
        .post(&format!("{page}/tags/delete"), &[("key", "team")], true)
        .await;
    let tags = version(&app, "2").await["tags"].clone();
    assert!(
        tags.to_string().contains(r#""key":"owner","value":"ana""#),
        "{tags}"
    );
    assert!(!tags.to_string().contains("team"), "{tags}");
    browser
        .post(
            &format!("{page}/description"),
            &[("description", "Line one\r\nline two")],
            true,
        )
        .await;
    assert_eq!(
        version(&app, "2").await["description"],
        "Line one\nline two"
    );

    // Bad input: a plain-words error page, and nothing changes.
    let (s, _) = browser
        .post(&format!("{page}/stage"), &[("stage", "Live")], true)
        .await;
    assert_eq!(s, 400);
    let (s, _) = browser
        .post(&format!("{page}/aliases"), &[("alias", "latest")], true)
        .await;
    assert_eq!(s, 400);
    let (s, _) = browser
        .post(
            &format!("{page}/tags"),
            &[("key", ""), ("value", "x")],
            true,
        )
        .await;
    assert_eq!(s, 400);

    // Without the page's token, or from another site, nothing changes.
    let (s, _) = browser.post(&format!("{page}/delete"), &[], false).await;
    assert_eq!(s, 403);
    let resp = browser
        .client
        .post(format!("{}{page}/delete", app.base))
        .header(COOKIE, browser.cookie.clone().unwrap())
        .header("sec-fetch-site", "cross-site")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("_csrf={}", browser.token))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert_eq!(version(&app, "2").await["version"], "2");

    // Deleting goes back to the model.
    let (s, to) = browser.post(&format!("{page}/delete"), &[], true).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(to, format!("/models/{}", enc(NAME)));
    let (s, _) = app
        .get("model-versions/get", &[("name", NAME), ("version", "2")])
        .await;
    assert_eq!(s, 404);
}

on_both_backends!(
    ui_version_page_shows_files_signature_metrics_and_lineage,
    ui_version_actions_change_the_registry,
);
