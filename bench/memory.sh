#!/usr/bin/env bash
# Memory and start-up benchmark: Tally's resident memory after storing
# 1,000,000 clicks, and its start-up time on a store that holds them.
#
#   bench/memory.sh            (as root on Debian, or with sudo available)
#
# - same setup as bench/redirect.sh (fresh store in a temp dir, 10,000 links);
# - drives clicks through the running server with repeated
#   `wrk -t2 -c32 --latency` runs over all 10,000 links (wrk has no
#   "N requests" mode), summing the 302s until at least CLICKS_TARGET;
#   VmRSS is read after every run, so the table shows whether memory grows
#   with the data or stays flat;
# - stops Tally (SIGTERM), counts the stored clicks, then starts it 5 times on
#   that store and times exec -> "listening on ..." (median).
# Targets: RSS < 150 MB after the load, start-up < 1 s.
#
# Environment: CLICKS_TARGET (1000000), STARTS (5), BENCH_KEEP=1 keeps the temp
# dir, BENCH_TALLY_BIN=PATH benchmarks that binary instead of building one,
# QUIET_WAIT_S (300) how long to wait for an idle machine before each run.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CLICKS_TARGET=${CLICKS_TARGET:-1000000}
STARTS=${STARTS:-5}
RSS_TARGET_MB=150
STARTUP_TARGET_MS=1000

ensure_tools
build_tally
make_bench_dir
make_store
note_load

rss_mb() { awk -v k="$2" '$1 == k":" { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

start_tally
log "tally on 127.0.0.1:$TALLY_PORT (pid $TALLY_PID), up in $TALLY_STARTUP_MS ms"
RSS_IDLE=$(rss_mb "$TALLY_PID" VmRSS)

# --- load ------------------------------------------------------------------------
answered=0 other=0 runs=0 dur=10
declare -a LOAD_ROWS
while ((answered < CLICKS_TARGET)); do
    runs=$((runs + 1))
    run_wrk "load-$runs" "http://127.0.0.1:$TALLY_PORT/" mix10k.lua "${dur}s" tally
    answered=$((answered + N302)) other=$((other + NOTHER))
    rss=$(rss_mb "$TALLY_PID" VmRSS)
    LOAD_ROWS+=("| $runs | ${dur} s | $(fmt_int "$RPS") | $P99_MS ms | $CPU_US µs | $OTHER_PCT % | $(fmt_int "$answered") | $rss MB |")
    log "run $runs: $N302 302s at $RPS/s, $answered in total, VmRSS $rss MB"
    # Size the next run from the rate just seen (+10 %, 2..60 s), so the
    # total lands just above the target instead of a whole run beyond it.
    dur=$(awk -v left=$((CLICKS_TARGET - answered)) -v rps="$RPS" 'BEGIN {
        d = int(left / (rps > 0 ? rps : 1) * 1.1) + 1
        print (d < 2) ? 2 : (d > 60) ? 60 : d }')
done
RSS_LOADED=$(rss_mb "$TALLY_PID" VmRSS)
RSS_PEAK=$(rss_mb "$TALLY_PID" VmHWM)
sleep 5   # and once more after a pause, in case memory is handed back lazily
RSS_SETTLED=$(rss_mb "$TALLY_PID" VmRSS)
log "after $answered clicks: VmRSS $RSS_LOADED MB (peak $RSS_PEAK MB, $RSS_SETTLED MB 5 s later)"

log "stopping tally (SIGTERM)"
stop_tally
log "tally exited $TALLY_STOP_S s after SIGTERM"
LOAD_STOP_S=$TALLY_STOP_S
count_clicks
DB_SIZE=$(du -cm "$BENCH_DIR"/tally.db* | awk 'END { print $1 }')

# As in redirect.sh: the store may hold up to 32 clicks per run more than the
# 302s wrk read (requests in flight when a run ends), never fewer.
if [[ $CLICKS == n/a ]]; then
    VERDICT="UNKNOWN: could not count the clicks in the store"
elif ((CLICKS >= answered && CLICKS - answered <= 32 * runs)); then
    VERDICT="OK: clicks stored $CLICKS, 302s answered $answered"
else
    VERDICT="FAIL: clicks stored $CLICKS, 302s answered $answered"
fi

# --- start-up on the loaded store ---------------------------------------------------
declare -a STARTUP_MS RSS_STARTED
for ((i = 1; i <= STARTS; i++)); do
    start_tally
    STARTUP_MS+=("$TALLY_STARTUP_MS")
    rss_after_start=$(rss_mb "$TALLY_PID" VmRSS)
    RSS_STARTED+=("$rss_after_start")
    log "start $i: listening after $TALLY_STARTUP_MS ms, VmRSS $rss_after_start MB"
    stop_tally
done
STARTUP_MEDIAN=$(median %.1f "${STARTUP_MS[@]}")

verdict() { awk -v v="$1" -v t="$2" 'BEGIN { print (v < t) ? "met" : "MISSED" }'; }

{
    echo "# Memory and start-up, $(date +%F)"
    echo
    machine_note
    echo "Load: \`wrk -t2 -c32 --latency\` with a desktop Chrome user agent over all 10,000 links, repeated until $(fmt_int "$CLICKS_TARGET") 302s; store: $STORE_NOTE."
    echo
    echo "| figure | measured | target | |"
    echo "|---|---|---|---|"
    echo "| VmRSS after $(fmt_int "$answered") clicks | $RSS_LOADED MB | < $RSS_TARGET_MB MB | $(verdict "$RSS_LOADED" "$RSS_TARGET_MB") |"
    echo "| VmRSS 5 s later / peak (VmHWM) | $RSS_SETTLED MB / $RSS_PEAK MB | | |"
    echo "| VmRSS right after start-up: first start (first-run setup, empty store) / restarts on the loaded store (median) | $RSS_IDLE MB / $(median %.1f "${RSS_STARTED[@]}") MB | | |"
    echo "| start-up to \"listening on\", $(fmt_int "$CLICKS") clicks stored (median of $STARTS) | $STARTUP_MEDIAN ms | < $STARTUP_TARGET_MS ms | $(verdict "$STARTUP_MEDIAN" "$STARTUP_TARGET_MS") |"
    echo
    echo "Start-up runs: ${STARTUP_MS[*]} ms. Store on disk: $DB_SIZE MB (tally.db*). Exit after SIGTERM following the load: $LOAD_STOP_S s."
    echo "Clicks: $(fmt_int "$CLICKS_CLI") by \`tally clicks export 1 --format csv\` (which took $EXPORT_S s), $(fmt_int "$CLICKS_SQL") by ${SQL_TOOL:-sqlite3} (table ${CLICKS_SQL_TABLE:-none found}); $VERDICT ($other answers other than 302)."
    echo
    echo "| load run | duration | req/s | p99 | Tally CPU per request | other processes' CPU | 302s so far | VmRSS after |"
    echo "|---|---|---|---|---|---|---|---|"
    printf '%s\n' "${LOAD_ROWS[@]}"
} >"$BENCH_DIR/results.md"

echo
cat "$BENCH_DIR/results.md"
mkdir -p "$BENCH_HOME/results"
RESULT_FILE="$BENCH_HOME/results/memory${PG_DATABASE:+-postgres}-$(date +%F).md"
cp "$BENCH_DIR/results.md" "$RESULT_FILE"
log "written to ${RESULT_FILE#"$REPO"/}"

[[ $VERDICT != FAIL* ]]
