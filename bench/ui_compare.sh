#!/usr/bin/env bash
# Arca alone: how long the UI's compare page and metric chart take to render on the server.
# Not a test: it prints numbers.
#
#   bench/ui_compare.sh
#
# Arca starts on an empty SQLite store; bench/lib/ui_compare.py seeds it through the REST API
# and the artifact proxy (a model of 10 versions, each from a run with 50 params and 50
# metrics and four files, one of them an MLmodel with a signature; a model of 1,000 versions,
# each from a run with five metrics) and times /models/<name>/compare with the 10 versions and
# /models/<name>/chart?metric=accuracy over the 1,000, one request after another. The server's
# time is the `micros` of its own request log line; the client's includes the local socket.
#
# Environment (all optional):
#   UI_COMPARE_VERSIONS=10 UI_COMPARE_KEYS=50 UI_COMPARE_FILE_KIB=256 UI_COMPARE_CHART_VERSIONS=1000
#   UI_COMPARE_WARMUP=3 UI_COMPARE_REPS=20   untimed and timed requests per page
#   ARCA_BIN            arca binary (default: cargo build --release -p arca)
#   BENCH_OUT=FILE      also write the report there
#   BENCH_KEEP=1        keep the temp dir (database, files, log)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=bench/lib/common.sh
source "$ROOT/bench/lib/common.sh"
LIB="$ROOT/bench/lib"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/arca-bench-ui.XXXXXX")"
PGID=""
cleanup() {
    if [[ -n "$PGID" ]]; then stop_group "$PGID"; fi
    if [[ "${BENCH_KEEP:-0}" == 1 ]]; then
        echo "kept $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ARCA="$WORK/arca"
prepare_arca_bin "$ARCA"
LOG="$WORK/server.log"

port="$(free_port)"
BASE="http://127.0.0.1:$port"
(ARCA_LOG=info exec setsid "$ARCA" server --host 127.0.0.1 --port "$port" \
    --data-dir "$WORK/data" >>"$LOG" 2>&1) &
PGID=$!
wait_health "$BASE" "$PGID" 60

LOAD_BEFORE="$(load_line)"
DATE="$(date -u '+%Y-%m-%d %H:%M UTC')"
echo "==> $DATE; $(machine_line); load average $LOAD_BEFORE" >&2
echo "==> seeding" >&2
t0=$(now_ms)
python3 "$LIB/ui_compare.py" seed "$BASE"
echo "    seeded in $(($(now_ms) - t0)) ms" >&2
echo "==> timing" >&2
python3 "$LIB/ui_compare.py" time "$BASE" "$LOG" >"$WORK/results.jsonl"

python3 - "$WORK/results.jsonl" "$DATE" "$(machine_line)" "$LOAD_BEFORE" "$(load_line)" \
    "$ARCA_ORIGIN" <<'PY' | tee "${BENCH_OUT:-/dev/null}"
import json, sys
results, date, machine, load_before, load_after, origin = sys.argv[1:]
print(f"- Measured {date} with bench/ui_compare.sh on {machine}.")
print(f"- Load average (1/5/15 min) before: {load_before}; after: {load_after}.")
print(f"- Arca: {origin}; SQLite store, local artifact folder.")
print()
print("| page | HTML bytes | server min | server p50 | server p90 | server max | client p50 |")
print("|---|---|---|---|---|---|---|")
ms = lambda v: f"{v:.1f} ms" if v >= 10 else f"{v:.2f} ms"
for line in open(results):
    r = json.loads(line)
    s, c = r["server"], r["client"]
    print(
        f"| {r['page']} | {r['bytes']:,} | {ms(s['min'])} | {ms(s['p50'])} | {ms(s['p90'])} | "
        f"{ms(s['max'])} | {ms(c['p50'])} |"
    )
PY
