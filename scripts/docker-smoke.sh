#!/usr/bin/env bash
# Builds the production image and runs it against this checkout's services (scripts/services.sh),
# on the host network: the migration job, then API and worker replicas (API_REPLICAS, WORKER_REPLICAS,
# default 2 each). Checks that each container runs `node dist/...` as the unprivileged `node` user with
# no tsx or dev dependencies in the image, that its HEALTHCHECK turns healthy, that /health answers,
# and that an experiment created through one API replica runs cycles on the workers. Removes its
# containers at the end. Needs a running Docker engine (DOCKER_HOST is honoured); with no registry
# access, run scripts/docker-base.sh first (an offline stand-in for the base image).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
API_REPLICAS=${API_REPLICAS:-2}
WORKER_REPLICAS=${WORKER_REPLICAS:-2}
IMAGE=${IMAGE:-expflow:0.1.0}
tag=smoke-$$
log() { echo "[docker-smoke] $*" >&2; }
fail() { log "FAIL: $*"; exit 1; }

set -a
# shellcheck disable=SC1091
source .data/env
set +a
db_url=${DATABASE_URL%/*}/expflow_docker_smoke
PGOPTIONS='-c client_min_messages=warning' psql "${DATABASE_URL%/*}/postgres" -qc "DROP DATABASE IF EXISTS expflow_docker_smoke" -c "CREATE DATABASE expflow_docker_smoke" >/dev/null

t=$(date +%s)
# BuildKit needs the buildx plugin; without it, the classic builder runs the same Dockerfile.
docker buildx version >/dev/null 2>&1 || export DOCKER_BUILDKIT=0
docker build -q --network host -t "$IMAGE" . >/dev/null
log "image $IMAGE built in $(($(date +%s) - t)) s, $(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}')"

containers=()
cleanup() { [[ ${#containers[@]} -gt 0 ]] && docker rm -f "${containers[@]}" >/dev/null 2>&1 || true; }
trap cleanup EXIT
env_args=(-e "DATABASE_URL=$db_url" -e "REDIS_URL=$REDIS_URL" -e "TEMPORAL_ADDRESS=$TEMPORAL_ADDRESS" -e "TASK_QUEUE=$tag"
  -e "NOTIFICATIONS_QUEUE=$tag-notifications" -e "EVENTS_QUEUE=$tag-events" -e "UNIT_ID_KEY=$UNIT_ID_KEY" -e STORAGE_MAINTENANCE_SCHEDULE=off)

# What is in the image: the user, the entry point, and no dev tooling.
[[ "$(docker image inspect -f '{{.Config.User}}' "$IMAGE")" == node ]] || fail "image user is not node"
[[ -n "$(docker image inspect -f '{{.Config.Healthcheck}}' "$IMAGE")" ]] || fail "image has no HEALTHCHECK"
dev=$(docker run --rm "$IMAGE" sh -c 'for p in tsx typescript prisma vitest eslint @growthbook/growthbook; do [ -e node_modules/$p ] && echo $p; done; [ -e node_modules/.bin/tsx ] && echo .bin/tsx; true')
[[ -z "$dev" ]] || fail "dev packages in the image: $dev"
log "image: user node, HEALTHCHECK set, no tsx/typescript/prisma CLI/vitest/eslint"

t=$(date +%s)
docker run --rm --network host "${env_args[@]}" "$IMAGE" node dist/scripts/db-migrate.js >/dev/null 2>&1 || fail "migration job"
log "migration job done in $(($(date +%s) - t)) s"

api_ports=()
for i in $(seq 1 "$API_REPLICAS"); do
  port=$((34500 + i + ($$ % 400) * 10))
  containers+=("$(docker run -d --name "$tag-api-$i" --network host "${env_args[@]}" -e EXPFLOW_ROLE=api -e API_HOST=127.0.0.1 -e "API_PORT=$port" -e "EXPOSURE_SPOOL_DIR=/tmp/spool" "$IMAGE" node dist/api/main.js)")
  api_ports+=("$port")
done
for i in $(seq 1 "$WORKER_REPLICAS"); do
  containers+=("$(docker run -d --name "$tag-worker-$i" --network host "${env_args[@]}" -e "WORKER_METRICS_PORT=$((35500 + i + ($$ % 400) * 10))" "$IMAGE")")
done

t=$(date +%s)
for c in "${containers[@]}"; do
  until [[ "$(docker inspect -f '{{.State.Health.Status}}' "$c")" == healthy ]]; do
    [[ "$(docker inspect -f '{{.State.Running}}' "$c")" == true ]] || fail "$(docker inspect -f '{{.Name}}' "$c") exited: $(docker logs --tail 20 "$c" 2>&1)"
    (($(date +%s) - t < 180)) || fail "$(docker inspect -f '{{.Name}}' "$c") not healthy after 180 s"
    sleep 1
  done
  cmd=$(docker top "$c" -o pid,args | awk 'NR == 2 { $1 = ""; sub(/^ /, ""); print }')
  user=$(docker exec "$c" id -un)
  [[ "$cmd" == "node dist/"* && "$user" == node ]] || fail "$c runs '$cmd' as $user"
done
log "${#containers[@]} containers healthy in $(($(date +%s) - t)) s, each 'node dist/…' as user node"

key=smoke-$(date +%s)
body="{\"key\":\"$key\",\"name\":\"$key\",\"kind\":\"ab\",\"owner\":\"ops\",\"variants\":[{\"key\":\"control\",\"weight\":0.5,\"control\":true},{\"key\":\"treatment\",\"weight\":0.5}],\"config\":{\"metrics\":[{\"key\":\"conv\",\"event\":\"purchase\",\"type\":\"binary\",\"role\":\"primary\"}],\"cycleIntervalSeconds\":3600}}"
for p in "${api_ports[@]}"; do curl -sf "http://127.0.0.1:$p/health" >/dev/null || fail "/health on :$p"; done
[[ "$(curl -s -o /dev/null -w '%{http_code}' -XPOST "http://127.0.0.1:${api_ports[0]}/experiments" -H 'content-type: application/json' -d "$body")" == 201 ]] || fail "create experiment"
last=${api_ports[-1]}
for _ in 1 2 3; do
  out=$(curl -s -XPOST "http://127.0.0.1:$last/experiments/$key/run-cycle" -H 'content-type: application/json' -d '{}')
  [[ "$out" == *'"cycle"'* ]] || fail "run-cycle: $out"
done
log "experiment $key: created on :${api_ports[0]}, 3 cycles run through :$last ($out)"
log "OK"
