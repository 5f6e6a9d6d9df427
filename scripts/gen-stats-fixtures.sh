#!/usr/bin/env bash
# Regenerates test/fixtures/stats/*.json from scipy/statsmodels (and gbstats when it installs).
# The fixtures are committed, so the TypeScript tests never need Python.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.tools/venv
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check scipy statsmodels
# gbstats is an optional cross-check of the sequential CS and Bayesian outputs against GrowthBook.
"$VENV/bin/pip" install --quiet --disable-pip-version-check gbstats || echo "gbstats did not install; skipping its fixtures" >&2
"$VENV/bin/python" scripts/gen_stats_fixtures.py
"$VENV/bin/python" scripts/gen_random_stats_fixtures.py
# The decision fixtures compare against gbstats in several sections: without it the committed file stays.
if "$VENV/bin/python" -c "import gbstats" 2>/dev/null; then
  "$VENV/bin/python" scripts/gen_random_decision_fixtures.py
else
  echo "gbstats not importable; keeping test/fixtures/stats/random-decision.json" >&2
fi
