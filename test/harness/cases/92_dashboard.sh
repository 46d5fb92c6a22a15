# case 92_dashboard: the dashboard at / of metaetl-api, loaded in headless
# Chromium (Debian's) against a cluster with real runs: the pipelines with
# their last run and status, the run-duration chart, the quality-score trend,
# SLA compliance, the open alerts — one acknowledged by clicking its button —
# and the lineage graph; then a full-page screenshot under $WORK.
#
# The lineage card draws what etl.lineage() records for the pipeline.
set -euo pipefail
API=$PGBIN/metaetl-api
dir=$WORK/dashboard
mkdir -p "$dir"
PY=/usr/bin/python3
fail() { echo "FAILED: $*"; exit 1; }
command -v chromium >/dev/null || fail "chromium is not installed"

psql_pg -d "$PGDATABASE" <<'SQL' >/dev/null
CREATE ROLE dash_server LOGIN IN ROLE etl_api;
CREATE ROLE dash_alice LOGIN;
CREATE SCHEMA dash AUTHORIZATION dash_alice;
SQL
api_pid=
cleanup_dash() {
    [ -n "$api_pid" ] && kill "$api_pid" 2>/dev/null || true
}
trap cleanup_dash EXIT

alice() { as_pg "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -At -h "$PGHOST" -p "$PGPORT" -U dash_alice -d "$PGDATABASE" "$@"; }
alice <<'SQL' >/dev/null
CREATE TABLE dash.src AS SELECT g AS id FROM generate_series(1, 60) AS g;
SELECT etl.register_pipeline($$
pipeline:
  id: dash_orders
  name: Daily orders
  sources:
    - { id: src, type: postgresql, query: "SELECT id, id % 4 AS k FROM dash.src WHERE pg_sleep(0.002 * (id % 2)) IS NOT NULL" }
  transforms:
    - { id: keep, type: filter, params: { condition: "k > 0" } }
  targets:
    - { id: out, type: postgresql, table: dash.daily }
  quality:
    rules:
      - { type: completeness, column: id, threshold: 95 }
      - { type: validity, check: range, column: k, min: 1, max: 2, threshold: 50, severity: warn }
  sla: { max_duration_minutes: 30, min_quality_score: 90 }
$$);
SELECT etl.register_pipeline($$
pipeline:
  id: dash_broken
  name: Broken feed
  sources:
    - { id: src, type: postgresql, query: "SELECT 1 / (g - 3) AS x FROM generate_series(1, 5) AS g" }
  targets:
    - { id: out, type: postgresql, table: dash.broken }
$$);
SQL
for _ in 1 2 3 4; do alice -c "SELECT etl.execute_pipeline('dash_orders')->>'status'" >/dev/null; done
alice -c "SELECT etl.execute_pipeline('dash_broken')->>'status'" >/dev/null
alert=$(psql_pg -d "$PGDATABASE" -At -c \
    "SELECT etl.raise_alert('pipeline_failure', 'high', 'Broken feed failed: division by zero', 'dash_broken')")
alert2=$(psql_pg -d "$PGDATABASE" -At -c \
    "SELECT etl.raise_alert('sla_violation', 'medium', 'Daily orders is late', 'dash_orders')")
TOKEN=$(alice -c "SELECT etl.create_api_token('dash_alice')")

PORT=$(metaetl_free_port)
"$API" --listen "127.0.0.1:$PORT" --dsn "host=$PGHOST port=$PGPORT dbname=$PGDATABASE user=dash_server" \
    --token-cache 0 >"$dir/api.log" 2>&1 &
api_pid=$!
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/api/v1/health" && break; sleep 0.1; done

# the page and its files come from the server, with a CSP that forbids anything else
code=$(curl -s -D "$dir/h" -o "$dir/index.html" -w '%{http_code}' "http://127.0.0.1:$PORT/")
[ "$code" = 200 ] || fail "GET / answered $code"
grep -qi "^content-security-policy: default-src 'self'" "$dir/h" || fail "no CSP on the page"
grep -Eq 'https?://' "$dir/index.html" && fail "the page loads something from elsewhere"
for f in app.js app.css favicon.svg; do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/$f")" = 200 ] || fail "no $f"
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/..%2Fapi.h")" = 404 ] || fail "a path outside web/"

shot=$WORK/dashboard.png
timeout 120 $PY "$REPO/test/api/dashboard.py" "http://127.0.0.1:$PORT/" "$TOKEN" "$shot" --ack "$alert" >"$dir/seen.json" ||
    fail "the dashboard run failed"
$PY - "$dir/seen.json" "$alert" "$alert2" <<'PY' || fail "the dashboard does not show what it should"
import json, sys
d = json.load(open(sys.argv[1]))
alert, alert2 = int(sys.argv[2]), int(sys.argv[3])
print("health line:", d["health"])
assert d["message"] is None, d["message"]
rows = {p["id"]: p["cells"] for p in d["pipelines"]}
print("pipelines:", rows)
assert set(rows) == {"dash_broken", "dash_orders"}, rows
assert rows["dash_orders"][1] == "Daily orders" and rows["dash_orders"][6] == "succeeded", rows
assert rows["dash_broken"][6] == "failed", rows
assert rows["dash_orders"][8] == "75", rows           # last quality score: the warn rule fails on a quarter
assert d["detail"] == "Pipeline dash_broken", d["detail"]   # the first pipeline is shown
print("alerts before:", d["alerts_before"], "after:", d["alerts"])
assert {a["id"] for a in d["alerts_before"]} >= {alert, alert2}
assert all(a["status"] == "open" and a["button"] for a in d["alerts_before"] if a["id"] in (alert, alert2))
assert d["clicked"] and d["acknowledged_shown"]
after = {a["id"]: a for a in d["alerts"]}
assert after[alert]["status"] == "acknowledged" and not after[alert]["button"]
assert after[alert2]["status"] == "open" and after[alert2]["button"]
assert d["screenshot_bytes"] > 20000, d["screenshot_bytes"]
PY
st=$(psql_pg -d "$PGDATABASE" -At -c "SELECT status FROM etl.alerts WHERE alert_id = $alert")
[ "$st" = acknowledged ] || fail "alert $alert is $st in the database"
echo "screenshot (alert acknowledged, first pipeline): $shot"

# the pipeline with history: click its row, then read the charts, SLA and lineage
timeout 120 $PY "$REPO/test/api/dashboard.py" "http://127.0.0.1:$PORT/" "$TOKEN" "$WORK/dashboard-orders.png" \
    --select dash_orders >"$dir/orders.json" || fail "selecting a pipeline failed"
$PY - "$dir/orders.json" <<'PY' || fail "the pipeline's detail is not what it should be"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["selected"] and d["detail_shown"], d
print("detail:", d["detail"], "| bars:", d["duration_bars"], "| quality points:", d["quality_points"])
print("sla:", d["sla_rows"], d["sla_summary"])
print("lineage:", d["lineage"], d["lineage_nodes"], "nodes")
assert d["duration_bars"] == 4 and d["quality_points"] == 4
assert sorted(r[0] for r in d["sla_rows"]) == ["duration", "quality"], d["sla_rows"]
# the duration SLA is met, the quality one (score 75 < 90) is not
assert {r[0]: r[3] for r in d["sla_rows"]} == {"duration": "met", "quality": "breached"}, d["sla_rows"]
assert d["sla_summary"].startswith("50% of "), d["sla_summary"]
# dash.src -> dash.daily, as etl.lineage() records it
assert d["lineage"] == "graph" and d["lineage_nodes"] >= 2, (d["lineage"], d["lineage_nodes"])
PY
echo "screenshot (pipeline with history, lineage graph): $WORK/dashboard-orders.png"


kill "$api_pid"; wait "$api_pid" || true; api_pid=
psql_pg -d "$PGDATABASE" <<'SQL' >/dev/null
-- resolved first: alerts outlive their pipeline (as system alerts)
SELECT etl.resolve_alert(alert_id) FROM etl.alerts
 WHERE pipeline_id IN ('dash_orders', 'dash_broken') AND status <> 'resolved';
SELECT etl.drop_pipeline(pipeline_id) FROM etl.pipelines WHERE owner = 'dash_alice';
DROP SCHEMA dash CASCADE;
DELETE FROM etl.api_tokens WHERE role_name = 'dash_alice';
SQL
echo "dashboard ok"
