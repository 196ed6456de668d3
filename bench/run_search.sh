#!/usr/bin/env bash
# Arca alone: how long a big tracking search page takes. Not a test: it prints numbers.
#
#   bench/run_search.sh
#   RUN_SEARCH_PG_URL=postgres://postgres@127.0.0.1:PORT/postgres bench/run_search.sh
#
# For each backend (SQLite, and PostgreSQL when RUN_SEARCH_PG_URL names a cluster: the script
# creates a database of its own there and drops it at the end), Arca starts on an empty store,
# bench/lib/run_search.py seeds it through the REST API (1000 runs with 5 params, 5 metrics and
# 5 tags each in one experiment; 1000 experiments with 5 tags each) and times runs/search
# (max_results 1000 and 100) and experiments/search (max_results 1000), one request after
# another on one connection. Then Arca is restarted on the same store with sqlx's statement log
# on, and each page is sent once more to count the SQL statements it runs.
#
# Environment (all optional):
#   RUN_SEARCH_RUNS=1000 RUN_SEARCH_EXPERIMENTS=1000 RUN_SEARCH_KEYS=5   the seeded data
#   RUN_SEARCH_WARMUP=3 RUN_SEARCH_REPS=20   untimed and timed requests per page
#   RUN_SEARCH_PG_URL   a PostgreSQL cluster to measure on as well
#   ARCA_BIN            arca binary (default: cargo build --release -p arca)
#   BENCH_OUT=FILE      also write the report there
#   BENCH_KEEP=1        keep the temp dir (databases, logs, raw JSON lines)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=bench/lib/common.sh
source "$ROOT/bench/lib/common.sh"
LIB="$ROOT/bench/lib"

if [[ -n "${RUN_SEARCH_PG_URL:-}" ]]; then
    command -v psql >/dev/null || die "psql is missing (apt-get install postgresql-client)"
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/arca-bench-runs.XXXXXX")"
PGID=""
PG_DB=""
cleanup() {
    if [[ -n "$PGID" ]]; then stop_group "$PGID"; fi
    if [[ -n "$PG_DB" ]]; then
        psql "$RUN_SEARCH_PG_URL" -Atqc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null || true
    fi
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

# start_arca BACKEND_URI LOG_FILTER
start_arca() {
    local port
    port="$(free_port)"
    BASE="http://127.0.0.1:$port"
    (ARCA_LOG="$2" exec setsid "$ARCA" server --host 127.0.0.1 --port "$port" \
        --data-dir "$WORK/data-$BACKEND" --backend-store-uri "$1" >>"$LOG" 2>&1) &
    PGID=$!
    wait_health "$BASE" "$PGID" 60
}

stop_arca() {
    stop_group "$PGID"
    wait "$PGID" 2>/dev/null || true
    PGID=""
}

LOAD_BEFORE="$(load_line)"
DATE="$(date -u '+%Y-%m-%d %H:%M UTC')"
echo "==> $DATE; $(machine_line); load average $LOAD_BEFORE" >&2

BACKENDS=(sqlite)
[[ -n "${RUN_SEARCH_PG_URL:-}" ]] && BACKENDS+=(postgres)
for BACKEND in "${BACKENDS[@]}"; do
    LOG="$WORK/server-$BACKEND.log"
    if [[ "$BACKEND" == sqlite ]]; then
        URI="sqlite:///$WORK/data-sqlite/arca.db"
        mkdir -p "$WORK/data-sqlite"
    else
        PG_DB="arca_bench_runs_$$"
        psql "$RUN_SEARCH_PG_URL" -Atqc "CREATE DATABASE $PG_DB" >/dev/null
        URI="${RUN_SEARCH_PG_URL%/*}/$PG_DB"
    fi
    echo "==> $BACKEND: seeding" >&2
    start_arca "$URI" info
    t0=$(now_ms)
    python3 "$LIB/run_search.py" seed "$BASE"
    echo "    seeded in $(($(now_ms) - t0)) ms" >&2
    echo "==> $BACKEND: timing" >&2
    python3 "$LIB/run_search.py" time "$BASE" | sed "s/^{/{\"backend\": \"$BACKEND\", /" >>"$WORK/results.jsonl"
    stop_arca
    echo "==> $BACKEND: counting statements" >&2
    LOG="$WORK/statements-$BACKEND.log"
    start_arca "$URI" "warn,sqlx::query=debug"
    python3 "$LIB/run_search.py" count "$BASE" "$LOG" | sed "s/^{/{\"backend\": \"$BACKEND\", /" >>"$WORK/counts.jsonl"
    stop_arca
done

python3 - "$WORK/results.jsonl" "$WORK/counts.jsonl" "$DATE" "$(machine_line)" "$LOAD_BEFORE" \
    "$(load_line)" "$ARCA_ORIGIN" <<'EOF' | tee "${BENCH_OUT:-/dev/null}"
import json, sys
results, counts, date, machine, load_before, load_after, origin = sys.argv[1:]
statements = {}
for line in open(counts):
    c = json.loads(line)
    statements[(c["backend"], c["page"])] = c["statements"]
print(f"- Measured {date} with bench/run_search.sh on {machine}.")
print(f"- Load average (1/5/15 min) before: {load_before}; after: {load_after}.")
print(f"- Arca: {origin}.")
print()
print("| backend | page | rows | bytes | SQL statements | min | p50 | p90 | max |")
print("|---|---|---|---|---|---|---|---|---|")
for line in open(results):
    r = json.loads(line)
    ms = lambda v: f"{v:.1f} ms" if v >= 10 else f"{v:.2f} ms"
    print(
        f"| {r['backend']} | {r['page']} | {r['rows']} | {r['bytes']:,} | "
        f"{statements.get((r['backend'], r['page']), '?')} | {ms(r['min'])} | {ms(r['p50'])} | "
        f"{ms(r['p90'])} | {ms(r['max'])} |"
    )
EOF
