#!/usr/bin/env bash
# `make order-file`: runs scripts/order_file.py with the local Ray and S3 up (services.sh run wraps it).
. "$(dirname "$0")/lib.sh"
command -v valgrind >/dev/null || die "valgrind is missing (apt-get install valgrind): it lists the functions that run"
exec "$VENV/bin/python" scripts/order_file.py "$@"
