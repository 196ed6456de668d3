#!/usr/bin/env bash
# Artifact streaming through the server: a large file up and down the mlflow-artifacts proxy.
#
#   bench/artifacts.sh [SIZE_MIB [RUNS]]        (default 2048 MiB, 3 runs)
#
# Reports the median of RUNS runs, for one file of SIZE_MIB random bytes on the local disk:
#   - cp of the same file (warm page cache), the baseline the design compares against;
#   - PUT through `arca server` with curl (streamed, hashed, fsynced, renamed into place);
#   - GET through the server (SHA-256 verified while streaming) to /dev/null and to a file;
#   - the same upload and download with the real `mlflow` client (mlflow.log_artifact and
#     mlflow.artifacts.download_artifacts through the mlflow-artifacts proxy), when its venv is
#     there (ARCA_BENCH_PYTHON, default .venv/bin/python);
#   - the server's CPU time per transfer (user + system, from /proc): on a shared machine the
#     wall-clock rates move with the load, the CPU a transfer costs much less;
#   - the server's peak RSS (VmHWM) after start-up and after the transfers (run two sizes to see
#     that it does not grow with the file).
# The local artifact store fsyncs every file before answering (a 200 is durable); cp does not,
# so `cp + sync` is printed too. Not a test: it prints numbers and checks the bytes match.
#
# ARCA_BIN: the binary to run (default: target/release/arca, built if missing).
# ARCA_BENCH_DIR: where to put the data (default: a new folder under ${TMPDIR:-/tmp}).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SIZE_MIB="${1:-2048}"
RUNS="${2:-3}"
BIN="${ARCA_BIN:-$ROOT/target/release/arca}"
if [[ -z "${ARCA_BIN:-}" ]]; then
    (cd "$ROOT" && cargo build --release -p arca --quiet)
fi

WORK="${ARCA_BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/arca-bench-artifacts.XXXXXX")}"
mkdir -p "$WORK"
SERVER_PID=""
cleanup() {
    if [[ -n "$SERVER_PID" ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

now() { date +%s.%N; }
# median_rate BYTES SECONDS... -> "<median MiB/s> MiB/s (runs: ...)"
median_rate() {
    python3 -c "
import statistics, sys
b = float(sys.argv[1]); ts = [float(t) for t in sys.argv[2:]]
rates = [b / t / 1048576 for t in ts]
print(f'{statistics.median(rates):8.1f} MiB/s  (runs: ' + ', '.join(f'{r:.0f}' for r in rates) + ')')
" "$@"
}
# timed CMD... -> seconds on stdout
timed() {
    local s e
    s=$(now)
    "$@"
    e=$(now)
    python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$s" "$e"
}
hwm_kib() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
# cpu_s PID -> user + system CPU seconds of the process so far
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"; }
# cpu_per_run BEFORE AFTER -> "server CPU x.xx s/run"
cpu_per_run() { python3 -c "import sys; print(f'server CPU {(float(sys.argv[2]) - float(sys.argv[1])) / int(sys.argv[3]):.2f} s/run')" "$1" "$2" "$RUNS"; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

SRC="$WORK/big.bin"
echo "==> writing $SIZE_MIB MiB of random bytes"
head -c "$((SIZE_MIB * 1048576))" /dev/urandom >"$SRC"
BYTES=$(stat -c %s "$SRC")
SHA=$(sha256sum "$SRC" | cut -d' ' -f1)
cat "$SRC" >/dev/null # warm the page cache for every reader alike

sync # the generated file's write-back must not slow what is measured next

echo "==> baseline ($RUNS runs each, median)"
times=()
for _ in $(seq "$RUNS"); do
    times+=("$(timed cp "$SRC" "$WORK/copy.bin")")
    rm -f "$WORK/copy.bin"; sync
done
echo "cp                    $(median_rate "$BYTES" "${times[@]}")"
times=()
for _ in $(seq "$RUNS"); do
    times+=("$(timed sh -c 'cp "$1" "$2" && sync' sh "$SRC" "$WORK/copy.bin")")
    rm -f "$WORK/copy.bin"; sync
done
echo "cp + sync             $(median_rate "$BYTES" "${times[@]}")"

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ARCA_LOG=warn "$BIN" server --host 127.0.0.1 --port "$PORT" --data-dir "$WORK/data" &
SERVER_PID=$!
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 1 500); do
    curl -fsS "$BASE/health" >/dev/null 2>&1 && break
    sleep 0.02
done
curl -fsS "$BASE/health" >/dev/null
echo "==> arca server (pid $SERVER_PID): peak RSS after start-up $(hwm_kib "$SERVER_PID") KiB"

URL="$BASE/api/2.0/mlflow-artifacts/artifacts/bench/big.bin"
times=()
c0=$(cpu_s "$SERVER_PID")
for _ in $(seq "$RUNS"); do
    times+=("$(timed curl -fsS -T "$SRC" "$URL")")
    sync
done
echo "PUT  (upload)          $(median_rate "$BYTES" "${times[@]}")   $(cpu_per_run "$c0" "$(cpu_s "$SERVER_PID")")   peak RSS $(hwm_kib "$SERVER_PID") KiB"
times=()
c0=$(cpu_s "$SERVER_PID")
for _ in $(seq "$RUNS"); do
    times+=("$(timed curl -fsS -o /dev/null "$URL")")
done
echo "GET  -> /dev/null      $(median_rate "$BYTES" "${times[@]}")   $(cpu_per_run "$c0" "$(cpu_s "$SERVER_PID")")   peak RSS $(hwm_kib "$SERVER_PID") KiB"
times=()
c0=$(cpu_s "$SERVER_PID")
for _ in $(seq "$RUNS"); do
    rm -f "$WORK/down.bin"; sync
    times+=("$(timed curl -fsS -o "$WORK/down.bin" "$URL")")
done
echo "GET  -> file           $(median_rate "$BYTES" "${times[@]}")   $(cpu_per_run "$c0" "$(cpu_s "$SERVER_PID")")   peak RSS $(hwm_kib "$SERVER_PID") KiB"

PY="${ARCA_BENCH_PYTHON:-$ROOT/.venv/bin/python}"
if [[ -x "$PY" ]]; then
    # One run per call: a run's artifacts go to mlflow-artifacts:/0/<run id>/artifacts.
    mlflow_times=$(MLFLOW_TRACKING_URI="$BASE" "$PY" - "$SRC" "$WORK/mlflow-down" "$RUNS" <<'PYEOF'
import os, shutil, sys, time
import mlflow
src, down, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
up, get = [], []
for _ in range(runs):
    with mlflow.start_run() as run:
        t = time.perf_counter()
        mlflow.log_artifact(src, "bench")
        up.append(time.perf_counter() - t)
    os.sync()
    shutil.rmtree(down, ignore_errors=True)
    t = time.perf_counter()
    mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="bench", dst_path=down)
    get.append(time.perf_counter() - t)
print("TIMES", " ".join(map(str, up)), "|", " ".join(map(str, get)))
PYEOF
)
    mlflow_times=$(grep '^TIMES ' <<<"$mlflow_times") # the client also prints run links
    mlflow_times=${mlflow_times#TIMES }
    read -r -a up <<<"${mlflow_times%%|*}"
    read -r -a down <<<"${mlflow_times##*|}"
    echo "mlflow log_artifact    $(median_rate "$BYTES" "${up[@]}")   peak RSS $(hwm_kib "$SERVER_PID") KiB"
    echo "mlflow download        $(median_rate "$BYTES" "${down[@]}")   peak RSS $(hwm_kib "$SERVER_PID") KiB"
    MLFLOW_SHA=$(sha256sum "$WORK/mlflow-down/bench/$(basename "$SRC")" | cut -d' ' -f1)
    [[ "$MLFLOW_SHA" == "$SHA" ]] || { echo "the mlflow client downloaded other bytes" >&2; exit 1; }
else
    echo "(no $PY: the mlflow client rows are skipped; set ARCA_BENCH_PYTHON)"
fi

DOWN_SHA=$(sha256sum "$WORK/down.bin" | cut -d' ' -f1)
MANIFEST=$(curl -fsS "$BASE/api/2.0/arca/artifacts/manifest?path=bench")
[[ "$DOWN_SHA" == "$SHA" ]] || { echo "downloaded bytes differ" >&2; exit 1; }
[[ "$MANIFEST" == *"$SHA"* ]] || { echo "manifest lacks the SHA-256: $MANIFEST" >&2; exit 1; }
echo "==> bytes match ($SHA); server RSS now $(rss_kib "$SERVER_PID") KiB, peak $(hwm_kib "$SERVER_PID") KiB"
