#!/usr/bin/env bash
# Run the test suite on SQLite and PostgreSQL. Arguments go to pytest unchanged, for
# example `scripts/test.sh -k migrations` or `scripts/test.sh tests/test_backends.py`.
#
# Installs or updates .venv first (scripts/bootstrap.sh), and starts the local PostgreSQL
# cluster when nothing accepts connections on 127.0.0.1:5432. CONNECT_GATEWAY_TEST_BACKENDS=sqlite
# skips PostgreSQL altogether.
set -euo pipefail
cd "$(dirname "$0")/.."

POSTGRES_HOST=127.0.0.1
POSTGRES_PORT=5432
POSTGRES_START_SECONDS=30

postgres_accepts_connections() {
    (exec 3<>"/dev/tcp/$POSTGRES_HOST/$POSTGRES_PORT") 2>/dev/null
}

start_postgres() {
    if ! command -v pg_ctlcluster >/dev/null || [ ! -d /etc/postgresql ]; then
        echo "warning: PostgreSQL is not installed here (no pg_ctlcluster or /etc/postgresql); its tests will be skipped, or fail when CI=true" >&2
        return 0
    fi
    echo "starting PostgreSQL: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start" >&2
    # shellcheck disable=SC2046  # one word per installed version, as pg_ctlcluster expects
    if ! pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start; then
        echo "warning: pg_ctlcluster failed to start PostgreSQL; its tests will be skipped, or fail when CI=true" >&2
        return 0
    fi
    for _ in $(seq "$POSTGRES_START_SECONDS"); do
        if postgres_accepts_connections; then
            return 0
        fi
        sleep 1
    done
    echo "warning: PostgreSQL started but did not accept connections on $POSTGRES_HOST:$POSTGRES_PORT within $POSTGRES_START_SECONDS s" >&2
}

scripts/bootstrap.sh

if [[ ",${CONNECT_GATEWAY_TEST_BACKENDS:-postgresql}," == *,postgresql,* ]] && ! postgres_accepts_connections; then
    start_postgres
fi

exec .venv/bin/python -m pytest -q "$@"
