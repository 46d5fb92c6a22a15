#!/usr/bin/env bash
# test/bench/incremental/bench.sh — incremental loads against a full reload on
# ROWS (default 1,000,000) source rows with CHANGED_PCT (default 1) percent
# changed between runs:
#   * timestamp + merge_changes, trigger_cdc + merge_changes and
#     log_cdc + merge_changes runs vs a full reload (mode replace) of the same
#     pipeline, same data, same cluster: ratio of the etl.execute_pipeline call times
#     (psql \timing in a session; target <= 5%), and the floor: the same
#     changes applied by one hand-written MERGE;
#   * trigger CDC's cost on the source's writers: the same updates (single-row
#     statements, pgbench-style) with and without capture triggers, % slower;
#   * log-CDC apply rate in rows/s.  The slot decodes all of the cluster's
#     WAL, here including the full reload's 2M row changes per round, which
#     wal2json decodes before filtering to the source's table;
#   * the same log_cdc pipeline reading a slot on a remote PostgreSQL server
#     (the harness's second cluster, test/harness/servers/pgremote.sh, on the
#     same machine: loopback, no network latency), whose WAL holds only the
#     source's changes.
# Builds its own throwaway cluster (like make test) and prints times and ratios.
#
#   bash test/bench/incremental/bench.sh            # ROWS=100000 for a quick look
source "$(dirname "${BASH_SOURCE[0]}")/../../harness/common.sh"

ROWS=${ROWS:-1000000}
CHANGED_PCT=${CHANGED_PCT:-1}
WRITES=${WRITES:-5000}
CHANGED=$((ROWS * CHANGED_PCT / 100))

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
metaetl_servers_start pgremote
as_pg "$PGBIN/createdb" -h "$PGHOST" -p "$PGPORT" -U postgres bench
export PGDATABASE=bench
q() { psql_pg -d bench -X -At -c "$1"; }
ms() {   # ms SQL: wall time of one statement, in ms
    local t0 t1
    t0=$(date +%s%N); q "$1" >/dev/null; t1=$(date +%s%N)
    echo $(( (t1 - t0) / 1000000 ))
}

log "building data: $ROWS rows, $CHANGED changed per round"
psql_pg -d bench -X -q <<SQL
CREATE EXTENSION metaetl;
CREATE TABLE src (id int PRIMARY KEY, name text, amount numeric, updated_at timestamptz NOT NULL);
INSERT INTO src SELECT g, 'n' || g, g % 1000, '2026-01-01' FROM generate_series(1, $ROWS) g;
-- a timestamp source is read by its change column: index it, as a user would
CREATE INDEX ON src (updated_at, id);
CREATE TABLE src_cdc (LIKE src INCLUDING ALL);
INSERT INTO src_cdc SELECT * FROM src;
CREATE TABLE src_log (LIKE src INCLUDING ALL);
INSERT INTO src_log SELECT * FROM src;
VACUUM ANALYZE;
SELECT etl.enable_change_capture('src_cdc');
SELECT etl.create_change_slot('bench_slot');
SQL
psql_pgremote -d remote -X -q <<SQL
CREATE TABLE src_rlog (id int PRIMARY KEY, name text, amount numeric, updated_at timestamptz NOT NULL);
INSERT INTO src_rlog SELECT g, 'n' || g, g % 1000, '2026-01-01' FROM generate_series(1, $ROWS) g;
VACUUM ANALYZE src_rlog;
SQL
psql_pg -d bench -X -q -v rport="$METAETL_PGREMOTE_PORT" >/dev/null <<'SQL'
SELECT etl.add_connection('bench_remote', 'postgresql',
       jsonb_build_object('host', '127.0.0.1', 'port', :'rport'::int, 'dbname', 'remote', 'user', 'postgres'));
SELECT etl.create_change_slot('bench_remote_slot', connection => 'bench_remote');
SQL
reg() {   # reg ID SOURCE-TABLE INCREMENTAL TARGET MODE
    q "SELECT etl.register_pipeline('{\"pipeline\": {\"id\": \"$1\", \"sources\": [{\"id\": \"s\", \"type\": \"postgresql\", \"table\": \"$2\"$3}],
        \"targets\": [{\"id\": \"t\", \"type\": \"postgresql\", \"table\": \"$4\", \"mode\": \"$5\", \"keys\": [\"id\"]}]}}')" >/dev/null
}
reg full src "" t_full replace
reg ts src ", \"incremental\": {\"mode\": \"timestamp\", \"column\": \"updated_at\", \"tie_breaker\": \"id\"}" t_ts merge_changes
reg cdc src_cdc ", \"incremental\": {\"mode\": \"trigger_cdc\"}" t_cdc merge_changes
reg log src_log ", \"incremental\": {\"mode\": \"log_cdc\", \"slot\": \"bench_slot\"}" t_log merge_changes
reg rlog public.src_rlog ", \"connection\": \"bench_remote\", \"incremental\": {\"mode\": \"log_cdc\", \"slot\": \"bench_remote_slot\"}" t_rlog merge_changes
run() { q "SELECT (r->>'status') || ' ' || (r->>'rows_read') FROM etl.execute_pipeline('$1') r"; }
for p in full ts cdc log rlog; do run $p >/dev/null; done   # initial loads
# the floor: the same changes merged by hand — one MERGE of the changed rows
# (read through the same index) into a copy of the target with its key only
psql_pg -d bench -X -q <<SQL
CREATE TABLE t_hand (LIKE src);
INSERT INTO t_hand SELECT * FROM src;
ALTER TABLE t_hand ADD PRIMARY KEY (id);
VACUUM ANALYZE t_hand;
SQL
hand_ms=0

change() {   # change TABLE ROUND: CHANGED rows updated
    q "UPDATE $1 SET amount = amount + 1, updated_at = '2026-01-02'::timestamptz + interval '1 minute' * $2
        WHERE id % (100 / $CHANGED_PCT) = $2 % (100 / $CHANGED_PCT)" >/dev/null
}
declare -A tot=([full]=0 [ts]=0 [cdc]=0 [log]=0 [rlog]=0)
for round in 1 2 3; do
    change src $round; change src_cdc $round; change src_log $round
    out=$(printf '\\timing on\n%s\n' "MERGE INTO t_hand t USING (SELECT * FROM src
            WHERE updated_at >= '2026-01-02'::timestamptz + interval '1 minute' * $round) s ON t.id = s.id
        WHEN MATCHED THEN UPDATE SET name = s.name, amount = s.amount, updated_at = s.updated_at
        WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.name, s.amount, s.updated_at);" | psql_pg -d bench -X -At)
    hand_ms=$(( hand_ms + $(printf '%s\n' "$out" | awk '/^Time: / { printf "%d", $2 }') ))
    psql_pgremote -d remote -X -q -c "UPDATE src_rlog SET amount = amount + 1, updated_at = '2026-01-02'::timestamptz + interval '1 minute' * $round
        WHERE id % (100 / $CHANGED_PCT) = $round % (100 / $CHANGED_PCT)"
    for p in full ts cdc log rlog; do
        # the call's own time (psql's \timing, one session): starting psql
        # and connecting are not part of a run, and would weigh on the short
        # incremental runs only
        out=$(printf '\\timing on\nSELECT (r->>%s) || %s || (r->>%s) FROM etl.execute_pipeline(%s) r;\n' \
                "'status'" "' '" "'rows_read'" "'$p'" | psql_pg -d bench -X -At)
        case "$(printf '%s\n' "$out" | grep -v '^Tim')" in succeeded*) ;; *) echo "run $p failed: $out"; exit 1 ;; esac
        call_ms=$(printf '%s\n' "$out" | awk '/^Time: / { printf "%d", $2 }')
        tot[$p]=$(( tot[$p] + call_ms ))
    done
done
for p in ts cdc log; do
    diff=$(q "SELECT count(*) FROM ((SELECT * FROM t_full EXCEPT SELECT * FROM t_$p) UNION ALL (SELECT * FROM t_$p EXCEPT SELECT * FROM t_full)) d")
    [ "$p" = ts ] || diff=$(q "SELECT count(*) FROM ((SELECT * FROM src_$p EXCEPT SELECT * FROM t_$p) UNION ALL (SELECT * FROM t_$p EXCEPT SELECT * FROM src_$p)) d")
    [ "$diff" = 0 ] || { echo "target t_$p differs from its source in $diff rows"; exit 1; }
done
diff=$(q "SELECT count(*) FROM ((SELECT * FROM src EXCEPT SELECT * FROM t_hand) UNION ALL (SELECT * FROM t_hand EXCEPT SELECT * FROM src)) d")
[ "$diff" = 0 ] || { echo "the hand-merged copy differs from its source in $diff rows"; exit 1; }
q "CREATE TABLE src_rlog (LIKE src)"
psql_pgremote -d remote -X -q -c "COPY src_rlog TO STDOUT" | psql_pg -d bench -X -q -c "COPY src_rlog FROM STDIN"
diff=$(q "SELECT count(*) FROM ((SELECT * FROM src_rlog EXCEPT SELECT * FROM t_rlog) UNION ALL (SELECT * FROM t_rlog EXCEPT SELECT * FROM src_rlog)) d")
[ "$diff" = 0 ] || { echo "target t_rlog differs from its remote source in $diff rows"; exit 1; }

echo "incremental runs, $ROWS rows, $CHANGED changed (mean of 3 rounds):"
printf '  full reload (replace)          %8d ms\n' $((tot[full] / 3))
for p in ts cdc log rlog; do
    awk -v n="$([ $p = rlog ] && echo "remote log" || echo $p)" -v a="${tot[$p]}" -v f="${tot[full]}" \
        'BEGIN { printf "  %-30s %8d ms   %.1f%% of the full reload\n", n " + merge_changes", a / 3, 100 * a / f }'
done
awk -v a="$hand_ms" -v f="${tot[full]}" -v t="${tot[ts]}" -v c="${tot[cdc]}" \
    'BEGIN { printf "  hand-written MERGE of the changes %5d ms   %.1f%% of the full reload (ts run %.2fx, cdc run %.2fx of it)\n", a / 3, 100 * a / f, t / a, c / a }'
awk -v r="$CHANGED" -v a="${tot[log]}" 'BEGIN { printf "  log-CDC apply rate             %8.0f rows/s (read + merge, whole run)\n", r * 3 / (a / 1000) }'
awk -v r="$CHANGED" -v a="${tot[rlog]}" 'BEGIN { printf "  remote log-CDC apply rate      %8.0f rows/s (peek on the remote, COPY, merge)\n", r * 3 / (a / 1000) }'

# writers: single-row updates in their own transactions, with and without capture
cat >"$WORK/w.sql" <<'SQL'
\set id random(1, :rows)
UPDATE TABLE SET amount = amount + 1 WHERE id = :id;
SQL
for tbl in src src_cdc; do
    sed "s/TABLE/$tbl/" "$WORK/w.sql" >"$WORK/w_$tbl.sql"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$WORK/w_$tbl.sql"
    tps=$(as_pg "$PGBIN/pgbench" -h "$PGHOST" -p "$PGPORT" -U postgres -n -c 2 -t $((WRITES / 2)) \
            -D rows="$ROWS" -f "$WORK/w_$tbl.sql" bench 2>/dev/null | awk '/^tps/ { print $3; exit }')
    eval "tps_$tbl=$tps"
done
awk -v a="$tps_src" -v b="$tps_src_cdc" \
    'BEGIN { printf "trigger CDC writer cost: %.0f tps without, %.0f tps with capture: %.1f%% slower\n", a, b, 100 * (a - b) / a }'
q "SELECT etl.drop_change_slot('bench_slot'), etl.drop_change_slot('bench_remote_slot')" >/dev/null
