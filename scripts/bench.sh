#!/usr/bin/env bash
# `make bench`: runs scripts/bench.py with the local Ray and S3 up (services.sh run wraps it).
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python scripts/bench.py "$@"
