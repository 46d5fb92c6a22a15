#!/usr/bin/env bash
# test/harness/lineage/openlineage_case.sh — the body of harness case
# 95_openlineage, run by its own bash so that errexit holds (test.sh sources
# cases inside an `if`, where `set -e` is ignored).  Needs the environment
# test.sh exports: WORK, PGBIN, PGHOST, PGPORT, PGDATABASE.
#
# OpenLineage RunEvents of real runs reach a loopback HTTP receiver
# (openlineage_receiver.py), sent by the "metaetl alert delivery" background
# worker from the etl.lineage_events outbox:
#  - a run that succeeds (START, COMPLETE with schema, dataSource,
#    columnLineage, dataQualityMetrics/Assertions, outputStatistics, sql,
#    processing_engine), one that fails (FAIL + errorMessage), one whose
#    quality gate fails (FAIL), one cancelled (ABORT), two backfill runs
#    (nominalTime, one parent run shared);
#  - the endpoint answers 503 twice first: the events are retried and still
#    arrive, START before the final event of each run; an endpoint answering
#    400 fails the event at once;
#  - etl.deliver_pending() sends them too (a database without the worker);
#  - every event received validates against the OpenLineage JSON Schema
#    (test/fixtures/openlineage) with python3-jsonschema, facets included,
#    and a broken event does not;
#  - the API key is sent as a bearer token and appears nowhere else.
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
set -euo pipefail
PY=/usr/bin/python3
HERE=$REPO/test/harness/lineage
SCHEMAS=$REPO/test/fixtures/openlineage
OL=$WORK/openlineage
rm -rf "$OL"
mkdir -p "$OL"
chmod 755 "$OL"
KEY=ol-case-api-key-4711
pids=()

case95_cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    psql_pg -q -c "SELECT etl.set_lineage_endpoint(NULL)" \
        -c "SELECT etl.unschedule_pipeline('ol95_daily') FROM etl.schedules WHERE pipeline_id = 'ol95_daily'" \
        -c "DELETE FROM etl.pipelines WHERE pipeline_id LIKE 'ol95\\_%'" \
        -c "DELETE FROM etl.alerts WHERE pipeline_id IS NULL AND message LIKE '%ol95%'" \
        -c "DELETE FROM etl.schema_versions WHERE relation LIKE 'ol95.%'" \
        -c "DROP SCHEMA IF EXISTS ol95 CASCADE" >/dev/null 2>&1 || true
    psql_pg -d postgres -q -c "DROP DATABASE IF EXISTS ol95_noworker" >/dev/null 2>&1 || true
}
trap case95_cleanup EXIT

wait_port() {
    local i
    for i in $(seq 1 50); do
        (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "nothing listens on port $1" >&2
    return 1
}
# wait_for SECONDS SQL [DB]: until the query returns t
wait_for() {
    local deadline=$(( $(date +%s) + $1 )) got
    while :; do
        got=$(psql_pg -d "${3:-$PGDATABASE}" -At -c "$2" 2>/dev/null || true)
        [ "$got" = t ] && return 0
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "timed out waiting for: $2" >&2
            psql_pg -d "${3:-$PGDATABASE}" -At -c "$2" >&2 || true
            return 1
        fi
        sleep 0.3
    done
}

RPORT=$(metaetl_free_port)
$PY "$HERE/openlineage_receiver.py" "$RPORT" "$OL/received.jsonl" &
pids+=($!)
wait_port "$RPORT"

# --- pipelines ---------------------------------------------------------------
psql_pg <<SQL >/dev/null
CREATE SCHEMA ol95;
CREATE TABLE ol95.orders (id int PRIMARY KEY, customer text, amount numeric, email text);
INSERT INTO ol95.orders VALUES (1, 'ann', 10, 'a@x.org'), (2, 'bob', 20, 'b@x.org'), (3, 'ann', 5, NULL);
SELECT etl.set_lineage_endpoint('http://127.0.0.1:$RPORT/flaky/api/v1/lineage',
    '{"namespace": "metaetl://case95", "api_key": "$KEY",
      "retry": {"initial_delay_s": 0.2, "backoff": 1.5, "max_attempts": 6}}');
SELECT etl.register_pipeline(\$y\$
pipeline:
  id: ol95_ok
  sources: [{id: o, type: postgresql, table: ol95.orders}]
  transforms:
    - {id: per_customer, type: aggregate, params: {groupby_cols: [customer], agg_functions: {amount: sum}}}
  targets: [{id: t, type: postgresql, table: ol95.totals}]
  quality:
    gate: error
    rules:
      - {type: completeness, column: email, threshold: 50}
\$y\$);
-- registration compiles against the catalog: the column exists then, and is
-- dropped before the run, which fails
CREATE TABLE ol95.fail_src (id int, no_such_column int);
SELECT etl.register_pipeline(\$y\$
pipeline:
  id: ol95_fail
  sources: [{id: o, type: postgresql, query: "SELECT id, no_such_column FROM ol95.fail_src"}]
  targets: [{id: t, type: postgresql, table: ol95.never}]
\$y\$);
ALTER TABLE ol95.fail_src DROP COLUMN no_such_column;
SELECT etl.register_pipeline(\$y\$
pipeline:
  id: ol95_gate
  sources: [{id: o, type: postgresql, table: ol95.orders}]
  targets: [{id: t, type: postgresql, table: ol95.gated}]
  quality:
    gate: error
    rules:
      - {type: completeness, column: email, threshold: 100}
\$y\$);
SELECT etl.register_pipeline(\$y\$
pipeline:
  id: ol95_slow
  sources: [{id: o, type: postgresql, query: "SELECT id, pg_sleep(30) IS NULL AS slept FROM ol95.orders"}]
  targets: [{id: t, type: postgresql, table: ol95.slow}]
\$y\$);
SELECT etl.register_pipeline(\$y\$
pipeline:
  id: ol95_daily
  concurrency: queue
  sources: [{id: o, type: postgresql, query: "SELECT id, amount FROM ol95.orders WHERE amount > 0"}]
  targets: [{id: t, type: postgresql, table: ol95.daily, mode: append}]
\$y\$);
SQL

# --- runs ----------------------------------------------------------------------
psql_pg -At -c "SELECT etl.execute_pipeline('ol95_ok') ->> 'status'" | grep -qx succeeded
psql_pg -At -c "SELECT etl.execute_pipeline('ol95_fail') ->> 'status'" | grep -qx failed
psql_pg -At -c "SELECT etl.execute_pipeline('ol95_gate') ->> 'status'" | grep -qx quality_failed
slow=$(psql_pg -At -c "SELECT etl.execute_pipeline('ol95_slow', wait => false) ->> 'run_id'")
wait_for 20 "SELECT status = 'running' FROM etl.pipeline_runs WHERE run_id = $slow"
sleep 0.5
psql_pg -At -c "SELECT etl.cancel_run($slow)" | grep -qx t
wait_for 30 "SELECT status = 'cancelled' FROM etl.pipeline_runs WHERE run_id = $slow"
# two backfill runs, started by the scheduler
psql_pg -At -c "SELECT etl.schedule_pipeline('ol95_daily', '0 0 1 1 *', 'UTC') > 0" | grep -qx t
psql_pg -At -c "SELECT etl.backfill('ol95_daily', '2024-01-01', '2025-01-01')" | grep -qx 2
wait_for 60 "SELECT count(*) = 2 FROM etl.pipeline_runs WHERE pipeline_id = 'ol95_daily' AND trigger = 'backfill' AND status = 'succeeded'"

# --- delivery: every event, retried past the two 503s --------------------------
wait_for 60 "SELECT count(*) = 12 AND bool_and(e.status = 'delivered') FROM etl.lineage_events e JOIN etl.pipeline_runs r USING (run_id) WHERE r.pipeline_id LIKE 'ol95\\_%'"
psql_pg -At -c "SELECT sum(attempts) = count(*) + 2 FROM etl.lineage_events" | grep -qx t \
    || { echo "the two refused posts should have cost two more attempts"; psql_pg -c "SELECT event_id, event_type, attempts, status, last_http_status, last_error FROM etl.lineage_events"; exit 1; }
psql_pg -c "SELECT r.pipeline_id, e.event_type, e.status, e.attempts FROM etl.lineage_events e JOIN etl.pipeline_runs r USING (run_id) ORDER BY e.event_id"

# --- every event valid, each run START then one final event ---------------------
$PY "$HERE/validate_openlineage.py" "$SCHEMAS" "$OL/received.jsonl"
$PY - "$OL/received.jsonl" "$KEY" <<'PY'
import collections, json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
key = sys.argv[2]
ok = [r for r in recs if r["code"] == 201]
assert len([r for r in recs if r["code"] == 503]) == 2, "expected two refused posts"
for r in recs:
    assert r["headers"].get("authorization") == "Bearer " + key, "no bearer token"
    assert r["headers"].get("content-type") == "application/json"
    assert key not in r["body"], "the API key is in an event"
ev = [json.loads(r["body"]) for r in ok]
runs = collections.OrderedDict()
for e in ev:
    runs.setdefault(e["run"]["runId"], []).append(e)
by_job = collections.defaultdict(list)
for rid, es in runs.items():
    types = [e["eventType"] for e in es]
    assert types[0] == "START" and len(types) == 2 and types[1] in ("COMPLETE", "FAIL", "ABORT"), (rid, types)
    assert es[0]["eventTime"] <= es[1]["eventTime"]
    assert all(e["job"]["namespace"] == "metaetl://case95" for e in es)
    by_job[es[0]["job"]["name"]].append(es[1])
final = {j: [e["eventType"] for e in es] for j, es in by_job.items()}
assert final == {"ol95_ok": ["COMPLETE"], "ol95_fail": ["FAIL"], "ol95_gate": ["FAIL"],
                 "ol95_slow": ["ABORT"], "ol95_daily": ["COMPLETE", "COMPLETE"]}, final

ok_ev = by_job["ol95_ok"][0]
(inp,) = ok_ev["inputs"]
(out,) = ok_ev["outputs"]
assert inp["name"].endswith(".ol95.orders") and inp["namespace"].startswith("postgres://"), inp
assert [f["name"] for f in inp["facets"]["schema"]["fields"]] == ["id", "customer", "amount", "email"]
dq = inp["inputFacets"]["dataQualityMetrics"]
assert dq["rowCount"] == 3 and dq["columnMetrics"]["email"]["nullCount"] == 1, dq
assert inp["inputFacets"]["dataQualityAssertions"]["assertions"][0]["success"] is True
cl = out["facets"]["columnLineage"]["fields"]
assert cl["amount"]["inputFields"][0]["field"] == "amount"
assert cl["amount"]["inputFields"][0]["transformations"][0]["subtype"] == "AGGREGATION"
assert cl["customer"]["inputFields"][0]["transformations"][0]["subtype"] == "IDENTITY"
assert out["outputFacets"]["outputStatistics"]["rowCount"] == 2
assert "per_customer" in ok_ev["job"]["facets"]["sql"]["query"]
assert ok_ev["run"]["facets"]["processing_engine"]["name"] == "PostgreSQL"

fail = by_job["ol95_fail"][0]
assert "no_such_column" in fail["run"]["facets"]["errorMessage"]["message"], fail["run"]["facets"]
gate = by_job["ol95_gate"][0]
assert "quality gate failed" in gate["run"]["facets"]["errorMessage"]["message"]
assert gate["inputs"][0]["inputFacets"]["dataQualityAssertions"]["assertions"][0]["success"] is False
slow = by_job["ol95_slow"][0]
assert "errorMessage" in slow["run"]["facets"]

daily = by_job["ol95_daily"]
parents = {e["run"]["facets"]["parent"]["run"]["runId"] for e in daily}
assert len(parents) == 1, parents
assert daily[0]["run"]["facets"]["parent"]["job"]["name"] == "ol95_daily.backfill"
starts = sorted(e["run"]["facets"]["nominalTime"]["nominalStartTime"] for e in daily)
assert starts == ["2024-01-01T00:00:00.000000Z", "2025-01-01T00:00:00.000000Z"], starts
assert all(e["run"]["facets"]["nominalTime"]["nominalEndTime"] > e["run"]["facets"]["nominalTime"]["nominalStartTime"]
           for e in daily)
print("%d runs, %d events checked" % (len(runs), len(ev)))
PY

# --- a broken event is rejected by the same validator ---------------------------
$PY - "$OL/received.jsonl" "$OL/broken.jsonl" <<'PY'
import json, sys
# a backfill run's COMPLETE: it has every kind of facet the mutations touch
rec = [r for r in (json.loads(l) for l in open(sys.argv[1]) if l.strip())
       if r["code"] == 201 and '"ol95_daily"' in r["body"] and '"COMPLETE"' in r["body"]][-1]
out = open(sys.argv[2], "w")
for mutate in ("runid", "namespace", "producer", "facet", "fieldtype"):
    ev = json.loads(rec["body"])
    if mutate == "runid":
        ev["run"]["runId"] = "run-42"
    elif mutate == "namespace":
        del ev["job"]["namespace"]
    elif mutate == "producer":
        del ev["run"]["facets"]["processing_engine"]["_producer"]
    elif mutate == "facet":
        ev["run"]["facets"]["nominalTime"]["nominalStartTime"] = "yesterday"
    else:
        ev["outputs"][0]["facets"]["schema"]["fields"][0]["ordinal_position"] = "first"
    out.write(json.dumps(ev) + "\n")
PY
if $PY "$HERE/validate_openlineage.py" "$SCHEMAS" "$OL/broken.jsonl" >"$OL/broken.out"; then
    echo "broken events passed validation"; cat "$OL/broken.out"; exit 1
fi
[ "$(grep -c INVALID "$OL/broken.out")" -eq 5 ] || { cat "$OL/broken.out"; exit 1; }

# --- a client error is permanent ------------------------------------------------
psql_pg -q -c "SELECT etl.set_lineage_endpoint('http://127.0.0.1:$RPORT/reject/', '{\"api_key\": \"$KEY\"}')" >/dev/null
st=$(psql_pg -At -c "SELECT etl.execute_pipeline('ol95_ok') - 'duration_ms'")
echo "$st" | grep -q '"status": "succeeded"' || { echo "the run did not succeed: $st"; exit 1; }
wait_for 30 "SELECT count(*) = 2 AND bool_and(status = 'failed' AND attempts = 1 AND last_http_status = 400) FROM etl.lineage_events WHERE run_id = (SELECT max(run_id) FROM etl.pipeline_runs WHERE pipeline_id = 'ol95_ok')"

# --- etl.deliver_pending: a database without the delivery worker ----------------
psql_pg -d postgres -q -c "CREATE DATABASE ol95_noworker"
psql_pg -d ol95_noworker -q <<SQL >/dev/null
CREATE EXTENSION metaetl;
CREATE TABLE src (id int, v text);
INSERT INTO src VALUES (1, 'a');
SELECT etl.set_lineage_endpoint('http://127.0.0.1:$RPORT/api/v1/lineage', '{"namespace": "metaetl://noworker"}');
SELECT etl.register_pipeline('{"pipeline": {"id": "ol95_nw", "sources": [{"id": "s", "type": "postgresql", "table": "src"}], "targets": [{"id": "t", "type": "postgresql", "table": "dst"}]}}');
SELECT etl.execute_pipeline_inline('ol95_nw');
SQL
psql_pg -d ol95_noworker -At -c "SELECT etl.deliver_pending()" | grep -qx 1   # START; COMPLETE waits for it
psql_pg -d ol95_noworker -At -c "SELECT etl.deliver_pending()" | grep -qx 1
psql_pg -d ol95_noworker -At -c "SELECT string_agg(event_type || ':' || status, ' ' ORDER BY event_id) FROM etl.lineage_events" \
    | grep -qx 'START:delivered COMPLETE:delivered'
grep 'metaetl://noworker' "$OL/received.jsonl" >"$OL/noworker.jsonl"
$PY "$HERE/validate_openlineage.py" "$SCHEMAS" "$OL/noworker.jsonl"

# --- the key is nowhere but in the requests ---------------------------------------
psql_pg -At -c "SELECT count(*) FROM etl.lineage_events WHERE payload::text LIKE '%$KEY%'" | grep -qx 0
psql_pg -At -c "SELECT count(*) FROM etl.audit_log WHERE after::text LIKE '%$KEY%' OR before::text LIKE '%$KEY%'" | grep -qx 0
psql_pg -At -c "SELECT options::text FROM etl.lineage_endpoint_public" | grep -q '"api_key": "\*\*\*"'
if grep -q "$KEY" "$WORK/postgres.log"; then echo "the API key is in the server log"; exit 1; fi
echo "openlineage events ok"
