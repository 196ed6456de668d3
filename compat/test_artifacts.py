"""Run artifacts through the client, and the mlflow-artifacts proxy over raw HTTP."""

import http.client
import os
import urllib.parse
import uuid
from pathlib import Path

import mlflow
import pytest
import requests

TIMEOUT = 30


@pytest.fixture
def run_id(client, name):
    eid = client.create_experiment(name)
    return client.create_run(eid).info.run_id


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------- through the client


def test_log_list_download_artifact(client, run_id, tmp_path):
    src = tmp_path / "notes.txt"
    src.write_bytes(b"hello artifact\n")
    blob = tmp_path / "blob.bin"
    blob.write_bytes(bytes(range(256)) * 64)

    client.log_artifact(run_id, str(src))
    client.log_artifact(run_id, str(blob), "extra")
    client.log_artifact(run_id, str(src), "extra/deeper")

    top = client.list_artifacts(run_id)
    assert [(f.path, f.is_dir) for f in top] == [("extra", True), ("notes.txt", False)]
    assert top[1].file_size == len(b"hello artifact\n")
    assert top[0].file_size is None

    extra = client.list_artifacts(run_id, "extra")
    # the client reports paths relative to the run's artifact root
    assert [(f.path, f.is_dir, f.file_size) for f in extra] == [
        ("extra/blob.bin", False, 256 * 64),
        ("extra/deeper", True, None),
    ]
    assert [f.path for f in client.list_artifacts(run_id, "extra/deeper")] == ["extra/deeper/notes.txt"]
    assert client.list_artifacts(run_id, "nosuch") == []

    out = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="extra/blob.bin", dst_path=str(tmp_path / "d1"))
    assert Path(out).read_bytes() == blob.read_bytes()
    out = client.download_artifacts(run_id, "notes.txt", str(tmp_path / "d2"))
    assert Path(out).read_bytes() == b"hello artifact\n"

    # a whole directory, and the whole run
    out = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="extra", dst_path=str(tmp_path / "d3"))
    assert _tree(Path(out)) == {"blob.bin": blob.read_bytes(), "deeper/notes.txt": b"hello artifact\n"}
    out = mlflow.artifacts.download_artifacts(run_id=run_id, dst_path=str(tmp_path / "d4"))
    assert _tree(Path(out)) == {
        "notes.txt": b"hello artifact\n",
        "extra/blob.bin": blob.read_bytes(),
        "extra/deeper/notes.txt": b"hello artifact\n",
    }


def test_log_artifacts_nested_dir(client, run_id, tmp_path):
    src = tmp_path / "tree"
    files = {
        "a.txt": b"a",
        "sub/b.json": b'{"b": 1}',
        "sub/deep/c.csv": b"x,y\n1,2\n",
        "sub/deep/empty.txt": b"",
        "with space/d e.txt": "unicodé ✓".encode(),
    }
    for rel, data in files.items():
        p = src / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    client.log_artifacts(run_id, str(src), "tree")

    assert [(f.path, f.is_dir) for f in client.list_artifacts(run_id, "tree")] == [
        ("tree/a.txt", False),
        ("tree/sub", True),
        ("tree/with space", True),
    ]
    deep = client.list_artifacts(run_id, "tree/sub/deep")
    assert [(f.path, f.is_dir) for f in deep] == [("tree/sub/deep/c.csv", False), ("tree/sub/deep/empty.txt", False)]
    assert deep[0].file_size == 8
    assert deep[1].file_size in (0, None)  # MLflow sends no file_size for an empty file
    out = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="tree", dst_path=str(tmp_path / "dl"))
    assert _tree(Path(out)) == files


def test_fluent_log_artifact_and_text(client, name, tmp_path):
    eid = client.create_experiment(name)
    mlflow.set_experiment(experiment_id=eid)
    with mlflow.start_run() as run:
        mlflow.log_text("some text", "texts/t.txt")
        mlflow.log_dict({"k": [1, 2]}, "cfg/config.json")
        p = tmp_path / "f.bin"
        p.write_bytes(os.urandom(70_000))
        mlflow.log_artifact(str(p))
    rid = run.info.run_id
    assert mlflow.artifacts.load_text(f"runs:/{rid}/texts/t.txt") == "some text"
    assert mlflow.artifacts.load_dict(f"runs:/{rid}/cfg/config.json") == {"k": [1, 2]}
    out = mlflow.artifacts.download_artifacts(f"runs:/{rid}/f.bin", dst_path=str(tmp_path / "dl"))
    assert Path(out).read_bytes() == p.read_bytes()
    assert sorted(f.path for f in client.list_artifacts(rid)) == ["cfg", "f.bin", "texts"]


def test_artifacts_land_in_the_store(client, stored_artifact, run_id, tmp_path):
    """The proxy writes <destination>/<experiment id>/<run id>/artifacts/<path>, like MLflow."""
    src = tmp_path / "where.txt"
    src.write_bytes(b"here")
    client.log_artifact(run_id, str(src), "loc")
    run = client.get_run(run_id)
    assert stored_artifact(f"{run.info.experiment_id}/{run_id}/artifacts/loc/where.txt") == b"here"


# ---------------------------------------------------------------- raw HTTP proxy


@pytest.fixture
def proxy(server_url):
    return f"{server_url}/api/2.0/mlflow-artifacts/artifacts"


@pytest.fixture
def base():
    """A fresh folder name inside the artifact root for this test."""
    return f"compat-http/{uuid.uuid4().hex[:12]}"


def test_put_get_list_delete(proxy, base, target, artifacts_mode):
    data = bytes(range(256)) * 10
    r = requests.put(f"{proxy}/{base}/dir/file.bin", data=data, timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    r = requests.put(
        f"{proxy}/{base}/top.txt", data=b"top", headers={"Content-Type": "text/plain"}, timeout=TIMEOUT
    )
    assert r.status_code == 200, r.text

    r = requests.get(f"{proxy}/{base}/dir/file.bin", timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.content == data
    r = requests.get(f"{proxy}/{base}/top.txt", timeout=TIMEOUT)
    assert r.content == b"top"
    assert r.headers["Content-Type"].startswith("text/plain")

    # overwrite
    assert requests.put(f"{proxy}/{base}/top.txt", data=b"again", timeout=TIMEOUT).status_code == 200
    assert requests.get(f"{proxy}/{base}/top.txt", timeout=TIMEOUT).content == b"again"

    r = requests.get(proxy, params={"path": base}, timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    files = sorted(r.json()["files"], key=lambda f: f["path"])
    assert files == [{"path": "dir", "is_dir": True}, {"path": "top.txt", "is_dir": False, "file_size": 5}]
    r = requests.get(proxy, params={"path": f"{base}/dir"}, timeout=TIMEOUT)
    assert r.json() == {"files": [{"path": "file.bin", "is_dir": False, "file_size": len(data)}]}

    # a missing folder lists as {}
    r = requests.get(proxy, params={"path": f"{base}/nosuch"}, timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.json() == {}

    r = requests.delete(f"{proxy}/{base}/top.txt", timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.json() == {}
    _assert_missing(requests.get(f"{proxy}/{base}/top.txt", timeout=TIMEOUT), target, artifacts_mode)
    assert [f["path"] for f in requests.get(proxy, params={"path": base}, timeout=TIMEOUT).json()["files"]] == ["dir"]

    # deleting a folder removes everything under it
    assert requests.delete(f"{proxy}/{base}/dir", timeout=TIMEOUT).status_code == 200
    _assert_missing(requests.get(f"{proxy}/{base}/dir/file.bin", timeout=TIMEOUT), target, artifacts_mode)
    assert requests.get(proxy, params={"path": base}, timeout=TIMEOUT).json() == {}


def _assert_missing(r, target, artifacts_mode):
    if target == "mlflow" and artifacts_mode in ("s3", "gcs"):
        # MLflow's S3 and GCS repositories let the client's 404 through: HTTP 500 INTERNAL_ERROR
        assert r.status_code in (404, 500), r.text
        return
    assert r.status_code == 404, r.text
    body = r.json()
    assert body["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert body["message"]


def test_get_missing_artifact(proxy, base, target, artifacts_mode):
    _assert_missing(requests.get(f"{proxy}/{base}/nosuch.txt", timeout=TIMEOUT), target, artifacts_mode)


def test_put_empty_and_large(proxy, base):
    assert requests.put(f"{proxy}/{base}/empty", data=b"", timeout=TIMEOUT).status_code == 200
    assert requests.get(f"{proxy}/{base}/empty", timeout=TIMEOUT).content == b""
    big = os.urandom(3 * 1024 * 1024 + 17)

    def chunks():  # a streamed (chunked) upload, as the client sends large files
        for i in range(0, len(big), 256 * 1024):
            yield big[i : i + 256 * 1024]

    assert requests.put(f"{proxy}/{base}/big.bin", data=chunks(), timeout=TIMEOUT).status_code == 200
    r = requests.get(f"{proxy}/{base}/big.bin", timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.content == big
    r = requests.get(proxy, params={"path": base}, timeout=TIMEOUT)
    sizes = {f["path"]: f.get("file_size") for f in r.json()["files"]}
    # MLflow leaves file_size out for an empty file (proto2 "unset" for 0)
    assert sizes["big.bin"] == len(big)
    assert sizes["empty"] in (0, None)


def test_special_characters_in_names(proxy, base, target, artifacts_mode):
    name = "sp ace+plus%percent&amp=eq;semi ü.txt"
    quoted = urllib.parse.quote(name)
    assert requests.put(f"{proxy}/{base}/{quoted}", data=b"odd", timeout=TIMEOUT).status_code == 200
    assert requests.get(f"{proxy}/{base}/{quoted}", timeout=TIMEOUT).content == b"odd"
    files = requests.get(proxy, params={"path": base}, timeout=TIMEOUT).json()["files"]
    if target == "mlflow" and artifacts_mode == "s3":
        # boto3 asks for url-encoded keys in ListObjectsV2 and decodes them with unquote_plus;
        # s3s-fs 0.14 sends them unencoded, so MLflow lists '+' as ' ' (the object is fine)
        name = name.replace("+", " ")
    assert [f["path"] for f in files] == [name]


# ---------------------------------------------------------------- path traversal


def _raw(server_url, method, raw_path, body=None):
    """Send `raw_path` byte for byte: `requests` would normalise `..` segments away."""
    u = urllib.parse.urlsplit(server_url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=TIMEOUT)
    try:
        conn.request(method, raw_path, body=body, headers={"Content-Type": "application/octet-stream"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def _escaped_files(server, marker):
    """Files named with `marker` outside the artifact root (or anywhere local, for a remote store)."""
    found = []
    roots = [server.tmp, server.tmp.parent, Path("/tmp"), Path("/")]
    for root in roots:
        it = server.tmp.rglob(f"*{marker}*") if root == server.tmp else root.glob(f"*{marker}*")
        for p in it:
            if server.artifact_root is not None and p.resolve().is_relative_to(server.artifact_root.resolve()):
                continue
            found.append(p)
    if server.bucket:
        from conftest import ARTIFACTS, TARGET, list_stored_objects

        # Azurite reads `\` in a blob name as `/`: MLflow, which takes `..\x` for a plain
        # name, stores `..\..\x` as a blob literally named `<prefix>/../../x`, in its container.
        literal_dots = TARGET == "mlflow" and ARTIFACTS == "azure"
        for bucket, key in list_stored_objects():
            inside = bucket == server.bucket and key.startswith(server.artifact_prefix + "/")
            if marker in key and not (inside and (literal_dots or ".." not in key.split("/"))):
                found.append(f"{bucket}/{key}")
    return found


PREFIX = "/api/2.0/mlflow-artifacts/artifacts/"


def _traversal_paths(server, marker):
    """(raw path after PREFIX, whether MLflow itself refuses it with a 4xx)."""
    abs_target = f"{server.tmp}/escape-{marker}.txt"
    return [
        (f"../escape-{marker}.txt", True),
        (f"../../escape-{marker}.txt", True),
        (f"a/b/../../../escape-{marker}.txt", True),
        (f"%2e%2e/escape-{marker}.txt", True),
        (f"%2E%2E%2Fescape-{marker}.txt", True),
        (f"a/%2e%2e/%2e%2e/escape-{marker}.txt", True),
        (f"%252e%252e/escape-{marker}.txt", True),
        (f"%25252e%25252e/%25252e%25252e/escape-{marker}.txt", True),
        (f"..%2f..%2fescape-{marker}.txt", True),
        (f"/{abs_target}", True),  # //<abs path>
        (f"%2F{abs_target.lstrip('/')}", True),
        # MLflow on Linux treats a backslash as an ordinary file-name character and escapes
        # control characters: it stores these inside the root. Arca refuses them.
        (f"..\\escape-{marker}.txt", False),
        (f"..%5c..%5cescape-{marker}.txt", False),
        (f"escape-{marker}%00.txt", False),
        (f"sub%00/../../escape-{marker}.txt", True),
    ]


def _refused(status, mlflow_refuses, target):
    if target == "arca":
        return 400 <= status < 500
    if mlflow_refuses:
        # MLflow answers 400 "Invalid path"; DELETE of `//abs` gets Flask's 308 slash-merging
        # redirect instead (which nothing follows here)
        return 400 <= status < 500 or status == 308
    return True  # MLflow keeps the file inside the root; only the escape check applies


def test_traversal_put_is_refused(server, target):
    marker = uuid.uuid4().hex[:12]
    answers = {}
    for path, mlflow_refuses in _traversal_paths(server, marker):
        status, body = _raw(server.url, "PUT", PREFIX + path, body=b"escaped " + marker.encode())
        answers[path] = status
        assert _refused(status, mlflow_refuses, target), f"PUT {path} -> {status} {body[:200]!r}"
    assert _escaped_files(server, marker) == [], answers


def test_traversal_get_and_delete_are_refused(server, target):
    marker = uuid.uuid4().hex[:12]
    secret = server.tmp / f"escape-{marker}.txt"  # outside the artifact root, inside the server's tmp
    content = f"secret-{uuid.uuid4().hex}".encode()
    secret.write_bytes(content)
    try:
        for path, mlflow_refuses in _traversal_paths(server, marker):
            for method in ("GET", "DELETE"):
                status, body = _raw(server.url, method, PREFIX + path)
                assert content not in body, f"{method} {path} leaked the file"
                assert _refused(status, mlflow_refuses, target), f"{method} {path} -> {status} {body[:200]!r}"
            assert secret.read_bytes() == content, f"{path} changed the file"
        # GET of an absolute path: //etc/passwd
        for path in ["/etc/passwd", "%2Fetc%2Fpasswd", "../../../../../../etc/passwd"]:
            status, body = _raw(server.url, "GET", PREFIX + path)
            assert 400 <= status < 500 or (target == "mlflow" and 300 <= status < 400), f"GET {path} -> {status}"
            assert b"root:" not in body
    finally:
        secret.unlink(missing_ok=True)


def test_traversal_in_list_path_is_refused(server, target):
    marker = uuid.uuid4().hex[:12]
    (server.tmp / f"dir-{marker}").mkdir()
    try:
        for path in ["..", "../", f"../dir-{marker}", "%2e%2e", "/etc", "a/../../..", "//etc"]:
            r = requests.get(server.url + PREFIX.rstrip("/"), params={"path": path}, timeout=TIMEOUT)
            assert 400 <= r.status_code < 500, f"list {path} -> {r.status_code} {r.text[:200]}"
            # An error may quote the path it refused; what must not come back is a listing.
            assert '"files"' not in r.text and "passwd" not in r.text, r.text[:200]
    finally:
        (server.tmp / f"dir-{marker}").rmdir()


def test_dots_inside_a_name_are_fine(proxy, base):
    """`..` inside a name (not a whole segment) is an ordinary file name."""
    r = requests.put(f"{proxy}/{base}/a..b/..c", data=b"fine", timeout=TIMEOUT)
    assert r.status_code == 200
    assert requests.get(f"{proxy}/{base}/a..b/..c", timeout=TIMEOUT).content == b"fine"
    files = requests.get(proxy, params={"path": f"{base}/a..b"}, timeout=TIMEOUT).json()["files"]
    assert [f["path"] for f in files] == ["..c"]
