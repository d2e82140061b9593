#!/usr/bin/env bash
# `make test`: lint, the debug build, every suite against a local Ray and S3 (services.sh starts
# and always stops them), then the image test.
#
# A fresh clone spends its first minutes on three things that need not wait for each other:
# - the venv's Ray and moto (pip, mostly waiting on the network) are installed while lint and the
#   debug build run; only what the build needs (Debian's -dev packages) comes first;
# - the image's release build and its images are made beside the suites, at the lowest CPU
#   priority: the suites wait on Ray and S3 much of the time. A failed side build fails the run
#   after the suites, with its log's tail.
LOG_TAG=make-test
. "$(dirname "$0")/lib.sh"

SWIFT=${SWIFT:-swift}
MAKE=${MAKE:-make}
mkdir -p .run

# Waits for what was started beside the main work (pid $1, log $2, named $3 in messages): on a
# failure its log's tail and the run fails; else how long the main work had to wait for it.
wait_beside() {
  local t0
  t0=$(now_ms)
  if ! wait "$1"; then
    tail -n 40 "$2" >&2
    die "$3 failed (whole log: $2)"
  fi
  log "waited $((($(now_ms) - t0) / 1000)) s for $3"
}

RAYBRIDGE_DEPS=build scripts/install-deps.sh
deps_log=.run/install-deps.log
log "Ray and moto are installed into the venv beside lint and the build (log: $deps_log)"
scripts/install-deps.sh >"$deps_log" 2>&1 &
deps=$!
trap 'kill "$deps" 2>/dev/null || true' EXIT
"$MAKE" --no-print-directory lint
# shellcheck disable=SC2086  # flags are words
"$SWIFT" build ${SWIFT_BUILD_FLAGS:-} --build-tests
wait_beside "$deps" "$deps_log" "the venv (Ray, moto)"
trap - EXIT
scripts/validate-manifests.sh

side_log=.run/release-and-images.log
log "the release build and the images are made beside the suites (log: $side_log)"
# Its own process group, so that an interrupted run stops the whole side build, not just its shell.
setsid nice -n 19 bash -c "$MAKE --no-print-directory release && scripts/image-test.sh prepare" >"$side_log" 2>&1 &
side=$!
trap 'kill -- -"$side" 2>/dev/null || true' EXIT

suites=0
# shellcheck disable=SC2086  # flags are words (-c release must find the build made above)
scripts/services.sh run "$SWIFT" test ${SWIFT_BUILD_FLAGS:-} --skip-build || suites=$?
wait_beside "$side" "$side_log" "the release build and the images"
trap - EXIT
[ "$suites" = 0 ] || exit "$suites"
scripts/image-test.sh
