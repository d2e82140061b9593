#!/usr/bin/env bash
# Installs what `make demo` and `make test` need, idempotently: the inotifytools headers from
# Debian and a project-local Python venv with a real Ray head and the moto S3 server.
set -euo pipefail
cd "$(dirname "$0")/.."

RAY_VERSION="${RAY_VERSION:-2.60.0}"
VENV="${RAYBRIDGE_VENV:-$PWD/.venv}"

log() { printf '[install] %s\n' "$*"; }

if [ ! -f /usr/include/inotifytools/inotifytools.h ]; then
  log "installing libinotifytools0-dev and inotify-tools from Debian"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libinotifytools0-dev inotify-tools >/dev/null
else
  log "libinotifytools0-dev already installed"
fi

# RAYBRIDGE_DEPS=build: only what building needs (make unit-test), no venv, no Ray.
if [ "${RAYBRIDGE_DEPS:-all}" = build ]; then
  log "done (build dependencies only)"
  exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
  log "creating Python venv at $VENV"
  python3 -m venv "$VENV"
fi

want="ray==$RAY_VERSION"
if ! "$VENV/bin/python" - "$RAY_VERSION" <<'PY' 2>/dev/null
import sys, importlib.metadata as m
assert m.version("ray") == sys.argv[1]
m.version("moto"); m.version("flask"); m.version("boto3"); m.version("awscli"); m.version("kubernetes-validate")
import ray.dashboard  # noqa: F401  (the [default] extra brings the dashboard's deps)
import aiohttp  # noqa: F401
PY
then
  log "installing ray[default]==$RAY_VERSION, moto[server], boto3, awscli into the venv (takes ~90 s)"
  "$VENV/bin/pip" install -q --disable-pip-version-check "ray[default]==$RAY_VERSION" "moto[server]" boto3 awscli kubernetes-validate
else
  log "venv already has ray $RAY_VERSION and moto"
fi
log "done"
