#!/usr/bin/env bash
# Several nodes: the click throughput of two `tally serve` processes on one
# PostgreSQL database against one node, in the same run (SPEC §13, issue 3).
#
#   BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres bench/nodes.sh
#
# Each node has its own click journal (as on separate machines) and nothing else
# in common but the database. Every round measures, back to back:
# - one node: `wrk -t2 -c32` on node A's hot link;
# - two nodes: two `wrk -t1 -c16` at once, one per node (the same 32 connections,
#   split as a load balancer would), summed.
# The ratio (two nodes / one node, same round) is the figure; at the end, the clicks
# in the store must equal the 302s answered (plus requests in flight when wrk stopped).
# Note: on one small machine, the nodes, wrk and PostgreSQL share the same cores, so
# the ratio measures what a second journal and process add, not what a second machine
# would.
#
# Environment: ROUNDS (3), DURATION (10s), QUIET_WAIT_S (300), BENCH_TALLY_BIN,
# BENCH_KEEP=1.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
[[ -n ${BENCH_POSTGRES_URL:-} ]] || die "set BENCH_POSTGRES_URL: several nodes share a PostgreSQL database"

ensure_tools
build_tally
make_bench_dir   # a fresh PostgreSQL database in $DB
note_load
make_store

declare -A NODE_PID NODE_PORT
start_node() { # start_node NAME: its own journal, a free port, ready when /healthz answers
    local name=$1 port i
    port=$(free_port)
    TALLY_CLICK_LOG__DIR="$BENCH_DIR/$name.clicks" "$TALLY" serve --listen "127.0.0.1:$port" --database "$DB" \
        >"$BENCH_DIR/logs/$name.out" 2>"$BENCH_DIR/logs/$name.err" &
    NODE_PID[$name]=$!
    NODE_PORT[$name]=$port
    for ((i = 0; i < 100; i++)); do
        curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    die "node $name did not start: $(tail -c 1000 "$BENCH_DIR/logs/$name.err")"
}
stop_nodes() {
    local name
    for name in "${!NODE_PID[@]}"; do kill -TERM "${NODE_PID[$name]}" 2>/dev/null || true; done
    for name in "${!NODE_PID[@]}"; do wait "${NODE_PID[$name]}" 2>/dev/null || true; done
    NODE_PID=()
}
trap 'stop_nodes; cleanup' EXIT

start_node a
start_node b
log "nodes: a on ${NODE_PORT[a]}, b on ${NODE_PORT[b]}"

wrk_302() { # wrk_302 OUT THREADS CONNECTIONS URL: runs wrk, prints "requests/s 302s"
    wrk -t"$2" -c"$3" -d"$DURATION" -H "User-Agent: $BENCH_USER_AGENT" -s "$BENCH_HOME/count302.lua" "$4" >"$1" 2>&1
    printf '%s %s\n' "$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$1")" \
        "$(sed -n 's/^BENCH_COUNTS [a-z0-9]*=\([0-9]*\) other=.*/\1/p' "$1")"
}

declare -A ONE TWO RATIO
ANSWERED=0
for ((r = 1; r <= ROUNDS; r++)); do
    wait_quiet
    read -r rps n302 < <(wrk_302 "$BENCH_DIR/logs/r$r-one.txt" 2 32 "http://127.0.0.1:${NODE_PORT[a]}/c/1/1/1")
    ONE[$r]=$rps
    ANSWERED=$((ANSWERED + n302))
    wait_quiet
    wrk_302 "$BENCH_DIR/logs/r$r-two-a.txt" 1 16 "http://127.0.0.1:${NODE_PORT[a]}/c/1/1/1" >"$BENCH_DIR/r$r-a" &
    client_a=$!
    wrk_302 "$BENCH_DIR/logs/r$r-two-b.txt" 1 16 "http://127.0.0.1:${NODE_PORT[b]}/c/2/2/1" >"$BENCH_DIR/r$r-b" &
    client_b=$!
    wait "$client_a" "$client_b"   # not a bare `wait`: the nodes are children too
    read -r rps_a n302_a <"$BENCH_DIR/r$r-a"
    read -r rps_b n302_b <"$BENCH_DIR/r$r-b"
    TWO[$r]=$((rps_a + rps_b))
    ANSWERED=$((ANSWERED + n302_a + n302_b))
    RATIO[$r]=$(awk -v a="${TWO[$r]}" -v b="${ONE[$r]}" 'BEGIN { printf "%.2f", a / b }')
    log "round $r: one node ${ONE[$r]}/s, two nodes ${TWO[$r]}/s (a $rps_a + b $rps_b): ${RATIO[$r]}"
done
stop_nodes
STORED=$(psql "$DB" -Atc "select count(*) from click")
IN_FLIGHT_MAX=$((32 * 2 * ROUNDS))
if ((STORED >= ANSWERED && STORED - ANSWERED <= IN_FLIGHT_MAX)); then
    VERDICT="OK: $(fmt_int "$STORED") clicks stored for $(fmt_int "$ANSWERED") 302s answered by the two nodes (+$((STORED - ANSWERED)) in flight when wrk stopped)"
else
    VERDICT="FAIL: $(fmt_int "$STORED") clicks stored for $(fmt_int "$ANSWERED") 302s answered"
fi
log "$VERDICT"

{
    echo "# Two nodes on one PostgreSQL, $(date +%F)"
    echo
    machine_note
    echo "Store: $STORE_NOTE; two \`tally serve\` processes, each with its own click journal. Client: wrk, 32 connections in all, loopback, $DURATION per run, $ROUNDS rounds."
    echo
    echo "| round | one node (req/s) | two nodes (req/s, summed) | ratio |"
    echo "|---|---|---|---|"
    for ((r = 1; r <= ROUNDS; r++)); do
        echo "| $r | $(fmt_int "${ONE[$r]}") | $(fmt_int "${TWO[$r]}") | ${RATIO[$r]} |"
    done
    # shellcheck disable=SC2046
    echo "| **median** | $(median %.0f $(printf '%s\n' "${ONE[@]}")) | $(median %.0f $(printf '%s\n' "${TWO[@]}")) | **$(median %.2f $(printf '%s\n' "${RATIO[@]}"))** |"
    echo
    echo "Clicks: $VERDICT."
    echo "On this machine the two nodes, wrk and PostgreSQL share $(nproc) cores: the ratio says what a second process with its own journal adds here, not what a second machine would."
} >"$BENCH_DIR/results.md"
echo
cat "$BENCH_DIR/results.md"
mkdir -p "$BENCH_HOME/results"
RESULT_FILE="$BENCH_HOME/results/nodes-$(date +%F).md"
cp "$BENCH_DIR/results.md" "$RESULT_FILE"
log "written to ${RESULT_FILE#"$REPO"/}"
[[ $VERDICT == OK* ]]
