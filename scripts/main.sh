#!/usr/bin/env bash
# The README's main command: install and build, then unpack an image into a layer store and mount it
# (examples/unpack-and-mount). Without an argument it uses the embedded example image; given a path, any
# OCI image layout (directory or tar) or `docker save` archive.
set -euo pipefail
cd "$(dirname "$0")/.."
OVL_SKIP_APT=1 bash scripts/bootstrap.sh >/dev/null
pnpm exec turbo run build --output-logs=errors-only >/dev/null
image=${1:+$(realpath "$1")}
exec node examples/unpack-and-mount/index.mjs ${image:+"$image"} "${@:2}"
