#!/usr/bin/env bash
# test/harness/common.sh — shared steps of `make test` and `make demo`:
# system packages, a private PostgreSQL installation to build into, and a
# throwaway cluster owned by the postgres user.
#
# The private installation is a copy of Debian's PostgreSQL 15 tree under a
# fresh temporary directory (PostgreSQL finds its share and lib directories
# relative to its binaries), so `make test` never touches the system
# installation, never collides with another run, and passes twice in a row.

set -euo pipefail

PG_MAJOR=15
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# Debian packages every test needs.  Later subsystems add theirs here.
METAETL_PACKAGES=(
    build-essential pkg-config
    postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR
    postgresql-$PG_MAJOR-cron postgresql-$PG_MAJOR-pgtap libtap-parser-sourcehandler-pgtap-perl
    libcurl4-openssl-dev libyaml-dev libssl-dev
    python3-aiosmtpd openssl    # alerting: the SMTP test server and its STARTTLS certificate
    python3-yaml python3-jsonschema    # config: docs/config-schema.json check
    libpcre2-dev    # quality: PCRE2 (JIT) for pattern and format rules
    zlib1g-dev libzstd-dev libsnappy-dev    # connectors: compressed files, Parquet codecs
    zstd gzip    # connectors: compressed fixtures written and checked by the zstd(1) and gzip(1) tools
    libzip-dev libxml2-dev    # connectors: xlsx, SOAP/XML
    libpq-dev    # connectors: libpq bulk path; the metaetl CLI and metaetl-api
    libmicrohttpd-dev    # metaetl-api
    mariadb-server mariadb-client postgresql-$PG_MAJOR-mysql-fdw postgresql-$PG_MAJOR-tds-fdw    # relational connectors
    postgresql-$PG_MAJOR-wal2json    # log CDC
    python3-pandas python3-sklearn python3-pymysql python3-openpyxl    # fixtures and baselines
    python3-xlsxwriter    # connectors: xlsx fixtures written the way Excel writes them (shared strings, cached formulas)
    chromium    # dashboard test (headless)
)

log() { printf '== %s\n' "$*" >&2; }

# metaetl_deps [extra packages...]: install what is missing (as root), or
# print the exact command and stop.
metaetl_deps() {
    local pkgs=("${METAETL_PACKAGES[@]}" "$@") missing=() p
    for p in "${pkgs[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "metaetl: missing Debian packages; install them with:" >&2
        echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# as_pg CMD...: run a command as the cluster owner (postgres when root).
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# metaetl_workdir: a fresh directory for this run, writable by the cluster owner.
metaetl_workdir() {
    WORK=$(mktemp -d /tmp/metaetl-run.XXXXXX)
    chmod 755 "$WORK"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$WORK"
    export WORK
}

# metaetl_private_pg [ROOT]: copy PostgreSQL into ROOT (default $WORK/pg);
# sets PGBIN, PG_CONFIG.
metaetl_private_pg() {
    local root=${1:-$WORK/pg}
    mkdir -p "$root/lib/postgresql" "$root/share/postgresql" "$root/include/postgresql"
    cp -a /usr/lib/postgresql/$PG_MAJOR "$root/lib/postgresql/"
    cp -a /usr/share/postgresql/$PG_MAJOR "$root/share/postgresql/"
    cp -a /usr/include/postgresql/$PG_MAJOR "$root/include/postgresql/"
    # libpq's headers sit one level up (pg_config --includedir)
    cp -a /usr/include/postgresql/*.h /usr/include/postgresql/libpq "$root/include/postgresql/"
    PGBIN=$root/lib/postgresql/$PG_MAJOR/bin
    PG_CONFIG=$PGBIN/pg_config
    export PGBIN PG_CONFIG
}

# metaetl_build: compile with -Werror and install into the private tree.
metaetl_build() {
    log "building metaetl"
    make -C "$REPO" -s PG_CONFIG="$PG_CONFIG" clean >/dev/null
    make -C "$REPO" -s PG_CONFIG="$PG_CONFIG" 2>&1
    make -C "$REPO" -s PG_CONFIG="$PG_CONFIG" install >/dev/null
}

# metaetl_free_port: print a TCP port on 127.0.0.1 nobody listens on.
metaetl_free_port() {
    local p
    for _ in $(seq 1 200); do
        p=$(( 20000 + RANDOM % 30000 ))
        if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    echo "metaetl: no free port found" >&2
    return 1
}

# metaetl_cluster_init DB: initdb a cluster in $WORK/data, configured for the
# tests; sets PGPORT, PGHOST, PGDATABASE.
metaetl_cluster_init() {
    local db=$1
    PGPORT=$(metaetl_free_port)
    PGHOST=$WORK
    PGDATABASE=$db
    export PGPORT PGHOST PGDATABASE
    as_pg "$PGBIN/initdb" -D "$WORK/data" --no-locale -E UTF8 -A trust -U postgres >/dev/null
    cat >>"$WORK/data/postgresql.conf" <<CONF
port = $PGPORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$WORK'
shared_preload_libraries = 'metaetl,pg_cron'
cron.database_name = '$db'
metaetl.database = '$db'
max_worker_processes = 32
fsync = off
synchronous_commit = off
full_page_writes = off
log_min_messages = warning
log_line_prefix = '%m [%p] %q%a '
timezone = 'UTC'
# log CDC (docs/incremental.md): logical decoding with wal2json
wal_level = logical
CONF
    # servers that restrict output plugins must allow wal2json (grep reads
    # everything: with -q it may exit first, and pipefail would see SIGPIPE)
    if as_pg "$PGBIN/postgres" --describe-config 2>/dev/null | grep '^output_plugin_libraries' >/dev/null; then
        echo "output_plugin_libraries = 'pgoutput, test_decoding, wal2json'" >>"$WORK/data/postgresql.conf"
    fi
}

metaetl_cluster_start() {
    as_pg "$PGBIN/pg_ctl" -D "$WORK/data" -l "$WORK/postgres.log" -w -t 60 start >/dev/null
}

metaetl_cluster_stop() {
    [ -n "${WORK:-}" ] && [ -f "$WORK/data/postmaster.pid" ] || return 0
    as_pg "$PGBIN/pg_ctl" -D "$WORK/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
        as_pg "$PGBIN/pg_ctl" -D "$WORK/data" -m immediate -w stop >/dev/null 2>&1 || true
}

# metaetl_cluster_restart: for settings that need a server restart
metaetl_cluster_restart() {
    metaetl_cluster_stop
    metaetl_cluster_start
}

# Servers besides the cluster (remote PostgreSQL, MariaDB, moto_server,
# azurite, HTTP fixtures) live in test/harness/servers/NAME.sh.  Each file
# defines metaetl_server_NAME_start, which starts it on loopback under
# $WORK/NAME on a free port and exports what tests need (METAETL_NAME_PORT,
# ...; pg_regress files read them with psql's \getenv), and
# metaetl_server_NAME_stop.  metaetl_servers_start starts them all (or the
# ones named); metaetl_cleanup stops what was started, even on failure.
METAETL_SERVERS_STARTED=()
for _srv in "$REPO"/test/harness/servers/*.sh; do
    [ -e "$_srv" ] && source "$_srv"
done
unset _srv

metaetl_servers_start() {
    local names=("$@") f n
    if [ ${#names[@]} -eq 0 ]; then
        for f in "$REPO"/test/harness/servers/*.sh; do
            [ -e "$f" ] && names+=("$(basename "$f" .sh)")
        done
    fi
    for n in "${names[@]}"; do
        [[ " ${METAETL_SERVERS_STARTED[*]} " == *" $n "* ]] && continue
        log "starting server $n"
        "metaetl_server_${n}_start"
        METAETL_SERVERS_STARTED+=("$n")
    done
}

metaetl_servers_stop() {
    local n
    for n in "${METAETL_SERVERS_STARTED[@]}"; do
        "metaetl_server_${n}_stop" || true
    done
    METAETL_SERVERS_STARTED=()
}

# metaetl_cleanup: stop the servers and the cluster and remove the run
# directory (kept when METAETL_KEEP=1, for debugging).
metaetl_cleanup() {
    metaetl_servers_stop
    metaetl_cluster_stop
    if [ -n "${WORK:-}" ] && [ "${METAETL_KEEP:-0}" != 1 ]; then
        rm -rf "$WORK"
    elif [ -n "${WORK:-}" ]; then
        log "kept $WORK"
    fi
}

# psql_pg ARGS...: psql as the cluster owner, stopping on the first error.
psql_pg() {
    as_pg "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PGHOST" -p "$PGPORT" -U postgres "$@"
}
