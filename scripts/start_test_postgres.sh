#!/usr/bin/env bash
# Start a throw-away PostgreSQL server for the test suite and print its SQLAlchemy URL.
# Installs Debian's postgresql package when missing (CI machines start without it). Prints nothing
# and exits 0 when no server can be had, so the PostgreSQL tests are skipped rather than failing.
set -u
port=55433
dir=$(mktemp -d /tmp/cxy-pg.XXXXXX)
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } >/dev/null 2>&1 || exit 0
fi
bin=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")
chown postgres "$dir" 2>/dev/null || exit 0
su postgres -c "$bin/initdb -D $dir/data -A trust -E UTF8" >/dev/null 2>&1 || exit 0
su postgres -c "$bin/pg_ctl -D $dir/data -o '-p $port -k $dir -c listen_addresses=' -l $dir/log -w start" \
  >/dev/null 2>&1 || exit 0
echo "postgresql+psycopg://postgres@/postgres?host=$dir&port=$port"
