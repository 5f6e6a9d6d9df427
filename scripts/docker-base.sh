#!/usr/bin/env bash
# OFFLINE STAND-IN for the Dockerfile's base image, for machines that run a Docker engine but cannot
# pull from a registry (this project's build machines). It is NOT the official node image: it is a
# minimal Debian rootfs assembled from this host's own files and imported under the tag the
# Dockerfile pins, so `docker build .` runs the real Dockerfile unchanged.
#   - node: this host's /usr/bin/node, which must be the pinned version (checked), at /usr/local/bin
#     like the official image, with npm/npx/corepack from this host's global node_modules;
#   - the shared libraries ldd lists for every binary copied;
#   - the files of the Debian packages the Dockerfile's RUN steps and npm's install scripts call
#     (bash, dash, coreutils, grep, sed, findutils, tar, gzip, ...), CA certificates, and this host's
#     npm CA setting (cafile), so `npm ci` reaches the same registry as the host's npm;
#   - /etc/passwd and /etc/group with root and `node` (uid/gid 1000, home /home/node) as in the
#     official image.
# On a machine with registry access do not run this: `docker build` pulls the real image.
# Usage: bash scripts/docker-base.sh [--force]   (DOCKER_HOST is honoured, as by the docker CLI)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

base=$(sed -n 's/^FROM \([^ ]*\) AS build$/\1/p' Dockerfile)
[[ -n "$base" ]] || { echo "[docker-base] no 'FROM <image> AS build' line in Dockerfile" >&2; exit 2; }
want=$(sed -n 's/^node:\([0-9.]*\)-.*/\1/p' <<<"$base")
have=$(node --version | sed 's/^v//')
if [[ "$want" != "$have" ]]; then
  echo "[docker-base] the Dockerfile pins node $want ($base) but this host's node is $have: cannot stand in" >&2
  exit 1
fi
if [[ "${1:-}" != "--force" ]] && docker image inspect "$base" >/dev/null 2>&1; then
  echo "[docker-base] $base already present ($(docker image inspect -f '{{index .Config.Labels "org.expflow.base"}}' "$base"))" >&2
  exit 0
fi

root=$(mktemp -d /var/tmp/expflow-base.XXXXXX)
trap 'rm -rf "$root"' EXIT
chmod 755 "$root" # mktemp made it 700: the image root must be traversable by the node user

# Debian's merged /usr first: /bin, /sbin and /lib* are links into /usr (copies go through them).
for l in bin sbin lib lib64; do
  if [[ -L /$l ]]; then mkdir -p "$root/$(readlink /$l)" && ln -s "$(readlink /$l)" "$root/$l"; fi
done
packages=(base-files bash dash coreutils grep sed findutils tar gzip diffutils util-linux hostname
  libc-bin ncurses-base ca-certificates debianutils mawk
  libc6 libgcc-s1 libstdc++6 zlib1g libcrypt1 tzdata) # as in Debian slim: native addons (Temporal core, DuckDB) link librt, libstdc++...
copy() { # copy a path (file, symlink or directory entry) keeping its parents and metadata
  local p=$1
  [[ -e "$p" || -L "$p" ]] || return 0
  [[ -d "$p" && ! -L "$p" ]] && { mkdir -p "$root$p"; return 0; }
  cp -a --parents "$p" "$root" 2>/dev/null || true
  if [[ -L "$p" ]]; then copy "$(readlink -f "$p")"; fi
}
for pkg in "${packages[@]}"; do
  while IFS= read -r f; do
    case "$f" in /usr/share/doc/* | /usr/share/man/* | /usr/share/info/* | /usr/share/locale/* | /usr/share/lintian/*) continue ;; esac
    copy "$f"
  done < <(dpkg -L "$pkg" 2>/dev/null || true)
done

# node at the official image's location, npm and friends from this host's global modules.
mkdir -p "$root/usr/local/bin" "$root/usr/local/lib/node_modules" "$root/usr/local/etc"
cp -a "$(readlink -f "$(command -v node)")" "$root/usr/local/bin/node"
for m in npm corepack; do [[ -d /usr/lib/node_modules/$m ]] && cp -a /usr/lib/node_modules/$m "$root/usr/local/lib/node_modules/"; done
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
[[ -d "$root/usr/local/lib/node_modules/corepack" ]] && ln -s ../lib/node_modules/corepack/dist/corepack.js "$root/usr/local/bin/corepack"
cafile=$(npm config get cafile 2>/dev/null || true)
if [[ -n "$cafile" && "$cafile" != "null" && "$cafile" != "undefined" && -f "$cafile" ]]; then
  copy "$cafile"
  echo "cafile=$cafile" >"$root/usr/local/etc/npmrc"
fi

# Shared libraries of every program copied (node, bash, coreutils...), and the dynamic loader.
is_elf() { [[ "$(head -c4 "$1" 2>/dev/null | tr -d '\0')" == $'\x7fELF' ]]; }
for f in "$root"/usr/bin/* "$root"/usr/sbin/*; do
  if [[ -f "$f" && ! -L "$f" ]] && is_elf "$f"; then ldd "/${f#"$root"/}" 2>/dev/null || true; fi
done | awk '/=> \//{print $3} /^\t\/lib/{print $1}' | sort -u | while IFS= read -r lib; do copy "$lib"; done
# ldd ran on the host's copy of each file (the same bytes); node came from the host's /usr/bin.
ldd "$(readlink -f "$(command -v node)")" | awk '/=> \//{print $3} /^\t\/lib/{print $1}' | while IFS= read -r lib; do copy "$lib"; done

# cp --parents can leave the directories it creates private: give each the host directory's mode.
find "$root" -mindepth 1 -type d | while IFS= read -r d; do
  if [[ -d "${d#"$root"}" ]]; then chmod --reference="${d#"$root"}" "$d"; fi
done

# Users and the usual empty directories.
mkdir -p "$root"/{etc,tmp,root,home/node,var/tmp,dev,proc,sys,run}
chmod 1777 "$root/tmp" "$root/var/tmp"
cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/bash
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
node:x:1000:1000::/home/node:/bin/bash
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
node:x:1000:
EOF
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
chown 1000:1000 "$root/home/node"
cp /etc/debian_version "$root/etc/debian_version" 2>/dev/null || true

# Smoke test inside the rootfs before importing.
chroot "$root" /usr/local/bin/node -e 'process.exit(process.version === "v'"$want"'" ? 0 : 1)'
chroot "$root" /bin/sh -c 'npm --version >/dev/null && bash -c "rm --version >/dev/null && cp --version >/dev/null"'

label="offline stand-in built by scripts/docker-base.sh from host files ($(hostname), node v$have, $(date -u +%Y-%m-%dT%H:%MZ)); not the official image"
tar -C "$root" -c . | docker import \
  --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --change "ENV NODE_VERSION=$have" \
  --change "LABEL org.expflow.base=\"$label\"" \
  --change 'CMD ["node"]' \
  - "$base" >/dev/null
echo "[docker-base] imported $base: $(docker image inspect -f '{{.Size}}' "$base" | awk '{printf "%.0f MB", $1/1e6}'); $label" >&2
