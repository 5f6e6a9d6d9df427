#!/usr/bin/env bash
# `npm run test:faults`: the fault suite (test/faults) on the local services, then one table of what
# went in against what came out for every fault, and a final JSON line. Each test records its row
# (test/helpers/fault-report.ts) into test-artifacts/faults.jsonl; the run fails when a test fails
# or any row lost or doubled something. The restart and worker-kill tests crash servers of their own
# (a private Postgres and Redis on free ports), so the shared services and other suites are untouched.
# The same tests also run inside `npm test` (they are under test/); this script adds the table.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
mkdir -p test-artifacts
REPORT="$ROOT/test-artifacts/faults.jsonl"
: >"$REPORT"
start=$(date +%s)
FAULTS_REPORT="$REPORT" bash scripts/test.sh test/faults "$@"
code=$?
npx tsx scripts/faults-table.ts "$REPORT" "$code" "$(( $(date +%s) - start ))"
