#!/usr/bin/env bash
# test/bench/connectors/relational.sh — remote databases into a local table:
#  1. ROWS (default 1,000,000) rows x 8 columns from a remote PostgreSQL
#     cluster: metaetl's FDW path (postgres_fdw), its COPY path, and pandas
#     (read_sql over psycopg2/SQLAlchemy, then COPY back) as the baseline;
#  2. a 1%-selective filter on the same table: rows the remote sent with
#     pushdown (FDW path) and without (COPY path, filtered locally), counted
#     by the remote's pg_stat_statements;
#  3. ROWS rows from MariaDB: metaetl (MariaDB client bulk path) vs pandas
#     with pymysql.
# Builds its own throwaway cluster and servers (like make test); prints times
# and ratios measured in the same run.
#
#   ROWS=200000 bash test/bench/connectors/relational.sh    # a quick look
source "$(dirname "${BASH_SOURCE[0]}")/../../harness/common.sh"

ROWS=${ROWS:-1000000}
PY=/usr/bin/python3

metaetl_deps python3-pandas python3-psycopg2 python3-sqlalchemy python3-pymysql
metaetl_workdir
trap metaetl_cleanup EXIT
metaetl_private_pg
metaetl_build >/dev/null
metaetl_cluster_init bench
cat >>"$WORK/data/postgresql.conf" <<CONF
shared_buffers = 512MB
work_mem = 64MB
max_wal_size = 4GB
autovacuum = off
CONF
metaetl_cluster_start
as_pg "$PGBIN/createdb" -h "$PGHOST" -p "$PGPORT" -U postgres bench
export PGDATABASE=bench
metaetl_servers_start pgremote mariadb

log "building data: $ROWS rows x 8 columns on the remote PostgreSQL and on MariaDB"
psql_pgremote -d remote >/dev/null <<SQL
CREATE TABLE public.wide (id bigint PRIMARY KEY, customer int, amount numeric(12,2), qty int,
                          status text, note text, created_at timestamptz, score double precision);
INSERT INTO public.wide SELECT g, g % 5000, (g % 100000) / 7.0, g % 17,
       (ARRAY['open','shipped','paid','void'])[1 + g % 4], 'note ' || md5(g::text),
       '2024-01-01'::timestamptz + g * interval '1 second', g / 3.0
  FROM generate_series(1, $ROWS) g;
ANALYZE public.wide;
SQL
mariadb_root shop >/dev/null <<SQL
CREATE TABLE wide (id BIGINT PRIMARY KEY, customer INT, amount DECIMAL(12,2), qty INT, status VARCHAR(10),
                   note VARCHAR(40), created_at DATETIME, score DOUBLE);
INSERT INTO wide SELECT seq, seq % 5000, (seq % 100000) / 7.0, seq % 17, ELT(1 + seq % 4, 'open','shipped','paid','void'),
       CONCAT('note ', MD5(seq)), '2024-01-01' + INTERVAL seq SECOND, seq / 3.0 FROM seq_1_to_$ROWS;
SQL
psql_pg -d bench >/dev/null <<SQL
CREATE EXTENSION metaetl;
CREATE EXTENSION postgres_fdw;
SELECT etl.add_connection('remote_pg', 'postgresql', '{"host": "127.0.0.1", "port": $METAETL_PGREMOTE_PORT, "dbname": "remote", "user": "postgres"}');
SELECT etl.add_connection('remote_my', 'mariadb', '{"host": "127.0.0.1", "port": $METAETL_MARIADB_PORT, "dbname": "shop", "user": "etl_nopw"}');
SQL

now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc; }

metaetl_run() {   # $1 = source JSON, $2 = transforms JSON (or empty), $3 = target table
    psql_pg -d bench -At -c "SELECT etl.execute_plan('{\"pipeline\": {\"id\": \"b\", \"sources\": [$1], \"transforms\": [$2],
        \"targets\": [{\"id\": \"t\", \"type\": \"postgresql\", \"table\": \"$3\"}]}}')->'rows_written'"
}
remote_reset() { psql_pgremote -d remote -Atc "SELECT pg_stat_statements_reset()" >/dev/null; }
remote_rows() {  # rows the remote sent: top-level FETCHes (postgres_fdw) and COPYs
    psql_pgremote -d remote -Atc "SELECT COALESCE(sum(rows), 0) FROM pg_stat_statements
      WHERE toplevel AND query ~* '^(FETCH|COPY)'"
}

# warm both servers' caches once
metaetl_run '{"id": "s", "type": "postgresql", "connection": "remote_pg", "table": "public.wide", "bulk": "copy"}' '' warm >/dev/null

log "1. remote PostgreSQL -> local, $ROWS rows"
t0=$(now); n=$(metaetl_run '{"id": "s", "type": "postgresql", "connection": "remote_pg", "table": "public.wide", "bulk": "fdw"}' '' out_fdw); t1=$(now)
fdw=$(elapsed $t0 $t1); echo "metaetl FDW path:  $n rows in $fdw s"
t0=$(now); n=$(metaetl_run '{"id": "s", "type": "postgresql", "connection": "remote_pg", "table": "public.wide", "bulk": "copy"}' '' out_copy); t1=$(now)
copy=$(elapsed $t0 $t1); echo "metaetl COPY path: $n rows in $copy s"
t0=$(now)
as_pg env PGHOST="$PGHOST" PGPORT="$PGPORT" RPORT="$METAETL_PGREMOTE_PORT" $PY - <<'PY'
import io, os, pandas as pd, psycopg2, sqlalchemy
eng = sqlalchemy.create_engine("postgresql+psycopg2://postgres@127.0.0.1:%s/remote" % os.environ["RPORT"])
df = pd.read_sql("SELECT * FROM public.wide", eng)
buf = io.StringIO(); df.to_csv(buf, index=False, header=False); buf.seek(0)
c = psycopg2.connect(host=os.environ["PGHOST"], port=os.environ["PGPORT"], dbname="bench", user="postgres")
cur = c.cursor()
cur.execute("CREATE TABLE out_pandas (id bigint, customer int, amount numeric(12,2), qty int, status text, note text, created_at timestamptz, score double precision)")
cur.copy_expert("COPY out_pandas FROM STDIN WITH (FORMAT csv)", buf)
c.commit()
print("pandas read_sql + COPY: %d rows" % len(df))
PY
t1=$(now); pandas=$(elapsed $t0 $t1); echo "pandas:            $pandas s"
printf 'ratio pandas / metaetl: FDW path %.2fx, COPY path %.2fx (target >= 3x)\n' \
    "$(echo "$pandas / $fdw" | bc -l)" "$(echo "$pandas / $copy" | bc -l)"
psql_pg -d bench -At -c "SELECT 'check: ' || (SELECT count(*) FROM out_copy) || ' = ' || (SELECT count(*) FROM out_pandas) || ', differing rows: ' ||
  (SELECT count(*) FROM (TABLE out_copy EXCEPT TABLE out_fdw) x)"

log "2. a 1%-selective filter (customer < 50)"
remote_reset
t0=$(now); n=$(metaetl_run '{"id": "s", "type": "postgresql", "connection": "remote_pg", "table": "public.wide", "bulk": "fdw"}' \
    '{"id": "f", "type": "filter", "params": {"condition": "customer < 50"}}' sel_fdw); t1=$(now)
echo "pushdown (FDW path): $n rows kept, remote sent $(remote_rows) rows, $(elapsed $t0 $t1) s"
remote_reset
t0=$(now); n=$(metaetl_run '{"id": "s", "type": "postgresql", "connection": "remote_pg", "table": "public.wide", "bulk": "copy"}' \
    '{"id": "f", "type": "filter", "params": {"condition": "customer < 50"}}' sel_copy); t1=$(now)
echo "no pushdown (COPY path): $n rows kept, remote sent $(remote_rows) rows, $(elapsed $t0 $t1) s"

log "3. MariaDB -> local, $ROWS rows"
t0=$(now); n=$(metaetl_run '{"id": "s", "type": "mariadb", "connection": "remote_my", "table": "wide"}' '' out_my); t1=$(now)
my=$(elapsed $t0 $t1); echo "metaetl (MariaDB client bulk path): $n rows in $my s"
t0=$(now)
as_pg env PGHOST="$PGHOST" PGPORT="$PGPORT" MPORT="$METAETL_MARIADB_PORT" $PY - <<'PY'
import io, os, pandas as pd, psycopg2, pymysql
m = pymysql.connect(host="127.0.0.1", port=int(os.environ["MPORT"]), user="etl_nopw", database="shop")
df = pd.read_sql("SELECT * FROM wide", m)
buf = io.StringIO(); df.to_csv(buf, index=False, header=False); buf.seek(0)
c = psycopg2.connect(host=os.environ["PGHOST"], port=os.environ["PGPORT"], dbname="bench", user="postgres")
cur = c.cursor()
cur.execute("CREATE TABLE out_my_pandas (id bigint, customer int, amount numeric(12,2), qty int, status text, note text, created_at timestamp, score double precision)")
cur.copy_expert("COPY out_my_pandas FROM STDIN WITH (FORMAT csv)", buf)
c.commit()
print("pandas + pymysql + COPY: %d rows" % len(df))
PY
t1=$(now); mypandas=$(elapsed $t0 $t1); echo "pandas + pymysql: $mypandas s"
printf 'ratio pandas / metaetl (MariaDB): %.2fx\n' "$(echo "$mypandas / $my" | bc -l)"
