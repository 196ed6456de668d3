//! One story that runs every registry command, told against each kind of registry the CLI
//! serves: Arca over HTTP, an Arca data directory, an Arca SQLite or PostgreSQL URI opened
//! directly, and a real `mlflow server`. Only digests differ: a plain MLflow server keeps none,
//! so its pulls are reported as not verified.

use crate::support::{Arca, ArcaServer, MlflowServer, model_files, read_tree, venv};
use serde_json::{Value, json};
use std::path::Path;

fn versions(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect()
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect()
}

/// Pulls `uri` into a fresh folder and checks it holds exactly `expected`'s files.
fn pull_matches(arca: &Arca, work: &Path, uri: &str, expected: &Path, verified: bool) {
    let out = work.join(format!("pulled-{}", uri.replace(['/', ':', '@'], "_")));
    let report = arca.json(&[
        "pull",
        uri,
        "--output",
        out.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(report["verified"], json!(verified), "{report}");
    assert_eq!(
        read_tree(&out),
        read_tree(expected),
        "files pulled for {uri}"
    );
    for file in report["files"].as_array().unwrap() {
        assert_eq!(file["verified"], json!(verified));
        assert_eq!(file["sha256"].as_str().unwrap().len(), 64);
    }
}

pub fn exercise_every_command(arca: &Arca, work: &Path, verifies_digests: bool) {
    let m1 = model_files(work, 1);
    let m2 = model_files(work, 2);

    // models create / duplicate / list / get / update
    let created = arca.json(&[
        "models",
        "create",
        "churn",
        "-d",
        "churn model",
        "--tag",
        "team=risk",
    ]);
    assert_eq!(created["name"], "churn");
    assert_eq!(created["description"], "churn model");
    assert_eq!(created["tags"], json!({"team": "risk"}));
    arca.run(&["models", "create", "churn"])
        .fails(4, "already exists");
    arca.json(&["models", "create", "other"]);

    assert_eq!(names(&arca.json(&["models", "list"])), ["churn", "other"]);
    assert_eq!(
        names(&arca.json(&["models", "list", "--tag", "team=risk"])),
        ["churn"]
    );
    assert!(names(&arca.json(&["models", "list", "--tag", "team=x"])).is_empty());
    assert_eq!(
        names(&arca.json(&["models", "list", "--name", "ch%"])),
        ["churn"]
    );
    assert_eq!(
        names(&arca.json(&["models", "list", "--name", "other"])),
        ["other"]
    );
    assert_eq!(
        names(&arca.json(&["models", "list", "--limit", "1"])),
        ["churn"]
    );
    assert_eq!(
        arca.json(&["models", "get", "churn"])["tags"]["team"],
        "risk"
    );
    arca.run(&["models", "get", "nope"]).fails(3, "nope");

    let updated = arca.json(&[
        "models",
        "update",
        "churn",
        "-d",
        "predicts churn",
        "--tag",
        "owner=ml",
        "--remove-tag",
        "team",
    ]);
    assert_eq!(updated["description"], "predicts churn");
    assert_eq!(updated["tags"], json!({"owner": "ml"}));

    // versions register: a folder with metrics, params, tags, lineage and a stage; then a file
    let v1 = arca.json(&[
        "versions",
        "register",
        "churn",
        m1.to_str().unwrap(),
        "-d",
        "first",
        "--metric",
        "auc=0.91",
        "--metric",
        "loss=0.2",
        "--param",
        "C=1.0",
        "--tag",
        "data=2026-11",
        "--pipeline-name",
        "training",
        "--pipeline-run-id",
        "run-42",
        "--step-name",
        "fit",
        "--stage",
        "staging",
    ]);
    assert_eq!(v1["version"], 1);
    assert_eq!(v1["stage"], "Staging");
    assert_eq!(v1["description"], "first");
    assert_eq!(
        v1["lineage"],
        json!({"pipeline_name": "training", "pipeline_run_id": "run-42", "step_name": "fit"})
    );
    assert_eq!(v1["tags"]["zenml_pipeline_name"], "training");
    assert_eq!(v1["tags"]["zenml_pipeline_run_uuid"], "run-42");
    assert_eq!(v1["tags"]["zenml_step_name"], "fit");
    assert_eq!(v1["tags"]["data"], "2026-11");
    let run_id = v1["run_id"].as_str().unwrap().to_owned();
    assert_eq!(v1["source"], format!("runs:/{run_id}/model"));
    assert_eq!(v1["run"]["metrics"], json!({"auc": 0.91, "loss": 0.2}));

    // A single file, into a model that does not exist yet (it is created).
    let weights = m2.join("data/weights.bin");
    let solo = arca.json(&["versions", "register", "solo", weights.to_str().unwrap()]);
    assert_eq!(solo["version"], 1);
    let v2 = arca.json(&["versions", "register", "churn", m2.to_str().unwrap()]);
    assert_eq!(v2["version"], 2);
    assert_eq!(v2["stage"], "None");

    // versions list: order, stage, tags, dates, limit
    assert_eq!(versions(&arca.json(&["versions", "list", "churn"])), [2, 1]);
    assert_eq!(
        versions(&arca.json(&["versions", "list", "churn", "--newest"])),
        [2, 1]
    );
    assert_eq!(
        versions(&arca.json(&["versions", "list", "churn", "--oldest"])),
        [1, 2]
    );
    assert_eq!(
        versions(&arca.json(&["versions", "list", "churn", "--stage", "Staging"])),
        [1]
    );
    assert_eq!(
        versions(&arca.json(&["versions", "list", "churn", "--tag", "data=2026-11"])),
        [1]
    );
    assert_eq!(
        versions(&arca.json(&["versions", "list", "churn", "--limit", "1"])),
        [2]
    );
    assert_eq!(
        versions(&arca.json(&["versions", "list", "churn", "--created-after", "2000-01-01"])),
        [2, 1]
    );
    assert!(
        versions(&arca.json(&[
            "versions",
            "list",
            "churn",
            "--created-before",
            "2000-01-01"
        ]))
        .is_empty()
    );
    arca.run(&["versions", "list", "nope"]).fails(3, "nope");

    // versions get by number, latest, stage and alias, with the run's metrics and params
    let got = arca.json(&["versions", "get", "churn", "1"]);
    assert_eq!(got["run"]["params"], json!({"C": "1.0"}));
    assert_eq!(got["run"]["metrics"]["auc"], 0.91);
    assert_eq!(got["lineage"]["step_name"], "fit");
    assert_eq!(
        arca.json(&["versions", "get", "churn", "latest"])["version"],
        2
    );
    assert_eq!(
        arca.json(&["versions", "get", "churn", "staging"])["version"],
        1
    );
    arca.run(&["versions", "get", "churn", "9"])
        .fails(3, "not found");
    arca.run(&["versions", "get", "churn", "Production"])
        .fails(3, "no version in stage 'Production'");

    // versions update / transition
    let u = arca.json(&[
        "versions",
        "update",
        "churn",
        "2",
        "-d",
        "second",
        "--tag",
        "reviewed=yes",
    ]);
    assert_eq!(u["description"], "second");
    assert_eq!(u["tags"]["reviewed"], "yes");
    let u = arca.json(&[
        "versions",
        "update",
        "churn",
        "2",
        "--remove-tag",
        "reviewed",
    ]);
    assert!(u["tags"].get("reviewed").is_none(), "{u}");
    let t = arca.json(&["versions", "transition", "churn", "2", "Production"]);
    assert_eq!(t["stage"], "Production");
    let t = arca.json(&[
        "versions",
        "transition",
        "churn",
        "2",
        "Staging",
        "--archive-existing",
    ]);
    assert_eq!(t["stage"], "Staging");
    assert_eq!(
        arca.json(&["versions", "get", "churn", "1"])["stage"],
        "Archived"
    );
    arca.run(&["versions", "transition", "churn", "2", "Bogus"])
        .fails(2, "Bogus");
    arca.run(&[
        "versions",
        "transition",
        "churn",
        "1",
        "None",
        "--archive-existing",
    ])
    .fails(2, "Staging and Production");

    // aliases
    arca.json(&["aliases", "set", "churn", "champion", "1"]);
    arca.json(&["aliases", "set", "churn", "challenger", "2"]);
    assert_eq!(
        arca.json(&["aliases", "list", "churn"]),
        json!({"champion": 1, "challenger": 2})
    );
    assert_eq!(
        arca.json(&["versions", "get", "churn", "@champion"])["version"],
        1
    );
    arca.run(&["aliases", "set", "churn", "latest", "1"])
        .fails(2, "reserved");

    // pull, by every URI form
    pull_matches(arca, work, "models:/churn@champion", &m1, verifies_digests);
    pull_matches(arca, work, "models:/churn/1", &m1, verifies_digests);
    pull_matches(arca, work, "models:/churn/Staging", &m2, verifies_digests);
    pull_matches(arca, work, "models:/churn/latest", &m2, verifies_digests);
    pull_matches(arca, work, "churn@challenger", &m2, verifies_digests);
    let solo_dir = work.join("solo-expected");
    std::fs::create_dir_all(&solo_dir).unwrap();
    std::fs::copy(&weights, solo_dir.join("weights.bin")).unwrap();
    pull_matches(arca, work, "models:/solo/1", &solo_dir, verifies_digests);
    arca.run(&[
        "pull",
        "models:/churn/7",
        "--output",
        work.join("x").to_str().unwrap(),
    ])
    .fails(3, "not found");
    arca.run(&[
        "pull",
        "models:/churn",
        "--output",
        work.join("x").to_str().unwrap(),
    ])
    .fails(2, "models:/<name>/<version>");

    // the table output fits the terminal
    let table = arca.run(&["versions", "list", "churn"]).ok().stdout.clone();
    assert!(table.starts_with("VERSION  STAGE"), "{table}");
    assert_eq!(table.lines().count(), 3);

    // deletes ask for --yes
    arca.json(&["aliases", "delete", "churn", "challenger"]);
    arca.run(&["versions", "get", "churn", "@challenger"])
        .fails(3, "challenger");
    arca.run(&["versions", "delete", "churn", "1"])
        .fails(2, "--yes");
    let deleted = arca.json(&["versions", "delete", "churn", "1", "--yes"]);
    assert_eq!(deleted, json!({"deleted": {"name": "churn", "version": 1}}));
    arca.run(&["versions", "get", "churn", "1"])
        .fails(3, "not found");
    assert_eq!(versions(&arca.json(&["versions", "list", "churn"])), [2]);

    // rename and delete
    let renamed = arca.json(&["models", "rename", "churn", "churn-v2"]);
    assert_eq!(renamed["name"], "churn-v2");
    arca.run(&["models", "get", "churn"]).fails(3, "churn");
    assert_eq!(
        arca.json(&["versions", "get", "churn-v2", "2"])["description"],
        "second"
    );
    arca.run(&["models", "delete", "churn-v2"])
        .fails(2, "--yes");
    arca.json(&["models", "delete", "churn-v2", "--yes"]);
    assert_eq!(names(&arca.json(&["models", "list"])), ["other", "solo"]);
}

#[test]
fn every_command_against_arca_over_http() {
    let server = ArcaServer::start();
    let work = tempfile::tempdir().unwrap();
    exercise_every_command(&Arca::new(&server.url), work.path(), true);
}

#[test]
fn every_command_against_a_local_data_dir() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("arca-data");
    exercise_every_command(&Arca::new(data.to_str().unwrap()), work.path(), true);
    assert!(data.join("arca.db").is_file());
    assert!(
        data.join("artifacts/0").is_dir(),
        "files in the data dir's artifact store"
    );
}

#[test]
fn every_command_against_a_local_sqlite_uri() {
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("store/arca.db");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    let uri = format!("sqlite:///{}", db.display());
    exercise_every_command(&Arca::new(uri), work.path(), true);
    assert!(
        work.path().join("store/artifacts/0").is_dir(),
        "files next to the database"
    );
}

#[test]
#[ignore = "needs ARCA_TEST_PG_URL (a PostgreSQL server): run ./scripts/test.sh"]
fn every_command_against_a_local_postgres_uri() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(url) = runtime.block_on(arca_store::testing::fresh_postgres_database()) else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let files = work.path().join("files");
    let uri = url.replacen("postgres://", "postgresql://", 1);
    let arca = Arca::new(&uri).env("ARCA_ARTIFACTS_DESTINATION", files.to_str().unwrap());
    exercise_every_command(&arca, work.path(), true);
    assert!(files.join("0").is_dir());
    // Without an artifact location, file commands say what to pass.
    Arca::new(&uri)
        .run(&["versions", "register", "m", files.to_str().unwrap()])
        .fails(2, "--artifacts-destination");
}

#[test]
#[ignore = "needs the mlflow venv (.venv): run ./scripts/test.sh"]
fn every_command_against_a_real_mlflow_server() {
    let Some(venv) = venv() else { return };
    let server = MlflowServer::start(&venv);
    let work = tempfile::tempdir().unwrap();
    exercise_every_command(&Arca::new(&server.url), work.path(), false);

    // And the way back: an Arca store copied into the MLflow server, files and all.
    let store = work.path().join("arca-store");
    let local = Arca::new(store.to_str().unwrap());
    let m3 = model_files(work.path(), 3);
    local.json(&[
        "versions",
        "register",
        "from-arca",
        m3.to_str().unwrap(),
        "--pipeline-name",
        "p",
        "--stage",
        "Production",
    ]);
    local.json(&["aliases", "set", "from-arca", "champion", "1"]);
    let copy = || {
        Arca::bare().json(&[
            "copy",
            "--from",
            store.to_str().unwrap(),
            "--to",
            &server.url,
        ])
    };
    assert_eq!(copy()["copied"], 1);
    let in_mlflow = Arca::new(&server.url);
    let v1 = in_mlflow.json(&["versions", "get", "from-arca", "@champion"]);
    assert_eq!(v1["stage"], "Production");
    assert_eq!(v1["lineage"]["pipeline_name"], "p");
    pull_matches(&in_mlflow, work.path(), "models:/from-arca/1", &m3, false);
    assert_eq!(copy()["already_copied"], 1);

    // The local flavor never opens MLflow's own database, and leaves it as it was.
    let db = server.dir.path().join("mlflow.db");
    let before = std::fs::read(&db).unwrap();
    Arca::new(format!("sqlite:///{}", db.display()))
        .run(&["models", "list"])
        .fails(2, "MLflow database");
    assert!(std::fs::read(&db).unwrap() == before, "mlflow.db untouched");
}
