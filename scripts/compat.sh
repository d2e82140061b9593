#!/usr/bin/env bash
# `make compat`: the integration suites that talk to Ray, against each Ray release in RAY_VERSIONS,
# one after the other; each release runs in its own venv (.venv-ray-VERSION, made on demand by
# scripts/ray-venv.sh), with a fresh head and S3 started and stopped around it.
#
#   RAY_VERSIONS="2.9.3 2.60.0" scripts/compat.sh
#
# Needs the debug build with tests (`make build`). Prints a table of the time per release and
# exits non-zero if any release failed; each release's output is kept in .run/compat-VERSION.log.
. "$(dirname "$0")/lib.sh"

VERSIONS=${RAY_VERSIONS:-"2.9.3 2.40.0 2.47.1 2.52.1 2.60.0"}
SWIFT=${SWIFT:-swift}
# The suites whose scenarios involve Ray: submit with hostile parameters, edit -> stop ->
# resubmit, kill, SIGKILL recovery with and without the status directory, attach by id, token
# auth, the log to S3 byte-exact live and across a restart, jobs of several files (the packages
# API: a built zip, a zip streamed from S3), and what differs between releases.
SUITES=${COMPAT_SUITES:-'SidecarCoreTests|LogStreamTests|RayCompatTests|WorkingDirTests'}

# Is release $1 older than $2? (plain X.Y.Z numbers)
older() { [ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" = "$1" ]; }

mkdir -p .run
results=()
failed=0
for version in $VERSIONS; do
  t0=$SECONDS
  log "Ray $version: venv"
  venv=$(scripts/ray-venv.sh "$version" | tail -n1)
  skip=()
  # Token auth exists from 2.52: older releases have no token test to run.
  if older "$version" 2.52.0; then skip=(--skip 'tokenAuth'); fi
  log "Ray $version: tests ($SUITES${skip[*]:+, without token auth})"
  if RAY_VENV=$venv scripts/services.sh run "$SWIFT" test --skip-build --filter "$SUITES" "${skip[@]}" \
    >".run/compat-$version.log" 2>&1; then
    outcome=passed
  else
    outcome=FAILED
    failed=1
    grep -E '✘|error:' ".run/compat-$version.log" | head -n 20 >&2 || true
  fi
  counted=$(grep -E '^✔ Test run|^✘ Test run' ".run/compat-$version.log" | tail -n1 || true)
  results+=("$(printf '%-8s %-7s %5d s   %s' "$version" "$outcome" $((SECONDS - t0)) "$counted")")
  log "Ray $version: $outcome in $((SECONDS - t0)) s (log: .run/compat-$version.log)"
done

printf '\nRay      outcome   time   tests\n'
printf '%s\n' "${results[@]}"
exit "$failed"
