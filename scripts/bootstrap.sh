#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian 12 machine that has Node 20 and npm:
# pnpm (pinned by package.json's packageManager), the workspace's npm dependencies, and — when run as
# root with apt available — the Debian tools the interop tests compare against.
set -euo pipefail
cd "$(dirname "$0")/.."

want_pnpm=$(node -p "require('./package.json').packageManager.split('@')[1]")
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$want_pnpm" ]; then
  echo "bootstrap: installing pnpm@$want_pnpm with npm"
  npm install -g --no-fund --no-audit "pnpm@$want_pnpm" >/dev/null
fi

if [ "${OVL_SKIP_APT:-}" != 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  # Peers for interop tests and benches; a missing one makes its tests skip with a reason, not fail.
  peers="tar libarchive-tools umoci skopeo buildah fuse-overlayfs xfsprogs zstd pigz attr debootstrap
         busybox-static qemu-system-x86 cpio kmod"
  missing=$(for p in $peers; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || echo "$p"; done)
  if [ -n "$missing" ]; then
    echo "bootstrap: apt-get install $(echo $missing)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
  fi
fi

CI=true pnpm install --frozen-lockfile
