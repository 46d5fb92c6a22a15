# case 07_docs_run: the docs run as written.  Every ```sql block of README.md
# and of every docs/*.md page runs in order, once in a fresh database
# (CREATE EXTENSION metaetl first) and once after `make demo`'s script
# (docs/examples/demo.sql) in the same database; a statement fails the case
# unless the page shows that error (`-- ERROR:` on the next line), a page that
# shows an error that does not happen fails too, and the rows a page shows
# with `-- →` are checked.  Every repository file a page names exists, and
# docs/architecture.md describes every src/ folder and header.
# test/harness/docs/ holds the helpers; docs/testing.md the conventions.
# DOCS_PAGES="docs/quality.md README.md" runs only those pages.
set -euo pipefail
dir=$WORK/docs07
rm -rf "$dir"
mkdir -p "$dir/root"
# psql runs in a copy of the repository's docs, as from the repository root
cp -r "$REPO/docs" "$dir/root/docs"
[ "$(id -u)" -eq 0 ] && chown -R postgres: "$dir"
run=$REPO/test/harness/docs/docsrun.py
failed=()

if [ -n "${DOCS_PAGES:-}" ]; then
    read -r -a pages <<<"$DOCS_PAGES"
else
    pages=(README.md)
    for f in "$REPO"/docs/*.md; do pages+=("docs/$(basename "$f")"); done
fi

# the files pages name, and the module map against the tree
/usr/bin/python3 "$run" paths "$REPO" "${pages[@]/#/$REPO/}" || failed+=("named files")
bash "$REPO/test/harness/docs/archcheck.sh" || failed+=("docs/architecture.md")

roles_now() { psql_pg -d postgres -At -c 'SELECT rolname FROM pg_roles ORDER BY 1'; }
dropdb_() { psql_pg -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null; }

# Two templates, each made once: a fresh database with the extension, and
# the same after demo.sql.  A page's database is a copy of one of them.
dropdb_ docs_tpl_fresh
dropdb_ docs_tpl_demo
psql_pg -d postgres -c 'CREATE DATABASE docs_tpl_fresh' >/dev/null
psql_pg -d docs_tpl_fresh -c 'CREATE EXTENSION metaetl' >/dev/null
psql_pg -d postgres -c 'CREATE DATABASE docs_tpl_demo TEMPLATE docs_tpl_fresh' >/dev/null
(cd "$dir/root/docs/examples" &&
    psql_pg -d docs_tpl_demo -v examples="$dir/root/docs/examples" -f demo.sql) >"$dir/demo.out" 2>&1 ||
    { cat "$dir/demo.out"; echo "docs/examples/demo.sql failed"; exit 1; }
trap 'dropdb_ docs_tpl_fresh || true; dropdb_ docs_tpl_demo || true' EXIT

# run_page PAGE DB TEMPLATE: the page's script (made by docsrun.py script as
# $dir/DB.sql) in a new database DB copied from TEMPLATE, checked; the
# problems are in $dir/DB.check.  Then the roles the page created are dropped
# (their objects went with the database): every run starts from the same cluster.
run_page() {
    local page=$1 db=$2 tpl=$3 base=$dir/$2 rc=0
    roles_now >"$base.roles"
    psql_pg -d postgres -c "CREATE DATABASE $db TEMPLATE $tpl STRATEGY FILE_COPY" >/dev/null
    # a statement that hangs fails the page instead of the whole make test
    (cd "$dir/root" && as_pg env PGOPTIONS='-c statement_timeout=300s' \
        "$PGBIN/psql" -X -q -h "$PGHOST" -p "$PGPORT" -U postgres -d "$db" \
        -v examples="$dir/root/docs/examples" -f "$dir/$db.sql") >"$base.stdout" 2>"$base.stderr" || true
    /usr/bin/python3 "$run" check "$page" "$dir/$db.json" "$base.stdout" "$base.stderr" "$dir/$db.sql" \
        >"$base.check" || rc=1
    dropdb_ "$db"
    comm -13 "$base.roles" <(roles_now) | while read -r role; do
        psql_pg -d postgres -c "DROP ROLE IF EXISTS \"$role\"" >/dev/null || echo "$page: cannot drop role $role"
    done
    return "$rc"
}
script() {   # PAGE DB: the page's script as $dir/DB.sql, readable by the cluster owner
    /usr/bin/python3 "$run" script "$1" "$dir/$2.sql" "$dir/$2.json" || return 1
    [ "$(id -u)" -ne 0 ] || chown postgres: "$dir/$2.sql"
}

# The checker itself: a page of false claims gives exactly the problems
# listed in selftest.expected, and broken fences are refused.
self=$REPO/test/harness/docs/selftest.md
script "$self" docs_selftest
run_page "$self" docs_selftest docs_tpl_fresh && { echo "the self-test page passed"; exit 1; }
sed "s|^$self:|selftest.md:|" "$dir/docs_selftest.check" | diff "$REPO/test/harness/docs/selftest.expected" - ||
    { echo "docsrun.py does not report what selftest.expected says"; exit 1; }
printf '```sql\nSELECT 1;\n' >"$dir/unclosed.md"
printf '```sql\nSELECT 1\n```\n' >"$dir/unfinished.md"
for bad in unclosed unfinished; do
    if /usr/bin/python3 "$run" script "$dir/$bad.md" "$dir/$bad.sql" "$dir/$bad.json" >"$dir/$bad.check"; then
        echo "docsrun.py accepted $bad.md"; exit 1
    fi
done
grep -q 'code fence never closed' "$dir/unclosed.check"
grep -q 'ends inside a statement' "$dir/unfinished.check"

for page in "${pages[@]}"; do
    name=$(basename "$page" .md | tr 'A-Z' 'a-z' | tr -c 'a-z0-9\n' '_')
    script "$REPO/$page" "docs_$name" || { failed+=("$page"); continue; }
    grep -q '"blocks": 0' "$dir/docs_$name.json" && continue
    script "$REPO/$page" "docs_demo_$name"
    start=$SECONDS
    run_page "$REPO/$page" "docs_$name" docs_tpl_fresh || { cat "$dir/docs_$name.check"; failed+=("$page"); }
    run_page "$REPO/$page" "docs_demo_$name" docs_tpl_demo ||
        { cat "$dir/docs_demo_$name.check"; failed+=("$page (after demo.sql)"); }
    echo "---- $page: $((SECONDS - start)) s"
done

if [ ${#failed[@]} -ne 0 ]; then
    echo "docs that do not run as written: ${failed[*]}"
    exit 1
fi
echo "every page runs as written"
