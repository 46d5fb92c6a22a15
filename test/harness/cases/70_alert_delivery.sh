# case 70_alert_delivery: alerts delivered by the background worker to real
# servers on loopback (Slack/SMS/webhook HTTP receiver, STARTTLS and smtps
# SMTP servers, a flaky receiver, a closed port) — issue 8's acceptance.
# The body runs in its own bash so that its `set -e` holds: this file is
# sourced by test.sh inside an `if`, where errexit is ignored.
bash "$REPO/test/harness/alerting/delivery_case.sh"
