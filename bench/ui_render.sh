#!/usr/bin/env bash
# Arca alone: how long the web UI's model page takes to render for a model with 100,000
# versions and for one with 10. Not a test: it prints numbers.
#
#   bench/ui_render.sh
#
# Seeding 100,000 versions through the HTTP API would take long, so the script lets Arca
# create and migrate a fresh SQLite database, stops it, inserts the rows with sqlite3 in one
# transaction (schema: crates/arca-store/migrations/sqlite/), and starts Arca on the result:
#   - `big-model` with UI_RENDER_BIG versions and `small-model` with UI_RENDER_SMALL, each
#     version created one minute after the one before (from 2023-11-14 22:13 UTC), with an
#     s3:// source, a run_id, a description and a creator; every tenth version tagged
#     `data=week-<n>`, every fourth Archived, the middle one in Production with the alias
#     `champion`, the one before the newest in Staging.
# No ANALYZE is run: the database looks like one Arca filled itself.
# Then bench/lib/ui_render.py GETs /models/<name> (the HTML page: header, latest versions per
# stage, and one 25-row page of the versions table) for the first page, the middle page (via
# `after=`, as the "Next" links page), the last page (`last=1`) and filtered pages of each model,
# one request after another on one connection.
#
# Environment (all optional):
#   UI_RENDER_BIG=100000 UI_RENDER_SMALL=10   versions of the two models
#   UI_RENDER_WARMUP=3 UI_RENDER_REPS=30      untimed and timed requests per page
#   ARCA_BIN                                  arca binary (default: cargo build --release -p arca)
#   BENCH_OUT=FILE                            also write the report there
#   BENCH_KEEP=1                              keep the temp dir (database, log, raw JSON lines)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=bench/lib/common.sh
source "$ROOT/bench/lib/common.sh"
LIB="$ROOT/bench/lib"

BIG_VERSIONS="${UI_RENDER_BIG:-100000}"
SMALL_VERSIONS="${UI_RENDER_SMALL:-10}"

command -v sqlite3 >/dev/null || die "sqlite3 is missing (apt-get install sqlite3)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/arca-bench-ui.XXXXXX")"
DB="$WORK/data/arca.db"
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

start_arca() {
    local port
    port="$(free_port)"
    BASE="http://127.0.0.1:$port"
    (exec setsid "$ARCA" server --host 127.0.0.1 --port "$port" --data-dir "$WORK/data" \
        >>"$WORK/server.log" 2>&1) &
    PGID=$!
    wait_health "$BASE" "$PGID" 120
}

stop_arca() {
    stop_group "$PGID"
    wait "$PGID" 2>/dev/null || true
    PGID=""
}

LOAD_BEFORE="$(load_line)"
DATE="$(date -u '+%Y-%m-%d %H:%M UTC')"
echo "==> $DATE; $(machine_line); load average $LOAD_BEFORE" >&2

echo "==> migrating a fresh database" >&2
start_arca
stop_arca

echo "==> inserting big-model ($BIG_VERSIONS versions) and small-model ($SMALL_VERSIONS)" >&2
T0=$(now_ms)
sqlite3 "$DB" >/dev/null <<SQL
PRAGMA foreign_keys = ON;
BEGIN;
CREATE TEMP TABLE layout (id INTEGER, name TEXT, versions INTEGER);
INSERT INTO layout VALUES (1, 'big-model', $BIG_VERSIONS), (2, 'small-model', $SMALL_VERSIONS);
INSERT INTO registered_models (id, name, description, creation_time, last_updated_time, next_version)
  SELECT id, name, '# ' || name || char(10) || char(10) || 'Seeded by bench/ui_render.sh.',
         1700000000000, 1700000000000 + versions * 60000, versions + 1
  FROM layout;
WITH RECURSIVE v(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM v WHERE i < $BIG_VERSIONS)
INSERT INTO model_versions (model_id, model_name, version, creation_time, last_updated_time,
                            user_id, current_stage, description, source, run_id, status)
  SELECT l.id, l.name, v.i, 1700000000000 + v.i * 60000, 1700000000000 + v.i * 60000, 'bench',
         CASE WHEN v.i = l.versions - 1 THEN 'Staging'
              WHEN v.i = l.versions / 2 THEN 'Production'
              WHEN v.i % 4 = 0 THEN 'Archived'
              ELSE 'None' END,
         'Retrained, run ' || v.i, 's3://bench/' || l.name || '/' || v.i,
         lower(hex(randomblob(16))), 'READY'
  FROM layout l JOIN v ON v.i <= l.versions
  ORDER BY l.id, v.i;
INSERT INTO model_version_tags (model_id, version, key, value)
  SELECT model_id, version, 'data', 'week-' || (version / 10) FROM model_versions
  WHERE version % 10 = 0;
INSERT INTO registered_model_aliases (model_id, alias, version)
  SELECT id, 'champion', versions / 2 FROM layout;
INSERT INTO registered_model_tags (model_id, key, value)
  SELECT id, 'team', 'bench' FROM layout;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
SEED_MS=$(($(now_ms) - T0))
COUNT=$(sqlite3 "$DB" "SELECT COUNT(*) FROM model_versions")
[[ "$COUNT" == "$((BIG_VERSIONS + SMALL_VERSIONS))" ]] || die "expected $((BIG_VERSIONS + SMALL_VERSIONS)) versions, found $COUNT"
echo "    $COUNT versions in $((SEED_MS / 1000)) s; database file $(du -m "$DB" | cut -f1) MiB" >&2

echo "==> starting arca on it" >&2
start_arca

# Pages: (label, path) for each model, reached by the links the page itself shows: "Next" is
# `after=<the last version shown>`, "Previous" `before=<the first one>`, "Last" `last=1`. The
# middle page starts after the middle version; the last page is read from the list's end. A
# day is 1,440 versions of the big model: the created range holds the oldest ~1,550. Every tenth
# version is tagged: the tagged middle starts ten above the middle, so the small model has one.
pages_of() {
    local name="$1" versions="$2" mid day_mid
    mid=$((versions / 2 > 1 ? versions / 2 : 1))
    day_mid=$((versions < 1400 ? mid : 700))
    printf '%s\t%s\n' \
        "$name: first page" "/models/$name" \
        "$name: middle page (after=$mid)" "/models/$name?after=$mid" \
        "$name: page before the middle (before=$mid)" "/models/$name?before=$mid" \
        "$name: last page (last=1)" "/models/$name?last=1" \
        "$name: oldest first" "/models/$name?order=oldest" \
        "$name: oldest first, middle (after=$mid)" "/models/$name?order=oldest&after=$mid" \
        "$name: stage=Archived" "/models/$name?stage=Archived" \
        "$name: stage=Archived, middle (after=$mid)" "/models/$name?stage=Archived&after=$mid" \
        "$name: stage=Archived, last page" "/models/$name?stage=Archived&last=1" \
        "$name: tag data (key), first page" "/models/$name?tag=data" \
        "$name: tag data (key), middle (after=$((mid + 10)))" \
        "/models/$name?tag=data&after=$((mid + 10))" \
        "$name: tag data=week-1" "/models/$name?tag=data%3Dweek-1" \
        "$name: alias champion" "/models/$name?alias=champion" \
        "$name: created 2023-11-14..2023-11-15" "/models/$name?from=2023-11-14&to=2023-11-15" \
        "$name: created 2023-11-14..2023-11-15, after=$day_mid" \
        "/models/$name?from=2023-11-14&to=2023-11-15&after=$day_mid"
}
UI_RENDER_PAGES="$(pages_of big-model "$BIG_VERSIONS"
    pages_of small-model "$SMALL_VERSIONS")" \
    python3 "$LIB/ui_render.py" "$BASE" >"$WORK/results.jsonl"
stop_arca

python3 - "$WORK/results.jsonl" "$DATE" "$(machine_line)" "$LOAD_BEFORE" "$(load_line)" \
    "$ARCA_ORIGIN" "$COUNT" "$SEED_MS" <<'EOF' | tee "${BENCH_OUT:-/dev/null}"
import json, sys
results, date, machine, load_before, load_after, origin, count, seed_ms = sys.argv[1:]
print(f"- Measured {date} with bench/ui_render.sh on {machine}.")
print(f"- Load average (1/5/15 min) before: {load_before}; after: {load_after}.")
print(f"- Arca: {origin}; SQLite, {int(count):,} versions inserted with sqlite3 in {int(seed_ms) / 1000:.1f} s.")
print("- Latency of GET /models/<name> (HTML), one request at a time on one keep-alive connection.")
print()
print("| page | rows shown | bytes | min | p50 | p90 | max |")
print("|---|---|---|---|---|---|---|")
ms = lambda v: f"{v:.1f} ms" if v >= 10 else f"{v:.2f} ms"
for line in open(results):
    r = json.loads(line)
    print(f"| {r['page']} | {r['rows']} | {r['bytes']:,} | {ms(r['min'])} | {ms(r['p50'])} | "
          f"{ms(r['p90'])} | {ms(r['max'])} |")
EOF
