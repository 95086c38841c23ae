#!/usr/bin/env bash
# Set up and run the tests: bash scripts/test.sh [pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
bash scripts/setup.sh test
exec "$PYTHON" -m pytest "$@"
