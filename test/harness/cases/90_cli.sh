# case 90_cli: the metaetl command-line client, run as a user would run it
# against the throwaway cluster — every command, each exit code (0 success,
# 1 run or validation failed, 2 usage, 3 cannot connect), the progress output
# of a real run (on a pipe and on a terminal), and as plain LOGIN roles that
# see only their own pipelines.  Parameters travel as libpq parameters: an id
# made of SQL stays a (nonexistent) id.
set -euo pipefail
M=$PGBIN/metaetl
[ -x "$M" ] || { echo "metaetl is not installed in $PGBIN"; exit 1; }
dir=$WORK/cli
mkdir -p "$dir"

psql_pg -d "$PGDATABASE" <<'SQL' >/dev/null
CREATE ROLE cli_alice LOGIN;
CREATE ROLE cli_bob LOGIN;
CREATE SCHEMA cli_alice AUTHORIZATION cli_alice;
CREATE TABLE public.cli_canary (x int);
SQL
trap 'psql_pg -d "$PGDATABASE" -c "DROP TABLE IF EXISTS public.cli_canary" >/dev/null 2>&1 || true' EXIT

# run_cli ARGS...: runs metaetl as $CLI_USER; sets rc, out (stdout), err (stderr)
CLI_USER=cli_alice
run_cli() {
    rc=0
    PGUSER=$CLI_USER "$M" "$@" >"$dir/out" 2>"$dir/err" || rc=$?
    out=$(cat "$dir/out")
    err=$(cat "$dir/err")
    printf '$ metaetl %s   (as %s, exit %d)\n' "$*" "$CLI_USER" "$rc"
    sed 's/^/  | /' "$dir/out" "$dir/err"
}
fail() { echo "FAILED: $*"; exit 1; }
expect_rc() { [ "$rc" -eq "$1" ] || fail "expected exit $1, got $rc"; }
expect_out() { grep -Eq -- "$1" "$dir/out" || fail "stdout lacks /$1/"; }
expect_err() { grep -Eq -- "$1" "$dir/err" || fail "stderr lacks /$1/"; }
expect_json() { /usr/bin/python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$dir/out" || fail "stdout is not JSON"; }
jq_py() { /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$dir/out"; }

cat >"$dir/good.yaml" <<'YAML'
pipeline:
  id: cli_good
  name: CLI good
  params: { tag: none }
  sources:
    - id: src
      type: postgresql
      query: "SELECT g AS id, '{{param.tag}}'::text AS tag FROM generate_series(1, 5) AS g"
  targets:
    - id: out
      type: postgresql
      table: cli_alice.good_out
YAML
# about 3 s: the source sleeps 10 ms per row
cat >"$dir/slow.yaml" <<'YAML'
pipeline:
  id: cli_slow
  name: CLI slow
  sources:
    - id: src
      type: postgresql
      query: "SELECT g AS id, g % 7 AS k FROM generate_series(1, 300) AS g WHERE pg_sleep(0.01 + g * 0) IS NOT NULL"
  transforms:
    - id: keep
      type: filter
      params: { condition: "k > 0" }
  targets:
    - id: out
      type: postgresql
      table: cli_alice.slow_out
YAML
cat >"$dir/fails.yaml" <<'YAML'
pipeline:
  id: cli_fails
  name: CLI fails
  sources:
    - id: src
      type: postgresql
      query: "SELECT 1 / (g - g) AS boom FROM generate_series(1, 3) AS g"
  targets:
    - id: out
      type: postgresql
      table: cli_alice.fails_out
YAML
cat >"$dir/bad.yaml" <<'YAML'
pipeline:
  id: Cli-Bad
  name: bad
  sources:
    - id: src
      type: postgresql
      table: cli_alice.nothing
YAML

echo "== usage errors exit 2"
run_cli --help; expect_rc 0; expect_out 'execute --pipeline-id ID'
run_cli; expect_rc 2
run_cli frobnicate; expect_rc 2; expect_err 'unknown command "frobnicate"'
run_cli runs --bogus; expect_rc 2; expect_err 'unknown option "--bogus"'
run_cli execute; expect_rc 2; expect_err 'execute needs --pipeline-id'
run_cli runs --timezone UTC; expect_rc 2; expect_err '--timezone is not an option of runs'
run_cli logs abc; expect_rc 2; expect_err 'RUN_ID must be a positive integer'
run_cli execute --pipeline-id cli_good --param novalue; expect_rc 2; expect_err 'KEY=VALUE'
run_cli runs --limit 0; expect_rc 2
run_cli schedule cli_good; expect_rc 2
run_cli validate --config-file "$dir/missing.yaml"; expect_rc 2; expect_err 'cannot read'
run_cli --version; expect_rc 0; expect_out '^metaetl \(metaetl\) [0-9]'

echo "== cannot connect exits 3"
closed=$(metaetl_free_port)
run_cli --dsn "host=127.0.0.1 port=$closed connect_timeout=5" status; expect_rc 3; expect_err 'cannot connect'
run_cli --dsn "postgresql://cli_nobody@/$PGDATABASE?host=$PGHOST&port=$PGPORT" list-pipelines
expect_rc 3; expect_err 'cli_nobody'

echo "== validate: the file is read by the client and sent as text"
chmod 600 "$dir"/*.yaml     # the server could not read it itself
run_cli validate --config-file "$dir/good.yaml"; expect_rc 0; expect_out 'good.yaml: valid'
run_cli validate --config-file "$dir/bad.yaml"; expect_rc 1
expect_out 'bad.yaml:2:[0-9]+: error: pipeline.id: "Cli-Bad" is not a valid id'
expect_out 'required key "targets" is missing'
run_cli --json validate --config-file "$dir/bad.yaml"; expect_rc 1; expect_json
[ "$(jq_py 'd["valid"], d["errors"] >= 2, d["problems"][0]["line"] is not None')" = "False True True" ] ||
    fail "validate --json"
run_cli validate --config-file - <"$dir/good.yaml"; expect_rc 0; expect_out '^-: valid'

echo "== apply registers each file"
run_cli apply "$dir/good.yaml" "$dir/slow.yaml" "$dir/fails.yaml"; expect_rc 0
expect_out 'good.yaml: pipeline cli_good version 1 \(registered\)'
expect_out 'slow.yaml: pipeline cli_slow version 1 \(registered\)'
run_cli --json apply "$dir/good.yaml"; expect_rc 0; expect_json
[ "$(jq_py 'd[0]["pipeline_id"], d[0]["version"], d[0]["changed"]')" = "cli_good 1 False" ] || fail "apply --json"
run_cli apply "$dir/bad.yaml" "$dir/good.yaml"; expect_rc 1
expect_err 'not applied'; expect_out 'cli_good version 1 \(unchanged\)'
expect_err 'pipeline configuration has [0-9]+ errors \(SQLSTATE 22023\)'
run_cli --json apply "$dir/bad.yaml" "$dir/missing.yaml"; expect_rc 2; expect_json
[ "$(jq_py '[("error" in f) for f in d]')" = "[True, True]" ] || fail "apply --json errors"
n=$(psql_pg -d "$PGDATABASE" -At -c "SELECT count(*) FROM etl.pipelines WHERE pipeline_id ILIKE 'cli%bad'")
[ "$n" = 0 ] || fail "a bad config was registered"

echo "== list-pipelines"
run_cli list-pipelines; expect_rc 0
expect_out '^cli_fails +CLI fails +1 +cli_alice'; expect_out '^cli_slow '; expect_out '\(3 rows\)'
run_cli --json list-pipelines; expect_rc 0; expect_json
[ "$(jq_py 'sorted(p["pipeline_id"] for p in d)')" = "['cli_fails', 'cli_good', 'cli_slow']" ] || fail "list --json"

echo "== execute: a run with parameters"
run_cli execute --pipeline-id cli_good --param tag="it's me"; expect_rc 0
expect_out '^run [0-9]+ of cli_good \(version 1\): succeeded in'; expect_out 'rows written +5'
tag=$(psql_pg -d "$PGDATABASE" -At -c "SELECT DISTINCT tag FROM cli_alice.good_out")
[ "$tag" = "it's me" ] || fail "param tag is [$tag]"
trig=$(psql_pg -d "$PGDATABASE" -At -c \
    "SELECT trigger || ' ' || triggered_by || ' ' || (params->>'tag') FROM etl.pipeline_runs WHERE pipeline_id = 'cli_good'")
[ "$trig" = "cli cli_alice it's me" ] || fail "run record: $trig"
run_cli --json execute --pipeline-id cli_good --param tag=x; expect_rc 0; expect_json
[ "$(jq_py 'd["status"], d["rows_written"], isinstance(d["run_id"], int)')" = "succeeded 5 True" ] || fail "execute --json"

echo "== execute: progress of a real run, on a pipe"
start=$(date +%s.%N)
run_cli execute --pipeline-id cli_slow --interval 0.1; expect_rc 0
expect_out 'cli_slow \(version 1\): succeeded'; expect_out 'rows written +258'
lines=$(grep -c '^progress: ' "$dir/out" || true)
[ "$lines" -ge 2 ] || fail "expected progress lines, got $lines"
if grep -q $'\r' "$dir/out"; then fail "a carriage return on a pipe"; fi
# with etl.run_status()->'progress' the lines name the phase and step;
# without it they give the status and the time since the run started
first=$(grep -m1 '^progress: ' "$dir/out")
case "$first" in
    "progress: running, "*) echo "progress without phases (run_status has no progress key): $first" ;;
    *) echo "progress with phases: $first" ;;
esac

echo "== execute: progress on a terminal (a bar once the pipeline has a history)"
script -qfec "env PGUSER=cli_alice $M execute --pipeline-id cli_slow --interval 0.1" "$dir/tty.out" >/dev/null
tr '\r' '\n' <"$dir/tty.out" | sed 's/\x1b\[K//g' >"$dir/tty.txt"
grep -Eq '^\[[#-]{20}\] +[0-9]+%  ' "$dir/tty.txt" || fail "no progress bar on a terminal"
grep -q 'succeeded in' "$dir/tty.txt" || fail "no summary on a terminal"
grep -Em3 '^\[' "$dir/tty.txt" | sed 's/^/  tty| /'

echo "== execute: a failing run exits 1 with its error"
run_cli execute --pipeline-id cli_fails; expect_rc 1
expect_out 'cli_fails \(version 1\): failed'; expect_out 'error +division by zero \(SQLSTATE 22012\)'
run_cli execute --pipeline-id cli_nothing; expect_rc 1; expect_err 'pipeline "cli_nothing" does not exist'

echo "== execute --no-wait, cancel, logs"
run_cli execute --pipeline-id cli_slow --no-wait; expect_rc 0
expect_out 'cli_slow \(version 1\): (running|queued)'
slow_run=$(sed -n 's/^run \([0-9]*\) of.*/\1/p' "$dir/out")
sleep 0.5
run_cli cancel "$slow_run"; expect_rc 0; expect_out "run $slow_run: cancel requested"
for _ in $(seq 1 100); do
    st=$(psql_pg -d "$PGDATABASE" -At -c "SELECT status FROM etl.pipeline_runs WHERE run_id = $slow_run")
    [ "$st" = cancelled ] && break
    sleep 0.1
done
[ "$st" = cancelled ] || fail "run $slow_run is $st"
run_cli cancel "$slow_run"; expect_rc 1; expect_err "run $slow_run is not running \(status cancelled\)"
run_cli cancel 99999999; expect_rc 1; expect_err 'run 99999999 does not exist'
run_cli logs "$slow_run"; expect_rc 0
expect_out "run $slow_run of cli_slow \(version 1\): cancelled"; expect_out '^attempts'
expect_out ' +1 +cancelled'
fail_run=$(psql_pg -d "$PGDATABASE" -At -c "SELECT max(run_id) FROM etl.pipeline_runs WHERE pipeline_id = 'cli_fails'")
run_cli logs "$fail_run"; expect_rc 0; expect_out 'failed +permanent +22012 +division by zero'
run_cli --json logs "$fail_run"; expect_rc 0; expect_json
[ "$(jq_py 'd["run"]["status"], d["attempts"][0]["error_sqlstate"]')" = "failed 22012" ] || fail "logs --json"
run_cli logs 99999999; expect_rc 1; expect_err 'run 99999999 does not exist'

echo "== runs"
run_cli runs --pipeline-id cli_slow; expect_rc 0
expect_out "^ *$slow_run +cli_slow +cancelled +cli +cli_alice"; expect_out '\(3 rows\)'
run_cli runs --limit 2; expect_rc 0; expect_out '\(2 rows\)'
run_cli --json runs --pipeline-id cli_good; expect_rc 0; expect_json
[ "$(jq_py 'len(d), d[0]["status"], d[0]["rows_written"]')" = "2 succeeded 5" ] || fail "runs --json"
run_cli runs --pipeline-id cli_nothing; expect_rc 1; expect_err 'pipeline "cli_nothing" does not exist'

echo "== schedule"
run_cli schedule cli_good '*/5 * * * *' --timezone Europe/Berlin; expect_rc 0
expect_out 'pipeline cli_good scheduled: "\*/5 \* \* \* \*" \(Europe/Berlin\); next runs 20'
run_cli --json schedule cli_good '0 3 * * *'; expect_rc 0; expect_json
[ "$(jq_py 'd["cron"], d["timezone"], len(d["next_runs"])')" = "0 3 * * * UTC 3" ] || fail "schedule --json"
run_cli schedule cli_good 'every tuesday'; expect_rc 1; expect_err 'SQLSTATE 22023'
run_cli schedule cli_good '0 3 * * *' --timezone Mars/Olympus; expect_rc 1; expect_err 'unknown time zone "Mars/Olympus"'
run_cli list-pipelines; expect_out '^cli_good .* 0 3 \* \* \* +succeeded'
psql_pg -d "$PGDATABASE" -c "SELECT etl.unschedule_pipeline('cli_good')" >/dev/null

echo "== status"
run_cli status; expect_rc 0
expect_out '^metaetl [0-9.]+ on PostgreSQL .*as role cli_alice'; expect_out '^scheduler +running'
run_cli --json status; expect_rc 0; expect_json
[ "$(jq_py '"extension_version" in d["health"], "executors" in d["scheduler"], d["runs_last_24h"].get("cancelled")')" = "True True 1" ] ||
    fail "status --json"

echo "== another role sees none of it"
CLI_USER=cli_bob
run_cli list-pipelines; expect_rc 0; expect_out '\(0 rows\)'
run_cli logs "$slow_run"; expect_rc 1; expect_err "run $slow_run does not exist"
run_cli execute --pipeline-id cli_good; expect_rc 1; expect_err 'does not exist'
run_cli cancel "$slow_run"; expect_rc 1; expect_err 'does not exist'
run_cli schedule cli_good '0 4 * * *'; expect_rc 1

echo "== parameters are never SQL"
CLI_USER=cli_alice
run_cli execute --pipeline-id "x'); DROP TABLE public.cli_canary; --"; expect_rc 1; expect_err 'does not exist'
run_cli runs --pipeline-id "' OR true --"; expect_rc 1
psql_pg -d "$PGDATABASE" -At -c "SELECT 'canary still there: ' || count(*) FROM public.cli_canary"

echo "== cleanup"
psql_pg -d "$PGDATABASE" <<'SQL' >/dev/null
SELECT etl.drop_pipeline(p) FROM unnest(ARRAY['cli_good', 'cli_slow', 'cli_fails']) AS p;
DROP SCHEMA cli_alice CASCADE;
SQL
psql_pg -d "$PGDATABASE" -c 'DROP ROLE cli_alice' -c 'DROP ROLE cli_bob' >/dev/null 2>&1 || true
echo "cli ok"
