#!/usr/bin/env bash
# test/bench/scheduler/run.sh — scheduler latency benchmark (not part of make test).
#
# Builds metaetl into a private PostgreSQL copy, starts a throwaway cluster
# (shared_preload_libraries = 'metaetl,pg_cron') and measures:
#   1. metaetl: N trivial pipelines scheduled '* * * * * *' for D seconds;
#      latency from each tick's due time to its row in etl.run_queue
#      (enqueued_at - logical_date), p50/p99, ticks/s, missed and duplicate
#      ticks; then higher N to find the highest rate with p99 <= 1 s.
#      The pipelines sit in a 0-slot pool here, so this is the scheduler's
#      part alone: due time -> queued.
#   1b. metaetl end to end: N real trivial pipelines (an inline row appended
#      to a table) every second for D seconds, started by the launcher's
#      dispatcher in run workers; latency from due time to the run's start
#      (started_at - logical_date) and to its end, runs/s, missed and
#      duplicate ticks.
#   2. pg_cron (the baseline, same run): the same N jobs on a per-minute
#      schedule, each inserting clock_timestamp(); latency from the minute
#      tick to the job's start, over two minute ticks.
# Usage: bash test/bench/scheduler/run.sh [N=50] [D=30]
# Environment: PARTS (default "enqueue runs cron"), RUN_EXECUTORS (the pool
# of run executors, default 64; 0 = one run worker per run), MAX_WORKERS,
# RUNS_CONCURRENCY (metaetl.max_concurrent_runs), RUN_RATES.
source "$(dirname "${BASH_SOURCE[0]}")/../../harness/common.sh"
N=${1:-50}
D=${2:-30}
metaetl_deps
metaetl_workdir
trap metaetl_cleanup EXIT
metaetl_private_pg
metaetl_build >/dev/null
DB=bench
metaetl_cluster_init "$DB"
# room for one run executor per pipeline due in the same second
echo "max_worker_processes = ${MAX_WORKERS:-128}" >>"$WORK/data/postgresql.conf"
echo "metaetl.run_executors = ${RUN_EXECUTORS:-64}" >>"$WORK/data/postgresql.conf"
metaetl_cluster_start
as_pg "$PGBIN/createdb" -h "$PGHOST" -p "$PGPORT" -U postgres "$DB"
q() { psql_pg -d "$DB" -At "$@"; }

q -c "CREATE EXTENSION metaetl" -c "CREATE ROLE bench_owner NOLOGIN" \
  -c "SELECT etl.add_pool('bench_hold', 0)" >/dev/null

# run_metaetl N D: schedule N every-second pipelines for D seconds; print stats
run_metaetl() {
    local n=$1 d=$2
    q -c "DELETE FROM etl.pipelines WHERE pipeline_id LIKE 'b_%'" >/dev/null
    q -c "INSERT INTO etl.pipelines (pipeline_id, name, owner, config)
          SELECT 'b_' || i, 'bench ' || i, 'bench_owner', '{\"pipeline\": {}}' FROM generate_series(1, $n) i" \
      -c "SELECT count(etl.schedule_pipeline('b_' || i, '* * * * * *', 'UTC', '{\"catchup\": \"all\", \"pool\": \"bench_hold\"}'))
            FROM generate_series(1, $n) i" >/dev/null
    # measure the steady state: ticks due after the schedules were committed
    t0=$(q -c "SELECT clock_timestamp() + interval '1 second'")
    sleep "$d"
    q -c "UPDATE etl.schedules SET paused = true WHERE pipeline_id LIKE 'b_%'" >/dev/null
    sleep 1
    q -c "WITH r AS (
            SELECT q.schedule_id, q.logical_date,
                   extract(epoch FROM q.enqueued_at - q.logical_date) * 1000 AS ms
              FROM etl.run_queue q WHERE q.pipeline_id LIKE 'b_%' AND q.trigger = 'schedule'
               AND q.logical_date >= '$t0'),
          span AS (SELECT min(logical_date) AS a, max(logical_date) AS b FROM r),
          expected AS (SELECT $n * (extract(epoch FROM b - a)::int + 1) AS ticks FROM span)
          SELECT format('metaetl  schedules=%s  ticks=%s  ticks/s=%s  p50=%s ms  p99=%s ms  max=%s ms  missed=%s  duplicates=%s',
                 $n, count(*),
                 round(count(*) / nullif(extract(epoch FROM (SELECT b - a FROM span)) + 1, 0), 1),
                 round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1),
                 round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 1),
                 round(max(ms)::numeric, 1),
                 (SELECT ticks FROM expected) - count(DISTINCT (schedule_id, logical_date)),
                 count(*) - count(DISTINCT (schedule_id, logical_date)))
            FROM r"
}

PARTS=${PARTS:-enqueue runs cron}
if [[ " $PARTS " == *" enqueue "* ]]; then
log "metaetl: $N schedules every second for $D s"
m50=$(run_metaetl "$N" "$D"); echo "$m50"
best=$N
for n in 200 500 1000 2000 4000; do
    out=$(run_metaetl "$n" 15); echo "$out"
    p99=$(sed -E 's/.*p99=([0-9.]+) ms.*/\1/' <<<"$out")
    if awk -v p="$p99" 'BEGIN { exit !(p <= 1000) }'; then best=$n; else break; fi
done
echo "highest rate with p99 <= 1 s: $best runs due per second (tried up to 4000)"
q -c "DELETE FROM etl.pipelines WHERE pipeline_id LIKE 'b_%'" >/dev/null
fi

# run_started N D [CRON]: N real pipelines on CRON (default every second) for
# D s, started by the dispatcher
run_started() {
    local n=$1 d=$2 cron=${3:-* * * * * *} warm=${4:-2}
    q -c "DELETE FROM etl.pipelines WHERE pipeline_id LIKE 's_%'" \
      -c "DROP SCHEMA IF EXISTS sb CASCADE" -c "CREATE SCHEMA sb" \
      -c "GRANT USAGE, CREATE ON SCHEMA sb TO bench_owner" >/dev/null
    q -c "INSERT INTO etl.pipelines (pipeline_id, name, owner, config)
          SELECT 's_' || i, 'started ' || i, 'bench_owner', jsonb_build_object('pipeline', jsonb_build_object(
                 'id', 's_' || i, 'name', 'started ' || i, 'engine', 'pushdown', 'concurrency', 'allow',
                 'sources', jsonb_build_array(jsonb_build_object('id', 'src', 'type', 'inline',
                                'rows', jsonb_build_array(jsonb_build_object('v', i)))),
                 'transforms', '[]'::jsonb,
                 'targets', jsonb_build_array(jsonb_build_object('id', 'out', 'type', 'postgresql',
                                'table', 'sb.t_' || i, 'input', 'src', 'mode', 'append', 'keys', '[]'::jsonb, 'create', true))))
            FROM generate_series(1, $n) i" \
      -c "SELECT count(etl.schedule_pipeline('s_' || i, '$cron', 'UTC', '{\"catchup\": \"all\"}'))
            FROM generate_series(1, $n) i" >/dev/null
    t0=$(q -c "SELECT clock_timestamp() + interval '$warm seconds'")
    sleep "$d"
    q -c "UPDATE etl.schedules SET paused = true WHERE pipeline_id LIKE 's_%'" >/dev/null
    sleep 5
    # the first tick after the schedules were created: no executor was running
    # when they were made (the launcher starts them up to 3 s ahead of a tick)
    q -c "WITH r AS (
            SELECT extract(epoch FROM r.worker_started_at - r.logical_date) * 1000 AS worker_ms,
                   extract(epoch FROM r.started_at - r.logical_date) * 1000 AS start_ms
              FROM etl.pipeline_runs r WHERE r.pipeline_id LIKE 's_%' AND r.trigger = 'schedule'
               AND r.logical_date = (SELECT min(logical_date) FROM etl.pipeline_runs
                                      WHERE pipeline_id LIKE 's_%' AND trigger = 'schedule'))
          SELECT format('  first tick after scheduling (executors started ahead, if there was time)  runs=%s  worker p50=%s ms  p99=%s ms  start p50=%s ms  p99=%s ms',
                 count(*),
                 round(percentile_cont(0.5) WITHIN GROUP (ORDER BY worker_ms)::numeric, 1),
                 round(percentile_cont(0.99) WITHIN GROUP (ORDER BY worker_ms)::numeric, 1),
                 round(percentile_cont(0.5) WITHIN GROUP (ORDER BY start_ms)::numeric, 1),
                 round(percentile_cont(0.99) WITHIN GROUP (ORDER BY start_ms)::numeric, 1))
            FROM r" >&2
    q -c "WITH r AS (
            SELECT r.pipeline_id, r.logical_date, r.status,
                   extract(epoch FROM r.started_at - r.logical_date) * 1000 AS start_ms,
                   extract(epoch FROM r.worker_started_at - r.logical_date) * 1000 AS worker_ms,
                   extract(epoch FROM r.ended_at - r.logical_date) * 1000 AS end_ms,
                   extract(epoch FROM q.enqueued_at - r.logical_date) * 1000 AS queued_ms,
                   extract(epoch FROM q.claimed_at - r.logical_date) * 1000 AS claimed_ms
              FROM etl.pipeline_runs r JOIN etl.run_queue q ON q.queue_id = r.queue_id WHERE r.pipeline_id LIKE 's_%' AND r.trigger = 'schedule'
               AND r.logical_date >= '$t0' AND r.logical_date < '$t0'::timestamptz + interval '$((d - 3)) seconds'),
          span AS (SELECT min(logical_date) AS a, max(logical_date) AS b FROM r),
          expected AS (SELECT count(*) AS ticks FROM etl.cron_ticks('$cron', 'UTC', (SELECT a FROM span), (SELECT b FROM span)) t,
                                   generate_series(1, $n))
          SELECT format('metaetl runs (%s)  pipelines=%s  runs=%s  succeeded=%s  runs/s=%s  queued p99=%s ms  claimed p50=%s ms  p99=%s ms  worker p50=%s ms  p99=%s ms  start p50=%s ms  p99=%s ms  max=%s ms  end p50=%s ms  p99=%s ms  missed=%s  duplicates=%s',
                 '$cron', $n, count(*), count(*) FILTER (WHERE status = 'succeeded'),
                 round(count(*) / nullif(extract(epoch FROM (SELECT b - a FROM span)) + 1, 0), 1),
                 round(percentile_cont(0.99) WITHIN GROUP (ORDER BY queued_ms)::numeric, 1),
                 round(percentile_cont(0.5) WITHIN GROUP (ORDER BY claimed_ms)::numeric, 1),
                 round(percentile_cont(0.99) WITHIN GROUP (ORDER BY claimed_ms)::numeric, 1),
                 round(percentile_cont(0.5) WITHIN GROUP (ORDER BY worker_ms)::numeric, 1),
                 round(percentile_cont(0.99) WITHIN GROUP (ORDER BY worker_ms)::numeric, 1),
                 round(percentile_cont(0.5) WITHIN GROUP (ORDER BY start_ms)::numeric, 1),
                 round(percentile_cont(0.99) WITHIN GROUP (ORDER BY start_ms)::numeric, 1),
                 round(max(start_ms)::numeric, 1),
                 round(percentile_cont(0.5) WITHIN GROUP (ORDER BY end_ms)::numeric, 1),
                 round(percentile_cont(0.99) WITHIN GROUP (ORDER BY end_ms)::numeric, 1),
                 (SELECT ticks FROM expected) - count(DISTINCT (pipeline_id, logical_date)),
                 count(*) - count(DISTINCT (pipeline_id, logical_date)))
            FROM r"
    q -c "DELETE FROM etl.pipelines WHERE pipeline_id LIKE 's_%'" >/dev/null
}

if [[ " $PARTS " == *" runs "* ]]; then
q -c "ALTER SYSTEM SET metaetl.max_concurrent_runs = ${RUNS_CONCURRENCY:-100}" -c "SELECT pg_reload_conf()" >/dev/null
log "metaetl end to end: bursts of $N runs due in the same second (every 5 s) for $D s, measured after the first burst"
s50=$(run_started "$N" "$D" '*/5 * * * * *' 6); echo "$s50"
log "metaetl end to end: $N pipelines every second (sustained) for $D s"
out=$(run_started "$N" "$D"); echo "$out"
for n in ${RUN_RATES:-10 25}; do
    out=$(run_started "$n" 15); echo "$out"
done
fi

if [[ " $PARTS " == *" cron "* ]]; then
log "pg_cron: $N jobs every minute, two ticks"
q -c "CREATE EXTENSION pg_cron" \
  -c "CREATE TABLE bench_cron (jobid int, started timestamptz)" \
  -c "SELECT count(cron.schedule('bench_' || i, '* * * * *',
                                 format('INSERT INTO bench_cron VALUES (%s, clock_timestamp())', i)))
        FROM generate_series(1, $N) i" >/dev/null
# wait for two full minute ticks
sleep $(( 60 - $(date +%S | sed 's/^0//') + 62 ))
q -c "SELECT count(cron.unschedule(jobname)) FROM cron.job WHERE jobname LIKE 'bench_%'" >/dev/null
c=$(q -c "WITH r AS (SELECT extract(epoch FROM started - date_trunc('minute', started)) * 1000 AS ms FROM bench_cron)
          SELECT format('pg_cron  jobs=%s  starts=%s  p50=%s ms  p99=%s ms  max=%s ms',
                 $N, count(*),
                 round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1),
                 round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 1),
                 round(max(ms)::numeric, 1)) FROM r")
echo "$c"
fi
[[ " $PARTS " == *" cron "* ]] || exit 0
mp99=$(sed -E 's/.*p99=([0-9.]+) ms.*/\1/' <<<"$m50")
cp99=$(sed -E 's/.*p99=([0-9.]+) ms.*/\1/' <<<"$c")
awk -v m="$mp99" -v c="$cp99" 'BEGIN { if (m > 0) printf "p99 ratio pg_cron/metaetl = %.1fx (metaetl enqueue vs pg_cron start)\n", c / m }'
sp99=$(sed -E 's/.* start p50=[0-9.]+ ms  p99=([0-9.]+) ms.*/\1/' <<<"$s50")
wp99=$(sed -E 's/.*worker p50=[0-9.]+ ms  p99=([0-9.]+) ms.*/\1/' <<<"$s50")
awk -v m="$sp99" -v w="$wp99" -v c="$cp99" 'BEGIN { if (m > 0) printf "bursts of '"$N"': p99 pg_cron start / metaetl worker start = %.2fx, / metaetl run recorded = %.2fx\n", c / w, c / m }'
