"""Seeds the tracking side through the MLflow REST API, the same way for every server.

    seed_tracking.py BASE_URL OUT_DIR LOG_RUNS SEARCH_RUNS EXPERIMENTS

Creates, with eight client threads:
  - experiment `bench-create`: empty, where the CreateRun benchmark adds its runs;
  - experiment `bench-log` with LOG_RUNS runs: the LogBatch benchmarks log into them;
  - experiment `bench-search` with SEARCH_RUNS runs, each given one log-batch of 5 params,
    5 metrics and 5 tags: the SearchRuns benchmark pages through it;
  - EXPERIMENTS more experiments `bench-exp-NNNN` with 2 tags each (SearchExperiments).
Writes OUT_DIR/tracking.json ({"create_experiment", "search_experiment", "log_runs"}) and
OUT_DIR/log_runs.txt (one run id a line, for the wrk script). Prints how long it took.
"""

import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from seed_registry import call  # noqa: E402


def experiment(base, name, tags=()):
    body = {"name": name, "tags": [{"key": k, "value": v} for k, v in tags]}
    return call(base, "POST", "experiments/create", body)["experiment_id"]


def new_run(base, exp_id, i, logged):
    run_id = call(base, "POST", "runs/create", {
        "experiment_id": exp_id, "start_time": int(time.time() * 1000), "run_name": f"run-{i}",
    })["run"]["info"]["run_id"]
    if logged:
        now = int(time.time() * 1000)
        call(base, "POST", "runs/log-batch", {
            "run_id": run_id,
            "params": [{"key": f"p{k}", "value": f"{i}-{k}"} for k in range(5)],
            "metrics": [{"key": f"m{k}", "value": i + k / 10, "timestamp": now, "step": 0}
                        for k in range(5)],
            "tags": [{"key": f"t{k}", "value": f"{i}-{k}"} for k in range(5)],
        })
    return run_id


def main():
    base, out_dir, log_runs, search_runs, experiments = sys.argv[1:6]
    log_runs, search_runs, experiments = int(log_runs), int(search_runs), int(experiments)
    start = time.monotonic()
    create_exp = experiment(base, "bench-create")
    log_exp = experiment(base, "bench-log")
    search_exp = experiment(base, "bench-search")
    with ThreadPoolExecutor(8) as pool:
        logs = [pool.submit(new_run, base, log_exp, i, False) for i in range(log_runs)]
        searches = [pool.submit(new_run, base, search_exp, i, True) for i in range(search_runs)]
        exps = [pool.submit(experiment, base, f"bench-exp-{i:04d}",
                            (("team", f"t{i % 7}"), ("owner", f"o{i % 3}")))
                for i in range(experiments)]
        run_ids = [f.result() for f in logs]
        for f in searches + exps:
            f.result()
    ctx = {"create_experiment": create_exp, "search_experiment": search_exp, "log_runs": run_ids}
    with open(os.path.join(out_dir, "tracking.json"), "w") as f:
        json.dump(ctx, f)
    with open(os.path.join(out_dir, "log_runs.txt"), "w") as f:
        f.write("\n".join(run_ids) + "\n")
    print(f"seeded {log_runs} + {search_runs} runs and {experiments + 3} experiments in "
          f"{time.monotonic() - start:.1f} s")


if __name__ == "__main__":
    main()
