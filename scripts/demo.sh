#!/usr/bin/env bash
# `npm run demo`: install what is missing, start local services, migrate, then run one real
# experiment end to end (scripts/demo.ts). Ctrl-C stops the demo and every service it started.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
started="$(mktemp)"
cleanup() {
  if [ -s "$started" ]; then bash scripts/services.sh down $(cat "$started"); fi
  rm -f "$started"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
EXPFLOW_STARTED_FILE="$started" bash scripts/services.sh up
set -a; . .data/env; set +a
npx tsx scripts/db-migrate.ts
npx tsx scripts/demo.ts "$@"
