"""The client side of bench/run_search.sh: seeds tracking data through the REST API, then times
search pages one request after another.

    run_search.py seed BASE_URL          creates the experiments and runs described below
    run_search.py time BASE_URL          times the pages; prints one JSON line per page
    run_search.py count BASE_URL LOG     sends each page once; prints how many SQL statements the
                                         server logged for it (run with sqlx::query=debug)

Seeded (sizes from the environment):
  - experiment `bench-runs` with RUN_SEARCH_RUNS runs (1000), each logged with one log-batch of
    RUN_SEARCH_KEYS params, metrics and tags (5 each, keys shared by every run, values unique
    to the run);
  - RUN_SEARCH_EXPERIMENTS more experiments (1000) with RUN_SEARCH_KEYS tags each.
The pages: runs/search of `bench-runs` with max_results 1000 and 100, and experiments/search
with max_results 1000. Each is sent RUN_SEARCH_WARMUP times untimed (3), then RUN_SEARCH_REPS
times timed (20), on one keep-alive connection.
"""

import http.client
import json
import os
import statistics
import sys
import time
from urllib.parse import urlsplit

API = "/api/2.0/mlflow/"
RUNS = int(os.environ.get("RUN_SEARCH_RUNS", "1000"))
EXPERIMENTS = int(os.environ.get("RUN_SEARCH_EXPERIMENTS", "1000"))
KEYS = int(os.environ.get("RUN_SEARCH_KEYS", "5"))
WARMUP = int(os.environ.get("RUN_SEARCH_WARMUP", "3"))
REPS = int(os.environ.get("RUN_SEARCH_REPS", "20"))
RUN_EXPERIMENT = "bench-runs"


class Client:
    def __init__(self, base):
        u = urlsplit(base)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)

    def post(self, endpoint, body):
        data = json.dumps(body).encode()
        t0 = time.monotonic()
        self.conn.request(
            "POST", API + endpoint, data, {"Content-Type": "application/json"}
        )
        resp = self.conn.getresponse()
        raw = resp.read()
        ms = (time.monotonic() - t0) * 1000
        if resp.status != 200:
            sys.exit(f"POST {endpoint}: {resp.status} {raw[:300]!r}")
        return json.loads(raw), ms, len(raw)


def seed(client):
    exp, _, _ = client.post("experiments/create", {"name": RUN_EXPERIMENT})
    exp_id = exp["experiment_id"]
    for i in range(RUNS):
        run, _, _ = client.post(
            "runs/create", {"experiment_id": exp_id, "start_time": 1_700_000_000_000 + i}
        )
        run_id = run["run"]["info"]["run_id"]
        client.post(
            "runs/log-batch",
            {
                "run_id": run_id,
                "params": [{"key": f"p{k}", "value": f"{i}-{k}"} for k in range(KEYS)],
                "metrics": [
                    {"key": f"m{k}", "value": i + k / 10, "timestamp": 1, "step": 0}
                    for k in range(KEYS)
                ],
                "tags": [{"key": f"t{k}", "value": f"{i}-{k}"} for k in range(KEYS)],
            },
        )
    for i in range(EXPERIMENTS):
        client.post(
            "experiments/create",
            {
                "name": f"bench-exp-{i}",
                "tags": [{"key": f"t{k}", "value": f"{i}-{k}"} for k in range(KEYS)],
            },
        )


def pages(client):
    found, _, _ = client.post(
        "experiments/search", {"filter": f"name = '{RUN_EXPERIMENT}'", "max_results": 1}
    )
    exp_id = found["experiments"][0]["experiment_id"]
    return {
        "runs/search max_results=1000": (
            "runs/search",
            {"experiment_ids": [exp_id], "max_results": 1000},
            "runs",
        ),
        "runs/search max_results=100": (
            "runs/search",
            {"experiment_ids": [exp_id], "max_results": 100},
            "runs",
        ),
        "experiments/search max_results=1000": (
            "experiments/search",
            {"max_results": 1000},
            "experiments",
        ),
    }


def time_pages(client):
    for name, (endpoint, body, key) in pages(client).items():
        for _ in range(WARMUP):
            client.post(endpoint, body)
        samples = []
        for _ in range(REPS):
            doc, ms, size = client.post(endpoint, body)
            samples.append(ms)
        samples.sort()
        print(
            json.dumps(
                {
                    "page": name,
                    "rows": len(doc.get(key, [])),
                    "bytes": size,
                    "reps": REPS,
                    "min": samples[0],
                    "p50": statistics.median(samples),
                    "p90": samples[int(0.9 * (len(samples) - 1))],
                    "max": samples[-1],
                }
            ),
            flush=True,
        )


def statements_logged(log):
    with open(log, errors="replace") as f:
        return sum(1 for line in f if "sqlx::query" in line)


def count_statements(client, log):
    # The server logs a statement when it has run, before it answers: once the answer is
    # here, every statement of the request is in the log.
    for name, (endpoint, body, _) in pages(client).items():
        before = statements_logged(log)
        client.post(endpoint, body)
        print(json.dumps({"page": name, "statements": statements_logged(log) - before}))


def main():
    what, base = sys.argv[1], sys.argv[2]
    client = Client(base)
    if what == "seed":
        seed(client)
    elif what == "time":
        time_pages(client)
    elif what == "count":
        count_statements(client, sys.argv[3])
    else:
        sys.exit(f"unknown command {what}")


if __name__ == "__main__":
    main()
