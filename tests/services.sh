#!/usr/bin/env bash
# Start or stop the real services the tests need, all on loopback, all state under one directory.
#
#   tests/services.sh start   start whatever is not already running; wait until each is ready
#   tests/services.sh stop    stop only what `start` started (PIDs recorded in the state directory)
#   tests/services.sh status  print which services answer
#
# Ports are fixed so developers and CI share one set of endpoints (tests/endpoints.env).
# A service that is already answering on its port is reused and never stopped by us. Ownership is
# per session (SERVICES_SESSION, default "manual"): `make test` uses its own session, so it stops what it
# started and never what a developer started with `make services`.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE=${SERVICES_STATE:-$ROOT/.build/services}
# PostgreSQL runs as the postgres user, who may not be able to enter the checkout (a clone under /root is
# reachable by root only). Its cluster therefore lives outside the checkout, in a directory every user can
# traverse, named after the checkout so two clones never share one. Everything else stays in $STATE.
PG_STATE=${SERVICES_PG_STATE:-/var/tmp/servicecontrol-platform-services/$(printf '%s' "$ROOT" | md5sum | cut -c1-16)/postgres}
VENV=${VENV:-$ROOT/.venv}
NODE_BIN=${NODE_BIN:-$ROOT/node_modules/.bin}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
RABBITMQ_BIN=/usr/lib/rabbitmq/bin
SESSION=${SERVICES_SESSION:-manual}
OWNED=$STATE/owned-by/$SESSION

RABBITMQ_PORT=5672 RABBITMQ_MGMT_PORT=15672 POSTGRES_PORT=55432 MOTO_PORT=5000 AZURITE_PORT=10001

log() { printf 'services: %s\n' "$*" >&2; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() { # port seconds name
  local end=$((SECONDS + $2))
  until port_open "$1"; do
    if [ $SECONDS -ge "$end" ]; then log "$3 did not open 127.0.0.1:$1 within $2 s"; return 1; fi
    sleep 0.2
  done
}

rabbitmq_env() {
  export HOME=$STATE/rabbitmq RABBITMQ_NODENAME=sctest@localhost \
    RABBITMQ_MNESIA_BASE=$STATE/rabbitmq/mnesia RABBITMQ_LOG_BASE=$STATE/rabbitmq/log \
    RABBITMQ_CONFIG_FILE=$STATE/rabbitmq/rabbitmq.conf \
    RABBITMQ_ENABLED_PLUGINS_FILE=$STATE/rabbitmq/enabled_plugins \
    RABBITMQ_PID_FILE=$STATE/rabbitmq/rabbit.pid RABBITMQ_CONF_ENV_FILE=$STATE/rabbitmq/none.conf \
    ERL_EPMD_ADDRESS=127.0.0.1 \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}

start_rabbitmq() {
  if port_open $RABBITMQ_MGMT_PORT; then log "rabbitmq already running, reused"; return; fi
  [ -x $RABBITMQ_BIN/rabbitmq-server ] || { log "rabbitmq-server is not installed (make system-deps)"; return 1; }
  rm -rf "$STATE/rabbitmq"; mkdir -p "$STATE/rabbitmq"
  cat >"$STATE/rabbitmq/rabbitmq.conf" <<EOF
listeners.tcp.default = 127.0.0.1:$RABBITMQ_PORT
management.tcp.ip = 127.0.0.1
management.tcp.port = $RABBITMQ_MGMT_PORT
collect_statistics_interval = 1000
EOF
  echo '[rabbitmq_management].' >"$STATE/rabbitmq/enabled_plugins"
  (rabbitmq_env; $RABBITMQ_BIN/rabbitmq-server -detached >/dev/null 2>&1)
  touch "$OWNED/rabbitmq"
}

start_postgres() {
  if port_open $POSTGRES_PORT; then log "postgresql already running, reused"; return; fi
  [ -x "$PGBIN"/initdb ] || { log "postgresql is not installed (make system-deps)"; return 1; }
  rm -rf "$PG_STATE"; mkdir -p "$PG_STATE"
  # Every directory above the cluster must be traversable by the postgres user.
  chmod 755 "$(dirname "$(dirname "$PG_STATE")")" "$(dirname "$PG_STATE")"
  chown postgres:postgres "$PG_STATE"
  # initdb refuses to run as root; the throwaway cluster belongs to the postgres user.
  runuser -u postgres -- "$PGBIN"/initdb -D "$PG_STATE/data" -U postgres --auth=trust -E UTF8 \
    --no-sync >"$STATE/postgres-initdb.log"
  runuser -u postgres -- "$PGBIN"/pg_ctl -D "$PG_STATE/data" -l "$PG_STATE/log" -w -o \
    "-k $PG_STATE -c listen_addresses=127.0.0.1 -p $POSTGRES_PORT -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null
  touch "$OWNED/postgres"
}

start_moto() {
  if port_open $MOTO_PORT; then log "moto already running, reused"; return; fi
  nohup "$VENV/bin/moto_server" -H 127.0.0.1 -p $MOTO_PORT >"$STATE/moto.log" 2>&1 &
  echo $! >"$OWNED/moto.pid"
}

start_azurite() {
  if port_open $AZURITE_PORT; then log "azurite already running, reused"; return; fi
  [ -x "$NODE_BIN/azurite-queue" ] || { log "azurite is not installed (make node_modules)"; return 1; }
  mkdir -p "$STATE/azurite"
  # --inMemoryPersistence cannot be combined with --location, so run from a scratch directory.
  # `cd` is its own statement: in `cd && nohup node &` the `&` would background the whole list, and $! would
  # be a subshell's PID, which `stop` would kill while node lives on.
  (
    cd "$STATE/azurite" || exit 1
    nohup "$NODE_BIN/azurite-queue" --queueHost 127.0.0.1 --queuePort $AZURITE_PORT \
      --inMemoryPersistence --skipApiVersionCheck --silent >"$STATE/azurite.log" 2>&1 &
    echo $! >"$OWNED/azurite.pid"
  )
}

start() {
  mkdir -p "$STATE" "$OWNED"
  local t0=$SECONDS failed=0
  start_rabbitmq || failed=1
  start_postgres || failed=1
  start_moto || failed=1
  start_azurite || failed=1
  wait_port $POSTGRES_PORT 30 postgresql || failed=1
  wait_port $MOTO_PORT 30 moto || failed=1
  wait_port $AZURITE_PORT 30 azurite || failed=1
  if [ -f "$OWNED/rabbitmq" ]; then
    (rabbitmq_env; $RABBITMQ_BIN/rabbitmqctl wait --timeout 90 "$RABBITMQ_PID_FILE" >/dev/null 2>&1) || failed=1
  fi
  wait_port $RABBITMQ_MGMT_PORT 90 rabbitmq-management || failed=1
  log "ready after $((SECONDS - t0)) s"
  status
  return $failed
}

stop() {
  for name in moto azurite; do
    if [ -f "$OWNED/$name.pid" ]; then
      kill "$(cat "$OWNED/$name.pid")" 2>/dev/null || true
      rm -f "$OWNED/$name.pid"
    fi
  done
  if [ -f "$OWNED/postgres" ]; then
    runuser -u postgres -- "$PGBIN"/pg_ctl -D "$PG_STATE/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PG_STATE"
    rm -f "$OWNED/postgres"
  fi
  if [ -f "$OWNED/rabbitmq" ]; then
    if [ -f "$STATE/rabbitmq/rabbit.pid" ]; then
      kill -KILL "$(cat "$STATE/rabbitmq/rabbit.pid")" 2>/dev/null || true
    fi
    # epmd refuses to exit while a node is registered; wait for the killed node to drop out.
    for _ in $(seq 1 50); do epmd -names 2>/dev/null | grep -q '^name ' || break; sleep 0.1; done
    epmd -kill >/dev/null 2>&1 || true
    rm -f "$OWNED/rabbitmq"
  fi
  log "stopped what session '$SESSION' started"
}

status() {
  local name port
  for pair in rabbitmq:$RABBITMQ_PORT rabbitmq-management:$RABBITMQ_MGMT_PORT postgresql:$POSTGRES_PORT \
              moto:$MOTO_PORT azurite:$AZURITE_PORT; do
    name=${pair%%:*} port=${pair##*:}
    if port_open "$port"; then log "  $name 127.0.0.1:$port up"; else log "  $name 127.0.0.1:$port DOWN"; fi
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
