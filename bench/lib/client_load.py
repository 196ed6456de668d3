"""The same workload as registry.lua, driven by the real `mlflow` client (needs mlflow).

    client_load.py --results FILE --server NAME --pid SERVER_PID
                   --op 'ID|OP|BATCH|THREADS|GROUP|LABEL' [--op ...]
                   --uri URL [--uri URL2] --seconds S --procs P
                   [--tracking DIR/tracking.json] [--page N]
                   [--models N --versions N --prefix P --write-model NAME] [--run TAG]
                   [--extra KEY=VALUE ...]

For each --op in turn (OP as in registry.lua, BATCH metrics or params per log-batch, THREADS
per process; GROUP and LABEL are stored with the row): P processes with THREADS threads each, every thread its own MlflowClient, call
one client method in a closed loop (the next call when the previous one returned) for S
seconds. The client's
own work (building entities, requests, parsing the answer into entities) is part of each call,
as it is for a user. With several --uri, thread i of all P x T talks to uri i mod n (replicas).
mlflow is imported once and the processes are forked from it; every thread makes one untimed
call first, then all start together. A call counts if it returned before the S seconds were
up; p50/p99 are over those calls. Appends one JSON line per op in run_wrk.py's format (with
the client processes' CPU instead of wrk's, and op=ID).
"""

import argparse
import json
import logging
import os
import random
import sys
import threading
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proctree  # noqa: E402

STAGES = ["Staging", "Production", "None", "Archived"]


def make_op(a, client, ctx, uniq):
    """Returns a function doing one call of op a.op with this thread's client."""
    from mlflow.entities import Metric, Param

    n = [0]
    rnd = random.Random(uniq)

    def model():
        return f"{a.prefix}{rnd.randint(1, a.models):04d}"

    def version():
        return str(rnd.randint(1, a.versions))

    def nxt():
        n[0] += 1
        return n[0]

    op = a.op_name
    if op == "get_version":
        return lambda: client.get_model_version(model(), version())
    if op == "get_alias":
        return lambda: client.get_model_version_by_alias(model(), "champion")
    if op == "latest":
        return lambda: client.get_latest_versions(model())
    if op == "search_versions":
        return lambda: client.search_model_versions(f"name='{model()}'", max_results=100)
    if op == "search_models":
        return lambda: client.search_registered_models(
            f"name LIKE '{a.prefix}00{rnd.randint(0, 9)}%'", max_results=100)
    if op == "create_version":
        return lambda: client.create_model_version(
            a.write_model, f"s3://bench/writes/{uniq}-{nxt()}")
    if op == "transition":
        return lambda: client.transition_model_version_stage(
            model(), version(), rnd.choice(STAGES), archive_existing_versions=False)
    if op == "set_alias":
        return lambda: client.set_registered_model_alias(model(), f"a{rnd.randint(1, 5)}",
                                                         version())
    if op == "set_tag":
        return lambda: client.set_model_version_tag(model(), version(), f"t{rnd.randint(1, 5)}",
                                                    f"v{rnd.randint(1, 1000)}")
    if op == "create_model":
        return lambda: client.create_registered_model(f"bench-new-{uniq}-{nxt()}")
    if op == "create_run":
        return lambda: client.create_run(ctx["create_experiment"])
    if op == "log_metrics":
        def log_metrics():
            step, now = nxt(), int(time.time() * 1000)
            client.log_batch(rnd.choice(ctx["log_runs"]), metrics=[
                Metric(f"m{i}", rnd.random(), now, step) for i in range(1, a.batch + 1)])
        return log_metrics
    if op == "log_params":
        def log_params():
            c = nxt()
            client.log_batch(rnd.choice(ctx["log_runs"]), params=[
                Param(f"p-{uniq}-{c}-{i}", f"v{i}") for i in range(1, a.batch + 1)])
        return log_params
    if op == "search_runs":
        return lambda: client.search_runs([ctx["search_experiment"]], max_results=a.page)
    if op == "search_experiments":
        return lambda: client.search_experiments(max_results=a.page)
    sys.exit(f"unknown op {op}")


def child(a, ctx, proc_index, ready_w, start_r, result_w):
    from mlflow import MlflowClient

    warnings.filterwarnings("ignore")
    lat, errors, first_error = [], [0], []
    lock = threading.Lock()
    go = threading.Event()
    box = {}
    warmed = threading.Barrier(a.threads + 1)

    def worker(t):
        index = proc_index * a.threads + t
        uri = a.uri[index % len(a.uri)]
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        fn = make_op(a, client, ctx, f"{a.run}-{a.op_id}-{os.getpid()}-{t}")
        try:
            fn()  # untimed: opens the connection, fills the client's caches
        except Exception as e:  # noqa: BLE001 - reported, not raised
            with lock:
                first_error.append(f"warm-up: {e!r}"[:300])
        warmed.wait()
        go.wait()
        end = box["end"]
        mine, errs = [], 0
        while True:
            t0 = time.monotonic()
            if t0 >= end:
                break
            try:
                fn()
                ok = True
            except Exception as e:  # noqa: BLE001
                ok = False
                if not first_error:
                    first_error.append(repr(e)[:300])
            t1 = time.monotonic()
            if t1 > end:
                break
            if ok:
                mine.append((t1 - t0) * 1000)
            else:
                errs += 1
        with lock:
            lat.extend(mine)
            errors[0] += errs

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(a.threads)]
    for th in threads:
        th.start()
    warmed.wait()
    os.write(ready_w, b"r")
    box["start"] = float(os.read(start_r, 64).decode())
    box["end"] = box["start"] + a.seconds
    go.set()
    for th in threads:
        th.join()
    data = json.dumps({"lat": lat, "errors": errors[0], "first_error": first_error[:1]}).encode()
    with os.fdopen(result_w, "wb") as f:
        f.write(data)


def percentile(sorted_values, p):
    if not sorted_values:
        return 0.0
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--server", required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--op", action="append", required=True, help="ID|OP|BATCH|THREADS|GROUP|LABEL")
    ap.add_argument("--uri", action="append", required=True)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--procs", type=int, default=4)
    ap.add_argument("--tracking")
    ap.add_argument("--page", type=int, default=100)
    ap.add_argument("--models", type=int, default=100)
    ap.add_argument("--versions", type=int, default=10)
    ap.add_argument("--prefix", default="bench-m-")
    ap.add_argument("--write-model", default="bench-writes")
    ap.add_argument("--run", default=str(int(time.time())))
    ap.add_argument("--extra", action="append", default=[], help="KEY=VALUE stored with the row")
    a = ap.parse_args()
    ctx = {}
    if a.tracking:
        with open(a.tracking) as f:
            ctx = json.load(f)

    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow  # noqa: F401 - imported once here, before forking
    from mlflow import MlflowClient  # noqa: F401

    # create_model_version logs "Waiting up to 300 seconds for model version to finish
    # creation" on every call (it then finds the version READY and returns): keep the output short.
    logging.getLogger("mlflow").setLevel(logging.WARNING)

    for spec in a.op:
        op_id, a.op_name, batch, threads, group, label = spec.split("|", 5)
        a.op_id, a.batch, a.threads = op_id, int(batch), int(threads)
        run_one(a, ctx, op_id, label, group)


def run_one(a, ctx, op_id, label, group):
    kids = []
    for p in range(a.procs):
        ready_r, ready_w = os.pipe()
        start_r, start_w = os.pipe()
        result_r, result_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            for fd in (ready_r, start_w, result_r):
                os.close(fd)
            try:
                child(a, ctx, p, ready_w, start_r, result_w)
            finally:
                os._exit(0)
        for fd in (ready_w, start_r, result_w):
            os.close(fd)
        kids.append((pid, ready_r, start_w, result_r))
    for _, ready_r, _, _ in kids:
        if os.read(ready_r, 1) != b"r":
            sys.exit("a client process died while warming up")
        os.close(ready_r)
    cpu0 = proctree.cpu_seconds(a.pid)
    start = time.monotonic() + 0.05
    for _, _, start_w, _ in kids:
        os.write(start_w, repr(start).encode())
        os.close(start_w)
    lat, errors, first_error, client_cpu = [], 0, [], 0.0
    for pid, _, _, result_r in kids:
        with os.fdopen(result_r, "rb") as f:
            r = json.loads(f.read() or b'{"lat": [], "errors": 0, "first_error": ["no result"]}')
        _, _, usage = os.wait4(pid, 0)
        client_cpu += usage.ru_utime + usage.ru_stime
        lat += r["lat"]
        errors += r["errors"]
        first_error += r["first_error"]
    cpu1 = proctree.cpu_seconds(a.pid)
    lat.sort()
    row = {
        "server": a.server,
        "label": label,
        "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "seconds": a.seconds,
        "requests": len(lat) + errors,
        "errors": errors,
        "ok_per_s": round(len(lat) / a.seconds, 1),
        "p50_ms": round(percentile(lat, 50), 3),
        "p90_ms": round(percentile(lat, 90), 3),
        "p99_ms": round(percentile(lat, 99), 3),
        "max_ms": round(lat[-1], 3) if lat else 0,
        "server_cpu_pct": round(100 * (cpu1 - cpu0) / a.seconds),
        "client_cpu_pct": round(100 * client_cpu / a.seconds),
        "loadavg": open("/proc/loadavg").read().split()[0],
        "op": op_id,
        "group": group,
        "connections": a.procs * a.threads,
    }
    row.update(dict(kv.split("=", 1) for kv in a.extra))
    print(
        f"  {a.server:6} {label:42} {row['ok_per_s']:9.1f} ok/s  p50 {row['p50_ms']:8.2f} ms"
        f"  p99 {row['p99_ms']:8.2f} ms  errors {errors}  cpu server {row['server_cpu_pct']}%"
        f" client {row['client_cpu_pct']}%  (mlflow client)"
        + (f"  first error: {first_error[0]}" if first_error else ""),
        flush=True,
    )
    with open(a.results, "a") as f:
        f.write(json.dumps(row) + "\n")

if __name__ == "__main__":
    main()
