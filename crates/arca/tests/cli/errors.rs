//! What a user sees when something is wrong, where the registry is taken from, credentials,
//! help and completions.

use crate::support::{Arca, ArcaServer};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::mpsc;

/// A server that refuses every request with MLflow's 401 and reports each request's
/// `Authorization` header.
fn refusing_server() -> (String, mpsc::Receiver<Option<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut auth = None;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("authorization")
                {
                    auth = Some(value.trim().to_owned());
                }
            }
            let body = r#"{"error_code":"UNAUTHENTICATED","message":"You are not authenticated."}"#;
            let _ = write!(
                stream,
                "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            if tx.send(auth).is_err() {
                return;
            }
        }
    });
    (url, rx)
}

#[test]
fn credentials_are_sent_as_the_mlflow_client_sends_them() {
    let (url, seen) = refusing_server();
    Arca::new(&url)
        .env("MLFLOW_TRACKING_USERNAME", "alice")
        .env("MLFLOW_TRACKING_PASSWORD", "pw")
        .env("MLFLOW_TRACKING_TOKEN", "ignored-when-basic-is-set")
        .run(&["models", "list"])
        .fails(6, "MLFLOW_TRACKING_TOKEN");
    assert_eq!(seen.recv().unwrap().as_deref(), Some("Basic YWxpY2U6cHc="));

    Arca::new(&url)
        .env("MLFLOW_TRACKING_TOKEN", "tok123")
        .run(&["models", "get", "m"])
        .fails(6, "401");
    assert_eq!(seen.recv().unwrap().as_deref(), Some("Bearer tok123"));

    Arca::new(&url).run(&["models", "list"]).fails(6, "refused");
    assert_eq!(seen.recv().unwrap(), None);
}

#[test]
fn an_unreachable_registry_is_named_with_what_to_check() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let run = Arca::new(&url).run(&["models", "list"]);
    run.fails(5, &format!("cannot reach the registry at {url}"));
    assert!(run.stderr.contains("--tracking-uri"), "{}", run.stderr);
}

#[test]
fn the_registry_comes_from_the_flag_then_arca_then_mlflow_variables() {
    let server = ArcaServer::start();
    let dead = "http://127.0.0.1:9";
    Arca::new(&server.url).run(&["models", "create", "m"]).ok();
    let list = &["models", "list", "--output", "json"];
    Arca::bare()
        .env("MLFLOW_TRACKING_URI", &server.url)
        .run(list)
        .ok();
    Arca::bare()
        .env("ARCA_TRACKING_URI", &server.url)
        .env("MLFLOW_TRACKING_URI", dead)
        .run(list)
        .ok();
    Arca::bare()
        .env("ARCA_TRACKING_URI", dead)
        .run(&["models", "list", "--tracking-uri", &server.url])
        .ok();
    Arca::bare()
        .env("ARCA_TRACKING_URI", dead)
        .env("MLFLOW_TRACKING_URI", &server.url)
        .run(list)
        .fails(5, dead);
    // A data dir the server uses is readable directly, even while it runs.
    let names = Arca::new(server.data_dir().to_str().unwrap()).json(&["models", "list"]);
    assert_eq!(names[0]["name"], "m");
}

#[test]
fn unsupported_uris_and_missing_stores_are_refused_before_anything_is_written() {
    let work = tempfile::tempdir().unwrap();
    Arca::new("databricks://profile")
        .run(&["models", "list"])
        .fails(2, "Unsupported tracking URI");
    let missing = work.path().join("missing");
    Arca::new(missing.to_str().unwrap())
        .run(&["models", "get", "m"])
        .fails(3, "no Arca data directory");
    assert!(!missing.exists(), "a read never creates a store");
    let not_arca = work.path().join("not-arca");
    std::fs::create_dir_all(&not_arca).unwrap();
    std::fs::write(not_arca.join("notes.txt"), "x").unwrap();
    Arca::new(not_arca.to_str().unwrap())
        .run(&["models", "create", "m"])
        .fails(2, "not an Arca data directory");
    Arca::new(format!(
        "sqlite:///{}",
        work.path().join("none.db").display()
    ))
    .run(&["models", "list"])
    .fails(3, "no Arca database");
}

#[test]
fn bad_input_fails_with_exit_code_2_and_one_line() {
    let work = tempfile::tempdir().unwrap();
    let arca = Arca::new(work.path().join("data").to_str().unwrap());
    arca.run(&["models", "create", "a/b"])
        .fails(2, "cannot contain '/'");
    arca.run(&[
        "versions",
        "register",
        "m",
        work.path().join("nothing").to_str().unwrap(),
    ])
    .fails(2, "cannot read");
    arca.run(&["versions", "register", "m", ".", "--metric", "acc=high"])
        .fails(2, "KEY=NUMBER");
    arca.run(&["versions", "list", "m", "--created-after", "yesterday"])
        .fails(2, "YYYY-MM-DD");
    arca.run(&["versions", "get", "m", "champion"])
        .fails(2, "@alias");
    arca.run(&["models", "list", "--output", "yaml"])
        .fails(2, "yaml");
}

#[test]
fn help_reads_for_every_command_and_completions_are_generated() {
    let arca = Arca::bare();
    let top = arca.run(&["--help"]);
    top.ok();
    for cmd in [
        "server",
        "models",
        "versions",
        "aliases",
        "pull",
        "copy",
        "completions",
    ] {
        assert!(top.stdout.contains(cmd), "{cmd} in --help");
    }
    assert!(top.stdout.contains("Exit codes"));
    for path in [
        &["models", "list"][..],
        &["versions", "register"],
        &["versions", "list"],
        &["versions", "transition"],
        &["aliases", "set"],
        &["pull"],
        &["copy"],
        &["server"],
    ] {
        let mut args = path.to_vec();
        args.push("--help");
        let help = arca.run(&args);
        help.ok();
        assert!(help.stdout.contains("Usage: arca"), "{args:?}");
    }
    let register = arca.run(&["versions", "register", "--help"]).stdout;
    for flag in [
        "--metric",
        "--param",
        "--pipeline-name",
        "--pipeline-run-id",
        "--step-name",
        "--stage",
    ] {
        assert!(register.contains(flag), "{flag}");
    }
    for shell in ["bash", "zsh", "fish"] {
        let script = arca.run(&["completions", shell]);
        script.ok();
        assert!(script.stdout.contains("versions"), "{shell}");
    }
}

#[test]
fn tables_fit_the_terminal_width() {
    let work = tempfile::tempdir().unwrap();
    let arca = Arca::new(work.path().join("data").to_str().unwrap());
    arca.run(&[
        "models",
        "create",
        "a-model-with-a-long-name",
        "-d",
        "a description that is much longer than the terminal is wide, so it has to be cut",
    ])
    .ok();
    let narrow = Arca::new(work.path().join("data").to_str().unwrap()).env("COLUMNS", "60");
    let out = narrow.run(&["models", "list"]);
    out.ok();
    for line in out.stdout.lines() {
        assert!(line.chars().count() <= 60, "{line:?} is wider than 60");
    }
    assert!(out.stdout.contains('…'));
}
