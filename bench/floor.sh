#!/usr/bin/env bash
# The floor under Tally's redirect: how close to nginx can any server built like
# Tally get on this machine, before doing any of Tally's own work?
#
#   bench/floor.sh            (as root on Debian, or with sudo available)
#
# Runs, in alternating rounds of `wrk -t2 -c32 -d10s --latency` on one machine:
# - nginx `return 302` (the baseline of bench/redirect.sh);
# - bench/floor in three modes, each answering the same 302 Tally sends a new
#   visitor, through the same HTTP stack (axum, tokio, mimalloc):
#   `plain` (no durability at all), `handoff` (each request waits for a writer
#   thread's group commit, which does not touch the disk) and `journal` (the
#   group commit appends ~540 bytes per request to a preallocated file and
#   fdatasyncs it before releasing the batch, as Tally's click journal does);
# - Tally itself on its hot link, on SQLite, as in bench/redirect.sh.
# Each is quoted as a ratio to nginx in the same round. The `journal` row is the
# most a durable-before-302 redirect can reach here with this design; Tally's
# own work (resolving the link, deciding, cookies, the click's JSON, loading it
# into the store) is the distance between that row and Tally's.
#
# Environment: ROUNDS (3), DURATION (10s), QUIET_WAIT_S (300), BENCH_KEEP=1,
# BENCH_TALLY_BIN=PATH, as in bench/redirect.sh.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
FLOOR_MODES=(plain handoff journal)
FLOOR="$BENCH_HOME/floor/target/release/tally-bench-floor"
declare -A FLOOR_PID FLOOR_PORT

ensure_tools
build_tally
log "building: cargo build --release --manifest-path bench/floor/Cargo.toml"
cargo build --release --manifest-path "$BENCH_HOME/floor/Cargo.toml"
make_bench_dir
stop_floors() {
    local mode
    for mode in "${!FLOOR_PID[@]}"; do kill "${FLOOR_PID[$mode]}" 2>/dev/null || true; done
}
trap 'rc=$?; stop_floors; (exit $rc); cleanup' EXIT
make_store
note_load

# start_floor MODE: sets FLOOR_PID[MODE] and FLOOR_PORT[MODE] from its first line.
start_floor() {
    local mode=$1 out="$BENCH_DIR/logs/floor-$1.out" i line=""
    mkdir -p "$BENCH_DIR/floor-$mode"
    "$FLOOR" "$mode" "$BENCH_DIR/floor-$mode" >"$out" 2>"$BENCH_DIR/logs/floor-$mode.err" &
    FLOOR_PID[$mode]=$!
    for ((i = 0; i < 600; i++)); do
        line=$(head -1 "$out")
        [[ -n $line ]] && break
        kill -0 "${FLOOR_PID[$mode]}" 2>/dev/null || break
        sleep 0.05
    done
    [[ $line =~ ^listening\ on\ http://127\.0\.0\.1:([0-9]+)$ ]] ||
        die "floor $mode did not start: $line $(cat "$BENCH_DIR/logs/floor-$mode.err")"
    FLOOR_PORT[$mode]=${BASH_REMATCH[1]}
}

start_nginx
start_tally
for mode in "${FLOOR_MODES[@]}"; do start_floor "$mode"; done
log "nginx :$NGINX_PORT, tally :$TALLY_PORT, floor plain :${FLOOR_PORT[plain]}, handoff :${FLOOR_PORT[handoff]}, journal :${FLOOR_PORT[journal]}"

TARGETS=(nginx plain handoff journal tally)
declare -A NAME_OF=([nginx]="nginx \`return 302\`" [plain]="floor: axum 302, nothing stored"
    [handoff]="floor: + group commit handoff, no disk" [journal]="floor: + journal write and fdatasync"
    [tally]="Tally, hot link /c/1/1/1")
declare -A URL_OF=([nginx]="http://127.0.0.1:$NGINX_PORT/" [tally]="http://127.0.0.1:$TALLY_PORT/c/1/1/1")
declare -A SERVER_OF=([nginx]=nginx [tally]=tally)
for mode in "${FLOOR_MODES[@]}"; do
    URL_OF[$mode]="http://127.0.0.1:${FLOOR_PORT[$mode]}/c/1/1/1"
    SERVER_OF[$mode]=${FLOOR_PID[$mode]}
done
declare -A RPS_OF P99_OF RATIO_OF CPU_OF OTHER_OF
for ((r = 1; r <= ROUNDS; r++)); do
    for t in "${TARGETS[@]}"; do
        log "round $r/$ROUNDS: ${NAME_OF[$t]}"
        run_wrk "r$r-$t" "${URL_OF[$t]}" count302.lua "$DURATION" "${SERVER_OF[$t]}"
        RPS_OF[$t,$r]=$RPS P99_OF[$t,$r]=$P99_MS CPU_OF[$t,$r]=$CPU_US OTHER_OF[$t,$r]=$OTHER_PCT
    done
    for t in "${TARGETS[@]}"; do
        RATIO_OF[$t,$r]=$(awk -v a="${RPS_OF[$t,$r]}" -v b="${RPS_OF[nginx,$r]}" 'BEGIN { printf "%.2f", a / b }')
    done
    log "round $r: nginx ${RPS_OF[nginx,$r]}/s; journal floor ${RATIO_OF[journal,$r]}; tally ${RATIO_OF[tally,$r]}"
done

# --- the table ---------------------------------------------------------------

{
    echo "# Redirect floor, $(date +%F)"
    echo
    machine_note
    echo "Client: \`wrk -t2 -c32 -d$DURATION --latency\` on the same machine (loopback), $ROUNDS alternating rounds; no cookies sent, a desktop Chrome user agent on every request."
    echo "Floor servers: bench/floor (axum 0.8, tokio, mimalloc, as Tally), answering Tally's 302 to a new visitor. Tally: embedded SQLite, program 1 with 100 partners x 100 ads."
    echo
    wrk_table "${TARGETS[@]}"
    echo
    echo "Medians are per column; the median ratio is the median of the per-round ratios. Server CPU per request: the server's utime+stime during the run over the answers it gave."
} >"$BENCH_DIR/results.md"

echo
cat "$BENCH_DIR/results.md"
mkdir -p "$BENCH_HOME/results"
RESULT_FILE="$BENCH_HOME/results/floor-$(date +%F).md"
cp "$BENCH_DIR/results.md" "$RESULT_FILE"
log "written to ${RESULT_FILE#"$REPO"/}"
