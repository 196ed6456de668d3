//! PostgreSQL and the object store going away under a running server, and coming back. Each
//! test starts private instances (a PostgreSQL cluster, an s3s-fs) that it may stop without
//! touching the shared ones of the test command.

use super::{addr, get, request, upload_head, wait_until};
use crate::ServerProcess;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A path from the environment that a service test needs; `None` (the test is skipped) unless
/// the test command set `ARCA_REQUIRE_<require>=1`, which makes its absence a failure.
fn needed(var: &str, require: &str) -> Option<PathBuf> {
    match std::env::var_os(var) {
        Some(path) if Path::new(&path).exists() => Some(PathBuf::from(path)),
        _ => {
            assert!(
                std::env::var(format!("ARCA_REQUIRE_{require}")).as_deref() != Ok("1"),
                "ARCA_REQUIRE_{require}=1 but {var} does not name an existing path"
            );
            eprintln!("skipped: {var} is not set (scripts/test.sh sets it)");
            None
        }
    }
}

/// A PostgreSQL cluster of this test's own, on a port of its own, that it can stop and start.
struct PrivatePostgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

impl PrivatePostgres {
    fn start(bin: PathBuf) -> PrivatePostgres {
        let dir = tempfile::tempdir().unwrap();
        let pg = PrivatePostgres {
            bin,
            port: free_port(),
            dir,
        };
        if pg.as_root() {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(pg.dir.path(), std::fs::Permissions::from_mode(0o755))
                .unwrap();
            assert!(
                Command::new("chown")
                    .args(["postgres:postgres"])
                    .arg(pg.dir.path())
                    .status()
                    .unwrap()
                    .success()
            );
        }
        let data = pg.dir.path().join("data");
        pg.run(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
            ],
        );
        pg.up();
        pg
    }

    fn as_root(&self) -> bool {
        // SAFETY: geteuid has no preconditions.
        unsafe { libc::geteuid() == 0 }
    }

    /// Runs a PostgreSQL program, as the `postgres` user when we are root (initdb refuses root).
    fn run(&self, program: &str, args: &[&str]) {
        let exe = self.bin.join(program);
        let mut cmd = if self.as_root() {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(exe);
            cmd
        } else {
            Command::new(exe)
        };
        let out = cmd.args(args).current_dir("/").output().unwrap();
        assert!(
            out.status.success(),
            "{program} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn up(&self) {
        let dir = self.dir.path().display();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &format!("{dir}/data"),
                "-l",
                &format!("{dir}/pg.log"),
                "-w",
                "-t",
                "30",
                "start",
                "-o",
                &format!(
                    "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={dir} \
                     -c fsync=off",
                    self.port
                ),
            ],
        );
    }

    fn down(&self) {
        let data = self.dir.path().join("data");
        self.run(
            "pg_ctl",
            &["-D", data.to_str().unwrap(), "-m", "fast", "-w", "stop"],
        );
    }

    fn url(&self) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        if data.join("postmaster.pid").exists() {
            let _ = std::panic::catch_unwind(|| self.down());
        }
    }
}

/// The real mlflow client creating models in a loop until `stop` exists, printing each name
/// the server acknowledged; its retries (the default count, with the server's Retry-After)
/// carry it through the outage.
const MLFLOW_LOAD: &str = r#"
import os, sys
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
client = MlflowClient()
prefix, stop = sys.argv[1], sys.argv[2]
i = 0
while not os.path.exists(stop):
    name = f"{prefix}-{i}"
    try:
        client.create_registered_model(name)
        print("ACK", name, flush=True)
    except MlflowException as e:
        print("FAIL", name, e.error_code, str(e)[:200].replace("\n", " "), flush=True)
    i += 1
print("DONE", flush=True)
"#;

/// The workspace's venv with the real mlflow (scripts/test.sh creates it).
fn venv() -> Option<PathBuf> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv");
    if venv.join("bin/python").exists() {
        return Some(venv);
    }
    assert!(
        std::env::var("ARCA_REQUIRE_MLFLOW").as_deref() != Ok("1"),
        "ARCA_REQUIRE_MLFLOW=1 but {} has no python: run scripts/test.sh",
        venv.display()
    );
    eprintln!(
        "skipped: {} has no mlflow (scripts/test.sh creates it)",
        venv.display()
    );
    None
}

#[test]
#[ignore = "needs PostgreSQL's programs (ARCA_TEST_PGBIN) and the mlflow venv (.venv): run ./scripts/test.sh"]
fn postgres_stopped_and_restarted_under_mlflow_load_answers_503_then_recovers_losing_nothing() {
    let (Some(bin), Some(venv)) = (needed("ARCA_TEST_PGBIN", "PG"), venv()) else {
        return;
    };
    let pg = PrivatePostgres::start(bin);
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(
        dir.path(),
        &["--backend-store-uri", &pg.url(), "--store-timeout", "1"],
    );
    let addr = addr(&server);
    let stop = dir.path().join("stop");
    let mut load: Child = Command::new(venv.join("bin/python"))
        .args(["-c", MLFLOW_LOAD, "outage"])
        .arg(&stop)
        .env("MLFLOW_TRACKING_URI", &server.base)
        .env("MLFLOW_DISABLE_TELEMETRY", "true")
        .env("DO_NOT_TRACK", "true")
        .env("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, lines) = std::sync::mpsc::channel::<String>();
    let stdout = load.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut seen: Vec<String> = Vec::new();
    let wait_for_acks = |count: usize, seen: &mut Vec<String>| {
        let deadline = Instant::now() + Duration::from_secs(60);
        let acked = |seen: &Vec<String>| seen.iter().filter(|l| l.starts_with("ACK")).count();
        let target = acked(seen) + count;
        while acked(seen) < target {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) => seen.push(line),
                Err(_) => panic!("the mlflow client acknowledged fewer than {target}: {seen:?}"),
            }
        }
    };
    wait_for_acks(10, &mut seen);

    pg.down();
    let stopped = Instant::now();
    let (status, body) = get(&addr, "/api/2.0/mlflow/registered-models/get?name=outage-0");
    let failed_in = stopped.elapsed();
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("TEMPORARILY_UNAVAILABLE"), "{body}");
    assert!(
        failed_in < Duration::from_secs(5),
        "a read took {failed_in:?} to fail with the database down"
    );
    assert_eq!(get(&addr, "/health"), (200, "OK".to_owned()));
    // The outage lasts until readiness has seen it twice (each check waits up to 1 s).
    for _ in 0..2 {
        let (status, body) = get(&addr, "/ready");
        assert_eq!(status, 503, "{body}");
        assert!(body.contains("metadata database"), "{body}");
    }

    pg.up();
    let restarted = Instant::now();
    wait_until(
        Duration::from_secs(20),
        "ready after PostgreSQL returned",
        || get(&addr, "/ready").0 == 200,
    );
    let recovered_in = restarted.elapsed();
    eprintln!("recovered {recovered_in:?} after PostgreSQL accepted connections again");
    wait_for_acks(10, &mut seen);
    std::fs::write(&stop, b"").unwrap();
    assert!(load.wait().unwrap().success());
    seen.extend(lines.try_iter());

    // The client met the outage: some of its creates were answered 503 and retried.
    let (_, metrics) = get(&addr, "/metrics");
    let refused: u64 = metrics
        .lines()
        .filter(|l| l.contains("registered-models/create") && l.contains("status=\"503\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert!(
        refused > 0,
        "no create was answered 503 during the outage:\n{metrics}"
    );
    let failures: Vec<&String> = seen.iter().filter(|l| l.starts_with("FAIL")).collect();
    assert!(
        failures.is_empty(),
        "the client's retries did not carry it through: {failures:?}"
    );
    let acked: Vec<&str> = seen.iter().filter_map(|l| l.strip_prefix("ACK ")).collect();
    for name in &acked {
        let (status, body) = get(
            &addr,
            &format!("/api/2.0/mlflow/registered-models/get?name={name}"),
        );
        assert_eq!(status, 200, "acknowledged {name} is lost: {body}");
    }
    eprintln!(
        "{} models acknowledged across the outage ({refused} creates answered 503 and \
         retried), all present",
        acked.len()
    );
}

/// An s3s-fs of this test's own, which it stops and starts again on the same port and folder.
struct PrivateS3 {
    bin: PathBuf,
    data: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

impl PrivateS3 {
    fn start(bin: PathBuf) -> PrivateS3 {
        let data = tempfile::tempdir().unwrap();
        std::fs::create_dir(data.path().join("models")).unwrap();
        let mut s3 = PrivateS3 {
            bin,
            data,
            port: free_port(),
            child: None,
        };
        s3.up();
        s3
    }

    fn up(&mut self) {
        let child = Command::new(&self.bin)
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--access-key", "arcatest", "--secret-key", "arcatestsecret"])
            .arg(self.data.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let port = self.port;
        wait_until(Duration::from_secs(10), "s3s-fs listening", || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
    }

    fn down(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateS3 {
    fn drop(&mut self) {
        self.down();
    }
}

#[test]
#[ignore = "needs s3s-fs (ARCA_TEST_S3S_BIN): run ./scripts/test.sh"]
fn the_object_store_stopped_and_restarted_answers_503_then_recovers() {
    let Some(bin) = needed("ARCA_TEST_S3S_BIN", "S3") else {
        return;
    };
    let mut s3 = PrivateS3::start(bin);
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_arca"));
    cmd.args(["server", "--port", "0"])
        .args(["--artifacts-destination", "s3://models/arca"])
        .env("AWS_ACCESS_KEY_ID", "arcatest")
        .env("AWS_SECRET_ACCESS_KEY", "arcatestsecret")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{}", s3.port));
    let server = ServerProcess::spawn(cmd, dir.path());
    let addr = addr(&server);
    let file = "/api/2.0/mlflow-artifacts/artifacts/0/s3/a.bin";
    let (status, body) = request(&addr, &upload_head("0/s3/a.bin", 5), b"first").unwrap();
    assert_eq!(status, 200, "{body}");

    s3.down();
    let stopped = Instant::now();
    let (status, body) = request(&addr, &upload_head("0/s3/b.bin", 6), b"second").unwrap();
    let failed_in = stopped.elapsed();
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("TEMPORARILY_UNAVAILABLE"), "{body}");
    assert!(
        failed_in < Duration::from_secs(12),
        "an upload took {failed_in:?} to fail with the store down"
    );
    assert_eq!(get(&addr, file).0, 503);
    let (status, body) = get(&addr, "/ready");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("artifact store"), "{body}");

    s3.up();
    wait_until(
        Duration::from_secs(20),
        "ready after s3s-fs returned",
        || get(&addr, "/ready").0 == 200,
    );
    assert_eq!(get(&addr, file), (200, "first".to_owned()));
    let (status, body) = request(&addr, &upload_head("0/s3/b.bin", 6), b"second").unwrap();
    assert_eq!(status, 200, "{body}");
}
