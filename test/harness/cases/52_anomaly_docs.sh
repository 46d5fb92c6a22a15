# case 52_anomaly_docs: every ```sql block of docs/anomalies.md runs, in order,
# without error in a fresh database, and the results say what the page says.
set -euo pipefail
awk '/^```sql$/ {on = 1; next} /^```$/ {on = 0} on' "$REPO/docs/anomalies.md" >"$WORK/anomaly_docs.sql"
[ "$(id -u)" -eq 0 ] && chown postgres: "$WORK/anomaly_docs.sql"
psql_pg -d postgres -c 'CREATE DATABASE anomaly_docs'
psql_pg -d anomaly_docs -c 'CREATE EXTENSION metaetl'
psql_pg -d anomaly_docs -A -F '|' -f "$WORK/anomaly_docs.sql" >"$WORK/anomaly_docs.out"
psql_pg -d postgres -c 'DROP DATABASE anomaly_docs'
cat "$WORK/anomaly_docs.out"
out=$WORK/anomaly_docs.out
# the top 5 forest scores are planted outliers
[ "$(grep -cE '^[0-9]+\|0\.[0-9]+\|t$' "$out")" -eq 5 ]
# each column method finds the 20 planted temperatures
grep -qx 'iqr|20|20' "$out" && grep -qx 'mad|20|20' "$out" && grep -qx 'zscore|20|20' "$out"
# same seed, same scores; the centre scores below 0.5
grep -qx '0|t' "$out"
# contamination 0.01 of 2000 rows flags 20, and the call is recorded
grep -qx '20' "$out"
grep -q '^public.sensor_readings|{temperature,pressure}|isolation_forest|.*"contamination": 0.01.*|2000|20|20|' "$out"
# 200 rows unscored when skipped, none when imputed
grep -qx 'impute_mean|0|2000' "$out" && grep -qx 'skip|200|2000' "$out"
# the night with 25 rows is flagged (and the recovery after it by its change)
grep -qE '^25\|-[0-9.]+\|z-score' "$out" && grep -qE '^1008\|0\.3\|change of ' "$out"
