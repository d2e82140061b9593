#!/usr/bin/env bash
# `make image-test`: the image, built and run the way Kubernetes runs it, with podman on loopback.
#
#   scripts/image-test.sh          build the images, then (holding the services lock) start Ray and
#                                  S3, run the checks, stop everything
#   scripts/image-test.sh prepare  the images alone (scripts/test.sh makes them while the suites run)
#   scripts/image-test.sh checks   the checks alone, with Ray and S3 already up (and the images built)
#
# Needs `make release` (the image is the Dockerfile's `prebuilt` target around that binary, on a
# Debian base made with debootstrap: no registry is reachable here) and podman with runc. When
# podman cannot run a container it fails, saying why; it never skips.
#
# The sidecar runs as deploy/base/deployment.yaml says (scripts/podman_args.py maps it): read-only
# root, uid/gid 65532, fsGroup 65532, all capabilities dropped, no privilege escalation, /tmp a 1 MiB
# tmpfs, the ConfigMap and Secrets as read-only directories written kubelet-style on the host, the
# status emptyDir a host directory like the kubelet's (setgid, group fsGroup), host network. An app
# container of another uid, sharing only the status volume and the fsGroup, waits for SUCCEEDED
# with examples/status-watcher.sh and reads every status file.
LOG_TAG=image-test
. "$(dirname "$0")/lib.sh"
. "$ROOT/scripts/container.sh"
. "$ROOT/scripts/image-test-lib.sh"

IMAGE="localhost/raybridge:$VERSION"
APP_IMAGE="localhost/raybridge-test-app:bookworm"
export CONTAINER_ENGINE=podman

prepare() {
  engine_pick
  local t0
  t0=$(now_ms)
  scripts/image.sh base
  # Can podman run a container at all here? Its own error says why not (runtime, cgroups, ulimits).
  local out
  out=$("${ENGINE[@]}" run --rm --network host "$BASE_LOCAL" true 2>&1) ||
    die "podman cannot run a container on this machine: $out"
  IMAGE=$IMAGE IMAGE_BINARY=release BASE_IMAGE=local scripts/image.sh build
  # The app: bash and inotifywait, nothing of raybridge's; and a static busybox, which the checks
  # run in the sidecar's container (its image has no tools).
  log "building $APP_IMAGE (inotify-tools and busybox-static on the same base)"
  mkdir -p "$CACHE/empty-context"
  printf 'FROM %s\nRUN apt-get update && apt-get install -y --no-install-recommends inotify-tools busybox-static && rm -rf /var/lib/apt/lists/*\n' \
    "$BASE_LOCAL" | "${ENGINE[@]}" build --pull=never -q -t "$APP_IMAGE" -f - "$CACHE/empty-context" >/dev/null
  log "images ready in $((($(now_ms) - t0) / 1000)) s"
}

case ${1:-all} in
  all)
    [ -x .build-release/release/raybridge ] || die "no .build-release/release/raybridge: run make release (make image-test does)"
    prepare
    check_image
    check_without_tmp
    log "waiting for the services lock ($SERVICES_LOCK)"
    LOCK_WAIT_FROM=$(now_ms)
    export LOCK_WAIT_FROM
    with_services_lock "$0" locked
    ;;
  locked)
    log "holding the services lock (waited $((($(now_ms) - LOCK_WAIT_FROM) / 1000)) s)"
    scripts/services.sh run "$0" checks
    ;;
  prepare)
    [ -x .build-release/release/raybridge ] || die "no .build-release/release/raybridge: run make release (make image-test does)"
    prepare
    ;;
  checks)
    engine_pick
    checks
    ;;
  *) echo "usage: $0 [prepare|checks]" >&2; exit 2 ;;
esac
