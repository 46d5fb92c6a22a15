#!/usr/bin/env bash
# test/fuzz/run.sh — `make fuzz`: build the libFuzzer harnesses over the pure-C
# YAML layer and the Parquet reader/writer (fuzz_parquet.c, seeded with files
# DuckDB writes here, test/fixtures/duckdb) with clang (-fsanitize=fuzzer,address,undefined) and run it on
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

# Parquet: seeds written by DuckDB now (every codec, both writer versions,
# nulls, dictionaries, a nested column), small enough to mutate quickly
mkdir -p "$out/corpus_parquet" "$out/seed_parquet"
clang -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined -Wall -Wextra -Werror \
    -I"$REPO/src" -o "$out/fuzz_parquet" "$REPO/test/fuzz/fuzz_parquet.c" -lsnappy -lzstd -lz
seed_sql=()
for v in v1 v2; do
    for c in uncompressed snappy gzip zstd; do
        seed_sql+=("COPY (SELECT i::INT AS a, CASE WHEN i % 3 = 0 THEN NULL ELSE 'k' || (i % 5) END AS s,
            i * 0.5 AS d, (i % 2 = 0) AS b, DATE '2020-01-01' + i::INT AS dt, ('x' || i)::BLOB AS bl,
            (i * 1.25)::DECIMAL(20,2) AS dec, TIMESTAMP '2020-01-01' + to_seconds(i) AS ts
            FROM range(40) t(i)) TO '$out/seed_parquet/$v-$c.parquet'
            (FORMAT parquet, PARQUET_VERSION $v, COMPRESSION $c, ROW_GROUP_SIZE 16)")
    done
done
seed_sql+=("COPY (SELECT 1 AS a, [1, 2] AS l, {'x': 1} AS st, 'z' AS z) TO '$out/seed_parquet/nested.parquet'")
bash "$REPO/test/fixtures/duckdb/run.sh" "${seed_sql[@]}" "SELECT 1" >/dev/null
log "fuzzing the Parquet reader and writer for $seconds s"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    ./fuzz_parquet -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 "$out/corpus_parquet" "$out/seed_parquet"
