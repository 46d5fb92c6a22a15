#!/usr/bin/env bash
# test/fuzz/run.sh — `make fuzz`: build the libFuzzer harness over the pure-C
# YAML layer with clang (-fsanitize=fuzzer,address,undefined) and run it on
# the seed corpus test/fuzz/corpus/ for FUZZ_SECONDS (default 300).  The
# binary and new inputs go to .build/fuzz/ (not committed, and outside test/,
# which `make test` copies); a crash, leak or hang leaves its input there
# and fails the run.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$REPO/test/harness/common.sh"
metaetl_deps clang
out=$REPO/.build/fuzz
mkdir -p "$out/corpus"
clang -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined -Wall -Wextra -Werror \
    -I"$REPO/src" -o "$out/fuzz_yaml" "$REPO/test/fuzz/fuzz_yaml.c" -lyaml
seconds=${FUZZ_SECONDS:-300}
log "fuzzing the YAML layer for $seconds s"
cd "$out"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    ./fuzz_yaml -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -max_len=65536 \
    -dict="$REPO/test/fuzz/yaml.dict" -print_final_stats=1 \
    "$out/corpus" "$REPO/test/fuzz/corpus"
