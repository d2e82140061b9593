#!/usr/bin/env bash
# `make bench`: runs scripts/bench.py with the local Ray and S3 up (services.sh run wraps it).
. "$(dirname "$0")/lib.sh"
exec "$VENV/bin/python" scripts/bench.py "$@"
