"""Seeds a registry through the MLflow REST API, the same way for every server.

    seed_registry.py BASE_URL MODELS VERSIONS PREFIX WRITE_MODEL

Creates MODELS models named PREFIX0001.., each with VERSIONS versions (two ZenML-style tags
each, an s3:// source so no run is needed); version VERSIONS-1 goes to Staging, VERSIONS-2 to
Production, and the alias `champion` points at VERSIONS-2. WRITE_MODEL gets one version: the
target of the model-versions/create benchmark. Eight client threads, one keep-alive connection
each. Prints how long seeding took.
"""

import http.client
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

local = threading.local()


def call(base, method, path, body=None):
    if not hasattr(local, "conn"):
        u = urlsplit(base)
        local.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=300)
    data = json.dumps(body) if body is not None else None
    headers = {"Content-Type": "application/json"} if data else {}
    if os.environ.get("BENCH_AUTH_HEADER"):
        headers["Authorization"] = os.environ["BENCH_AUTH_HEADER"]
    local.conn.request(method, "/api/2.0/mlflow/" + path, body=data, headers=headers)
    resp = local.conn.getresponse()
    text = resp.read()
    if resp.status != 200:
        raise RuntimeError(f"{method} {path} {body}: {resp.status} {text[:300]!r}")
    return json.loads(text or b"{}")


def seed_model(base, name, versions):
    call(base, "POST", "registered-models/create", {"name": name})
    for v in range(1, versions + 1):
        call(base, "POST", "model-versions/create", {
            "name": name,
            "source": f"s3://bench/{name}/{v}",
            "tags": [
                {"key": "zenml_pipeline_name", "value": "training"},
                {"key": "zenml_step_name", "value": f"trainer-{v}"},
            ],
        })
    for v, stage in ((versions - 1, "Staging"), (versions - 2, "Production")):
        if v >= 1:
            call(base, "POST", "model-versions/transition-stage", {
                "name": name, "version": str(v), "stage": stage,
                "archive_existing_versions": False,
            })
    call(base, "POST", "registered-models/alias",
         {"name": name, "alias": "champion", "version": str(max(versions - 2, 1))})


def main():
    base, models, versions, prefix, write_model = sys.argv[1:6]
    models, versions = int(models), int(versions)
    start = time.monotonic()
    names = [f"{prefix}{i:04d}" for i in range(1, models + 1)]
    with ThreadPoolExecutor(8) as pool:
        for f in [pool.submit(seed_model, base, n, versions) for n in names]:
            f.result()
    seed_model(base, write_model, 1)
    took = time.monotonic() - start
    calls = models * (versions + 4) + 5
    print(f"seeded {models} models x {versions} versions ({calls} calls) in {took:.1f} s")


if __name__ == "__main__":
    main()
