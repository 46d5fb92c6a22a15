# test/harness/servers/httpfix.sh — the HTTP connectors' loopback fixtures
# (test/harness/http/httpfix.py: pagination, auth, OAuth2 tokens, failures,
# SOAP, a receiver for HTTP targets).  Exports METAETL_HTTPFIX_URL
# (http://127.0.0.1:PORT) and METAETL_HTTPFIX_PORT.

metaetl_server_httpfix_start() {
    local dir=$WORK/httpfix port
    mkdir -p "$dir"
    port=$(metaetl_free_port)
    /usr/bin/python3 "$REPO/test/harness/http/httpfix.py" "$port" >"$dir/server.log" 2>&1 &
    echo $! >"$dir/pid"
    for _ in $(seq 1 100); do
        if (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then
            export METAETL_HTTPFIX_PORT=$port
            export METAETL_HTTPFIX_URL=http://127.0.0.1:$port
            return 0
        fi
        sleep 0.1
    done
    echo "metaetl: httpfix did not start; its log:" >&2
    cat "$dir/server.log" >&2
    return 1
}

metaetl_server_httpfix_stop() {
    local pidfile=${WORK:-/nonexistent}/httpfix/pid
    [ -f "$pidfile" ] || return 0
    kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
}
