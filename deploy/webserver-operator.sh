#!/usr/bin/env bash
# The operators' door: the full UI (launch, backfill, wipe). The open-source webserver has no
# authentication, so it listens on loopback only; operators reach it through the authenticating
# reverse proxy of deploy/nginx.conf (or an SSH tunnel: ssh -L 3000:127.0.0.1:3000 host).
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${DAGSTER_BIN:-.venv/bin}/dagster-webserver" \
    -h 127.0.0.1 -p "${OPERATOR_PORT:-3000}" -w workspace.yaml
