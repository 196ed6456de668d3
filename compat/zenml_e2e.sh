#!/usr/bin/env bash
# ZenML end-to-end: ZenML 0.98's MLflow experiment tracker + MLflow model
# registry pointed at the server under test.
#
#   compat/zenml_e2e.sh                          # against target/debug/arca
#   ARCA_ZENML_TARGET=mlflow compat/zenml_e2e.sh # against a real `mlflow server`
#
# Steps: start the server on a free port; register the tracker, the registry
# and a stack in a throwaway ZenML config; run a pipeline whose step trains a
# scikit-learn model and logs it with MLflow, and whose
# mlflow_register_model_step registers it; then run and check
# `zenml model-registry models list / list-versions / get-version /
# update-version --stage Production`, and from Python the registry API and
# load_model_version (see compat/zenml_pipeline.py). Exits non-zero on any
# failure and then prints the server log.
#
# Environment (all optional):
#   ARCA_ZENML_TARGET         arca (default) | mlflow
#   ARCA_BIN                  arca binary (default target/debug/arca)
#   ARCA_ZENML_VENV           venv with zenml (default .test-env/zenml-venv;
#                             created or completed when it lacks the packages)
#   ARCA_ZENML_MLFLOW_VERSION mlflow in that venv (default 3.17.2)
#   ARCA_ZENML_KEEP_TMP=1     keep the temp dir (server data, ZenML config, logs)
#   ARCA_ZENML_AUTH=1         the server checks credentials (arca --auth, or mlflow's
#                             basic-auth app) and ZenML uses those of a non-admin user,
#                             set in the tracker through a ZenML secret: an API token
#                             with arca, username and password with mlflow; see below
#   ARCA_ZENML_MLFLOW_BIN     mlflow executable for ARCA_ZENML_TARGET=mlflow (default
#                             the ZenML venv's; with ARCA_ZENML_AUTH=1 .venv's, which
#                             has mlflow[auth])
#   ARCA_ZENML_ARTIFACTS      local (default) | s3: arca keeps artifacts in a fresh
#                             prefix of an S3-compatible server given by
#                             ARCA_TEST_S3_ENDPOINT, ARCA_TEST_S3_ACCESS_KEY,
#                             ARCA_TEST_S3_SECRET_KEY [, ARCA_TEST_S3_REGION,
#                             ARCA_TEST_S3_BUCKET (default arca-tests, created)]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET="${ARCA_ZENML_TARGET:-arca}"
STATE_DIR="$ROOT/.test-env"
ZVENV="${ARCA_ZENML_VENV:-$STATE_DIR/zenml-venv}"
ZENML_SPEC="zenml[local]==0.98.*"
MLFLOW_VERSION="${ARCA_ZENML_MLFLOW_VERSION:-3.17.2}"
MODEL="zenml-e2e-iris"
export ARCA_ZENML_MODEL="$MODEL" ARCA_ZENML_TRACKER="mlflow_tracker"

AUTH="${ARCA_ZENML_AUTH:-0}"
# The admin only creates the user ZenML runs as; ZenML itself never sees these.
ADMIN_PASSWORD="zenml-e2e-admin-password"
ZENML_USER="zenml-ci"
ZENML_USER_PASSWORD="zenml-ci-password-1"
if [[ "$AUTH" == 1 && "$TARGET" == mlflow ]]; then
    MLFLOW_SERVER_BIN="${ARCA_ZENML_MLFLOW_BIN:-$ROOT/.venv/bin/mlflow}"
else
    MLFLOW_SERVER_BIN="${ARCA_ZENML_MLFLOW_BIN:-}"
fi

ARTIFACTS="${ARCA_ZENML_ARTIFACTS:-local}"
case "$TARGET/$ARTIFACTS" in
arca/local | arca/s3 | mlflow/local) ;;
*)
    echo "zenml_e2e: unsupported ARCA_ZENML_TARGET=$TARGET ARCA_ZENML_ARTIFACTS=$ARTIFACTS" \
        "(want arca or mlflow; s3 only with arca)" >&2
    exit 2
    ;;
esac
if [[ "$ARTIFACTS" == s3 && -z "${ARCA_TEST_S3_ENDPOINT:-}" ]]; then
    echo "zenml_e2e: ARCA_ZENML_ARTIFACTS=s3 needs ARCA_TEST_S3_ENDPOINT" >&2
    exit 2
fi

now_ms() { date +%s%3N; }
fmt_ms() { printf '%d.%01ds' $(($1 / 1000)) $((($1 % 1000) / 100)); }
T0=$(now_ms)
T_STEP=$T0
STEP=""

step() {
    local t
    t=$(now_ms)
    [[ -n "$STEP" ]] && echo "    ($STEP: $(fmt_ms $((t - T_STEP))))"
    STEP="$1"
    T_STEP=$t
    echo
    echo "--- zenml e2e [$TARGET]: $1"
}

fail() {
    echo "zenml_e2e: FAILED: $*" >&2
    exit 1
}

# ---------------------------------------------------------------- venv
step "venv $ZVENV"
venv_ok() {
    "$ZVENV/bin/python" - "$MLFLOW_VERSION" <<'EOF' >/dev/null 2>&1
import sys
import importlib.metadata as md
import importlib.util as iu
ok = all(iu.find_spec(m) for m in ("zenml", "mlflow", "sklearn", "sqlmodel", "rapidjson"))
ok = ok and md.version("zenml").startswith("0.98.") and md.version("mlflow") == sys.argv[1]
sys.exit(0 if ok else 1)
EOF
}
mkdir -p "$STATE_DIR"
(
    # parallel runs must not install into the venv at once
    flock 9
    if [[ -x "$ZVENV/bin/python" ]] && venv_ok; then
        echo "reusing $ZVENV"
    else
        echo "installing $ZENML_SPEC, mlflow==$MLFLOW_VERSION and scikit-learn into $ZVENV"
        t=$(now_ms)
        [[ -x "$ZVENV/bin/python" ]] || python3 -m venv "$ZVENV"
        # What `zenml integration install mlflow` asks for (mlflow>=2.1.1,<4,
        # python-rapidjson<1.15, numpy<3.0, pandas>=2.0.0), with mlflow pinned to
        # the version the compat suite uses; [local] brings the SQLite store.
        "$ZVENV/bin/pip" install -q --progress-bar off "$ZENML_SPEC" "mlflow==$MLFLOW_VERSION" \
            "python-rapidjson<1.15" "numpy<3.0" "pandas>=2.0.0" scikit-learn
        venv_ok || fail "$ZVENV lacks zenml 0.98 / mlflow $MLFLOW_VERSION / scikit-learn after install"
        echo "installed in $(fmt_ms $(($(now_ms) - t)))"
    fi
) 9>"$STATE_DIR/zenml-venv.lock"
"$ZVENV/bin/python" -c 'import importlib.metadata as md; print(*(f"{p} {md.version(p)}" for p in ("zenml", "mlflow", "scikit-learn")), sep=", ")'

# ---------------------------------------------------------------- server
WORK="$(mktemp -d -t arca-zenml.XXXXXX)"
SERVER_LOG="$WORK/server.log"
SERVER_PID=""

stop_server() {
    [[ -n "$SERVER_PID" ]] || return 0
    kill -TERM -- "-$SERVER_PID" 2>/dev/null || true
    local i
    for i in $(seq 100); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1 # waiting for exit, bounded
    done
    kill -KILL -- "-$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

cleanup() {
    local rc=$?
    set +e
    stop_server
    if [[ $rc != 0 ]]; then
        echo >&2
        echo "==================== server log ($TARGET, last 300 lines of $SERVER_LOG)" >&2
        tail -n 300 "$SERVER_LOG" >&2 2>/dev/null
        echo "==================== end of server log" >&2
        echo "zenml_e2e [$TARGET]: FAILED in step '$STEP' (exit $rc, $(fmt_ms $(($(now_ms) - T0))))" >&2
    fi
    if [[ "${ARCA_ZENML_KEEP_TMP:-0}" == 1 ]]; then
        echo "kept $WORK" >&2
    else
        rm -rf "$WORK"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    "$ZVENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# PUT /<bucket> signed with AWS SigV4 (CreateBucket); an existing bucket is fine.
create_s3_bucket() {
    "$ZVENV/bin/python" - "$ARCA_TEST_S3_ENDPOINT" "$S3_ACCESS_KEY" "$S3_SECRET_KEY" "$S3_REGION" "$1" <<'EOF'
import datetime, hashlib, hmac, http.client, sys, urllib.parse
endpoint, access, secret, region, bucket = sys.argv[1:]
u = urllib.parse.urlsplit(endpoint)
now = datetime.datetime.now(datetime.timezone.utc)
amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
empty = hashlib.sha256(b"").hexdigest()
headers = {"host": u.netloc, "x-amz-content-sha256": empty, "x-amz-date": amz_date}
signed = ";".join(sorted(headers))
canonical = "\n".join(["PUT", "/" + bucket, ""] + [f"{k}:{headers[k]}" for k in sorted(headers)] + ["", signed, empty])
scope = f"{day}/{region}/s3/aws4_request"
to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
key = ("AWS4" + secret).encode()
for part in (day, region, "s3", "aws4_request"):
    key = hmac.new(key, part.encode(), hashlib.sha256).digest()
signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
headers["authorization"] = f"AWS4-HMAC-SHA256 Credential={access}/{scope}, SignedHeaders={signed}, Signature={signature}"
conn = (http.client.HTTPSConnection if u.scheme == "https" else http.client.HTTPConnection)(u.netloc, timeout=30)
conn.request("PUT", "/" + bucket, body=b"", headers=headers)
r = conn.getresponse()
body = r.read().decode(errors="replace")
if r.status != 200 and "BucketAlreadyOwnedByYou" not in body and "BucketAlreadyExists" not in body:
    sys.exit(f"creating bucket {bucket}: HTTP {r.status} {body}")
EOF
}

start_server() {
    local port="$1" deadline
    local -a cmd
    if [[ "$TARGET" == arca ]]; then
        local bin="${ARCA_BIN:-$ROOT/target/debug/arca}"
        [[ -x "$bin" ]] || fail "arca binary not found at $bin: run \`cargo build -p arca\` first"
        cmd=("$bin" server --host 127.0.0.1 --port "$port" --data-dir "$WORK/arca-data")
        if [[ "$AUTH" == 1 ]]; then
            cmd=(env ARCA_ADMIN_PASSWORD="$ADMIN_PASSWORD" "${cmd[@]}" --auth)
        fi
        if [[ "$ARTIFACTS" == s3 ]]; then
            cmd=(env AWS_ENDPOINT_URL="$ARCA_TEST_S3_ENDPOINT" AWS_ACCESS_KEY_ID="$S3_ACCESS_KEY"
                AWS_SECRET_ACCESS_KEY="$S3_SECRET_KEY" AWS_REGION="$S3_REGION" AWS_DEFAULT_REGION="$S3_REGION"
                "${cmd[@]}" --artifacts-destination "$S3_DESTINATION")
        fi
        deadline=$(($(now_ms) + 30000))
    else
        cmd=("${MLFLOW_SERVER_BIN:-$ZVENV/bin/mlflow}" server --host 127.0.0.1 --port "$port" --workers 1
            --backend-store-uri "sqlite:///$WORK/mlflow.db" --artifacts-destination "$WORK/mlflow-artifacts")
        if [[ "$AUTH" == 1 ]]; then
            cmd=(env MLFLOW_AUTH_ADMIN_PASSWORD="$ADMIN_PASSWORD" MLFLOW_FLASK_SERVER_SECRET_KEY=zenml-e2e
                "${cmd[@]}" --app-name basic-auth)
        fi
        deadline=$(($(now_ms) + 120000))
    fi
    echo "+ ${cmd[*]}" >>"$SERVER_LOG"
    # own session = own process group, so stop_server also ends mlflow's workers
    (cd "$WORK" && exec setsid "${cmd[@]}") >>"$SERVER_LOG" 2>&1 </dev/null &
    SERVER_PID=$!
    while ! curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/health" 2>/dev/null; do
        kill -0 "$SERVER_PID" 2>/dev/null || {
            wait "$SERVER_PID" 2>/dev/null || true
            SERVER_PID=""
            return 1
        }
        (($(now_ms) < deadline)) || fail "server not healthy on port $port in time"
        sleep 0.2 # poll interval, not a synchronisation delay
    done
}

step "start $TARGET server"
if [[ "$ARTIFACTS" == s3 ]]; then
    S3_ACCESS_KEY="${ARCA_TEST_S3_ACCESS_KEY:-arca}"
    S3_SECRET_KEY="${ARCA_TEST_S3_SECRET_KEY:-arca-secret}"
    S3_REGION="${ARCA_TEST_S3_REGION:-us-east-1}"
    S3_BUCKET="${ARCA_TEST_S3_BUCKET:-arca-tests}"
    create_s3_bucket "$S3_BUCKET" || fail "could not create bucket $S3_BUCKET on $ARCA_TEST_S3_ENDPOINT"
    S3_DESTINATION="s3://$S3_BUCKET/zenml-e2e-$(basename "$WORK")"
    echo "artifacts: $S3_DESTINATION on $ARCA_TEST_S3_ENDPOINT"
fi
SERVER_URL=""
for attempt in 1 2 3; do
    port="$(free_port)"
    if start_server "$port"; then
        SERVER_URL="http://127.0.0.1:$port"
        break
    fi
    echo "server exited before it was healthy on port $port (attempt $attempt)" >&2
done
[[ -n "$SERVER_URL" ]] || fail "could not start the $TARGET server"
echo "server: $SERVER_URL (pid $SERVER_PID, log $SERVER_LOG)"

# ---------------------------------------------------------------- ZenML setup
# Everything ZenML (and MLflow's client) writes stays under $WORK.
for v in $(compgen -e); do
    if [[ "$v" == ZENML_* ]]; then unset "$v"; fi
done
export ZENML_CONFIG_PATH="$WORK/zenml-config"
export ZENML_ANALYTICS_OPT_IN=false ZENML_ENABLE_REPO_INIT_WARNINGS=false
export ZENML_LOGGING_COLORS_DISABLED=true NO_COLOR=1 COLUMNS=400
export XDG_CONFIG_HOME="$WORK/xdg-config" XDG_CACHE_HOME="$WORK/xdg-cache"
export MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true
# A wrong 5xx must fail fast, not back off for minutes.
export MLFLOW_HTTP_REQUEST_MAX_RETRIES=0 MLFLOW_HTTP_REQUEST_TIMEOUT=60
unset MLFLOW_TRACKING_URI MLFLOW_REGISTRY_URI MLFLOW_TRACKING_TOKEN MLFLOW_TRACKING_USERNAME MLFLOW_TRACKING_PASSWORD
PROJECT="$WORK/project"
mkdir -p "$PROJECT"
cp "$ROOT/compat/zenml_pipeline.py" "$PROJECT/"
cd "$PROJECT"

OUT="$WORK/out"
mkdir -p "$OUT"
N=0
LAST_OUT=""
# Run a command, show and keep its output; fail on a non-zero exit.
run() {
    N=$((N + 1))
    LAST_OUT="$OUT/$N.log"
    echo "\$ $*"
    local rc=0
    "$@" >"$LAST_OUT" 2>&1 || rc=$?
    sed 's/^/  | /' "$LAST_OUT"
    ((rc == 0)) || fail "exit $rc from: $*"
}
zenml() { run "$ZVENV/bin/zenml" "$@"; }
# Assert that the last command's output has this exact text.
expect() {
    grep -qF -- "$1" "$LAST_OUT" || fail "output of the last command lacks '$1'"
    echo "ok: output has '$1'"
}
# Assert that the line holding the first pattern (e.g. a property name) also holds the second.
expect_row() {
    grep -F -- "$1" "$LAST_OUT" | grep -qF -- "$2" || fail "no line of the last output has both '$1' and '$2'"
    echo "ok: '$1' row has '$2'"
}

# POST/PATCH a JSON body to the server as USER:PASSWORD; prints the answer, fails on non-2xx.
api() {
    local method="$1" path="$2" who="$3" body="$4"
    curl -fsS --max-time 30 -X "$method" -u "$who" -H 'Content-Type: application/json' \
        -d "$body" "$SERVER_URL$path" || fail "$method $path as ${who%%:*} failed"
}
json_field() { "$ZVENV/bin/python" -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
# Run a command that must fail; keep its output for expect.
run_fails() {
    N=$((N + 1))
    LAST_OUT="$OUT/$N.log"
    echo "\$ $* (must fail)"
    local rc=0
    "$@" >"$LAST_OUT" 2>&1 || rc=$?
    tail -n 15 "$LAST_OUT" | sed 's/^/  | /'
    ((rc != 0)) || fail "succeeded but had to fail: $*"
}

if [[ "$AUTH" == 1 ]]; then
    step "auth: a non-admin user for ZenML, its credentials in a ZenML secret"
    status=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 30 "$SERVER_URL/api/2.0/mlflow/experiments/get-by-name?experiment_name=x")
    [[ "$status" == 401 ]] || fail "an anonymous call got $status, not 401"
    echo "ok: an anonymous call gets 401"
    api POST /api/2.0/mlflow/users/create "admin:$ADMIN_PASSWORD" \
        "{\"username\": \"$ZENML_USER\", \"password\": \"$ZENML_USER_PASSWORD\"}" >/dev/null
    echo "ok: user $ZENML_USER created by the admin (not an admin itself)"
fi

step "register the MLflow experiment tracker, model registry and stack"
zenml init
if [[ "$AUTH" == 1 && "$TARGET" == arca ]]; then
    # An API token of the user, sent as Bearer (MLFLOW_TRACKING_TOKEN).
    read -r TOKEN_ID TOKEN_SECRET < <(api POST /api/2.0/arca/tokens/create "$ZENML_USER:$ZENML_USER_PASSWORD" \
        '{"name": "zenml"}' | "$ZVENV/bin/python" -c 'import json, sys; d = json.load(sys.stdin); print(d["token"]["id"], d["secret"])')
    [[ -n "$TOKEN_SECRET" ]] || fail "no API token"
    "$ZVENV/bin/zenml" secret create arca_auth --token="$TOKEN_SECRET" >"$OUT/secret.log" 2>&1 ||
        { cat "$OUT/secret.log"; fail "zenml secret create"; }
    echo "ok: token $TOKEN_ID of $ZENML_USER stored in the ZenML secret arca_auth"
    CREDENTIALS=(--tracking_token="{{arca_auth.token}}")
elif [[ "$AUTH" == 1 ]]; then
    # MLflow's basic-auth app has no tokens: the user's password, sent as Basic.
    "$ZVENV/bin/zenml" secret create arca_auth --username="$ZENML_USER" --password="$ZENML_USER_PASSWORD" \
        >"$OUT/secret.log" 2>&1 || { cat "$OUT/secret.log"; fail "zenml secret create"; }
    echo "ok: the password of $ZENML_USER stored in the ZenML secret arca_auth"
    CREDENTIALS=(--tracking_username="{{arca_auth.username}}" --tracking_password="{{arca_auth.password}}")
else
    # ZenML insists on credentials for an http(s) tracking URI; they are only sent along.
    CREDENTIALS=(--tracking_username=zenml --tracking_password=zenml)
fi
zenml experiment-tracker register mlflow_tracker --flavor=mlflow \
    --tracking_uri="$SERVER_URL" "${CREDENTIALS[@]}"
zenml model-registry register mlflow_registry --flavor=mlflow
zenml stack register mlflow_stack -o default -a default -e mlflow_tracker -r mlflow_registry --set
expect "mlflow_stack"

step "pipeline: train + log with MLflow, mlflow_register_model_step"
run "$ZVENV/bin/python" zenml_pipeline.py run
RUN_ID="$(sed -n 's/^MLFLOW_RUN_ID=\([0-9a-f]*\)$/\1/p' "$LAST_OUT")"
EXPERIMENT_ID="$(sed -n 's/^MLFLOW_EXPERIMENT_ID=\([0-9a-z-]*\)$/\1/p' "$LAST_OUT")"
[[ -n "$RUN_ID" ]] || fail "the pipeline did not print the MLflow run id"
expect "Registered model $MODEL with version 1 from source runs:/$RUN_ID/model"
if [[ "$ARTIFACTS" == s3 ]]; then
    local_models="$(find "$WORK/arca-data" -name MLmodel 2>/dev/null)"
    [[ -z "$local_models" ]] || fail "artifacts should be in S3, yet the data dir has: $local_models"
    echo "ok: no model files under arca's data dir (they go to $S3_DESTINATION)"
fi

step "zenml model-registry models list"
zenml model-registry models list
expect "$MODEL"

step "zenml model-registry models list-versions"
zenml model-registry models list-versions "$MODEL"
expect_row "$MODEL" " 1 "
expect "zenml_version"

step "zenml model-registry models get-version"
zenml model-registry models get-version "$MODEL" -v 1
expect "Properties of model \`$MODEL\` version \`1\`"
expect_row "REGISTERED_MODEL_NAME" "$MODEL"
expect_row "MODEL_SOURCE_URI" "runs:/$RUN_ID/model"
expect_row "VERSION_DESCRIPTION" "iris logistic regression"
expect_row "METADATA" "'mlflow_run_id': '$RUN_ID'"
expect_row "METADATA" "'zenml_pipeline_name': 'arca_zenml_e2e'"
expect_row "METADATA" "'team': 'arca'"
expect_row "STAGE" "None"

step "zenml model-registry models update-version --stage Production"
zenml model-registry models update-version "$MODEL" -v 1 --stage Production
expect "Model $MODEL version 1 updated successfully."
# With an MLflow 3 client ZenML sets the alias `champion` and leaves the stage alone.
expect_row "METADATA" "'mlflow_aliases': 'champion'"
expect_row "STAGE" "None"
zenml model-registry models get-version "$MODEL" -v 1
expect_row "METADATA" "'mlflow_aliases': 'champion'"

step "registry API and load_model_version (Python)"
run env ARCA_ZENML_RUN_ID="$RUN_ID" "$ZVENV/bin/python" zenml_pipeline.py check

if [[ "$AUTH" == 1 ]]; then
    step "auth: the user's grants, and the same pipeline once its credentials are void"
    # What the user made is its own (MANAGE); nothing else was granted to it.
    for resource in "registered_model&resource_id=$MODEL" "experiment&resource_id=$EXPERIMENT_ID"; do
        got="$(curl -fsS --max-time 30 -u "admin:$ADMIN_PASSWORD" \
            "$SERVER_URL/api/3.0/mlflow/users/permissions/get?username=$ZENML_USER&resource_type=$resource")"
        json_field permission <<<"$got" | grep -qx MANAGE || fail "$ZENML_USER lacks MANAGE on $resource: $got"
        echo "ok: $ZENML_USER manages ${resource%%&*} it created"
    done
    if [[ "$TARGET" == arca ]]; then
        api POST /api/2.0/arca/tokens/revoke "$ZENML_USER:$ZENML_USER_PASSWORD" "{\"id\": \"$TOKEN_ID\"}" >/dev/null
        echo "ok: token $TOKEN_ID revoked"
    else
        api PATCH /api/2.0/mlflow/users/update-password "admin:$ADMIN_PASSWORD" \
            "{\"username\": \"$ZENML_USER\", \"password\": \"a-new-password-1\"}" >/dev/null
        echo "ok: the password of $ZENML_USER changed"
    fi
    run_fails "$ZVENV/bin/python" zenml_pipeline.py run
    # Arca answers MLflow's JSON error; MLflow's basic-auth app a plain-text 401.
    why="$(grep -m1 -oE "UNAUTHENTICATED[^│]{0,80}|error code 401 != 200" "$LAST_OUT")" ||
        fail "the pipeline failed, but not with 401 UNAUTHENTICATED"
    echo "ok: the pipeline fails with 401: $why"
fi

step "done"
STEP=""
echo "zenml_e2e [$TARGET]: OK ($(fmt_ms $(($(now_ms) - T0))))"
