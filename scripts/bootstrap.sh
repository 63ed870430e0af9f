#!/usr/bin/env bash
# Create .venv and install the gateway with its test extras and the GraphiQL assets.
# Safe to run again: every step only does work that is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'

if [ -x scripts/install-assets.sh ]; then
    scripts/install-assets.sh
fi
