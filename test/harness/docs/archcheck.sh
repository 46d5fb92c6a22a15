#!/usr/bin/env bash
# test/harness/docs/archcheck.sh — docs/architecture.md matches the tree:
# it describes every folder under src/ (as `src/NAME/`) and names every
# header (the interfaces subsystems call each other through) by its path.
# That every path it names exists is checked with the other pages
# (docsrun.py paths).  Prints what is missing; exit status 1 if anything is.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
page=$repo/docs/architecture.md
[ -f "$page" ] || { echo "docs/architecture.md is missing"; exit 1; }
bad=0
cd "$repo"
for d in src/*/ src/*/*/; do
    [ -d "$d" ] || continue
    # build output and the dashboard's static files are not modules
    case "$d" in src/api/web/*) continue ;; esac
    grep -qF -- "\`$d\`" "$page" ||
        { echo "docs/architecture.md does not describe $d (write it as \`$d\`)"; bad=1; }
done
for h in src/*.h src/*/*.h src/*/*/*.h; do
    [ -e "$h" ] || continue
    grep -qF -- "$h" "$page" || { echo "docs/architecture.md does not name the header $h"; bad=1; }
done
exit "$bad"
