#!/usr/bin/env bash
# `prisma generate` works offline once PRISMA_SCHEMA_ENGINE_BINARY names any existing file: the CLI
# would otherwise try to download a native schema engine it does not need for generation.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PRISMA_SCHEMA_ENGINE_BINARY="${PRISMA_SCHEMA_ENGINE_BINARY:-/bin/true}"
npx prisma generate >/dev/null
echo "[prisma] client generated in generated/prisma" >&2
