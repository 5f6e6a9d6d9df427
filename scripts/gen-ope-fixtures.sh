#!/usr/bin/env bash
# Regenerates test/fixtures/ope/obp.json from Open Bandit Pipeline. The fixtures are committed, so
# the TypeScript tests never need Python. obp 0.5.7 declares Python < 3.11 and requires torch (used
# only by its neural policy learners): install it without its declared deps and install the ones the
# OPE estimators use; gen_ope_fixtures.py stubs torch at import time.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.tools/venv
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
PIP=("$VENV/bin/pip" install --quiet --disable-pip-version-check)
"${PIP[@]}" "numpy<2" "pandas<2.3" "scikit-learn>=1.3" scipy matplotlib seaborn tqdm pyyaml mypy-extensions
"${PIP[@]}" --ignore-requires-python --no-deps obp==0.5.7
"$VENV/bin/python" scripts/gen_ope_fixtures.py
