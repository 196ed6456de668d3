"""Compatibility suite: drive a spawned registry server with the real `mlflow` client.

Target selection (environment):
  ARCA_COMPAT_TARGET   arca (default) | mlflow
  ARCA_COMPAT_BACKEND  sqlite (default) | postgres   (arca only)
  ARCA_BIN             path of the arca binary (default: target/debug/arca)
  ARCA_TEST_PG_URL     cluster used for the postgres backend, e.g.
                       postgres://postgres@127.0.0.1:5432/postgres
  ARCA_COMPAT_ARTIFACTS  local (default) | s3 | gcs | azure: where the server keeps artifacts.
                       s3 creates a fresh bucket on the S3-compatible server named by
                       ARCA_TEST_S3_ENDPOINT / ARCA_TEST_S3_ACCESS_KEY / ARCA_TEST_S3_SECRET_KEY
                       (scripts/test.sh starts s3s-fs) and passes
                       --artifacts-destination s3://<bucket>/artifacts plus the AWS_* variables.
                       gcs creates a bucket in the GCS emulator (ARCA_TEST_GCS_ENDPOINT, the
                       XML API arca's client uses, and ARCA_TEST_GCS_ADMIN_ENDPOINT, the
                       emulator's JSON API) and passes gs://<bucket>/artifacts; azure creates a
                       container in Azurite (ARCA_TEST_AZURE_ENDPOINT, ARCA_TEST_AZURE_ACCOUNT,
                       ARCA_TEST_AZURE_KEY) and passes az://<container>/artifacts, each with the
                       environment variables the README gives for an emulator. Against a real
                       mlflow server they need google-cloud-storage / azure-storage-blob.

`mlflow` runs the real MLflow tracking server from the same venv as pytest, so the
suite can be checked against the behaviour it claims to describe.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
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
from contextlib import contextmanager
from dataclasses import dataclass
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
ARTIFACTS = os.environ.get("ARCA_COMPAT_ARTIFACTS", "local")
S3_REGION = "us-east-1"

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


@dataclass
class Server:
    """The spawned server under test."""

    url: str
    tmp: Path  # the server's own temporary folder (cwd, logs, sqlite db, local artifacts)
    artifact_root: Path | None  # local folder behind the artifact proxy; None for a remote store
    bucket: str | None  # bucket (s3, gcs) or container (azure) holding the artifacts
    artifact_prefix: str  # key prefix of the artifacts in `bucket`


def _s3_settings() -> tuple[str, str, str]:
    missing = [
        k for k in ("ARCA_TEST_S3_ENDPOINT", "ARCA_TEST_S3_ACCESS_KEY", "ARCA_TEST_S3_SECRET_KEY") if not os.environ.get(k)
    ]
    if missing:
        pytest.exit(f"ARCA_COMPAT_ARTIFACTS=s3 needs {', '.join(missing)}", returncode=2)
    return (
        os.environ["ARCA_TEST_S3_ENDPOINT"],
        os.environ["ARCA_TEST_S3_ACCESS_KEY"],
        os.environ["ARCA_TEST_S3_SECRET_KEY"],
    )


def s3_client():
    """A boto3 client for the test S3 server (ARCA_COMPAT_ARTIFACTS=s3 only)."""
    import boto3
    from botocore.config import Config

    endpoint, key, secret = _s3_settings()
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        region_name=S3_REGION,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


def _create_bucket() -> str:
    endpoint = _s3_settings()[0]
    s3 = s3_client()
    bucket = f"compat-{uuid.uuid4().hex[:16]}"
    try:
        s3.create_bucket(Bucket=bucket)
    except Exception as e:  # noqa: BLE001 - any failure here stops the session
        pytest.exit(f"could not create bucket {bucket} at {endpoint}: {e}", returncode=2)
    return bucket


# Azurite's well-known development account (the one object_store assumes for the emulator).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
# Tells object_store's GCS client to send no OAuth token (the emulator takes none).
GCS_EMULATOR_KEY = '{"disable_oauth":true,"client_email":"","private_key":"","private_key_id":""}'


def _env_or_exit(*names: str) -> list[str]:
    missing = [k for k in names if not os.environ.get(k)]
    if missing:
        pytest.exit(f"ARCA_COMPAT_ARTIFACTS={ARTIFACTS} needs {', '.join(missing)}", returncode=2)
    return [os.environ[k].rstrip("/") for k in names]


def _gcs_settings() -> tuple[str, str]:
    """(the XML API endpoint arca's client uses, the emulator's JSON API endpoint)."""
    (endpoint,) = _env_or_exit("ARCA_TEST_GCS_ENDPOINT")
    return endpoint, os.environ.get("ARCA_TEST_GCS_ADMIN_ENDPOINT", endpoint).rstrip("/")


def _azure_settings() -> tuple[str, str, str]:
    (endpoint,) = _env_or_exit("ARCA_TEST_AZURE_ENDPOINT")
    return (
        endpoint,
        os.environ.get("ARCA_TEST_AZURE_ACCOUNT") or AZURITE_ACCOUNT,
        os.environ.get("ARCA_TEST_AZURE_KEY") or AZURITE_KEY,
    )


def gcs_request(method: str, path: str, **kwargs) -> requests.Response:
    """A request to the GCS emulator's JSON API (`path` starts with /storage/v1 or /upload)."""
    return requests.request(method, _gcs_settings()[1] + path, timeout=30, **kwargs)


def azure_request(method: str, path: str, query: dict[str, str] | None = None, body: bytes = b"") -> requests.Response:
    """A Shared Key signed request to Azurite; `path` is /<container>[/<blob>], URL-encoded."""
    endpoint, account, key = _azure_settings()
    query = query or {}
    headers = {"x-ms-date": email.utils.formatdate(usegmt=True), "x-ms-version": "2021-08-06"}
    if method == "PUT" and "restype" not in query:
        headers["x-ms-blob-type"] = "BlockBlob"
    url_path = f"/{account}{path}"  # path-style: the account is the first segment on Azurite
    string_to_sign = "\n".join(
        [method, "", "", str(len(body)) if body else "", "", "", "", "", "", "", "", ""]
        + [f"{k}:{v}" for k, v in sorted(headers.items())]
        + [f"/{account}{url_path}" + "".join(f"\n{k}:{v}" for k, v in sorted(query.items()))]
    )
    signature = base64.b64encode(
        hmac.new(base64.b64decode(key), string_to_sign.encode(), hashlib.sha256).digest()
    ).decode()
    headers["Authorization"] = f"SharedKey {account}:{signature}"
    return requests.request(method, endpoint + url_path, params=query, data=body, headers=headers, timeout=30)


def list_stored_objects() -> list[tuple[str, str]]:
    """(bucket or container, key) of every object in the remote store ARCA_COMPAT_ARTIFACTS names."""
    found = []
    if ARTIFACTS == "s3":
        s3 = s3_client()
        for b in s3.list_buckets()["Buckets"]:
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=b["Name"]):
                found += [(b["Name"], o["Key"]) for o in page.get("Contents", [])]
    elif ARTIFACTS == "gcs":
        for b in gcs_request("GET", "/storage/v1/b").json().get("items", []):
            token = None
            while True:
                page = gcs_request("GET", f"/storage/v1/b/{b['name']}/o", params={"pageToken": token} if token else {}).json()
                found += [(b["name"], o["name"]) for o in page.get("items", [])]
                token = page.get("nextPageToken")
                if not token:
                    break
    elif ARTIFACTS == "azure":
        from xml.etree import ElementTree

        containers = ElementTree.fromstring(azure_request("GET", "/", {"comp": "list"}).content)
        for c in containers.iter("Container"):
            name = c.findtext("Name")
            marker = ""
            while True:
                query = {"restype": "container", "comp": "list"} | ({"marker": marker} if marker else {})
                page = ElementTree.fromstring(azure_request("GET", f"/{name}", query).content)
                found += [(name, b.findtext("Name")) for b in page.iter("Blob")]
                marker = page.findtext("NextMarker") or ""
                if not marker:
                    break
    return found


def _create_gcs_bucket() -> str:
    bucket = f"compat-{uuid.uuid4().hex[:16]}"
    r = gcs_request("POST", "/storage/v1/b", params={"project": "compat"}, json={"name": bucket})
    if r.status_code != 200:
        pytest.exit(f"could not create bucket {bucket} in the GCS emulator: {r.status_code} {r.text}", returncode=2)
    return bucket


def _create_azure_container() -> str:
    container = f"compat-{uuid.uuid4().hex[:16]}"
    r = azure_request("PUT", f"/{container}", {"restype": "container"})
    if r.status_code != 201:
        pytest.exit(f"could not create container {container} in Azurite: {r.status_code} {r.text}", returncode=2)
    return container


def _require_module(module: str, package: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        pytest.exit(f"mlflow server with {ARTIFACTS} artifacts needs {package} in this venv", returncode=2)


AUTH_ADMIN_PASSWORD = "compat-admin-pw"


def _server_command(
    target: str, tmp: Path, port: int, artifacts: str, auth: bool = False
) -> tuple[list[str], dict[str, str], float]:
    """The command that starts a `target` server, its extra environment, and its
    start-up deadline (s). `artifacts` is the --artifacts-destination. With `auth`, Arca runs
    with --auth and MLflow with its basic-auth app, both with the admin `admin` /
    AUTH_ADMIN_PASSWORD."""
    host = ["--host", "127.0.0.1", "--port", str(port)]
    env: dict[str, str] = {}
    if ARTIFACTS == "s3":
        endpoint, key, secret = _s3_settings()
        env = {
            "AWS_ACCESS_KEY_ID": key,
            "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_REGION": S3_REGION,
            "AWS_DEFAULT_REGION": S3_REGION,
        }
        if target == "arca":
            env |= {"AWS_ENDPOINT_URL": endpoint, "AWS_ALLOW_HTTP": "true"}
        else:  # mlflow's boto3 S3 repository reads its endpoint from here
            env |= {"MLFLOW_S3_ENDPOINT_URL": endpoint}
    elif ARTIFACTS == "gcs":
        endpoint, admin = _gcs_settings()
        if target == "arca":
            env = {"GOOGLE_BASE_URL": endpoint, "GOOGLE_SERVICE_ACCOUNT_KEY": GCS_EMULATOR_KEY}
        else:  # google-cloud-storage speaks the JSON API, which the emulator has in full
            _require_module("google.cloud.storage", "google-cloud-storage")
            env = {"STORAGE_EMULATOR_HOST": admin, "GOOGLE_CLOUD_PROJECT": "compat"}
    elif ARTIFACTS == "azure":
        endpoint, account, key = _azure_settings()
        if target == "arca":
            env = {
                "AZURE_STORAGE_USE_EMULATOR": "true",
                "AZURITE_BLOB_STORAGE_URL": endpoint,
                "AZURE_STORAGE_ACCOUNT_NAME": account,
                "AZURE_STORAGE_ACCOUNT_KEY": key,
            }
        else:
            _require_module("azure.storage.blob", "azure-storage-blob")
            env = {
                "AZURE_STORAGE_CONNECTION_STRING": f"DefaultEndpointsProtocol=http;AccountName={account};"
                f"AccountKey={key};BlobEndpoint={endpoint}/{account};"
            }
    if target == "arca":
        binary = os.environ.get("ARCA_BIN") or str(REPO_ROOT / "target" / "debug" / "arca")
        if not Path(binary).exists():
            pytest.exit(f"arca binary not found at {binary}: run `cargo build` first", returncode=2)
        cmd = [binary, "server", *host, "--data-dir", str(tmp / "data"), "--artifacts-destination", artifacts]
        # Webhook receivers in these tests listen on 127.0.0.1 over plain HTTP.
        cmd += ["--webhook-allow-private", "--webhook-allowed-schemes", "http,https"]
        if auth:
            cmd.append("--auth")
            env |= {"ARCA_ADMIN_PASSWORD": AUTH_ADMIN_PASSWORD}
        return cmd, env, 30.0
    if target == "mlflow":
        env |= {"MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS": "true", "MLFLOW_WEBHOOK_ALLOWED_SCHEMES": "http,https"}
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
            artifacts,
        ]
        if auth:
            cmd += ["--app-name", "basic-auth"]
            env |= {"MLFLOW_AUTH_ADMIN_PASSWORD": AUTH_ADMIN_PASSWORD, "MLFLOW_FLASK_SERVER_SECRET_KEY": "compat"}
        return cmd, env, 120.0
    pytest.exit(f"unknown ARCA_COMPAT_TARGET={target!r} (want arca or mlflow)", returncode=2)
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


@contextmanager
def spawn_server(target: str = TARGET, backend: str = BACKEND, auth: bool = False):
    """Start a `target` server (arca or mlflow) on a free port with its own temporary folder,
    database and artifact destination (ARCA_COMPAT_ARTIFACTS), wait until it is healthy, and
    yield it as a `Server`; stop it and remove what it made on exit."""
    if backend not in ("sqlite", "postgres"):
        pytest.exit(f"unknown ARCA_COMPAT_BACKEND={backend!r}", returncode=2)
    if ARTIFACTS not in ("local", "s3", "gcs", "azure"):
        pytest.exit(f"unknown ARCA_COMPAT_ARTIFACTS={ARTIFACTS!r} (want local, s3, gcs or azure)", returncode=2)
    tmp = Path(tempfile.mkdtemp(prefix=f"arca-compat-{target}-")).resolve()
    port = _free_port()
    bucket = None
    artifact_root = None
    prefix = "artifacts"
    try:
        if ARTIFACTS == "s3":
            bucket = _create_bucket()
            destination = f"s3://{bucket}/{prefix}"
        elif ARTIFACTS == "gcs":
            bucket = _create_gcs_bucket()
            destination = f"gs://{bucket}/{prefix}"
        elif ARTIFACTS == "azure":
            bucket = _create_azure_container()
            if target == "arca":
                destination = f"az://{bucket}/{prefix}"
            else:  # MLflow names Azure Blob locations this way only
                account = _azure_settings()[1]
                destination = f"wasbs://{bucket}@{account}.blob.core.windows.net/{prefix}"
        else:
            artifact_root = tmp / "artifacts"
            destination = str(artifact_root)
        cmd, extra_env, deadline_s = _server_command(target, tmp, port, destination, auth)
    except BaseException:  # pytest.exit for a missing binary or S3 server
        shutil.rmtree(tmp, ignore_errors=True)
        raise
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
        if target == "arca" and backend == "postgres":
            pg_db, pg_url = _create_pg_database()
            cmd += ["--backend-store-uri", pg_url]
        log = open(server_log, "wb")
        proc = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **extra_env},
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

    try:
        yield Server(url=url, tmp=tmp, artifact_root=artifact_root, bucket=bucket, artifact_prefix=prefix)
    finally:
        cleanup()


@pytest.fixture(scope="session")
def server():
    with spawn_server() as srv:
        os.environ["MLFLOW_TRACKING_URI"] = srv.url
        os.environ["MLFLOW_REGISTRY_URI"] = srv.url
        yield srv


@pytest.fixture(scope="session")
def server_url(server):
    return server.url


@pytest.fixture(scope="session")
def target():
    """`arca` or `mlflow`: for assertions that only hold on one of them."""
    return TARGET


@pytest.fixture(scope="session")
def artifacts_mode():
    """`local`, `s3`, `gcs` or `azure` (ARCA_COMPAT_ARTIFACTS)."""
    return ARTIFACTS


@pytest.fixture(scope="session")
def stored_artifact(server):
    """read(rel) -> the bytes the server stored at <artifacts destination>/<rel>, or None.

    Looks in the local folder, or in the bucket or container behind the artifact proxy (read
    straight from the S3 server or the emulator), so tests can check where files really land."""

    def read(rel: str) -> bytes | None:
        if server.bucket is None:
            path = server.artifact_root / rel
            return path.read_bytes() if path.is_file() else None
        key = f"{server.artifact_prefix}/{rel}"
        if ARTIFACTS == "gcs":
            r = gcs_request("GET", f"/storage/v1/b/{server.bucket}/o/{urllib.parse.quote(key, safe='')}", params={"alt": "media"})
        elif ARTIFACTS == "azure":
            r = azure_request("GET", f"/{server.bucket}/{urllib.parse.quote(key)}")
        else:
            s3 = s3_client()
            try:
                return s3.get_object(Bucket=server.bucket, Key=key)["Body"].read()
            except s3.exceptions.NoSuchKey:
                return None
        if r.status_code == 404:
            return None
        r.raise_for_status()
        return r.content

    return read


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
    backend = BACKEND if TARGET == "arca" else "sqlite"
    return f"compat target: {TARGET} (backend: {backend}, artifacts: {ARTIFACTS})"


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if exitstatus != 0 and _server_log_tail is not None:
        terminalreporter.section("server log (last 200 lines)")
        terminalreporter.write_line(_server_log_tail)
