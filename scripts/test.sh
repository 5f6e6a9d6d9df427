#!/usr/bin/env bash
# `npm test`: install what is missing, bring up (or reuse) Temporal, PostgreSQL and Redis, check
# types, lint and the frozen histories, apply migrations to the test database, fuzz the API
# (scripts/fuzz.sh), then run every test once. With file arguments it runs just those files.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/services.sh up
# The compose-file test needs a Compose CLI; Debian's docker-compose stands in for a missing plugin.
if command -v docker >/dev/null && ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null; then
  echo "[test] installing docker-compose to validate docker-compose.yml" >&2
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null; else sudo apt-get update -qq && sudo apt-get install -y -qq docker-compose >/dev/null; fi
fi
# The dashboard's browser test drives Debian's chromium (playwright-core, executablePath); the alert
# rules are checked with promtool from Debian's prometheus package.
browser_pkgs=()
[ -x /usr/bin/chromium ] || browser_pkgs+=(chromium)
command -v promtool >/dev/null || browser_pkgs+=(prometheus)
if [ ${#browser_pkgs[@]} -gt 0 ]; then
  echo "[test] installing ${browser_pkgs[*]} for the dashboard and alert-rule tests" >&2
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${browser_pkgs[@]}" >/dev/null; else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${browser_pkgs[@]}" >/dev/null; fi
fi
# The whole suite (no file arguments, as CI runs it) first checks types, lint and the frozen histories.
if [ $# -eq 0 ]; then
  echo "[test] typecheck" >&2; npx tsc -p tsconfig.json --noEmit
  echo "[test] lint" >&2; npm run -s lint
  echo "[test] frozen histories" >&2; bash scripts/check-histories.sh
fi
set -a; . .data/env; set +a
export DATABASE_URL="$TEST_DATABASE_URL"
# The whole suite starts from an empty test database: the Postgres data directory outlives a
# checkout, and rows an earlier run left (an API key above all) would change what the API answers.
if [ $# -eq 0 ]; then npx tsx scripts/db-recreate.ts "$DATABASE_URL"; fi
npx tsx scripts/db-migrate.ts
if [ $# -gt 0 ]; then exec npx vitest run "$@"; fi
# The contract fuzz (about 2 minutes): schemathesis against /openapi.json of a local API. It runs
# before vitest so that the run closes on vitest's own count of the tests it ran and passed.
echo "[test] fuzz" >&2; FUZZ_QUIET=1 bash scripts/fuzz.sh
# The dashboard's browser test runs on its own after the rest. Run in parallel with the whole suite,
# its run-cycle timed out in 3 of 5 clean-clone runs (alone it passes in ~20 s). The last one showed
# why: the cycle's segmentation sample query (infra/aggregates.ts sampleUnitAggregates) had been
# active, not waiting on a lock, for 2 minutes at load 3, which suggests a plan chosen on stale
# statistics of tables the other files had just filled. Not yet fixed; see the issue notes.
npx vitest run --exclude test/e2e/dashboard.test.ts
npx vitest run test/e2e/dashboard.test.ts
