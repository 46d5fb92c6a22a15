#!/usr/bin/env bash
# test/bench/quality/run.sh [ROWS] — data quality benchmarks, each against
# baselines measured in the same run on the same data:
#   (1)  20 row-level rules: metaetl's gate vs the same checks hand-written as
#        ONE count(*) FILTER (WHERE ...) query (also with metaetl's PCRE2
#        matcher), and vs one query per rule;
#   (1b) the same 20 rules plus 10 aggregate rules and 2 drift rules: one scan
#        (pg_stat_user_tables.seq_scan) and the time against rules only;
#   (2)  the profile: exact etl.profile vs hand-written SQL computing the same
#        metrics; approximate etl.profile vs DuckDB's SUMMARIZE (npm
#        @duckdb/node-api) and vs pandas.
# Builds into a private PostgreSQL copy and a throwaway cluster (as make test);
# not part of make test.  ROWS defaults to 1,000,000 (12 columns);
# QUALITY_BENCH_SKIP_PROFILE=1 runs only (1) and (1b).
source "$(dirname "${BASH_SOURCE[0]}")/../../harness/common.sh"
ROWS=${1:-1000000}
metaetl_deps python3-pandas python3-psycopg2
metaetl_workdir
trap metaetl_cleanup EXIT
metaetl_private_pg
metaetl_build
metaetl_cluster_init bench
cat >>"$WORK/data/postgresql.conf" <<CONF
shared_buffers = '1GB'
work_mem = '256MB'
max_parallel_workers_per_gather = 2
jit = off
CONF
metaetl_cluster_start
as_pg "$PGBIN/createdb" -h "$PGHOST" -p "$PGPORT" -U postgres bench
psql_pg -d bench -c 'CREATE EXTENSION metaetl'
cp "$(dirname "${BASH_SOURCE[0]}")/bench.py" "$WORK/bench.py"
chmod 644 "$WORK/bench.py"

# DuckDB from npm for the SUMMARIZE baseline (skipped when npm cannot install it)
duck=
if [ -z "${QUALITY_BENCH_SKIP_PROFILE:-}" ] && command -v npm >/dev/null; then
    mkdir -p "$WORK/node"
    if (cd "$WORK/node" && npm install --silent --no-audit --no-fund @duckdb/node-api >/dev/null 2>&1); then
        cp "$(dirname "${BASH_SOURCE[0]}")/duckdb_summarize.mjs" "$WORK/node/"
        [ "$(id -u)" -eq 0 ] && chown -R postgres: "$WORK/node"
        duck=$WORK/node/duckdb_summarize.mjs
    else
        log "npm could not install @duckdb/node-api: no DuckDB baseline"
    fi
fi
as_pg env QUALITY_BENCH_SKIP_PROFILE="${QUALITY_BENCH_SKIP_PROFILE:-}" QUALITY_BENCH_DUCKDB="$duck" \
    QUALITY_BENCH_CSV="$WORK/bench_q.csv" /usr/bin/python3 "$WORK/bench.py" "$PGHOST" "$PGPORT" "$ROWS"
