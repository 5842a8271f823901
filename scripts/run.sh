#!/usr/bin/env bash
# Builds and runs cirhub on the embedded default (SQLite under ./data), frontend included,
# with a demo world on first start. Listens on CIRHUB_ADDR (default 127.0.0.1:8080).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh run
scripts/build-frontend.sh
cargo build --release -p cirhub-server
export CIRHUB_ADDR="${CIRHUB_ADDR:-127.0.0.1:8080}"
export CIRHUB_DATA_DIR="${CIRHUB_DATA_DIR:-data}"
export CIRHUB_LOG_FORMAT="${CIRHUB_LOG_FORMAT:-pretty}"
exec target/release/cirhub serve --demo
