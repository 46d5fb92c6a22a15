# case 71_monitoring_docs: docs/examples/alerting.sql (every example of
# docs/monitoring.md) runs in a fresh database and shows what the page says.
# The checks are explicit (`|| exit 1`): test.sh sources cases inside an
# `if`, where `set -e` is ignored.
set -euo pipefail
out=$WORK/monitoring_docs.out
cp "$REPO/docs/examples/alerting.sql" "$WORK/alerting.sql"
chmod 644 "$WORK/alerting.sql"
psql_pg -d postgres -c 'DROP DATABASE IF EXISTS alert_docs' -c 'CREATE DATABASE alert_docs' >/dev/null
rc=0
psql_pg -d alert_docs -c 'CREATE EXTENSION metaetl' -f "$WORK/alerting.sql" >"$out" 2>&1 || rc=$?
psql_pg -d postgres -c 'DROP DATABASE alert_docs' >/dev/null
cat "$out"
[ "$rc" -eq 0 ] || exit 1
check() { grep -q -- "$1" "$out" || { echo "missing from the output: $1"; exit 1; }; }
check 'alert channel "broken" has no recipient'
check '"webhook_url": "\*\*\*"'
check '"password": "\*\*\*"'
check ' same_alert'
check ' acknowledged'
check 'anomaly    | medium   | open   |           2'
check ' pipeline_failure | high     | open   | pipeline orders_daily run [0-9]* failed: relation "public.orders" does not exist'
check 'duration     | <= 30 min'
check 'incident_hook | pending'
if grep -Eq 'app-password|twilio-auth-token|gateway-token|shared-hmac-secret|XXXXXXXX' "$out"; then
    echo "a secret was shown"; exit 1
fi
echo "monitoring docs examples ok"
