#!/usr/bin/env bash
# Install what the gateway serves or tests with beyond Python packages:
#   - graphiql/node_modules from graphiql/package-lock.json (GraphiQL, React, ReactDOM),
#     which the gateway serves at /graphiql/static/;
#   - Debian's chromium at /usr/bin/chromium, for tests/test_graphiql_browser.py, and
#     docker-compose, for tests/test_docker_files.py;
#   - tests/audit/node_modules from tests/audit/package-lock.json (graphql-http), for
#     tests/test_graphql_http_audit.py.
# Safe to run again: each step runs only when its result is missing or out of date.
set -euo pipefail
cd "$(dirname "$0")/.."

GRAPHIQL_DIR=graphiql
LOCKFILE="$GRAPHIQL_DIR/package-lock.json"
# npm ci deletes node_modules first, so a stamp inside it never outlives a changed lockfile.
STAMP="$GRAPHIQL_DIR/node_modules/.connect-gateway-lock.sha256"
# The files app/graphiql.py serves. If one is missing, node_modules is installed again.
SERVED_FILES=(
    graphiql/graphiql.min.js
    graphiql/graphiql.min.css
    react/umd/react.production.min.js
    react-dom/umd/react-dom.production.min.js
)

graphiql_is_current() {
    local lock_hash="$1" file
    [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$lock_hash" ] || return 1
    for file in "${SERVED_FILES[@]}"; do
        [ -f "$GRAPHIQL_DIR/node_modules/$file" ] || return 1
    done
}

install_graphiql() {
    if ! command -v npm >/dev/null 2>&1; then
        echo "install-assets: npm not found. Install Node.js with npm 7 or later, which reads lockfile version 3 (Debian: apt-get install nodejs npm), then run scripts/install-assets.sh again." >&2
        exit 1
    fi
    local lock_hash
    lock_hash="$(sha256sum "$LOCKFILE" | cut -d' ' -f1)"
    if graphiql_is_current "$lock_hash"; then
        return
    fi
    echo "install-assets: installing GraphiQL assets into $GRAPHIQL_DIR/node_modules"
    # npm prints its "added N packages" summary on stdout even at --loglevel=error.
    npm ci --prefix "$GRAPHIQL_DIR" --no-audit --no-fund --loglevel=error >/dev/null
    echo "$lock_hash" >"$STAMP"
}

# Install Debian packages the tests need, when missing: chromium for the browser tests and
# docker-compose for validating docker/compose.yaml (no `docker compose` plugin is packaged here).
install_debian_packages() {
    local missing=()
    [ -x /usr/bin/chromium ] || missing+=(chromium)
    command -v docker-compose >/dev/null 2>&1 || docker compose version >/dev/null 2>&1 || missing+=(docker-compose)
    if [ "${#missing[@]}" -eq 0 ]; then
        return
    fi
    if [ "$(id -u)" -ne 0 ]; then
        echo "install-assets: warning: ${missing[*]} missing, and installing with apt-get needs root. Run 'apt-get install ${missing[*]}' as root, or their tests will skip (and fail under CI=true)." >&2
        return
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "install-assets: warning: ${missing[*]} missing and apt-get is not available; their tests will skip (and fail under CI=true)." >&2
        return
    fi
    echo "install-assets: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_audit() {
    if [ ! -d tests/audit/node_modules/graphql-http ] || [ tests/audit/package-lock.json -nt tests/audit/node_modules ]; then
        echo "install-assets: installing the graphql-http audit suite into tests/audit/node_modules"
        npm ci --prefix tests/audit --no-audit --no-fund --loglevel=error >/dev/null
    fi
}

install_graphiql
install_debian_packages
install_audit
