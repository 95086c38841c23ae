#!/usr/bin/env bash
# Set up and run the main job on the embedded demo data: bash scripts/demo.sh [output dir]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
bash scripts/setup.sh
exec "$PYTHON" -m pipelines demo -o "${1:-demo_out}"
