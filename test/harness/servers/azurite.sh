#!/usr/bin/env bash
# test/harness/servers/azurite.sh — Azurite, Microsoft's Azure Storage
# emulator (npm, pinned in test/fixtures/azurite/package-lock.json), as the
# Blob service of the tests, on 127.0.0.1 with its data under $WORK/azurite.
#
# The node modules are installed with `npm ci` into a cache directory outside
# the repository (METAETL_AZURITE_DIR, default /tmp/metaetl-azurite-<hash of
# the lock file>), once per lock file, so a fresh machine installs on first
# use.  The account is Azurite's well-known development account; exported:
# METAETL_AZURITE_PORT, METAETL_AZURITE_ENDPOINT (with the account in the
# path, as Azurite addresses it), METAETL_AZURITE_ACCOUNT, METAETL_AZURITE_KEY,
# and two account SAS tokens from azure_setup.py (METAETL_AZURITE_SAS
# read-write, METAETL_AZURITE_RO_SAS read-only).  The container metaetl-test
# exists.

metaetl_azurite_install() {
    local here=$REPO/test/fixtures/azurite hash dir
    hash=$(sha1sum "$here/package-lock.json" | cut -c1-12)
    dir=${METAETL_AZURITE_DIR:-/tmp/metaetl-azurite-$hash}
    if [ ! -e "$dir/.installed" ]; then
        command -v npm >/dev/null || { echo "azurite: npm is not installed (apt-get install nodejs npm)" >&2; return 1; }
        mkdir -p "$dir"
        (
            flock 9
            if [ ! -e "$dir/.installed" ]; then
                cp "$here/package.json" "$here/package-lock.json" "$dir/"
                if ! (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >"$dir/npm.log" 2>&1); then
                    echo "azurite: npm ci failed in $dir:" >&2
                    cat "$dir/npm.log" >&2
                    exit 1
                fi
                touch "$dir/.installed"
            fi
        ) 9>"$dir/.lock" || return 1
    fi
    echo "$dir"
}

metaetl_server_azurite_start() {
    local dir=$WORK/azurite port inst i
    inst=$(metaetl_azurite_install) || return 1
    mkdir -p "$dir"
    port=$(metaetl_free_port)
    node "$inst/node_modules/azurite/dist/src/blob/main.js" --blobHost 127.0.0.1 --blobPort "$port" \
        --location "$dir" --silent --skipApiVersionCheck --disableProductStyleUrl \
        >"$dir/azurite.log" 2>&1 &
    echo $! >"$dir/pid"
    for i in $(seq 1 150); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.2
    done
    export METAETL_AZURITE_PORT=$port METAETL_AZURITE_ENDPOINT=http://127.0.0.1:$port/devstoreaccount1
    export METAETL_AZURITE_ACCOUNT=devstoreaccount1
    export METAETL_AZURITE_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
    python3 "$REPO/test/harness/azure_setup.py" "$METAETL_AZURITE_ENDPOINT" >"$dir/env" || {
        echo "azurite: setup failed; log:" >&2
        cat "$dir/azurite.log" >&2
        return 1
    }
    # shellcheck disable=SC1091
    source "$dir/env"
}

metaetl_server_azurite_stop() {
    local pidf=${WORK:-/nonexistent}/azurite/pid
    [ -f "$pidf" ] || return 0
    kill "$(cat "$pidf")" 2>/dev/null || true
    rm -f "$pidf"
}
