# case 93_docs: the examples of docs/cli.md and docs/rest-api.md run as
# written, in order, in a fresh database: their ```sql blocks with psql, then
# their ```sh blocks with bash (the programs and psql on PATH, the PG*
# variables pointing at the database, port 8080 replaced by a free one), and
# the output shows what the pages say.
set -euo pipefail
fail() { echo "FAILED: $*"; exit 1; }
dir=$WORK/docs93
mkdir -p "$dir"
DOCDB=metaetl_docs93
psql_pg -d postgres -c "DROP DATABASE IF EXISTS $DOCDB" -c "CREATE DATABASE $DOCDB" >/dev/null
psql_pg -d "$DOCDB" -c 'CREATE EXTENSION metaetl' >/dev/null
trap 'kill $(jobs -p) 2>/dev/null || true; psql_pg -d postgres -c "DROP DATABASE IF EXISTS '"$DOCDB"' WITH (FORCE)" >/dev/null 2>&1 || true' EXIT

# blocks PAGE LANG: the page's fenced blocks of that language, in order
blocks() {
    awk -v lang="$2" '
        /^```/ { if (inb) { inb = 0; print ""; next } if ($0 == "```" lang) { inb = 1; next } }
        inb { print }' "$REPO/docs/$1"
}

run_page() {   # PAGE: sql blocks, then sh blocks; output in $dir/PAGE.out
    local page=$1 port
    port=$(metaetl_free_port)
    blocks "$page" sql >"$dir/$page.sql"
    blocks "$page" sh | sed "s/8080/$port/g" >"$dir/$page.sh"
    chmod 644 "$dir/$page.sql"
    : >"$dir/$page.out"
    if [ -s "$dir/$page.sql" ]; then
        psql_pg -d "$DOCDB" -f "$dir/$page.sql" >>"$dir/$page.out" 2>&1 || { cat "$dir/$page.out"; fail "$page: SQL examples"; }
    fi
    (cd "$dir" && env PATH="$PGBIN:$PATH" PGHOST="$PGHOST" PGPORT="$PGPORT" PGDATABASE="$DOCDB" PGUSER=postgres \
        bash -e "$dir/$page.sh") >>"$dir/$page.out" 2>&1 || { cat "$dir/$page.out"; fail "$page: shell examples"; }
    echo "---- $page: $(grep -c . "$dir/$page.sql") SQL lines, $(grep -c . "$dir/$page.sh") shell lines"
    cat "$dir/$page.out"
}
check() { grep -Eq -- "$2" "$dir/$1.out" || fail "$1: the output lacks /$2/"; }

run_page cli.md
check cli.md '^metaetl \(metaetl\) [0-9.]+$'
check cli.md '^hello.yaml: valid$'
check cli.md '^hello.yaml: pipeline hello_cli version 1 \(registered\)$'
check cli.md '^hello_cli +Hello from the CLI +1 +postgres'
check cli.md '^run [0-9]+ of hello_cli \(version 1\): succeeded in'
check cli.md 'rows written +5$'
check cli.md 'broken.yaml:2:7: error: pipeline.id: "Broken-Pipeline" is not a valid id'
check cli.md '^exit status 1$'
check cli.md '^attempts$'
check cli.md 'not running any more \(exit status 1\)'
check cli.md 'pipeline hello_cli scheduled: "30 6 \* \* 1-5" \(Europe/Berlin\)'
check cli.md '^scheduler '
greeting=$(psql_pg -d "$DOCDB" -At -c "SELECT string_agg(DISTINCT greeting, ',') FROM public.hello_cli")
[ "$greeting" = hey ] || [ "$greeting" = hi ] || fail "hello_cli holds greeting [$greeting]"

run_page rest-api.md
check rest-api.md '^ token_length $|^ +72$'
check rest-api.md '"status": "ok"'
check rest-api.md '201$'
check rest-api.md '"pipeline_id": "daily_squares"'
check rest-api.md 'id: daily_squares'
check rest-api.md '"status": "succeeded".*"rows_written": 20|"rows_written": 20.*"status": "succeeded"'
check rest-api.md '"step_runs": \['
check rest-api.md '"checks": \{'
check rest-api.md 'metaetl_runs_total\{pipeline_id="daily_squares",status="succeeded"\} 2$'
check rest-api.md '"status": 401'
check rest-api.md '"status": 409'
check rest-api.md '"status": 422.*Not-Valid'
check rest-api.md '204$'
squares=$(psql_pg -d "$DOCDB" -At -c "SELECT count(*) FROM etl.pipelines WHERE pipeline_id = 'daily_squares'")
[ "$squares" = 0 ] || fail "DELETE did not drop daily_squares"
echo "docs examples ok"
