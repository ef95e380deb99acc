#!/usr/bin/env bash
# The README's test command: install everything, then build, typecheck, lint and run every suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec node scripts/test-all.mjs "$@"
