//! Slow, stalled and hostile clients, a database or object store that goes away, a read-only
//! artifact folder, and SIGTERM in the middle of uploads, each against the real binary with
//! short timeouts given as flags.

mod dependencies;

use super::ServerProcess;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Polls `done` until it holds, failing with `what` after `within`.
fn wait_until(within: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn addr(server: &ServerProcess) -> String {
    server.base.trim_start_matches("http://").to_owned()
}

/// One request on a connection of its own; the status and body of the answer.
fn request(addr: &str, head: &str, body: &[u8]) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    read_answer(&mut stream)
}

fn read_answer(stream: &mut TcpStream) -> std::io::Result<(u16, String)> {
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no HTTP answer: {text:?}")))?;
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    Ok((status, body))
}

fn get(addr: &str, path: &str) -> (u16, String) {
    request(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        b"",
    )
    .unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

fn upload_head(path: &str, len: usize) -> String {
    format!(
        "PUT /api/2.0/mlflow-artifacts/artifacts/{path} HTTP/1.1\r\nHost: x\r\n\
         Connection: close\r\nContent-Length: {len}\r\n\r\n"
    )
}

/// Whether the server has closed `stream` (end of file, a reset, or an answer it then closes).
fn closed_by_server(stream: &mut TcpStream) -> bool {
    stream.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 512];
    match stream.read(&mut buf) {
        Ok(_) => true,
        Err(e) if e.kind() == ErrorKind::WouldBlock => false,
        Err(_) => true,
    }
}

/// Every file under `root`, as paths relative to it.
fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.map_while(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                found.push(path.strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    found.sort();
    found
}

/// The soft open-file limit of this test process, raised towards `wanted` (the attack needs
/// more sockets than the server under attack may have).
fn raise_own_open_files(wanted: u64) -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed to them.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        let target = wanted.min(limit.rlim_max);
        if limit.rlim_cur < target {
            limit.rlim_cur = target;
            assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
        }
    }
    limit.rlim_cur
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

#[test]
fn slow_connections_under_ulimit_1024_leave_health_answered_and_are_closed() {
    const SLOW: usize = 1_100;
    assert!(
        raise_own_open_files(SLOW as u64 + 200) >= SLOW as u64 + 100,
        "this test needs a hard open-file limit above {SLOW}"
    );
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new("sh");
    cmd.args(["-c", r#"ulimit -n 1024 && exec "$0" "$@""#])
        .arg(env!("CARGO_BIN_EXE_arca"))
        .args(["server", "--port", "0", "--header-read-timeout", "3"]);
    let server = ServerProcess::spawn(cmd, dir.path());
    let addr = addr(&server);

    let mut slow: Vec<TcpStream> = (0..SLOW)
        .map(|i| {
            let mut s = TcpStream::connect(&addr)
                .unwrap_or_else(|e| panic!("slow connection {i} was refused: {e}"));
            s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n").unwrap();
            s
        })
        .collect();
    let opened = Instant::now();

    let asked = Instant::now();
    assert_eq!(get(&addr, "/health"), (200, "OK".to_owned()));
    let answered_in = asked.elapsed();
    assert!(
        answered_in < Duration::from_secs(2),
        "/health took {answered_in:?} with {SLOW} slow connections open"
    );
    let fds = open_fds(server.child.id());
    assert!(fds < 1024, "the server holds {fds} file descriptors");

    wait_until(
        Duration::from_secs(20),
        "every slow connection closed by the server",
        || slow.iter_mut().all(closed_by_server),
    );
    let closed_after = opened.elapsed();
    assert!(
        closed_after >= Duration::from_secs(2),
        "slow connections were closed after {closed_after:?}, before the 3 s head timeout \
         could have run out for most of them"
    );
    assert_eq!(get(&addr, "/health"), (200, "OK".to_owned()));
}

#[test]
fn a_stalled_upload_is_dropped_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &["--body-read-timeout", "1"]);
    let addr = addr(&server);
    let artifacts = dir.path().join("arca-data/artifacts");

    let mut stream = TcpStream::connect(&addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream
        .write_all(upload_head("0/stalled/model.bin", 10 << 20).as_bytes())
        .unwrap();
    stream.write_all(&vec![7u8; 256 * 1024]).unwrap();
    let stalled = Instant::now();
    let (status, body) = read_answer(&mut stream).expect("the server answers the stalled upload");
    let after = stalled.elapsed();
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("nothing was stored"), "{body}");
    assert!(
        after >= Duration::from_millis(900) && after < Duration::from_secs(10),
        "the stalled upload was cut after {after:?}; the body timeout is 1 s"
    );
    assert_eq!(
        get(
            &addr,
            "/api/2.0/mlflow-artifacts/artifacts/0/stalled/model.bin"
        )
        .0,
        404
    );
    assert_eq!(files_under(&artifacts), Vec::<PathBuf>::new());

    // A client that keeps up is not affected.
    let (status, body) = request(&addr, &upload_head("0/steady/model.bin", 5), b"hello").unwrap();
    assert_eq!(status, 200, "{body}");
}

#[test]
fn sigterm_lets_a_running_upload_finish_and_cuts_a_stalled_one_leaving_nothing_partial() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &["--shutdown-grace", "5"]);
    let addr = addr(&server);
    let artifacts = dir.path().join("arca-data/artifacts");
    // Staging writes whole 8 MiB parts: past one, each upload has a staged file to watch for.
    const HALF: usize = 9 << 20;

    let mut finishing = TcpStream::connect(&addr).unwrap();
    let mut cut = TcpStream::connect(&addr).unwrap();
    for (stream, path) in [
        (&mut finishing, "0/a/model.bin"),
        (&mut cut, "0/b/model.bin"),
    ] {
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        stream
            .write_all(upload_head(path, 2 * HALF).as_bytes())
            .unwrap();
        stream.write_all(&vec![1u8; HALF]).unwrap();
    }
    wait_until(Duration::from_secs(10), "both uploads staged", || {
        files_under(&artifacts).len() == 2
    });

    server.signal("-TERM");
    server.wait_for_log("stopped accepting", Duration::from_secs(10));
    assert!(
        TcpStream::connect(&addr).is_err(),
        "a new connection was accepted after SIGTERM"
    );
    finishing.write_all(&vec![2u8; HALF]).unwrap();
    let (status, body) = read_answer(&mut finishing).unwrap();
    assert_eq!(status, 200, "{body}");

    let mut server = server;
    let stopping = Instant::now();
    let exit = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            stopping.elapsed() < Duration::from_secs(15),
            "the server did not exit after its 5 s grace period"
        );
        std::thread::sleep(Duration::from_millis(25));
    };
    assert!(exit.success(), "{exit:?}");
    assert!(closed_by_server(&mut cut));
    assert_eq!(
        files_under(&artifacts),
        vec![PathBuf::from("0/a/model.bin")],
        "the cut upload left something behind"
    );
    let stored = std::fs::read(artifacts.join("0/a/model.bin")).unwrap();
    assert_eq!(stored.len(), 2 * HALF);
}

#[test]
fn a_read_only_artifact_folder_gives_a_clear_error_and_records_no_version() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("arca-data");
    let artifacts = data.join("artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    // Root writes through any permission bits, so as root the server runs as `nobody`.
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_arca"));
    if root {
        // `nobody` is 65534 on Linux. Set on the command itself (not through `runuser`), the
        // child is the server, so dropping the ServerProcess stops it.
        use std::os::unix::process::CommandExt;
        let status = Command::new("chown")
            .args(["-R", "65534"])
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(status.success());
        cmd.uid(65534).gid(65534);
    }
    cmd.args(["server", "--port", "0"]);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let server = ServerProcess::spawn(cmd, dir.path());
    std::fs::set_permissions(&artifacts, std::fs::Permissions::from_mode(0o555)).unwrap();
    let addr = addr(&server);

    let (status, body) = request(&addr, &upload_head("0/ro/model.pkl", 5), b"hello").unwrap();
    assert_eq!(status, 507, "{body}");
    assert!(body.contains("read-only"), "{body}");

    // `arca versions register` uploads the files first and creates the version only then.
    let model = dir.path().join("model");
    std::fs::create_dir_all(&model).unwrap();
    std::fs::write(model.join("model.pkl"), b"weights").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_arca"))
        .args(["versions", "register", "ro-model"])
        .arg(&model)
        .args(["--tracking-uri", &server.base])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("read-only"), "{stderr}");
    let (status, body) = get(
        &addr,
        "/api/2.0/mlflow/model-versions/search?filter=name%3D%27ro-model%27",
    );
    assert_eq!(status, 200, "{body}");
    assert!(
        !body.contains("\"version\""),
        "a version was recorded: {body}"
    );
    assert_eq!(files_under(&artifacts), Vec::<PathBuf>::new());
    std::fs::set_permissions(&artifacts, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (status, body) = request(&addr, &upload_head("0/ro/model.pkl", 5), b"hello").unwrap();
    assert_eq!(
        status, 200,
        "once writable again, without a restart: {body}"
    );
}

#[test]
fn idle_connections_are_closed_but_a_slowly_read_download_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(
        dir.path(),
        &["--idle-timeout", "1", "--header-read-timeout", "1"],
    );
    let addr = addr(&server);
    const SIZE: usize = 16 << 20;
    let (status, body) = request(
        &addr,
        &upload_head("0/big/model.bin", SIZE),
        &vec![3u8; SIZE],
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");

    // Kept alive after an answer, then silent: closed once the idle timeout has passed.
    let mut idle = TcpStream::connect(&addr).unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut answer = [0u8; 256];
    assert!(idle.read(&mut answer).unwrap() > 0);
    let answered = Instant::now();
    let mut rest = Vec::new();
    idle.read_to_end(&mut rest).unwrap();
    let closed_after = answered.elapsed();
    assert!(
        closed_after >= Duration::from_millis(900) && closed_after < Duration::from_secs(10),
        "an idle connection was closed after {closed_after:?}; the idle timeout is 1 s"
    );

    // A download read slowly keeps its request in flight: no idle or head timeout applies.
    let mut download = TcpStream::connect(&addr).unwrap();
    download
        .write_all(
            b"GET /api/2.0/mlflow-artifacts/artifacts/0/big/model.bin HTTP/1.1\r\n\
              Host: x\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
    download
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut first = vec![0u8; 64 * 1024];
    let n = download.read(&mut first).unwrap();
    assert!(n > 0);
    let paused = Instant::now();
    // Three idle timeouts without reading, while the server's writes wait on a full socket.
    wait_until(Duration::from_secs(10), "a pause of 3 s", || {
        paused.elapsed() >= Duration::from_secs(3)
    });
    let mut all = first[..n].to_vec();
    download.read_to_end(&mut all).unwrap();
    let body_len = all.len() - (all.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4);
    assert_eq!(body_len, SIZE, "the download was cut");
}

#[test]
fn an_upload_dripping_below_the_minimum_rate_is_cut_though_it_never_stalls() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(
        dir.path(),
        &["--body-read-timeout", "1", "--body-min-rate", "1000"],
    );
    let addr = addr(&server);
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    stream
        .write_all(upload_head("0/drip/model.bin", 100_000).as_bytes())
        .unwrap();
    // 10 bytes every 100 ms: never a second without a byte, but 100 B/s, a tenth of the minimum.
    let started = Instant::now();
    let mut answer = Vec::new();
    while answer.is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "a body at 100 B/s was not cut"
        );
        if stream.write_all(&[5u8; 10]).is_err() {
            break;
        }
        let mut buf = [0u8; 1024];
        match stream.read(&mut buf) {
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    let cut_after = started.elapsed();
    assert!(
        cut_after >= Duration::from_millis(900),
        "cut after {cut_after:?}, inside the 1 s of grace"
    );
    let text = String::from_utf8_lossy(&answer);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 400"),
        "{text}"
    );
    assert_eq!(
        get(
            &addr,
            "/api/2.0/mlflow-artifacts/artifacts/0/drip/model.bin"
        )
        .0,
        404
    );
    assert_eq!(
        files_under(&dir.path().join("arca-data/artifacts")),
        Vec::<PathBuf>::new()
    );
}
