#!/usr/bin/env bash
# The local services raybridge's tests and demo run against: a Ray head and an S3 server, both
# on 127.0.0.1 only.
#
#   scripts/services.sh up            install the deps (idempotent), start the Ray head and S3
#   scripts/services.sh down          stop both; never fails
#   scripts/services.sh run CMD...    up, CMD, then always down; exits with CMD's status
#
# `run` holds the services lock (/tmp/raybridge-services.lock, see lib.sh) from before `up` to
# after `down`, and `up` while it starts them: a second run on the machine waits for the first
# instead of finding the ports taken. CMD inherits the lock, so an image-test.sh in CMD goes on
# without waiting for it.
#
# After `up`: .run/ray.env (RAY_DASHBOARD_URL, RAY_AUTH_MODE) and .run/s3.env (S3_ENDPOINT,
# AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION), .run/s3/{accesskey,secretkey}.
# Everything, CMD included, runs from the repository root, whatever the caller's directory.
. "$(dirname "$0")/lib.sh"
SCRIPTS="$ROOT/scripts"

usage() {
  echo "usage: $0 up | down | run CMD [ARG...]" >&2
  exit 2
}

up() {
  "$SCRIPTS/install-deps.sh"
  "$SCRIPTS/ray-head.sh" start
  "$SCRIPTS/s3-server.sh" start
}

down() {
  local ok=1
  # Tests start the TLS terminator on demand (scripts/tls-proxy.sh); it goes with the rest.
  "$SCRIPTS/tls-proxy.sh" stop || ok=0
  "$SCRIPTS/s3-server.sh" stop || ok=0
  "$SCRIPTS/ray-head.sh" stop || ok=0
  [ "$ok" = 1 ] || log "WARNING: stopping a service failed (see above); check: pgrep -af 'moto_server|ray::|gcs_server|raylet|dashboard|nginx'"
  return 0
}

child=""

# On INT/TERM: pass the signal on to CMD, wait for it, and exit (the EXIT trap then runs down).
on_signal() {
  local sig=$1 code=$2
  if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
    kill -s "$sig" "$child" 2>/dev/null || true
    if wait "$child"; then code=0; else code=$?; fi
  fi
  exit "$code"
}

on_exit() {
  local rc=$?
  trap - EXIT
  # Ignore further Ctrl-C / TERM (the stop scripts inherit this), so cleanup runs to the end.
  trap '' INT TERM
  down
  exit "$rc"
}

run() {
  [ $# -ge 1 ] || usage
  # Before the traps: a Ctrl-C while waiting must not stop the services another run holds.
  hold_services_lock
  trap on_exit EXIT
  trap 'on_signal INT 130' INT
  trap 'on_signal TERM 143' TERM
  up
  # CMD runs in the background so that a TERM sent to this script is handled at once (bash
  # runs traps only after a foreground command ends). A background command would get stdin
  # from /dev/null and SIGINT/SIGQUIT ignored; `<&0` and `trap -` undo both, so CMD behaves as
  # if run in the foreground (tests may send SIGINT to their children, which inherit this).
  (
    trap - INT QUIT
    exec "$@"
  ) <&0 &
  child=$!
  local rc=0
  wait "$child" || rc=$?
  child=""
  exit "$rc"
}

[ $# -ge 1 ] || usage
cmd=$1
shift
case $cmd in
  up) [ $# -eq 0 ] || usage; hold_services_lock; up ;;
  down) [ $# -eq 0 ] || usage; down ;;
  run) run "$@" ;;
  *) usage ;;
esac
