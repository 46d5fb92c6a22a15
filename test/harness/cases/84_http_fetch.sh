# case 84_http_fetch: the HTTP engine's behaviour in time, against the
# loopback fixtures (test/harness/servers/httpfix.sh): pages of a known page
# count are fetched concurrently (max_parallel 8 beats max_parallel 1 by far
# on a server adding 100 ms per page), rate_limit spaces request starts,
# a cancel (statement_timeout) ends a slow request at once instead of after
# the server's 20 s, and the backend leaks no socket across runs.
# Sourced by test.sh with the cluster running in metaetl_regress.
set -euo pipefail
fail() { echo "FAILED: $*"; exit 1; }
db=metaetl_regress
q() { psql_pg -d "$db" -At "$@"; }
[ -n "${METAETL_HTTPFIX_URL:-}" ] || fail "METAETL_HTTPFIX_URL is not set (httpfix not started)"
cleanup() {
    q -c "DELETE FROM etl.data_sources WHERE name LIKE 'h84_%'" -c "DELETE FROM etl.data_targets WHERE name LIKE 'h84_%'" \
      -c "DROP TABLE IF EXISTS public.h84_out, public.h84_fd" >/dev/null || true
}
trap cleanup EXIT

for p in 1 8; do
    q -c "SELECT etl.add_connection('h84_p$p', 'http', '{\"base_url\": \"$METAETL_HTTPFIX_URL\", \"allow_private\": true, \"max_parallel\": $p}')" >/dev/null
done
q -c "SELECT etl.add_connection('h84_rate', 'http', '{\"base_url\": \"$METAETL_HTTPFIX_URL\", \"allow_private\": true, \"max_parallel\": 8, \"rate_limit\": 5}')" >/dev/null

# one run: 16 pages of 50 records, 100 ms of latency each; prints "rows ms"
run() {
    q -c "SELECT (r->>'rows_written') || ' ' || round((r->>'duration_ms')::numeric) FROM etl.execute_plan('{\"pipeline\": {\"id\": \"h84\",
        \"sources\": [{\"id\": \"s\", \"type\": \"http\", \"connection\": \"$1\", \"path\": \"/bench\",
                       \"params\": {\"per_page\": \"50\", \"pages\": \"16\", \"delay_ms\": \"100\"}, \"records\": \"\$.data[*]\",
                       \"pagination\": {\"type\": \"page\", \"total_pages_path\": \"\$.total_pages\"}}],
        \"targets\": [{\"id\": \"t\", \"table\": \"public.h84_out\"}]}}') r"
}
read -r rows1 ms1 <<<"$(run h84_p1)"
read -r rows8 ms8 <<<"$(run h84_p8)"
echo "max_parallel 1: $rows1 rows in $ms1 ms; max_parallel 8: $rows8 rows in $ms8 ms"
[ "$rows1" = 800 ] && [ "$rows8" = 800 ] || fail "expected 800 rows each"
# sequential needs >= 16 x 100 ms; 8 at a time about 2 x 100 ms (+ page 1 alone)
[ "$ms1" -ge 1600 ] || fail "sequential fetch took $ms1 ms, less than 16 pages x 100 ms"
[ $((ms8 * 3)) -lt "$ms1" ] || fail "parallel fetch ($ms8 ms) is not 3x faster than sequential ($ms1 ms)"
[ "$(q -c "SELECT count(DISTINCT id) FROM public.h84_out")" = 800 ] || fail "rows lost or doubled"

# rate_limit 5/s: 16 requests need >= 3 s whatever max_parallel says
read -r rowsr msr <<<"$(run h84_rate)"
echo "rate_limit 5/s: $rowsr rows in $msr ms"
[ "$msr" -ge 2800 ] || fail "rate_limit 5/s let 16 requests through in $msr ms"

# a cancel ends a 20 s request within a second
start=$(date +%s%N)
out=$(q -c "SET statement_timeout = '700ms'" -c "SELECT etl.execute_plan('{\"pipeline\": {\"id\": \"h84\",
        \"sources\": [{\"id\": \"s\", \"type\": \"http\", \"connection\": \"h84_p1\", \"path\": \"/slow?ms=20000\"}],
        \"targets\": [{\"id\": \"t\", \"table\": \"public.h84_slow\"}]}}')" 2>&1 || true)
el=$(( ($(date +%s%N) - start) / 1000000 ))
echo "cancelled after $el ms: $out"
echo "$out" | grep -q "canceling statement due to statement timeout" || fail "no statement timeout error"
[ "$el" -lt 3000 ] || fail "the cancel took $el ms"

# no socket left open by the backend after runs: count its sockets while the
# session sleeps, against a session that did not fetch
sockets() {
    q -c "$2" -c "SELECT pg_sleep(2.5) /* h84 $1 */" >/dev/null 2>&1 &
    local bg=$! pid=""
    for _ in $(seq 1 40); do
        pid=$(q -c "SELECT pid FROM pg_stat_activity WHERE query LIKE '%pg_sleep(2.5) /* h84 $1 */%' AND pid <> pg_backend_pid()")
        [ -n "$pid" ] && break
        sleep 0.1
    done
    ls -l "/proc/$pid/fd" 2>/dev/null | grep -c 'socket:' || true
    wait "$bg" || fail "the session counting sockets ($1) failed"
}
base=$(sockets base "SELECT 1")
after=$(sockets run "SELECT etl.execute_plan('{\"pipeline\": {\"id\": \"h84\", \"sources\": [{\"id\": \"s\", \"type\": \"http\", \"connection\": \"h84_p8\", \"path\": \"/items\", \"records\": \"\$.data[*]\", \"pagination\": {\"type\": \"page\", \"total_pages_path\": \"\$.total_pages\"}}], \"targets\": [{\"id\": \"t\", \"table\": \"public.h84_fd\"}]}}') IS NOT NULL")
echo "sockets of a backend: $base without a fetch, $after after one"
[ "$after" -le "$base" ] || fail "the backend kept $((after - base)) socket(s) open after the run"
