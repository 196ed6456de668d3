//! `arca copy`: the migration path. A model logged to a real `mlflow server` by the real
//! `mlflow` client is copied into Arca, loads from Arca with `mlflow.pyfunc.load_model` by alias
//! and predicts as the original does; copying again copies nothing.

use crate::support::{Arca, ArcaServer, MlflowServer, model_files, python, read_tree, venv};
use serde_json::{Value, json};

/// Trains a model on iris, logs two versions through the `mlflow` client, and sets stages,
/// aliases, tags and descriptions. Prints the first version's predictions on the training data.
const LOG_MODELS: &str = r#"
import json, sys
import mlflow
from mlflow import MlflowClient
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

name = sys.argv[1]
X, y = load_iris(return_X_y=True)
client = MlflowClient()
predictions = None
for C in (1.0, 0.1):
    with mlflow.start_run():
        mlflow.log_param("C", C)
        clf = LogisticRegression(C=C, max_iter=500).fit(X, y)
        mlflow.log_metric("accuracy", clf.score(X, y))
        mlflow.sklearn.log_model(clf, name="model", registered_model_name=name)
        if predictions is None:
            predictions = clf.predict(X).tolist()
client.update_registered_model(name, description="iris classifier")
client.set_registered_model_tag(name, "team", "vision")
client.update_model_version(name, "1", description="first fit")
client.set_model_version_tag(name, "1", "zenml_pipeline_name", "iris_training")
client.transition_model_version_stage(name, "1", "Production")
client.set_registered_model_alias(name, "champion", "1")
client.set_registered_model_alias(name, "challenger", "2")
print(json.dumps(predictions))
"#;

/// Loads `models:/<name>@champion` and prints its predictions on the training data.
const LOAD_CHAMPION: &str = r#"
import json, sys
import mlflow
from sklearn.datasets import load_iris

X, _ = load_iris(return_X_y=True)
model = mlflow.pyfunc.load_model(f"models:/{sys.argv[1]}@champion")
print(json.dumps([int(p) for p in model.predict(X)]))
"#;

fn actions(report: &Value) -> Vec<(i64, String)> {
    report["models"][0]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["source_version"].as_i64().unwrap(),
                v["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
#[ignore = "needs the mlflow venv (.venv): run ./scripts/test.sh"]
fn a_model_logged_to_mlflow_is_copied_into_arca_and_loads_there_by_alias() {
    let Some(venv) = venv() else { return };
    let mlflow = MlflowServer::start(&venv);
    let arca = ArcaServer::start();
    let name = "iris";

    let logged = python(&venv, &mlflow.url, LOG_MODELS, &[name]);
    let expected: Vec<i64> = serde_json::from_str(logged.lines().last().unwrap()).unwrap();

    let copy = || {
        Arca::bare().json(&[
            "copy",
            "--from",
            &mlflow.url,
            "--to",
            &arca.url,
            "--model",
            name,
        ])
    };
    let report = copy();
    assert_eq!(report["copied"], 2, "{report}");
    assert_eq!(report["models"][0]["action"], "created");
    assert_eq!(
        report["models"][0]["aliases"],
        json!({"champion": 1, "challenger": 2})
    );
    assert!(
        report["models"][0]["versions"][0]["files"]
            .as_i64()
            .unwrap()
            >= 3
    );

    let in_arca = Arca::new(&arca.url);
    let model = in_arca.json(&["models", "get", name]);
    assert_eq!(model["description"], "iris classifier");
    assert_eq!(model["tags"]["team"], "vision");
    let v1 = in_arca.json(&["versions", "get", name, "1"]);
    assert_eq!(v1["stage"], "Production");
    assert_eq!(v1["description"], "first fit");
    assert_eq!(v1["aliases"], json!(["champion"]));
    assert_eq!(v1["lineage"]["pipeline_name"], "iris_training");
    assert_eq!(v1["tags"]["arca.copied_from"], format!("models:/{name}/1"));
    assert_eq!(v1["tags"]["arca.copied_from_registry"], mlflow.url.as_str());
    assert_eq!(v1["run"]["params"]["C"], "1.0");
    assert!(v1["run"]["metrics"]["accuracy"].as_f64().unwrap() > 0.9);

    // The copy loads from Arca with the mlflow client and predicts as the original does.
    let loaded = python(&venv, &arca.url, LOAD_CHAMPION, &[name]);
    let predictions: Vec<i64> = serde_json::from_str(loaded.lines().last().unwrap()).unwrap();
    assert_eq!(predictions, expected);

    // Arca verifies what it serves: the pulled files match their recorded SHA-256.
    let work = tempfile::tempdir().unwrap();
    let pulled = work.path().join("champion");
    let report = in_arca.json(&[
        "pull",
        &format!("models:/{name}@champion"),
        "--output",
        pulled.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(report["verified"], true);
    assert!(pulled.join("MLmodel").is_file());

    // Copying again copies nothing; a new version in MLflow is all that moves next time.
    let again = copy();
    assert_eq!(again["copied"], 0, "{again}");
    assert_eq!(
        actions(&again),
        [(1, "already_copied".into()), (2, "already_copied".into())]
    );
    assert_eq!(
        in_arca
            .json(&["versions", "list", name])
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let extra = model_files(work.path(), 3);
    let from_mlflow = Arca::new(&mlflow.url);
    from_mlflow.json(&["versions", "register", name, extra.to_str().unwrap()]);
    from_mlflow.json(&["aliases", "set", name, "champion", "3"]);
    let third = copy();
    assert_eq!(
        actions(&third),
        [
            (1, "already_copied".into()),
            (2, "already_copied".into()),
            (3, "copied".into())
        ]
    );
    assert_eq!(
        in_arca.json(&["versions", "get", name, "@champion"])["version"],
        3
    );
    let pulled3 = work.path().join("third");
    in_arca
        .run(&[
            "pull",
            &format!("{name}@champion"),
            "--output",
            pulled3.to_str().unwrap(),
        ])
        .ok();
    assert_eq!(read_tree(&pulled3), read_tree(&extra));
}

#[test]
fn copy_between_arca_stores_is_idempotent_and_dry_run_changes_nothing() {
    let source = ArcaServer::start();
    let work = tempfile::tempdir().unwrap();
    let src = Arca::new(&source.url);
    let m1 = model_files(work.path(), 1);
    let m2 = model_files(work.path(), 2);
    src.json(&["models", "create", "a", "-d", "model a", "--tag", "k=v"]);
    src.json(&[
        "versions",
        "register",
        "a",
        m1.to_str().unwrap(),
        "--pipeline-name",
        "p",
        "--stage",
        "Production",
    ]);
    src.json(&[
        "versions",
        "register",
        "a",
        m2.to_str().unwrap(),
        "--metric",
        "acc=0.5",
    ]);
    src.json(&["aliases", "set", "a", "champion", "2"]);
    src.json(&["versions", "register", "b", m2.to_str().unwrap()]);

    // Into a data directory that does not exist yet; a dry run creates nothing.
    let target = work.path().join("copy");
    let dry = Arca::bare().json(&[
        "copy",
        "--from",
        &source.url,
        "--to",
        target.to_str().unwrap(),
        "--dry-run",
    ]);
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["models"][0]["action"], "would_create");
    assert!(!target.exists(), "a dry run writes nothing");

    let report = Arca::bare().json(&[
        "copy",
        "--from",
        &source.url,
        "--to",
        target.to_str().unwrap(),
    ]);
    assert_eq!(report["copied"], 3, "{report}");
    let dst = Arca::new(target.to_str().unwrap());
    assert_eq!(
        dst.json(&["versions", "get", "a", "1"])["stage"],
        "Production"
    );
    assert_eq!(
        dst.json(&["versions", "get", "a", "1"])["lineage"]["pipeline_name"],
        "p"
    );
    assert_eq!(
        dst.json(&["versions", "get", "a", "@champion"])["run"]["metrics"]["acc"],
        0.5
    );
    assert_eq!(dst.json(&["models", "get", "a"])["tags"]["k"], "v");

    // The source moves on: a stage change and an alias move follow; nothing is copied twice.
    src.json(&["versions", "transition", "a", "1", "Archived"]);
    src.json(&["aliases", "set", "a", "champion", "1"]);
    let again = Arca::bare().json(&[
        "copy",
        "--from",
        &source.url,
        "--to",
        target.to_str().unwrap(),
    ]);
    assert_eq!(again["copied"], 0);
    assert_eq!(again["already_copied"], 3);
    assert_eq!(
        dst.json(&["versions", "get", "a", "1"])["stage"],
        "Archived"
    );
    assert_eq!(
        dst.json(&["versions", "get", "a", "@champion"])["version"],
        1
    );

    // And back: the local store into a fresh Arca server, files verified on the way.
    let back = ArcaServer::start();
    let report = Arca::bare().json(&[
        "copy",
        "--from",
        target.to_str().unwrap(),
        "--to",
        &back.url,
    ]);
    assert_eq!(report["copied"], 3);
    let pulled = work.path().join("back");
    Arca::new(&back.url)
        .run(&["pull", "models:/a/1", "--output", pulled.to_str().unwrap()])
        .ok();
    assert_eq!(read_tree(&pulled), read_tree(&m1));

    // A model missing from the source is named in the error.
    Arca::bare()
        .run(&[
            "copy",
            "--from",
            &source.url,
            "--to",
            &back.url,
            "--model",
            "nope",
        ])
        .fails(3, "--model nope");
}
