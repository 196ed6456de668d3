"""Markdown tables from the JSON lines the benchmark helpers wrote.

    report.py registry RESULTS.jsonl   -> MLflow and Arca side by side, with ratios
    report.py scale RESULTS.jsonl      -> Arca's search latencies at scale
    report.py statuses SERVER LOG RESULTS.jsonl -> appends the counts of HTTP statuses in LOG
    report.py compare RESULTS.jsonl [--scale SCALE.md] [--artifacts ARTIFACTS.txt]
                                    -> bench/compare.sh's tables, one per backend, with the
                                       issue-10 targets beside each ratio
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


BACKENDS = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
CMP_NAMES = {"mlflow": "MLflow", "arca": "Arca", "arca2": "Arca ×2 replicas"}
GENS = {"wrk": "wrk", "client": "mlflow client"}
# Issue 10's targets: ops/s Arca ÷ MLflow with the native load generator (wrk).
TARGETS = {"read": 100, "write": 30, "tracking": 10}
GROUPS = {"read": "registry read", "write": "registry write", "tracking": "tracking"}
GROUPS_PLURAL = {"read": "registry reads", "write": "registry writes",
                 "tracking": "tracking operations"}


def fmt_num_ms(ms):
    return fmt_ms(ms)[:-3]


def compare(rows, scale_path=None, artifacts_path=None):
    meas = [r for r in rows if "gen" in r]
    backends = [b for b in BACKENDS if any(r.get("backend") == b for r in rows)]
    for backend in backends:
        here = [r for r in meas if r["backend"] == backend]
        servers = [s for s in CMP_NAMES if any(r["server"] == s for r in here)]
        gens = [g for g in GENS if any(r["gen"] == g for r in here)]
        ops = list(dict.fromkeys(r["op"] for r in here))
        by = {(r["server"], r["gen"], r["op"]): r for r in here}
        others = [s for s in servers if s != "mlflow"]
        print(f"#### {BACKENDS[backend]}")
        print()

        # start and memory
        mem_servers = [s for s in servers]
        first = {(r["server"], r["label"]): r for r in rows
                 if r.get("backend", "sqlite") == backend and "gen" not in r}
        lines = []
        for label in ("start, empty data dir", "start, existing database"):
            cells = [first.get((s, label)) for s in mem_servers]
            if not any(c and "median_ms" in c for c in cells):
                continue
            text = [f"{fmt_ms(c['median_ms'])} ({fmt_ms(c['min_ms'])}–{fmt_ms(c['max_ms'])}, "
                    f"{c['runs']} run{'s' if c['runs'] > 1 else ''})" if c else "—" for c in cells]
            lines.append((f"{label}: median (min–max)", text,
                          [c["median_ms"] if c else None for c in cells]))
        for label in ("memory once started (settled)", "memory peak while serving the benchmark"):
            cells = [first.get((s, label)) for s in mem_servers]
            if not any(cells):
                continue
            text = [f"{fmt_mib(c['rss_kib'])} RSS, {fmt_mib(c['pss_kib'])} PSS, "
                    f"{c['processes']} process{'es' if c['processes'] > 1 else ''}" if c else "—"
                    for c in cells]
            lines.append((label, text, [c["rss_kib"] if c else None for c in cells]))
        if lines:
            cols = [CMP_NAMES[s] for s in mem_servers]
            ratio_cols = [f"MLflow ÷ {CMP_NAMES[s]}" for s in others] if "mlflow" in mem_servers else []
            print("| | " + " | ".join(cols + ratio_cols) + " |")
            print("|---" * (1 + len(cols) + len(ratio_cols)) + "|")
            for label, text, vals in lines:
                ratios = []
                if ratio_cols:
                    m = vals[mem_servers.index("mlflow")]
                    ratios = [ratio(m, vals[mem_servers.index(s)]) for s in others]
                print(f"| {label} | " + " | ".join(text + ratios) + " |")
            print()

        # throughput: one table per load generator
        tally = {}
        for g in gens:
            print(f"{'wrk (native load generator, no Python)' if g == 'wrk' else 'the mlflow Python client (MlflowClient, its own work included)'}:")
            print()
            head = ["operation"] + (["target"] if g == "wrk" else [])
            for s in servers:
                head.append(f"{CMP_NAMES[s]} ops/s (p50 / p99 ms)")
            if "mlflow" in servers:
                head += [f"{CMP_NAMES[s]} ÷ MLflow" for s in others]
            print("| " + " | ".join(head) + " |")
            print("|---" * len(head) + "|")
            for op in ops:
                any_row = next(r for r in here if r["op"] == op)
                group = any_row["group"]
                target = TARGETS.get(group)
                cells = [any_row["label"]]
                if g == "wrk":
                    cells.append(f"{GROUPS.get(group, group)} ≥ {target}×" if target else "—")
                for s in servers:
                    c = by.get((s, g, op))
                    if c is None:
                        cells.append("—")
                        continue
                    err = f", {c['errors']:,} errors" if c["errors"] else ""
                    mark = " †" if c.get("note") else ""
                    cells.append(f"{fmt_ops(c['ok_per_s'])} ({fmt_num_ms(c['p50_ms'])} / "
                                 f"{fmt_num_ms(c['p99_ms'])}{err}){mark}")
                if "mlflow" in servers:
                    m = by.get(("mlflow", g, op))
                    for s in others:
                        c = by.get((s, g, op))
                        if not (m and c and m["ok_per_s"] and c["ok_per_s"]):
                            cells.append("—")
                            continue
                        r = c["ok_per_s"] / m["ok_per_s"]
                        text = ratio(c["ok_per_s"], m["ok_per_s"])
                        if g == "wrk" and target:
                            met = r >= target
                            tally.setdefault((s, group), []).append(met)
                            text += " **met**" if met else " missed"
                        cells.append(text)
                print("| " + " | ".join(cells) + " |")
            print()
        for r in here:
            if r.get("note"):
                print(f"- † {CMP_NAMES[r['server']]}, {r['label']}, {GENS[r['gen']]}: {r['note']}")
        for (s, group), mets in tally.items():
            print(f"- {CMP_NAMES[s]}, {GROUPS_PLURAL[group]} (≥ {TARGETS[group]}× with wrk): "
                  f"{sum(mets)} of {len(mets)} met.")
        for s in servers:
            st = next((r for r in rows if r.get("label") == "statuses"
                       and r["server"] == f"{s}@{backend}"), None)
            if st:
                other = {k: v for k, v in st["statuses"].items() if k != "200"}
                text = ", ".join(f"{v:,} × {k}" for k, v in sorted(other.items())) or "none"
                print(f"- {CMP_NAMES[s]}: answers other than 200 in its log (warm-ups, seeding "
                      f"and both load generators included): {text}.")
        print()
        print("<details><summary>CPU during each measurement (100% = one core): server / load "
              "generator / 1-minute load average at its end</summary>")
        print()
        cols = [f"{GENS[g]}: {CMP_NAMES[s]}" for g in gens for s in servers]
        print("| operation | " + " | ".join(cols) + " |")
        print("|---" * (len(cols) + 1) + "|")
        for op in ops:
            cells = []
            for g in gens:
                for s in servers:
                    c = by.get((s, g, op))
                    gen_cpu = c.get("wrk_cpu_pct", c.get("client_cpu_pct")) if c else None
                    cells.append(f"{c['server_cpu_pct']}% / {gen_cpu}% / {c['loadavg']}"
                                 if c else "—")
            label = next(r for r in here if r["op"] == op)["label"]
            print(f"| {label} | " + " | ".join(cells) + " |")
        print()
        print("</details>")
        print()
    if scale_path or artifacts_path:
        extras(scale_path, artifacts_path)


def _ms(text):
    """'4.80 ms' or '67.6 s' -> milliseconds."""
    num, unit = text.strip().split()
    return float(num.replace(",", "")) * (1000 if unit == "s" else 1)


def extras(scale_path, artifacts_path):
    print("#### Arca alone: the 1,000,000-version run and artifacts")
    print()
    print("| what | Arca | target | |")
    print("|---|---|---|---|")
    if scale_path:
        text = open(scale_path).read()
        m = re.search(r"start to first 200 on /health median (\d+) ms", text)
        if m:
            v = float(m.group(1))
            print(f"| start on the 1,000,000-version database (median) | {v:.0f} ms | < 200 ms | "
                  f"{'**met**' if v < 200 else 'missed'} |")
        pages = {}
        walks = []
        for line in text.splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) == 10 and cells[2] in ("1", "16"):
                pages.setdefault(cells[2], []).append((_ms(cells[6]), f"{cells[0]}, {cells[1]}"))
            elif len(cells) == 8 and cells[1].replace(",", "").isdigit():
                walks.append((cells[0], _ms(cells[3])))
        for conns, label in (("1", "alone"), ("16", "at 16 connections")):
            if pages.get(conns):
                worst, which = max(pages[conns])
                print(f"| search pages {label}: worst p99 ({which}) | {fmt_ms(worst)} | < 50 ms | "
                      f"{'**met**' if worst < 50 else 'missed'} |")
        for label, total in walks:
            print(f"| walking every page: {label} | {fmt_ms(total)} | < 10 s | "
                  f"{'**met**' if total < 10000 else 'missed'} |")
    if artifacts_path:
        rates = {}
        for line in open(artifacts_path):
            m = re.match(r"^(cp \+ sync|cp|PUT  \(upload\)|GET  -> /dev/null|GET  -> file|"
                         r"mlflow log_artifact|mlflow download)\s+([\d.]+) MiB/s", line)
            if m:
                rates[m.group(1)] = float(m.group(2))
        base = {"up": rates.get("cp + sync"), "down": rates.get("cp")}
        for key, label, kind in (("PUT  (upload)", "upload, curl", "up"),
                                 ("GET  -> file", "download to a file, curl", "down"),
                                 ("GET  -> /dev/null", "download to /dev/null, curl", "down"),
                                 ("mlflow log_artifact", "upload, mlflow client", "up"),
                                 ("mlflow download", "download, mlflow client", "down")):
            if key in rates and base[kind]:
                r = rates[key] / base[kind]
                ref = "cp + sync" if kind == "up" else "cp"
                print(f"| artifact {label}: MiB/s (÷ `{ref}` {base[kind]:.0f} MiB/s) | "
                      f"{rates[key]:.0f} ({r:.2f}) | ≥ 0.8 | {'**met**' if r >= 0.8 else 'missed'} |")
        m = re.search(r"peak (\d+) KiB", open(artifacts_path).read().split("bytes match")[-1])
        if m:
            print(f"| server peak RSS after the artifact run | {int(m.group(1)) / 1024:.0f} MiB | "
                  f"flat in the file size | see artifacts.sh at two sizes |")
    print()


if __name__ == "__main__":
    if sys.argv[1] == "statuses":
        statuses(*sys.argv[2:5])
    elif sys.argv[1] == "compare":
        import argparse
        ap = argparse.ArgumentParser()
        ap.add_argument("results")
        ap.add_argument("--scale")
        ap.add_argument("--artifacts")
        a = ap.parse_args(sys.argv[2:])
        compare(load(a.results), a.scale, a.artifacts)
    else:
        {"registry": registry, "scale": scale}[sys.argv[1]](load(sys.argv[2]))
