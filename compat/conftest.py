"""Compatibility suite: drive a spawned registry server with the real `mlflow` client.

Target selection (environment):
  ARCA_COMPAT_TARGET   arca (default) | mlflow
  ARCA_COMPAT_BACKEND  sqlite (default) | postgres   (arca only)
  ARCA_BIN             path of the arca binary (default: target/debug/arca)
  ARCA_TEST_PG_URL     cluster used for the postgres backend, e.g.
                       postgres://postgres@127.0.0.1:5432/postgres

`mlflow` runs the real MLflow tracking server from the same venv as pytest, so the
suite can be checked against the behaviour it claims to describe.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest
import requests

# Set before the client reads them. Retries would turn a wrong 5xx answer into minutes
# of backoff; telemetry would try to reach the internet.
os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = "30"
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
os.environ["DO_NOT_TRACK"] = "true"

REPO_ROOT = Path(__file__).resolve().parent.parent
TARGET = os.environ.get("ARCA_COMPAT_TARGET", "arca")
BACKEND = os.environ.get("ARCA_COMPAT_BACKEND", "sqlite")

_server_log_tail: str | None = None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _psql(url: str, sql: str) -> None:
    subprocess.run(
        ["psql", url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _create_pg_database() -> tuple[str, str]:
    """Create a fresh database in the ARCA_TEST_PG_URL cluster.

    Returns (database name, URL of the new database for --backend-store-uri).
    """
    base = os.environ.get("ARCA_TEST_PG_URL")
    if not base:
        pytest.exit("ARCA_COMPAT_BACKEND=postgres needs ARCA_TEST_PG_URL", returncode=2)
    dbname = f"compat_{uuid.uuid4().hex[:16]}"
    try:
        _psql(base, f"create database {dbname}")
    except subprocess.CalledProcessError as e:
        pytest.exit(f"could not create database {dbname}: {e.stderr}", returncode=2)
    parts = urllib.parse.urlsplit(base)
    url = urllib.parse.urlunsplit(("postgresql", parts.netloc, "/" + dbname, parts.query, ""))
    return dbname, url


def _server_command(tmp: Path, port: int) -> tuple[list[str], float]:
    """The command that starts the server under test, and its start-up deadline (s)."""
    host = ["--host", "127.0.0.1", "--port", str(port)]
    if TARGET == "arca":
        binary = os.environ.get("ARCA_BIN") or str(REPO_ROOT / "target" / "debug" / "arca")
        if not Path(binary).exists():
            pytest.exit(f"arca binary not found at {binary}: run `cargo build` first", returncode=2)
        cmd = [binary, "server", *host, "--data-dir", str(tmp / "data")]
        return cmd, 30.0
    if TARGET == "mlflow":
        mlflow_bin = Path(sys.executable).parent / "mlflow"
        cmd = [
            str(mlflow_bin),
            "server",
            *host,
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{tmp}/mlflow.db",
            "--artifacts-destination",
            str(tmp / "artifacts"),
        ]
        return cmd, 120.0
    pytest.exit(f"unknown ARCA_COMPAT_TARGET={TARGET!r} (want arca or mlflow)", returncode=2)
    raise AssertionError("unreachable")


def _log_tail(path: Path, lines: int = 200) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as e:
        return f"<cannot read {path}: {e}>"
    return "\n".join(text.splitlines()[-lines:])


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def server_url():
    if BACKEND not in ("sqlite", "postgres"):
        pytest.exit(f"unknown ARCA_COMPAT_BACKEND={BACKEND!r}", returncode=2)
    tmp = Path(tempfile.mkdtemp(prefix=f"arca-compat-{TARGET}-"))
    port = _free_port()
    cmd, deadline_s = _server_command(tmp, port)
    server_log = tmp / "server.log"
    pg_db = None
    proc = None
    log = None

    def cleanup():
        global _server_log_tail
        if proc is not None:
            _stop(proc)
        if log is not None:
            log.close()
            _server_log_tail = _log_tail(server_log)
        if pg_db is not None:
            try:
                _psql(os.environ["ARCA_TEST_PG_URL"], f"drop database if exists {pg_db} with (force)")
            except (subprocess.SubprocessError, OSError):
                pass
        if os.environ.get("ARCA_COMPAT_KEEP_TMP") != "1":
            shutil.rmtree(tmp, ignore_errors=True)

    url = f"http://127.0.0.1:{port}"
    try:
        if TARGET == "arca" and BACKEND == "postgres":
            pg_db, pg_url = _create_pg_database()
            cmd += ["--backend-store-uri", pg_url]
        log = open(server_log, "wb")
        proc = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=tmp,
            start_new_session=True,  # own process group: mlflow forks workers
        )
        deadline = time.monotonic() + deadline_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with code {proc.returncode} before it was ready")
            try:
                if requests.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server not healthy after {deadline_s:.0f} s")
            time.sleep(0.1)  # poll interval, not a synchronisation delay
    except RuntimeError as e:
        cleanup()
        pytest.exit(
            f"{e}\ncommand: {' '.join(cmd)}\n--- server log ---\n{_server_log_tail}",
            returncode=3,
        )
    except BaseException:
        cleanup()
        raise

    os.environ["MLFLOW_TRACKING_URI"] = url
    os.environ["MLFLOW_REGISTRY_URI"] = url
    try:
        yield url
    finally:
        cleanup()


@pytest.fixture(scope="session")
def client(server_url):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=server_url, registry_uri=server_url)


@pytest.fixture(scope="session")
def api(server_url):
    """Base URL of the 2.0 REST API, for raw `requests` checks."""
    return f"{server_url}/api/2.0/mlflow"


@pytest.fixture
def name(request):
    """A model name unique to this test (and this run)."""
    base = re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name)[:40].strip("-")
    return f"{base}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def new_name():
    """Factory of further unique names."""

    def make(prefix: str = "m") -> str:
        return f"{prefix}-{uuid.uuid4().hex[:10]}"

    return make


def pytest_report_header(config):
    return f"compat target: {TARGET} (backend: {BACKEND if TARGET == 'arca' else 'sqlite'})"


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if exitstatus != 0 and _server_log_tail is not None:
        terminalreporter.section("server log (last 200 lines)")
        terminalreporter.write_line(_server_log_tail)
