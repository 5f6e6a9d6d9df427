#!/usr/bin/env bash
# `npm run test:fuzz`: schemathesis (PyPI, pinned, installed into .tools/schemathesis-venv) against
# /openapi.json of an API started here on the local services and the test database. It generates
# requests for every operation (the examples and fuzzing phases, positive and negative data; the
# coverage phase is left out: schemathesis 4.32.5's own generator crashes on the events schema
# there, "Inconsistent results", and it triples the run time; one worker, because with two its
# Hypothesis hit a thread-safety error in Python's ast, "AST constructor recursion depth mismatch") and fails on any 5xx, any response whose status, content type or body does not match the
# document, and on fewer than $FUZZ_MIN_REQUESTS requests (default 1000). The last line is JSON.
#   FUZZ_MAX_EXAMPLES  test cases per operation and phase (default 80: 16 operations give ~1200)
#   FUZZ_SEED          schemathesis seed (default 1, so a run is reproducible)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SCHEMATHESIS_VERSION=4.32.5
VENV="$ROOT/.tools/schemathesis-venv"
MIN_REQUESTS="${FUZZ_MIN_REQUESTS:-1000}"
REPORT_DIR="$ROOT/test-artifacts/fuzz"
log() { printf '[fuzz] %s\n' "$*" >&2; }

if [ ! -x "$VENV/bin/st" ] || ! "$VENV/bin/st" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  log "installing schemathesis==$SCHEMATHESIS_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi

bash scripts/services.sh up
set -a; . .data/env; set +a
# A database of its own, fresh each run: the fuzzer creates API keys (POST /admin/keys) among the
# rest, and keys left in the test database would make every later suite's API answer 401.
export DATABASE_URL="$(node -e "const u=new URL(process.argv[1]); u.pathname='/expflow_fuzz'; console.log(u.toString())" "$TEST_DATABASE_URL")"
npx tsx scripts/db-recreate.ts "$DATABASE_URL"
npx tsx scripts/db-migrate.ts

# The API under test: its own port and task queue (no worker polls it, so experiments the fuzzer
# creates start workflows that wait), and a bearer token so the control plane is exercised as a client would.
PORT="$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"
TOKEN="fuzz-$(node -e "console.log(require('crypto').randomBytes(12).toString('hex'))")"
mkdir -p "$REPORT_DIR"
# `node --import tsx`, not `npx tsx`: npx and the tsx CLI run the API in a grandchild, which
# killing $API_PID left running after the fuzz (still serving, minutes later).
API_PORT="$PORT" API_HOST=127.0.0.1 API_TOKEN="$TOKEN" TASK_QUEUE="fuzz-$PORT" node --import tsx api/main.ts >"$REPORT_DIR/api.log" 2>&1 &
API_PID=$!
trap 'kill "$API_PID" 2>/dev/null || true; wait "$API_PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.5; done

log "schemathesis against http://127.0.0.1:$PORT/openapi.json"
set +e
"$VENV/bin/st" run "http://127.0.0.1:$PORT/openapi.json" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --phases examples,fuzzing \
  --max-examples "${FUZZ_MAX_EXAMPLES:-80}" --seed "${FUZZ_SEED:-1}" --workers 1 \
  --header "Authorization: Bearer $TOKEN" --request-timeout 30 \
  --suppress-health-check all --continue-on-failure --output-truncate true \
  --report ndjson --report-ndjson-path "$REPORT_DIR/events.ndjson" >"$REPORT_DIR/schemathesis.log" 2>&1
st_status=$?
set -e
# Under `npm test` (FUZZ_QUIET=1) schemathesis's own report stays in its log unless it failed.
if [ -z "${FUZZ_QUIET:-}" ] || [ "$st_status" != 0 ]; then cat "$REPORT_DIR/schemathesis.log"; fi

# Count the requests schemathesis sent and the 5xx the API answered, from its own event log.
summary="$(python3 - "$REPORT_DIR/events.ndjson" <<'PY'
import json, sys
requests = server_errors = 0
for line in open(sys.argv[1]):
    def walk(o):
        global requests, server_errors
        if isinstance(o, dict):
            r = o.get("response")
            if isinstance(r, dict) and "status_code" in r:
                requests += 1
                if r["status_code"] >= 500: server_errors += 1
            for v in o.values(): walk(v)
        elif isinstance(o, list):
            for v in o: walk(v)
    walk(json.loads(line))
print(json.dumps({"requests": requests, "server_errors": server_errors}))
PY
)"
requests="$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['requests'])" "$summary")"
server_errors="$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['server_errors'])" "$summary")"
ok=true
[ "$st_status" = 0 ] || { log "schemathesis found failures (exit $st_status); see $REPORT_DIR"; ok=false; }
[ "$server_errors" = 0 ] || { log "$server_errors responses were 5xx"; ok=false; }
[ "$requests" -ge "$MIN_REQUESTS" ] || { log "only $requests requests (want >= $MIN_REQUESTS)"; ok=false; }
echo "{\"fuzz\":{\"requests\":$requests,\"server_errors\":$server_errors,\"schemathesis_exit\":$st_status,\"ok\":$ok}}"
[ "$ok" = true ]
