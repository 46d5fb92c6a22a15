#!/usr/bin/env bash
# test/harness/unit.sh [OUTDIR] — build and run the C unit tests in
# test/unit/test_*.c.  Each test #includes the pure-C module it checks and
# prints TAP lines ("ok N - ...", "not ok N - ...").  Built with -Werror and
# AddressSanitizer/UndefinedBehaviorSanitizer.
set -uo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${1:-$REPO/test/unit/bin}
mkdir -p "$out"
CC=${CC:-cc}
CFLAGS="-g -O1 -Wall -Wextra -Werror -fsanitize=address,undefined -fno-omit-frame-pointer -I$REPO/src -I$REPO/test/unit"
status=0
for src in "$REPO"/test/unit/test_*.c; do
    [ -e "$src" ] || continue
    name=$(basename "$src" .c)
    # a test names extra libraries in a " * unit-libs: -lfoo" header line
    libs=$(sed -n 's/^ \* unit-libs: //p' "$src" | head -n 1)
    if ! $CC $CFLAGS -o "$out/$name" "$src" $libs -lm 2>"$out/$name.build.log"; then
        echo "BUILD FAILED $name"
        cat "$out/$name.build.log"
        status=1
        continue
    fi
    echo "# $name"
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 "$out/$name"
    rc=$?
    if [ $rc -ne 0 ]; then
        echo "not ok - $name exited with status $rc"
        status=1
    fi
done
exit $status
