#!/usr/bin/env bash
# Fails when a frozen workflow history in test/histories/ differs from its frozen version, or was
# deleted. A history's frozen version is its content at the commit that added it, or at the newest
# commit whose message carries the version marker `History-Version: <path>` (a trailer, with the
# reason in the message). So a history changes only by a deliberate, reviewable commit that says so;
# regenerating one alongside a workflow change fails CI. See CONTRIBUTING.md.
# Needs the repository's full history (CI clones it whole); in a shallow clone or outside git it
# says so and checks nothing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
DIR=test/histories
if ! git rev-parse --git-dir >/dev/null 2>&1; then echo "[histories] not a git checkout: skipped" >&2; exit 0; fi
if [ "$(git rev-parse --is-shallow-repository)" = true ]; then echo "[histories] shallow clone: skipped (fetch full history to check)" >&2; exit 0; fi

declare -A frozen_at
# Oldest first: the first commit that added each path.
while read -r commit path; do
  [ -n "${frozen_at[$path]:-}" ] || frozen_at[$path]=$commit
done < <(git log --reverse --diff-filter=A --format='@%H' --name-only -- "$DIR" | awk '/^@/{c=substr($0,2); next} NF {print c, $0}')
# Newest first: the newest commit carrying a History-Version marker for each path overrides it.
declare -A marked
while read -r commit path; do
  [ -n "${marked[$path]:-}" ] && continue
  marked[$path]=1; frozen_at[$path]=$commit
done < <(git log --format='@%H%n%(trailers:key=History-Version,valueonly)' | awk '/^@/{c=substr($0,2); next} NF {print c, $1}')

failed=0; checked=0
for path in "${!frozen_at[@]}"; do
  commit=${frozen_at[$path]}
  case "$path" in "$DIR"/*) ;; *) continue ;; esac
  if ! expected="$(git rev-parse -q --verify "$commit:$path" 2>/dev/null)"; then continue; fi  # a marker that removed it
  if [ ! -f "$path" ]; then echo "[histories] $path was deleted; restore it: git checkout $commit -- $path" >&2; failed=1; continue; fi
  checked=$((checked + 1))
  if [ "$expected" != "$(git hash-object "$path")" ]; then
    echo "[histories] $path differs from its frozen version (${commit:0:10}). Histories are frozen:" >&2
    echo "            ship the workflow change behind patched() or a new workflow type (CONTRIBUTING.md)." >&2
    echo "            Restore it with: git checkout $commit -- $path" >&2
    failed=1
  fi
done
[ "$failed" = 0 ] && echo "[histories] $checked frozen histories unchanged" >&2
exit "$failed"
