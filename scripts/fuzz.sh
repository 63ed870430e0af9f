#!/usr/bin/env bash
# Run the long fuzzing pass: generated GraphQL operations across every Query and Mutation field,
# and generated REST requests from the façade's OpenAPI document, on each selected backend.
# CONNECT_GATEWAY_FUZZ_OPERATIONS and CONNECT_GATEWAY_FUZZ_REST_CASES override the counts, and
# CONNECT_GATEWAY_TEST_BACKENDS selects the backends (default: sqlite,postgresql).
set -euo pipefail
cd "$(dirname "$0")/.."

export CONNECT_GATEWAY_FUZZ_OPERATIONS="${CONNECT_GATEWAY_FUZZ_OPERATIONS:-1200}"
export CONNECT_GATEWAY_FUZZ_REST_CASES="${CONNECT_GATEWAY_FUZZ_REST_CASES:-300}"

exec .venv/bin/python -m pytest -q -p no:cacheprovider tests/test_fuzz.py "$@"
