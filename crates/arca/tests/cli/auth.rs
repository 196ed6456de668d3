//! `arca server --auth` from the command line: safe defaults, `arca admin`, and the CLI sending
//! the mlflow client's credential variables.

use crate::support::{Arca, ArcaServer};
use std::time::Duration;

const LIMIT: Option<Duration> = Some(Duration::from_secs(60));

#[test]
fn a_server_open_to_the_network_needs_auth_and_auth_needs_an_admin() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let open = Arca::bare().run_within(
        &[
            "server",
            "--host",
            "0.0.0.0",
            "--port",
            "0",
            "--data-dir",
            data,
        ],
        LIMIT,
    );
    assert_ne!(open.code, 0);
    assert!(
        open.stderr
            .contains("refusing to serve 0.0.0.0 without authentication"),
        "{}",
        open.stderr
    );
    let no_admin = Arca::bare().run_within(
        &["server", "--auth", "--port", "0", "--data-dir", data],
        LIMIT,
    );
    assert_ne!(no_admin.code, 0);
    assert!(
        no_admin.stderr.contains("--auth needs an admin"),
        "{}",
        no_admin.stderr
    );
    let short = Arca::bare().env("ARCA_ADMIN_PASSWORD", "short").run(&[
        "admin",
        "create-user",
        "root",
        "--admin",
        "--data-dir",
        data,
    ]);
    assert_ne!(short.code, 0);
    assert!(
        short.stderr.contains("at least 12 characters"),
        "{}",
        short.stderr
    );
}

#[test]
fn the_cli_signs_in_with_mlflow_credentials_or_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    Arca::bare()
        .env("ARCA_ADMIN_PASSWORD", "cli-admin-password")
        .run(&[
            "admin",
            "create-user",
            "root",
            "--admin",
            "--data-dir",
            data,
        ])
        .ok();
    let token = Arca::bare()
        .run(&[
            "admin",
            "create-token",
            "root",
            "--name",
            "ci",
            "--data-dir",
            data,
        ])
        .ok()
        .stdout
        .trim()
        .to_owned();
    assert!(token.starts_with("arca_"), "{token}");
    let server = ArcaServer::start_in(dir, &["--auth"], &[]);
    Arca::new(&server.url).run(&["models", "list"]).fails(6, "");
    Arca::new(&server.url)
        .env("MLFLOW_TRACKING_USERNAME", "root")
        .env("MLFLOW_TRACKING_PASSWORD", "cli-admin-password")
        .run(&["models", "create", "from-basic"])
        .ok();
    let listed = Arca::new(&server.url)
        .env("MLFLOW_TRACKING_TOKEN", &token)
        .json(&["models", "list"]);
    assert!(listed.to_string().contains("from-basic"), "{listed}");
    Arca::new(&server.url)
        .env("MLFLOW_TRACKING_USERNAME", "root")
        .env("MLFLOW_TRACKING_PASSWORD", "wrong-password")
        .run(&["models", "list"])
        .fails(6, "");
}

#[test]
fn arca_admin_makes_roles_that_a_server_then_honours() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let admin = |args: &[&str]| {
        let mut all = vec!["admin"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--data-dir", data]);
        Arca::bare()
            .env("ARCA_ADMIN_PASSWORD", "cli-admin-password")
            .run(&all)
    };
    admin(&["create-user", "root", "--admin"]).ok();
    admin(&["create-user", "ria"]).ok();
    admin(&["roles", "create", "readers"]).ok();
    let bad = admin(&["roles", "grant", "readers", "run", "*", "READ"]);
    assert_ne!(bad.code, 0);
    assert!(
        bad.stderr
            .contains("does not keep grants on resource_type 'run'"),
        "{}",
        bad.stderr
    );
    admin(&["roles", "grant", "readers", "registered_model", "*", "READ"]).ok();
    admin(&["roles", "assign", "ria", "readers"]).ok();
    let listed = admin(&["roles", "list"]).ok().stdout.clone();
    assert_eq!(listed, "readers\tREAD registered_model *\n");
    let server = ArcaServer::start_in(
        dir,
        &["--auth", "--default-permission", "NO_PERMISSIONS"],
        &[],
    );
    Arca::new(&server.url)
        .env("MLFLOW_TRACKING_USERNAME", "root")
        .env("MLFLOW_TRACKING_PASSWORD", "cli-admin-password")
        .run(&["models", "create", "seen-through-a-role"])
        .ok();
    let listed = Arca::new(&server.url)
        .env("MLFLOW_TRACKING_USERNAME", "ria")
        .env("MLFLOW_TRACKING_PASSWORD", "cli-admin-password")
        .json(&["models", "list"]);
    assert!(
        listed.to_string().contains("seen-through-a-role"),
        "{listed}"
    );
}
