# test/harness/servers/secretfakes.sh — the loopback FAKE of HashiCorp Vault
# (KV v2) and Azure Key Vault, and an echo receiver (test/harness/security/
# secret_fakes.py): no real Vault or Key Vault server can run here.
# Exports METAETL_SECRETFAKES_URL (http://127.0.0.1:PORT) and
# METAETL_SECRETFAKES_DIR (its data files).

metaetl_server_secretfakes_start() {
    local dir=$WORK/secretfakes port
    mkdir -p "$dir"
    port=$(metaetl_free_port)
    cat >"$dir/auth.json" <<JSON
{"vault_token": "vault-tok-7Qx9", "azure_client_secret": "azure-cs-4Lm2", "azure_access_token": "azure-at-9Pz1"}
JSON
    echo '{"team-a/db": {"user": "etl", "password": "vault-db-pw-3Kd8"}}' >"$dir/vault.json"
    echo '{"crm-password": "azure-kv-pw-6Wq5"}' >"$dir/azure.json"
    /usr/bin/python3 "$REPO/test/harness/security/secret_fakes.py" "$port" "$dir" \
        >"$dir/server.log" 2>&1 &
    echo $! >"$dir/pid"
    for _ in $(seq 1 50); do
        (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
        sleep 0.1
    done
    chmod -R a+rX "$dir"
    export METAETL_SECRETFAKES_URL="http://127.0.0.1:$port" METAETL_SECRETFAKES_DIR="$dir"
}

metaetl_server_secretfakes_stop() {
    local pidf=$WORK/secretfakes/pid
    [ -f "$pidf" ] && kill "$(cat "$pidf")" 2>/dev/null
    rm -f "$pidf"
    return 0
}
