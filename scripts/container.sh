# shellcheck shell=bash
# The container engine for `make image` and `make image-test`; sourced after lib.sh:
#
#   . "$(dirname "$0")/lib.sh"; . "$ROOT/scripts/container.sh"
#
# It defines:
#   engine_pick         sets ENGINE (an array: the command to run) to docker when a Docker engine
#                       answers, else podman; fails naming what is missing. CONTAINER_ENGINE=podman
#                       or =docker forces one.
#   VERSION             raybridge's version (Sources/RayBridgeCore/Observability/RayBridgeVersion.swift)
#   CACHE               $ROOT/.cache/image: the debootstrap base and podman's settings (git-ignored)
#   BASE_LOCAL          the name of the locally made Debian base image (scripts/image.sh base)
#
# Podman on this machine kind (docs: the team's podman reference): its default runtime crun fails
# on a cgroup v1 host ("cgroups in hybrid mode not supported"), so runc is used when installed;
# and the default ulimits are refused (setrlimit RLIMIT_NPROC), so a containers.conf without them
# is given through CONTAINERS_CONF unless the caller set one.
# shellcheck disable=SC2034 # used by the scripts that source this
VERSION=$(sed -n 's/.*string = "\(.*\)".*/\1/p' "$ROOT/Sources/RayBridgeCore/Observability/RayBridgeVersion.swift")
CACHE="$ROOT/.cache/image"
# shellcheck disable=SC2034
BASE_LOCAL="localhost/raybridge-debian:bookworm-minbase"
ENGINE=()

engine_pick() {
  local want=${CONTAINER_ENGINE:-}
  if [ "$want" != podman ] && command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    ENGINE=(docker)
    return 0
  fi
  [ "$want" = docker ] && die "CONTAINER_ENGINE=docker, but no Docker engine answers (docker info failed)"
  command -v podman >/dev/null ||
    die "neither a Docker engine (docker info) nor podman is available: install podman and runc (apt-get install podman runc; scripts/install-deps.sh does it)"
  if [ -z "${CONTAINERS_CONF:-}" ]; then
    mkdir -p "$CACHE"
    printf '[containers]\ndefault_ulimits = []\n' >"$CACHE/containers.conf"
    export CONTAINERS_CONF="$CACHE/containers.conf"
  fi
  ENGINE=(podman)
  if [ -x /usr/sbin/runc ]; then ENGINE+=(--runtime /usr/sbin/runc); fi
}
