#!/usr/bin/env bash
# Installs what `make demo` and `make test` need, idempotently: the inotifytools headers from
# Debian, podman, runc and debootstrap for the image test, and a project-local Python venv with a
# real Ray head and the moto S3 server.
LOG_TAG=install
. "$(dirname "$0")/lib.sh"

RAY_VERSION="${RAY_VERSION:-2.60.0}"

if [ ! -f /usr/include/inotifytools/inotifytools.h ]; then
  log "installing libinotifytools0-dev and inotify-tools from Debian"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libinotifytools0-dev inotify-tools >/dev/null
else
  log "libinotifytools0-dev already installed"
fi

if [ ! -f /usr/include/zlib.h ]; then
  log "installing zlib1g-dev from Debian (CRC-32 and gzip of the S3 log)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq zlib1g-dev >/dev/null
fi

if [ ! -f /usr/include/yaml.h ]; then
  log "installing libyaml-dev from Debian (raybridge validate FILE.yaml)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libyaml-dev >/dev/null
fi

# The virtual-hosted S3 test sends to ray-logs.s3.localhost: glibc resolves a *.localhost name
# only through /etc/hosts (curl and browsers special-case it, getaddrinfo does not).
if ! getent hosts ray-logs.s3.localhost >/dev/null 2>&1; then
  if [ -w /etc/hosts ]; then
    log "adding ray-logs.s3.localhost (127.0.0.1) to /etc/hosts for the virtual-hosted S3 test"
    echo "127.0.0.1 ray-logs.s3.localhost" >>/etc/hosts
  else
    log "WARNING: cannot add ray-logs.s3.localhost to /etc/hosts (not writable): the virtual-hosted S3 test will fail"
  fi
fi

if [ ! -x "$VENV/bin/python" ]; then
  log "creating Python venv at $VENV"
  python3 -m venv "$VENV"
fi

# RAYBRIDGE_DEPS=build: what building and the unit tests need (make unit-test): botocore, the
# SigV4 signer's oracle, and no Ray, no moto.
if [ "${RAYBRIDGE_DEPS:-all}" = build ]; then
  if ! "$VENV/bin/python" -c 'import botocore' 2>/dev/null; then
    log "installing botocore into the venv (the unit tests' SigV4 oracle)"
    "$VENV/bin/pip" install -q --disable-pip-version-check botocore
  fi
  log "done (build and unit-test dependencies only)"
  exit 0
fi

# make image-test: podman runs the image here (with runc: crun fails on this machine kind's
# cgroups), on a Debian base made with debootstrap, as no image registry is reachable.
if ! command -v podman >/dev/null || [ ! -x /usr/sbin/runc ] || ! command -v debootstrap >/dev/null; then
  log "installing podman, runc and debootstrap from Debian (make image-test)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq podman runc debootstrap >/dev/null
else
  log "podman, runc and debootstrap already installed"
fi

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
