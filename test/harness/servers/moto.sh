#!/usr/bin/env bash
# test/harness/servers/moto.sh — moto_server (the pyenv's moto) as the S3 of
# the tests, on 127.0.0.1, logs under $WORK/moto.
#
# Signatures are verified and IAM policies enforced (moto does both once
# INITIAL_NO_AUTH_ACTION_COUNT unauthenticated requests have been served:
# exactly the ones moto_setup.py makes to create the users).  Three users:
#   METAETL_MOTO_KEY_ID / METAETL_MOTO_SECRET            s3:* on everything
#   METAETL_MOTO_READER_KEY_ID / METAETL_MOTO_READER_SECRET  get and list only
#   METAETL_MOTO_NOBODY_KEY_ID / METAETL_MOTO_NOBODY_SECRET  no permission
# and the bucket metaetl-test.  Also exported: METAETL_MOTO_PORT and
# METAETL_MOTO_ENDPOINT (http://127.0.0.1:PORT).

metaetl_server_moto_start() {
    local dir=$WORK/moto port i
    mkdir -p "$dir"
    port=$(metaetl_free_port)
    (cd "$dir" && INITIAL_NO_AUTH_ACTION_COUNT=8 exec python3 -m moto.server -H 127.0.0.1 -p "$port" \
        >"$dir/moto.log" 2>&1) &
    echo $! >"$dir/pid"
    for i in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.2
    done
    python3 "$REPO/test/harness/moto_setup.py" "http://127.0.0.1:$port" >"$dir/env" || {
        echo "moto: setup failed; log:" >&2
        cat "$dir/moto.log" >&2
        return 1
    }
    # shellcheck disable=SC1091
    source "$dir/env"
    export METAETL_MOTO_PORT=$port METAETL_MOTO_ENDPOINT=http://127.0.0.1:$port
}

metaetl_server_moto_stop() {
    local pidf=${WORK:-/nonexistent}/moto/pid
    [ -f "$pidf" ] || return 0
    kill "$(cat "$pidf")" 2>/dev/null || true
    rm -f "$pidf"
}
