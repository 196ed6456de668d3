//! What the CLI tests share: the `arca` binary run as a user runs it, a spawned `arca server`,
//! a spawned real `mlflow server` from the project's venv, and the venv's Python.
//!
//! Every command runs with a clean environment for the variables the CLI reads, so a developer's
//! own `MLFLOW_TRACKING_URI` cannot leak into a test. Servers get ports from the OS and their
//! own temporary folders, and are stopped (with everything they started) when dropped.

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const CLEARED_ENV: &[&str] = &[
    "ARCA_TRACKING_URI",
    "MLFLOW_TRACKING_URI",
    "ARCA_ARTIFACTS_DESTINATION",
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_TRACKING_TOKEN",
    "COLUMNS",
];

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the workspace root")
}

/// `arca <args>`, followed by `--tracking-uri` when given.
pub struct Arca {
    pub tracking_uri: Option<String>,
    env: Vec<(String, String)>,
}

#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        assert_eq!(self.code, 0, "command failed: {}", self.stderr);
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    pub fn ok(&self) -> &Self {
        assert_eq!(
            self.code, 0,
            "command failed\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts a failure with `code` and a one-line error mentioning `needle`.
    pub fn fails(&self, code: i32, needle: &str) -> &Self {
        assert_eq!(
            self.code, code,
            "expected exit code {code}\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        let line = self
            .stderr
            .lines()
            .find(|l| l.starts_with("error: "))
            .unwrap_or_else(|| panic!("no `error:` line in stderr: {}", self.stderr));
        assert!(
            line.contains(needle),
            "error line {line:?} does not mention {needle:?}"
        );
        assert_eq!(
            self.stderr
                .lines()
                .filter(|l| l.starts_with("error"))
                .count(),
            1,
            "one error line: {}",
            self.stderr
        );
        self
    }
}

impl Arca {
    pub fn new(tracking_uri: impl Into<String>) -> Arca {
        Arca {
            tracking_uri: Some(tracking_uri.into()),
            env: Vec::new(),
        }
    }

    pub fn bare() -> Arca {
        Arca {
            tracking_uri: None,
            env: Vec::new(),
        }
    }

    pub fn env(mut self, key: &str, value: &str) -> Arca {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_within(args, None)
    }

    /// `run` for a command that must end by itself, such as an `arca server` that ought to refuse
    /// its arguments: past `limit` it is killed and the test fails instead of hanging.
    pub fn run_within(&self, args: &[&str], limit: Option<Duration>) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_arca"));
        cmd.args(args);
        // Global flags may follow the subcommand, as users type them.
        if let Some(uri) = &self.tracking_uri
            && !args.contains(&"--tracking-uri")
            && !matches!(args.first(), Some(&"copy") | Some(&"completions"))
        {
            cmd.args(["--tracking-uri", uri]);
        }
        for key in CLEARED_ENV {
            cmd.env_remove(key);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd.stdin(Stdio::null());
        let Output {
            status,
            stdout,
            stderr,
        } = match limit {
            None => cmd.output().expect("arca runs"),
            Some(limit) => output_within(&mut cmd, limit, args),
        };
        Run {
            code: status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let mut args = args.to_vec();
        if !args.contains(&"--format") && args.first() != Some(&"pull") {
            args.extend(["--output", "json"]);
        }
        self.run(&args).json()
    }
}

fn output_within(cmd: &mut Command, limit: Duration, args: &[&str]) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("arca runs");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`arca {}` still running after {limit:?}", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(20)); // poll interval
    };
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// A child process in its own process group; dropping it stops the group.
pub struct Spawned {
    child: Child,
}

impl Spawned {
    pub fn spawn(cmd: &mut Command) -> Spawned {
        let child = cmd.process_group(0).spawn().expect("the server starts");
        Spawned { child }
    }

    /// The child's standard output, when it was piped and is not taken yet.
    pub fn take_stdout(&mut self) -> Option<std::process::ChildStdout> {
        self.child.stdout.take()
    }

    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.exited().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50)); // poll interval
        }
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

/// `arca server` on a free port with its own data directory.
pub struct ArcaServer {
    pub url: String,
    pub dir: tempfile::TempDir,
    _process: Spawned,
}

impl ArcaServer {
    pub fn start() -> ArcaServer {
        ArcaServer::start_with(&[])
    }

    /// `arca server` with `extra` flags after the ones every test server gets.
    pub fn start_with(extra: &[&str]) -> ArcaServer {
        ArcaServer::start_in(tempfile::tempdir().unwrap(), extra, &[])
    }

    /// `arca server` on `dir/data` (which may already hold a store) with `extra` flags and
    /// environment.
    pub fn start_in(dir: tempfile::TempDir, extra: &[&str], env: &[(&str, &str)]) -> ArcaServer {
        let mut process = Spawned::spawn(
            Command::new(env!("CARGO_BIN_EXE_arca"))
                .args(["server", "--port", "0", "--data-dir"])
                .arg(dir.path().join("data"))
                .args(extra)
                .envs(env.iter().copied())
                .env("ARCA_LOG", "info")
                .env("NO_COLOR", "1")
                .env_remove("ARCA_BACKEND_STORE_URI")
                .env_remove("ARCA_ARTIFACTS_DESTINATION")
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit()),
        );
        let stdout = process.take_stdout().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let url = loop {
            let line = lines
                .next()
                .expect("arca server exited before it listened")
                .unwrap();
            if let Some(rest) = line.split("listening on ").nth(1) {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
        };
        // Keep draining the log so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines.by_ref() {});
        ArcaServer {
            url,
            dir,
            _process: process,
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether `GET <url>/health` answers 200.
fn healthy(host_port: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect(host_port) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    if stream
        .write_all(format!("GET /health HTTP/1.0\r\nHost: {host_port}\r\n\r\n").as_bytes())
        .is_err()
    {
        return false;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.starts_with("HTTP/1.1 200") || response.starts_with("HTTP/1.0 200")
}

/// The project's venv (scripts/test.sh creates it) or, when it is missing, `None` after saying
/// why; with `ARCA_REQUIRE_MLFLOW=1`, as in CI, a missing venv fails the test instead.
pub fn venv() -> Option<PathBuf> {
    let venv = workspace_root().join(".venv");
    if venv.join("bin/mlflow").exists() && venv.join("bin/python").exists() {
        return Some(venv);
    }
    assert!(
        std::env::var("ARCA_REQUIRE_MLFLOW").as_deref() != Ok("1"),
        "ARCA_REQUIRE_MLFLOW=1 but {} has no mlflow: run scripts/test.sh, which creates it",
        venv.display()
    );
    eprintln!(
        "skipped: {} has no mlflow (scripts/test.sh creates it); set ARCA_REQUIRE_MLFLOW=1 to \
         make this a failure",
        venv.display()
    );
    None
}

/// Environment for the `mlflow` client and server in tests: no telemetry, and no retries that
/// would turn a wrong answer into minutes of back-off.
pub fn mlflow_env(cmd: &mut Command) -> &mut Command {
    cmd.env("MLFLOW_DISABLE_TELEMETRY", "true")
        .env("DO_NOT_TRACK", "true")
        .env("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        .env("MLFLOW_HTTP_REQUEST_TIMEOUT", "60")
        .env("PYTHONUNBUFFERED", "1")
        .env_remove("MLFLOW_TRACKING_URI")
        .env_remove("MLFLOW_REGISTRY_URI")
}

/// A real `mlflow server` (SQLite store, artifacts served through its proxy).
pub struct MlflowServer {
    pub url: String,
    pub dir: tempfile::TempDir,
    _process: Spawned,
}

impl MlflowServer {
    pub fn start(venv: &Path) -> MlflowServer {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("mlflow.log")).unwrap();
        let mut process = Spawned::spawn(
            mlflow_env(&mut Command::new(venv.join("bin/mlflow")))
                .args(["server", "--host", "127.0.0.1", "--port", &port.to_string()])
                .args(["--workers", "1", "--backend-store-uri"])
                .arg(format!(
                    "sqlite:///{}",
                    dir.path().join("mlflow.db").display()
                ))
                .arg("--artifacts-destination")
                .arg(dir.path().join("artifacts"))
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log),
        );
        let host_port = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(120);
        while !healthy(&host_port) {
            let log = || std::fs::read_to_string(dir.path().join("mlflow.log")).unwrap_or_default();
            if let Some(status) = process.exited() {
                panic!(
                    "mlflow server exited ({status}) before it was healthy:\n{}",
                    log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "mlflow server not healthy after 120 s:\n{}",
                log()
            );
            std::thread::sleep(Duration::from_millis(200)); // poll interval
        }
        MlflowServer {
            url: format!("http://{host_port}"),
            dir,
            _process: process,
        }
    }
}

/// Runs a Python snippet with the venv's interpreter against `tracking_uri`; returns stdout.
pub fn python(venv: &Path, tracking_uri: &str, script: &str, args: &[&str]) -> String {
    let out = mlflow_env(&mut Command::new(venv.join("bin/python")))
        .arg("-c")
        .arg(script)
        .args(args)
        .env("MLFLOW_TRACKING_URI", tracking_uri)
        .stdin(Stdio::null())
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "python failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A small model folder: a text file, a nested binary file. Returns the folder.
pub fn model_files(root: &Path, seed: u8) -> PathBuf {
    let dir = root.join(format!("model-{seed}"));
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::write(
        dir.join("MLmodel"),
        format!("flavors: {{}}\nseed: {seed}\n"),
    )
    .unwrap();
    let weights: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(31) as u8) ^ seed)
        .collect();
    std::fs::write(dir.join("data/weights.bin"), weights).unwrap();
    dir
}

/// Every file below `dir`, as (relative path, bytes), sorted.
pub fn read_tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}
