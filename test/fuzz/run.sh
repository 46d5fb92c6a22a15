#!/usr/bin/env bash
# test/fuzz/run.sh — `make fuzz`: build the libFuzzer harnesses with clang
# (-fsanitize=fuzzer,address,undefined) and run each for FUZZ_SECONDS
# (default 300):
#   yaml     the pure-C YAML layer, on the seed corpus test/fuzz/corpus/
#   parquet  the Parquet reader/writer (fuzz_parquet.c), seeded with files
#            DuckDB writes here (test/fixtures/duckdb)
#   xlsx     the pure-C xlsx reader (libzip + libxml2), on seeds made from the
#          xlsx test fixtures (test/fixtures/xlsx_fixtures.py: whole files,
#          and their XML parts for the harness's parts mode)
# FUZZ_TARGETS="xlsx" runs only those.  Binaries and new inputs go to
# .build/fuzz/<target>/ (not committed, and outside test/, which `make test`
# copies); a crash, leak or hang leaves its input there and fails the run.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$REPO/test/harness/common.sh"
metaetl_deps clang
seconds=${FUZZ_SECONDS:-300}
targets=${FUZZ_TARGETS:-yaml parquet xlsx}
CFLAGS=(-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
        -fno-sanitize-recover=undefined -Wall -Wextra -Werror -I"$REPO/src")
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

fuzz_yaml() {
    local out=$REPO/.build/fuzz
    mkdir -p "$out/corpus"
    clang "${CFLAGS[@]}" -o "$out/fuzz_yaml" "$REPO/test/fuzz/fuzz_yaml.c" -lyaml
    log "fuzzing the YAML layer for $seconds s"
    (cd "$out" && ./fuzz_yaml -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -max_len=65536 \
        -dict="$REPO/test/fuzz/yaml.dict" -print_final_stats=1 \
        "$out/corpus" "$REPO/test/fuzz/corpus")
}

fuzz_parquet() {
    local out=$REPO/.build/fuzz
    # seeds written by DuckDB now (every codec, both writer versions, nulls,
    # dictionaries, a nested column), small enough to mutate quickly
    mkdir -p "$out/corpus_parquet" "$out/seed_parquet"
    clang "${CFLAGS[@]}" -o "$out/fuzz_parquet" "$REPO/test/fuzz/fuzz_parquet.c" -lsnappy -lzstd -lz
    local seed_sql=() v c
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
    (cd "$out" && ./fuzz_parquet -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 "$out/corpus_parquet" "$out/seed_parquet")
}

fuzz_xlsx() {
    local out=$REPO/.build/fuzz/xlsx
    mkdir -p "$out/corpus" "$out/seeds" "$out/fixtures"
    clang "${CFLAGS[@]}" $(xml2-config --cflags) -o "$out/fuzz_xlsx" "$REPO/test/fuzz/fuzz_xlsx.c" -lzip -lxml2
    # seeds: every fixture as a whole file (mode byte 0) and as its parts (mode byte 1)
    /usr/bin/python3 "$REPO/test/fixtures/xlsx_fixtures.py" "$out/fixtures"
    /usr/bin/python3 - "$out/fixtures" "$out/seeds" <<'PY'
import os, sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
parts = ["xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml",
         "xl/sharedStrings.xml", "xl/worksheets/sheet1.xml"]
for name in sorted(os.listdir(src)):
    data = open(os.path.join(src, name), "rb").read()
    open(os.path.join(dst, name + ".file"), "wb").write(b"\0" + data)
    try:
        z = zipfile.ZipFile(os.path.join(src, name))
        have = set(z.namelist())
        blob = b"\0".join(z.read(p) if p in have else b"" for p in parts)
    except Exception:
        continue        # not a zip, or a damaged one: its whole-file seed is enough
    open(os.path.join(dst, name + ".parts"), "wb").write(b"\1" + blob)
PY
    log "fuzzing the xlsx reader for $seconds s"
    (cd "$out" && ./fuzz_xlsx -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=262144 \
        -dict="$REPO/test/fuzz/xlsx.dict" -print_final_stats=1 \
        "$out/corpus" "$out/seeds")
}

for t in $targets; do
    "fuzz_$t"
done
