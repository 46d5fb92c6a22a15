#!/usr/bin/env bash
# test/bench/quality/iforest.sh — isolation forest on 1M rows x 4 columns with
# 1% planted outliers: etl.detect_anomalies against scikit-learn's
# IsolationForest(n_estimators=100, max_samples=256) fit + score_samples, the
# peer's time including moving the data to Python.  Prints both times, the
# ratio and both ROC AUCs.  Not part of `make test`; needs python3-sklearn,
# python3-pandas and python3-psycopg2 for /usr/bin/python3.
#
#   bash test/bench/quality/iforest.sh [ROWS]
source "$(dirname "${BASH_SOURCE[0]}")/../../harness/common.sh"

ROWS=${1:-1000000}
metaetl_deps python3-sklearn python3-pandas python3-psycopg2
metaetl_workdir
trap metaetl_cleanup EXIT
metaetl_private_pg
metaetl_build >/dev/null
metaetl_cluster_init bench
metaetl_cluster_start
as_pg "$PGBIN/createdb" -h "$PGHOST" -p "$PGPORT" -U postgres bench
psql_pg -d bench -c 'CREATE EXTENSION metaetl'

log "building $ROWS rows x 4 columns, 1% outliers"
psql_pg -d bench <<SQL
SELECT setseed(0.42);
-- inliers: standard normal in 4 dimensions; every 100th row an outlier at
-- radius 5 to 8 in a random direction
CREATE TABLE bench_if AS
SELECT id, a * r AS a, b * r AS b, c * r AS c, d * r AS d, outlier
  FROM (SELECT *, id % 100 = 0 AS outlier,
               CASE WHEN id % 100 = 0 THEN (5 + 3 * random()) / sqrt(a * a + b * b + c * c + d * d)
                    ELSE 1 END AS r
          FROM (SELECT id,
                       sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS a,
                       sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS b,
                       sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS c,
                       sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS d
                  FROM generate_series(1, $ROWS) AS id) AS n) AS s
 ORDER BY id;
VACUUM ANALYZE bench_if;
SQL

log "running metaetl and scikit-learn"
/usr/bin/python3 "$REPO/test/bench/quality/iforest.py" \
    "host=$PGHOST port=$PGPORT user=postgres dbname=bench"
