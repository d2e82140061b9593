#!/usr/bin/env bash
# A local, loopback-only Ray head for raybridge's tests and demo.
#
#   scripts/ray-head.sh start [--token TOKEN]   start (or keep) a head; token auth with --token
#   scripts/ray-head.sh stop                    stop it and make sure no Ray process is left
#   scripts/ray-head.sh status                  print whether it runs and answers, and the mode
#
# The head runs from $RAY_VENV (default: $RAYBRIDGE_VENV, else .venv): `make compat` points it at
# a venv of another Ray release (scripts/ray-venv.sh). A head from another venv is restarted.
#
# State under .run/: ray.mode ("disabled" or "token"), ray.venv, ray.token (token mode only), ray.env
# (RAY_DASHBOARD_URL, RAY_AUTH_MODE, RAY_AUTH_TOKEN), ray.pids, ray-start.log / ray-stop.log,
# and Ray's own temp dir .run/ray/ (logs: .run/ray/session_latest/logs/).
. "$(dirname "$0")/lib.sh"

SERVICE="Ray head"
SERVICE_USAGE="start [--token TOKEN] | stop | status"
VENV="${RAY_VENV:-$VENV}"
PORT="${RAY_DASHBOARD_PORT:-8265}"
GCS_PORT=6379 # Ray's default; only checked, so that a foreign Ray gives a clear error
URL="http://127.0.0.1:$PORT"
MODE_FILE="$RUN/ray.mode"
VENV_FILE="$RUN/ray.venv"
TOKEN_FILE="$RUN/ray.token"
ENV_FILE="$RUN/ray.env"
PIDS_FILE="$RUN/ray.pids"
START_LOG="$RUN/ray-start.log"
SERVICE_LOG=$START_LOG
STOP_LOG="$RUN/ray-stop.log"
START_TIMEOUT="${RAY_START_TIMEOUT:-60}" # seconds for /api/version to answer after `ray start`

# Every process of our head inherits this variable (Ray passes its environment down to the
# daemons, workers and job entrypoints). It is how `stop` finds leftovers precisely, including
# workers whose command line Ray rewrites to `ray::IDLE` and entrypoints in their own session.
MARKER="RAYBRIDGE_RAY_HEAD=$ROOT"

# Ray puts unix sockets under its temp dir (<temp>/session_<date>_<pid>/sockets/plasma_store), and
# a socket path may not exceed 107 bytes; keep the temp dir short, else use /tmp plus a symlink.
RAY_TMP="$RUN/ray"
if [ "${#RAY_TMP}" -gt 40 ]; then
  RAY_TMP="/tmp/raybridge-ray-$(id -u)-$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1)"
fi

# GET /api/version; prints the body, fails unless HTTP 2xx. $1 = token ("" for none).
# A non-browser User-Agent, because Ray 2.60 refuses some requests that look like a browser's.
api_version() {
  local args=(-fsS --max-time 3 -A raybridge-scripts)
  [ -n "$1" ] && args+=(-H "Authorization: Bearer $1")
  curl "${args[@]}" "$URL/api/version" 2>/dev/null
}
service_answers() { api_version "$TOKEN" >/dev/null; }

# PIDs of Ray processes that belong to this checkout: those carrying MARKER, the daemons
# (gcs_server, raylet, dashboard) started from this venv (e.g. by hand, without MARKER), and all
# their descendants. The last rule is needed because setproctitle, which Ray uses to rename
# processes (ray-dashboard-JobHead-0, ray::IDLE, ...), may overwrite /proc/PID/environ.
service_pids() {
  # shellcheck disable=SC2046  # one pid per word
  with_descendants $(
    # -z: environ is NUL-separated; -x -F: the whole entry, literally; -l: print the file name.
    grep -lzxF -- "$MARKER" /proc/[0-9]*/environ 2>/dev/null | sed 's|^/proc/\([0-9]*\)/environ$|\1|' || true
    pids_by_cmdline 'ray/core/src/ray/(gcs/gcs_server|raylet/raylet)|ray/dashboard/dashboard\.py' "$VENV/"
  )
}

# The tails of `ray start`'s output and of the new session's logs. PREV_SESSION: the session dir
# that was the latest before this start (its logs are old news).
service_logs() {
  log "----- tail of $START_LOG -----"
  tail -n 30 "$START_LOG" >&2 2>/dev/null || true
  local session f
  session=$(readlink -f "$RAY_TMP/session_latest" 2>/dev/null || true)
  if [ -z "$session" ] || [ "$session" = "${PREV_SESSION:-}" ]; then
    log "(Ray created no session dir, so there are no Ray logs to show)"
    return 0
  fi
  for f in gcs_server.err raylet.err dashboard.err dashboard.log raylet.out; do
    f="$session/logs/$f"
    if [ -s "$f" ]; then
      log "----- tail of $f -----"
      tail -n 20 "$f" >&2
    fi
  done
  log "all Ray logs: $session/logs/"
}

do_stop() {
  local t0 before left
  t0=$(now_ms)
  before=$(service_pids)
  if [ -z "$before" ] && [ ! -f "$MODE_FILE" ]; then
    log "not running"
    rm -f "$TOKEN_FILE" "$ENV_FILE" "$PIDS_FILE"
    return 0
  fi
  log "ray stop --force"
  # Note: `ray stop` finds Ray processes by name: it stops every Ray on the machine, not only ours.
  if ! PATH="$VENV/bin:$PATH" timeout 60 "$VENV/bin/ray" stop --force --log-style=record --log-color=false \
    >"$STOP_LOG" 2>&1; then
    log "ray stop failed or timed out (see $STOP_LOG); killing by pid"
  fi
  rm -f "$MODE_FILE" "$VENV_FILE" "$TOKEN_FILE" "$ENV_FILE" "$PIDS_FILE"
  left=$(service_pids)
  # shellcheck disable=SC2086  # one pid per word
  [ -z "$left" ] || log "leftovers after ray stop, sending SIGTERM:" $left
  stop_pids || exit 1
  # shellcheck disable=SC2086
  wait_reaped 5 $before
  log "stopped in $(($(now_ms) - t0)) ms"
}

do_start() {
  local mode=disabled
  TOKEN=""
  while [ $# -gt 0 ]; do
    case $1 in
      --token)
        if [ $# -lt 2 ] || [ -z "$2" ]; then die "--token needs a value"; fi
        TOKEN=$2
        shift 2
        ;;
      --token=*)
        TOKEN=${1#--token=}
        [ -n "$TOKEN" ] || die "--token needs a value"
        shift
        ;;
      *) usage ;;
    esac
  done
  [ -n "$TOKEN" ] && mode=token
  [ -x "$VENV/bin/ray" ] || die "no ray in $VENV; run scripts/install-deps.sh"

  # Already running in the wanted mode (same token) and answering: nothing to do.
  if [ -f "$MODE_FILE" ] && [ "$(cat "$MODE_FILE")" = "$mode" ] &&
    [ "$(cat "$VENV_FILE" 2>/dev/null || true)" = "$VENV" ] &&
    [ "$(cat "$TOKEN_FILE" 2>/dev/null || true)" = "$TOKEN" ] && service_answers; then
    log "already running at $URL (mode $mode)"
    return 0
  fi
  # Anything of ours in another mode, half-started or dead: start from scratch.
  if [ -f "$MODE_FILE" ] || [ -n "$(service_pids)" ]; then
    log "a head in another mode or not answering is around: restarting"
    do_stop
  fi
  require_free_ports "$PORT" "$GCS_PORT"

  mkdir -p "$RUN" "$RAY_TMP"
  [ "$RAY_TMP" = "$RUN/ray" ] || ln -sfn "$RAY_TMP" "$RUN/ray"
  # Keep the logs of the last few sessions only (each start makes a new session dir).
  find "$RAY_TMP" -maxdepth 1 -name 'session_2*' -type d -printf '%T@ %p\n' 2>/dev/null |
    sort -rn | tail -n +6 | cut -d' ' -f2- | xargs -r rm -rf

  local auth_env=(RAY_AUTH_MODE="$mode")
  [ "$mode" = token ] && auth_env+=(RAY_AUTH_TOKEN="$TOKEN")

  local t0
  t0=$(now_ms)
  PREV_SESSION=$(readlink -f "$RAY_TMP/session_latest" 2>/dev/null || true)
  log "starting Ray head on 127.0.0.1 (dashboard $URL, mode $mode)"
  # - venv bin first on PATH: jobs inherit it, and the entrypoint's `python` must have ray.
  # - RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0: without it Ray turns --node-ip-address=127.0.0.1 into
  #   the machine's interface address and its gRPC servers (GCS 6379, raylet, agents, client
  #   server 10001) listen on all interfaces; with it everything listens on 127.0.0.1 only.
  # - RAY_AUTH_MODE is always explicit: unset, Ray switches token auth on by itself when a
  #   ~/.ray/auth_token exists. Inherited RAY_AUTH_TOKEN*/RAY_ADDRESS are dropped.
  # - timeout --foreground: plain timeout moves `ray start` (and so every daemon) into a
  #   process group of its own; this way the daemons stay in the caller's group, and a Ctrl-C or
  #   a kill of that group reaches them too, should the caller's cleanup never run.
  : >"$START_LOG"
  if ! run_detached "$START_LOG" env -u RAY_AUTH_TOKEN -u RAY_AUTH_TOKEN_PATH -u RAY_ADDRESS \
    PATH="$VENV/bin:$PATH" \
    RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 \
    "$MARKER" \
    "${auth_env[@]}" \
    timeout --foreground 120 "$VENV/bin/ray" start --head \
    --node-ip-address=127.0.0.1 \
    --num-cpus=2 \
    --object-store-memory=$((256 * 1024 * 1024)) \
    --include-dashboard=true \
    --dashboard-host=127.0.0.1 \
    --dashboard-port="$PORT" \
    --temp-dir="$RAY_TMP" \
    --disable-usage-stats \
    --log-style=record --log-color=false; then
    service_logs
    do_stop || true
    die "ray start failed (log: $START_LOG)"
  fi
  await_answer "$START_TIMEOUT"

  printf '%s\n' "$mode" >"$MODE_FILE"
  printf '%s\n' "$VENV" >"$VENV_FILE"
  if [ "$mode" = token ]; then
    (umask 077 && printf '%s\n' "$TOKEN" >"$TOKEN_FILE")
  else
    rm -f "$TOKEN_FILE"
  fi
  write_env_file "$ENV_FILE" "RAY_DASHBOARD_URL=$URL" "RAY_AUTH_MODE=$mode" ${TOKEN:+"RAY_AUTH_TOKEN=$TOKEN"}
  service_pids >"$PIDS_FILE"
  log "up in $(($(now_ms) - t0)) ms: $(api_version "$TOKEN")"
}

do_status() {
  TOKEN=$(cat "$TOKEN_FILE" 2>/dev/null || true)
  service_status "$URL, mode $(cat "$MODE_FILE" 2>/dev/null || echo none)"
}

service_main "$@"
