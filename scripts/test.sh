#!/usr/bin/env bash
# `make test` once lint and the debug build are done: every suite against a local Ray and S3
# (services.sh starts and always stops them), then the image test.
#
# The image's release build and its images are made beside the suites, at the lowest CPU priority:
# the suites mostly wait on Ray and S3, and the two one after the other cost a fresh clone about
# 7 minutes more. A failed side build fails the run after the suites, with its log's tail.
LOG_TAG=make-test
. "$(dirname "$0")/lib.sh"

SWIFT=${SWIFT:-swift}
MAKE=${MAKE:-make}
mkdir -p .run
side_log=.run/release-and-images.log
log "the release build and the images are made beside the suites (log: $side_log)"
# Its own process group, so that an interrupted run stops the whole side build, not just its shell.
setsid nice -n 19 bash -c "$MAKE --no-print-directory release && scripts/image-test.sh prepare" >"$side_log" 2>&1 &
side=$!
trap 'kill -- -"$side" 2>/dev/null || true' EXIT

suites=0
scripts/services.sh run "$SWIFT" test --skip-build || suites=$?
t0=$(now_ms)
if ! wait "$side"; then
  tail -n 40 "$side_log" >&2
  die "the release build or the images failed (whole log: $side_log)"
fi
trap - EXIT
log "waited $((($(now_ms) - t0) / 1000)) s for the release build and the images after the suites"
[ "$suites" = 0 ] || exit "$suites"
scripts/image-test.sh
