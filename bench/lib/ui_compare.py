"""The client side of bench/ui_compare.sh: seeds two models through the REST API and the
artifact proxy, then times two UI pages one request after another.

    ui_compare.py seed BASE_URL          creates the models described below
    ui_compare.py time BASE_URL LOG      times the pages; prints one JSON line per page, with the
                                         client's time and the server's own (`micros` of the
                                         request lines in LOG, the server's log)

Seeded (sizes from the environment):
  - model `bench-compare` with UI_COMPARE_VERSIONS versions (10), each registered from its own
    run (`runs:/<run>/model`) that logged UI_COMPARE_KEYS params and metrics (50 each), with
    files under `model/`: MLmodel (with a signature), model.pkl (UI_COMPARE_FILE_KIB, 256 KiB),
    conda.yaml, requirements.txt;
  - model `bench-chart` with UI_COMPARE_CHART_VERSIONS versions (1000), each from its own run
    that logged `accuracy` and four other metrics.
The pages: /models/bench-compare/compare with every version of bench-compare, and
/models/bench-chart/chart?metric=accuracy. Each is sent UI_COMPARE_WARMUP times untimed (3),
then UI_COMPARE_REPS times timed (20), on one keep-alive connection.
"""

import http.client
import json
import os
import re
import statistics
import sys
import time
from urllib.parse import urlsplit

API = "/api/2.0/mlflow/"
VERSIONS = int(os.environ.get("UI_COMPARE_VERSIONS", "10"))
KEYS = int(os.environ.get("UI_COMPARE_KEYS", "50"))
FILE_KIB = int(os.environ.get("UI_COMPARE_FILE_KIB", "256"))
CHART_VERSIONS = int(os.environ.get("UI_COMPARE_CHART_VERSIONS", "1000"))
WARMUP = int(os.environ.get("UI_COMPARE_WARMUP", "3"))
REPS = int(os.environ.get("UI_COMPARE_REPS", "20"))

MLMODEL = """flavors:
  python_function:
    loader_module: mlflow.sklearn
    model_path: model.pkl
  sklearn:
    pickled_model: model.pkl
    sklearn_version: 1.5.2
mlflow_version: 3.17.2
signature:
  inputs: '[{"type": "double", "name": "f%d", "required": true}, {"type": "double", "name":
    "g", "required": true}]'
  outputs: '[{"type": "long", "required": true}]'
"""


class Client:
    def __init__(self, base):
        u = urlsplit(base)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)

    def send(self, method, path, body=None, headers=None):
        t0 = time.monotonic()
        self.conn.request(method, path, body, headers or {})
        resp = self.conn.getresponse()
        raw = resp.read()
        ms = (time.monotonic() - t0) * 1000
        if resp.status != 200:
            sys.exit(f"{method} {path}: {resp.status} {raw[:300]!r}")
        return raw, ms

    def post(self, endpoint, body):
        raw, _ = self.send(
            "POST", API + endpoint, json.dumps(body).encode(), {"Content-Type": "application/json"}
        )
        return json.loads(raw)


def new_run(client, exp_id, i, params, metrics):
    run = client.post("runs/create", {"experiment_id": exp_id, "start_time": 1_700_000_000_000 + i})
    run_id = run["run"]["info"]["run_id"]
    client.post(
        "runs/log-batch",
        {
            "run_id": run_id,
            "params": [{"key": k, "value": v} for k, v in params],
            "metrics": [
                {"key": k, "value": v, "timestamp": 1_700_000_000_000 + i, "step": 0}
                for k, v in metrics
            ],
        },
    )
    return run_id


def register(client, name, run_id):
    client.post(
        "model-versions/create",
        {"name": name, "source": f"runs:/{run_id}/model", "run_id": run_id},
    )


def seed(client):
    exp_id = client.post("experiments/create", {"name": "bench-ui"})["experiment_id"]
    client.post("registered-models/create", {"name": "bench-compare"})
    weights = os.urandom(FILE_KIB * 1024)
    for i in range(VERSIONS):
        run_id = new_run(
            client,
            exp_id,
            i,
            [(f"param_{k}", str(k if k % 5 else i)) for k in range(KEYS)],
            [(f"metric_{k}", k + (i / 100 if k % 3 == 0 else 0)) for k in range(KEYS)],
        )
        files = {
            "MLmodel": (MLMODEL % (i % 2)).encode(),
            "model.pkl": weights if i % 2 else weights[::-1],
            "conda.yaml": b"dependencies:\n  - python=3.11\n  - pip:\n    - scikit-learn\n",
            "requirements.txt": b"scikit-learn==1.5.2\n",
        }
        for name, data in files.items():
            client.send(
                "PUT", f"/api/2.0/mlflow-artifacts/artifacts/{exp_id}/{run_id}/artifacts/model/{name}", data
            )
        register(client, "bench-compare", run_id)
    client.post("registered-models/create", {"name": "bench-chart"})
    for i in range(CHART_VERSIONS):
        run_id = new_run(
            client,
            exp_id,
            VERSIONS + i,
            [("seed", str(i))],
            [("accuracy", 0.8 + (i % 50) / 1000), ("loss", 1 / (i + 1)), ("f1", 0.7), ("auc", 0.9), ("rmse", 3.0)],
        )
        register(client, "bench-chart", run_id)


def time_pages(client, log_path):
    pages = [
        (
            f"compare, {VERSIONS} versions",
            "/models/bench-compare/compare",
            "?" + "&".join(f"v={v}" for v in range(1, VERSIONS + 1)),
        ),
        (f"metric chart, {CHART_VERSIONS} versions", "/models/bench-chart/chart", "?metric=accuracy"),
    ]
    for label, path, query in pages:
        for _ in range(WARMUP):
            client.send("GET", path + query)
        times = []
        size = 0
        for _ in range(REPS):
            raw, ms = client.send("GET", path + query)
            times.append(ms)
            size = len(raw)
        # The server's own time: the `micros` of the last REPS request lines for this path.
        pattern = re.compile(r"method=GET path=(\S+) status=200 micros=(\d+)")
        server = []
        with open(log_path) as log:
            for line in log:
                m = pattern.search(line)
                if m and m.group(1) == path:
                    server.append(int(m.group(2)) / 1000)
        server = server[-REPS:]
        if len(server) != REPS:
            sys.exit(f"found {len(server)} request lines for {path} in {log_path}, wanted {REPS}")
        times.sort()
        server.sort()
        q = lambda xs, p: xs[min(len(xs) - 1, int(len(xs) * p))]
        print(
            json.dumps(
                {
                    "page": label,
                    "bytes": size,
                    "server": {"min": server[0], "p50": statistics.median(server), "p90": q(server, 0.9), "max": server[-1]},
                    "client": {"min": times[0], "p50": statistics.median(times), "p90": q(times, 0.9), "max": times[-1]},
                }
            ),
            flush=True,
        )


def main():
    command, base = sys.argv[1], sys.argv[2]
    client = Client(base)
    if command == "seed":
        seed(client)
    elif command == "time":
        time_pages(client, sys.argv[3])
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main()
