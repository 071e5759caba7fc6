#!/usr/bin/env bash
# PostgreSQL 15 + PostGIS + pgstac for `sporbar publish --to pgstac` / `sporbar serve`.
#
#   services/postgres.sh install   apt-get install postgresql-15 + postgis 3 when missing (root)
#   services/postgres.sh start     install, initdb (first time), start, create db, pypgstac migrate
#   services/postgres.sh stop      stop the cluster (data kept; `clean` removes it)
#   services/postgres.sh status    exit 0 when running
#   services/postgres.sh env       print the PG* variables of the running cluster
#   services/postgres.sh clean     stop and delete the cluster folder
#
# The cluster is the project's own: data, socket, log and password in $SPORBAR_PG_DIR
# (default /tmp/sporbar-pg), listening on 127.0.0.1 only, port $SPORBAR_PG_PORT (default
# 5439, or the next free port when that one is taken by someone else). Every command is
# idempotent. `start` and `env` print lines to eval:
#
#   eval "$(services/postgres.sh start)"   # sets PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE
#
# As root the server runs as the `postgres` user (runuser); otherwise as the caller.
set -euo pipefail

PG_VERSION=15
PG_BIN=${SPORBAR_PG_BIN:-/usr/lib/postgresql/$PG_VERSION/bin}
PG_DIR=${SPORBAR_PG_DIR:-/tmp/sporbar-pg}
PG_PORT_WANTED=${SPORBAR_PG_PORT:-5439}
PG_DB=${SPORBAR_PG_DATABASE:-sporbar}
PG_SUPERUSER=postgres
DATA=$PG_DIR/data
SOCK=$PG_DIR/run
LOG=$PG_DIR/postgres.log
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

log() { echo "postgres.sh: $*" >&2; }
die() { echo "postgres.sh: error: $*" >&2; exit 1; }

if [ "$(id -u)" -eq 0 ]; then
    RUN_AS=postgres
    as_pg() { runuser -u postgres -- "$@"; }
else
    RUN_AS=$(id -un)
    as_pg() { "$@"; }
fi

pypgstac_bin() {
    local c
    for c in "${SPORBAR_PYPGSTAC:-}" "$REPO/.venv/bin/pypgstac" "$(command -v pypgstac || true)"; do
        if [ -n "$c" ] && [ -x "$c" ]; then echo "$c"; return 0; fi
    done
    die "pypgstac not found (looked in \$SPORBAR_PYPGSTAC, $REPO/.venv/bin, PATH); pip install 'pypgstac[psycopg]==0.10.0'"
}

have_postgres() {
    [ -x "$PG_BIN/postgres" ] && [ -x "$PG_BIN/initdb" ] \
        && [ -f "/usr/share/postgresql/$PG_VERSION/extension/postgis.control" ]
}

cmd_install() {
    if have_postgres; then return 0; fi
    [ "$(id -u)" -eq 0 ] || die "PostgreSQL $PG_VERSION + PostGIS missing and not root: apt-get install postgresql-$PG_VERSION postgresql-$PG_VERSION-postgis-3"
    log "installing postgresql-$PG_VERSION postgresql-$PG_VERSION-postgis-3 (apt)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq -o DPkg::Lock::Timeout=600 \
        "postgresql-$PG_VERSION" "postgresql-$PG_VERSION-postgis-3" >&2 \
    || { apt-get update -qq -o DPkg::Lock::Timeout=600 >&2 \
         && apt-get install -y -qq -o DPkg::Lock::Timeout=600 \
            "postgresql-$PG_VERSION" "postgresql-$PG_VERSION-postgis-3" >&2; }
    have_postgres || die "PostgreSQL $PG_VERSION / PostGIS still missing after apt-get install"
}

is_running() { [ -f "$DATA/PG_VERSION" ] && as_pg "$PG_BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

port_free() {
    python3 - "$1" <<'EOF'
import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()
EOF
}

current_port() { cat "$PG_DIR/port"; }

print_env() {
    echo "export PGHOST=127.0.0.1"
    echo "export PGPORT=$(current_port)"
    echo "export PGUSER=$PG_SUPERUSER"
    echo "export PGPASSWORD=$(cat "$PG_DIR/password")"
    echo "export PGDATABASE=$PG_DB"
}

cmd_start() {
    cmd_install
    mkdir -p "$PG_DIR"
    if [ "$RUN_AS" != "$(id -un)" ]; then
        chown "$RUN_AS" "$PG_DIR"
        as_pg test -x "$PG_DIR" -a -w "$PG_DIR" \
            || die "$PG_DIR: user $RUN_AS cannot reach this folder (a parent is not world-traversable); set SPORBAR_PG_DIR to e.g. /tmp/sporbar-pg"
    fi
    if [ ! -f "$DATA/PG_VERSION" ]; then
        log "initdb $DATA (owner $RUN_AS)"
        rm -rf "$DATA"
        umask 077
        [ -f "$PG_DIR/password" ] || python3 -c 'import secrets; print(secrets.token_hex(16))' >"$PG_DIR/password"
        mkdir -p "$DATA" "$SOCK"
        [ "$RUN_AS" = "$(id -un)" ] || chown -R "$RUN_AS" "$PG_DIR"
        chmod 755 "$PG_DIR"
        as_pg "$PG_BIN/initdb" -D "$DATA" -U "$PG_SUPERUSER" --pwfile="$PG_DIR/password" \
            --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1 \
            || { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
        # listen on loopback only; small settings for a shared machine
        cat >>"$DATA/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$SOCK'
max_connections = 60
shared_buffers = 256MB
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
    fi
    if ! is_running; then
        local port=$PG_PORT_WANTED
        while ! port_free "$port"; do
            port=$((port + 1))
            [ "$port" -lt $((PG_PORT_WANTED + 50)) ] || die "no free port in $PG_PORT_WANTED..$port on 127.0.0.1"
        done
        echo "$port" >"$PG_DIR/port"
        [ "$RUN_AS" = "$(id -un)" ] || chown "$RUN_AS" "$PG_DIR/port"
        touch "$LOG" && { [ "$RUN_AS" = "$(id -un)" ] || chown "$RUN_AS" "$LOG"; }
        log "starting on 127.0.0.1:$port (log $LOG)"
        as_pg "$PG_BIN/pg_ctl" -D "$DATA" -l "$LOG" -o "-p $port" -w -t 60 start >/dev/null \
            || { tail -20 "$LOG" >&2; die "pg_ctl start failed (log $LOG)"; }
    fi
    local port; port=$(current_port)
    local psql=("$PG_BIN/psql" -h "$SOCK" -p "$port" -U "$PG_SUPERUSER" -v ON_ERROR_STOP=1 -qtA)
    if [ "$(as_pg "${psql[@]}" -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" != 1 ]; then
        log "creating database $PG_DB"
        as_pg "${psql[@]}" -d postgres -c "CREATE DATABASE \"$PG_DB\"" >/dev/null
    fi
    local pypgstac; pypgstac=$(pypgstac_bin)
    eval "$(print_env)"
    "$pypgstac" migrate >"$PG_DIR/migrate.log" 2>&1 \
        || { cat "$PG_DIR/migrate.log" >&2; die "pypgstac migrate failed"; }
    log "pgstac $(tail -1 "$PG_DIR/migrate.log") in database $PG_DB"
    print_env
}

cmd_stop() {
    if is_running; then
        log "stopping $DATA"
        as_pg "$PG_BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
    fi
}

case "${1:-}" in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) is_running ;;
    env) is_running || die "not running (services/postgres.sh start)"; print_env ;;
    clean) cmd_stop; rm -rf "$PG_DIR" ;;
    *) echo "usage: $0 {install|start|stop|status|env|clean}" >&2; exit 2 ;;
esac
