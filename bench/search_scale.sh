#!/usr/bin/env bash
# Arca alone, on a big registry: 1,000,000 model versions. Not a test: it prints numbers.
#
#   bench/search_scale.sh
#
# Seeding a million versions through the HTTP API would take long, so the script lets Arca
# create and migrate a fresh SQLite database, stops it, inserts the rows with sqlite3 in one
# transaction (schema: crates/arca-store/migrations/sqlite/), and starts Arca on the result:
#   - SCALE_MODELS models m-1..m-N with SCALE_VERSIONS versions each, plus `big-model` with
#     SCALE_BIG_VERSIONS versions (defaults: 1000 x 900 + 100,000 = 1,000,000 versions);
#   - one tag per version, a run_id and an s3:// source each; in every model the newest
#     version is in None, the one before in Staging, the middle one in Production with the
#     alias `champion`, and every fourth older one Archived.
# No ANALYZE is run: the database looks like one Arca filled itself.
# Then bench/lib/scale_queries.py pages through the big model's versions and measures the
# first page, a deeper page and the last page of each search with wrk (see that file).
#
# Environment (all optional):
#   SCALE_MODELS=1000 SCALE_VERSIONS=900 SCALE_BIG_VERSIONS=100000   the seeded layout
#   SCALE_CONNECTIONS="1 16"  wrk concurrencies; SCALE_DURATION=10 s each after SCALE_WARMUP=2
#   SCALE_DEEP_PAGE=5         the "deeper page" (reached by following next_page_token)
#   SCALE_ONLY=TEXT           only the rows (and walks) whose label contains TEXT,
#                             e.g. SCALE_ONLY=registered-models/search
#   ARCA_BIN                  arca binary (default: cargo build --release -p arca)
#   BENCH_OUT=FILE            also write the report there
#   BENCH_KEEP=1              keep the temp dir (database, log, raw JSON lines)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=bench/lib/common.sh
source "$ROOT/bench/lib/common.sh"
LIB="$ROOT/bench/lib"

MODELS="${SCALE_MODELS:-1000}"
VERSIONS="${SCALE_VERSIONS:-900}"
BIG_VERSIONS="${SCALE_BIG_VERSIONS:-100000}"
BIG=big-model

command -v wrk >/dev/null || die "wrk is missing (apt-get install wrk)"
command -v sqlite3 >/dev/null || die "sqlite3 is missing (apt-get install sqlite3)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/arca-bench-scale.XXXXXX")"
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
DB="$WORK/data/arca.db"

start_arca() {
    local port
    port="$(free_port)"
    BASE="http://127.0.0.1:$port"
    (exec setsid "$ARCA" server --host 127.0.0.1 --port "$port" --data-dir "$WORK/data" \
        >>"$WORK/server.log" 2>&1) &
    PGID=$!
}

stop_arca() {
    stop_group "$PGID"
    wait "$PGID" 2>/dev/null || true
    PGID=""
}

LOAD_BEFORE="$(load_line)"
DATE="$(date -u '+%Y-%m-%d %H:%M UTC')"
echo "==> $DATE; $(machine_line); load average $LOAD_BEFORE"

echo "==> migrating a fresh database"
start_arca
wait_health "$BASE" "$PGID" 60
stop_arca

TOTAL=$((MODELS * VERSIONS + BIG_VERSIONS))
echo "==> inserting $MODELS models x $VERSIONS versions + $BIG with $BIG_VERSIONS versions ($TOTAL versions)"
T0=$(now_ms)
# Times: version v of model id m was created at BASE_MS + v minutes + m ms, so the versions of
# all models interleave in time and every model's newest version is its most recently updated.
sqlite3 "$DB" >/dev/null <<SQL
PRAGMA foreign_keys = ON;
BEGIN;
CREATE TEMP TABLE layout AS
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $MODELS)
  SELECT i AS id, 'm-' || i AS name, $VERSIONS AS versions FROM n
  UNION ALL SELECT $MODELS + 1, '$BIG', $BIG_VERSIONS;
INSERT INTO registered_models (id, name, creation_time, last_updated_time, next_version)
  SELECT id, name, 1700000000000 + id, 1700000000000 + versions * 60000 + id, versions + 1
  FROM layout;
WITH RECURSIVE v(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM v WHERE i < $BIG_VERSIONS)
INSERT INTO model_versions (model_id, model_name, version, creation_time, last_updated_time,
                            current_stage, source, run_id, status)
  SELECT l.id, l.name, v.i, 1700000000000 + v.i * 60000 + l.id, 1700000000000 + v.i * 60000 + l.id,
         CASE WHEN v.i = l.versions THEN 'None'
              WHEN v.i = l.versions - 1 THEN 'Staging'
              WHEN v.i = l.versions / 2 THEN 'Production'
              WHEN v.i % 4 = 0 THEN 'Archived'
              ELSE 'None' END,
         's3://bench/' || l.name || '/' || v.i, lower(hex(randomblob(16))), 'READY'
  FROM layout l JOIN v ON v.i <= l.versions
  ORDER BY l.id, v.i;
INSERT INTO model_version_tags (model_id, version, key, value)
  SELECT model_id, version, 'zenml_step_name', 'trainer' FROM model_versions;
INSERT INTO registered_model_aliases (model_id, alias, version)
  SELECT id, 'champion', versions / 2 FROM layout;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
SEED_MS=$(($(now_ms) - T0))
COUNT=$(sqlite3 "$DB" "SELECT COUNT(*) FROM model_versions")
[[ "$COUNT" == "$TOTAL" ]] || die "expected $TOTAL model versions, found $COUNT"
DB_MIB=$(du -m "$DB" | cut -f1)
echo "    $COUNT versions in $((SEED_MS / 1000)) s; database file ${DB_MIB} MiB"

echo "==> start to first 200 on /health with this database"
python3 "$LIB/start_time.py" --runs 5 --server arca --results "$WORK/start.jsonl" \
    --workdir "$WORK/start" --reuse -- "$ARCA" server --host 127.0.0.1 --port '{port}' --data-dir "$WORK/data"
START_MS=$(python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); print("median %.0f ms (min %.0f, max %.0f, %d runs)" % (r["median_ms"], r["min_ms"], r["max_ms"], r["runs"]))' "$WORK/start.jsonl")

echo "==> starting arca on it"
start_arca
wait_health "$BASE" "$PGID" 120
MEM_START="$(python3 "$LIB/proctree.py" settle "$PGID")"
echo "    $MEM_START"

python3 "$LIB/scale_queries.py" "$BASE" "$PGID" "$RESULTS" "$BIG" "$BIG_VERSIONS"
MEM_END="$(python3 "$LIB/proctree.py" mem "$PGID")"
HWM_KIB=$(awk '/^VmHWM/ {print $2}' "/proc/$PGID/status")
stop_arca

LOAD_AFTER="$(load_line)"
rss_mib() { python3 -c 'import json, sys; print(round(json.loads(sys.argv[1])["rss_kib"] / 1024))' "$1"; }
{
    echo "Measured $DATE with bench/search_scale.sh on $(machine_line)."
    echo "Load average (1/5/15 min) before: $LOAD_BEFORE; after: $LOAD_AFTER."
    echo "Arca: $ARCA_ORIGIN."
    echo "Registry: $MODELS models x $VERSIONS versions + $BIG with $BIG_VERSIONS = $COUNT versions, $COUNT version tags; SQLite file ${DB_MIB} MiB, inserted with sqlite3 in $((SEED_MS / 1000)) s."
    echo "Arca on it: start to first 200 on /health $START_MS; RSS once started $(rss_mib "$MEM_START") MiB, after the run $(rss_mib "$MEM_END") MiB, peak (VmHWM) $((HWM_KIB / 1024)) MiB."
    echo
    python3 "$LIB/report.py" scale "$RESULTS"
} | tee "${BENCH_OUT:-/dev/null}"
