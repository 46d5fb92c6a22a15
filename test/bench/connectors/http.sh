#!/usr/bin/env bash
# test/bench/connectors/http.sh — 100 pages x 1,000 records from a loopback
# server (test/harness/http/httpfix.py, /bench) that adds 20 ms of latency
# per page, into a table:
#   1. metaetl, pages fetched concurrently (max_parallel 10) vs one after the
#      other (max_parallel 1), compared on the source step (fetch, parse,
#      staging; the run's own record of it): target >= 5x; the whole run's
#      ratio is printed too;
#   2. metaetl end to end (records/s into a new table, wall time at the
#      client) vs a Python loop (urllib page by page, json, a pandas frame,
#      psycopg2 COPY into a new table; test/bench/connectors/http_baseline.py,
#      /usr/bin/python3): target >= 3x.
# All three run in the same invocation, interleaved, best of REPEAT.
# Builds its own throwaway cluster (like make test); prints times and ratios.
# The machine may be shared: the numbers move with its load (printed).
#
#   bash test/bench/connectors/http.sh        # PAGES=20 for a quick look
source "$(dirname "${BASH_SOURCE[0]}")/../../harness/common.sh"

PAGES=${PAGES:-100}
PER_PAGE=${PER_PAGE:-1000}
DELAY_MS=${DELAY_MS:-20}
REPEAT=${REPEAT:-3}

metaetl_deps python3-pandas python3-psycopg2 bc
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

# one metaetl run over connection $1 into a fresh table (the baseline creates
# its table too): "<wall s> <source step s> <rows>", the wall time taken by
# the client around the whole statement (connection included, as the
# baseline's is), the source step's from the run's own record
metaetl_run() {
    local t0 t1 out
    psql_pg -d bench -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS public.http_out" >/dev/null
    t0=$(date +%s.%N)
    out=$(psql_pg -d bench -At -c "SELECT round((r #>> '{steps,0,duration_ms}')::numeric / 1000, 3) || ' ' || (r->>'rows_written')
      FROM etl.execute_plan('{\"pipeline\": {\"id\": \"bench\", \"sources\": [{\"id\": \"s\", \"type\": \"http\",
        \"connection\": \"$1\", \"path\": \"/bench\", \"records\": \"\$.data[*]\",
        \"params\": {\"per_page\": \"$PER_PAGE\", \"pages\": \"$PAGES\", \"delay_ms\": \"$DELAY_MS\"},
        \"columns\": {\"id\": \"bigint\", \"name\": \"text\", \"amount\": \"numeric\", \"flag\": \"boolean\", \"ts\": \"text\"},
        \"pagination\": {\"type\": \"page\", \"total_pages_path\": \"\$.total_pages\"}}],
        \"targets\": [{\"id\": \"t\", \"table\": \"public.http_out\"}]}}') r")
    t1=$(date +%s.%N)
    echo "$(echo "$t1 - $t0" | bc -l) $out"
}
python_run() {
    as_pg /usr/bin/python3 "$REPO/test/bench/connectors/http_baseline.py" "$URL" "$PAGES" "$PER_PAGE" "$DELAY_MS" \
        "host=$PGHOST port=$PGPORT dbname=bench user=postgres"
}
# the smallest of column $2 of lines in file $1, and the line's rows
best() { sort -n -k"$2" "$1" | head -1 | awk -v c="$2" '{print $c, $NF}'; }

log "warm-up (the fixture builds its pages once per process)"
metaetl_run bench_par >/dev/null
metaetl_run bench_par >/dev/null
# the three interleaved, round by round, so that a busy moment of a shared
# machine does not fall on one of them only
: >"$WORK/seq"; : >"$WORK/par"; : >"$WORK/py"
for _ in $(seq 1 "$REPEAT"); do
    metaetl_run bench_seq >>"$WORK/seq"
    metaetl_run bench_par >>"$WORK/par"
    python_run >>"$WORK/py"
done

read -r s_wall s_rows <<<"$(best "$WORK/seq" 1)"
read -r s_src _ <<<"$(best "$WORK/seq" 2)"
read -r p_wall p_rows <<<"$(best "$WORK/par" 1)"
read -r p_src _ <<<"$(best "$WORK/par" 2)"
read -r y_wall y_rows <<<"$(best "$WORK/py" 1)"
total=$((PAGES * PER_PAGE))
for n in "$s_rows" "$p_rows" "$y_rows"; do
    [ "$n" = "$total" ] || { echo "a run wrote $n rows, not $total" >&2; exit 1; }
done
rate() { echo "$total / $1" | bc -l; }
echo "pages=$PAGES x $PER_PAGE records, +${DELAY_MS} ms per page, best of $REPEAT (interleaved), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '                                        fetch+parse+stage   end to end (into a new table)\n'
printf 'metaetl sequential (max_parallel 1):     %7.3f s          %7.3f s  %9.0f records/s\n' "$s_src" "$s_wall" "$(rate "$s_wall")"
printf 'metaetl parallel   (max_parallel 10):    %7.3f s          %7.3f s  %9.0f records/s\n' "$p_src" "$p_wall" "$(rate "$p_wall")"
printf 'python urllib + json + pandas + COPY:          -            %7.3f s  %9.0f records/s\n' "$y_wall" "$(rate "$y_wall")"
printf 'parallel vs sequential fetch (source step): %.1fx (target >= 5x); whole run %.1fx\n' \
    "$(echo "$s_src / $p_src" | bc -l)" "$(echo "$s_wall / $p_wall" | bc -l)"
printf 'metaetl end to end vs python: %.1fx (target >= 3x)\n' "$(echo "$y_wall / $p_wall" | bc -l)"
