"""Runs one wrk measurement and appends it as a JSON line to a results file.

    run_wrk.py --results FILE --server NAME --label LABEL --pid SERVER_PID [--record] -- WRK ARGS...

Besides wrk's own numbers it records the CPU seconds the server's process tree and wrk itself
used during the run, so a reader can see whether the load generator took the machine. Without
--record the run is a warm-up: printed, not stored.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proctree  # noqa: E402


def measure(results, server, label, pid, wrk_args, record=True, extra=None):
    """Runs wrk with wrk_args (registry.lua must be its script); returns the row."""
    cpu0 = proctree.cpu_seconds(pid)
    with open(os.devnull) as devnull:
        proc = subprocess.Popen(["wrk", *wrk_args], stdout=subprocess.PIPE, stdin=devnull,
                                text=True)
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
    cpu1 = proctree.cpu_seconds(pid)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"wrk failed:\n{out}")
    m = re.search(r"^RESULT (.*)$", out, re.M)
    if not m:
        sys.exit(f"no RESULT line in wrk's output:\n{out}")
    r = {k: int(v) for k, v in (kv.split("=") for kv in m.group(1).split())}
    secs = r["duration_us"] / 1e6
    errors = r["non2xx"] + r["connect"] + r["read"] + r["write"] + r["timeout"]
    row = {
        "server": server,
        "label": label,
        "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "seconds": round(secs, 2),
        "requests": r["requests"],
        "errors": errors,
        "ok_per_s": round((r["requests"] - r["non2xx"]) / secs, 1),
        "p50_ms": r["p50_us"] / 1000,
        "p90_ms": r["p90_us"] / 1000,
        "p99_ms": r["p99_us"] / 1000,
        "max_ms": r["max_us"] / 1000,
        "server_cpu_pct": round(100 * (cpu1 - cpu0) / secs),
        "wrk_cpu_pct": round(100 * (usage.ru_utime + usage.ru_stime) / secs),
        "loadavg": open("/proc/loadavg").read().split()[0],
    }
    row.update(extra or {})
    tag = "" if record else "  (warm-up)"
    print(
        f"  {server:6} {label:42} {row['ok_per_s']:9.1f} ok/s  p50 {row['p50_ms']:8.2f} ms"
        f"  p99 {row['p99_ms']:8.2f} ms  errors {errors}  cpu server {row['server_cpu_pct']}%"
        f" wrk {row['wrk_cpu_pct']}%{tag}",
        flush=True,
    )
    if record:
        with open(results, "a") as f:
            f.write(json.dumps(row) + "\n")
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--server", required=True)
    ap.add_argument("--label", required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--record", action="store_true")
    ap.add_argument("--extra", action="append", default=[], help="KEY=VALUE stored with the row")
    ap.add_argument("wrk", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.wrk[1:] if a.wrk and a.wrk[0] == "--" else a.wrk
    extra = dict(kv.split("=", 1) for kv in a.extra)
    measure(a.results, a.server, a.label, a.pid, cmd, a.record, extra)


if __name__ == "__main__":
    main()
