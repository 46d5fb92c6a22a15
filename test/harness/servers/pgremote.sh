# test/harness/servers/pgremote.sh — a second PostgreSQL 15 cluster, the
# "remote" of the relational connector tests (docs/databases.md).
#
# Built from the private PostgreSQL copy ($PGBIN), its own data directory
# $WORK/pgremote and a free loopback port; pg_stat_statements is preloaded so
# tests can prove which SQL reached the remote (pushdown).  Authentication:
# the socket and the superuser postgres are trusted (fixtures), every other
# role must give its SCRAM password over TCP — as on a real server, where a
# non-superuser's postgres_fdw connection must use a password.
#
# wal_level = logical, for log CDC sources reading a slot on the remote.
#
# Exports METAETL_PGREMOTE_PORT, METAETL_PGREMOTE_HOST (127.0.0.1),
# METAETL_PGREMOTE_SOCKET and METAETL_PGREMOTE_DB (the database "remote",
# with role etl_remote / password etl_remote_pw owning it).

metaetl_server_pgremote_start() {
    local dir=$WORK/pgremote port
    port=$(metaetl_free_port)
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
    as_pg "$PGBIN/initdb" -D "$dir/data" --no-locale -E UTF8 -A trust -U postgres >/dev/null
    cat >>"$dir/data/postgresql.conf" <<CONF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = all
password_encryption = 'scram-sha-256'
max_connections = 40
fsync = off
synchronous_commit = off
full_page_writes = off
log_min_messages = warning
timezone = 'UTC'
# log CDC from the remote (docs/incremental.md): logical decoding with wal2json
wal_level = logical
CONF
    if as_pg "$PGBIN/postgres" --describe-config 2>/dev/null | grep '^output_plugin_libraries' >/dev/null; then
        echo "output_plugin_libraries = 'pgoutput, test_decoding, wal2json'" >>"$dir/data/postgresql.conf"
    fi
    cat >"$dir/data/pg_hba.conf" <<HBA
local all all trust
host all postgres 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
HBA
    as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start >/dev/null
    as_pg "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d postgres <<'SQL' >/dev/null
CREATE ROLE etl_remote LOGIN PASSWORD 'etl_remote_pw';
CREATE DATABASE remote OWNER etl_remote;
\c remote
CREATE EXTENSION pg_stat_statements;
GRANT pg_read_all_stats TO etl_remote;
SQL
    METAETL_PGREMOTE_PORT=$port
    METAETL_PGREMOTE_HOST=127.0.0.1
    METAETL_PGREMOTE_SOCKET=$dir
    METAETL_PGREMOTE_DB=remote
    export METAETL_PGREMOTE_PORT METAETL_PGREMOTE_HOST METAETL_PGREMOTE_SOCKET METAETL_PGREMOTE_DB
}

# psql on the remote as its superuser (fixtures and checks)
psql_pgremote() {
    as_pg "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$METAETL_PGREMOTE_SOCKET" \
        -p "$METAETL_PGREMOTE_PORT" -U postgres "$@"
}

metaetl_server_pgremote_stop() {
    local dir=${WORK:-/nonexistent}/pgremote
    [ -f "$dir/data/postmaster.pid" ] || return 0
    as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
        as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
}
