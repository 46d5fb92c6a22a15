#!/usr/bin/env bash
# test/bench/quality/run.sh [ROWS] — data quality benchmarks (issue 6), each
# against baselines measured in the same run on the same data:
#   (1) 20 row-level rules: metaetl's gate vs the same checks hand-written as
#       ONE count(*) FILTER (WHERE NOT ...) query, and vs one query per rule;
#   (2) the full profile: etl.profile vs hand-written SQL computing the same
#       metrics, and vs pandas (read + describe() + quantiles + value counts).
# Builds into a private PostgreSQL copy and a throwaway cluster (as make test);
# not part of make test.  ROWS defaults to 5,000,000 (12 columns);
# QUALITY_BENCH_SKIP_PROFILE=1 runs only (1).
source "$(dirname "${BASH_SOURCE[0]}")/../../harness/common.sh"
ROWS=${1:-5000000}
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
as_pg env QUALITY_BENCH_SKIP_PROFILE="${QUALITY_BENCH_SKIP_PROFILE:-}" /usr/bin/python3 "$WORK/bench.py" "$PGHOST" "$PGPORT" "$ROWS"
