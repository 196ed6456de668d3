"""Memory and CPU of a whole process tree, read from /proc.

mlflow server is a parent, a uvicorn/gunicorn master, several workers and a job runner with its
own children; Arca is one process. Summing over the tree makes the two comparable. RSS counts
pages shared between forked workers once per process; PSS splits them, so both are reported.

    proctree.py mem PID                  -> JSON {"processes", "rss_kib", "pss_kib"}
    proctree.py sample PID OUT [SECONDS] -> until killed, writes the peak seen to OUT (JSON)
    proctree.py settle PID               -> waits until the tree's RSS stops growing (a server
                                            that answers /health may still be forking workers),
                                            then prints mem PID
"""

import json
import os
import signal
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def children_map():
    kids = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces: split after the last ')'.
        fields = stat[stat.rfind(")") + 2 :].split()
        kids.setdefault(int(fields[1]), []).append(int(entry))
    return kids


def tree(pid):
    kids = children_map()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def _kib(path, key):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def mem(pid):
    pids = tree(pid)
    live = [p for p in pids if os.path.exists(f"/proc/{p}")]
    return {
        "processes": len(live),
        "rss_kib": sum(_kib(f"/proc/{p}/status", "VmRSS:") for p in live),
        "pss_kib": sum(_kib(f"/proc/{p}/smaps_rollup", "Pss:") for p in live),
    }


def cpu_seconds(pid):
    """User + system CPU of every live process in the tree (and of children they reaped)."""
    total = 0
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        # utime, stime, cutime, cstime are fields 14-17 of stat(5); fields[0] is field 3.
        total += sum(int(x) for x in fields[11:15])
    return total / CLK_TCK


def sample(pid, out, every):
    peak = {"processes": 0, "rss_kib": 0, "pss_kib": 0}
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    while not stop:
        now = mem(pid)
        for k in peak:
            peak[k] = max(peak[k], now[k])
        with open(out + ".tmp", "w") as f:
            json.dump(peak, f)
        os.replace(out + ".tmp", out)
        time.sleep(every)


def settle(pid, timeout=120):
    """Samples every 2 s until two samples in a row agree within 2% (and 4 s have passed)."""
    start = time.monotonic()
    last = mem(pid)
    while time.monotonic() - start < timeout:
        time.sleep(2)
        now = mem(pid)
        steady = abs(now["rss_kib"] - last["rss_kib"]) <= 0.02 * max(last["rss_kib"], 1)
        if steady and now["processes"] == last["processes"] and time.monotonic() - start >= 4:
            return now
        last = now
    return last


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "mem":
        print(json.dumps(mem(int(sys.argv[2]))))
    elif cmd == "settle":
        print(json.dumps(settle(int(sys.argv[2]))))
    elif cmd == "sample":
        sample(int(sys.argv[2]), sys.argv[3], float(sys.argv[4]) if len(sys.argv) > 4 else 1.0)
    else:
        sys.exit(f"unknown command {cmd}")
