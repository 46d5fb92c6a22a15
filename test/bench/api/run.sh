#!/usr/bin/env bash
# test/bench/api/run.sh — metaetl-api load benchmark (not part of make test).
#
# Builds metaetl into a private PostgreSQL copy, starts a throwaway cluster and
# metaetl-api on loopback, and drives it with wrk (C connections, D seconds
# each, latency distribution):
#   1. GET  /api/v1/runs/{id}/status            (target: p99 <= 20 ms, 0 errors)
#   2. POST /api/v1/pipelines/{id}/execute      {"wait": false}: starts a run
# Baselines measured in the same run, on the same cluster and data:
#   - the same SQL straight over libpq (pgbench, C clients, D seconds, per-
#     statement latencies from its log): SELECT etl.run_status(id) and
#     SELECT etl.execute_pipeline(id, wait => false), as the same role;
#   - GET /api/v1/openapi.json: the server's HTTP path alone, no database.
# Prints p50/p99, requests/s and errors of each, and the ratio of the API's
# p99 to the direct SQL's.  The machine may be shared: say so with the numbers.
# Usage: bash test/bench/api/run.sh [C=50] [D=30]
# Environment: POOL (metaetl-api --pool-size; default: the server's own, twice the CPU
# cores), THREADS (wrk -t, 2).
source "$(dirname "${BASH_SOURCE[0]}")/../../harness/common.sh"
C=${1:-50}
D=${2:-30}
POOL=${POOL:-}
THREADS=${THREADS:-2}
[ "$THREADS" -le "$C" ] || THREADS=$C     # wrk needs a connection per thread
metaetl_deps wrk
metaetl_workdir
trap 'kill ${api_pid:-} 2>/dev/null || true; metaetl_cleanup' EXIT
metaetl_private_pg
metaetl_build >/dev/null
DB=bench
metaetl_cluster_init "$DB"
cat >>"$WORK/data/postgresql.conf" <<CONF
max_connections = 200
max_worker_processes = 64
metaetl.max_concurrent_runs = 32
CONF
metaetl_cluster_start
as_pg "$PGBIN/createdb" -h "$PGHOST" -p "$PGPORT" -U postgres "$DB"
q() { psql_pg -d "$DB" -At "$@"; }
q <<'SQL' >/dev/null
CREATE EXTENSION metaetl;
CREATE ROLE bench_server LOGIN IN ROLE etl_api;
CREATE ROLE bench_user LOGIN;
CREATE SCHEMA bench AUTHORIZATION bench_user;
SQL
u() { as_pg "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -At -h "$PGHOST" -p "$PGPORT" -U bench_user -d "$DB" "$@"; }
u -c "SELECT etl.register_pipeline(\$\$
pipeline:
  id: bench_p
  name: API benchmark
  concurrency: allow
  sources: [ { id: src, type: postgresql, query: 'SELECT 1 AS x' } ]
  targets: [ { id: out, type: postgresql, table: bench.out, mode: append } ]
\$\$)" >/dev/null
RUN=$(u -c "SELECT etl.execute_pipeline('bench_p')->>'run_id'")
TOKEN=$(u -c "SELECT etl.create_api_token('bench_user')")

PORT=$(metaetl_free_port)
"$PGBIN/metaetl-api" --listen "127.0.0.1:$PORT" ${POOL:+--pool-size "$POOL"} --no-access-log --max-connections 512 \
    --dsn "host=$PGHOST port=$PGPORT dbname=$DB user=bench_server" >"$WORK/api.log" 2>&1 &
api_pid=$!
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/api/v1/health" && break; sleep 0.1; done
URL=http://127.0.0.1:$PORT/api/v1
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$URL/runs/$RUN/status")" = 200 ] ||
    { echo "the API does not answer"; cat "$WORK/api.log"; exit 1; }

# wrk_run NAME URL [wrk args]: prints "NAME p50 p99 rps errors" (ms)
wrk_run() {
    local name=$1 url=$2 out
    shift 2
    # a 10 s timeout: a slow answer is measured, not counted as an error
    out=$(wrk -t"$THREADS" -c"$C" -d"${D}s" --timeout 10s --latency "$@" "$url")
    echo "$out" >"$WORK/wrk-$name.txt"
    echo "$out" | grep -E 'Socket errors|Non-2xx' | sed "s/^/  $name: /" >&2 || true
    echo "$out" | awk -v name="$name" '
        function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
        $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) }
        /Requests\/sec/ { rps = $2 }
        /Non-2xx or 3xx responses/ { err += $NF }
        /Socket errors/ { gsub(",", ""); err += $4 + $6 + $8 + $10 }
        END { printf "%s %.2f %.2f %.0f %d\n", name, p50, p99, rps, err }'
}

# pgbench_run NAME SQL: prints "NAME p50 p99 tps errors" (ms), as bench_user
pgbench_run() {
    local name=$1 sql=$2 d
    d=$WORK/pgb-$name
    mkdir -p "$d"; chmod 777 "$d"
    echo "$sql" >"$d/script.sql"; chmod 644 "$d/script.sql"
    (cd "$d" && as_pg "$PGBIN/pgbench" -n -h "$PGHOST" -p "$PGPORT" -U bench_user -c "$C" -j "$THREADS" -T "$D" \
        -f "$d/script.sql" -l --log-prefix="$d/log" "$DB" >"$d/out.txt" 2>&1) || true
    local tps fails
    tps=$(awk '/^tps/ { print $3; exit }' "$d/out.txt")
    fails=$(awk '/number of failed transactions/ { print $5 }' "$d/out.txt")
    cat "$d"/log.* | awk '{ print $3 / 1000 }' | sort -n | awk -v name="$name" -v tps="$tps" -v f="${fails:-0}" '
        { v[NR] = $1 } END { printf "%s %.2f %.2f %.0f %d\n", name, v[int(NR * 0.50) + 1], v[int(NR * 0.99) + 1], tps, f }'
}

echo "== metaetl-api benchmark: $C connections, $D s each, pool ${POOL:-default ($(( $(nproc) * 2 )))}, wrk -t$THREADS (machine may be shared)"
cat >"$WORK/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"wait": false}'
wrk.headers["Content-Type"] = "application/json"
LUA
results=()
results+=("$(wrk_run api_status "$URL/runs/$RUN/status" -H "Authorization: Bearer $TOKEN")")
results+=("$(pgbench_run sql_status "SELECT etl.run_status($RUN);")")
results+=("$(wrk_run api_static "$URL/openapi.json")")
runs_before=$(q -c "SELECT count(*) FROM etl.pipeline_runs")
results+=("$(wrk_run api_execute "$URL/pipelines/bench_p/execute" -H "Authorization: Bearer $TOKEN" -s "$WORK/post.lua")")
runs_api=$(( $(q -c "SELECT count(*) FROM etl.pipeline_runs") - runs_before ))
sleep 5    # let the runs the API started finish before the baseline
runs_before=$(q -c "SELECT count(*) FROM etl.pipeline_runs")
results+=("$(pgbench_run sql_execute "SELECT etl.execute_pipeline('bench_p', wait => false);")")
runs_sql=$(( $(q -c "SELECT count(*) FROM etl.pipeline_runs") - runs_before ))
sleep 5
statuses=$(q -c "SELECT string_agg(status || ' ' || n, ', ' ORDER BY status) FROM (SELECT status, count(*) AS n FROM etl.pipeline_runs GROUP BY 1) s")

printf '\n%-12s %10s %10s %10s %8s\n' what p50_ms p99_ms req_per_s errors
for r in "${results[@]}"; do
    read -r n a b c e <<<"$r"
    printf '%-12s %10s %10s %10s %8s\n' "$n" "$a" "$b" "$c" "$e"
done
get() { for r in "${results[@]}"; do read -r n a b c e <<<"$r"; [ "$n" = "$1" ] && echo "${!2}"; done; return 0; }
p99s=$(get api_status b); p99q=$(get sql_status b); p99e=$(get api_execute b); p99qe=$(get sql_execute b)
echo
awk -v a="$p99s" -v b="$p99q" 'BEGIN { printf "status reads: API p99 %.2f ms vs direct SQL %.2f ms: ratio %.2f (target p99 <= 20 ms)\n", a, b, (b > 0 ? a / b : 0) }'
awk -v a="$p99e" -v b="$p99qe" 'BEGIN { printf "execute:      API p99 %.2f ms vs direct SQL %.2f ms: ratio %.2f\n", a, b, (b > 0 ? a / b : 0) }'
echo "runs started: $runs_api by the API, $runs_sql by pgbench; all runs now: $statuses"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
errs=$(get api_status e)
rps=$(get api_status c)
if awk -v p="$p99s" -v r="$rps" 'BEGIN { exit !(p <= 20 && r > 0) }' && [ "$errs" = 0 ]; then
    echo "status target met: p99 $p99s ms <= 20 ms, 0 errors"
else
    echo "status target NOT met: p99 $p99s ms, $errs errors"
fi
