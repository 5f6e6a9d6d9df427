#!/usr/bin/env bash
# A Temporal server on PostgreSQL (the production persistence, not the dev server's SQLite), on this
# checkout's Postgres (scripts/services.sh), for measuring: `bash scripts/temporal-sql.sh up` then
#   TEMPORAL_ADDRESS=127.0.0.1:<port it prints> BENCH_SERVER_PIDFILE=.data/temporal-sql.pid npm run bench:workflows
# The server is built from the Go module proxy on first use (temporal 1.32.2 needs Go >= 1.26.10,
# hence GOTOOLCHAIN; about 6 minutes on 2 idle cores) into .tools/temporal-sql/. Its schemas go in the
# databases temporal and temporal_visibility. `down` stops it. Ports: EXPFLOW_TEMPORAL_SQL_PORT
# (default EXPFLOW_TEMPORAL_PORT + 10000) and the next 20 for its internal services.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
VERSION=1.32.2
BIN=$ROOT/.tools/temporal-sql
DATA=$ROOT/.data/temporal-sql
PIDFILE=$ROOT/.data/temporal-sql.pid
PG_PORT=${EXPFLOW_PG_PORT:-55432}
PORT=${EXPFLOW_TEMPORAL_SQL_PORT:-$((${EXPFLOW_TEMPORAL_PORT:-7233} + 10000))}
CLI=${TEMPORAL_CLI:-$ROOT/.tools/venv/bin/temporal}
SEARCH_ATTRIBUTES=(ExperimentKey ExperimentStatus ExperimentKind Entity DecisionOutcome)
log() { echo "[temporal-sql] $*" >&2; }

build() {
  [[ -x "$BIN/server" && -x "$BIN/temporal-sql-tool" ]] && return
  log "building temporal server $VERSION and its sql tool from the Go module proxy into $BIN"
  mkdir -p "$BIN"
  GOTOOLCHAIN=go1.27.3 GOFLAGS=-mod=mod GOBIN="$BIN" go install "go.temporal.io/server/cmd/server@v$VERSION"
  GOTOOLCHAIN=go1.27.3 GOFLAGS=-mod=mod GOBIN="$BIN" go install "go.temporal.io/server/cmd/tools/sql@v$VERSION"
  mv "$BIN/sql" "$BIN/temporal-sql-tool"
}

schema() {
  local module db dir
  module=$(GOTOOLCHAIN=go1.27.3 go env GOMODCACHE)/go.temporal.io/server@v$VERSION
  for db in temporal temporal_visibility; do
    dir=$module/schema/postgresql/v12/$([[ $db == temporal ]] && echo temporal || echo visibility)/versioned
    local sql=("$BIN/temporal-sql-tool" --plugin postgres12 --ep 127.0.0.1 -p "$PG_PORT" -u postgres --db "$db")
    if ! psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -lqt | cut -d'|' -f1 | grep -qw "$db"; then
      "${sql[@]}" create-database >/dev/null 2>&1
      "${sql[@]}" setup-schema -v 0.0 >/dev/null 2>&1
    fi
    "${sql[@]}" update-schema -d "$dir" >/dev/null 2>&1 || { log "schema update of $db failed"; exit 1; }
  done
}

config() {
  mkdir -p "$DATA/config/dynamicconfig"
  : >"$DATA/config/dynamicconfig/development-sql.yaml"
  local p=$PORT
  cat >"$DATA/config/development.yaml" <<EOF
log:
  stdout: true
  level: warn
persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: 4
  datastores:
    postgres-default:
      sql: { pluginName: postgres12, databaseName: temporal, connectAddr: "127.0.0.1:$PG_PORT", connectProtocol: tcp, user: postgres, password: "", maxConns: 20, maxIdleConns: 20, maxConnLifetime: 1h }
    postgres-visibility:
      sql: { pluginName: postgres12, databaseName: temporal_visibility, connectAddr: "127.0.0.1:$PG_PORT", connectProtocol: tcp, user: postgres, password: "", maxConns: 4, maxIdleConns: 4, maxConnLifetime: 1h }
global:
  membership: { maxJoinDuration: 30s, broadcastAddress: 127.0.0.1 }
  metrics: { prometheus: { framework: tally, timerType: histogram, listenAddress: "127.0.0.1:$((p + 19))" } }
services:
  frontend: { rpc: { grpcPort: $p, membershipPort: $((p + 10)), bindOnLocalHost: true, httpPort: $((p + 1)) } }
  history: { rpc: { grpcPort: $((p + 2)), membershipPort: $((p + 12)), bindOnLocalHost: true } }
  matching: { rpc: { grpcPort: $((p + 3)), membershipPort: $((p + 13)), bindOnLocalHost: true } }
  worker: { rpc: { grpcPort: $((p + 4)), membershipPort: $((p + 14)), bindOnLocalHost: true } }
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active: { enabled: true, initialFailoverVersion: 1, rpcName: frontend, rpcAddress: "localhost:$p" }
dcRedirectionPolicy: { policy: noop }
dynamicConfigClient: { filepath: "$DATA/config/dynamicconfig/development-sql.yaml", pollInterval: 10s }
EOF
}

up() {
  if [[ -f "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then log "already running on 127.0.0.1:$PORT"; return; fi
  build
  schema
  config
  nohup "$BIN/server" --config-file "$DATA/config/development.yaml" --allow-no-auth start >"$ROOT/.data/temporal-sql.log" 2>&1 &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 120); do
    "$CLI" operator namespace describe --address "127.0.0.1:$PORT" -n default >/dev/null 2>&1 && break
    "$CLI" operator namespace create --address "127.0.0.1:$PORT" -n default >/dev/null 2>&1 || true
    sleep 1
  done
  "$CLI" operator namespace describe --address "127.0.0.1:$PORT" -n default >/dev/null || { log "server did not come up: see .data/temporal-sql.log"; exit 1; }
  for a in "${SEARCH_ATTRIBUTES[@]}"; do
    "$CLI" operator search-attribute create --address "127.0.0.1:$PORT" -n default --name "$a" --type Keyword >/dev/null 2>&1 || true
  done
  log "temporal (PostgreSQL persistence) on 127.0.0.1:$PORT, pid $(cat "$PIDFILE")"
}

down() {
  if [[ -f "$PIDFILE" ]]; then kill "$(cat "$PIDFILE")" 2>/dev/null || true; rm -f "$PIDFILE"; fi
  log "stopped"
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
