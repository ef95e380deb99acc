#!/usr/bin/env bash
# The README's main command: install, build, and run the demo (see scripts/demo.mjs).
set -euo pipefail
cd "$(dirname "$0")/.."
OVL_SKIP_APT=1 bash scripts/bootstrap.sh >/dev/null
pnpm exec turbo run build --output-logs=errors-only >/dev/null
exec node scripts/demo.mjs "$@"
