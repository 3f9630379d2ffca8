# Sourced by scripts/demo and bench/run: a throwaway PostgreSQL 15 cluster with
# wal2json on a free loopback port, owned by the postgres user, in $PGWORK.
# Sets PGPORT, PGHOST, CDC_DSN; pg_throwaway_stop removes everything.

PGBIN=/usr/lib/postgresql/15/bin

# Runs a command as the postgres user from a directory it may enter (from the
# caller's directory, often under /root, PostgreSQL's tools print "could not
# change directory ... Permission denied").
as_postgres() {
  (cd "${PGWORK:-/}" && runuser -u postgres -- "$@")
}

pg_free_port() {
  local port
  for port in $(seq "${1:-55440}" 65000); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  return 1
}

pg_throwaway_start() {
  PGWORK=$(mktemp -d /tmp/customer-cdc-pg.XXXXXX)
  chown postgres "$PGWORK"
  as_postgres "$PGBIN/initdb" -D "$PGWORK/data" -A trust -U postgres --no-sync >/dev/null
  PGPORT=$(pg_free_port)
  cat >>"$PGWORK/data/postgresql.conf" <<CONF
port = $PGPORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PGWORK'
wal_level = logical
max_replication_slots = 20
max_wal_senders = 20
CONF
  # Some builds load only the output plugins listed here; stock builds do not
  # know the setting and refuse to start with it.
  if as_postgres "$PGBIN/postgres" --describe-config 2>/dev/null | grep -q '^output_plugin_libraries'; then
    echo "output_plugin_libraries = 'pgoutput, test_decoding, wal2json'" >>"$PGWORK/data/postgresql.conf"
  fi
  as_postgres "$PGBIN/pg_ctl" -D "$PGWORK/data" -l "$PGWORK/log" -w start >/dev/null
  PGHOST=127.0.0.1
  export PGHOST PGPORT PGUSER=postgres
  createdb app
  CDC_DSN="host=127.0.0.1 port=$PGPORT user=postgres dbname=app"
}

pg_throwaway_stop() {
  if [[ -n "${PGWORK:-}" && -d "$PGWORK" ]]; then
    as_postgres "$PGBIN/pg_ctl" -D "$PGWORK/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PGWORK"
  fi
}
