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
#   hold_services_lock   takes $SERVICES_LOCK for the rest of this process (and its children),
#             unless it already holds it
# and, further down, the skeleton the local services (ray-head.sh, s3-server.sh, tls-proxy.sh) are
# written on: start a daemon with its log and pid (spawn, run_detached), wait until it answers or
# fail showing its log (await_answer), stop it with signals of rising force (stop_pids), status,
# and the command line start | stop | status (service_main).
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
services_lock_inherited() {
  local fd
  for fd in "/proc/$$/fd/"*; do
    [ "$(readlink "$fd" 2>/dev/null)" = "$SERVICES_LOCK" ] && return 0
  done
  return 1
}
with_services_lock() {
  if services_lock_inherited; then
    "$@"
    return
  fi
  flock "$SERVICES_LOCK" "$@"
}
# On a descriptor of this shell, not through `flock LOCK CMD`: a signal for this script then
# reaches this script, not flock (which would die of it and leave CMD running with the lock).
# Read-only, so that a lock file another user created can be locked too (flock(1) does the same).
hold_services_lock() {
  services_lock_inherited && return 0
  [ -e "$SERVICES_LOCK" ] || : >>"$SERVICES_LOCK"
  exec {SERVICES_LOCK_FD}<"$SERVICES_LOCK"
  if ! flock -n "$SERVICES_LOCK_FD"; then
    log "waiting for the services lock ($SERVICES_LOCK): another run on this machine has the services"
    flock "$SERVICES_LOCK_FD"
  fi
}

# ---------------------------------------------------------------------------------------------
# The skeleton of a local service. A script sets SERVICE (its name in messages), SERVICE_LOG
# (what explains a failed start) and, if it uses spawn, SERVICE_PID_FILE; defines
#   service_pids      prints the PIDs of its processes, those of this checkout only
#   service_answers   true when it answers its health check
#   do_start [ARG...], do_stop, do_status
# may redefine service_logs and usage (or set SERVICE_USAGE), and ends with `service_main "$@"`.

usage() {
  echo "usage: $0 ${SERVICE_USAGE:-start | stop | status}" >&2
  exit 2
}

service_main() {
  [ $# -ge 1 ] || usage
  local cmd=$1
  shift
  case $cmd in
    start) do_start "$@" ;;
    stop) [ $# -eq 0 ] || usage; do_stop ;;
    status) [ $# -eq 0 ] || usage; do_status ;;
    *) usage ;;
  esac
}

# Waits up to $1 seconds until none of the other PIDs runs; fails if some still do. A zombie
# (dead, only not yet reaped by PID 1) does not run.
wait_gone() {
  local deadline=$((SECONDS + $1)) pids
  shift
  pids=$(IFS=, && echo "$*")
  # Not `ps | grep -q`: grep -q may exit before ps has written all, and under pipefail ps's
  # SIGPIPE would end the wait early.
  # shellcheck disable=SC2143
  while [ -n "$(ps -o stat= -p "$pids" 2>/dev/null | grep -v '^ *Z')" ]; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

# Waits up to $1 seconds until the other arguments are gone from /proc. A daemon is an orphan,
# and PID 1 reaps orphans only every second or two here: without this, a `pgrep` right after a
# stop would still find the zombies.
wait_reaped() {
  local deadline=$((SECONDS + $1)) pid
  shift
  for pid in "$@"; do
    while [ -e "/proc/$pid" ] && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
  done
}

# Closes every descriptor of this (sub)shell above 2. A daemon keeps what it inherits for as long
# as it runs: a pipe the caller reads to learn when this script ends (a `$(...)`, a CI log reader,
# Foundation's Process) would never see its end, and the services lock would stay taken.
close_fds() {
  local fd
  for fd in "/proc/$BASHPID/fd/"*; do
    fd=${fd##*/}
    if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
  done
}

# Runs CMD in the background as a daemon: stdin /dev/null, stdout and stderr to $SERVICE_LOG
# (started afresh), no other descriptor. Its PID goes to SPAWNED_PID and $SERVICE_PID_FILE.
spawn() {
  (
    close_fds
    exec "$@"
  ) </dev/null >"$SERVICE_LOG" 2>&1 &
  SPAWNED_PID=$!
  echo "$SPAWNED_PID" >"$SERVICE_PID_FILE"
}

# Runs CMD, which daemonizes by itself, in the foreground the way spawn does; output appended to
# $1 (O_APPEND: the daemon may write to the same file through a descriptor of its own).
run_detached() {
  local out=$1
  shift
  (
    close_fds
    exec "$@"
  ) </dev/null >>"$out" 2>&1
}

# PIDs of the processes `pgrep -f REGEX` finds whose command line also holds TEXT literally (TEXT
# names a path, in which a regex would take some characters for its own). A zombie's command
# line is empty: a dead process never counts.
pids_by_cmdline() {
  local pid
  for pid in $(pgrep -f "$1" || true); do
    case $(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") in *"$2"*) echo "$pid" ;; esac
  done
}

# Prints the PIDs given and those of all their descendants, except this shell's own processes.
with_descendants() {
  ps -eo pid=,ppid= | awk -v seeds="$*" -v self="$$" -v subshell="$BASHPID" '
    BEGIN { n = split(seeds, s); for (i = 1; i <= n; i++) ours[s[i]] = 1 }
    { parent[$1] = $2 }
    END {
      do {
        changed = 0
        for (p in parent) if (!(p in ours) && (parent[p] in ours)) { ours[p] = 1; changed = 1 }
      } while (changed)
      for (p in ours) if ((p in parent) && p != self && p != subshell) print p
    }' | sort -n
}

# Writes the lines (KEY=VALUE) to FILE at once: a reader never sees half of it. Readable by the
# owner only, as they may hold secrets.
write_env_file() {
  local file=$1
  shift
  (umask 077 && printf '%s\n' "$@" >"$file.tmp") && mv "$file.tmp" "$file"
}

# Dies if something listens on one of the ports: not ours, since ours was stopped before.
require_free_ports() {
  local p
  for p in "$@"; do
    if port_busy "$p"; then die "port 127.0.0.1:$p is already in use by a process that is not ours (ss -ltnp)"; fi
  done
}

# What a failed start shows.
service_logs() {
  log "----- tail of $SERVICE_LOG -----"
  tail -n 30 "$SERVICE_LOG" >&2 2>/dev/null || true
}

# Waits up to $1 seconds until service_answers. When the service died or the time is up, shows
# service_logs, stops whatever is left (do_stop) and dies saying which.
await_answer() {
  local secs=$1 deadline=$((SECONDS + $1)) why=""
  until service_answers; do
    # What spawn started may not have exec'ed yet, so service_pids may not know it yet.
    if [ -n "${SPAWNED_PID:-}" ]; then
      kill -0 "$SPAWNED_PID" 2>/dev/null || why="exited during start"
    elif [ -z "$(service_pids)" ]; then
      why="exited during start"
    fi
    if [ -z "$why" ] && [ "$SECONDS" -ge "$deadline" ]; then why="did not answer within ${secs}s"; fi
    [ -z "$why" ] || break
    sleep 0.2
  done
  [ -n "$why" ] || return 0
  service_logs
  do_stop || true
  die "$SERVICE $why (log: $SERVICE_LOG)"
}

# Stops the processes service_pids prints: each signal of $STOP_SIGNALS (default "TERM KILL")
# in turn to those still running, 5 s each to go, then waits for PID 1 to reap them. Fails,
# naming them, if some survived SIGKILL.
stop_pids() {
  local pids all sig first=1
  pids=$(service_pids)
  all=$pids
  for sig in ${STOP_SIGNALS:-TERM KILL}; do
    [ -n "$pids" ] || break
    # shellcheck disable=SC2086  # one pid per word
    [ -n "$first" ] || log "still alive, sending SIG$sig:" $pids
    first=""
    # shellcheck disable=SC2086
    kill -s "$sig" $pids 2>/dev/null || true
    # shellcheck disable=SC2086
    wait_gone 5 $pids || true
    pids=$(service_pids)
    all+=" $pids"
  done
  # shellcheck disable=SC2086
  wait_reaped 5 $all
  # shellcheck disable=SC2086
  [ -z "$pids" ] || { log "ERROR: $SERVICE survived SIGKILL:" $pids; return 1; }
}

# `status`: $1 says where it runs.
service_status() {
  if [ -n "$(service_pids)" ] && service_answers; then
    echo "$SERVICE running: $1"
  else
    echo "$SERVICE not running (or not answering): $1"
    return 1
  fi
}
