#!/usr/bin/env bash
# test/harness/demo.sh — `make demo`: packages, build, a throwaway cluster,
# then docs/examples/demo.sql run through psql so you can watch metaetl work:
# the original design's customer_etl registered and run, one customer
# updated, the example run again, and the summary table after each run.
# METAETL_KEEP=1 keeps the cluster's directory (the cluster is stopped).

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

metaetl_deps
metaetl_workdir
trap metaetl_cleanup EXIT
metaetl_private_pg
metaetl_build

DB=metaetl_demo
metaetl_cluster_init "$DB"
metaetl_cluster_start
as_pg "$PGBIN/createdb" -h "$PGHOST" -p "$PGPORT" -U postgres "$DB"

# the demo reads its example files from a copy the cluster owner can read
cp -r "$REPO/docs/examples" "$WORK/examples"
[ "$(id -u)" -eq 0 ] && chown -R postgres: "$WORK/examples"

log "running docs/examples/demo.sql on port $PGPORT"
(cd "$WORK/examples" && psql_pg -d "$DB" -e -v examples="$WORK/examples" -f demo.sql)
log "demo finished"
