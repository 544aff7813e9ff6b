# Shared pieces of bench/redirect.sh and bench/memory.sh. Source it; it does
# nothing on its own. Everything the benchmarks create lives in one temp dir
# ($BENCH_DIR) that the exit trap removes, together with the processes.
# shellcheck disable=SC2034  # the variables set here are read by the scripts

BENCH_HOME=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_HOME/.." && pwd)
# BENCH_TALLY_BIN: benchmark a binary built elsewhere instead of building one here.
TALLY=${BENCH_TALLY_BIN:-"$REPO/target/release/tally"}

BENCH_DIR=""
TALLY_PID=""
TALLY_PORT=""
TALLY_STARTUP_MS=""
TALLY_DRAIN_PID=""
NGINX_PID=""
NGINX_PORT=""
WRK_PID=""
POLICY_RC_CREATED=""

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }

as_root() {
    if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

# --- tools -------------------------------------------------------------------

# Installs what is missing, running `apt-get update` at most once.
# While nginx-light is installed, a temporary policy-rc.d stops Debian from
# starting the system-wide nginx service (on port 80, from /etc/nginx): the
# benchmark runs its own nginx from the temp dir instead.
ensure_tools() {
    local pkgs=()
    command -v wrk >/dev/null || pkgs+=(wrk)
    command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || pkgs+=(nginx-light)
    command -v sqlite3 >/dev/null || pkgs+=(sqlite3)
    command -v curl >/dev/null || pkgs+=(curl)
    command -v cc >/dev/null || pkgs+=(build-essential)   # rusqlite's bundled SQLite
    command -v git >/dev/null || pkgs+=(git)
    if ((${#pkgs[@]})); then
        log "installing ${pkgs[*]}"
        if [[ " ${pkgs[*]} " == *" nginx-light "* && ! -e /usr/sbin/policy-rc.d ]]; then
            printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
            as_root chmod +x /usr/sbin/policy-rc.d
            POLICY_RC_CREATED=1
        fi
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
        if [[ -n $POLICY_RC_CREATED ]]; then
            as_root rm -f /usr/sbin/policy-rc.d
            POLICY_RC_CREATED=""
        fi
    fi
    NGINX=$(command -v nginx || echo /usr/sbin/nginx)
}

build_tally() {
    if [[ -n ${BENCH_TALLY_BIN:-} ]]; then
        log "using BENCH_TALLY_BIN=$BENCH_TALLY_BIN (not building)"
        return
    fi
    command -v cargo >/dev/null ||
        die "cargo not found: install Rust first (https://rustup.rs), then re-run"
    log "building: cargo build --release -p tally"
    (cd "$REPO" && cargo build --release -p tally)
    [[ -x $TALLY ]] || die "$TALLY was not built"
}

# --- temp dir and cleanup ----------------------------------------------------

cleanup() {
    local rc=$?
    set +e
    [[ -n $WRK_PID ]] && kill "$WRK_PID" 2>/dev/null && wait "$WRK_PID" 2>/dev/null
    [[ -n $TALLY_PID ]] && kill -TERM "$TALLY_PID" 2>/dev/null && wait "$TALLY_PID" 2>/dev/null
    [[ -n $TALLY_DRAIN_PID ]] && kill "$TALLY_DRAIN_PID" 2>/dev/null
    [[ -n $NGINX_PID ]] && kill -QUIT "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null
    [[ -n $POLICY_RC_CREATED ]] && as_root rm -f /usr/sbin/policy-rc.d
    [[ -n ${PG_DATABASE:-} ]] && psql "$BENCH_POSTGRES_URL" -qc "DROP DATABASE IF EXISTS $PG_DATABASE WITH (FORCE)" >/dev/null 2>&1
    if [[ -n $BENCH_DIR && -d $BENCH_DIR ]]; then
        if [[ -n ${BENCH_KEEP:-} ]]; then
            log "kept $BENCH_DIR (BENCH_KEEP is set)"
        else
            rm -rf "$BENCH_DIR"
        fi
    fi
    exit "$rc"
}

make_bench_dir() {
    BENCH_DIR=$(mktemp -d /tmp/tally-bench.XXXXXX)
    mkdir -p "$BENCH_DIR/logs"
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    DB="sqlite:$BENCH_DIR/tally.db"
    STORE_NOTE="embedded SQLite (\`--database sqlite:…\`)"
    if [[ -n ${BENCH_POSTGRES_URL:-} ]]; then
        # A fresh database on that server, dropped at the end; the click journal
        # goes to the temp dir instead of ./tally-clicks.
        PG_DATABASE="tally_bench_$$"
        psql "$BENCH_POSTGRES_URL" -qc "CREATE DATABASE $PG_DATABASE" >/dev/null ||
            die "cannot create a database at $BENCH_POSTGRES_URL"
        DB="${BENCH_POSTGRES_URL%/*}/$PG_DATABASE"
        export TALLY_CLICK_LOG__DIR="$BENCH_DIR/tally.clicks"
        STORE_NOTE="PostgreSQL (\`--database ${DB}\`)"
        SQL_TOOL=psql
    fi
}

# --- the store -----------------------------------------------------------------

# One brand account and the 10,000-link program, through the CLI only.
make_store() {
    local out
    out=$("$TALLY" account create --name "Bench brand" --database "$DB") ||
        die "tally account create failed"
    ACCOUNT_SID=$(sed -n 's/.*"account_sid"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' <<<"$out")
    [[ -n $ACCOUNT_SID ]] || die "no account_sid in the output of tally account create: $out"
    log "account $ACCOUNT_SID"
    "$BENCH_HOME/gen-program.sh" 100 100 >"$BENCH_DIR/program.json"
    "$TALLY" program apply "$BENCH_DIR/program.json" --account "$ACCOUNT_SID" --database "$DB" \
        >"$BENCH_DIR/logs/program-apply.out" ||
        die "tally program apply failed: $(cat "$BENCH_DIR/logs/program-apply.out")"
    log "program 1 applied: 100 partners x 100 ads"
}

# Clicks in the store, from `tally clicks export` (CSV lines minus the header).
# Sets CLICKS_CLI and CLICKS_SQL (either may be "n/a") and CLICKS (CLI first).
count_clicks() {
    local csv="$BENCH_DIR/clicks.csv" table
    CLICKS_CLI=n/a
    CLICKS_SQL=n/a
    CLICKS_SQL_TABLE=""
    EXPORT_S=n/a
    local t0=${EPOCHREALTIME//[.,]/}
    if "$TALLY" clicks export 1 --database "$DB" --format csv >"$csv" 2>"$BENCH_DIR/logs/export.err"; then
        EXPORT_S=$(awk -v d=$((${EPOCHREALTIME//[.,]/} - t0)) 'BEGIN { printf "%.1f", d / 1e6 }')
        # awk's NR also counts a last line without a trailing newline.
        CLICKS_CLI=$(awk 'END { print NR - 1 }' "$csv")
        log "tally clicks export: $CLICKS_CLI clicks in $EXPORT_S s ($(head -c 200 "$csv" | head -1))"
    else
        log "tally clicks export failed: $(head -c 500 "$BENCH_DIR/logs/export.err")"
    fi
    rm -f "$csv"
    if [[ -n ${PG_DATABASE:-} ]]; then
        CLICKS_SQL=$(psql "$DB" -Atc "select count(*) from click")
        CLICKS_SQL_TABLE=click
        log "psql: $CLICKS_SQL rows in table click"
    fi
    # The table name is the store's business; take the first of these that exists.
    for table in click clicks; do
        [[ -n ${PG_DATABASE:-} ]] && break
        if sqlite3 "$BENCH_DIR/tally.db" "select 1 from sqlite_master where type='table' and name='$table'" |
            grep -q 1; then
            CLICKS_SQL=$(sqlite3 "$BENCH_DIR/tally.db" "select count(*) from $table")
            CLICKS_SQL_TABLE=$table
            log "sqlite3: $CLICKS_SQL rows in table $table"
            break
        fi
    done
    if [[ $CLICKS_CLI != n/a ]]; then CLICKS=$CLICKS_CLI; else CLICKS=$CLICKS_SQL; fi
}

# --- processes -----------------------------------------------------------------

# Starts `tally serve --listen 127.0.0.1:0` and reads its first stdout line
# through a fifo, so TALLY_STARTUP_MS is the time from exec to that line
# (no polling). The rest of stdout is drained into logs/serve.out, because a
# full pipe or a closed one would block or kill the server.
start_tally() {
    local fifo="$BENCH_DIR/serve.fifo" line t0 t1
    rm -f "$fifo"
    mkfifo "$fifo"
    t0=${EPOCHREALTIME//[.,]/}   # microseconds (bash 5; "," in some locales)
    "$TALLY" serve --listen 127.0.0.1:0 --database "$DB" >"$fifo" 2>>"$BENCH_DIR/logs/serve.err" &
    TALLY_PID=$!
    exec 3<"$fifo"
    if ! IFS= read -r -t 60 line <&3; then
        exec 3<&-
        die "tally serve printed no first line; stderr: $(tail -c 2000 "$BENCH_DIR/logs/serve.err")"
    fi
    t1=${EPOCHREALTIME//[.,]/}
    cat <&3 >>"$BENCH_DIR/logs/serve.out" &
    TALLY_DRAIN_PID=$!
    exec 3<&-
    rm -f "$fifo"
    [[ $line =~ ^listening\ on\ http://127\.0\.0\.1:([0-9]+)$ ]] ||
        die "unexpected first line from tally serve: '$line'"
    TALLY_PORT=${BASH_REMATCH[1]}
    TALLY_STARTUP_MS=$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.1f", d / 1000 }')
}

# SIGTERM, then wait (up to 60 s) for a graceful exit.
stop_tally() {
    local i
    [[ -n $TALLY_PID ]] || return 0
    local t0=$SECONDS
    kill -TERM "$TALLY_PID"
    for ((i = 0; i < 600; i++)); do
        kill -0 "$TALLY_PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$TALLY_PID" 2>/dev/null; then
        log "warning: tally did not exit within 60 s of SIGTERM; killing it"
        kill -KILL "$TALLY_PID"
    fi
    TALLY_EXIT=0
    wait "$TALLY_PID" || TALLY_EXIT=$?
    [[ $TALLY_EXIT -eq 0 ]] || log "warning: tally serve exited with status $TALLY_EXIT"
    TALLY_STOP_S=$((SECONDS - t0))
    wait "$TALLY_DRAIN_PID" 2>/dev/null || true
    TALLY_PID=""
    TALLY_DRAIN_PID=""
}

# A TCP port nobody listens on (nginx has no "port 0"); nginx itself fails
# loudly if someone takes it in between.
free_port() {
    local port
    while :; do
        port=$((20000 + RANDOM % 30000))
        if ! (exec 9<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
}

start_nginx() {
    local i
    NGINX_PORT=$(free_port)
    mkdir -p "$BENCH_DIR/nginx-tmp"
    sed -e "s|@DIR@|$BENCH_DIR|g" -e "s|@PORT@|$NGINX_PORT|g" \
        "$BENCH_HOME/nginx.conf.template" >"$BENCH_DIR/nginx.conf"
    # -e: the error log before the config is read; -p: prefix; daemon off so
    # that $! is the master process and the trap can stop it.
    "$NGINX" -p "$BENCH_DIR" -c "$BENCH_DIR/nginx.conf" -e "$BENCH_DIR/nginx-error.log" \
        -g 'daemon off;' 2>>"$BENCH_DIR/logs/nginx.err" &
    NGINX_PID=$!
    for ((i = 0; i < 100; i++)); do
        (exec 9<>"/dev/tcp/127.0.0.1/$NGINX_PORT") 2>/dev/null && return 0
        kill -0 "$NGINX_PID" 2>/dev/null || break
        sleep 0.05
    done
    die "nginx did not start: $(cat "$BENCH_DIR/logs/nginx.err" "$BENCH_DIR/nginx-error.log" 2>/dev/null)"
}

stop_nginx() {
    [[ -n $NGINX_PID ]] || return 0
    kill -QUIT "$NGINX_PID" 2>/dev/null || true
    wait "$NGINX_PID" 2>/dev/null || true
    NGINX_PID=""
}

# The benchmark shares the machine with whatever else runs; say so when
# something else was busy at the start (figures are then noisier).
note_load() {
    LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
    awk -v l="${LOAD_BEFORE%% *}" 'BEGIN { exit !(l > 0.5) }' &&
        log "warning: load average is $LOAD_BEFORE before the runs; something else is using the CPUs"
    return 0
}

# --- wrk -------------------------------------------------------------------------

# CPU accounting from /proc, in clock ticks (USER_HZ, 100 a second), so that
# each run can say how much CPU the server used per request and whether
# something else on the machine was busy meanwhile (figures are then noisy).
TICKS_PER_S=$(getconf CLK_TCK 2>/dev/null || echo 100)
cpu_machine() { # "busy total": user+nice+system, and all fields incl. idle
    awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print $2 + $3 + $4, t }' /proc/stat
}
cpu_of() { # utime+stime of the given processes (all their threads)
    local p t=0
    for p in "$@"; do
        [[ -r /proc/$p/stat ]] && t=$((t + $(awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$p/stat")))
    done
    echo "$t"
}
cpu_reaped() { # cutime+cstime of this shell: the children it has waited for (wrk)
    awk '{ sub(/.*\) /, ""); print $14 + $15 }' "/proc/$$/stat"
}
server_pids() { # nginx: the master and its workers; tally: one process; a number: that process
    if [[ $1 == nginx ]]; then
        # shellcheck disable=SC2046
        echo "$NGINX_PID" $(cat "/proc/$NGINX_PID/task/"*/children 2>/dev/null)
    elif [[ $1 == tally ]]; then
        echo "$TALLY_PID"
    else
        echo "$1"
    fi
}

# Waits (up to QUIET_WAIT_S, default 300 s) until the machine has been
# nearly idle (< 10 % busy) for a second, so that a run does not start while
# something else is using the CPUs. Between runs nothing of ours is busy.
wait_quiet() {
    local waited=0 a b busy
    while :; do
        a=$(cpu_machine)
        sleep 1
        b=$(cpu_machine)
        busy=$(awk -v b0="${a% *}" -v t0="${a#* }" -v b1="${b% *}" -v t1="${b#* }" \
            'BEGIN { printf "%.0f", (b1 - b0) * 100 / (t1 - t0) }')
        ((busy < 10)) && return 0
        ((waited == 0)) && log "machine $busy % busy with other work; waiting for it to calm down"
        waited=$((waited + 1))
        if ((waited >= ${QUIET_WAIT_S:-300})); then
            log "warning: still $busy % busy after ${waited} s; running anyway"
            return 0
        fi
    done
}

# Every request carries a desktop Chrome user agent, as a shopper's click does. Without
# one Tally takes the request for a bot's, whose click costs less (no user agent to
# parse, no report row to add), which would flatter the figures.
BENCH_USER_AGENT=${BENCH_USER_AGENT:-"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"}

# run_wrk LABEL URL SCRIPT DURATION SERVER(nginx|tally|PID) [ARGS...]: one `wrk -t2 -c32
# --latency` run. Sets RPS, P99_MS, N302, NOTHER, ERRORS, CPU_US (server CPU
# per answered request, µs) and OTHER_PCT (CPU used by neither the server nor
# wrk, % of the machine); keeps the raw output in logs/.
run_wrk() {
    local label=$1 url=$2 script=$3 dur=$4 server=$5 out pids m0 m1 s0 s1 w0 w1
    shift 5   # the rest goes to the Lua script's init(args)
    out="$BENCH_DIR/logs/wrk-$label.txt"
    wait_quiet
    # shellcheck disable=SC2207
    pids=($(server_pids "$server"))
    m0=$(cpu_machine) s0=$(cpu_of "${pids[@]}") w0=$(cpu_reaped)
    # In the background plus `wait`: bash runs the INT/TERM trap only once a
    # foreground child has exited, and wrk swallows SIGINT and exits 0, so a
    # Ctrl-C would otherwise just cut one run short and carry on.
    wrk -t2 -c32 -d"$dur" --latency -H "User-Agent: $BENCH_USER_AGENT" -s "$BENCH_HOME/$script" "$url" -- "$@" \
        >"$out" 2>&1 &
    WRK_PID=$!
    wait "$WRK_PID" || die "wrk failed: $(cat "$out")"
    WRK_PID=""
    m1=$(cpu_machine) s1=$(cpu_of "${pids[@]}") w1=$(cpu_reaped)
    RPS=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")
    # "     99%    6.90ms": wrk picks us, ms, s or m as the unit.
    P99_MS=$(awk '$1 == "99%" {
        v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
        f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : -1
        printf "%.2f", v * f }' "$out")
    N302=$(sed -n 's/^BENCH_COUNTS [a-z0-9]*=\([0-9]*\) other=.*/\1/p' "$out")   # 302s, or the script's expected status
    NOTHER=$(sed -n 's/^BENCH_COUNTS [a-z0-9]*=[0-9]* other=\([0-9]*\).*/\1/p' "$out")
    ERRORS=$(sed -n 's/^ *Socket errors: //p' "$out")
    [[ -n $RPS && -n $P99_MS && -n $N302 ]] || die "could not parse wrk output: $(cat "$out")"
    CPU_US=$(awk -v t=$((s1 - s0)) -v n=$((N302 + NOTHER)) -v hz="$TICKS_PER_S" \
        'BEGIN { printf "%.1f", (n > 0) ? t * 1e6 / hz / n : 0 }')
    OTHER_PCT=$(awk -v b0="${m0% *}" -v t0="${m0#* }" -v b1="${m1% *}" -v t1="${m1#* }" \
        -v s=$((s1 - s0)) -v w=$((w1 - w0)) \
        'BEGIN { o = (b1 - b0 - s - w) * 100 / (t1 - t0); printf "%.0f", (o < 0) ? 0 : o }')
    ((OTHER_PCT <= 10)) || log "warning: $label: $OTHER_PCT % of the machine was busy with other processes"
    [[ $NOTHER -eq 0 ]] || log "warning: $label: $NOTHER answers were not the expected status"
    [[ -z $ERRORS ]] || log "warning: $label: socket errors: $ERRORS"
}

fmt_int() { sed -e ':a' -e 's/\B[0-9]\{3\}\>/,&/' -e 'ta' <<<"$1"; }   # 202700 -> 202,700

# column ARRAY TARGET: that target's values over the rounds (ARRAY keyed "target,round").
column() {
    local -n arr=$1
    local i
    for ((i = 1; i <= ROUNDS; i++)); do echo "${arr[$2,$i]}"; done
}

wrk_row() { # round target req/s p99 ratio cpu other
    printf '| %s | %s | %s | %s ms | %s | %s µs | %s %% |\n' "$1" "$2" "$(fmt_int "$3")" "$4" "$5" "$6" "$7"
}

# wrk_table TARGET...: the markdown table of the wrk runs, a row per round and target
# and then the medians, from ROUNDS and the arrays NAME_OF (by target) and RPS_OF,
# P99_OF, RATIO_OF, CPU_OF, OTHER_OF (keyed "target,round").
wrk_table() {
    local r t
    echo "| round | target | req/s | p99 | ratio to nginx (same round) | server CPU per request | other processes' CPU |"
    echo "|---|---|---|---|---|---|---|"
    for ((r = 1; r <= ROUNDS; r++)); do
        for t in "$@"; do
            wrk_row "$r" "${NAME_OF[$t]}" "${RPS_OF[$t,$r]}" "${P99_OF[$t,$r]}" "${RATIO_OF[$t,$r]}" \
                "${CPU_OF[$t,$r]}" "${OTHER_OF[$t,$r]}"
        done
    done
    for t in "$@"; do
        # shellcheck disable=SC2046
        wrk_row "**median**" "**${NAME_OF[$t]}**" "$(median %.0f $(column RPS_OF "$t"))" \
            "$(median %.2f $(column P99_OF "$t"))" "**$(median %.2f $(column RATIO_OF "$t"))**" \
            "$(median %.1f $(column CPU_OF "$t"))" "$(median %.0f $(column OTHER_OF "$t"))"
    done
}

# median FORMAT NUMBER...: the median, printed with printf FORMAT ("%.0f", "%.2f")
median() {
    local fmt=$1
    shift
    printf '%s\n' "$@" | sort -g | awk -v fmt="$fmt" '{ a[NR] = $1 }
        END { printf fmt, (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

machine_note() {
    local cpu
    cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
    echo "Machine: $(nproc) CPUs ($cpu), kernel $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME"); load average before the runs: $LOAD_BEFORE."
    local build
    if [[ -n ${BENCH_TALLY_BIN:-} ]]; then
        build="$BENCH_TALLY_BIN, built $(date -r "$BENCH_TALLY_BIN" '+%F %T')"
    else
        build="$(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null || echo unknown)$(cd "$REPO" && git diff --quiet HEAD 2>/dev/null || echo ' (uncommitted changes)')"
    fi
    echo "Tally: $build, $("$TALLY" --version 2>/dev/null || echo "tally"); $(wrk -v 2>&1 | head -1 | awk '{print $1, $2}'); $("$NGINX" -v 2>&1 | sed 's/^nginx version: //')."
}
