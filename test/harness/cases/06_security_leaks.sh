# case 06_security_leaks: planted secrets never come back out (issue 12).
#
# Known secrets are planted where users put them — a password in a
# connection's options (rejected), credentials (one added twice, so the
# statement holding it fails), a Slack webhook whose token is in the URL
# path, an SMS gateway with basic auth, a Vault store token — and failures
# are caused that make servers echo them back: the echo receiver of the
# secret-store fakes (test/harness/security/secret_fakes.py) repeats the
# path, headers and body it got, as careless servers do.  Then every place a
# secret could surface is searched, for each secret and its base64,
# base64url and percent-encoded forms (and base64 of user:password): the
# server log, every row of every etl table, pg_dump --data-only, and what
# the clients printed (errors, notices).  Zero hits.
set -euo pipefail
L=$WORK/leaks
rm -rf "$L"
mkdir -p "$L"
chmod 777 "$L"
URL=${METAETL_SECRETFAKES_URL:?the secretfakes server is not running}

CONN_PW='LEAK-conn-pw-8f3k'
CRED_PW='LEAK-cred-pw-2q9z'
SLACK_TOK='LEAKslacktoken7Hd2Kq'
SMS_USER='ACleak42'
SMS_PW='LEAK-sms-pw-5Tg1'
VAULT_TOK='LEAK-vault-tok-3Ns8'
HOOK_SECRET='LEAK-hook-secret-9Vb'

psql_pg -d postgres -c 'CREATE DATABASE leaks'
q() { as_pg "$PGBIN/psql" -X -v ON_ERROR_STOP=0 -h "$PGHOST" -p "$PGPORT" -U postgres -d leaks "$@" >>"$L/client.out" 2>&1 || true; }
q -c 'CREATE EXTENSION metaetl' -c 'CREATE ROLE leak_dev LOGIN'

# 1. a password in a connection's options: rejected, as a superuser and as a plain role
q -c "SELECT etl.add_connection('c1', 'postgresql', '{\"host\": \"db\", \"password\": \"$CONN_PW\"}')"
q -c "SET ROLE leak_dev" -c "SELECT etl.add_connection('c2', 'postgresql', '{\"dbname\": \"postgresql://u:$CONN_PW@db/x\"}')"
# 2. credentials: added, added again (fails with the secret in the statement), rotated badly
q -c "SET ROLE leak_dev" \
  -c "SELECT etl.add_credential('cred', '{\"user\": \"etl\", \"password\": \"$CRED_PW\"}')" \
  -c "SELECT etl.add_credential('cred', '{\"user\": \"etl\", \"password\": \"$CRED_PW\"}')" \
  -c "SELECT etl.rotate_credential('cred', '{\"password\": null, \"x\": \"$CRED_PW\"}')" \
  -c "SELECT etl.add_connection('c3', 'postgresql', '{}', 'cred')" \
  -c "SELECT etl.test_credential('cred')"
# 3. alert channels whose secrets the receiver echoes back
q -c "SELECT etl.add_alert_channel('leak_slack', 'slack', '{\"webhook_url\": \"$URL/echo/services/T0/B0/$SLACK_TOK\"}')" \
  -c "SELECT etl.add_alert_channel('leak_sms', 'sms', '{\"url\": \"$URL/echo/sms\", \"to\": \"+15550001111\", \"auth\": \"basic\", \"username\": \"$SMS_USER\", \"password\": \"$SMS_PW\"}')" \
  -c "SELECT etl.add_alert_channel('leak_hook', 'webhook', '{\"url\": \"$URL/echo/hook\", \"secret\": \"$HOOK_SECRET\", \"headers\": {\"X-Token\": \"$SLACK_TOK\"}}')" \
  -c "SELECT etl.test_alert_channel('leak_slack')" \
  -c "SELECT etl.test_alert_channel('leak_sms')" \
  -c "SELECT etl.test_alert_channel('leak_hook')" \
  -c "SELECT etl.add_alert_route(ARRAY['leak_slack', 'leak_sms', 'leak_hook'], ARRAY['system_error'])" \
  -c "SELECT etl.raise_alert('system_error', 'high', 'leak test')" \
  -c "SELECT etl.deliver_pending()"
# 4. a secret store whose token is refused (the fake echoes the token in its error)
q -c "SELECT etl.add_credential('vault_tok', '{\"token\": \"$VAULT_TOK\"}')" \
  -c "SELECT etl.add_secret_store('vault', 'hashicorp_vault', '{\"address\": \"$URL\"}', 'vault_tok')" \
  -c "SELECT etl.add_credential('via_vault', '{\"store\": \"vault\", \"ref\": \"team-a/db#password\"}')" \
  -c "SELECT etl.test_credential('via_vault')"
# 5. the master key rotates; the delivery worker has drained the access log
q -c "SELECT etl.rotate_master_key()" -c "SELECT pg_sleep(1.5)"

# what the echo receiver answered did reach metaetl (the test would prove nothing otherwise)
echoed=$(as_pg "$PGBIN/psql" -X -At -h "$PGHOST" -p "$PGPORT" -U postgres -d leaks \
         -c "SELECT count(*) FROM etl.alert_delivery_attempts WHERE http_status = 400 AND response ~ '^POST /echo'")
echo "deliveries the echo receiver answered: $echoed"
[ "$echoed" -ge 3 ] || { echo "the echo receiver was not reached"; cat "$L/client.out"; exit 1; }

# everything searchable: every row of every etl table, a data dump, the server log, client output
as_pg "$PGBIN/psql" -X -At -h "$PGHOST" -p "$PGPORT" -U postgres -d leaks -c "
    SELECT format('SELECT %L || '' '' || to_jsonb(t)::text FROM %s t;', c.oid::regclass, c.oid::regclass)
      FROM pg_class c WHERE c.relnamespace = 'etl'::regnamespace AND c.relkind = 'r'" >"$L/queries.sql"
as_pg "$PGBIN/psql" -X -At -h "$PGHOST" -p "$PGPORT" -U postgres -d leaks -f "$L/queries.sql" >"$L/tables.txt"
as_pg "$PGBIN/pg_dump" -h "$PGHOST" -p "$PGPORT" -U postgres --data-only -d leaks -f "$L/dump.sql"
grep -c . "$L/tables.txt" >/dev/null

/usr/bin/python3 - "$L" "$WORK/postgres.log" "$CONN_PW" "$CRED_PW" "$SLACK_TOK" "$SMS_PW" "$VAULT_TOK" \
    "$HOOK_SECRET" "$SMS_USER:$SMS_PW" <<'PY'
import base64, sys, urllib.parse
d, log, secrets = sys.argv[1], sys.argv[2], sys.argv[3:]
forms = {}
for s in secrets:
    b = s.encode()
    forms[s] = s
    forms["b64(%s)" % s] = base64.b64encode(b).decode().rstrip("=")
    forms["b64url(%s)" % s] = base64.urlsafe_b64encode(b).decode().rstrip("=")
    forms["pct(%s)" % s] = urllib.parse.quote(s, safe="")
places = {"server log": log, "etl tables": d + "/tables.txt", "pg_dump": d + "/dump.sql",
          "client output": d + "/client.out"}
hits = 0
for place, path in places.items():
    text = open(path, errors="replace").read()
    for name, form in forms.items():
        if form in text:
            hits += 1
            i = text.index(form)
            print("LEAK in %s: %s near ...%s..." % (place, name, text[max(0, i - 80):i + 40].replace("\n", " ")))
print("searched %d places for %d forms of %d secrets: %d hits" % (len(places), len(forms), len(secrets), hits))
sys.exit(1 if hits else 0)
PY
psql_pg -d postgres -c 'DROP DATABASE leaks' -c 'DROP ROLE leak_dev'
