"""Markdown tables from the JSON lines the benchmark helpers wrote.

    report.py registry RESULTS.jsonl   -> MLflow and Arca side by side, with ratios
    report.py scale RESULTS.jsonl      -> Arca's search latencies at scale
    report.py statuses SERVER LOG RESULTS.jsonl -> appends the counts of HTTP statuses in LOG
"""

import json
import re
import sys

NAMES = {"mlflow": "MLflow", "arca": "Arca"}


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def fmt_ms(ms):
    if ms >= 10000:
        return f"{ms / 1000:.1f} s"
    if ms >= 100:
        return f"{ms:.0f} ms"
    if ms >= 10:
        return f"{ms:.1f} ms"
    return f"{ms:.2f} ms"


def fmt_mib(kib):
    return f"{kib / 1024:.0f} MiB" if kib >= 10240 else f"{kib / 1024:.1f} MiB"


def fmt_ops(ops):
    return f"{ops:,.0f}" if ops >= 10 else f"{ops:.1f}"


def ratio(num, den):
    if not num or not den:
        return "—"
    r = num / den
    return f"{r:.0f}×" if r >= 10 else f"{r:.1f}×"


def registry(rows):
    servers = [s for s in ("mlflow", "arca") if any(r["server"] == s for r in rows)]
    by = {(r["server"], r["label"]): r for r in rows}
    labels = list(dict.fromkeys(r["label"] for r in rows))
    both = servers == ["mlflow", "arca"]

    head = "| | " + " | ".join(NAMES[s] for s in servers) + (" | MLflow ÷ Arca |" if both else " |")
    print(head)
    print("|---" * (len(servers) + 1 + both) + "|")
    for label in labels:
        cells = [by.get((s, label)) for s in servers]
        if not all(c and "median_ms" in c for c in cells):
            continue
        text = [f"{fmt_ms(c['median_ms'])} ({fmt_ms(c['min_ms'])}–{fmt_ms(c['max_ms'])}, "
                f"{c['runs']} run{'s' if c['runs'] > 1 else ''})" for c in cells]
        extra = [ratio(cells[0]["median_ms"], cells[1]["median_ms"])] if both else []
        print(f"| {label}: median (min–max) | " + " | ".join(text + extra) + " |")
    for label in labels:
        cells = [by.get((s, label)) for s in servers]
        if not all(c and "rss_kib" in c for c in cells):
            continue
        text = [f"{fmt_mib(c['rss_kib'])} RSS, {fmt_mib(c['pss_kib'])} PSS, "
                f"{c['processes']} process{'es' if c['processes'] > 1 else ''}" for c in cells]
        extra = [ratio(cells[0]["rss_kib"], cells[1]["rss_kib"]) + " (RSS)"] if both else []
        print(f"| {label} | " + " | ".join(text + extra) + " |")
    print()

    cols = []
    for s in servers:
        cols += [f"{NAMES[s]} ops/s", f"{NAMES[s]} p50", f"{NAMES[s]} p99"]
    if both:
        cols += ["ops/s Arca ÷ MLflow", "p99 MLflow ÷ Arca"]
    print("| request | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    load_rows = [label for label in labels if any("ok_per_s" in (by.get((s, label)) or {})
                                                  for s in servers)]
    for label in load_rows:
        cells = [by.get((s, label)) for s in servers]
        text = []
        for c in cells:
            if c is None:
                text += ["—"] * 3
                continue
            err = f" ({c['errors']} errors)" if c["errors"] else ""
            text += [f"{fmt_ops(c['ok_per_s'])}{err}", fmt_ms(c["p50_ms"]), fmt_ms(c["p99_ms"])]
        if both and all(cells):
            text += [ratio(cells[1]["ok_per_s"], cells[0]["ok_per_s"]),
                     ratio(cells[0]["p99_ms"], cells[1]["p99_ms"])]
        elif both:
            text += ["—", "—"]
        print(f"| {label} | " + " | ".join(text) + " |")
    print()

    for s in servers:
        st = by.get((s, "statuses"))
        if st:
            other = {k: v for k, v in st["statuses"].items() if k != "200"}
            text = ", ".join(f"{v} × {k}" for k, v in sorted(other.items())) or "none"
            print(f"{NAMES[s]} answers other than 200 in its log (all runs, warm-ups and seeding "
                  f"included): {text}.")
    print()
    print("CPU used during each run (100% = one core), and the 1-minute load average at its end:")
    print()
    print("| request | " + " | ".join(f"{NAMES[s]}: server / wrk / load" for s in servers) + " |")
    print("|---" * (len(servers) + 1) + "|")
    for label in load_rows:
        text = []
        for s in servers:
            c = by.get((s, label))
            text.append(f"{c['server_cpu_pct']}% / {c['wrk_cpu_pct']}% / {c['loadavg']}"
                        if c else "—")
        print(f"| {label} | " + " | ".join(text) + " |")


def scale(rows):
    print("| request | page | connections | ops/s | p50 | p90 | p99 | max | rows | server CPU / wrk CPU |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if "ok_per_s" not in r:
            continue
        label, page, conns = r["label"].split(" | ")
        err = f" ({r['errors']} errors)" if r["errors"] else ""
        print(f"| {label} | {page} | {conns} | {fmt_ops(r['ok_per_s'])}{err} | {fmt_ms(r['p50_ms'])} | "
              f"{fmt_ms(r['p90_ms'])} | {fmt_ms(r['p99_ms'])} | {fmt_ms(r['max_ms'])} | "
              f"{r.get('rows', '')} | {r['server_cpu_pct']}% / {r['wrk_cpu_pct']}% |")
    walks = [r for r in rows if r.get("kind") == "walk"]
    if walks:
        print()
        print("| paging through every result, one request after another | pages | rows | total |"
              " per page p50 | per page p99 | page 1 | last page |")
        print("|---|---|---|---|---|---|---|---|")
        for w in walks:
            print(f"| {w['label']} | {w['pages']:,} | {w['rows']:,} | {fmt_ms(w['total_ms'])} | "
                  f"{fmt_ms(w['p50_ms'])} | {fmt_ms(w['p99_ms'])} | {fmt_ms(w['first_ms'])} | "
                  f"{fmt_ms(w['last_ms'])} |")


def statuses(server, log_path, results):
    """Counts the HTTP statuses in a server's request log: Arca's `status=200`, uvicorn's
    `"GET /path HTTP/1.1" 200`."""
    pattern = re.compile(r'(?:status=|HTTP/1\.1" )(\d{3})\b')
    counts = {}
    with open(log_path, errors="replace") as f:
        for line in f:
            m = pattern.search(line)
            if m:
                counts[m.group(1)] = counts.get(m.group(1), 0) + 1
    with open(results, "a") as f:
        f.write(json.dumps({"server": server, "label": "statuses", "statuses": counts}) + "\n")


if __name__ == "__main__":
    if sys.argv[1] == "statuses":
        statuses(*sys.argv[2:5])
    else:
        {"registry": registry, "scale": scale}[sys.argv[1]](load(sys.argv[2]))
