#!/usr/bin/env bash
# Make sure a PostgreSQL server answers on 127.0.0.1:5432 and lets user
# `postgres` in without a password from 127.0.0.1 (trust), and that `psql` is
# available. On a fresh Debian machine this installs PostgreSQL from the Debian
# packages and starts the cluster without systemd.
#
# Skipped entirely when SWITCHBOARD_TEST_POSTGRES_URL is already set.
set -euo pipefail

PG_HOST=127.0.0.1
PG_PORT=5432

log() { printf '[ensure-postgres] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

if [[ -n "${SWITCHBOARD_TEST_POSTGRES_URL:-}" ]]; then
    log "SWITCHBOARD_TEST_POSTGRES_URL is set; not touching the local PostgreSQL"
    exit 0
fi

# Run a command as root (directly, or through sudo when available).
as_root() {
    if [[ "$(id -u)" == 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root (or sudo) to run: $*"
    fi
}

pg_answers() {
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -h "$PG_HOST" -p "$PG_PORT"
    else
        (exec 3<>"/dev/tcp/$PG_HOST/$PG_PORT") 2>/dev/null
    fi
}

psql_works() {
    command -v psql >/dev/null 2>&1 &&
        psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -w -qAtc 'SELECT 1' >/dev/null 2>&1
}

# apt-get install with a policy-rc.d that forbids maintainer scripts from
# starting services (no systemd in containers / CI); the previous policy-rc.d,
# if any, is restored afterwards.
apt_install() {
    local policy=/usr/sbin/policy-rc.d backup=""
    if as_root test -e "$policy"; then
        backup="$(mktemp)"
        as_root cp -p "$policy" "$backup"
    fi
    as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
    local rc=0
    log "apt-get update"
    as_root apt-get update || rc=$?
    if [[ $rc == 0 ]]; then
        log "apt-get install -y $*"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" || rc=$?
    fi
    if [[ -n "$backup" ]]; then
        as_root cp -p "$backup" "$policy"
        as_root rm -f "$backup"
    else
        as_root rm -f "$policy"
    fi
    [[ $rc == 0 ]] || die "apt-get failed (exit $rc)"
}

latest_version() {
    { ls /usr/lib/postgresql 2>/dev/null || true; } | { grep -E "^[0-9]+$" || true; } | sort -n | tail -n 1
}

if pg_answers; then
    log "PostgreSQL already answers on $PG_HOST:$PG_PORT"
    if ! command -v psql >/dev/null 2>&1; then
        apt_install postgresql-client
    fi
    psql_works || die "PostgreSQL answers on $PG_HOST:$PG_PORT but 'psql -h $PG_HOST -U postgres' is refused; allow trust auth for postgres from 127.0.0.1 or set SWITCHBOARD_TEST_POSTGRES_URL"
    exit 0
fi

log "PostgreSQL does not answer on $PG_HOST:$PG_PORT; setting it up"

version="$(latest_version)"
if [[ -z "$version" ]] || ! command -v pg_ctlcluster >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 || die "PostgreSQL is missing and apt-get is not available; install PostgreSQL or set SWITCHBOARD_TEST_POSTGRES_URL"
    apt_install postgresql
    version="$(latest_version)"
fi
[[ -n "$version" ]] || die "no PostgreSQL server found under /usr/lib/postgresql after installation"
log "using PostgreSQL $version"

# Socket directory (often missing in containers, where /run is a fresh tmpfs).
as_root install -d -o postgres -g postgres -m 2775 /var/run/postgresql

if ! as_root test -f "/etc/postgresql/$version/main/postgresql.conf"; then
    log "creating cluster $version/main on port $PG_PORT"
    as_root pg_createcluster -p "$PG_PORT" "$version" main
fi

conf_dir="/etc/postgresql/$version/main"
port="$(as_root sed -nE 's/^[[:space:]]*port[[:space:]]*=[[:space:]]*([0-9]+).*/\1/p' "$conf_dir/postgresql.conf" | tail -n 1)"
if [[ "${port:-5432}" != "$PG_PORT" ]]; then
    log "cluster $version/main is configured for port $port; switching it to $PG_PORT"
    as_root sed -i -E "s/^[[:space:]]*port[[:space:]]*=.*/port = $PG_PORT/" "$conf_dir/postgresql.conf"
fi

# Trust user postgres on 127.0.0.1 (first matching pg_hba line wins: prepend).
hba="$conf_dir/pg_hba.conf"
marker="# added by switchboard tests/scripts/ensure-postgres.sh"
if ! as_root grep -qF "$marker" "$hba"; then
    log "allowing trust auth for postgres from 127.0.0.1 in $hba"
    tmp="$(mktemp)"
    { printf '%s\nhost all postgres 127.0.0.1/32 trust\n' "$marker"; as_root cat "$hba"; } >"$tmp"
    as_root cp "$tmp" "$hba"
    rm -f "$tmp"
    as_root chown postgres:postgres "$hba"
    as_root chmod 640 "$hba"
fi

if as_root pg_ctlcluster --skip-systemctl-redirect "$version" main status >/dev/null 2>&1; then
    log "cluster running but not answering; restarting it"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main restart
else
    log "starting cluster $version/main (without systemd)"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
fi

for _ in $(seq 1 60); do
    if pg_answers; then
        break
    fi
    sleep 0.5
done
pg_answers || die "PostgreSQL still does not answer on $PG_HOST:$PG_PORT; see /var/log/postgresql/postgresql-$version-main.log"
psql_works || die "PostgreSQL answers but 'psql -h $PG_HOST -U postgres' is refused (check $hba)"
log "PostgreSQL $version is ready on $PG_HOST:$PG_PORT"
