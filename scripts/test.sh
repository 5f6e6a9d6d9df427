#!/usr/bin/env bash
# `npm test`: install what is missing, bring up (or reuse) Temporal, PostgreSQL and Redis, apply
# migrations to the test database, then run every test once.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/services.sh up
set -a; . .data/env; set +a
export DATABASE_URL="$TEST_DATABASE_URL"
npx tsx scripts/db-migrate.ts
exec npx vitest run "$@"
