//! Global flags where people put them: `--tracking-uri`, `--artifacts-destination` and `--output`
//! (`-o`, `--format`) before the command, between a command and its subcommand, or after either,
//! with the same result; and refused, with a message saying what to do, by the commands that have
//! no use for them.

use crate::support::{Arca, ArcaServer, Run, model_files, read_tree};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

const DEAD: &str = "http://127.0.0.1:9";

/// `command` with `flag` inserted at each place from before its first word to after its last,
/// followed by `tail`.
fn every_place(command: &[&str], flag: &[&str], tail: &[&str]) -> Vec<Vec<String>> {
    (0..=command.len())
        .map(|i| {
            command[..i]
                .iter()
                .chain(flag)
                .chain(&command[i..])
                .chain(tail)
                .map(|s| s.to_string())
                .collect()
        })
        .collect()
}

fn run(arca: &Arca, args: &[String]) -> Run {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    arca.run(&args)
}

fn json_of(arca: &Arca, args: &[String]) -> Value {
    let out = run(arca, args);
    assert_eq!(out.code, 0, "{args:?} failed: {}", out.stderr);
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: stdout is not JSON ({e}):\n{}", out.stdout))
}

/// A CLI whose default registry is unreachable, so a command only succeeds if it read the
/// `--tracking-uri` it was given.
fn cli() -> Arca {
    Arca::bare().env("ARCA_TRACKING_URI", DEAD)
}

fn names(list: &Value) -> Vec<&str> {
    let list = list.as_array().expect("a JSON list");
    list.iter().map(|m| m["name"].as_str().unwrap()).collect()
}

#[test]
fn tracking_uri_works_in_every_place() {
    let server = ArcaServer::start();
    let work = tempfile::tempdir().unwrap();
    let files = model_files(work.path(), 1);
    let files = files.to_str().unwrap();
    let flag = ["--tracking-uri", server.url.as_str()];
    let arca = cli();
    arca.run(&["models", "list"]).fails(5, DEAD);

    let model_names = ["m0", "m1", "m2", "m3"];
    for (args, name) in every_place(&["models", "create", "m"], &flag, &[])
        .into_iter()
        .zip(model_names)
    {
        let args: Vec<String> = args
            .into_iter()
            .map(|a| if a == "m" { name.into() } else { a })
            .collect();
        run(&arca, &args).ok();
    }
    for args in every_place(&["models", "list"], &flag, &["-o", "json"]) {
        assert_eq!(names(&json_of(&arca, &args)), model_names, "{args:?}");
    }
    for args in every_place(&["models", "get", "m1"], &flag, &["-o", "json"]) {
        assert_eq!(json_of(&arca, &args)["name"], "m1", "{args:?}");
    }

    let registrations = every_place(&["versions", "register", "m0", files], &flag, &[]);
    for args in &registrations {
        run(&arca, args).ok();
    }
    let newest_first: Vec<Value> = (1..=registrations.len() as i64)
        .rev()
        .map(|v| json!(v))
        .collect();
    for args in every_place(&["versions", "list", "m0"], &flag, &["-o", "json"]) {
        let listed = json_of(&arca, &args);
        let numbers: Vec<Value> = listed
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["version"].clone())
            .collect();
        assert_eq!(numbers, newest_first, "{args:?}");
    }
    for args in every_place(&["versions", "get", "m0", "3"], &flag, &["-o", "json"]) {
        assert_eq!(json_of(&arca, &args)["version"], 3, "{args:?}");
    }

    for args in every_place(&["aliases", "set", "m0", "champion", "2"], &flag, &[]) {
        run(&arca, &args).ok();
    }
    for args in every_place(&["aliases", "list", "m0"], &flag, &["-o", "json"]) {
        assert_eq!(json_of(&arca, &args), json!({"champion": 2}), "{args:?}");
    }

    for (i, args) in every_place(&["pull", "models:/m0@champion"], &flag, &[])
        .into_iter()
        .enumerate()
    {
        let dir = work.path().join(format!("pulled-{i}"));
        let mut args = args;
        args.extend(["--output".into(), dir.display().to_string()]);
        args.extend(["--format".into(), "json".into()]);
        let report = json_of(&arca, &args);
        assert_eq!(report["version"], 2, "{args:?}");
        assert_eq!(report["verified"], true, "{args:?}");
        assert_eq!(read_tree(&dir), read_tree(Path::new(files)), "{args:?}");
    }
}

/// Whether `stdout` is a table whose header starts with `first_column`.
fn is_table(stdout: &str, first_column: &str) -> bool {
    stdout.starts_with(first_column) && serde_json::from_str::<Value>(stdout).is_err()
}

#[test]
fn output_works_in_every_place_under_each_of_its_names() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let arca = Arca::new(data.to_str().unwrap());
    let files = model_files(work.path(), 2);
    arca.run(&["versions", "register", "m", files.to_str().unwrap()])
        .ok();
    arca.run(&["aliases", "set", "m", "champion", "1"]).ok();

    // The command, what its JSON holds, and how its table starts.
    type Check = fn(&Value) -> bool;
    let cases: [(&[&str], Check, &str); 5] = [
        (&["models", "list"], |v| names(v) == ["m"], "NAME"),
        (&["models", "get", "m"], |v| v["name"] == "m", "Name"),
        (
            &["versions", "list", "m"],
            |v| v[0]["version"] == 1,
            "VERSION",
        ),
        (
            &["versions", "get", "m", "1"],
            |v| v["version"] == 1,
            "Model",
        ),
        (
            &["aliases", "list", "m"],
            |v| *v == json!({"champion": 1}),
            "ALIAS",
        ),
    ];
    for (command, holds, header) in cases {
        let plain = arca.run(command);
        plain.ok();
        assert!(is_table(&plain.stdout, header), "{command:?}: {plain:?}");
        for flag in [["--output", "json"], ["-o", "json"], ["--format", "json"]] {
            for args in every_place(command, &flag, &[]) {
                let printed = json_of(&arca, &args);
                assert!(holds(&printed), "{args:?} printed {printed}");
            }
        }
        for args in every_place(command, &["--output", "table"], &[]) {
            let out = run(&arca, &args);
            out.ok();
            assert!(is_table(&out.stdout, header), "{args:?}: {out:?}");
        }
    }
}

#[test]
fn artifacts_destination_works_in_every_place() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let elsewhere = work.path().join("files-elsewhere");
    let files = model_files(work.path(), 3);
    let arca = Arca::new(data.to_str().unwrap());
    let flag = ["--artifacts-destination", elsewhere.to_str().unwrap()];

    let registrations = every_place(
        &["versions", "register", "m", files.to_str().unwrap()],
        &flag,
        &[],
    );
    for args in &registrations {
        run(&arca, args).ok();
    }
    let per_version = read_tree(&files).len();
    assert_eq!(
        read_tree(&elsewhere).len(),
        registrations.len() * per_version,
        "every registration wrote its files to --artifacts-destination"
    );
    let default_place = data.join("artifacts");
    assert!(
        !default_place.exists() || read_tree(&default_place).is_empty(),
        "nothing went to the default place"
    );

    for (i, args) in every_place(&["pull", "models:/m/1"], &flag, &[])
        .into_iter()
        .enumerate()
    {
        let dir = work.path().join(format!("pulled-{i}"));
        let mut args = args;
        args.extend(["--output".into(), dir.display().to_string()]);
        run(&arca, &args).ok();
        assert_eq!(read_tree(&dir), read_tree(&files), "{args:?}");
    }
    // Without the flag the files are looked for in the default place, and are not there.
    let dir = work.path().join("pulled-without");
    arca.run(&["pull", "models:/m/1", "--output", dir.to_str().unwrap()])
        .fails(3, "no files");
}

#[test]
fn given_before_and_after_the_command_the_one_after_wins() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let live = data.to_str().unwrap();
    Arca::new(live).run(&["models", "create", "m"]).ok();
    let arca = cli();

    let out = arca.run(&[
        "--tracking-uri",
        DEAD,
        "models",
        "list",
        "--tracking-uri",
        live,
        "-o",
        "json",
    ]);
    assert_eq!(names(&out.json()), ["m"]);
    arca.run(&[
        "--tracking-uri",
        live,
        "models",
        "list",
        "--tracking-uri",
        DEAD,
    ])
    .fails(5, DEAD);

    let table = arca.run(&[
        "--output",
        "json",
        "models",
        "--tracking-uri",
        live,
        "list",
        "--output",
        "table",
    ]);
    table.ok();
    assert!(is_table(&table.stdout, "NAME"), "{table:?}");
    let printed = arca
        .run(&[
            "--output",
            "table",
            "models",
            "list",
            "--tracking-uri",
            live,
            "--format",
            "json",
        ])
        .json();
    assert_eq!(names(&printed), ["m"]);
}

#[test]
fn before_pull_output_is_the_print_style_and_after_it_the_folder() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let files = model_files(work.path(), 4);
    let arca = Arca::new(data.to_str().unwrap());
    arca.run(&["versions", "register", "m", files.to_str().unwrap()])
        .ok();
    let uri = "models:/m/1";
    let folder = |name: &str| work.path().join(name).display().to_string();

    for (style, into) in [
        (["--output", "json"], "a"),
        (["-o", "json"], "b"),
        (["--format", "json"], "c"),
    ] {
        let dir = folder(into);
        let report = arca
            .run(&[style[0], style[1], "pull", uri, "--output", &dir])
            .json();
        assert_eq!(report["output"], dir.as_str(), "{style:?}");
        assert_eq!(report["verified"], true);
        assert_eq!(read_tree(Path::new(&dir)), read_tree(&files), "{style:?}");
    }
    let dir = folder("d");
    let short = arca.run(&["-o", "json", "pull", uri, "-o", &dir]).json();
    assert_eq!(short["output"], dir.as_str());

    let dir = folder("e");
    let table = arca.run(&["pull", uri, "--output", &dir]);
    table.ok();
    assert!(is_table(&table.stdout, "PATH"), "{table:?}");
    assert!(table.stderr.contains("Pulled m version 1"), "{table:?}");

    // After `pull`, --format is its print style, and wins over --output before it.
    let dir = folder("f");
    let table = arca.run(&[
        "--output", "json", "pull", uri, "--output", &dir, "--format", "table",
    ]);
    table.ok();
    assert!(is_table(&table.stdout, "PATH"), "{table:?}");

    // The folder cannot be given before `pull`: it is read as a print style there.
    let dir = folder("g");
    let missing = arca.run(&["--output", "json", "pull", uri]);
    assert_eq!(missing.code, 2, "{missing:?}");
    assert!(
        missing
            .stderr
            .contains("required arguments were not provided:\n  --output <DIR>"),
        "{missing:?}"
    );
    arca.run(&["--output", &dir, "pull", uri, "--output", &dir])
        .fails(2, "invalid value");
    assert!(!Path::new(&dir).exists());
}

/// Runs `arca args` that must be refused at once: a regression that started a server instead
/// fails the test rather than hanging it.
fn refused(args: &[&str]) -> Run {
    Arca::bare().run_within(args, Some(Duration::from_secs(60)))
}

#[test]
fn the_server_refuses_registry_flags_in_either_place() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let data = data.to_str().unwrap();
    let own = ["--port", "0", "--data-dir", data];
    let tracking = "does not take --tracking-uri";
    let output = "`arca server` does not take --output";
    let cases: &[(&[&str], &str)] = &[
        (&["--tracking-uri", DEAD, "server"], tracking),
        (&["server", "--tracking-uri", DEAD], tracking),
        (&["--output", "json", "server"], output),
        (&["-o", "json", "server"], output),
        (&["--format", "json", "server"], output),
        (&["server", "--output", "json"], output),
        (&["server", "-o", "json"], output),
        (&["server", "--format", "json"], output),
        (
            &["--artifacts-destination", data, "server"],
            "put it after: `arca server --artifacts-destination URI`",
        ),
    ];
    for (args, needle) in cases {
        let mut args = args.to_vec();
        args.extend(own);
        refused(&args).fails(2, needle);
    }
    assert!(!Path::new(data).exists(), "no server started");
}

#[test]
fn the_server_keeps_its_own_flags() {
    let work = tempfile::tempdir().unwrap();
    let files_dir = work.path().join("server-files");
    let server = ArcaServer::start_with(&[
        "--host",
        "127.0.0.1",
        "--artifacts-destination",
        files_dir.to_str().unwrap(),
    ]);
    let files = model_files(work.path(), 5);
    Arca::new(&server.url)
        .run(&["versions", "register", "m", files.to_str().unwrap()])
        .ok();
    assert_eq!(
        read_tree(&files_dir).len(),
        read_tree(&files).len(),
        "the server stored the files where its --artifacts-destination says"
    );
    let help = Arca::bare().run(&["server", "--help"]);
    help.ok();
    for flag in ["--host", "--port", "--artifacts-destination", "--data-dir"] {
        assert!(help.stdout.contains(flag), "{flag} in {}", help.stdout);
    }
    for flag in ["--tracking-uri", "--output", "--format", "Global options"] {
        assert!(!help.stdout.contains(flag), "{flag} in {}", help.stdout);
    }
}

#[test]
fn copy_and_completions_take_output_where_it_applies_and_refuse_the_rest() {
    let work = tempfile::tempdir().unwrap();
    let from = work.path().join("from");
    let to = work.path().join("to");
    let (from, to) = (from.to_str().unwrap(), to.to_str().unwrap());
    Arca::new(from).run(&["models", "create", "m"]).ok();

    for args in [
        &["--tracking-uri", DEAD, "copy", "--from", from, "--to", to][..],
        &["copy", "--from", from, "--to", to, "--tracking-uri", DEAD],
    ] {
        refused(args).fails(2, "name the registries with --from and --to");
    }
    for args in [
        &[
            "--artifacts-destination",
            DEAD,
            "copy",
            "--from",
            from,
            "--to",
            to,
        ][..],
        &[
            "copy",
            "--artifacts-destination",
            DEAD,
            "--from",
            from,
            "--to",
            to,
        ],
    ] {
        refused(args).fails(2, "--from-artifacts-destination");
    }
    assert!(!Path::new(to).exists(), "a refused copy writes nothing");

    let report = Arca::bare()
        .run(&[
            "--output",
            "json",
            "copy",
            "--from",
            from,
            "--to",
            to,
            "--dry-run",
        ])
        .json();
    assert_eq!(report["models"][0]["action"], "would_create", "{report}");
    let report = Arca::bare()
        .run(&["-o", "json", "copy", "--from", from, "--to", to])
        .json();
    assert_eq!(report["models"][0]["action"], "created", "{report}");

    for args in [
        &["--output", "json", "completions", "bash"][..],
        &["completions", "bash", "-o", "json"],
        &["--tracking-uri", DEAD, "completions", "bash"],
        &["completions", "--artifacts-destination", DEAD, "bash"],
    ] {
        refused(args).fails(2, "`arca completions` does not take");
    }
}

const HEADING: &str = "Global options (before or after the command):";

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[test]
fn help_lists_the_global_flags_once_and_readably() {
    let arca = Arca::bare();
    let global = ["--tracking-uri <URI>", "--artifacts-destination <URI>"];
    for args in [
        &["--help"][..],
        &["-h"],
        &["models", "--help"],
        &["models", "list", "--help"],
        &["models", "list", "-h"],
        &["versions", "register", "--help"],
        &["aliases", "set", "-h"],
        &["pull", "--help"],
    ] {
        let help = arca.run(args);
        help.ok();
        let text = &help.stdout;
        assert_eq!(count(text, HEADING), 1, "{args:?}");
        for flag in global {
            assert_eq!(count(text, flag), 1, "{flag} in {args:?}:\n{text}");
        }
        if args[0] == "pull" {
            assert_eq!(count(text, "-o, --output <DIR>"), 1, "{text}");
            assert_eq!(count(text, "--format <FORMAT>"), 1, "{text}");
            assert_eq!(count(text, "--output <FORMAT>"), 0, "{text}");
        } else {
            assert_eq!(count(text, "-o, --output <FORMAT>"), 1, "{args:?}:\n{text}");
        }
        // Everything from the global heading on fits a 100-column terminal.
        let section = text.split(HEADING).nth(1).unwrap();
        for line in section.lines().filter(|l| !l.starts_with("Exit codes")) {
            assert!(
                line.chars().count() <= 100,
                "{args:?}: {line:?} is too wide"
            );
        }
    }
    let copy = arca.run(&["copy", "--help"]);
    copy.ok();
    assert_eq!(count(&copy.stdout, "-o, --output <FORMAT>"), 1);
    assert_eq!(count(&copy.stdout, "--tracking-uri"), 0);
}

#[test]
fn completion_scripts_offer_the_global_flags_where_they_are_taken() {
    let arca = Arca::bare();
    let bash = arca.run(&["completions", "bash"]);
    bash.ok();
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("arca.bash");
    std::fs::write(&script, &bash.stdout).unwrap();
    let checked = std::process::Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .expect("bash runs");
    assert!(
        checked.status.success(),
        "bash rejects the script: {}",
        String::from_utf8_lossy(&checked.stderr)
    );

    let fish = arca.run(&["completions", "fish"]);
    fish.ok();
    let lines_for = |cmd: &str| -> Vec<&str> {
        let marker = format!("__fish_arca_using_subcommand {cmd}\"");
        fish.stdout
            .lines()
            .filter(|l| l.contains(&marker))
            .collect()
    };
    let offers = |cmd: &str, flag: &str| lines_for(cmd).iter().any(|l| l.contains(flag));
    for cmd in ["pull", "copy"] {
        assert!(!lines_for(cmd).is_empty(), "fish completes {cmd}");
    }
    assert!(offers("pull", "-l tracking-uri"));
    assert!(offers("copy", "-l output"));
    assert!(!offers("copy", "-l tracking-uri"));
    assert!(!offers("server", "-l tracking-uri"));
    assert!(!offers("server", "-l output"));
    assert!(
        fish.stdout
            .lines()
            .any(|l| l.contains("__fish_arca_needs_command") && l.contains("-l tracking-uri")),
        "before the command too"
    );
    let zsh = arca.run(&["completions", "zsh"]);
    zsh.ok();
    assert!(zsh.stdout.contains("--tracking-uri"));
}
