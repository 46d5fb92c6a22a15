# case 95_openlineage: OpenLineage RunEvents of real runs (START, COMPLETE,
# FAIL, ABORT, backfills) delivered by the delivery worker to a loopback
# receiver, with retries, each validated against the OpenLineage JSON Schema
# (test/fixtures/openlineage) — issue 20's acceptance.  The body runs in its
# own bash so that its `set -e` holds: this file is sourced by test.sh inside
# an `if`, where errexit is ignored.
bash "$REPO/test/harness/lineage/openlineage_case.sh"
