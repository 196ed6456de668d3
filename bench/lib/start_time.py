"""Time from spawning a server to its first 200 on /health, over several runs.

    start_time.py --runs N --server NAME --results FILE --workdir DIR [--reuse] -- CMD...

CMD may contain {port} and {dir}. Each run gets a fresh free port; {dir} is a fresh folder per
run, or with --reuse one folder for all runs after an untimed first start (a restart on an
existing database). /health is polled every 5 ms from this process, one new connection per
try. The server runs in its own session and is stopped (whole group) after each run.
"""

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def healthy(port):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        c.request("GET", "/health")
        ok = c.getresponse().status == 200
        c.close()
        return ok
    except OSError:
        return False


def stop(proc):
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        proc.poll()
        time.sleep(0.1)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def one_start(cmd, workdir, log):
    port = free_port()
    argv = [a.format(port=port, dir=workdir) for a in cmd]
    os.makedirs(workdir, exist_ok=True)
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                            cwd=workdir, start_new_session=True)
    try:
        while not healthy(port):
            if proc.poll() is not None:
                sys.exit(f"server exited with {proc.returncode} before its first 200: {argv}")
            if time.monotonic() - t0 > 300:
                sys.exit("no 200 on /health within 300 s")
            time.sleep(0.005)
        return (time.monotonic() - t0) * 1000
    finally:
        stop(proc)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, required=True)
    ap.add_argument("--server", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--reuse", action="store_true")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd

    label = "start, existing database" if a.reuse else "start, empty data dir"
    times = []
    os.makedirs(a.workdir, exist_ok=True)
    with open(os.path.join(a.workdir, f"start-{a.server}.log"), "ab") as log:
        if a.reuse:
            one_start(cmd, os.path.join(a.workdir, "reuse"), log)
        for i in range(a.runs):
            d = os.path.join(a.workdir, "reuse" if a.reuse else f"fresh-{i}")
            times.append(one_start(cmd, d, log))
            print(f"  {a.server:6} {label}: run {i + 1}: {times[-1]:.0f} ms", flush=True)
    row = {
        "server": a.server,
        "label": label,
        "runs": len(times),
        "median_ms": statistics.median(times),
        "min_ms": min(times),
        "max_ms": max(times),
        "loadavg": open("/proc/loadavg").read().split()[0],
    }
    with open(a.results, "a") as f:
        f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
