"""The read side of bench/search_scale.sh: latency of search pages and lookups on a big registry.

    scale_queries.py BASE_URL SERVER_PID RESULTS BIG_MODEL BIG_VERSIONS

For each query: its first page, a page a few pages in (page tokens taken from the server by
paging there), and for the big model's version searches the last page; each measured with wrk
at every concurrency in SCALE_CONNECTIONS for SCALE_DURATION seconds after SCALE_WARMUP
seconds of warm-up. Before that, the big model's versions are paged through from first page to
last, one request after another, and the time per page is recorded (the "walk" rows).
"""

import http.client
import json
import os
import statistics
import sys
import time
from urllib.parse import quote, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_wrk  # noqa: E402

LUA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "registry.lua")
API = "/api/2.0/mlflow/"
DEEP_PAGE = int(os.environ.get("SCALE_DEEP_PAGE", "5"))
CONNECTIONS = [int(c) for c in os.environ.get("SCALE_CONNECTIONS", "1 16").split()]
DURATION = int(os.environ.get("SCALE_DURATION", "10"))
WARMUP = int(os.environ.get("SCALE_WARMUP", "2"))
# Only the queries (and walks) whose label contains this text, e.g. "registered-models/search".
ONLY = os.environ.get("SCALE_ONLY", "")


def path(endpoint, **params):
    query = "&".join(f"{k}={quote(str(v), safe='')}" for k, v in params.items())
    return API + endpoint + ("?" + query if query else "")


class Client:
    def __init__(self, base):
        u = urlsplit(base)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)

    def get(self, p):
        t0 = time.monotonic()
        self.conn.request("GET", p)
        resp = self.conn.getresponse()
        body = resp.read()
        ms = (time.monotonic() - t0) * 1000
        if resp.status != 200:
            sys.exit(f"GET {p}: {resp.status} {body[:300]!r}")
        return json.loads(body), ms


def items(doc):
    for key in ("model_versions", "registered_models"):
        if key in doc:
            return len(doc[key])
    return 1


def walk(client, base_path, max_pages=None):
    """Follows next_page_token; returns {page number: path}, per-page milliseconds, rows."""
    pages, times, rows = {1: base_path}, [], 0
    p, n = base_path, 1
    while True:
        doc, ms = client.get(p)
        times.append(ms)
        rows += items(doc)
        token = doc.get("next_page_token")
        if not token or (max_pages and n >= max_pages):
            return pages, times, rows
        n += 1
        p = f"{base_path}&page_token={quote(token, safe='')}"
        pages[n] = p


def pct(values, q):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))]


def main():
    base, pid, results, big, big_versions = sys.argv[1:6]
    pid = int(pid)
    client = Client(base)
    search_big = path("model-versions/search", filter=f"name='{big}'", max_results=100)
    search_big_desc = path("model-versions/search", filter=f"name='{big}'", max_results=100,
                           order_by="version_number DESC")
    prompt_filter = "tag.`mlflow.prompt.is_prompt` != 'true'"
    queries = [
        # label, path, pages to measure ("deep" = DEEP_PAGE, "last" = the last page)
        (f"model-versions/search filter=name='{big}'", search_big, [1, "deep", "last"]),
        (f"model-versions/search filter=name='{big}' order_by=version_number DESC",
         search_big_desc, [1, "deep", "last"]),
        ("model-versions/search, no filter (all versions)",
         path("model-versions/search", max_results=100), [1, "deep"]),
        ("registered-models/search filter=name LIKE 'm-1%'",
         path("registered-models/search", filter="name LIKE 'm-1%'", max_results=100),
         [1, "deep"]),
        ("registered-models/search filter=name LIKE 'm-1%' + the client's prompt clause",
         path("registered-models/search", filter=f"name LIKE 'm-1%' AND {prompt_filter}",
              max_results=100), [1]),
        ("registered-models/search, no filter",
         path("registered-models/search", max_results=100), [1, "deep"]),
        (f"registered-models/get {big} (latest per stage)",
         path("registered-models/get", name=big), [1]),
        (f"registered-models/get-latest-versions {big}",
         path("registered-models/get-latest-versions", name=big), [1]),
        (f"registered-models/alias GET {big}@champion",
         path("registered-models/alias", name=big, alias="champion"), [1]),
        (f"model-versions/get {big} v{int(big_versions) // 2}",
         path("model-versions/get", name=big, version=int(big_versions) // 2), [1]),
    ]

    queries = [q for q in queries if ONLY in q[0]]
    # The walks: every page of the big model's versions, in both orders.
    walked = {}
    walks = [(label, p) for label, p, _ in queries if p in (search_big, search_big_desc)]
    for label, p in walks:
        t0 = time.monotonic()
        pages, times, rows = walk(client, p)
        total = (time.monotonic() - t0) * 1000
        walked[p] = pages
        row = {"server": "arca", "kind": "walk", "label": label, "pages": len(times),
               "rows": rows, "total_ms": total, "p50_ms": statistics.median(times),
               "p99_ms": pct(times, 99), "first_ms": times[0], "last_ms": times[-1]}
        print(f"  walk {label}: {len(times)} pages, {rows} rows in {total / 1000:.1f} s; "
              f"page 1 {times[0]:.1f} ms, last page {times[-1]:.1f} ms", flush=True)
        with open(results, "a") as f:
            f.write(json.dumps(row) + "\n")

    for label, p, wanted in queries:
        pages = walked.get(p) or walk(client, p, max_pages=DEEP_PAGE)[0]
        for want in wanted:
            if want == "last":
                n = max(pages)
            elif want == "deep":
                n = min(DEEP_PAGE, max(pages))
                if n == 1:
                    continue
            else:
                n = want
            doc, _ = client.get(pages[n])
            page = f"last page ({n})" if want == "last" else f"page {n}"
            for conns in CONNECTIONS:
                wrk_args = ["-t1", f"-c{conns}", "--timeout", "60s", "-s", LUA,
                            base + pages[n], "--", "op=path"]
                row_label = f"{label} | {page} | {conns}"
                if WARMUP:
                    run_wrk.measure(results, "arca", row_label, pid,
                                    [f"-d{WARMUP}s", *wrk_args], record=False)
                run_wrk.measure(results, "arca", row_label, pid,
                                [f"-d{DURATION}s", *wrk_args], extra={"rows": items(doc)})


if __name__ == "__main__":
    main()
