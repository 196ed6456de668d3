"""The table of bench/auth_cost.sh from its JSON lines.

    auth_report.py RESULTS.jsonl

One row per request, connections and mode: ok/s, p50, p99, the server's CPU time per request,
and for the modes with auth the difference to `off` in p50 and in CPU per request (what
authenticating and the grant lookup add to each request).
"""

import json
import sys

from report import fmt_ms, fmt_ops, load

MODES = {"off": "off", "basic": "Basic (password)", "bearer": "Bearer (API token)"}


def cpu_us(row):
    """Server CPU microseconds per successful request."""
    if not row["ok_per_s"]:
        return None
    return row["server_cpu_pct"] / 100 / row["ok_per_s"] * 1e6


def signed(value, unit):
    return f"{value:+.0f} {unit}" if abs(value) >= 10 else f"{value:+.2f} {unit}"


def main(path):
    rows = load(path)
    runs = [r for r in rows if r.get("label") != "statuses"]
    statuses = {r["server"]: r["statuses"] for r in rows if r.get("label") == "statuses"}
    base = {(r["label"], r["connections"]): r for r in runs if r["server"] == "off"}
    print("| request | connections | auth | ok/s | p50 | p99 | server CPU per request "
          "| p50 vs off | CPU per request vs off |")
    print("|---|---|---|---|---|---|---|---|---|")
    keys = list(dict.fromkeys((r["label"], r["connections"]) for r in runs))
    for label, conns in keys:
        for mode in MODES:
            row = next((r for r in runs if (r["label"], r["connections"], r["server"])
                        == (label, conns, mode)), None)
            if row is None:
                continue
            cpu = cpu_us(row)
            off = base.get((label, conns))
            if off is None or mode == "off":
                d_p50 = d_cpu = "—"
            else:
                d_p50 = signed((row["p50_ms"] - off["p50_ms"]) * 1000, "µs")
                d_cpu = (signed(cpu - cpu_us(off), "µs")
                         if cpu is not None and cpu_us(off) is not None else "—")
            errors = f" ({row['errors']} errors)" if row["errors"] else ""
            print(f"| {label} | {conns} | {MODES[mode]} | {fmt_ops(row['ok_per_s'])}{errors} "
                  f"| {fmt_ms(row['p50_ms'])} | {fmt_ms(row['p99_ms'])} "
                  f"| {'—' if cpu is None else f'{cpu:.0f} µs'} | {d_p50} | {d_cpu} |")
    print()
    for mode, counts in statuses.items():
        print(f"- {MODES.get(mode, mode)}: HTTP statuses in the server log "
              + ", ".join(f"{k}: {v:,}" for k, v in sorted(counts.items())))


if __name__ == "__main__":
    main(sys.argv[1])
