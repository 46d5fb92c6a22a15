# test/harness/servers/pgreplica.sh — a third PostgreSQL 15 cluster with
# wal_level = replica: the remote server log CDC must refuse
# (docs/incremental.md, "Log CDC from a remote PostgreSQL server").
#
# Same binaries ($PGBIN) as the other clusters, its own data directory
# $WORK/pgreplica and a free loopback port.  Only what the test needs: the
# superuser postgres, trusted over the socket and 127.0.0.1, and a small
# configuration so that it costs about a second to start.
#
# Exports METAETL_PGREPLICA_PORT and METAETL_PGREPLICA_SOCKET.

metaetl_server_pgreplica_start() {
    local dir=$WORK/pgreplica port
    port=$(metaetl_free_port)
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
    as_pg "$PGBIN/initdb" -D "$dir/data" --no-locale -E UTF8 -A trust -U postgres >/dev/null
    cat >>"$dir/data/postgresql.conf" <<CONF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = 10
shared_buffers = 16MB
max_wal_senders = 2
fsync = off
synchronous_commit = off
full_page_writes = off
log_min_messages = warning
timezone = 'UTC'
# not logical: log CDC from this server is refused
wal_level = replica
CONF
    cat >"$dir/data/pg_hba.conf" <<HBA
local all all trust
host all postgres 127.0.0.1/32 trust
HBA
    as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start >/dev/null
    METAETL_PGREPLICA_PORT=$port
    METAETL_PGREPLICA_SOCKET=$dir
    export METAETL_PGREPLICA_PORT METAETL_PGREPLICA_SOCKET
}

metaetl_server_pgreplica_stop() {
    local dir=${WORK:-/nonexistent}/pgreplica
    [ -f "$dir/data/postmaster.pid" ] || return 0
    as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
        as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
}
