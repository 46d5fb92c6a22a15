# test/harness/servers/mariadb.sh — a real MariaDB server (Debian's
# mariadb-server) for the relational connector tests (docs/databases.md).
#
# Its own datadir $WORK/mariadb (mariadb-install-db), a socket there and a
# free loopback port; no networking beyond 127.0.0.1, no grant tables shared
# with a system server.  The server runs as the postgres OS user when the
# harness runs as root (mariadbd refuses root unless told --user=root, and a
# root-owned datadir would outlive a failed run), so stop and cleanup need no
# privileges.  Exports METAETL_MARIADB_PORT, METAETL_MARIADB_HOST (127.0.0.1),
# METAETL_MARIADB_SOCKET, and the database "shop" owned by user etl / etl_pw (and etl_nopw without
# a password, which only superusers' connections may use).

# mariadbd on datadir $1, port $2, in the background; waits until it answers
_metaetl_mariadb_run() {
    local dir=$1 port=$2 i
    as_pg mariadbd --no-defaults --datadir="$dir/data" --socket="$dir/mysqld.sock" \
        --pid-file="$dir/mysqld.pid" --port="$port" --bind-address=127.0.0.1 \
        --skip-name-resolve --innodb-buffer-pool-size=64M --innodb-log-file-size=16M \
        --innodb-flush-log-at-trx-commit=0 --log-error="$dir/error.log" \
        --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
        --default-time-zone=+00:00 --max-connections=40 </dev/null >/dev/null 2>&1 &
    for i in $(seq 1 120); do
        mariadb-admin --no-defaults --socket="$dir/mysqld.sock" -uroot ping >/dev/null 2>&1 && break
        sleep 0.25
    done
    mariadb-admin --no-defaults --socket="$dir/mysqld.sock" -uroot ping >/dev/null 2>&1 ||
        { echo "mariadb did not start:"; tail -20 "$dir/error.log"; return 1; }
}

# start the stopped server again on its datadir and port (a case stopped it mid-run)
metaetl_server_mariadb_resume() {
    _metaetl_mariadb_run "$WORK/mariadb" "$METAETL_MARIADB_PORT"
}

metaetl_server_mariadb_start() {
    local dir=$WORK/mariadb port
    port=$(metaetl_free_port)
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
    as_pg mariadb-install-db --no-defaults --datadir="$dir/data" --auth-root-authentication-method=normal \
        --skip-test-db >"$dir/install.log" 2>&1
    _metaetl_mariadb_run "$dir" "$port" || return 1
    mariadb --no-defaults --socket="$dir/mysqld.sock" -uroot <<'SQL'
CREATE DATABASE shop CHARACTER SET utf8mb4;
CREATE USER 'etl'@'127.0.0.1' IDENTIFIED BY 'etl_pw';
CREATE USER 'etl'@'localhost' IDENTIFIED BY 'etl_pw';
GRANT ALL ON shop.* TO 'etl'@'127.0.0.1';
GRANT ALL ON shop.* TO 'etl'@'localhost';
-- no password: for superuser-run tests only (metaetl refuses it to other roles)
CREATE USER 'etl_nopw'@'127.0.0.1';
GRANT ALL ON shop.* TO 'etl_nopw'@'127.0.0.1';
SQL
    METAETL_MARIADB_PORT=$port
    METAETL_MARIADB_HOST=127.0.0.1
    METAETL_MARIADB_SOCKET=$dir/mysqld.sock
    export METAETL_MARIADB_PORT METAETL_MARIADB_HOST METAETL_MARIADB_SOCKET
}

# the mariadb client as root on the test server (fixtures and checks)
mariadb_root() {
    mariadb --no-defaults --socket="$METAETL_MARIADB_SOCKET" -uroot "$@"
}

metaetl_server_mariadb_stop() {
    local dir=${WORK:-/nonexistent}/mariadb i pid
    [ -f "$dir/mysqld.pid" ] || return 0
    pid=$(cat "$dir/mysqld.pid")
    mariadb-admin --no-defaults --socket="$dir/mysqld.sock" -uroot shutdown >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
    for i in $(seq 1 120); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.25
    done
    kill -9 "$pid" 2>/dev/null || true
}
