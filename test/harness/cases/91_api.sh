# case 91_api: metaetl-api as a deployment runs it — logged in as a member of
# etl_api, answering bearer tokens made with etl.create_api_token — against
# the throwaway cluster: every endpoint, each error status (401 403 404 405
# 409 413 415 422 501 503 504), the OpenAPI document validated against the
# OpenAPI 3.1 schema, the Prometheus metrics parsed, tokens expiring and
# revoked, plain roles seeing only their own pipelines, TLS, and a SIGTERM
# that lets a request in flight finish.
set -euo pipefail
API=$PGBIN/metaetl-api
[ -x "$API" ] || { echo "metaetl-api is not installed in $PGBIN"; exit 1; }
dir=$WORK/api
mkdir -p "$dir"
PY=/usr/bin/python3
fail() { echo "FAILED: $*"; [ -f "$dir/body" ] && { echo "last body:"; head -c 2000 "$dir/body"; echo; }; exit 1; }

viewer_role=plain
if [ "$(psql_pg -d "$PGDATABASE" -At -c "SELECT count(*) FROM pg_roles WHERE rolname = 'etl_viewer'")" = 1 ]; then
    viewer_role=etl_viewer
fi
psql_pg -d "$PGDATABASE" <<SQL >/dev/null
CREATE ROLE api_server LOGIN IN ROLE etl_api;
CREATE ROLE api_alice LOGIN;
CREATE ROLE api_bob LOGIN;
CREATE ROLE api_viewer LOGIN $( [ $viewer_role = etl_viewer ] && echo "IN ROLE etl_viewer" );
CREATE SCHEMA api_alice AUTHORIZATION api_alice;
CREATE TABLE public.api_canary (x int);
SQL

pids=()
cleanup_api() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    psql_pg -d "$PGDATABASE" -c "DROP TABLE IF EXISTS public.api_canary" >/dev/null 2>&1 || true
}
trap cleanup_api EXIT

# start_api PORT ARGS...: starts a server, waits until /health answers; sets api_pid
start_api() {
    local port=$1 scheme=http i
    shift
    [[ " $* " == *" --tls-cert "* ]] && scheme=https
    "$API" --listen "127.0.0.1:$port" \
        --dsn "host=$PGHOST port=$PGPORT dbname=$PGDATABASE user=api_server" "$@" \
        >>"$dir/api-$port.log" 2>&1 &
    api_pid=$!
    pids+=("$api_pid")
    for i in $(seq 1 100); do
        if curl -s -k -o /dev/null "$scheme://127.0.0.1:$port/api/v1/health"; then return 0; fi
        kill -0 "$api_pid" 2>/dev/null || { cat "$dir/api-$port.log"; fail "metaetl-api exited"; }
        sleep 0.1
    done
    cat "$dir/api-$port.log"
    fail "metaetl-api did not start"
}

PORT=$(metaetl_free_port)
BASE=http://127.0.0.1:$PORT/api/v1
start_api "$PORT" --pool-size 4 --max-body 65536 --token-cache 1 --wait-timeout 30
main_pid=$api_pid
echo "metaetl-api on port $PORT (pid $main_pid); viewer role: $viewer_role"

# req METHOD PATH [curl args]: sets code; the body is in $dir/body
TOKEN=
req() {
    local m=$1 p=$2
    shift 2
    local auth=()
    [ -n "$TOKEN" ] && auth=(-H "Authorization: Bearer $TOKEN")
    code=$(curl -s -o "$dir/body" -D "$dir/headers" -w '%{http_code}' -X "$m" "${auth[@]}" "$@" "$BASE$p") || code=000
    printf '%-6s %-48s -> %s\n' "$m" "$p" "$code"
}
expect() { [ "$code" = "$1" ] || fail "expected HTTP $1, got $code"; }
# j EXPR: a Python expression over the JSON body d
j() { $PY -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$dir/body"; }
jexpect() { local got; got=$(j "$1"); [ "$got" = "$2" ] || fail "$1 is [$got], expected [$2]"; }
problem_is() {   # STATUS: an RFC 9457 document with that status
    expect "$1"
    grep -qi '^content-type: application/problem+json' "$dir/headers" || fail "not application/problem+json"
    jexpect 'd["type"], d["status"], isinstance(d["title"], str), isinstance(d["detail"], str)' "about:blank $1 True True"
}

mktoken() {   # ROLE [INTERVAL]: a token made by the superuser
    psql_pg -d "$PGDATABASE" -At -c "SELECT etl.create_api_token('$1'${2:+, '$2'})"
}
# a role makes its own token, as a user would
T_ALICE=$(as_pg "$PGBIN/psql" -X -q -At -h "$PGHOST" -p "$PGPORT" -U api_alice -d "$PGDATABASE" \
    -c "SELECT etl.create_api_token('api_alice', '30 days')")
T_BOB=$(mktoken api_bob)
T_VIEWER=$(mktoken api_viewer)
[[ "$T_ALICE" =~ ^metaetl_[0-9a-f]{64}$ ]] || fail "token format: $T_ALICE"

echo "== token management in SQL"
out=$(as_pg "$PGBIN/psql" -X -q -At -h "$PGHOST" -p "$PGPORT" -U api_alice -d "$PGDATABASE" \
    -c "SELECT etl.create_api_token('api_bob')" 2>&1 || true)
echo "$out" | grep -q 'permission denied to create an api token for role "api_bob"' || fail "alice made bob's token: $out"
out=$(psql_pg -d "$PGDATABASE" -At -c "SELECT etl.create_api_token('postgres')" 2>&1 || true)
echo "$out" | grep -q 'cannot be created for superuser role' || fail "a superuser token: $out"
out=$(psql_pg -d "$PGDATABASE" -At -c "SELECT etl.create_api_token('api_server')" 2>&1 || true)
echo "$out" | grep -q "which is the API server's own" || fail "a token for the server's role: $out"
out=$(psql_pg -d "$PGDATABASE" -At -c "SELECT etl.create_api_token('api_alice', '-1 day')" 2>&1 || true)
echo "$out" | grep -q 'must expire after a positive interval' || fail "a negative expiry: $out"
n=$(as_pg "$PGBIN/psql" -X -q -At -h "$PGHOST" -p "$PGPORT" -U api_alice -d "$PGDATABASE" \
    -c "SELECT count(*) || ' ' || string_agg(DISTINCT role_name, ',') FROM etl.api_tokens_public")
[ "$n" = "1 api_alice" ] || fail "alice sees tokens: $n"
out=$(as_pg "$PGBIN/psql" -X -q -At -h "$PGHOST" -p "$PGPORT" -U api_alice -d "$PGDATABASE" \
    -c "SELECT token_hash FROM etl.api_tokens" 2>&1 || true)
echo "$out" | grep -q 'permission denied' || fail "alice read the token table: $out"
member=$(psql_pg -d "$PGDATABASE" -At -c "SELECT pg_has_role('etl_api', 'api_alice', 'MEMBER')")
[ "$member" = t ] || fail "etl_api is not a member of api_alice"

echo "== health and openapi need no token"
req GET /health; expect 200; jexpect 'd["status"], d["api"]["pool_size"], "extension_version" in d' "ok 4 True"
req GET /openapi.json; expect 200
cp "$dir/body" "$dir/openapi.json"
$PY "$REPO/test/api/validate_openapi.py" "$dir/openapi.json" || fail "openapi.json is not a valid OpenAPI 3.1 document"
# every route the server answers is documented
for p in /health /openapi.json /metrics /pipelines '/pipelines/{id}' '/pipelines/{id}/execute' \
         '/pipelines/{id}/lineage' '/pipelines/{id}/sla' /runs '/runs/{id}' '/runs/{id}/status' \
         '/runs/{id}/cancel' '/runs/{id}/quality' /alerts '/alerts/{id}/acknowledge' '/alerts/{id}/resolve'; do
    $PY -c "import json,sys; sys.exit(0 if sys.argv[2] in json.load(open(sys.argv[1]))['paths'] else 1)" \
        "$dir/openapi.json" "$p" || fail "openapi.json lacks $p"
done

echo "== 401: no token, a malformed one, an unknown one"
req GET /pipelines; problem_is 401
grep -qi '^www-authenticate: Bearer' "$dir/headers" || fail "no WWW-Authenticate"
req GET /pipelines -H "Authorization: Basic YWxpY2U6eA=="; problem_is 401
TOKEN=metaetl_0000000000000000000000000000000000000000000000000000000000000000
req GET /runs; problem_is 401; jexpect 'd["detail"]' "the bearer token is not known"
TOKEN=$(mktoken api_alice '1 second')
sleep 1.2
req GET /pipelines; problem_is 401; jexpect 'd["detail"]' "the bearer token has expired"

echo "== pipelines: create, conflict, validation, media types, size"
TOKEN=$T_ALICE
cat >"$dir/orders.yaml" <<'YAML'
pipeline:
  id: api_orders
  name: API orders
  params: { region: EU }
  sources:
    - id: src
      type: postgresql
      query: "SELECT g AS id, {{param.region}}::text AS region, g % 5 AS k FROM generate_series(1, 40) AS g"
  transforms:
    - { id: keep, type: filter, params: { condition: "k > 0" } }
  targets:
    - { id: out, type: postgresql, table: api_alice.orders }
  quality:
    rules:
      - { type: completeness, column: id, threshold: 95 }
  sla: { max_duration_minutes: 60, min_quality_score: 90 }
YAML
req POST /pipelines -H 'Content-Type: application/yaml' --data-binary @"$dir/orders.yaml"; expect 201
grep -qi '^location: /api/v1/pipelines/api_orders' "$dir/headers" || fail "no Location"
jexpect 'd["pipeline_id"], d["version"], d["owner"], d["config"]["pipeline"]["name"], d["last_run"]' \
    "api_orders 1 api_alice API orders None"
req POST /pipelines -H 'Content-Type: application/yaml' --data-binary @"$dir/orders.yaml"; problem_is 409
printf 'pipeline:\n  id: Bad-Id\n  name: x\n' >"$dir/bad.yaml"
req POST /pipelines -H 'Content-Type: application/yaml' --data-binary @"$dir/bad.yaml"; problem_is 422
jexpect 'len(d["errors"]) >= 2, all(e["line"] for e in d["errors"]), any("Bad-Id" in e["message"] for e in d["errors"])' "True True True"
req POST /pipelines -H 'Content-Type: text/html' --data-binary @"$dir/orders.yaml"; problem_is 415
req POST /pipelines -H 'Content-Type: application/yaml'; problem_is 422
head -c 70000 /dev/zero | tr '\0' 'x' >"$dir/big.txt"
req POST /pipelines -H 'Content-Type: application/yaml' --data-binary @"$dir/big.txt"; problem_is 413
req POST /pipelines -H 'Content-Type: application/yaml' -H 'Transfer-Encoding: chunked' --data-binary @"$dir/big.txt"
problem_is 413
n=$(psql_pg -d "$PGDATABASE" -At -c "SELECT count(*) FROM etl.pipelines WHERE owner = 'api_alice'")
[ "$n" = 1 ] || fail "refused configs left pipelines behind ($n)"
# JSON works as well as YAML
cat >"$dir/slow.json" <<'JSON'
{"pipeline": {"id": "api_slow", "name": "API slow",
  "sources": [{"id": "src", "type": "postgresql",
               "query": "SELECT g AS id FROM generate_series(1, 400) AS g WHERE pg_sleep(0.01 + g * 0) IS NOT NULL"}],
  "targets": [{"id": "out", "type": "postgresql", "table": "api_alice.slow"}]}}
JSON
req POST /pipelines -H 'Content-Type: application/json' --data-binary @"$dir/slow.json"; expect 201

req GET /pipelines; expect 200
jexpect 'sorted(p["pipeline_id"] for p in d), sorted(d[0].keys()) == sorted(["pipeline_id","name","description","version","owner","engine","enabled","tags","created_at","updated_at","schedule","last_run"])' \
    "['api_orders', 'api_slow'] True"
req GET /pipelines/api_orders; expect 200; jexpect 'd["versions"], d["config"]["pipeline"]["params"]' "1 {'region': 'EU'}"
req GET '/pipelines/api_orders?format=yaml'; expect 200
grep -qi '^content-type: application/yaml' "$dir/headers" || fail "not YAML"
cp "$dir/body" "$dir/exported.yaml"
grep -q 'id: api_orders' "$dir/exported.yaml" || fail "export lacks the id"
req PUT /pipelines/api_orders -H 'Content-Type: application/yaml' --data-binary @"$dir/exported.yaml"; expect 200
jexpect 'd["version"], d["changed"]' "1 False"
sed 's/name: API orders/name: API orders v2/' "$dir/orders.yaml" >"$dir/orders2.yaml"
req PUT /pipelines/api_orders -H 'Content-Type: application/yaml' --data-binary @"$dir/orders2.yaml"; expect 200
jexpect 'd["version"], d["changed"], d["name"]' "2 True API orders v2"
req PUT /pipelines/api_other -H 'Content-Type: application/yaml' --data-binary @"$dir/orders2.yaml"; problem_is 422
sed 's/id: api_orders/id: api_extra/' "$dir/orders.yaml" >"$dir/extra.yaml"
req PUT /pipelines/api_extra -H 'Content-Type: application/yaml' --data-binary @"$dir/extra.yaml"; expect 201
req DELETE /pipelines/api_extra; expect 204
req GET /pipelines/api_extra; problem_is 404
req DELETE /pipelines/api_extra; problem_is 404
req PATCH /pipelines/api_orders; problem_is 405
grep -qi '^allow: GET, HEAD, PUT, DELETE' "$dir/headers" || fail "no Allow header"
req GET /nothing/here; problem_is 404

echo "== execute, runs, quality, SLA, lineage"
req POST /pipelines/api_orders/execute -H 'Content-Type: application/json' -d '{"params": {"region": "US"}}'
expect 200
jexpect 'd["status"], d["rows_written"], d["trigger"], d["run_as"], d["quality_score"]' "succeeded 32 api api_alice 100.0"
run1=$(j 'd["run_id"]')
grep -qi "^location: /api/v1/runs/$run1" "$dir/headers" || fail "no Location for the run"
region=$(psql_pg -d "$PGDATABASE" -At -c "SELECT DISTINCT region FROM api_alice.orders")
[ "$region" = US ] || fail "param region is $region"
req POST /pipelines/api_orders/execute -d '{"params": {"region": "EU"}, "wait": true}'; expect 200
jexpect 'd["status"]' succeeded
req POST /pipelines/api_orders/execute -d '{"wait": false, "params": {"region": "EU"}}'; expect 202
run3=$(j 'd["run_id"]')
for _ in $(seq 1 100); do
    req GET "/runs/$run3/status" >/dev/null; st=$(j 'd["status"]')
    [ "$st" = succeeded ] && break
    sleep 0.1
done
[ "$st" = succeeded ] || fail "run $run3 is $st"
req GET "/runs/$run3/status"; expect 200
j 'sorted(d.keys())' >"$dir/status-keys"
req GET "/runs?pipeline_id=api_orders&limit=2"; expect 200
jexpect 'len(d), d[0]["run_id"], d[0]["status"]' "2 $run3 succeeded"
[ "$(j 'sorted(d[0].keys())')" = "$(cat "$dir/status-keys")" ] || fail "runs in lists are not shaped like run_status"
req GET "/runs?status=succeeded"; expect 200; jexpect 'len(d), set(r["status"] for r in d)' "3 {'succeeded'}"
req GET "/runs?limit=0"; problem_is 422
req GET "/runs?pipeline_id=nobody_here"; problem_is 404
req GET "/runs/$run1"; expect 200
jexpect 'd["params"], [s["kind"] for s in d["step_runs"]], d["run_attempts"][0]["status"]' \
    "{'region': 'US'} ['source', 'step', 'target'] succeeded"
req GET "/runs/$run1/quality"; expect 200
jexpect 'd["quality_score"], d["checks"]["src"]["checks"][0]["type"], len(d["scores"]) >= 1' "100.0 completeness True"
req GET /runs/99999999; problem_is 404
req GET /runs/abc/status; problem_is 404
req GET /pipelines/api_orders/sla; expect 200
jexpect 'sorted(set(r["sla_type"] for r in d["report"])), len(d["history"]) >= 2' "['duration', 'quality'] True"
req GET /pipelines/api_orders/lineage
if [ "$code" = 501 ]; then
    problem_is 501; echo "lineage: not available in this build (etl.lineage missing)"
else
    expect 200; jexpect 'd["available"], isinstance(d["edges"], list)' "True True"
fi
req POST /pipelines/api_orders/execute -d '{"wait": "yes"}'; problem_is 422
req POST /pipelines/api_orders/execute -d '{"wait": false, "priority": 1}'; problem_is 422
jexpect 'd["detail"]' 'unknown key "priority": the body takes "params" and "wait"'
req POST /pipelines/api_orders/execute -d '{"params": [1]}'; problem_is 422
req POST /pipelines/api_orders/execute -d '{oops'; problem_is 422; jexpect 'd["sqlstate"]' 22P02
req POST /pipelines/api_nothing/execute; problem_is 404

echo "== cancel"
req POST /pipelines/api_slow/execute -d '{"wait": false}'; expect 202
slow=$(j 'd["run_id"]')
sleep 0.5
req POST "/runs/$slow/cancel"; expect 202; jexpect 'd["cancel_requested"], d["run_id"]' "True $slow"
for _ in $(seq 1 100); do
    req GET "/runs/$slow/status" >/dev/null; st=$(j 'd["status"]')
    [ "$st" = cancelled ] && break
    sleep 0.1
done
[ "$st" = cancelled ] || fail "run $slow is $st"
req POST "/runs/$slow/cancel"; problem_is 409
req POST /runs/99999999/cancel; problem_is 404

echo "== alerts"
alert=$(psql_pg -d "$PGDATABASE" -At -c "SELECT etl.raise_alert('pipeline_failure', 'high', 'api test alert', 'api_orders')")
req GET "/alerts?pipeline_id=api_orders"; expect 200; jexpect '[(a["alert_id"], a["status"]) for a in d]' "[($alert, 'open')]"
req POST "/alerts/$alert/acknowledge"; expect 200
jexpect 'd["status"], d["acknowledged_by"] in ("api_server", "api_alice")' "acknowledged True"
req POST "/alerts/$alert/acknowledge"; problem_is 409
req GET "/alerts?status=open&pipeline_id=api_orders"; expect 200; jexpect 'len(d)' 0
req GET "/alerts?status=bogus"; problem_is 422
req POST "/alerts/$alert/resolve"; expect 200; jexpect 'd["status"]' resolved
req POST /alerts/99999999/acknowledge; problem_is 404

echo "== metrics (Prometheus text format)"
req GET /metrics; expect 200
grep -qi '^content-type: text/plain; version=0.0.4' "$dir/headers" || fail "metrics content type"
cp "$dir/body" "$dir/metrics.txt"
$PY - "$dir/metrics.txt" "$run1" <<'PY' || fail "metrics do not parse"
import re, sys
text = open(sys.argv[1]).read()
sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*"(,[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*")*)?\})? (-?[0-9.]+(e[-+]?[0-9]+)?|NaN|[+-]Inf)$')
families, types, values = {}, {}, {}
current = None
for line in text.splitlines():
    if line.startswith("# HELP "):
        current = line.split()[2]
        assert current not in families, "family %s twice" % current
        families[current] = []
    elif line.startswith("# TYPE "):
        name, typ = line.split()[2:4]
        assert name == current, "TYPE of %s after HELP of %s" % (name, current)
        types[name] = typ
    else:
        m = sample.match(line)
        assert m, "bad sample line: %r" % line
        name = m.group(1)
        base = re.sub(r'_(bucket|sum|count)$', '', name) if types.get(current) == "histogram" else name
        assert base == current, "sample %s outside its family %s" % (name, current)
        families[current].append(line)
        values[name + (m.group(2) or "")] = float(m.group(7).replace("+Inf", "inf"))
need = {"metaetl_runs_total": "counter", "metaetl_run_duration_seconds": "histogram",
        "metaetl_quality_score": "gauge", "metaetl_sla_breaches_total": "counter",
        "metaetl_queue_depth": "gauge", "metaetl_executors": "gauge",
        "metaetl_alert_delivery_backlog": "gauge", "metaetl_api_requests_total": "counter"}
for n, t in need.items():
    assert types.get(n) == t, "%s is %s, not %s" % (n, types.get(n), t)
assert values['metaetl_runs_total{pipeline_id="api_orders",status="succeeded"}'] == 3
assert values['metaetl_runs_total{pipeline_id="api_slow",status="cancelled"}'] == 1
buckets = [(l, v) for l, v in values.items() if l.startswith('metaetl_run_duration_seconds_bucket{pipeline_id="api_orders"')]
counts = [v for _, v in buckets]
assert counts == sorted(counts), "buckets are not cumulative"
assert values['metaetl_run_duration_seconds_bucket{pipeline_id="api_orders",le="+Inf"}'] == \
       values['metaetl_run_duration_seconds_count{pipeline_id="api_orders"}'] == 3
assert values['metaetl_quality_score{pipeline_id="api_orders"}'] == 100
for s in ("busy", "idle", "starting"):
    assert 'metaetl_executors{state="%s"}' % s in values
for s in ("queued", "waiting", "claimed"):
    assert 'metaetl_queue_depth{state="%s"}' % s in values
assert values['metaetl_api_requests_total{code="2xx"}'] > 10
print("metrics ok: %d families, %d samples" % (len(families), sum(len(v) for v in families.values())))
PY

echo "== other roles: bob sees nothing of alice's"
TOKEN=$T_BOB
req GET /pipelines; expect 200; jexpect 'd' '[]'
req GET /pipelines/api_orders; problem_is 404
req POST /pipelines/api_orders/execute; problem_is 404
req GET "/runs/$run1"; problem_is 404
req POST "/runs/$slow/cancel"; problem_is 404
req DELETE /pipelines/api_orders; problem_is 404
req PUT /pipelines/api_orders -H 'Content-Type: application/yaml' --data-binary @"$dir/orders.yaml"
[ "$code" = 403 ] || [ "$code" = 409 ] || [ "$code" = 422 ] || fail "bob overwrote alice's pipeline ($code)"
v=$(psql_pg -d "$PGDATABASE" -At -c "SELECT owner || ' ' || current_version FROM etl.pipelines WHERE pipeline_id = 'api_orders'")
[ "$v" = "api_alice 2" ] || fail "alice's pipeline changed: $v"
req GET /metrics; expect 200
grep -q 'api_orders' "$dir/body" && fail "bob's metrics show alice's pipeline"
# ids are parameters, never SQL
req GET "/pipelines/x%27%3BDROP%20TABLE%20public.api_canary%3B--"; problem_is 404
psql_pg -d "$PGDATABASE" -At -c "SELECT 'canary: ' || count(*) FROM public.api_canary"

echo "== 403: a viewer may not execute"
TOKEN=$T_VIEWER
req POST /pipelines/api_orders/execute
if [ "$viewer_role" = etl_viewer ]; then
    problem_is 403
else
    # before issue 12's roles: a plain role cannot even see the pipeline
    problem_is 404
    echo "etl_viewer does not exist yet: refused with 404 (the role cannot see the pipeline)"
fi
n=$(psql_pg -d "$PGDATABASE" -At -c "SELECT count(*) FROM etl.pipeline_runs WHERE run_as = 'api_viewer'")
[ "$n" = 0 ] || fail "the viewer started a run"
echo "== 403: the server may not act as a role no longer granted to etl_api"
psql_pg -d "$PGDATABASE" -c 'REVOKE api_bob FROM etl_api' >/dev/null
TOKEN=$T_BOB
req GET /pipelines; problem_is 403; jexpect 'd["detail"]' "the API server may not act as the token's role"
psql_pg -d "$PGDATABASE" -c 'GRANT api_bob TO etl_api' >/dev/null
req GET /pipelines; expect 200

echo "== a revoked token stops working (after the 1 s token cache)"
TOKEN=$T_VIEWER
req GET /runs; expect 200
psql_pg -d "$PGDATABASE" -At -c \
    "SELECT etl.revoke_api_token(token_id) FROM etl.api_tokens WHERE role_name = 'api_viewer'" >/dev/null
sleep 1.2
req GET /runs; problem_is 401; jexpect 'd["detail"]' "the bearer token was revoked"

echo "== 504 and 503: a statement held up by a lock, and a pool with no free connection"
P2=$(metaetl_free_port)
start_api "$P2" --pool-size 1 --pool-timeout 1 --statement-timeout 2 --no-access-log
small_pid=$api_pid
# a request whose last statement fails after an earlier one set the role
# (lineage of a pipeline whose table is gone): the one pooled connection
# must go back as the server's role, or the next token's lookup runs as
# alice ("permission denied for function api_token_role")
as_pg "$PGBIN/psql" -X -q -At -h "$PGHOST" -p "$PGPORT" -U api_alice -d "$PGDATABASE" -c \
    "SELECT etl.register_pipeline('pipeline: {id: api_ghost, sources: [{id: s, type: postgresql, table: api_alice.not_there}], targets: [{id: t, type: postgresql, table: api_alice.ghost}]}')" >/dev/null
c=$(curl -s -o "$dir/bghost" -w '%{http_code}' -H "Authorization: Bearer $T_ALICE" "http://127.0.0.1:$P2/api/v1/pipelines/api_ghost/lineage")
case "$c" in 4*|5*) ;; *) fail "lineage of a pipeline whose table is gone answered $c" ;; esac
c=$(curl -s -o "$dir/bnext" -w '%{http_code}' -H "Authorization: Bearer $T_BOB" "http://127.0.0.1:$P2/api/v1/runs")
[ "$c" = 200 ] || fail "the request after a failed last statement: $c $(cat "$dir/bnext")"
echo "after a failed last statement, another token's request: $c"
# the one connection prepared GET /pipelines's statements as alice's and bob's
# requests used it in turn: each answer is still its own role's (the role
# is set per statement, as a parameter; the prepared plan is not the role's)
for who in ALICE BOB ALICE BOB; do
    tok=T_$who
    c=$(curl -s -o "$dir/bturn" -w '%{http_code}' -H "Authorization: Bearer ${!tok}" "http://127.0.0.1:$P2/api/v1/pipelines")
    [ "$c" = 200 ] || fail "pipelines as $who on the reused connection: $c"
    role=api_$(echo "$who" | tr A-Z a-z)
    got=$(/usr/bin/python3 -c 'import json,sys; print(" ".join(sorted({p["owner"] for p in json.load(open(sys.argv[1]))})))' "$dir/bturn")
    case "$who:$got" in
        ALICE:api_alice|BOB:api_bob|BOB:) ;;
        *) fail "GET /pipelines as $role on the reused connection lists pipelines of: '$got'" ;;
    esac
done
echo "one pooled connection, alice and bob in turn: each sees only its own pipelines"
psql_pg -d "$PGDATABASE" -c "BEGIN; LOCK TABLE etl.pipelines; SELECT pg_sleep(3); COMMIT;" >/dev/null &
locker=$!
sleep 0.3
TOKEN=$T_ALICE
curl -s -o "$dir/b504" -w '%{http_code}' -H "Authorization: Bearer $T_ALICE" "http://127.0.0.1:$P2/api/v1/pipelines" >"$dir/c504" &
slowreq=$!
sleep 0.3
c503=$(curl -s -o "$dir/b503" -D "$dir/h503" -w '%{http_code}' -H "Authorization: Bearer $T_ALICE" "http://127.0.0.1:$P2/api/v1/runs")
wait "$slowreq"
c504=$(cat "$dir/c504")
echo "held request: $c504; the one waiting for the pool: $c503"
[ "$c504" = 504 ] || fail "expected 504, got $c504: $(cat "$dir/b504")"
[ "$c503" = 503 ] || fail "expected 503, got $c503: $(cat "$dir/b503")"
grep -qi '^retry-after: 1' "$dir/h503" || fail "no Retry-After"
wait "$locker" || true
kill "$small_pid"; wait "$small_pid" || true

echo "== TLS"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=127.0.0.1" \
    -addext "subjectAltName = IP:127.0.0.1" -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
P3=$(metaetl_free_port)
start_api "$P3" --tls-cert "$dir/cert.pem" --tls-key "$dir/key.pem"
tls_pid=$api_pid
c=$(curl -s --cacert "$dir/cert.pem" -o "$dir/body" -w '%{http_code}' -H "Authorization: Bearer $T_ALICE" \
    "https://127.0.0.1:$P3/api/v1/pipelines")
[ "$c" = 200 ] || fail "HTTPS request: $c"
# started without --pool-size: twice the CPU cores, at least 2
c=$(curl -s --cacert "$dir/cert.pem" -o "$dir/health_tls" -w '%{http_code}' "https://127.0.0.1:$P3/api/v1/health")
want_pool=$(( $(nproc) * 2 )); [ "$want_pool" -ge 2 ] || want_pool=2
got_pool=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["api"]["pool_size"])' "$dir/health_tls")
[ "$c" = 200 ] && [ "$got_pool" = "$want_pool" ] || fail "default pool size: $c, $got_pool (want $want_pool)"
echo "default pool: twice the cores"
j 'sorted(p["pipeline_id"] for p in d)'
if curl -s -m 5 -o /dev/null "http://127.0.0.1:$P3/api/v1/health"; then fail "plain HTTP answered on the TLS port"; fi
kill "$tls_pid"; wait "$tls_pid" || true

echo "== SIGTERM lets a request in flight finish"
curl -s -o "$dir/inflight" -w '%{http_code}' -X POST -H "Authorization: Bearer $T_ALICE" \
    "$BASE/pipelines/api_slow/execute" >"$dir/inflight.code" &
inflight=$!
sleep 1
kill -TERM "$main_pid"
sleep 0.3
if curl -s -m 2 -o /dev/null "$BASE/health"; then fail "new connections accepted after SIGTERM"; fi
wait "$inflight" || true
echo "request in flight answered $(cat "$dir/inflight.code"): $(head -c 120 "$dir/inflight")"
[ "$(cat "$dir/inflight.code")" = 200 ] || fail "the request in flight was cut off"
grep -q '"status": "succeeded"' "$dir/inflight" || fail "the run did not finish"
rc=0; wait "$main_pid" || rc=$?
[ "$rc" = 0 ] || fail "metaetl-api exited $rc after SIGTERM"
grep -q 'SIGTERM: shutting down, 1 requests in flight' "$dir/api-$PORT.log" || fail "no shutdown message"
tail -n 2 "$dir/api-$PORT.log"

echo "== no token in any log or table"
for t in "$T_ALICE" "$T_BOB" "$T_VIEWER"; do
    if grep -rqF -- "$t" "$dir"/api-*.log "$WORK/postgres.log"; then fail "a token is in a log"; fi
    hits=$(psql_pg -d "$PGDATABASE" -At -c \
        "SELECT count(*) FROM etl.audit_log a WHERE a::text LIKE '%' || '${t:8:24}' || '%'")
    [ "$hits" = 0 ] || fail "a token is in the audit log"
done
audits=$(psql_pg -d "$PGDATABASE" -At -c "SELECT count(*) FROM etl.audit_log WHERE object_type = 'api_token'")
echo "api_token audit rows: $audits"

echo "== cleanup"
psql_pg -d "$PGDATABASE" <<'SQL' >/dev/null
SELECT etl.drop_pipeline(pipeline_id) FROM etl.pipelines WHERE owner = 'api_alice';
DROP SCHEMA api_alice CASCADE;
DELETE FROM etl.api_tokens WHERE role_name IN ('api_alice', 'api_bob', 'api_viewer');
SQL
echo "api ok"
