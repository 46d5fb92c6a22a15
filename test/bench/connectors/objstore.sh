#!/usr/bin/env bash
# test/bench/connectors/objstore.sh — object-store reads from moto_server (S3):
#
#  1. a gzip CSV of SIZE_MB megabytes uncompressed (default 1024): metaetl
#     (an s3 source, streamed, decompressed and parsed as it arrives, into a
#     table) vs download-then-COPY (one GET to a local file with boto3, then
#     COPY FROM PROGRAM 'gzip -dc');
#  2. when the parquet format is registered: a PARQUET_ROWS-row (default
#     10,000,000), 8-column Parquet object (written by DuckDB, snappy) from
#     moto into a table, vs DuckDB reading the same file and exporting CSV +
#     COPY; and the same source through a select of 2 columns (column
#     projection: only those are fetched and decoded).
# Each prints wall time, the peak anonymous memory of the backend doing the
# work (sampled every 50 ms from /proc; the download's is the downloader's
# peak RSS), and the ratio.  Builds its own throwaway cluster and moto, like
# make test.  The machine may be shared: run it twice and compare.
source "$(dirname "${BASH_SOURCE[0]}")/../../harness/common.sh"

SIZE_MB=${SIZE_MB:-1024}
PARQUET_ROWS=${PARQUET_ROWS:-10000000}

metaetl_deps bc time
metaetl_workdir
trap metaetl_cleanup EXIT
metaetl_private_pg
metaetl_build >/dev/null
metaetl_cluster_init bench
cat >>"$WORK/data/postgresql.conf" <<CONF
shared_buffers = 512MB
max_wal_size = 4GB
autovacuum = off
CONF
metaetl_cluster_start
as_pg "$PGBIN/createdb" -h "$PGHOST" -p "$PGPORT" -U postgres bench
metaetl_servers_start moto
export PGDATABASE=bench

now() { date +%s.%N; }
# sample_anon PID: print the peak RssAnon (kB) of PID until the file $WORK/stop exists
sample_anon() {
    local pid=$1 peak=0 cur
    while [ ! -e "$WORK/stop" ]; do
        cur=$(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
        [ "${cur:-0}" -gt "$peak" ] && peak=$cur
        sleep 0.05
    done
    echo "$peak"
}
# in_backend SQL: run SQL in a fresh session; prints "<seconds> <peak RssAnon kB>"
in_backend() {
    local fifo=$WORK/bench.fifo out=$WORK/bench.out pid t0 t1 peak
    rm -f "$fifo" "$WORK/stop"; mkfifo "$fifo"
    psql_pg -d bench -At -v ON_ERROR_STOP=1 <"$fifo" >"$out" 2>&1 &
    local psql_pid=$!
    exec 7>"$fifo"
    echo "SELECT pg_backend_pid();" >&7
    for _ in $(seq 1 100); do [ -s "$out" ] && break; sleep 0.1; done
    pid=$(head -n 1 "$out")
    sample_anon "$pid" >"$WORK/peak" &
    local sampler=$!
    t0=$(now)
    printf '%s\n' "$1" "SELECT 'done';" >&7
    while ! grep -q '^done$' "$out"; do
        grep -q ERROR "$out" && { cat "$out" >&2; exit 1; }
        sleep 0.05
    done
    t1=$(now)
    touch "$WORK/stop"; wait $sampler
    exec 7>&-; wait $psql_pid
    echo "$(echo "$t1 - $t0" | bc) $(cat "$WORK/peak")"
}

psql_pg -d bench -v key="$METAETL_MOTO_KEY_ID" -v secret="$METAETL_MOTO_SECRET" -v port="$METAETL_MOTO_PORT" >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION metaetl CASCADE;
SELECT etl.add_credential('bench_moto', json_build_object('access_key_id', :'key', 'secret_access_key', :'secret')::jsonb);
SELECT etl.add_connection('bench_lake', 's3', format('{"bucket": "metaetl-test", "endpoint": "http://127.0.0.1:%s"}', :'port')::jsonb, 'bench_moto');
SQL

# ---------------------------------------------------------------- gzip CSV
rows=$((SIZE_MB * 1024 * 1024 / 100))
log "gzip CSV: $rows rows (~$SIZE_MB MB uncompressed)"
psql_pg -d bench >/dev/null <<SQL
CREATE TABLE src (id bigint, day date, amount numeric(12,2), label text, note text);
INSERT INTO src SELECT g, date '2024-01-01' + (g % 730)::int, round((g % 100000) / 7.0, 2),
       md5(g::text), repeat(chr(97 + (g % 26)::int), 20 + (g % 17)::int)
  FROM generate_series(1, $rows) g;
COPY src TO PROGRAM 'gzip -1 > $WORK/big.csv.gz' WITH (FORMAT csv, HEADER true);
CREATE TABLE via_metaetl (LIKE src);
CREATE TABLE via_copy (LIKE src);
SQL
raw=$(psql_pg -d bench -At -c "SELECT pg_size_pretty(sum(pg_column_size(s.*))::bigint) FROM src s")
gz=$(stat -c %s "$WORK/big.csv.gz")
python3 - "$WORK/big.csv.gz" <<'PY'
import boto3, os, sys
s3 = boto3.client("s3", endpoint_url=os.environ["METAETL_MOTO_ENDPOINT"], region_name="us-east-1",
                  aws_access_key_id=os.environ["METAETL_MOTO_KEY_ID"], aws_secret_access_key=os.environ["METAETL_MOTO_SECRET"])
s3.upload_file(sys.argv[1], "metaetl-test", "bench/big.csv.gz")
PY

read -r m_s m_kb < <(in_backend "SELECT etl.execute_plan('{\"pipeline\": {\"id\": \"b\", \"sources\": [{\"id\": \"s\", \"type\": \"s3\", \"connection\": \"bench_lake\", \"key\": \"bench/big.csv.gz\", \"columns\": {\"id\": \"bigint\", \"day\": \"date\", \"amount\": \"numeric(12,2)\"}}], \"targets\": [{\"id\": \"t\", \"table\": \"public.via_metaetl\", \"mode\": \"append\"}]}}') IS NOT NULL;")

# baseline: one GET to a local file, then COPY
rm -f "$WORK/dl.csv.gz"
d0=$(now)
/usr/bin/time -f %M -o "$WORK/dl.rss" python3 - "$WORK/dl.csv.gz" <<'PY'
import boto3, os, shutil, sys
s3 = boto3.client("s3", endpoint_url=os.environ["METAETL_MOTO_ENDPOINT"], region_name="us-east-1",
                  aws_access_key_id=os.environ["METAETL_MOTO_KEY_ID"], aws_secret_access_key=os.environ["METAETL_MOTO_SECRET"])
with open(sys.argv[1], "wb") as f:
    shutil.copyfileobj(s3.get_object(Bucket="metaetl-test", Key="bench/big.csv.gz")["Body"], f, 1 << 20)
PY
d1=$(now)
chmod 644 "$WORK/dl.csv.gz"
read -r c_s c_kb < <(in_backend "COPY via_copy FROM PROGRAM 'gzip -dc $WORK/dl.csv.gz' WITH (FORMAT csv, HEADER true);")
dl_s=$(echo "$d1 - $d0" | bc)
same=$(psql_pg -d bench -At -c "SELECT (SELECT count(*) FROM (TABLE via_metaetl EXCEPT ALL TABLE via_copy) a) + (SELECT count(*) FROM (TABLE via_copy EXCEPT ALL TABLE via_metaetl) b)")
echo
echo "gzip CSV: $rows rows, $raw in the table, $((gz / 1024 / 1024)) MB gzip object (rows differing: $same)"
printf '  metaetl (s3 source, streamed)      %8.1f s   backend peak anon %6d MB\n' "$m_s" $((m_kb / 1024))
printf '  download (one GET) then COPY       %8.1f s   (download %.1f s, peak RSS %d MB; COPY %.1f s, backend peak anon %d MB)\n' \
    "$(echo "$dl_s + $c_s" | bc)" "$dl_s" $(( $(cat "$WORK/dl.rss") / 1024 )) "$c_s" $((c_kb / 1024))
printf '  ratio metaetl / download+COPY      %8.2f\n' "$(echo "$m_s / ($dl_s + $c_s)" | bc -l)"

# ---------------------------------------------------------------- Parquet
if ! psql_pg -d bench -At -c "SELECT 1" >/dev/null || \
   ! grep -q 'MetaetlParquetFormat' "$REPO"/src/connectors/format.c 2>/dev/null; then
    echo "parquet: the parquet format is not registered in this build; skipped"
    exit 0
fi
duck="$REPO/test/fixtures/duckdb/run.sh"
log "Parquet: $PARQUET_ROWS rows, 8 columns (DuckDB, snappy)"
bash "$duck" "COPY (SELECT i AS id, i % 1000 AS k, (i * 7) % 100003 AS v, i / 3.0 AS d, 'name-' || (i % 5000) AS name,
  DATE '2024-01-01' + CAST(i % 700 AS INTEGER) AS day, i % 2 = 0 AS flag, TIMESTAMP '2024-01-01' + to_seconds(i) AS ts
  FROM range($PARQUET_ROWS) t(i)) TO '$WORK/big.parquet' (FORMAT parquet, COMPRESSION snappy)" >/dev/null
chmod 644 "$WORK/big.parquet"
python3 - "$WORK/big.parquet" <<'PY'
import boto3, os, sys
s3 = boto3.client("s3", endpoint_url=os.environ["METAETL_MOTO_ENDPOINT"], region_name="us-east-1",
                  aws_access_key_id=os.environ["METAETL_MOTO_KEY_ID"], aws_secret_access_key=os.environ["METAETL_MOTO_SECRET"])
s3.upload_file(sys.argv[1], "metaetl-test", "bench/big.parquet")
PY
psql_pg -d bench -c "CREATE TABLE pq_copy (id bigint, k bigint, v bigint, d double precision, name text, day date, flag boolean, ts timestamp)" >/dev/null
read -r p_s p_kb < <(in_backend "SELECT etl.execute_plan('{\"pipeline\": {\"id\": \"p\", \"sources\": [{\"id\": \"s\", \"type\": \"s3\", \"connection\": \"bench_lake\", \"key\": \"bench/big.parquet\"}], \"targets\": [{\"id\": \"t\", \"table\": \"public.pq_metaetl\"}]}}') IS NOT NULL;")
# column projection: a select of 2 of the 8 columns decodes (and fetches) only those
read -r j_s j_kb < <(in_backend "SELECT etl.execute_plan('{\"pipeline\": {\"id\": \"p2\", \"sources\": [{\"id\": \"s\", \"type\": \"s3\", \"connection\": \"bench_lake\", \"key\": \"bench/big.parquet\"}], \"transforms\": [{\"id\": \"two\", \"type\": \"select\", \"input\": \"s\", \"params\": {\"columns\": [\"id\", \"name\"]}}], \"targets\": [{\"id\": \"t\", \"table\": \"public.pq_metaetl2\"}]}}') IS NOT NULL;")
# DuckDB from npm cannot read S3 here (its httpfs extension is a download
# from the internet), so its path starts with the object fetched from moto in
# one GET, as a job would have to: that time is printed apart and the ratio is
# given both with it and without (DuckDB reading a local file).
rm -f "$WORK/dl.parquet"
g0=$(now)
python3 - "$WORK/dl.parquet" <<'PY'
import boto3, os, shutil, sys
s3 = boto3.client("s3", endpoint_url=os.environ["METAETL_MOTO_ENDPOINT"], region_name="us-east-1",
                  aws_access_key_id=os.environ["METAETL_MOTO_KEY_ID"], aws_secret_access_key=os.environ["METAETL_MOTO_SECRET"])
with open(sys.argv[1], "wb") as f:
    shutil.copyfileobj(s3.get_object(Bucket="metaetl-test", Key="bench/big.parquet")["Body"], f, 1 << 20)
PY
g1=$(now)
cmp -s "$WORK/dl.parquet" "$WORK/big.parquet" || { echo "parquet: the downloaded object differs from the uploaded file"; exit 1; }
get_s=$(echo "$g1 - $g0" | bc)
k0=$(now)
bash "$duck" "COPY (SELECT * FROM '$WORK/big.parquet') TO '$WORK/pq.csv' (HEADER, DELIMITER ',')" >/dev/null
chmod 644 "$WORK/pq.csv"
k1=$(now)
read -r q_s q_kb < <(in_backend "COPY pq_copy FROM '$WORK/pq.csv' WITH (FORMAT csv, HEADER true);")
duck_s=$(echo "$k1 - $k0" | bc)
echo
echo "Parquet: $PARQUET_ROWS rows, $(( $(stat -c %s "$WORK/big.parquet") / 1024 / 1024 )) MB object"
printf '  metaetl (s3 source, ranged reads)  %8.1f s   backend peak anon %6d MB\n' "$p_s" $((p_kb / 1024))
printf '  DuckDB to CSV (local file) + COPY  %8.1f s   (DuckDB %.1f s; COPY %.1f s, backend peak anon %d MB)\n' \
    "$(echo "$duck_s + $q_s" | bc)" "$duck_s" "$q_s" $((q_kb / 1024))
printf '  ratio metaetl / DuckDB+COPY        %8.2f\n' "$(echo "$p_s / ($duck_s + $q_s)" | bc -l)"
printf '  ratio metaetl / DuckDB read        %8.2f   (DuckDB reading a local file)\n' "$(echo "$p_s / $duck_s" | bc -l)"
printf '  GET of the object from moto        %8.1f s\n' "$get_s"
printf '  ratio metaetl / (GET + DuckDB read)         %8.2f\n' "$(echo "$p_s / ($get_s + $duck_s)" | bc -l)"
printf '  ratio metaetl / (GET + DuckDB + COPY)       %8.2f\n' "$(echo "$p_s / ($get_s + $duck_s + $q_s)" | bc -l)"
printf '  metaetl, 2 of 8 columns (select)   %8.1f s   backend peak anon %6d MB  (projection: only id, name fetched and decoded)\n' \
    "$j_s" $((j_kb / 1024))
