#!/usr/bin/env bash
# Arca and `mlflow server` side by side, one workload, two load generators, two backends, one
# table per backend. Not a test: it prints numbers, as markdown tables.
#
#   bench/compare.sh                    # everything (about 45 min on 2 busy cores)
#   BENCH_QUICK=1 bench/compare.sh      # a few seconds per measurement: checks that it works
#   BENCH_EXTRA=1 bench/compare.sh      # also bench/search_scale.sh and bench/artifacts.sh
#
# For each backend (SQLite: each server its own file; PostgreSQL: a throwaway cluster this
# script starts on a free port and stops on exit, one database per server) and each server
# (mlflow server with its default workers, Arca release build, and on PostgreSQL also two Arca
# replicas on one database driven together):
#   - seeds the same registry and tracking data through the REST API (seed_registry.py,
#     seed_tracking.py);
#   - drives each operation with wrk (registry.lua, no Python in the hot path), then each again
#     with the real mlflow client (client_load.py: processes x threads calling MlflowClient);
#   - records ops/s (successful answers), p50, p99, the server's CPU and the load generator's;
#   - memory (RSS and PSS of the whole process tree) once started and at its peak.
# On SQLite it also times the start to the first 200 on /health, empty data dir and existing
# database. Operations:
#   registry reads:  model-versions/get, registered-models/alias GET, get-latest-versions,
#                    model-versions/search (one model's versions), registered-models/search
#                    (name LIKE, ~10 models a page)
#   registry writes: registered-models/create, model-versions/create (one model),
#                    transition-stage, alias POST, model-versions/set-tag
#   tracking (the operations mlflow-go publishes, 20 concurrent clients): runs/create,
#                    log-batch of 10 and 500 metrics, log-batch of 10 and 100 new params,
#                    runs/search (a 100-run experiment), experiments/search (max_results=100)
# The two replicas: one wrk with 2 threads, each thread (half the connections) sending to one
# replica (WRK_ADDRS in registry.lua); the client's threads alternate between the two.
#
# Environment (all optional):
#   BENCH_QUICK=1                 2 s per measurement, 1 s warm-up, a small seed, 1 start each
#   BENCH_BACKENDS="sqlite postgres"   BENCH_SERVERS="mlflow arca arca2"   BENCH_GENS="wrk client"
#   BENCH_OPS="..."               operation ids (see OPS below), default all
#   BENCH_DURATION=8              seconds per wrk measurement, after BENCH_WARMUP=2 s untimed
#   BENCH_CLIENT_DURATION=8       seconds per mlflow-client measurement (after one untimed call
#                                 per thread)
#   BENCH_CONNECTIONS=16          wrk connections / client threads for registry operations
#   BENCH_TRACKING_CONNECTIONS=20 the same for tracking operations
#   BENCH_CLIENT_PROCS=4          client processes (threads = connections / processes)
#   BENCH_MODELS=100 BENCH_VERSIONS=10   seeded registry (as registry.sh)
#   BENCH_LOG_RUNS=200 BENCH_SEARCH_RUNS=100 BENCH_EXPERIMENTS=100   seeded tracking data
#   BENCH_ARCA_STARTS=5 BENCH_MLFLOW_STARTS=2   start-time runs of each kind (SQLite)
#   BENCH_PG_OPTS="-c max_connections=300"      postgres options (default: durable commits,
#                                 fsync and synchronous_commit on, as a production server)
#   BENCH_EXTRA=1                 then run search_scale.sh and artifacts.sh (BENCH_ARTIFACT_MIB
#                                 =1024, BENCH_ARTIFACT_RUNS=3) and fold their headlines in
#   ARCA_BIN                      arca binary (default: cargo build --release -p arca)
#   BENCH_PYTHON                  python of a venv with mlflow==3.17.2 (and psycopg2 for
#                                 PostgreSQL); default .venv/bin/python when it has both, else
#                                 .test-env/benchvenv, created with pip when missing
#   BENCH_OUT=FILE                also write the report there
#   BENCH_KEEP=1                  keep the temp dir (logs, databases, raw JSON lines)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=bench/lib/common.sh
source "$ROOT/bench/lib/common.sh"
LIB="$ROOT/bench/lib"
MLFLOW_VERSION=3.17.2

QUICK="${BENCH_QUICK:-0}"
q() { if [[ "$QUICK" == 1 ]]; then echo "$2"; else echo "$1"; fi; } # q FULL QUICK
BACKENDS="${BENCH_BACKENDS:-sqlite postgres}"
SERVERS="${BENCH_SERVERS:-mlflow arca arca2}"
GENS="${BENCH_GENS:-wrk client}"
DURATION="${BENCH_DURATION:-$(q 8 2)}"
WARMUP="${BENCH_WARMUP:-$(q 2 1)}"
CLIENT_DURATION="${BENCH_CLIENT_DURATION:-$(q 8 2)}"
CONNS="${BENCH_CONNECTIONS:-16}"
TRACK_CONNS="${BENCH_TRACKING_CONNECTIONS:-20}"
PROCS="${BENCH_CLIENT_PROCS:-4}"
MODELS="${BENCH_MODELS:-$(q 100 20)}"
VERSIONS="${BENCH_VERSIONS:-10}"
LOG_RUNS="${BENCH_LOG_RUNS:-$(q 200 20)}"
SEARCH_RUNS="${BENCH_SEARCH_RUNS:-100}"
EXPERIMENTS="${BENCH_EXPERIMENTS:-100}"
ARCA_STARTS="${BENCH_ARCA_STARTS:-$(q 5 1)}"
MLFLOW_STARTS="${BENCH_MLFLOW_STARTS:-$(q 2 1)}"
PG_OPTS="${BENCH_PG_OPTS:--c max_connections=300}"
EXTRA="${BENCH_EXTRA:-0}"
PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"
export MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true

# id  | wrk op and batch | group | shown as
OPS_TABLE="
get_version         get_version           read     model-versions/get
get_alias           get_alias             read     registered-models/alias GET
latest              latest                read     registered-models/get-latest-versions
search_versions     search_versions       read     model-versions/search (one model)
search_models       search_models         read     registered-models/search (name LIKE)
create_model        create_model          write    registered-models/create
create_version      create_version        write    model-versions/create (one model)
transition          transition            write    model-versions/transition-stage
set_alias           set_alias             write    registered-models/alias POST
set_tag             set_tag               write    model-versions/set-tag
create_run          create_run            tracking CreateRun
log_metrics10       log_metrics:10        tracking LogBatch, 10 metrics
log_metrics500      log_metrics:500       tracking LogBatch, 500 metrics
log_params10        log_params:10         tracking LogBatch, 10 params
log_params100       log_params:100        tracking LogBatch, 100 params
search_runs         search_runs           tracking SearchRuns (100 runs)
search_experiments  search_experiments    tracking SearchExperiments (100)
"
OPS="${BENCH_OPS:-$(awk 'NF {print $1}' <<<"$OPS_TABLE" | tr '\n' ' ')}"
op_field() { awk -v id="$1" -v f="$2" '$1 == id {if (f == 4) {s = $4; for (i = 5; i <= NF; i++) s = s " " $i; print s} else print $f}' <<<"$OPS_TABLE"; }
for op in $OPS; do [[ -n "$(op_field "$op" 2)" ]] || die "unknown operation $op"; done

command -v wrk >/dev/null || die "wrk is missing (apt-get install wrk)"

# ---------------------------------------------------------------- the mlflow venv
needs_pg=0
[[ " $BACKENDS " == *" postgres "* ]] && needs_pg=1
venv_ok() {
    "$1" - "$MLFLOW_VERSION" "$needs_pg" <<'EOF' >/dev/null 2>&1
import sys
import importlib.metadata as md
import importlib.util as iu
ok = iu.find_spec("mlflow") and (sys.argv[2] == "0" or iu.find_spec("psycopg2"))
sys.exit(0 if ok and md.version("mlflow") == sys.argv[1] else 1)
EOF
}
PY="${BENCH_PYTHON:-}"
if [[ -z "$PY" ]]; then
    if [[ -x "$ROOT/.venv/bin/python" ]] && venv_ok "$ROOT/.venv/bin/python"; then
        PY="$ROOT/.venv/bin/python"
    else
        PY="$ROOT/.test-env/benchvenv/bin/python"
        if ! { [[ -x "$PY" ]] && venv_ok "$PY"; }; then
            echo "==> installing mlflow==$MLFLOW_VERSION and psycopg2-binary into .test-env/benchvenv (takes a few minutes)"
            [[ -x "$PY" ]] || python3 -m venv "$ROOT/.test-env/benchvenv"
            "$ROOT/.test-env/benchvenv/bin/pip" install -q --progress-bar off \
                "mlflow==$MLFLOW_VERSION" psycopg2-binary
        fi
    fi
fi
venv_ok "$PY" || die "$PY has no mlflow==$MLFLOW_VERSION$([[ $needs_pg == 1 ]] && echo ' with psycopg2')"
MLFLOW="$(dirname "$PY")/mlflow"

# ---------------------------------------------------------------- work dir and cleanup
WORK="$(mktemp -d "${TMPDIR:-/tmp}/arca-bench-compare.XXXXXX")"
chmod 755 "$WORK"
RESULTS="$WORK/results.jsonl"
PGID=""
SAMPLER=""
PG_DIR=""
PG_PORT=""
as_pg() { # the postgres tools refuse to run as root
    if [[ "$(id -u)" == 0 ]]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}
pg_stop() {
    if [[ -n "$PG_DIR" ]]; then
        as_pg "$PGBIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
        PG_DIR=""
    fi
}
cleanup() {
    if [[ -n "$SAMPLER" ]]; then kill "$SAMPLER" 2>/dev/null || true; fi
    if [[ -n "$PGID" ]]; then stop_group "$PGID"; fi
    pg_stop
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

pg_start() {
    [[ -x "$PGBIN/initdb" ]] || die "no $PGBIN/initdb (apt-get install postgresql, or set PGBIN)"
    PG_DIR="$WORK/pg"
    mkdir -p "$PG_DIR"
    if [[ "$(id -u)" == 0 ]]; then chown postgres:postgres "$PG_DIR"; fi
    as_pg "$PGBIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --locale=C \
        --no-sync >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
    local port attempt
    for attempt in 1 2 3; do
        port="$(free_port)"
        # shellcheck disable=SC2086
        if as_pg "$PGBIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/pg.log" -w -t 60 start \
            -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$PG_DIR $PG_OPTS" >/dev/null; then
            PG_PORT="$port"
            return 0
        fi
        echo "postgres did not start on port $port (attempt $attempt)" >&2
    done
    cat "$PG_DIR/pg.log" >&2 || true
    die "could not start PostgreSQL"
}
pg_url() { echo "postgresql://postgres@127.0.0.1:$PG_PORT/$1"; }
pg_createdb() { psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -Atqc "create database $1" >/dev/null; }

LOAD_BEFORE="$(load_line)"
DATE="$(date -u '+%Y-%m-%d %H:%M UTC')"
echo "==> $DATE; $(machine_line); load average $LOAD_BEFORE"
echo "    python: $PY; runs: backends [$BACKENDS], servers [$SERVERS], load generators [$GENS]"

# ---------------------------------------------------------------- start time (SQLite)
server_cmd() { # server_cmd NAME -> argv with {port} and {dir}
    case "$1" in
    arca) echo "$ARCA server --host 127.0.0.1 --port {port} --data-dir {dir}/data" ;;
    mlflow) echo "$MLFLOW server --host 127.0.0.1 --port {port} --backend-store-uri sqlite:///{dir}/mlflow.db --artifacts-destination {dir}/artifacts" ;;
    esac
}
if [[ " $BACKENDS " == *" sqlite "* ]]; then
    for name in mlflow arca; do
        [[ " $SERVERS " == *" $name "* ]] || continue
        runs=$([[ "$name" == arca ]] && echo "$ARCA_STARTS" || echo "$MLFLOW_STARTS")
        echo "==> $name: start to first 200 on /health (SQLite)"
        for reuse in "" --reuse; do
            # shellcheck disable=SC2046,SC2086
            python3 "$LIB/start_time.py" --runs "$runs" --server "$name" --results "$RESULTS" \
                --workdir "$WORK/start-$name" $reuse -- $(server_cmd "$name")
        done
    done
fi

# ---------------------------------------------------------------- one server, every operation
row() { # row JSON KEY=VALUE... -> appends JSON plus the pairs to RESULTS
    python3 -c 'import json, sys; r = json.loads(sys.argv[1]); r.update(kv.split("=", 1) for kv in sys.argv[2:]); print(json.dumps(r))' \
        "$@" >>"$RESULTS"
}

op_conns() { if [[ "$(op_field "$1" 3)" == tracking ]]; then echo "$TRACK_CONNS"; else echo "$CONNS"; fi; }

measure_wrk() { # measure_wrk SERVER BACKEND OP
    local server="$1" backend="$2" op="$3" spec luaop batch=10 conns label tag threads=1 addrs=""
    spec="$(op_field "$op" 2)"
    luaop="${spec%%:*}"
    if [[ "$spec" == *:* ]]; then batch="${spec##*:}"; fi
    conns="$(op_conns "$op")"
    label="$(op_field "$op" 4)"
    tag="$RANDOM$RANDOM"
    if [[ "$server" == arca2 ]]; then threads=2; addrs="${HOSTPORTS[*]}"; addrs="${addrs// /,}"; fi
    # wrk stops sending at the end of a run, but a server may still be working through the
    # requests it had queued (MLflow after LogBatch 500 can take tens of seconds): a measurement
    # started then counts the last one's backlog. One request through the same handlers and
    # database waits behind that queue (MLflow answers /health on its event loop, without it),
    # so its answer marks an idle server.
    local b
    for b in "${BASES[@]}"; do
        curl -fsS -o /dev/null --max-time 600 "$b/api/2.0/mlflow/experiments/get?experiment_id=0" ||
            die "the server at $b did not answer after the last measurement"
    done
    local args=(-t"$threads" -c"$conns" --timeout 60s -s "$LIB/registry.lua" "${BASES[0]}"
        -- "op=$luaop" "batch=$batch" "models=$MODELS" "versions=$VERSIONS" prefix=bench-m-
        write_model=bench-writes "experiment=$CREATE_EXP" "search_experiment=$SEARCH_EXP"
        "runs=$SDIR/log_runs.txt" page=100)
    if ((WARMUP > 0)); then
        WRK_ADDRS="$addrs" python3 "$LIB/run_wrk.py" --results "$RESULTS" --server "$server" \
            --label "$label" --pid "$PGID" -- -d"${WARMUP}s" "${args[@]}" "run=w$tag"
    fi
    WRK_ADDRS="$addrs" python3 "$LIB/run_wrk.py" --results "$RESULTS" --server "$server" \
        --label "$label" --pid "$PGID" --record --extra "backend=$backend" --extra gen=wrk \
        --extra "op=$op" --extra "group=$(op_field "$op" 3)" --extra "connections=$conns" \
        -- -d"${DURATION}s" "${args[@]}" "run=m$tag"
}

measure_client() { # measure_client SERVER BACKEND: every operation, one after another
    local server="$1" backend="$2" op spec batch specs=() uris=() b
    for op in $OPS; do
        spec="$(op_field "$op" 2)"
        batch=10
        if [[ "$spec" == *:* ]]; then batch="${spec##*:}"; fi
        specs+=(--op "$op|${spec%%:*}|$batch|$(($(op_conns "$op") / PROCS))|$(op_field "$op" 3)|$(op_field "$op" 4)")
    done
    for b in "${BASES[@]}"; do uris+=(--uri "$b"); done
    "$PY" "$LIB/client_load.py" --results "$RESULTS" --server "$server" --pid "$PGID" \
        "${specs[@]}" "${uris[@]}" --seconds "$CLIENT_DURATION" --procs "$PROCS" \
        --tracking "$SDIR/tracking.json" --models "$MODELS" --versions "$VERSIONS" \
        --run "c$RANDOM$RANDOM" --extra "backend=$backend" --extra gen=client
}

bench_server() { # bench_server NAME BACKEND
    local name="$1" backend="$2" store="" port port2
    SDIR="$WORK/serve-$name-$backend"
    mkdir -p "$SDIR"
    port="$(free_port)"
    BASES=("http://127.0.0.1:$port")
    HOSTPORTS=("127.0.0.1:$port")
    if [[ "$backend" == postgres ]]; then
        pg_createdb "bench_$name"
        store="$(pg_url "bench_$name")"
    fi
    echo "==> $name on $backend: serving on ${BASES[0]}"
    # setsid: the server leads its own process group, so cleanup stops all of mlflow's workers
    # (and both replicas).
    case "$name" in
    mlflow)
        # SQLAlchemy 2.1's default PostgreSQL driver is psycopg 3: name psycopg2 (what the venv has)
        if [[ -n "$store" ]]; then store="${store/postgresql:/postgresql+psycopg2:}"; else store="sqlite:///$SDIR/mlflow.db"; fi
        (cd "$SDIR" && exec setsid "$MLFLOW" server --host 127.0.0.1 --port "$port" \
            --backend-store-uri "$store" --artifacts-destination "$SDIR/artifacts" \
            >"$SDIR/server.log" 2>&1) &
        ;;
    arca)
        (cd "$SDIR" && exec setsid "$ARCA" server --host 127.0.0.1 --port "$port" \
            --data-dir "$SDIR/data" ${store:+--backend-store-uri "$store"} >"$SDIR/server.log" 2>&1) &
        ;;
    arca2)
        [[ -n "$store" ]] || die "two replicas need PostgreSQL"
        port2="$(free_port)"
        BASES+=("http://127.0.0.1:$port2")
        HOSTPORTS+=("127.0.0.1:$port2")
        # The second replica starts once the first has migrated the database.
        (cd "$SDIR" && exec setsid bash -c '
            "$1" server --host 127.0.0.1 --port "$2" --data-dir "$5/data-a" --backend-store-uri "$4" &
            for _ in $(seq 600); do curl -fsS -o /dev/null "http://127.0.0.1:$2/health" 2>/dev/null && break; sleep 0.05; done
            "$1" server --host 127.0.0.1 --port "$3" --data-dir "$5/data-b" --backend-store-uri "$4" &
            wait' replicas "$ARCA" "$port" "$port2" "$store" "$SDIR" >"$SDIR/server.log" 2>&1) &
        ;;
    esac
    PGID=$!
    local b
    for b in "${BASES[@]}"; do wait_health "$b" "$PGID" 300; done
    row "$(python3 "$LIB/proctree.py" settle "$PGID")" server="$name" backend="$backend" \
        label="memory once started (settled)"

    python3 "$LIB/seed_registry.py" "${BASES[0]}" "$MODELS" "$VERSIONS" bench-m- bench-writes
    python3 "$LIB/seed_tracking.py" "${BASES[0]}" "$SDIR" "$LOG_RUNS" "$SEARCH_RUNS" "$EXPERIMENTS"
    CREATE_EXP="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["create_experiment"])' "$SDIR/tracking.json")"
    SEARCH_EXP="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["search_experiment"])' "$SDIR/tracking.json")"

    python3 "$LIB/proctree.py" sample "$PGID" "$SDIR/peak.json" 0.5 &
    SAMPLER=$!
    local op
    if [[ " $GENS " == *" wrk "* ]]; then
        for op in $OPS; do measure_wrk "$name" "$backend" "$op"; done
    fi
    if [[ " $GENS " == *" client "* ]]; then measure_client "$name" "$backend"; fi
    kill "$SAMPLER"
    wait "$SAMPLER" 2>/dev/null || true
    SAMPLER=""
    row "$(cat "$SDIR/peak.json")" server="$name" backend="$backend" \
        label="memory peak while serving the benchmark"
    stop_group "$PGID"
    wait "$PGID" 2>/dev/null || true
    PGID=""
    python3 "$LIB/report.py" statuses "$name@$backend" "$SDIR/server.log" "$RESULTS"
}

for backend in $BACKENDS; do
    if [[ "$backend" == postgres ]]; then
        pg_start
        echo "==> PostgreSQL $(psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -Atqc 'show server_version') on port $PG_PORT ($PG_OPTS)"
    fi
    for name in $SERVERS; do
        if [[ "$name" == arca2 && "$backend" != postgres ]]; then continue; fi
        bench_server "$name" "$backend"
    done
    if [[ "$backend" == postgres ]]; then pg_stop; fi
done

# ---------------------------------------------------------------- the 1M-version and artifact runs
if [[ "$EXTRA" == 1 ]]; then
    echo "==> bench/search_scale.sh"
    ARCA_BIN="$ARCA" BENCH_OUT="$WORK/scale.md" "$ROOT/bench/search_scale.sh"
    echo "==> bench/artifacts.sh ${BENCH_ARTIFACT_MIB:-1024} ${BENCH_ARTIFACT_RUNS:-3}"
    ARCA_BIN="$ARCA" ARCA_BENCH_PYTHON="$PY" "$ROOT/bench/artifacts.sh" \
        "${BENCH_ARTIFACT_MIB:-1024}" "${BENCH_ARTIFACT_RUNS:-3}" | tee "$WORK/artifacts.txt"
fi

LOAD_AFTER="$(load_line)"
{
    echo "Measured $DATE with bench/compare.sh$([[ "$QUICK" == 1 ]] && echo ' (BENCH_QUICK=1)') on $(machine_line)."
    echo "Load average (1/5/15 min) before: $LOAD_BEFORE; after: $LOAD_AFTER."
    echo "Arca: $ARCA_ORIGIN. MLflow: $("$MLFLOW" --version | tail -n1), \`mlflow server\` with its default workers."
    if [[ -n "$PG_PORT" ]]; then echo "PostgreSQL 15: a fresh cluster, one database per server, options \`$PG_OPTS\` (fsync and synchronous_commit at their defaults unless named)."; fi
    echo "Seeded $MODELS models x $VERSIONS versions, $LOG_RUNS + $SEARCH_RUNS runs, $EXPERIMENTS + 3 experiments. wrk: ${DURATION} s per measurement after ${WARMUP} s of warm-up; mlflow client: ${CLIENT_DURATION} s, $PROCS processes; $CONNS connections (registry) and $TRACK_CONNS (tracking) for both."
    echo
    python3 "$LIB/report.py" compare "$RESULTS" \
        $([[ -f "$WORK/scale.md" ]] && echo "--scale $WORK/scale.md") \
        $([[ -f "$WORK/artifacts.txt" ]] && echo "--artifacts $WORK/artifacts.txt")
} | tee "${BENCH_OUT:-/dev/null}"
