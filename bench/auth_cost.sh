#!/usr/bin/env bash
# What `--auth` costs per request: the same wrk load against Arca (release build, SQLite) with
# authentication off, and on with a non-admin user's credentials sent as Basic or as an API
# token (Bearer). Not a test: it prints numbers, as a markdown table.
#
#   bench/auth_cost.sh
#
# Modes, each on a fresh server and data dir:
#   off     no --auth
#   basic   --auth; the user `bench` (not an admin) sends its password with every request.
#           argon2 runs for its first request only: a verified password is remembered
#           (auth/credentials.rs), and the user's row is still read on every request
#   bearer  --auth; the same user sends an API token, looked up by its SHA-256
# The user seeds the registry itself, so it manages every model through its creator's grant,
# and each request also looks that grant up: this is the cost a real user pays, not an
# admin's (admins skip the grant lookup).
#
# Operations (each request picks a random model and version): registered-models/get (a read)
# and model-versions/set-tag (a write), each at 1 connection (the latency auth adds) and at
# BENCH_CONNECTIONS (the throughput it costs). The report gives ok/s, p50 and p99, the server's
# CPU time per request, and per mode the difference to `off` in p50 and in CPU per request.
#
# Environment (all optional):
#   BENCH_DURATION=8        seconds per measurement, after BENCH_WARMUP=2 untimed
#   BENCH_CONNECTIONS=16    the loaded measurement's connections (wrk, 1 thread)
#   BENCH_MODES="off basic bearer"
#   BENCH_MODELS=50 BENCH_VERSIONS=5   seeded layout
#   ARCA_BIN                arca binary (default: cargo build --release -p arca)
#   BENCH_OUT=FILE          also write the report there
#   BENCH_KEEP=1            keep the temp dir (logs, databases, raw JSON lines)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=bench/lib/common.sh
source "$ROOT/bench/lib/common.sh"
LIB="$ROOT/bench/lib"

DURATION="${BENCH_DURATION:-8}"
WARMUP="${BENCH_WARMUP:-2}"
CONNS="${BENCH_CONNECTIONS:-16}"
MODES="${BENCH_MODES:-off basic bearer}"
MODELS="${BENCH_MODELS:-50}"
VERSIONS="${BENCH_VERSIONS:-5}"
ADMIN_PASSWORD="bench-admin-password"
USER_PASSWORD="bench-user-password"

command -v wrk >/dev/null || die "wrk is missing (apt-get install wrk)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/arca-bench-auth.XXXXXX")"
RESULTS="$WORK/results.jsonl"
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

LOAD_BEFORE="$(load_line)"
DATE="$(date -u '+%Y-%m-%d %H:%M UTC')"
echo "==> $DATE; $(machine_line); load average $LOAD_BEFORE"

# post PATH JSON USER:PASSWORD -> the answer's body; fails on a non-200.
post() {
    curl -fsS --max-time 30 -u "$3" -H 'Content-Type: application/json' -d "$2" "$BASE$1"
}

bench_mode() {
    local mode="$1" dir port
    dir="$WORK/serve-$mode"
    mkdir -p "$dir"
    port="$(free_port)"
    BASE="http://127.0.0.1:$port"
    local cmd=("$ARCA" server --host 127.0.0.1 --port "$port" --data-dir "$dir/data")
    [[ "$mode" == off ]] || cmd+=(--auth)
    echo "==> $mode: serving on $BASE"
    # setsid: the server leads its own process group, which cleanup stops.
    (cd "$dir" && ARCA_ADMIN_PASSWORD="$ADMIN_PASSWORD" exec setsid "${cmd[@]}" >"$dir/server.log" 2>&1) &
    PGID=$!
    wait_health "$BASE" "$PGID" 60
    export BENCH_AUTH_HEADER=""
    case "$mode" in
    off) ;;
    basic | bearer)
        post /api/2.0/mlflow/users/create '{"username": "bench", "password": "'"$USER_PASSWORD"'"}' \
            "admin:$ADMIN_PASSWORD" >/dev/null
        BENCH_AUTH_HEADER="Basic $(printf 'bench:%s' "$USER_PASSWORD" | base64 -w0)"
        if [[ "$mode" == bearer ]]; then
            BENCH_AUTH_HEADER="Bearer $(post /api/2.0/arca/tokens/create '{"name": "bench"}' \
                "bench:$USER_PASSWORD" | python3 -c 'import json, sys; print(json.load(sys.stdin)["secret"])')"
        fi
        ;;
    *) die "unknown mode $mode (want off, basic or bearer)" ;;
    esac
    python3 "$LIB/seed_registry.py" "$BASE" "$MODELS" "$VERSIONS" bench-m- bench-writes
    local op label conns
    for op in get_model set_tag; do
        label=$([[ "$op" == get_model ]] && echo "registered-models/get" || echo "model-versions/set-tag")
        for conns in 1 "$CONNS"; do
            local args=(-t1 -c"$conns" --timeout 60s -s "$LIB/registry.lua" "$BASE"
                -- "op=$op" "models=$MODELS" "versions=$VERSIONS" prefix=bench-m-)
            if ((WARMUP > 0)); then
                python3 "$LIB/run_wrk.py" --results "$RESULTS" --server "$mode" --label "$label" \
                    --pid "$PGID" -- -d"${WARMUP}s" "${args[@]}"
            fi
            python3 "$LIB/run_wrk.py" --results "$RESULTS" --server "$mode" --label "$label" \
                --pid "$PGID" --record --extra "connections=$conns" -- -d"${DURATION}s" "${args[@]}"
        done
    done
    stop_group "$PGID"
    wait "$PGID" 2>/dev/null || true
    PGID=""
    python3 "$LIB/report.py" statuses "$mode" "$dir/server.log" "$RESULTS"
}

for mode in $MODES; do
    bench_mode "$mode"
done

LOAD_AFTER="$(load_line)"
{
    echo "Measured $DATE with bench/auth_cost.sh on $(machine_line)."
    echo "Load average (1/5/15 min) before: $LOAD_BEFORE; after: $LOAD_AFTER."
    echo "Arca: $ARCA_ORIGIN, SQLite. Seeded $MODELS models x $VERSIONS versions by the user sending the requests; wrk: 1 thread, ${DURATION} s per run after ${WARMUP} s of warm-up."
    echo
    python3 "$LIB/auth_report.py" "$RESULTS"
} | tee "${BENCH_OUT:-/dev/null}"
