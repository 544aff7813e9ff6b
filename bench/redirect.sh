#!/usr/bin/env bash
# Redirect benchmark: Tally's click redirect against nginx's bare `return 302`
# on the same machine, same client, same moment.
#
#   bench/redirect.sh            (as root on Debian, or with sudo available)
#
# What it does, and why:
# - installs wrk, nginx-light and sqlite3 if missing, builds target/release/tally;
# - sets up a fresh store in a temp dir through the CLI only (an account and a
#   program with 100 partners x 100 ads = 10,000 links /c/{partner}/{ad}/1);
# - runs 3 alternating rounds of `wrk -t2 -c32 -d10s --latency` against
#   nginx, Tally's hot link /c/1/1/1 and Tally over all 10,000 links. Rounds
#   alternate so that drift (thermal, noisy neighbours) hits all three alike,
#   and Tally is quoted only as a ratio to nginx measured in the same round;
# - stops Tally with SIGTERM and checks that the clicks in the store equal the
#   302s Tally answered (the redirect is sent only once the click is stored);
# - prints the table and writes it to bench/results/redirect-DATE.md.
#
# Environment: ROUNDS (3), DURATION (10s), BENCH_KEEP=1 keeps the temp dir.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}

ensure_tools
build_tally
make_bench_dir
make_store

start_nginx
log "nginx on 127.0.0.1:$NGINX_PORT (pid $NGINX_PID)"
start_tally
log "tally on 127.0.0.1:$TALLY_PORT (pid $TALLY_PID), up in $TALLY_STARTUP_MS ms"

# Check both servers answer as expected before measuring anything.
first_answer() { # a raw HTTP/1.1 request over bash's /dev/tcp: no curl needed
    local port=$1 path=$2 status
    exec 8<>"/dev/tcp/127.0.0.1/$port"
    printf 'GET %s HTTP/1.1\r\nHost: bench.test\r\nConnection: close\r\n\r\n' "$path" >&8
    IFS= read -r -t 10 status <&8 || true
    exec 8<&- 8>&-
    echo "${status%$'\r'}"
}
for target in "$NGINX_PORT /" "$TALLY_PORT /c/1/1/1" "$TALLY_PORT /c/100/100/1"; do
    port=${target%% *} path=${target#* }
    answer=$(first_answer "$port" "$path")
    [[ $answer == "HTTP/1.1 302"* ]] || die "GET $path on port $port answered '$answer', not 302"
done
TALLY_302=2   # the two Tally checks above were clicks too, and their 302s were read

declare -a NG_RPS NG_P99 HOT_RPS HOT_P99 HOT_RATIO MIX_RPS MIX_P99 MIX_RATIO
TALLY_OTHER=0
for ((r = 1; r <= ROUNDS; r++)); do
    log "round $r/$ROUNDS: nginx"
    run_wrk "r$r-nginx" "http://127.0.0.1:$NGINX_PORT/" count302.lua "$DURATION"
    NG_RPS[r]=$RPS NG_P99[r]=$P99_MS

    log "round $r/$ROUNDS: tally hot link /c/1/1/1"
    run_wrk "r$r-hot" "http://127.0.0.1:$TALLY_PORT/c/1/1/1" count302.lua "$DURATION"
    HOT_RPS[r]=$RPS HOT_P99[r]=$P99_MS
    TALLY_302=$((TALLY_302 + N302)) TALLY_OTHER=$((TALLY_OTHER + NOTHER))

    log "round $r/$ROUNDS: tally 10k links"
    run_wrk "r$r-mix" "http://127.0.0.1:$TALLY_PORT/" mix10k.lua "$DURATION"
    MIX_RPS[r]=$RPS MIX_P99[r]=$P99_MS
    TALLY_302=$((TALLY_302 + N302)) TALLY_OTHER=$((TALLY_OTHER + NOTHER))

    HOT_RATIO[r]=$(awk -v a="${HOT_RPS[r]}" -v b="${NG_RPS[r]}" 'BEGIN { printf "%.2f", a / b }')
    MIX_RATIO[r]=$(awk -v a="${MIX_RPS[r]}" -v b="${NG_RPS[r]}" 'BEGIN { printf "%.2f", a / b }')
    log "round $r: nginx ${NG_RPS[r]}/s, hot ${HOT_RPS[r]}/s (${HOT_RATIO[r]}), mix ${MIX_RPS[r]}/s (${MIX_RATIO[r]})"
done

stop_nginx
log "stopping tally (SIGTERM)"
stop_tally
count_clicks

# Every 302 Tally sent stands for a stored click. The store may hold a few
# more: wrk abandons the requests in flight when its time is up (at most one
# per connection, 32 per run), and Tally may have stored those before the
# answer went out. Fewer stored clicks than 302s would be lost clicks.
RUNS=$((2 * ROUNDS))
if [[ $CLICKS == n/a ]]; then
    VERDICT="UNKNOWN: could not count the clicks in the store"
elif ((CLICKS == TALLY_302)); then
    VERDICT="OK: clicks stored = 302s answered = $TALLY_302"
elif ((CLICKS > TALLY_302 && CLICKS - TALLY_302 <= 32 * RUNS)); then
    VERDICT="OK: clicks stored $CLICKS = 302s answered $TALLY_302 + $((CLICKS - TALLY_302)) requests in flight when wrk stopped (at most $((32 * RUNS)))"
else
    VERDICT="FAIL: clicks stored $CLICKS, 302s answered $TALLY_302 (difference $((CLICKS - TALLY_302)))"
fi

# --- the table ---------------------------------------------------------------

fmt_int() { sed -e ':a' -e 's/\B[0-9]\{3\}\>/,&/' -e 'ta' <<<"$1"; }   # 202700 -> 202,700
row() { # label nginx-rps nginx-p99 hot-rps hot-p99 hot-ratio mix-rps mix-p99 mix-ratio
    printf '| %s | %s | %s ms | %s | %s ms | %s | %s | %s ms | %s |\n' \
        "$1" "$(fmt_int "$2")" "$3" "$(fmt_int "$4")" "$5" "$6" "$(fmt_int "$7")" "$8" "$9"
}
{
    echo "# Redirect benchmark, $(date +%F)"
    echo
    machine_note
    echo "Client: \`wrk -t2 -c32 -d$DURATION --latency\` on the same machine (loopback), $ROUNDS alternating rounds; Lua scripts count the 302s; no cookies sent (every request is a new visitor)."
    echo "Store: embedded SQLite (\`--database sqlite:…\`), fresh at the start; program 1 with 100 partners x 100 ads."
    echo
    echo "| round | nginx req/s | nginx p99 | hot link req/s | hot p99 | hot / nginx | 10k links req/s | 10k p99 | 10k / nginx |"
    echo "|---|---|---|---|---|---|---|---|---|"
    for ((r = 1; r <= ROUNDS; r++)); do
        row "$r" "${NG_RPS[r]}" "${NG_P99[r]}" "${HOT_RPS[r]}" "${HOT_P99[r]}" "${HOT_RATIO[r]}" \
            "${MIX_RPS[r]}" "${MIX_P99[r]}" "${MIX_RATIO[r]}"
    done
    row "**median**" "$(median %.0f "${NG_RPS[@]}")" "$(median %.2f "${NG_P99[@]}")" \
        "$(median %.0f "${HOT_RPS[@]}")" "$(median %.2f "${HOT_P99[@]}")" "$(median %.2f "${HOT_RATIO[@]}")" \
        "$(median %.0f "${MIX_RPS[@]}")" "$(median %.2f "${MIX_P99[@]}")" "$(median %.2f "${MIX_RATIO[@]}")"
    echo
    echo "Medians are per column (the median ratio is the median of the per-round ratios)."
    echo
    echo "Clicks: $TALLY_302 answered with 302 by Tally over $RUNS runs (plus $TALLY_OTHER other answers); stored: $CLICKS_CLI by \`tally clicks export 1 --format csv\`, $CLICKS_SQL by sqlite3 (table ${CLICKS_SQL_TABLE:-none found}). $VERDICT."
    echo "Tally start-up to \"listening on\": $TALLY_STARTUP_MS ms (empty store but for the program)."
} >"$BENCH_DIR/results.md"

echo
cat "$BENCH_DIR/results.md"
mkdir -p "$BENCH_HOME/results"
RESULT_FILE="$BENCH_HOME/results/redirect-$(date +%F).md"
cp "$BENCH_DIR/results.md" "$RESULT_FILE"
log "written to ${RESULT_FILE#"$REPO"/}"

[[ $VERDICT != FAIL* ]]
