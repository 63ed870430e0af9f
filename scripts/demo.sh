#!/usr/bin/env bash
# Install the gateway, load the real connector fixtures into a demo organisation on the
# embedded SQLite database, print an API key and the GraphiQL URL, then serve.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh
gateway=.venv/bin/connect-gateway
export CONNECT_GATEWAY_LOG_LEVEL="${CONNECT_GATEWAY_LOG_LEVEL:-WARNING}"
port="${CONNECT_GATEWAY_PORT:-8000}"

"$gateway" migrate

# The demo organisation is created once; later runs reuse it and its connectors.
marker=data/demo-organisation
if [ ! -s "$marker" ]; then
    organisation=$(.venv/bin/python -c 'from resolvers.ids import new_id; print(new_id())')
    "$gateway" load-fixtures --organisation "$organisation" tests/fixtures/connectors
    echo "$organisation" > "$marker"
fi
organisation=$(cat "$marker")
key=$("$gateway" api-key create --organisation "$organisation" | tail -n 1)

cat <<TEXT

Demo organisation: $organisation
API key:           $key
GraphiQL:          http://127.0.0.1:$port/graphql
  Paste into GraphiQL's Headers tab: {"Authorization": "Bearer $key"}
  First query:  { connectors(organisationId: "$organisation", first: 5) { totalCount nodes { name } } }

TEXT
exec "$gateway" serve --port "$port"
