#!/usr/bin/env bash
# Redirect benchmark: Tally's click redirect against nginx's bare `return 302`
# on the same machine, same client, same moment.
#
#   bench/redirect.sh            (as root on Debian, or with sudo available)
#
# What it does, and why:
# - installs wrk, nginx-light, sqlite3 and curl if missing, builds target/release/tally;
# - sets up a fresh store in a temp dir through the CLI only (an account and a
#   program with 100 partners x 100 ads = 10,000 links /c/{partner}/{ad}/1);
# - runs 3 alternating rounds of `wrk -t2 -c32 -d10s --latency` against
#   nginx, Tally's hot link /c/1/1/1 and Tally over all 10,000 links. Rounds
#   alternate so that drift (thermal, noisy neighbours) hits all three alike,
#   and Tally is quoted only as a ratio to nginx measured in the same round;
# - stops Tally with SIGTERM and checks that the clicks in the store equal the
#   302s Tally answered (the redirect is sent only once the click is stored),
#   exactly with curl over all 10,000 links, and for the wrk runs;
# - prints the table and writes it to bench/results/redirect-DATE.md.
#
# Environment: ROUNDS (3), DURATION (10s), BENCH_KEEP=1 keeps the temp dir,
# QUIET_WAIT_S (300) how long to wait for an idle machine before each run,
# BENCH_TALLY_BIN=PATH benchmarks that binary instead of building one,
# BENCH_POSTGRES_URL=postgres://USER@HOST:PORT/DB runs on a fresh database on that
# PostgreSQL server instead of SQLite (results go to redirect-postgres-DATE.md).
# (Not TALLY_...: tally refuses unknown TALLY_ variables in its environment.)
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}

ensure_tools
build_tally
make_bench_dir
make_store
note_load

start_nginx
log "nginx on 127.0.0.1:$NGINX_PORT (pid $NGINX_PID)"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$NGINX_PORT/")
[[ $code == 302 ]] || die "nginx answered $code, not 302"

# Exact check first, on the fresh store: every one of the 10,000 links once,
# 32 at a time, with a client that reads every answer (curl). Afterwards the
# store must hold exactly one click per 302 received. (wrk cannot give an
# exact count: it abandons the requests in flight when its time is up.)
start_tally
log "tally on 127.0.0.1:$TALLY_PORT (pid $TALLY_PID), up in $TALLY_STARTUP_MS ms; requesting all 10,000 links once"
curl -sS --no-progress-meter -Z --parallel-max 32 -w '\nBENCH_CODE %{http_code}\n' \
    "http://127.0.0.1:$TALLY_PORT/c/[1-100]/[1-100]/1" >"$BENCH_DIR/logs/all-links.txt" \
    2>"$BENCH_DIR/logs/all-links.err" || true
EXACT_302=$(grep -c '^BENCH_CODE 302$' "$BENCH_DIR/logs/all-links.txt" || true)
EXACT_ALL=$(grep -c '^BENCH_CODE ' "$BENCH_DIR/logs/all-links.txt" || true)
((EXACT_302 == 10000)) || die "only $EXACT_302 of the 10,000 links answered 302 ($EXACT_ALL answers): $(
    grep '^BENCH_CODE' "$BENCH_DIR/logs/all-links.txt" | sort | uniq -c | tr '\n' ' ')"
stop_tally
count_clicks
EXACT_CLICKS=$CLICKS
if [[ $EXACT_CLICKS == "$EXACT_302" ]]; then
    EXACT_VERDICT="OK: $(fmt_int "$EXACT_302") 302s received, $(fmt_int "$EXACT_CLICKS") clicks stored"
else
    EXACT_VERDICT="FAIL: $(fmt_int "$EXACT_302") 302s received, $EXACT_CLICKS clicks stored"
fi
log "exact check: $EXACT_VERDICT"

start_tally
log "tally restarted on 127.0.0.1:$TALLY_PORT (pid $TALLY_PID), up in $TALLY_STARTUP_MS ms"
TALLY_302=0

# Results per target (nginx, hot, mix) and round, keyed "target,round".
declare -A RPS_OF P99_OF RATIO_OF CPU_OF OTHER_OF
TARGETS=(nginx hot mix)
declare -A NAME_OF=([nginx]="nginx \`return 302\`" [hot]="Tally, hot link /c/1/1/1" [mix]="Tally, 10k links")
declare -A URL_OF=([nginx]="http://127.0.0.1:$NGINX_PORT/" [hot]="http://127.0.0.1:$TALLY_PORT/c/1/1/1"
    [mix]="http://127.0.0.1:$TALLY_PORT/")
declare -A SCRIPT_OF=([nginx]=count302.lua [hot]=count302.lua [mix]=mix10k.lua)
TALLY_OTHER=0
for ((r = 1; r <= ROUNDS; r++)); do
    for t in "${TARGETS[@]}"; do
        log "round $r/$ROUNDS: ${NAME_OF[$t]}"
        server=tally
        [[ $t == nginx ]] && server=nginx
        run_wrk "r$r-$t" "${URL_OF[$t]}" "${SCRIPT_OF[$t]}" "$DURATION" "$server"
        RPS_OF[$t,$r]=$RPS P99_OF[$t,$r]=$P99_MS CPU_OF[$t,$r]=$CPU_US OTHER_OF[$t,$r]=$OTHER_PCT
        if [[ $server == tally ]]; then
            TALLY_302=$((TALLY_302 + N302)) TALLY_OTHER=$((TALLY_OTHER + NOTHER))
        fi
    done
    for t in "${TARGETS[@]}"; do
        RATIO_OF[$t,$r]=$(awk -v a="${RPS_OF[$t,$r]}" -v b="${RPS_OF[nginx,$r]}" 'BEGIN { printf "%.2f", a / b }')
    done
    log "round $r: nginx ${RPS_OF[nginx,$r]}/s, hot ${RPS_OF[hot,$r]}/s (${RATIO_OF[hot,$r]}), 10k ${RPS_OF[mix,$r]}/s (${RATIO_OF[mix,$r]})"
done

stop_nginx
log "stopping tally (SIGTERM)"
stop_tally
log "tally exited $TALLY_STOP_S s after SIGTERM"
count_clicks

# Every 302 Tally sent stands for a stored click. The store may hold a few
# more: wrk abandons the requests in flight when its time is up (at most one
# per connection, 32 per run), and Tally may have stored those before the
# answer went out. Fewer stored clicks than 302s would be lost clicks.
RUNS=$((2 * ROUNDS))
[[ $CLICKS == n/a ]] || CLICKS=$((CLICKS - EXACT_CLICKS))   # the wrk runs' share
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

{
    echo "# Redirect benchmark, $(date +%F)"
    echo
    machine_note
    echo "Client: \`wrk -t2 -c32 -d$DURATION --latency\` on the same machine (loopback), $ROUNDS alternating rounds; Lua scripts count the 302s; no cookies sent (every request is a new visitor), a desktop Chrome user agent on every request."
    echo "Store: $STORE_NOTE, fresh at the start; program 1 with 100 partners x 100 ads."
    echo
    wrk_table "${TARGETS[@]}"
    echo
    echo "Medians are per column; the median ratio is the median of the per-round ratios. Server CPU per request: the server's utime+stime during the run (all its processes and threads) over the answers it gave. Other processes' CPU: user+system time of the whole machine minus the server's and wrk's, as a share of the machine; above a few % the figures of that run are disturbed."
    echo
    echo "Clicks, exact check (each of the 10,000 links once with curl, 32 in parallel, before the runs): $EXACT_VERDICT."
    echo "Clicks, wrk runs: $(fmt_int "$TALLY_302") answered with 302 by Tally over $RUNS runs (plus $TALLY_OTHER other answers); in the store at the end: $(fmt_int "$CLICKS_CLI") by \`tally clicks export 1 --format csv\` (which took $EXPORT_S s), $(fmt_int "$CLICKS_SQL") by ${SQL_TOOL:-sqlite3} (table ${CLICKS_SQL_TABLE:-none found}), i.e. $(fmt_int "$CLICKS") from the wrk runs. $VERDICT."
    echo "Tally start-up to \"listening on\": $TALLY_STARTUP_MS ms (store holding 10,000 clicks); exit after SIGTERM at the end: $TALLY_STOP_S s."
} >"$BENCH_DIR/results.md"

echo
cat "$BENCH_DIR/results.md"
mkdir -p "$BENCH_HOME/results"
RESULT_FILE="$BENCH_HOME/results/redirect${PG_DATABASE:+-postgres}-$(date +%F).md"
cp "$BENCH_DIR/results.md" "$RESULT_FILE"
log "written to ${RESULT_FILE#"$REPO"/}"

[[ $VERDICT != FAIL* && $EXACT_VERDICT != FAIL* ]]
