#!/usr/bin/env bash
# The guided tour behind `make demo`. Runs with a local Ray head and S3 already up
# (scripts/services.sh run scripts/demo.sh), and stops the sidecar it starts.
. "$(dirname "$0")/lib.sh"
PY="$VENV/bin/python"
BIN="$ROOT/.build/debug/raybridge"
DEMO=$(mktemp -d "${TMPDIR:-/tmp}/raybridge-demo.XXXXXX")
CONFIG="$DEMO/config"; STATUS="$DEMO/status"
SIDECAR_PID=""

bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
say() { printf '   %s\n' "$*"; }
cleanup() {
  if [ -n "$SIDECAR_PID" ] && kill -0 "$SIDECAR_PID" 2>/dev/null; then
    kill -TERM "$SIDECAR_PID"; wait "$SIDECAR_PID" 2>/dev/null || true
  fi
  rm -rf "$DEMO"
}
trap cleanup EXIT

status() { cat "$STATUS/status.jobStatus" 2>/dev/null || echo "-"; }
run_id() { cat "$STATUS/id" 2>/dev/null || echo "-"; }
# Waits until status.jobStatus is one of $1 (and, if given, the id differs from $2), printing every change.
wait_for() {
  local want=$1 not_id=${2:-} last="" deadline=$((SECONDS + 180))
  while [ $SECONDS -lt $deadline ]; do
    local now; now="$(status) $(run_id)"
    if [ "$now" != "$last" ]; then say "status: $(status)   id: $(run_id)"; last=$now; fi
    if [[ " $want " == *" $(status) "* ]] && { [ -z "$not_id" ] || [ "$(run_id)" != "$not_id" ]; }; then return 0; fi
    sleep 0.2
  done
  echo "timed out waiting for $want; sidecar log:"; tail -20 "$DEMO/sidecar.log"; exit 1
}

bold "1. A ConfigMap, mounted the way the kubelet mounts it"
"$PY" scripts/kubelet_write.py "$CONFIG" --from-yaml examples/configmaps/demo.yaml --set-file jobdata.jobScript=examples/apps/counter.py
say "$CONFIG holds: $(ls "$CONFIG" | tr '\n' ' ')"
say "..data -> $(readlink "$CONFIG/..data")"
"$BIN" validate "$CONFIG" | sed 's/^/   /'

bold "2. Start the raybridge sidecar: it reads the ConfigMap and submits the job to Ray"
say "$BIN run --config-dir $CONFIG --status-dir $STATUS --job-name demo --s3-credentials-dir .run/s3 --part-size-mib 5"
"$BIN" run --config-dir "$CONFIG" --status-dir "$STATUS" --job-name demo --s3-credentials-dir .run/s3 \
  --ray-credentials-dir /nonexistent --part-size-mib 5 >"$DEMO/sidecar.log" 2>&1 &
SIDECAR_PID=$!
wait_for RUNNING
FIRST=$(run_id)

bold "3. Edit the ConfigMap (iterations 30 -> 3): the running job is stopped and the new spec submitted"
"$PY" scripts/kubelet_write.py "$CONFIG" --set 'jobdata.jobParameters={"iterations": 3, "delay": 1}'
wait_for SUCCEEDED "$FIRST"
say "Ray says the first run is now: $(curl -s "127.0.0.1:8265/api/jobs/$FIRST" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["status"])')"

say "waiting for the run's log to be complete in S3 (the stream must drain first)..."
for _ in $(seq 1 60); do grep -q '"complete" : true' "$STATUS/status.json" && break; sleep 0.5; done

bold "4. The status directory, as the app container sees it"
for f in id status.jobStatus status.message status.submitTime status.startTime status.endTime; do
  printf '   %-18s %s\n' "$f" "$(head -c 200 "$STATUS/$f")"
done
say "status.json:"; sed 's/^/     /' "$STATUS/status.json"

bold "5. Resubmit, then kill: set resubmit, wait for RUNNING, then kill: \"true\""
SECOND=$(run_id)
"$PY" scripts/kubelet_write.py "$CONFIG" --set resubmit=1 --set 'jobdata.jobParameters={"iterations": 30, "delay": 1}'
wait_for RUNNING "$SECOND"
"$PY" scripts/kubelet_write.py "$CONFIG" --set kill=true
wait_for STOPPED
for _ in $(seq 1 60); do grep -q '"complete" : true' "$STATUS/status.json" && break; sleep 0.5; done

bold "6. The driver logs in S3, one object per run"
set -a; source "$RUN/s3.env"; set +a
"$VENV/bin/aws" --endpoint-url "$S3_ENDPOINT" s3 ls --recursive s3://ray-logs/demo/ | sed 's/^/   /'
say "first lines of s3://ray-logs/demo/logs/$FIRST.log (the run stopped by the edit):"
"$VENV/bin/aws" --endpoint-url "$S3_ENDPOINT" s3 cp "s3://ray-logs/demo/logs/$FIRST.log" - 2>/dev/null | head -8 | sed 's/^/     /' || true

bold "7. The sidecar's own log (last lines)"
tail -8 "$DEMO/sidecar.log" | cut -c1-160 | sed 's/^/   /'
bold "Done: stopping the sidecar; services are stopped next"
