# shellcheck shell=bash
# What every script here shares; each one starts with
#
#   . "$(dirname "$0")/lib.sh"
#
# which sets bash's strict mode and moves to the repository root, so paths are relative to it
# whatever the caller's directory. It defines:
#   ROOT      the repository root
#   RUN       $ROOT/.run: the local services' state, logs and credentials
#   VENV      the project's Python venv (Ray, moto, boto3, awscli): $RAYBRIDGE_VENV if set (a
#             relative path is taken from the root), else $ROOT/.venv. Exported again as
#             RAYBRIDGE_VENV, so the scripts, Python helpers and tests started from here agree.
#   log MSG   a "[tag] MSG" line on stderr; the tag is $LOG_TAG, else the script's name
#   die MSG   log "ERROR: MSG" and exit 1
#   now_ms    milliseconds since the epoch, for timing
#   port_busy PORT   true if something accepts connections on 127.0.0.1:PORT
#   with_services_lock CMD...   runs CMD holding $SERVICES_LOCK (one Ray head, moto and nginx per
#             machine), unless this process already holds it
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
# shellcheck disable=SC2034 # used by the scripts that source this
RUN="$ROOT/.run"
VENV="${RAYBRIDGE_VENV:-.venv}"
case $VENV in /*) ;; *) VENV="$ROOT/$VENV" ;; esac
export RAYBRIDGE_VENV="$VENV"
LOG_TAG="${LOG_TAG:-$(basename "$0" .sh)}"

log() { printf '[%s] %s\n' "$LOG_TAG" "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Only one Ray head (8265/6379), moto (9000) and nginx can run on a machine; whoever starts them
# holds this lock. `flock LOCK CMD` passes its open descriptor of LOCK down to CMD, so a descriptor
# of ours naming LOCK means an ancestor holds it: taking it again would wait for ever.
SERVICES_LOCK="${RAYBRIDGE_SERVICES_LOCK:-/tmp/raybridge-services.lock}"
with_services_lock() {
  local fd
  for fd in "/proc/$$/fd/"*; do
    if [ "$(readlink "$fd" 2>/dev/null)" = "$SERVICES_LOCK" ]; then
      "$@"
      return
    fi
  done
  flock "$SERVICES_LOCK" "$@"
}
