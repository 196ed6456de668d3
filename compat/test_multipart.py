"""Large artifacts the way the client moves them with MLflow's multipart switches.

With `MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD` on, a file over
`MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE` is uploaded with `mpu/create`, one PUT per part
straight to the bucket, and `mpu/complete`; with `MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD` on, a
download asks `presigned/` and reads the bucket in ranged chunks. On a local artifact folder
the server answers 501 and the client falls back to plain PUT and GET through the server.
With the switches unset, the client decides from `/api/3.0/mlflow/server-info`.

The client's HTTP calls are recorded (and passed on unchanged) to see which way the bytes went.
"""

import os
import urllib.parse
from pathlib import Path

import mlflow
import mlflow.store.artifact.http_artifact_repo as http_artifact_repo
import mlflow.utils.request_utils as request_utils
import pytest
import requests

MIB = 1024 * 1024
# S3's smallest part but the last; a file of two full parts and a short one.
CHUNK = 5 * MIB
SIZE = 2 * CHUNK + 12_345


@pytest.fixture
def run(client, name):
    eid = client.create_experiment(name)
    return client.create_run(eid).info


@pytest.fixture
def calls(monkeypatch):
    """(kind, method, path, status) of each call: `proxy` to the server's artifact routes,
    `direct` to a presigned URL."""
    seen = []
    proxy = http_artifact_repo.http_request
    put = requests.put
    cloud = request_utils.cloud_storage_http_request

    def record_proxy(host_creds, endpoint, method, *args, **kwargs):
        resp = proxy(host_creds, endpoint, method, *args, **kwargs)
        # e.g. mpu/create/<dir>, presigned/<file>, artifacts/<file>
        route = urllib.parse.urlsplit(host_creds.host + endpoint).path.split("/mlflow-artifacts/", 1)[1]
        seen.append(("proxy", method, route, resp.status_code))
        return resp

    def record_put(url, *args, **kwargs):
        resp = put(url, *args, **kwargs)
        seen.append(("direct", "PUT", url.split("?")[0], resp.status_code))
        return resp

    def record_cloud(method, url, *args, **kwargs):
        resp = cloud(method, url, *args, **kwargs)
        seen.append(("direct", method.upper(), url.split("?")[0], resp.status_code))
        return resp

    monkeypatch.setattr(http_artifact_repo, "http_request", record_proxy)
    monkeypatch.setattr(requests, "put", record_put)
    monkeypatch.setattr(request_utils, "cloud_storage_http_request", record_cloud)
    return seen


@pytest.fixture
def small_thresholds(monkeypatch):
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", str(MIB))
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", str(CHUNK))
    monkeypatch.setenv("MLFLOW_MULTIPART_DOWNLOAD_CHUNK_SIZE", str(2 * MIB))


def _big_file(tmp_path: Path) -> Path:
    src = tmp_path / "weights.bin"
    src.write_bytes(os.urandom(SIZE))
    return src


def _log_and_download(client, run, src: Path, tmp_path: Path) -> None:
    client.log_artifact(run.run_id, str(src), "model")
    (listed,) = client.list_artifacts(run.run_id, "model")
    assert (listed.path, listed.file_size) == ("model/weights.bin", SIZE)
    out = mlflow.artifacts.download_artifacts(
        run_id=run.run_id, artifact_path="model/weights.bin", dst_path=str(tmp_path / "dl")
    )
    assert Path(out).read_bytes() == src.read_bytes()


def _went_direct(calls, stored: str) -> None:
    """The bytes went between the client and the bucket; the server only started, completed and
    signed. `stored` is the file's path below the artifacts destination."""
    proxy = [(m, route, s) for k, m, route, s in calls if k == "proxy"]
    direct = [(m, s) for k, m, path, s in calls if k == "direct" and path.endswith("/" + stored)]
    mpu = [route.split("/")[1] for m, route, s in proxy if route.startswith("mpu/")]
    assert mpu == ["create", "complete"], calls
    assert [c for c in proxy if c[0] == "PUT"] == [], "no plain upload through the server"
    assert direct.count(("PUT", 200)) == 3, calls
    assert ("GET", f"presigned/{stored}", 200) in proxy, calls
    assert ("GET", f"artifacts/{stored}", 200) not in proxy, "no plain download through the server"
    assert ("GET", 206) in direct, calls


def test_large_file_round_trips_with_the_switches_on(
    client, run, calls, small_thresholds, monkeypatch, artifacts_mode, stored_artifact, tmp_path
):
    monkeypatch.setenv("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", "true")
    monkeypatch.setenv("MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD", "true")
    src = _big_file(tmp_path)
    _log_and_download(client, run, src, tmp_path)
    stored = f"{run.experiment_id}/{run.run_id}/artifacts/model/weights.bin"
    assert stored_artifact(stored) == src.read_bytes()

    if artifacts_mode == "s3":
        _went_direct(calls, stored)
        return
    # A local folder and Azure cannot presign, nor can the GCS emulator's credentials (no
    # private key): MLflow's 501, then plain PUT and GET through the server.
    proxy = [(m, route, s) for k, m, route, s in calls if k == "proxy"]
    run_dir = f"{run.experiment_id}/{run.run_id}/artifacts/model"
    assert ("POST", f"mpu/create/{run_dir}", 501) in proxy, calls
    assert ("PUT", f"artifacts/{run_dir}/weights.bin", 200) in proxy, calls
    assert ("GET", f"presigned/{run_dir}/weights.bin", 501) in proxy, calls
    assert ("GET", f"artifacts/{run_dir}/weights.bin", 200) in proxy, calls
    assert [c for c in calls if c[0] == "direct"] == []


def test_server_info_decides_when_the_switches_are_unset(
    client, run, calls, small_thresholds, monkeypatch, artifacts_mode, server_url, tmp_path
):
    monkeypatch.delenv("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", raising=False)
    monkeypatch.delenv("MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD", raising=False)
    info = requests.get(f"{server_url}/api/3.0/mlflow/server-info", timeout=30).json()
    s3 = artifacts_mode == "s3"
    # as MLflow advertises each kind of store: GCS takes direct uploads, not downloads
    want = {"s3": (True, True), "gcs": (True, False)}.get(artifacts_mode, (False, False))
    assert (info["multipart_uploads_enabled"], info["multipart_downloads_enabled"]) == want
    if artifacts_mode == "gcs":
        # The emulator's credentials cannot sign: the client is told 501 and uploads through
        # the server (test_large_file_round_trips_with_the_switches_on checks that path).
        return

    src = _big_file(tmp_path)
    _log_and_download(client, run, src, tmp_path)
    if s3:
        _went_direct(calls, f"{run.experiment_id}/{run.run_id}/artifacts/model/weights.bin")
        return
    # Told there is nothing to gain, the client does not even ask.
    assert [c for c in calls if c[2].startswith(("mpu/", "presigned/"))] == []
    assert [c for c in calls if c[0] == "direct"] == []


def test_an_unsupported_upload_is_refused_the_way_the_client_expects(server_url, artifacts_mode):
    """The client falls back only when the 501's message starts with MLflow's exact text."""
    resp = requests.post(
        f"{server_url}/api/2.0/mlflow-artifacts/mpu/create/0/r/artifacts",
        json={"path": "/tmp/weights.bin", "num_parts": 2},
        timeout=30,
    )
    if artifacts_mode == "s3":
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert [c["part_number"] for c in body["credentials"]] == [1, 2]
        resp = requests.post(
            f"{server_url}/api/2.0/mlflow-artifacts/mpu/abort/0/r/artifacts",
            json={"path": "/tmp/weights.bin", "upload_id": body["upload_id"]},
            timeout=30,
        )
        assert resp.status_code == 200, resp.text
        return
    assert resp.status_code == 501
    assert resp.json()["error_code"] == "NOT_IMPLEMENTED"
    assert resp.json()["message"].startswith(
        "Multipart upload is not supported for the current artifact repository"
    )
    resp = requests.get(f"{server_url}/api/2.0/mlflow-artifacts/presigned/0/r/artifacts/x.bin", timeout=30)
    assert resp.status_code == 501
    assert resp.json()["error_code"] == "NOT_IMPLEMENTED"
