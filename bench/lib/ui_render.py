"""The timing side of bench/ui_render.sh: GETs model pages one after another on one keep-alive
connection and prints one JSON line per page with its latency (milliseconds, client-measured
over loopback: the server's render time plus a local round trip).

    ui_render.py BASE_URL

Pages come from UI_RENDER_PAGES, one per line: `label<TAB>path`. Every page is fetched
UI_RENDER_WARMUP times untimed, then UI_RENDER_REPS times timed; a page that does not answer
200 or that shows no versions table stops the run, so a broken page cannot pass as a fast one.
"""

import http.client
import json
import os
import statistics
import sys
import time
from urllib.parse import urlsplit

WARMUP = int(os.environ.get("UI_RENDER_WARMUP", "3"))
REPS = int(os.environ.get("UI_RENDER_REPS", "30"))


def main():
    base = sys.argv[1]
    u = urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
    pages = [line.split("\t", 1) for line in os.environ["UI_RENDER_PAGES"].splitlines() if line]
    for label, path in pages:
        times = []
        for i in range(WARMUP + REPS):
            t0 = time.monotonic()
            conn.request("GET", path)
            resp = conn.getresponse()
            body = resp.read()
            ms = (time.monotonic() - t0) * 1000
            if resp.status != 200:
                sys.exit(f"GET {path}: {resp.status} {body[:300]!r}")
            if i >= WARMUP:
                times.append(ms)
        html = body.decode()
        rows = html.count('id="pick-')
        if 'id="versions"' not in html or rows == 0:
            sys.exit(f"GET {path}: the page shows no versions")
        times.sort()
        print(json.dumps({
            "page": label,
            "path": path,
            "rows": rows,
            "bytes": len(body),
            "min": times[0],
            "p50": statistics.median(times),
            "p90": times[int(len(times) * 0.9) - 1] if len(times) >= 10 else times[-1],
            "max": times[-1],
        }), flush=True)


if __name__ == "__main__":
    main()
