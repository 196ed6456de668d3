#!/usr/bin/env bash
# Side by side: `arca server` (release build, SQLite) and `mlflow server` (SQLite backend,
# --artifacts-destination in a temp dir, default workers) on this machine. Not a test: it
# prints numbers, as markdown tables.
#
#   bench/registry.sh
#
# For each server:
#   - start to the first 200 on /health: empty data dir (creates and migrates the database) and
#     restart on an existing database, several runs each;
#   - memory of the whole process tree (RSS and PSS summed) once start-up has settled, and the
#     peak while serving the load below;
#   - reads at a fixed concurrency, random model and version per request: model-versions/get,
#     registered-models/alias GET (by alias), registered-models/get-latest-versions;
#   - writes at the same concurrency: model-versions/create (all on one model),
#     model-versions/transition-stage, registered-models/alias POST, model-versions/set-tag,
#     registered-models/create (unique names).
# Both servers are seeded the same way through the REST API first (bench/lib/seed_registry.py).
# Load comes from wrk with bench/lib/registry.lua; each run has an untimed warm-up.
#
# Environment (all optional):
#   BENCH_SERVERS="arca mlflow"  which servers to run
#   BENCH_DURATION=15            seconds per read measurement; BENCH_WRITE_DURATION=10 for writes
#   BENCH_WARMUP=3               seconds of untimed warm-up before each measurement
#   BENCH_CONNECTIONS=16         wrk connections; BENCH_WRK_THREADS=1 wrk threads
#   BENCH_MODELS=100 BENCH_VERSIONS=10   seeded layout
#   BENCH_ARCA_STARTS=10 BENCH_MLFLOW_STARTS=3   start-time runs of each kind
#   ARCA_BIN                     arca binary (default: cargo build --release -p arca)
#   MLFLOW_BIN                   mlflow executable (default: .venv/bin/mlflow)
#   BENCH_AUTH=basic|bearer      run Arca with --auth and send the admin's password (Basic) or
#                                an API token (Bearer) with every request, to measure what auth costs
#   BENCH_OUT=FILE               also write the report there
#   BENCH_KEEP=1                 keep the temp dir (logs, databases, raw JSON lines)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=bench/lib/common.sh
source "$ROOT/bench/lib/common.sh"
LIB="$ROOT/bench/lib"

SERVERS="${BENCH_SERVERS:-arca mlflow}"
DURATION="${BENCH_DURATION:-15}"
WRITE_DURATION="${BENCH_WRITE_DURATION:-10}"
WARMUP="${BENCH_WARMUP:-3}"
CONNS="${BENCH_CONNECTIONS:-16}"
THREADS="${BENCH_WRK_THREADS:-1}"
MODELS="${BENCH_MODELS:-100}"
VERSIONS="${BENCH_VERSIONS:-10}"
ARCA_STARTS="${BENCH_ARCA_STARTS:-10}"
MLFLOW_STARTS="${BENCH_MLFLOW_STARTS:-3}"
MLFLOW="${MLFLOW_BIN:-$ROOT/.venv/bin/mlflow}"
export MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true

command -v wrk >/dev/null || die "wrk is missing (apt-get install wrk)"
[[ " $SERVERS " != *" mlflow "* || -x "$MLFLOW" ]] ||
    die "$MLFLOW is missing: create .venv as scripts/test.sh does, or set MLFLOW_BIN"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/arca-bench-registry.XXXXXX")"
RESULTS="$WORK/results.jsonl"
PGID=""
SAMPLER=""
cleanup() {
    if [[ -n "$SAMPLER" ]]; then kill "$SAMPLER" 2>/dev/null || true; fi
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
if [[ " $SERVERS " == *" arca "* ]]; then
    prepare_arca_bin "$ARCA"
fi

AUTH_FLAG=""
case "${BENCH_AUTH:-}" in
"") ;;
basic | bearer)
    AUTH_FLAG=" --auth"
    export ARCA_ADMIN_PASSWORD="bench-admin-password"
    export BENCH_AUTH_HEADER="Basic $(printf 'admin:%s' "$ARCA_ADMIN_PASSWORD" | base64 -w0)"
    ;;
*) die "BENCH_AUTH must be basic or bearer" ;;
esac

LOAD_BEFORE="$(load_line)"
DATE="$(date -u '+%Y-%m-%d %H:%M UTC')"
echo "==> $DATE; $(machine_line); load average $LOAD_BEFORE"

server_cmd() { # server_cmd NAME -> argv with {port} and {dir}
    case "$1" in
    arca) echo "$ARCA server --host 127.0.0.1 --port {port} --data-dir {dir}/data${AUTH_FLAG}" ;;
    mlflow) echo "$MLFLOW server --host 127.0.0.1 --port {port} --backend-store-uri sqlite:///{dir}/mlflow.db --artifacts-destination {dir}/artifacts" ;;
    esac
}

measure_start() {
    local name="$1" runs
    runs=$([[ "$name" == arca ]] && echo "$ARCA_STARTS" || echo "$MLFLOW_STARTS")
    echo "==> $name: start to first 200 on /health"
    # shellcheck disable=SC2046
    python3 "$LIB/start_time.py" --runs "$runs" --server "$name" --results "$RESULTS" \
        --workdir "$WORK/start-$name" -- $(server_cmd "$name")
    # shellcheck disable=SC2046
    python3 "$LIB/start_time.py" --runs "$runs" --server "$name" --results "$RESULTS" \
        --workdir "$WORK/start-$name" --reuse -- $(server_cmd "$name")
}

mem_row() { # mem_row NAME LABEL JSON
    python3 -c 'import json, sys; r = json.loads(sys.argv[3]); r.update(server=sys.argv[1], label=sys.argv[2]); print(json.dumps(r))' \
        "$1" "$2" "$3" >>"$RESULTS"
}

wrk_run() { # wrk_run NAME LABEL SECONDS OP
    local name="$1" label="$2" secs="$3" op="$4"
    # run=: registered-models/create needs names that no earlier run used.
    local args=(-t"$THREADS" -c"$CONNS" --timeout 60s -s "$LIB/registry.lua" "$BASE"
        -- "op=$op" "models=$MODELS" "versions=$VERSIONS" prefix=bench-m- write_model=bench-writes)
    if ((WARMUP > 0)); then
        python3 "$LIB/run_wrk.py" --results "$RESULTS" --server "$name" --label "$label" \
            --pid "$PGID" -- -d"${WARMUP}s" "${args[@]}" "run=warm-$RANDOM$RANDOM"
    fi
    python3 "$LIB/run_wrk.py" --results "$RESULTS" --server "$name" --label "$label" \
        --pid "$PGID" --record -- -d"${secs}s" "${args[@]}" "run=$RANDOM$RANDOM"
}

bench_server() {
    local name="$1" dir port cmd
    dir="$WORK/serve-$name"
    mkdir -p "$dir"
    port="$(free_port)"
    BASE="http://127.0.0.1:$port"
    cmd="$(server_cmd "$name")"
    cmd="${cmd//\{port\}/$port}"
    cmd="${cmd//\{dir\}/$dir}"
    echo "==> $name: serving on $BASE"
    # setsid: the server leads its own process group, so cleanup can stop all of mlflow's workers.
    # shellcheck disable=SC2086
    (cd "$dir" && exec setsid $cmd >"$dir/server.log" 2>&1) &
    PGID=$!
    wait_health "$BASE" "$PGID" 300
    if [[ "$name" == arca && "${BENCH_AUTH:-}" == bearer ]]; then
        BENCH_AUTH_HEADER="Bearer $(curl -fsS -u "admin:$ARCA_ADMIN_PASSWORD" -H 'Content-Type: application/json' \
            -d '{"name":"bench"}' "$BASE/api/2.0/arca/tokens/create" |
            python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')"
        export BENCH_AUTH_HEADER
    fi
    mem_row "$name" "memory once started (settled)" "$(python3 "$LIB/proctree.py" settle "$PGID")"

    python3 "$LIB/seed_registry.py" "$BASE" "$MODELS" "$VERSIONS" bench-m- bench-writes
    python3 "$LIB/proctree.py" sample "$PGID" "$dir/peak.json" 0.5 &
    SAMPLER=$!

    wrk_run "$name" "model-versions/get" "$DURATION" get_version
    wrk_run "$name" "registered-models/alias GET" "$DURATION" get_alias
    wrk_run "$name" "registered-models/get-latest-versions" "$DURATION" latest
    wrk_run "$name" "model-versions/create (one model)" "$WRITE_DURATION" create_version
    wrk_run "$name" "model-versions/transition-stage" "$WRITE_DURATION" transition
    wrk_run "$name" "registered-models/alias POST" "$WRITE_DURATION" set_alias
    wrk_run "$name" "model-versions/set-tag" "$WRITE_DURATION" set_tag
    wrk_run "$name" "registered-models/create" "$WRITE_DURATION" create_model

    kill "$SAMPLER"
    wait "$SAMPLER" 2>/dev/null || true
    SAMPLER=""
    mem_row "$name" "memory peak while serving the benchmark" "$(cat "$dir/peak.json")"
    stop_group "$PGID"
    wait "$PGID" 2>/dev/null || true
    PGID=""
    python3 "$LIB/report.py" statuses "$name" "$dir/server.log" "$RESULTS"
}

for s in $SERVERS; do
    measure_start "$s"
done
for s in $SERVERS; do
    bench_server "$s"
done

LOAD_AFTER="$(load_line)"
{
    echo "Measured $DATE with bench/registry.sh on $(machine_line)."
    echo "Load average (1/5/15 min) before: $LOAD_BEFORE; after: $LOAD_AFTER."
    if [[ " $SERVERS " == *" arca "* ]]; then
        echo "Arca: $ARCA_ORIGIN."
    fi
    if [[ " $SERVERS " == *" mlflow "* ]]; then
        echo "MLflow: $("$MLFLOW" --version | tail -n1), \`mlflow server\` with its default workers."
    fi
    echo "Seeded $MODELS models x $VERSIONS versions; wrk: $THREADS thread(s), $CONNS connections, ${DURATION} s per read and ${WRITE_DURATION} s per write run after ${WARMUP} s of warm-up."
    echo
    python3 "$LIB/report.py" registry "$RESULTS"
} | tee "${BENCH_OUT:-/dev/null}"
