#!/usr/bin/env bash
# test/harness/servers/gcs.sh — test/harness/gcs_fake.py, a FAKE standing in
# for Google Cloud Storage's XML API (no GCS emulator exists here; the fake
# verifies every request's signature with its own implementation of the V4
# algorithm), on 127.0.0.1 over http and over https with a certificate made
# here for 127.0.0.1.  Exports METAETL_GCS_PORT, METAETL_GCS_TLS_PORT,
# METAETL_GCS_CA (the certificate, readable by the cluster owner) and the
# fake's HMAC keys METAETL_GCS_KEY_ID / METAETL_GCS_SECRET (read-write) and
# METAETL_GCS_RO_KEY_ID / METAETL_GCS_RO_SECRET (read-only).

metaetl_server_gcs_start() {
    local dir=$WORK/gcs port tport i
    mkdir -p "$dir"
    port=$(metaetl_free_port)
    tport=$(metaetl_free_port)
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
        -addext subjectAltName=IP:127.0.0.1 -keyout "$dir/key.pem" -out "$dir/cert.pem" >/dev/null 2>&1
    chmod 644 "$dir/cert.pem"
    python3 "$REPO/test/harness/gcs_fake.py" --port "$port" --tls-port "$tport" \
        --cert "$dir/cert.pem" --key "$dir/key.pem" >"$dir/gcs.log" 2>&1 &
    echo $! >"$dir/pid"
    for i in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.1
    done
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { cat "$dir/gcs.log" >&2; return 1; }
    export METAETL_GCS_PORT=$port METAETL_GCS_TLS_PORT=$tport METAETL_GCS_CA=$dir/cert.pem
    export METAETL_GCS_KEY_ID=GOOG1METAETLREADWRITE METAETL_GCS_SECRET=gcs-fake-rw-secret
    export METAETL_GCS_RO_KEY_ID=GOOG1METAETLREADONLY METAETL_GCS_RO_SECRET=gcs-fake-ro-secret
}

metaetl_server_gcs_stop() {
    local pidf=${WORK:-/nonexistent}/gcs/pid
    [ -f "$pidf" ] || return 0
    kill "$(cat "$pidf")" 2>/dev/null || true
    rm -f "$pidf"
}
