#!/usr/bin/env bash
# test/bench/connectors/files.sh — a gzip-compressed CSV of ROWS rows
# (default 10,000,000: about 1 GB uncompressed, 8 columns) read into a table
# by a type: file source (etl.execute_plan: decompression, PostgreSQL's COPY
# parser over the stream, bulk insert into the staging table, then the load
# into the target table) vs the baseline COPY FROM PROGRAM 'zcat …' into a
# table, measured in the same run on the same file.  Prints rows/s, the
# ratio, and each backend's peak RSS (VmHWM) and its private part (VmHWM
# minus the shared memory the backend has touched by the end, RssShmem —
# shared buffers count in RSS; shared_buffers is 128MB here), for the full
# file and for a tenth of it, to show that metaetl's memory does not grow
# with the file.  Builds its own throwaway cluster, like make test; not part of it.
#
#   bash test/bench/connectors/files.sh           # ROWS=1000000 for a quick look
source "$(dirname "${BASH_SOURCE[0]}")/../../harness/common.sh"

ROWS=${ROWS:-10000000}
metaetl_deps
metaetl_workdir
trap metaetl_cleanup EXIT
metaetl_private_pg
metaetl_build >/dev/null
metaetl_cluster_init bench
cat >>"$WORK/data/postgresql.conf" <<CONF
shared_buffers = 128MB
max_wal_size = 8GB
autovacuum = off
CONF
metaetl_cluster_start
as_pg "$PGBIN/createdb" -h "$PGHOST" -p "$PGPORT" -U postgres bench
export PGDATABASE=bench
psql_pg -d bench -c "CREATE EXTENSION metaetl" >/dev/null

# the files: written by PostgreSQL's COPY TO and gzip(1), not by metaetl
make_file() {  # make_file NAME ROWS
    psql_pg -d bench -c "COPY (SELECT g AS id, 'customer ' || (g % 100000) AS name,
        (ARRAY['paid','cancelled','refunded'])[1 + g % 3] AS status, round((g % 100000) / 7.0, 2) AS amount,
        timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second' AS created_at, g % 2 = 0 AS flag,
        md5(g::text) AS token, g % 1000 AS region FROM generate_series(1, $2) g)
        TO PROGRAM 'gzip -1 > $WORK/$1' WITH (FORMAT csv, HEADER)" >/dev/null
}
log "writing $ROWS rows as gzip CSV"
make_file big.csv.gz "$ROWS"
make_file small.csv.gz $((ROWS / 10))
big_gz=$(stat -c %s "$WORK/big.csv.gz")
big_raw=$(as_pg sh -c "zcat '$WORK/big.csv.gz' | wc -c")
log "big.csv.gz: $((big_gz / 1048576)) MB compressed, $((big_raw / 1048576)) MB of CSV"

COLS='id bigint, name text, status text, amount numeric, created_at timestamptz, flag boolean, token text, region int'
# run_one KIND FILE: "seconds peak_rss_kb" of one read into a fresh table, in a fresh backend
run_one() {
    local kind=$1 file=$2 sql
    psql_pg -d bench -c "SET client_min_messages = warning; DROP TABLE IF EXISTS t_$kind; CREATE TABLE t_$kind ($COLS)" >/dev/null
    if [ "$kind" = metaetl ]; then
        sql="SELECT etl.execute_plan('{\"pipeline\": {\"id\": \"bench\", \"sources\": [{\"id\": \"f\", \"type\": \"file\",
               \"path\": \"$WORK/$file\", \"columns\": [\"id bigint\", \"name text\", \"status text\", \"amount numeric\",
               \"created_at timestamptz\", \"flag boolean\", \"token text\", \"region int\"]}],
               \"targets\": [{\"id\": \"t\", \"table\": \"t_metaetl\", \"mode\": \"append\"}]}}'::jsonb)"
    else
        sql="COPY t_copy FROM PROGRAM 'zcat $WORK/$file' WITH (FORMAT csv, HEADER)"
    fi
    psql_pg -d bench -At <<SQL | tail -2 | tr '\n' ' '
SELECT pg_backend_pid() AS pid \gset
\setenv BPID :pid
\timing on
$sql;
\timing off
\! awk '/VmHWM/ {h = \$2} /RssShmem/ {s = \$2} END {print h, h - s}' /proc/\$BPID/status
SQL
}
seconds() { sed -n 's/.*Time: \([0-9.]*\) ms.*/\1/p' <<<"$1" | awk '{printf "%.2f", $1 / 1000}'; }
rss() { awk '{print $(NF - 1) "/" $NF}' <<<"$1"; }

log "reading (each one twice, the faster counts)"
best() {  # best KIND FILE: "seconds rss" of the faster of two runs
    local a b
    a=$(run_one "$1" "$2"); b=$(run_one "$1" "$2")
    if awk -v x="$(seconds "$a")" -v y="$(seconds "$b")" 'BEGIN {exit !(x <= y)}'; then echo "$(seconds "$a") $(rss "$a")"; else echo "$(seconds "$b") $(rss "$b")"; fi
}
read -r m_s m_rss <<<"$(best metaetl big.csv.gz)"
read -r c_s c_rss <<<"$(best copy big.csv.gz)"
read -r ms_s ms_rss <<<"$(best metaetl small.csv.gz)"
n=$(psql_pg -d bench -At -c "SELECT (SELECT count(*) FROM t_metaetl) = $((ROWS / 10)) AND
     NOT EXISTS (SELECT * FROM t_metaetl EXCEPT ALL SELECT * FROM t_copy WHERE id <= $((ROWS / 10)))")
[ "$n" = t ] || { echo "metaetl and COPY read different rows"; exit 1; }

echo
echo "gzip CSV, $ROWS rows ($((big_gz / 1048576)) MB compressed, $((big_raw / 1048576)) MB of CSV), into a table:"
printf '  %-44s %8s s  %10s rows/s  peak RSS/private %15s kB\n' \
    "metaetl type: file (stream + staging + load)" "$m_s" "$(awk -v r="$ROWS" -v s="$m_s" 'BEGIN {printf "%.0f", r / s}')" "$m_rss" \
    "COPY FROM PROGRAM 'zcat ...' (baseline)" "$c_s" "$(awk -v r="$ROWS" -v s="$c_s" 'BEGIN {printf "%.0f", r / s}')" "$c_rss"
echo "  ratio metaetl / COPY: $(awk -v a="$m_s" -v b="$c_s" 'BEGIN {printf "%.2f", a / b}') x the time"
echo "  metaetl on a tenth of the file: $ms_s s, peak RSS/private $ms_rss kB"
