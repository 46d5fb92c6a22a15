#!/usr/bin/env bash
# test/harness/alerting/delivery_case.sh — the body of harness case
# 70_alert_delivery, run by its own bash so that errexit holds (test.sh
# sources cases inside an `if`, where `set -e` is ignored).  Needs the
# environment test.sh exports: WORK, PGBIN, PGHOST, PGPORT, PGDATABASE.
#
# Alerts reach real servers on loopback, sent by the
# "metaetl alert delivery" background worker (the cluster is preloaded):
#  - an HTTP receiver (test/harness/alerting/http_receiver.py) records the
#    Slack, SMS (Twilio Messages API shape) and webhook posts; the webhook's
#    X-Metaetl-Signature HMAC is verified here; /flaky/ answers 500 twice
#    then 200 (retries recorded);
#  - SMTP servers (python3-aiosmtpd, AUTH; one with STARTTLS, one smtps,
#    both with a throwaway certificate) whose received mail is read back;
#  - a closed port (failure recorded, runs unaffected).
# Acceptance of issue 8, with real runs (etl.execute_pipeline in a run worker,
# whose end calls etl.on_run_finished): a run over a tiny max_duration gives a non-compliant
# etl.sla_compliance row, an open alert, a Slack-shaped post and an e-mail
# within 10 s; two failures give one open alert counting 2; escalation fires
# after a short window; the next successful run resolves the alerts; a bad
# channel config is rejected with a clear error; no secret reaches the
# tables, the audit log or the server log.
# Servers are stopped and the rows created here removed even on failure.
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
set -euo pipefail
PY=/usr/bin/python3
SRV=$WORK/alert-servers
rm -rf "$SRV"
mkdir -p "$SRV/mail" "$SRV/mails"
chmod 755 "$SRV"
pids=()
before_alert=$(psql_pg -At -c "SELECT COALESCE(max(alert_id), 0) FROM etl.alerts")

case70_cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    psql_pg -q -c "DELETE FROM etl.alert_routes WHERE 'case_slack' = ANY (channels) OR 'case_flaky' = ANY (channels)" \
        -c "DELETE FROM etl.alerts WHERE alert_id > $before_alert" \
        -c "DELETE FROM etl.alert_channels WHERE name LIKE 'case\\_%'" \
        -c "DELETE FROM etl.escalation_policies WHERE name = 'case_oncall'" \
        -c "DELETE FROM etl.pipelines WHERE pipeline_id = 'alert_case'" \
        -c "DROP SCHEMA IF EXISTS ac CASCADE" >/dev/null 2>&1 || true
}
trap case70_cleanup EXIT

# wait_port PORT: until something listens (5 s)
wait_port() {
    local i
    for i in $(seq 1 50); do
        (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "nothing listens on port $1" >&2
    return 1
}
# wait_for SECONDS SQL: until the query returns t
wait_for() {
    local deadline=$(( $(date +%s) + $1 )) got
    while :; do
        got=$(psql_pg -At -c "$2")
        [ "$got" = t ] && return 0
        [ "$(date +%s)" -ge "$deadline" ] && { echo "timed out waiting for: $2" >&2; return 1; }
        sleep 0.2
    done
}

HP=$(metaetl_free_port)
SP=$(metaetl_free_port)
while [ "$SP" = "$HP" ]; do SP=$(metaetl_free_port); done
TP=$(metaetl_free_port)     # smtps (TLS from the start)
while [ "$TP" = "$HP" ] || [ "$TP" = "$SP" ]; do TP=$(metaetl_free_port); done
CP=$(metaetl_free_port)     # closed: nothing will listen there
while [ "$CP" = "$HP" ] || [ "$CP" = "$SP" ] || [ "$CP" = "$TP" ]; do CP=$(metaetl_free_port); done

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$SRV/key.pem" -out "$SRV/cert.pem" 2>/dev/null
chmod 644 "$SRV/cert.pem"

$PY "$REPO/test/harness/alerting/http_receiver.py" "$HP" "$SRV/http.jsonl" >"$SRV/http.out" 2>&1 &
pids+=($!)
$PY "$REPO/test/harness/alerting/smtp_receiver.py" "$SP" "$SRV/mail" "$SRV/cert.pem" "$SRV/key.pem" >"$SRV/smtp.out" 2>&1 &
pids+=($!)
$PY "$REPO/test/harness/alerting/smtp_receiver.py" "$TP" "$SRV/mails" "$SRV/cert.pem" "$SRV/key.pem" implicit >"$SRV/smtps.out" 2>&1 &
pids+=($!)
wait_port "$HP"
wait_port "$SP"
wait_port "$TP"

# the worker is running
# (it restarts within seconds when an earlier test dropped and re-created the extension)
wait_for 20 "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'metaetl alert delivery'"

# --- channels (the docs' examples, pointed at the test servers) -------------
psql_pg -q <<SQL
SELECT etl.add_alert_channel('case_slack', 'slack', '{
    "webhook_url": "http://127.0.0.1:$HP/services/T000/B000/case-slack-token"}');
SELECT etl.add_alert_channel('case_email', 'email', '{
    "smtp_url": "smtp://127.0.0.1:$SP", "starttls": true, "ca_file": "$SRV/cert.pem",
    "username": "metaetl", "password": "smtp-s3cret",
    "from": "metaetl@example.com", "to": ["ops@example.com", "dba@example.com"]}');
SELECT etl.add_alert_channel('case_smtps', 'email', '{
    "smtp_url": "smtps://127.0.0.1:$TP", "ca_file": "$SRV/cert.pem",
    "username": "metaetl", "password": "smtp-s3cret",
    "from": "metaetl@example.com", "to": "oncall@example.com", "subject_prefix": "[etl prod]"}');
SELECT etl.add_alert_channel('case_sms', 'sms', '{
    "url": "http://127.0.0.1:$HP/2010-04-01/Accounts/ACcase/Messages.json",
    "auth": "basic", "username": "ACcase", "password": "case-twilio-token",
    "from": "+15559870000", "to": "+15551230000"}');
SELECT etl.add_alert_channel('case_sms_json', 'sms', '{
    "url": "http://127.0.0.1:$HP/sms-json", "body_format": "json",
    "auth": "bearer", "token": "case-gw-token",
    "to": "+15550001111", "to_field": "recipient", "body_field": "text", "extra": {"sender_id": "METAETL"}}');
SELECT etl.add_alert_channel('case_hook', 'webhook', '{
    "url": "http://127.0.0.1:$HP/hook", "secret": "case-hook-secret",
    "headers": {"X-Team": "data-platform"}}');
SELECT etl.add_alert_channel('case_flaky', 'webhook', '{
    "url": "http://127.0.0.1:$HP/flaky/hook", "secret": "case-hook-secret",
    "retry": {"max_attempts": 5, "initial_delay_s": 0.3, "backoff": 2}}');
SELECT etl.add_alert_channel('case_closed', 'webhook', '{
    "url": "http://127.0.0.1:$CP/closed", "retry": {"max_attempts": 2, "initial_delay_s": 0.3}}');

SELECT etl.add_escalation_policy('case_oncall', '[{"after_minutes": 0.05, "channels": ["case_sms"]}]');
SELECT etl.add_alert_route(ARRAY['case_slack', 'case_email', 'case_smtps'], ARRAY['sla_violation'],
                           pipeline_tags => ARRAY['case'], escalation_policy => 'case_oncall');
SELECT etl.add_alert_route(ARRAY['case_hook', 'case_flaky', 'case_closed', 'case_sms_json'], ARRAY['pipeline_failure'],
                           pipeline_tags => ARRAY['case']);

-- a real pipeline whose one step is slow, failing or quick as ac.mode says;
-- registering it applies its sla: block
CREATE SCHEMA ac;
CREATE TABLE ac.src (x int);
INSERT INTO ac.src VALUES (1);
CREATE TABLE ac.mode (m text);
INSERT INTO ac.mode VALUES ('ok');
CREATE FUNCTION ac.step(x int) RETURNS int LANGUAGE plpgsql AS \$fn\$
BEGIN
  CASE (SELECT m FROM ac.mode)
    WHEN 'slow' THEN PERFORM pg_sleep(8);
    WHEN 'fail' THEN RETURN x / 0;
    ELSE NULL;
  END CASE;
  RETURN x;
END \$fn\$;
SELECT etl.register_pipeline(\$yaml\$
pipeline:
  id: alert_case
  name: Alerting case
  tags: [case]
  sources: [ { id: src, type: postgresql, table: ac.src } ]
  transforms:
    - { id: step, type: udf, params: { function: ac.step, args: [x], output: y } }
  targets: [ { id: out, type: postgresql, table: ac.out, mode: append } ]
  sla: { max_duration_minutes: 0.02 }
\$yaml\$);
SELECT sla_type, target FROM etl.sla_definitions WHERE pipeline_id = 'alert_case';
SQL

# --- a bad channel config is rejected with a clear error (and, holding a
# password, never reaches the server log) -----------------------------------
if psql_pg -q -c "SELECT etl.add_alert_channel('case_bad', 'email', '{\"smtp_url\": \"smtp://127.0.0.1:$SP\", \"from\": \"metaetl@example.com\", \"password\": \"case-bad-password\", \"username\": \"u\"}')" 2>"$SRV/bad.err"; then
    echo "a channel without recipient was accepted"; exit 1
fi
cat "$SRV/bad.err"
grep -q 'alert channel "case_bad" has no recipient' "$SRV/bad.err"
if psql_pg -q -c "SELECT etl.add_alert_channel('case_bad', 'slack', '{\"webhook_url\": \"not a url\"}')" 2>"$SRV/bad2.err"; then
    echo "a malformed URL was accepted"; exit 1
fi
grep -q 'malformed URL in alert channel config' "$SRV/bad2.err"

# --- a run over its max duration: the worker notices while it is still going
psql_pg -q -c "UPDATE ac.mode SET m = 'slow'"
run=$(psql_pg -At -c "SELECT etl.execute_pipeline('alert_case', wait => false)->>'run_id'")
t0=$(date +%s)
# the worker's running-SLA check (every 5 s) records the breach and opens the alert
wait_for 10 "SELECT EXISTS (SELECT 1 FROM etl.sla_compliance WHERE run_id = $run AND NOT compliant)"
psql_pg -At -c "SELECT status FROM etl.pipeline_runs WHERE run_id = $run" | grep -qx running
# the run ends; the orchestrator's hook (etl.on_run_finished) evaluates it again
wait_for 15 "SELECT status = 'succeeded' FROM etl.pipeline_runs WHERE run_id = $run"
sla_alert=$(psql_pg -At -c "SELECT alert_id FROM etl.alerts WHERE dedup_key = 'sla_violation:alert_case:duration' AND status = 'open'")
[ -n "$sla_alert" ]
wait_for 10 "SELECT count(*) = 3 FROM etl.alert_deliveries WHERE alert_id = $sla_alert AND event = 'open' AND status = 'delivered'
               AND channel IN ('case_slack', 'case_email', 'case_smtps')"
t1=$(date +%s)
echo "SLA breach to Slack post and e-mail: $((t1 - t0)) s"
[ $((t1 - t0)) -le 10 ]
psql_pg -At -c "SELECT count(*) FROM etl.sla_compliance WHERE run_id = $run AND NOT compliant" | grep -qx 2
psql_pg -At -c "SELECT occurrences FROM etl.alerts WHERE alert_id = $sla_alert" | grep -qx 2

# the Slack post: JSON with blocks naming pipeline, status (the run was still
# going when the worker raised the alert), run and error
$PY - "$SRV/http.jsonl" "$run" <<'PY'
import json, sys
posts = [json.loads(l) for l in open(sys.argv[1]) if '/services/' in json.loads(l)["path"]]
assert len(posts) == 1, posts
p = posts[0]
assert p["path"] == "/services/T000/B000/case-slack-token"
assert p["headers"]["content-type"] == "application/json"
body = json.loads(p["body"])
types = [b["type"] for b in body["blocks"]]
assert types[0] == "header" and "context" in types, types
text = json.dumps(body)
for want in ("alert_case", "*Status:*\\nrunning", "*Run:*\\n" + sys.argv[2], "*Error:*", "sla_violation"):
    assert want in text, (want, text)
print("slack ok:", body["text"])
PY

# the e-mail: over STARTTLS, authenticated, multipart text + HTML
$PY - "$SRV/mail" "$run" <<'PY'
import email, json, os, sys
d = sys.argv[1]
names = sorted(n for n in os.listdir(d) if n.endswith(".eml"))
assert len(names) == 1, names
env = json.load(open(os.path.join(d, names[0][:-4] + ".json")))
assert env["tls"] and env["authenticated"], env
assert env["mail_from"] == "metaetl@example.com"
assert env["rcpt_tos"] == ["ops@example.com", "dba@example.com"], env
m = email.message_from_binary_file(open(os.path.join(d, names[0]), "rb"))
assert "sla_violation" in m["Subject"] and "alert_case" in m["Subject"], m["Subject"]
assert m.get_content_type() == "multipart/alternative"
parts = {p.get_content_type(): p.get_payload(decode=True).decode() for p in m.walk() if not p.is_multipart()}
assert set(parts) == {"text/plain", "text/html"}, parts.keys()
assert "Run:      " + sys.argv[2] in parts["text/plain"], parts["text/plain"]
assert "<table>" in parts["text/html"]
print("mail ok:", m["Subject"])
PY
# and the one over smtps
$PY - "$SRV/mails" <<'PY'
import email, json, os, sys
d = sys.argv[1]
names = sorted(n for n in os.listdir(d) if n.endswith(".eml"))
assert len(names) == 1, names
env = json.load(open(os.path.join(d, names[0][:-4] + ".json")))
assert env["tls"] and env["authenticated"] and env["rcpt_tos"] == ["oncall@example.com"], env
m = email.message_from_binary_file(open(os.path.join(d, names[0]), "rb"))
assert m["Subject"].startswith("[etl prod] [HIGH] sla_violation"), m["Subject"]
print("smtps ok:", m["Subject"])
PY

# --- escalation: the SLA alert, still open after 0.05 min, goes to SMS -------
wait_for 15 "SELECT escalation_level = 1 FROM etl.alerts WHERE alert_id = $sla_alert"
wait_for 10 "SELECT status = 'delivered' FROM etl.alert_deliveries WHERE alert_id = $sla_alert AND channel = 'case_sms'"
$PY - "$SRV/http.jsonl" <<'PY'
import base64, json, sys, urllib.parse
posts = [json.loads(l) for l in open(sys.argv[1]) if "/Messages.json" in json.loads(l)["path"]]
assert len(posts) == 1, posts
p = posts[0]
assert p["path"] == "/2010-04-01/Accounts/ACcase/Messages.json"
assert p["headers"]["content-type"] == "application/x-www-form-urlencoded"
assert p["headers"]["authorization"] == "Basic " + base64.b64encode(b"ACcase:case-twilio-token").decode()
form = urllib.parse.parse_qs(p["body"])
assert form["To"] == ["+15551230000"] and form["From"] == ["+15559870000"], form
assert "ESCALATED sla_violation" in form["Body"][0], form
print("sms ok:", form["Body"][0])
PY

# --- two failures: one open alert counting 2; deliveries never block a run --
psql_pg -q -c "UPDATE ac.mode SET m = 'fail'"
for i in 1 2; do
    s=$(date +%s%N)
    psql_pg -At -c "SELECT etl.execute_pipeline('alert_case')->>'status'" | grep -qx failed
    echo "failing run $i took $(( ($(date +%s%N) - s) / 1000000 )) ms, alerting included"
done
psql_pg -At -c "SELECT status || ' ' || occurrences FROM etl.alerts
                 WHERE alert_type = 'pipeline_failure' AND pipeline_id = 'alert_case' AND status <> 'resolved'" | grep -qx 'open 2'
psql_pg -At -c "SELECT count(*) FROM etl.pipeline_runs WHERE pipeline_id = 'alert_case' AND status = 'failed'" | grep -qx 2
fail_alert=$(psql_pg -At -c "SELECT alert_id FROM etl.alerts WHERE dedup_key = 'pipeline_failure:alert_case' AND status = 'open'")

# webhook delivered and signed; the flaky receiver needed three attempts; the
# closed port failed for good after two, with the error recorded
wait_for 15 "SELECT bool_and(status IN ('delivered', 'failed')) AND count(*) = 4
               FROM etl.alert_deliveries WHERE alert_id = $fail_alert"
psql_pg -At -c "SELECT channel || ' ' || status || ' ' || attempts FROM etl.alert_deliveries
                 WHERE alert_id = $fail_alert ORDER BY channel" | tee "$SRV/fail_deliveries.txt"
diff <(printf '%s\n' 'case_closed failed 2' 'case_flaky delivered 3' 'case_hook delivered 1' 'case_sms_json delivered 1') \
    "$SRV/fail_deliveries.txt"
psql_pg -At -c "SELECT string_agg(COALESCE(a.http_status::text, '-'), ',' ORDER BY a.attempt)
                  FROM etl.alert_delivery_attempts a JOIN etl.alert_deliveries d USING (delivery_id)
                 WHERE d.alert_id = $fail_alert AND d.channel = 'case_flaky'" | grep -qx '500,500,200'
closed_error=$(psql_pg -At -c "SELECT last_error FROM etl.alert_deliveries WHERE alert_id = $fail_alert AND channel = 'case_closed'")
echo "closed port: $closed_error"
[[ "$closed_error" == "Couldn't connect to server"* ]]
$PY - "$SRV/http.jsonl" <<'PY'
import hashlib, hmac, json, sys
posts = [json.loads(l) for l in open(sys.argv[1])]
hooks = [p for p in posts if p["path"] in ("/hook", "/flaky/hook")]
assert len(hooks) == 4, [p["path"] for p in hooks]          # 1 + 3 attempts
for p in hooks:
    sig = p["headers"]["x-metaetl-signature"]
    want = "sha256=" + hmac.new(b"case-hook-secret", p["body"].encode(), hashlib.sha256).hexdigest()
    assert hmac.compare_digest(sig, want), (sig, want)
    body = json.loads(p["body"])
    assert body["event"] == "alert.open" and body["alert"]["alert_type"] == "pipeline_failure", body
    assert body["alert"]["error"] == "division by zero", body
hook = [p for p in hooks if p["path"] == "/hook"][0]
assert hook["headers"]["x-team"] == "data-platform", hook["headers"]
print("webhook signatures ok:", len(hooks))
# the SMS gateway taking JSON with a bearer token
sms = [p for p in posts if p["path"] == "/sms-json"]
assert len(sms) == 1, sms
assert sms[0]["headers"]["authorization"] == "Bearer case-gw-token"
assert sms[0]["headers"]["content-type"] == "application/json"
body = json.loads(sms[0]["body"])
assert body["recipient"] == "+15550001111" and body["sender_id"] == "METAETL", body
assert "pipeline_failure" in body["text"] and "division by zero" in body["text"], body
print("sms json ok:", body["text"])
PY

# --- a transfer is cancellable: a statement timeout stops a hung receiver ----
# (in one transaction, so the worker never sees this delivery)
s=$(date +%s%N)
if psql_pg -q >"$SRV/cancel.out" 2>&1 <<SQL
BEGIN;
SELECT etl.add_alert_channel('case_slow', 'webhook', '{"url": "http://127.0.0.1:$HP/slow/hook", "timeout_ms": 50000}');
SELECT etl._enqueue_alert_deliveries($fail_alert, ARRAY['case_slow']);
SET LOCAL statement_timeout = '1s';
SELECT etl.deliver_pending();
COMMIT;
SQL
then
    echo "deliver_pending to a hung receiver was not cancelled"; exit 1
fi
ms=$(( ($(date +%s%N) - s) / 1000000 ))
cat "$SRV/cancel.out"
echo "cancelled after $ms ms"
grep -q 'canceling statement due to statement timeout' "$SRV/cancel.out"
[ "$ms" -lt 5000 ]
psql_pg -At -c "SELECT count(*) FROM etl.alert_channels WHERE name = 'case_slow'" | grep -qx 0

# --- a test notification: sent at once, signed, nothing recorded -------------
result=$(psql_pg -At -c "SELECT etl.test_alert_channel('case_hook', 'hello from the alerting case')")
echo "test_alert_channel: $result"
[[ "$result" == *'"ok": true'* && "$result" == *'"http_status": 200'* ]]
$PY - "$SRV/http.jsonl" <<'PY'
import hashlib, hmac, json, sys
posts = [json.loads(l) for l in open(sys.argv[1])]
tests = [p for p in posts if p["path"] == "/hook" and json.loads(p["body"])["event"] == "alert.test"]
assert len(tests) == 1, tests
p = tests[0]
want = "sha256=" + hmac.new(b"case-hook-secret", p["body"].encode(), hashlib.sha256).hexdigest()
assert hmac.compare_digest(p["headers"]["x-metaetl-signature"], want)
assert json.loads(p["body"])["alert"]["message"] == "hello from the alerting case"
print("test notification ok")
PY
result=$(psql_pg -At -c "SELECT etl.test_alert_channel('case_closed')")
echo "test_alert_channel (closed port): $result"
[[ "$result" == *'"ok": false'* && "$result" == *"\"error\": \"Couldn't connect to server"* ]]

# --- the next successful run resolves both alerts ----------------------------
psql_pg -q -c "UPDATE ac.mode SET m = 'ok'"
psql_pg -At -c "SELECT etl.execute_pipeline('alert_case')->>'status'" | grep -qx succeeded
states=$(psql_pg -At -c "SELECT string_agg(alert_type || ' ' || status, ', ' ORDER BY alert_type) FROM etl.alerts
                         WHERE alert_id IN ($sla_alert, $fail_alert)")
echo "after the successful run: $states"
[ "$states" = 'pipeline_failure resolved, sla_violation resolved' ]
# the channels that heard of the failure hear that it is over
wait_for 10 "SELECT status = 'delivered' FROM etl.alert_deliveries
              WHERE alert_id = $fail_alert AND channel = 'case_hook' AND event = 'resolved'"
$PY - "$SRV/http.jsonl" <<'PY'
import json, sys
posts = [json.loads(l) for l in open(sys.argv[1]) if json.loads(l)["path"] == "/hook"]
done = [json.loads(p["body"]) for p in posts if json.loads(p["body"])["event"] == "alert.resolved"]
assert len(done) == 1, done
assert done[0]["alert"]["status"] == "resolved" and done[0]["alert"]["alert_type"] == "pipeline_failure", done
print("resolved notification ok:", done[0]["alert"]["details"]["resolved_because"])
PY

# --- no secret anywhere it could be read back ---------------------------------
secrets='case-slack-token|smtp-s3cret|case-twilio-token|case-gw-token|case-hook-secret|case-bad-password'
leaks=$(psql_pg -At -c "SELECT count(*) FROM (
            SELECT payload::text || COALESCE(last_error, '') AS t FROM etl.alert_deliveries
            UNION ALL SELECT COALESCE(error, '') || COALESCE(response, '') || COALESCE(smtp_reply, '') FROM etl.alert_delivery_attempts
            UNION ALL SELECT COALESCE(after::text, '') || COALESCE(before::text, '') FROM etl.audit_log
            UNION ALL SELECT config::text FROM etl.alert_channels_public
            UNION ALL SELECT config::text || secrets::text FROM etl.alert_channels) x
         WHERE t ~ '($secrets)'")
[ "$leaks" = 0 ]
# a dump holds only sealed secrets
as_pg "$PGBIN/pg_dump" -h "$PGHOST" -p "$PGPORT" -U postgres --data-only -t etl.alert_channels "$PGDATABASE" >"$SRV/channels.dump"
grep -q 'metaetl2:k[0-9]*:' "$SRV/channels.dump"
if grep -Eq "$secrets" "$SRV/channels.dump"; then
    echo "a secret is readable in pg_dump's output"; exit 1
fi
if grep -Eq "$secrets" "$WORK/postgres.log"; then
    echo "a secret reached the server log:"; grep -E "$secrets" "$WORK/postgres.log"; exit 1
fi
echo "alert delivery case passed"
