#!/usr/bin/env bash
# The analysts' door: lineage, asset checks, metadata and run history, read-only. Launching
# runs or backfills, starting or stopping schedules and sensors, and wiping assets are refused
# (dagster-webserver --read-only). It still shows asset metadata, including previews of
# customer rows: serve it on the analysts' network only (READONLY_HOST), never the internet.
#
#   DAGSTER_HOME=/srv/dagster SEGMENTATION_DATA_DIR=/srv/segmentation-data deploy/webserver-readonly.sh
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${DAGSTER_BIN:-.venv/bin}/dagster-webserver" --read-only \
    -h "${READONLY_HOST:-0.0.0.0}" -p "${READONLY_PORT:-3001}" -w workspace.yaml
