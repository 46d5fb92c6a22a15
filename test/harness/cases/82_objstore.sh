# case 82_objstore: object-store transfers that pg_regress cannot check.
#  - memory: a table larger than any buffer goes to S3 (moto) and back; the
#    backend's anonymous memory, sampled every 50 ms from outside, stays far
#    below the object's size in both directions (objects are streamed);
#  - an upload that fails after parts were sent leaves no multipart upload
#    behind (moto's ListMultipartUploads, the GCS fake's count) and no object;
#  - a cancel stops an upload midway and aborts it (nothing left behind);
#  - nothing secret reaches the server log, whatever failed.
# Servers: moto.sh, gcs.sh (the GCS FAKE, standing in for GCS).
set -euo pipefail
db=objstore_case
psql_pg -d postgres -c "CREATE DATABASE $db" >/dev/null
psql_pg -d $db -v moto_port="$METAETL_MOTO_PORT" -v key="$METAETL_MOTO_KEY_ID" -v secret="$METAETL_MOTO_SECRET" \
    -v gcs_port="$METAETL_GCS_PORT" -v gkey="$METAETL_GCS_KEY_ID" -v gsecret="$METAETL_GCS_SECRET" >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION metaetl CASCADE;
SELECT etl.add_credential('c82_moto', json_build_object('access_key_id', :'key', 'secret_access_key', :'secret')::jsonb);
SELECT etl.add_credential('c82_bad', json_build_object('access_key_id', :'key', 'secret_access_key', 'c82-wrong-secret')::jsonb);
SELECT etl.add_credential('c82_gcs', json_build_object('access_key_id', :'gkey', 'secret', :'gsecret')::jsonb);
SELECT etl.add_connection('c82_lake', 's3', format('{"bucket": "metaetl-test", "endpoint": "http://127.0.0.1:%s", "prefix": "case82/", "part_size": 5242880}', :'moto_port')::jsonb, 'c82_moto');
SELECT etl.add_connection('c82_bad', 's3', format('{"bucket": "metaetl-test", "endpoint": "http://127.0.0.1:%s"}', :'moto_port')::jsonb, 'c82_bad');
SELECT etl.add_connection('c82_gcs', 'gcs', format('{"bucket": "metaetl-test", "endpoint": "http://127.0.0.1:%s", "prefix": "case82/"}', :'gcs_port')::jsonb, 'c82_gcs');
CREATE TABLE big AS SELECT g AS id, md5(g::text) AS h, repeat(md5((-g)::text), 8) AS pad FROM generate_series(1, 200000) g;
SQL

# peak_anon SQL...: run the SQL in one session; print "<peak RssAnon growth kB> <VmHWM growth kB>"
peak_anon() {
    local fifo=$WORK/case82.fifo out=$WORK/case82.sql.out pid base hwm0 peak=0 cur hwm1
    rm -f "$fifo"; mkfifo "$fifo"
    psql_pg -d $db -At -v ON_ERROR_STOP=1 <"$fifo" >"$out" 2>&1 &
    local psql_pid=$!
    exec 7>"$fifo"
    echo "SELECT pg_backend_pid();" >&7
    for _ in $(seq 1 100); do [ -s "$out" ] && break; sleep 0.1; done
    pid=$(head -n 1 "$out")
    base=$(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status")
    hwm0=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
    printf '%s\n' "$@" "SELECT 'done';" >&7
    while ! grep -q '^done$' "$out" 2>/dev/null; do
        cur=$(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
        [ "${cur:-0}" -gt "$peak" ] && peak=$cur
        grep -q 'ERROR' "$out" && { cat "$out" >&2; exec 7>&-; return 1; }
        sleep 0.05
    done
    hwm1=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
    exec 7>&-
    wait $psql_pid
    echo "$((peak - base)) $((hwm1 - hwm0))"
}

# 1. memory: up (table -> csv object, multipart) and down (object -> table)
up=$(peak_anon "SELECT etl.execute_plan('{\"pipeline\": {\"id\": \"c82_up\", \"sources\": [{\"id\": \"b\", \"type\": \"postgresql\", \"table\": \"public.big\"}], \"targets\": [{\"id\": \"t\", \"type\": \"s3\", \"connection\": \"c82_lake\", \"key\": \"big.csv\"}]}}') IS NOT NULL;")
size=$(python3 - <<'PY'
import boto3, os
s3 = boto3.client("s3", endpoint_url=os.environ["METAETL_MOTO_ENDPOINT"], region_name="us-east-1",
                  aws_access_key_id=os.environ["METAETL_MOTO_KEY_ID"], aws_secret_access_key=os.environ["METAETL_MOTO_SECRET"])
print(s3.head_object(Bucket="metaetl-test", Key="case82/big.csv")["ContentLength"])
PY
)
down=$(peak_anon "SELECT etl.execute_plan('{\"pipeline\": {\"id\": \"c82_down\", \"sources\": [{\"id\": \"s\", \"type\": \"s3\", \"connection\": \"c82_lake\", \"key\": \"big.csv\", \"columns\": {\"id\": \"int\"}}], \"targets\": [{\"id\": \"t\", \"table\": \"public.back\"}]}}') IS NOT NULL;")
echo "object: $size bytes; upload: peak anonymous memory +${up% *} kB (VmHWM +${up#* } kB); download: +${down% *} kB (VmHWM +${down#* } kB)"
differ=$(psql_pg -d $db -At -c "SELECT (SELECT count(*) FROM (TABLE big EXCEPT ALL TABLE back) a) + (SELECT count(*) FROM (TABLE back EXCEPT ALL TABLE big) b)")
[ "$differ" = 0 ]
# streamed: the growth is buffers (a 4 MiB stream buffer or a 5 MiB part, the
# staging table's local buffers), a fraction of the object
[ "$size" -gt $((50 * 1024 * 1024)) ]
[ "${up% *}" -lt $((size / 1024 / 3)) ]
[ "${down% *}" -lt $((size / 1024 / 3)) ]

# 2. an upload that fails after parts were sent: no upload left, no object
gcs_uploads() { curl -s "http://127.0.0.1:$METAETL_GCS_PORT/_stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["uploads"])'; }
g0=$(gcs_uploads)
if psql_pg -d $db -c "SELECT etl.execute_plan('{\"pipeline\": {\"id\": \"c82_fail\", \"sources\": [{\"id\": \"b\", \"type\": \"postgresql\", \"query\": \"SELECT id, h, 1 / (150000 - id) AS boom FROM public.big\"}], \"targets\": [{\"id\": \"s\", \"type\": \"s3\", \"connection\": \"c82_lake\", \"key\": \"failed.csv\"}, {\"id\": \"g\", \"type\": \"gcs\", \"connection\": \"c82_gcs\", \"key\": \"failed.csv\"}]}}')" >/dev/null 2>&1; then
    echo "a failing upload succeeded"; exit 1
fi
if psql_pg -d $db -c "SELECT etl.execute_plan('{\"pipeline\": {\"id\": \"c82_fail2\", \"sources\": [{\"id\": \"b\", \"type\": \"postgresql\", \"query\": \"SELECT id, h, 1 / (150000 - id) AS boom FROM public.big\"}], \"targets\": [{\"id\": \"g\", \"type\": \"gcs\", \"connection\": \"c82_gcs\", \"key\": \"failed.csv\"}]}}')" >/dev/null 2>&1; then
    echo "a failing upload succeeded"; exit 1
fi
python3 - <<'PY'
import boto3, os
s3 = boto3.client("s3", endpoint_url=os.environ["METAETL_MOTO_ENDPOINT"], region_name="us-east-1",
                  aws_access_key_id=os.environ["METAETL_MOTO_KEY_ID"], aws_secret_access_key=os.environ["METAETL_MOTO_SECRET"])
# (no "/" in the prefixes: moto refuses the signature of a query holding one)
pending = s3.list_multipart_uploads(Bucket="metaetl-test", Prefix="case82").get("Uploads", [])
objects = [o["Key"] for o in s3.list_objects_v2(Bucket="metaetl-test", Prefix="case82").get("Contents", [])]
print("moto: pending uploads", len(pending), "objects", objects)
assert not pending and objects == ["case82/big.csv"], (pending, objects)
PY
g1=$(gcs_uploads)
echo "gcs fake: uploads in progress before $g0, after $g1"
[ "$g0" = "$g1" ]
curl -s "http://127.0.0.1:$METAETL_GCS_PORT/_stats" | python3 -c 'import json,sys; o=json.load(sys.stdin)["objects"]["metaetl-test"]; assert "case82/failed.csv" not in o, o'

# 3. a cancel during an upload (rows arrive slowly: parts go out meanwhile)
psql_pg -d $db -At -v ON_ERROR_STOP=0 >"$WORK/case82.cancel" 2>&1 <<'SQL' &
SET application_name = 'case82_cancel';
SELECT etl.execute_plan('{"pipeline": {"id": "c82_cancel", "sources": [{"id": "b", "type": "postgresql", "query": "SELECT b.*, CASE WHEN id % 25000 = 0 THEN pg_sleep(0.5)::text END AS slow FROM public.big b"}], "targets": [{"id": "s", "type": "s3", "connection": "c82_lake", "key": "cancelled.csv"}]}}');
SELECT 'after cancel: session still works';
SQL
canceller=$!
sleep 2.5
psql_pg -d $db -At -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'case82_cancel'" >/dev/null
t0=$(date +%s)
wait $canceller || true
echo "cancelled within $(( $(date +%s) - t0 )) s: $(tr '\n' ' ' <"$WORK/case82.cancel")"
grep -q 'canceling statement due to user request' "$WORK/case82.cancel"
grep -q 'after cancel: session still works' "$WORK/case82.cancel"
python3 - <<'PY'
import boto3, os
s3 = boto3.client("s3", endpoint_url=os.environ["METAETL_MOTO_ENDPOINT"], region_name="us-east-1",
                  aws_access_key_id=os.environ["METAETL_MOTO_KEY_ID"], aws_secret_access_key=os.environ["METAETL_MOTO_SECRET"])
pending = s3.list_multipart_uploads(Bucket="metaetl-test", Prefix="case82").get("Uploads", [])
objects = [o["Key"] for o in s3.list_objects_v2(Bucket="metaetl-test", Prefix="case82").get("Contents", [])]
print("after the cancel: pending uploads", len(pending), "objects", objects)
assert not pending and objects == ["case82/big.csv"], (pending, objects)
PY

# 4. Parquet round trips through S3 and Azure (ranged reads of footers and
#    column chunks), row for row
if [ "$(psql_pg -d $db -At -c "SELECT count(*) FROM etl.validate_config('pipeline: {id: p, sources: [{id: s, type: s3, connection: c82_lake, key: a.parquet}], targets: [{id: t, type: postgresql, table: public.t}]}')")" = 0 ]; then
    psql_pg -d $db -v az_endpoint="$METAETL_AZURITE_ENDPOINT" -v az_key="$METAETL_AZURITE_KEY" >/dev/null <<'SQL'
SELECT etl.add_credential('c82_az', json_build_object('account_key', :'az_key')::jsonb);
SELECT etl.add_connection('c82_az', 'azure_blob', json_build_object('account', 'devstoreaccount1', 'container', 'metaetl-test',
  'endpoint', :'az_endpoint', 'prefix', 'case82/')::jsonb, 'c82_az');
CREATE TABLE typed AS SELECT g AS id, (g * 1.25)::numeric(12,2) AS amount, md5(g::text) AS label, date '2026-01-01' + g % 400 AS day,
       timestamptz '2026-01-01 00:00:00+00' + g * interval '1 minute' AS at, g % 3 = 0 AS flag,
       CASE WHEN g % 10 = 0 THEN NULL ELSE g % 100 END AS maybe
  FROM generate_series(1, 100000) g;
SELECT etl.execute_plan('{"pipeline": {"id": "c82_pq_out", "sources": [{"id": "t", "type": "postgresql", "table": "public.typed"}],
  "targets": [{"id": "s", "type": "s3", "connection": "c82_lake", "key": "typed.parquet"},
              {"id": "a", "type": "azure_blob", "connection": "c82_az", "key": "typed.parquet"}]}}');
SELECT etl.execute_plan('{"pipeline": {"id": "c82_pq_in", "sources": [{"id": "s", "type": "s3", "connection": "c82_lake", "key": "typed.parquet"},
                                                                 {"id": "a", "type": "azure_blob", "connection": "c82_az", "key": "typed.parquet"}],
  "targets": [{"id": "ts", "table": "public.typed_s3", "input": "s"}, {"id": "ta", "table": "public.typed_az", "input": "a"}]}}');
SQL
    pq=$(psql_pg -d $db -At -c "SELECT (SELECT count(*) FROM (TABLE typed EXCEPT ALL TABLE typed_s3) a) + (SELECT count(*) FROM (TABLE typed_s3 EXCEPT ALL TABLE typed) b)
        + (SELECT count(*) FROM (TABLE typed EXCEPT ALL TABLE typed_az) c) + (SELECT count(*) FROM (TABLE typed_az EXCEPT ALL TABLE typed) d)")
    echo "parquet round trips through S3 and Azure: $pq rows differ"
    [ "$pq" = 0 ]
else
    echo "parquet round trips: the parquet format is not registered in this build"
fi

# 5. failures with refused keys: the secrets stay out of the server log
psql_pg -d $db -c "SELECT etl.execute_plan('{\"pipeline\": {\"id\": \"c82_bad\", \"sources\": [{\"id\": \"s\", \"type\": \"s3\", \"connection\": \"c82_bad\", \"key\": \"case82/big.csv\"}], \"targets\": [{\"id\": \"t\", \"table\": \"public.x\"}]}}')" >/dev/null 2>&1 || true
for s in "$METAETL_MOTO_SECRET" c82-wrong-secret "$METAETL_GCS_SECRET"; do
    if grep -qF -- "$s" "$WORK/postgres.log"; then echo "a secret is in the server log"; exit 1; fi
done
grep -q 'refused the credentials of connection "c82_bad"' "$WORK/postgres.log"

psql_pg -d postgres -c "DROP DATABASE $db" >/dev/null
