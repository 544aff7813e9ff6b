#!/usr/bin/env bash
# Conversions benchmark: compatible S2S conversions (POST /Advertisers/{SID}/
# Conversions, two items, a discount, a click id and a customer id each) per
# second, on SQLite and, with BENCH_POSTGRES_URL, on PostgreSQL in the same run.
#
#   bench/conversions.sh                     (SQLite only)
#   BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres bench/conversions.sh
#
# Each store gets the 10,000-link program plus an event type with 8 % terms, and
# CLICKS_N (2,000) real clicks through the edge; every conversion names one of
# them, so each is attributed against a real journey, priced and stored with its
# submission in one transaction before the 200 goes out. Rounds alternate between
# the backends so drift hits both alike; PostgreSQL is quoted as a ratio to SQLite
# in the same round. At the end the actions in each store must equal the 200s
# answered (plus at most the requests in flight when wrk stopped).
#
# Environment: ROUNDS (3), DURATION (10s), CLICKS_N (2000), CUSTOMERS (shopper|shared),
# QUIET_WAIT_S (300),
# BENCH_TALLY_BIN=PATH, BENCH_KEEP=1 keeps the temp dir.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CLICKS_N=${CLICKS_N:-2000}
# shopper: each click's shopper is its own customer; shared: every order names the
# same customer id, the worst case for following identities.
CUSTOMERS=${CUSTOMERS:-shopper}
PG_URL=${BENCH_POSTGRES_URL:-}
unset BENCH_POSTGRES_URL   # make_bench_dir: start on SQLite; PostgreSQL is set up below

ensure_tools
build_tally
make_bench_dir
BENCH_POSTGRES_URL=$PG_URL   # for the exit trap, which drops the database
note_load

BACKENDS=(sqlite)
declare -A DB_OF SID_OF CREDENTIALS_OF
DB_OF[sqlite]="sqlite:$BENCH_DIR/tally.db"
if [[ -n $PG_URL ]]; then
    PG_DATABASE="tally_bench_conv_$$"
    psql "$PG_URL" -qc "CREATE DATABASE $PG_DATABASE" >/dev/null || die "cannot create a database at $PG_URL"
    DB_OF[postgres]="${PG_URL%/*}/$PG_DATABASE"
    BACKENDS+=(postgres)
fi

# The benchmark program with an event type and terms that pay 8 %.
"$BENCH_HOME/gen-program.sh" 100 100 |
    sed -e 's/"event_payouts": \[\]/"event_payouts": [{"event_type": 1, "default_payout": {"rate": "8"}}]/' \
        -e 's/^  "partners"/  "event_types": [{"id": 1, "code": "sale", "name": "Sale", "category": "SALE"}],\n  "partners"/' \
        >"$BENCH_DIR/program.json"

use_backend() { # points DB and the click journal at one backend's store
    DB=${DB_OF[$1]}
    export TALLY_CLICK_LOG__DIR="$BENCH_DIR/$1.clicks"
}

for backend in "${BACKENDS[@]}"; do
    use_backend "$backend"
    out=$("$TALLY" account create --name "Bench brand" --database "$DB") || die "account create failed on $backend"
    SID_OF[$backend]=$(sed -n 's/.*"account_sid"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' <<<"$out")
    token=$(sed -n 's/.*"auth_token"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' <<<"$out")
    CREDENTIALS_OF[$backend]=$(printf '%s:%s' "${SID_OF[$backend]}" "$token" | base64 -w0)
    "$TALLY" program apply "$BENCH_DIR/program.json" --account "${SID_OF[$backend]}" --database "$DB" \
        >"$BENCH_DIR/logs/apply-$backend.out" || die "program apply failed: $(cat "$BENCH_DIR/logs/apply-$backend.out")"
    start_tally
    log "$backend: tally on $TALLY_PORT; making $CLICKS_N clicks"
    for ((i = 0; i < CLICKS_N; i++)); do
        echo "url = \"http://127.0.0.1:$TALLY_PORT/c/$((i % 100 + 1))/$((i / 100 % 100 + 1))/1\""
    done >"$BENCH_DIR/click-urls.txt"
    curl -sS -Z --parallel-max 16 -K "$BENCH_DIR/click-urls.txt" -o /dev/null -w '%{redirect_url}\n' |
        sed -n 's/.*[?&]irclickid=\([A-Za-z0-9_-]*\).*/\1/p' >"$BENCH_DIR/clicks-$backend.txt"
    made=$(wc -l <"$BENCH_DIR/clicks-$backend.txt")
    ((made == CLICKS_N)) || die "$backend: only $made of $CLICKS_N clicks answered with a click id"
    stop_tally
done

declare -A RPS_OF P99_OF CPU_OF RATIO_OF OK_OF
for backend in "${BACKENDS[@]}"; do OK_OF[$backend]=0; done
for ((r = 1; r <= ROUNDS; r++)); do
    for backend in "${BACKENDS[@]}"; do
        use_backend "$backend"
        start_tally
        log "round $r/$ROUNDS: $backend"
        run_wrk "r$r-$backend" "http://127.0.0.1:$TALLY_PORT/" conversions.lua "$DURATION" tally \
            "$BENCH_DIR/clicks-$backend.txt" "${CREDENTIALS_OF[$backend]}" \
            "/Advertisers/${SID_OF[$backend]}/Conversions" "r$r" "$CUSTOMERS"
        RPS_OF[$backend,$r]=$RPS P99_OF[$backend,$r]=$P99_MS CPU_OF[$backend,$r]=$CPU_US
        OK_OF[$backend]=$((OK_OF[$backend] + N302))
        stop_tally
    done
    for backend in "${BACKENDS[@]}"; do
        RATIO_OF[$backend,$r]=$(awk -v a="${RPS_OF[$backend,$r]}" -v b="${RPS_OF[sqlite,$r]}" 'BEGIN { printf "%.2f", a / b }')
    done
done

# Every 200 stands for a stored action (each conversion credits its click's partner).
declare -A ACTIONS_OF VERDICT_OF
ACTIONS_OF[sqlite]=$(sqlite3 "$BENCH_DIR/tally.db" "select count(*) from action")
[[ -n $PG_URL ]] && ACTIONS_OF[postgres]=$(psql "${DB_OF[postgres]}" -Atc "select count(*) from action")
for backend in "${BACKENDS[@]}"; do
    actions=${ACTIONS_OF[$backend]} ok=${OK_OF[$backend]}
    if ((actions >= ok && actions - ok <= 32 * ROUNDS)); then
        VERDICT_OF[$backend]="OK: $(fmt_int "$actions") actions stored for $(fmt_int "$ok") conversions answered 200 (+$((actions - ok)) in flight when wrk stopped)"
    else
        VERDICT_OF[$backend]="FAIL: $(fmt_int "$actions") actions stored for $(fmt_int "$ok") conversions answered 200"
    fi
    log "$backend: ${VERDICT_OF[$backend]}"
done

{
    echo "# Conversions benchmark, $(date +%F)"
    echo
    machine_note
    echo "Client: \`wrk -t2 -c32 -d$DURATION --latency\` on the same machine (loopback), $ROUNDS alternating rounds; each request a new order with two items, a discount, shipping, a click id and a customer id ($CUSTOMERS: $([[ $CUSTOMERS == shared ]] && echo "one customer id on every order" || echo "one customer per clicking shopper")), attributed against $(fmt_int "$CLICKS_N") recorded clicks."
    echo
    echo "| round | store | conversions/s | p99 | ratio to SQLite (same round) | server CPU per conversion |"
    echo "|---|---|---|---|---|---|"
    for ((r = 1; r <= ROUNDS; r++)); do
        for backend in "${BACKENDS[@]}"; do
            printf '| %s | %s | %s | %s ms | %s | %s µs |\n' "$r" "$backend" "$(fmt_int "${RPS_OF[$backend,$r]}")" \
                "${P99_OF[$backend,$r]}" "${RATIO_OF[$backend,$r]}" "${CPU_OF[$backend,$r]}"
        done
    done
    for backend in "${BACKENDS[@]}"; do
        # shellcheck disable=SC2046
        printf '| **median** | **%s** | %s | %s ms | **%s** | %s µs |\n' "$backend" \
            "$(median %.0f $(column RPS_OF "$backend"))" "$(median %.2f $(column P99_OF "$backend"))" \
            "$(median %.2f $(column RATIO_OF "$backend"))" "$(median %.1f $(column CPU_OF "$backend"))"
    done
    echo
    echo "Server CPU per conversion: tally's utime+stime during the run over the answers it gave (all threads, including the store's; PostgreSQL's own server processes are not counted)."
    for backend in "${BACKENDS[@]}"; do echo "- $backend: ${VERDICT_OF[$backend]}."; done
} >"$BENCH_DIR/results.md"

echo
cat "$BENCH_DIR/results.md"
mkdir -p "$BENCH_HOME/results"
RESULT_FILE="$BENCH_HOME/results/conversions$([[ $CUSTOMERS == shared ]] && echo -shared)-$(date +%F).md"
cp "$BENCH_DIR/results.md" "$RESULT_FILE"
log "written to ${RESULT_FILE#"$REPO"/}"
for backend in "${BACKENDS[@]}"; do [[ ${VERDICT_OF[$backend]} == OK* ]] || exit 1; done
