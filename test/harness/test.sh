#!/usr/bin/env bash
# test/harness/test.sh — `make test`: packages, build, C unit tests, a
# throwaway cluster, pg_regress (plain SQL and pgTAP) and the harness cases
# that restart the server.  Ends with the line "N passed, N failed".
#
# METAETL_KEEP=1 keeps the run directory; TESTS="01_install 02_health" runs
# only those pg_regress tests (and no harness case); CASES="30_abandoned_run"
# runs only those harness cases.

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

passed=0
failed=0
failures=()

metaetl_deps
metaetl_workdir
trap metaetl_cleanup EXIT
metaetl_private_pg
metaetl_build

# --- C unit tests of the pure-C modules -----------------------------------
log "C unit tests"
unit_out=$WORK/unit.out
if bash "$REPO/test/harness/unit.sh" "$WORK/unit" >"$unit_out" 2>&1; then :; fi
cat "$unit_out"
u_ok=$(grep -cE '^ok ' "$unit_out" || true)
u_bad=$(grep -cE '^not ok |^BUILD FAILED' "$unit_out" || true)
passed=$((passed + u_ok))
failed=$((failed + u_bad))
[ "$u_bad" -eq 0 ] || failures+=("unit tests")

# --- cluster and pg_regress ------------------------------------------------
DB=metaetl_regress
metaetl_cluster_init "$DB"
metaetl_cluster_start
as_pg "$PGBIN/createdb" -h "$PGHOST" -p "$PGPORT" -U postgres "$DB"
# remote databases, object stores and HTTP fixtures (test/harness/servers/)
metaetl_servers_start

suite=$WORK/suite
mkdir -p "$suite"
cp -r "$REPO/test" "$suite/test"
cp -r "$REPO/expected" "$suite/expected"
[ "$(id -u)" -eq 0 ] && chown -R postgres: "$suite"

# CASES="30_abandoned_run" runs only those harness cases (after 01_install)
[ -n "${CASES:-}" ] && [ -z "${TESTS:-}" ] && TESTS=01_install
if [ -n "${TESTS:-}" ]; then
    read -r -a tests <<<"$TESTS"
    # every other test needs the extension that 01_install creates
    [[ " ${tests[*]} " == *" 01_install "* ]] || tests=(01_install "${tests[@]}")
else
    tests=()
    for f in "$REPO"/test/sql/*.sql; do tests+=("$(basename "$f" .sql)"); done
fi

log "pg_regress: ${#tests[@]} tests on port $PGPORT"
regress_out=$WORK/regress.out
pg_regress=$($PG_CONFIG --pkglibdir)/pgxs/src/test/regress/pg_regress
set +e
(cd "$suite" && as_pg "$pg_regress" --inputdir="$suite/test" --outputdir="$suite" \
    --bindir="$PGBIN" --host="$PGHOST" --port="$PGPORT" --user=postgres \
    --use-existing --dbname="$DB" "${tests[@]}") >"$regress_out" 2>&1
set -e
cat "$regress_out"
r_ok=$(grep -cE '^(test )? *[^ ]+ +\.\.\. ok' "$regress_out" || true)
r_bad=$(grep -cE '^(test )? *[^ ]+ +\.\.\. (FAILED|failed)' "$regress_out" || true)
if [ $((r_ok + r_bad)) -ne ${#tests[@]} ]; then
    # pg_regress itself failed (could not connect, crashed server, ...)
    r_bad=$(( ${#tests[@]} - r_ok ))
fi
passed=$((passed + r_ok))
failed=$((failed + r_bad))
if [ "$r_bad" -ne 0 ]; then
    failures+=("pg_regress")
    [ -f "$suite/regression.diffs" ] && { echo "---- regression.diffs ----"; cat "$suite/regression.diffs"; }
    echo "---- server log (last 60 lines) ----"; tail -n 60 "$WORK/postgres.log"
fi

# --- harness cases: scenarios pg_regress cannot express (restarts, ...) ----
if [ -z "${TESTS:-}" ] || [ -n "${CASES:-}" ]; then
    for case in "$REPO"/test/harness/cases/*.sh; do
        [ -e "$case" ] || continue
        name=$(basename "$case" .sh)
        [ -z "${CASES:-}" ] || [[ " $CASES " == *" $name "* ]] || continue
        # each case runs in a bash of its own so that its `set -e` holds
        # (errexit is ignored for anything run inside an `if` condition)
        if bash -c 'source "$1"; set -euo pipefail; source "$2"' _ \
                "$REPO/test/harness/common.sh" "$case" >"$WORK/case-$name.out" 2>&1; then
            echo "case $name ... ok"
            passed=$((passed + 1))
        else
            echo "case $name ... FAILED"
            cat "$WORK/case-$name.out"
            failed=$((failed + 1))
            failures+=("case $name")
        fi
    done
fi

metaetl_cluster_stop
[ ${#failures[@]} -eq 0 ] || echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
