# Shared by bench/registry.sh and bench/search_scale.sh: sourced, never run.
# Expects ROOT (the repo root) to be set by the caller.

now_ms() { date +%s%3N; }

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

die() {
    echo "bench: error: $*" >&2
    exit 1
}

# wait_health BASE_URL PID TIMEOUT_S: polls BASE_URL/health until it answers 200.
wait_health() {
    local base="$1" pid="$2" timeout="$3" deadline
    deadline=$(($(now_ms) + timeout * 1000))
    until curl -fsS -o /dev/null "$base/health" 2>/dev/null; do
        kill -0 "$pid" 2>/dev/null || die "the server (pid $pid) exited before answering $base/health"
        (($(now_ms) < deadline)) || die "no 200 from $base/health within ${timeout}s"
        sleep 0.05
    done
}

# stop_group PGID: SIGTERM to a process group we started with setsid, SIGKILL what is left
# after 30 s. mlflow's job runner can take ten seconds or more to go.
stop_group() {
    local pgid="$1" i
    kill -TERM -- "-$pgid" 2>/dev/null || return 0
    for i in $(seq 1 300); do
        kill -0 -- "-$pgid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL -- "-$pgid" 2>/dev/null || true
}

# The release binary, copied into the work dir: other people rebuild target/release while a
# benchmark runs, and the numbers must come from one binary.
# Sets ARCA_ORIGIN, a line for the report.
prepare_arca_bin() {
    local dest="$1" src="${ARCA_BIN:-}"
    if [[ -z "$src" ]]; then
        (cd "$ROOT" && cargo build --release -p arca --quiet) || die "cargo build --release -p arca failed (set ARCA_BIN to use a binary you built)"
        src="$ROOT/target/release/arca"
        ARCA_ORIGIN="$("$src" --version), release build of commit $(git -C "$ROOT" rev-parse --short HEAD)"
        if [[ -n "$(git -C "$ROOT" status --porcelain -- crates Cargo.toml Cargo.lock)" ]]; then
            ARCA_ORIGIN+=" (the work tree had uncommitted changes)"
        fi
    else
        ARCA_ORIGIN="$("$src" --version) from ARCA_BIN (HEAD is $(git -C "$ROOT" rev-parse --short HEAD))"
    fi
    cp "$src" "$dest"
}

machine_line() {
    local mem_gib
    mem_gib=$(awk '/^MemTotal/ {printf "%.1f", $2 / 1048576}' /proc/meminfo)
    echo "$(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), ${mem_gib} GiB RAM, $(uname -sr)"
}

load_line() { cut -d' ' -f1-3 /proc/loadavg; }
