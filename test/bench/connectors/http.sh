#!/usr/bin/env bash
# test/bench/connectors/http.sh — 100 pages x 1,000 records from a loopback
# server (test/harness/http/httpfix.py, /bench) that adds 20 ms of latency
# per page, into a table:
#   1. metaetl, pages fetched concurrently (max_parallel 10) vs one after the
#      other (max_parallel 1): target >= 5x;
#   2. metaetl end to end (records/s into a table) vs a Python loop (urllib
#      page by page + pandas + psycopg2 COPY): target >= 3x.
# Builds its own throwaway cluster (like make test); prints times and ratios.
#
#   bash test/bench/connectors/http.sh        # PAGES=20 for a quick look
source "$(dirname "${BASH_SOURCE[0]}")/../../harness/common.sh"

PAGES=${PAGES:-100}
PER_PAGE=${PER_PAGE:-1000}
DELAY_MS=${DELAY_MS:-20}
REPEAT=${REPEAT:-3}

metaetl_deps python3-pandas python3-psycopg2
metaetl_workdir
trap metaetl_cleanup EXIT
metaetl_private_pg
metaetl_build >/dev/null
metaetl_cluster_init bench
metaetl_cluster_start
as_pg "$PGBIN/createdb" -h "$PGHOST" -p "$PGPORT" -U postgres bench
export PGDATABASE=bench
# the fixture in 4 processes, so that its own CPU is not the bottleneck measured
port=$(metaetl_free_port)
/usr/bin/python3 "$REPO/test/harness/http/httpfix.py" "$port" --workers 4 >"$WORK/httpfix.log" 2>&1 &
fixpid=$!
trap 'kill -- $fixpid $(pgrep -P $fixpid) 2>/dev/null; metaetl_cleanup' EXIT
URL=http://127.0.0.1:$port
for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.1; done

psql_pg -d bench -c "CREATE EXTENSION metaetl" \
  -c "SELECT etl.add_connection('bench_seq', 'http', '{\"base_url\": \"$URL\", \"allow_private\": true, \"max_parallel\": 1}')" \
  -c "SELECT etl.add_connection('bench_par', 'http', '{\"base_url\": \"$URL\", \"allow_private\": true, \"max_parallel\": 10}')" >/dev/null

# seconds and rows of one metaetl run over connection $1
metaetl_run() {
    psql_pg -d bench -At -c "SELECT round((r->>'duration_ms')::numeric / 1000, 3) || ' ' || (r->>'rows_written')
      FROM etl.execute_plan('{\"pipeline\": {\"id\": \"bench\", \"sources\": [{\"id\": \"s\", \"type\": \"http\",
        \"connection\": \"$1\", \"path\": \"/bench\", \"records\": \"\$.data[*]\",
        \"params\": {\"per_page\": \"$PER_PAGE\", \"pages\": \"$PAGES\", \"delay_ms\": \"$DELAY_MS\"},
        \"columns\": {\"id\": \"bigint\", \"name\": \"text\", \"amount\": \"numeric\", \"flag\": \"boolean\", \"ts\": \"text\"},
        \"pagination\": {\"type\": \"page\", \"total_pages_path\": \"\$.total_pages\"}}],
        \"targets\": [{\"id\": \"t\", \"table\": \"public.http_out\"}]}}') r"
}
best() { sort -n | head -1; }

log "warm-up (the fixture builds its pages once)"
metaetl_run bench_par >/dev/null
seq_s=$(for _ in $(seq 1 "$REPEAT"); do metaetl_run bench_seq; done | best)
par_s=$(for _ in $(seq 1 "$REPEAT"); do metaetl_run bench_par; done | best)
py_s=$(for _ in $(seq 1 "$REPEAT"); do
    as_pg /usr/bin/python3 "$REPO/test/bench/connectors/http_baseline.py" "$URL" "$PAGES" "$PER_PAGE" "$DELAY_MS" \
        "host=$PGHOST port=$PGPORT dbname=bench user=postgres"; done | best)

read -r s_sec s_rows <<<"$seq_s"
read -r p_sec p_rows <<<"$par_s"
read -r y_sec y_rows <<<"$py_s"
total=$((PAGES * PER_PAGE))
echo "pages=$PAGES x $PER_PAGE records, +${DELAY_MS} ms per page, best of $REPEAT"
printf 'metaetl sequential (max_parallel 1):  %7.3f s  %9.0f records/s  (%s rows)\n' "$s_sec" "$(echo "$total / $s_sec" | bc -l)" "$s_rows"
printf 'metaetl parallel   (max_parallel 10): %7.3f s  %9.0f records/s  (%s rows)\n' "$p_sec" "$(echo "$total / $p_sec" | bc -l)" "$p_rows"
printf 'python urllib + pandas + COPY:        %7.3f s  %9.0f records/s  (%s rows)\n' "$y_sec" "$(echo "$total / $y_sec" | bc -l)" "$y_rows"
printf 'parallel vs sequential fetch: %.1fx (target >= 5x)\n' "$(echo "$s_sec / $p_sec" | bc -l)"
printf 'metaetl end to end vs python: %.1fx (target >= 3x)\n' "$(echo "$y_sec / $p_sec" | bc -l)"
