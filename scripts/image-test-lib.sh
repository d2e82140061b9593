# shellcheck shell=bash
# The checks of scripts/image-test.sh (sourced by it): run with Ray and S3 up, IMAGE and APP_IMAGE
# built, ENGINE picked. Each check stops the test at the first failure with what it saw, the
# sidecar's log and the app's output.
# grep without -q after a pipe: -q stops reading early, and pipefail then fails the writer.
PY="$VENV/bin/python"
JOB=image-test
BUCKET=ray-logs
W="" SC="" APP="" PORT=""
IMAGE_MAX_MIB=${IMAGE_MAX_MIB:-80}

fail() {
  log "FAIL: $*"
  if [ -n "$SC" ]; then
    log "sidecar log (last 30 lines):"
    "${ENGINE[@]}" logs --tail 30 "$SC" 2>&1 | cut -c1-300 >&2 || true
  fi
  if [ -n "$APP" ]; then
    log "app output:"
    "${ENGINE[@]}" logs "$APP" >&2 2>&1 || true
  fi
  exit 1
}

cleanup() {
  local rc=$?
  [ -n "$SC" ] && "${ENGINE[@]}" rm -f -t 0 "$SC" >/dev/null 2>&1
  [ -n "$APP" ] && "${ENGINE[@]}" rm -f -t 0 "$APP" >/dev/null 2>&1
  [ -n "$W" ] && rm -rf "$W"
  exit "$rc"
}

status_of() { cat "$STATUS/status.jobStatus" 2>/dev/null || true; }
id_of() { cat "$STATUS/id" 2>/dev/null || true; }

# wait_status WANT [NOT_ID]: until status.jobStatus is WANT for a run other than NOT_ID (180 s).
wait_status() {
  local want=$1 not_id=${2:-} deadline=$((SECONDS + 180))
  until [ "$(status_of)" = "$want" ] && [ "$(id_of)" != "$not_id" ]; do
    [ $SECONDS -lt $deadline ] || fail "no $want within 180 s (now: $(status_of) $(id_of))"
    sleep 0.2
  done
}

# Until status.json says the run's log is complete in S3, then: the object equals Ray's log.
expect_log_shipped() {
  local id deadline=$((SECONDS + 60))
  id=$(id_of)
  until "$PY" -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["log"]["complete"] else 1)' \
    "$STATUS/status.json" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || fail "the log of $id is not complete in S3 after 60 s: $(cat "$STATUS/status.json")"
    sleep 0.3
  done
  local out
  out=$("$PY" - "$id" "$BUCKET" "$JOB/logs/$id.log" <<'PY'
import json, os, sys, urllib.request
import boto3
run, bucket, key = sys.argv[1:]
headers = {"User-Agent": "raybridge-image-test"}
if os.environ.get("RAY_AUTH_TOKEN"):
    headers["Authorization"] = "Bearer " + os.environ["RAY_AUTH_TOKEN"]
request = urllib.request.Request(f"{os.environ['RAY_DASHBOARD_URL']}/api/jobs/{run}/logs", headers=headers)
ray = json.load(urllib.request.urlopen(request))["logs"].encode()
s3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"])
body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
open_uploads = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
if body != ray or open_uploads:
    print(f"s3://{bucket}/{key}: {len(body)} bytes, Ray: {len(ray)} bytes, equal: {body == ray}, open uploads: {len(open_uploads)}")
    sys.exit(1)
print(f"s3://{bucket}/{key}: {len(body)} bytes, equal to Ray's log")
PY
  ) || fail "$out"
  log "  $out"
}

# The app container: another uid, the fsGroup, the status volume read-only, nothing else.
start_app() {
  local args
  mapfile -t args < <("$PY" scripts/podman_args.py deploy/base/deployment.yaml app --user 1000:1000 \
    --volume "status=$STATUS" --no-args)
  APP=raybridge-image-test-app-$$
  # shellcheck disable=SC2016 # the app's bash expands them
  "${ENGINE[@]}" run -d --name "$APP" --network none "${args[@]}" \
    --volume "$ROOT/examples/status-watcher.sh:/usr/local/bin/status-watcher.sh:ro" \
    --entrypoint '["bash", "-euc"]' "$APP_IMAGE" \
    'id; status-watcher.sh /status SUCCEEDED
     for f in id status.jobStatus status.message status.submitTime status.startTime status.endTime status.json; do
       printf "read %s: %s\n" "$f" "$(head -c 120 "/status/$f" | tr "\n" " ")"
     done' >/dev/null
}

# The image has no shell and no tools: the checks that run a command in the sidecar's container
# (writes to its root, to /tmp) run a static busybox from the app image, mounted read-only.
PROBE=/.image-test/bin/busybox

start_sidecar() {
  local args
  mapfile -t args < <("$PY" scripts/podman_args.py deploy/base/deployment.yaml raybridge \
    --volume "config=$CONFIG" --volume "status=$STATUS" --volume "s3-credentials=$W/s3-secret" \
    --volume "ray-credentials=$W/ray-secret" --env "RAYBRIDGE_JOB_NAME=$JOB" \
    --arg-replace "0.0.0.0:9533=127.0.0.1:$PORT" --image "$IMAGE")
  SC=raybridge-image-test-sidecar-$$
  "${ENGINE[@]}" run -d --name "$SC" --network host --mount "type=image,source=$APP_IMAGE,destination=/.image-test" \
    "${args[@]}" >/dev/null
}

# Needs no Ray or S3: what the image holds and says about itself.
check_image() {
  local out
  # ldd without ldd (a shell script): the dynamic loader in the image lists what it would load.
  out=$("${ENGINE[@]}" run --rm --network none --entrypoint /lib64/ld-linux-x86-64.so.2 "$IMAGE" --list /usr/local/bin/raybridge) ||
    fail "the image's loader cannot list the binary's libraries: $out"
  printf '%s\n' "$out" | sed 's/^/    ldd: /' >&2
  case $out in *"not found"*) fail "a library the binary needs is missing from the image" ;; esac
  out=$("${ENGINE[@]}" run --rm --network none "$IMAGE" --version 2>&1) || fail "raybridge --version in the image: $out"
  out=$("${ENGINE[@]}" image inspect "$IMAGE" | "$PY" -c "$(cat <<'PY'
import json, sys
config = json.load(sys.stdin)[0]["Config"]
labels = config.get("Labels") or {}
print("    user", config.get("User"), "| " + ", ".join(f"{k}={v}" for k, v in labels.items() if k.startswith("org.opencontainers")), file=sys.stderr)
problems = [f"label {k} missing" for k in ("title", "version", "revision") if not labels.get("org.opencontainers.image." + k)]
if config.get("User") != "65532:65532":
    problems.append("USER is " + repr(config.get("User")))
if config.get("Healthcheck"):
    problems.append("a HEALTHCHECK is set")
print("; ".join(problems))
PY
  )")
  [ -z "$out" ] || fail "the image's metadata: $out"
  local size
  size=$("${ENGINE[@]}" image inspect --format '{{.Size}}' "$IMAGE")
  # Issue 22: the image users pull stays small (it was 233 MiB on debian:bookworm-slim with ICU twice).
  [ "$size" -le $((IMAGE_MAX_MIB << 20)) ] || fail "the image is $((size / 1048576)) MiB, more than $IMAGE_MAX_MIB MiB"
  log "image $IMAGE: $((size / 1048576)) MiB (at most $IMAGE_MAX_MIB), runtime libraries present, USER 65532, labelled, no HEALTHCHECK"
}

# Needs no Ray or S3: the sidecar without the /tmp emptyDir (a forgotten volume) on its read-only
# root keeps the inotify thread's wake-up directory in the status volume instead of polling.
check_without_tmp() {
  W=$(mktemp -d "${TMPDIR:-/tmp}/raybridge-image-test.XXXXXX")
  trap cleanup EXIT
  CONFIG=$W/config STATUS=$W/status
  kubelet --from-yaml examples/configmaps/inline-counter.yaml --set resourceURL=http://127.0.0.1:1
  mkdir "$W/s3-secret" "$W/ray-secret" && mkdir "$STATUS" && chgrp 65532 "$STATUS" && chmod 2777 "$STATUS"
  local args
  mapfile -t args < <("$PY" scripts/podman_args.py deploy/base/deployment.yaml raybridge --omit-volume tmp \
    --volume "config=$CONFIG" --volume "status=$STATUS" --volume "s3-credentials=$W/s3-secret" \
    --volume "ray-credentials=$W/ray-secret" --arg-replace "0.0.0.0:9533=127.0.0.1:0" --image "$IMAGE")
  SC=raybridge-image-test-notmp-$$
  "${ENGINE[@]}" run -d --name "$SC" --network host "${args[@]}" >/dev/null
  local deadline=$((SECONDS + 30))
  until "${ENGINE[@]}" logs "$SC" 2>&1 | grep '"msg":"ConfigMap read"' >/dev/null; do
    [ $SECONDS -lt $deadline ] || fail "no ConfigMap read within 30 s"
    sleep 0.2
  done
  kubelet --set kill=true
  until "${ENGINE[@]}" logs "$SC" 2>&1 | grep '"kill":"true"' >/dev/null; do
    [ $SECONDS -lt $deadline ] || fail "the edit (kill: true) was not read within 30 s"
    sleep 0.2
  done
  if "${ENGINE[@]}" logs "$SC" 2>&1 | grep -i 'wake directory'; then fail "no wake-up directory without /tmp"; fi
  compgen -G "$STATUS/.raybridge-tmp/raybridge-inotify-*" >/dev/null || fail "no wake-up directory in the status volume"
  "${ENGINE[@]}" stop -t 15 "$SC" >/dev/null
  "${ENGINE[@]}" rm "$SC" >/dev/null
  SC=""
  [ -z "$(ls -A "$STATUS/.raybridge-tmp")" ] || fail "the wake-up directory is left behind after SIGTERM"
  rm -rf "$W"
  W=""
  log "without the /tmp emptyDir: the wake-up directory went to the status volume"
}

kubelet() { "$PY" scripts/kubelet_write.py "$CONFIG" "$@"; }
T0=0
step() { log "[$((($(now_ms) - T0) / 1000)) s] $*"; }

checks() {
  set -a
  . "$RUN/ray.env"
  . "$RUN/s3.env"
  set +a
  W=$(mktemp -d "${TMPDIR:-/tmp}/raybridge-image-test.XXXXXX")
  trap cleanup EXIT
  CONFIG=$W/config STATUS=$W/status
  PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  local first second third
  T0=$(now_ms)

  kubelet --from-yaml examples/configmaps/demo.yaml --set-file jobdata.jobScript=examples/apps/counter.py \
    --set 'jobdata.jobParameters={"iterations": 3}'
  # A Secret volume is written by the same atomic writer as a ConfigMap's; the optional Ray token
  # Secret is absent, for which the kubelet mounts an empty directory.
  "$PY" scripts/kubelet_write.py "$W/s3-secret" --set-file "accesskey=$RUN/s3/accesskey" --set-file "secretkey=$RUN/s3/secretkey"
  mkdir "$W/ray-secret"
  # The status emptyDir as the kubelet leaves it with fsGroup: 0777 plus setgid, group fsGroup.
  mkdir "$STATUS" && chgrp 65532 "$STATUS" && chmod 2777 "$STATUS"

  step "1. the app waits for SUCCEEDED as uid 1000 (group 65532); the sidecar runs as deployment.yaml says"
  start_app
  start_sidecar
  local rc
  rc=$(timeout 240 "${ENGINE[@]}" wait "$APP") || fail "the app container did not end within 240 s"
  [ "$rc" = 0 ] || fail "the app container exited $rc (status-watcher.sh wants SUCCEEDED, then reads every file)"
  "${ENGINE[@]}" logs "$APP" | sed 's/^/    app: /' >&2
  "${ENGINE[@]}" logs "$APP" | grep '^read status.jobStatus: SUCCEEDED' >/dev/null || fail "the app did not read SUCCEEDED"
  first=$(id_of)
  expect_log_shipped

  step "2. /healthz /readyz /metrics from the host (127.0.0.1:$PORT)"
  curl -fsS --max-time 5 "127.0.0.1:$PORT/healthz" >/dev/null || fail "/healthz"
  curl -fsS --max-time 5 "127.0.0.1:$PORT/readyz" >/dev/null || fail "/readyz"
  curl -fsS --max-time 5 "127.0.0.1:$PORT/metrics" | grep '^raybridge_job_status{status="SUCCEEDED"} 1' >/dev/null ||
    fail "/metrics has no raybridge_job_status{status=\"SUCCEEDED\"} 1"

  step "3. an edit that resubmits; SIGTERM through podman stop while it runs; the restart finishes it"
  kubelet --set resubmit=1 --set 'jobdata.jobParameters={"iterations": 40, "delay": 0.25}'
  wait_status RUNNING "$first"
  second=$(id_of)
  sleep 2
  local stop_ms
  stop_ms=$(now_ms)
  "${ENGINE[@]}" stop -t 15 "$SC" >/dev/null
  stop_ms=$(($(now_ms) - stop_ms))
  rc=$("${ENGINE[@]}" inspect --format '{{.State.ExitCode}}' "$SC")
  log "  podman stop: exit code $rc after $stop_ms ms"
  [ "$stop_ms" -lt 5000 ] || fail "the sidecar took $stop_ms ms to exit on SIGTERM (promised: 5 s)"
  [ "$rc" = 0 ] || fail "the sidecar exited $rc on SIGTERM"
  "${ENGINE[@]}" start "$SC" >/dev/null
  wait_status SUCCEEDED "$first"
  [ "$(id_of)" = "$second" ] || fail "after the restart the run is $(id_of), not $second: submitted twice?"
  expect_log_shipped

  step "4. a kill: resubmit, then kill: \"true\" while it runs"
  kubelet --set resubmit=2 --set 'jobdata.jobParameters={"iterations": 200, "delay": 0.25}'
  wait_status RUNNING "$second"
  third=$(id_of)
  kubelet --set kill=true
  wait_status STOPPED
  [ "$(id_of)" = "$third" ] || fail "STOPPED is for $(id_of), not $third"
  expect_log_shipped

  step "5. nothing written outside the volumes: the root filesystem refuses writes"
  local out
  if out=$("${ENGINE[@]}" exec --user 0 "$SC" "$PROBE" touch /usr/local/bin/probe 2>&1); then
    fail "uid 0 in the sidecar container wrote to /usr/local/bin"
  fi
  case $out in *"Read-only file system"*) ;; *) fail "writing to the root failed, but not as read-only: $out" ;; esac
  "${ENGINE[@]}" exec "$SC" "$PROBE" touch /tmp/probe || fail "the /tmp emptyDir is not writable"
  # podman diff lists the mount points podman itself made (and their parents): anything else the
  # container wrote would be there too.
  local mounts
  mounts=$("${ENGINE[@]}" inspect --format '{{range .Mounts}}{{.Destination}} {{end}}' "$SC")
  out=$("${ENGINE[@]}" diff "$SC" | awk -v mounts="$mounts" '
    BEGIN { n = split(mounts, m, " ") }
    { for (i = 1; i <= n; i++) if (m[i] == $2 || index(m[i], $2 "/") == 1) next; print }')
  [ -z "$out" ] || fail "the container's root filesystem changed: $out"
  if "${ENGINE[@]}" logs "$SC" 2>&1 | grep -i 'wake directory'; then fail "the inotify thread has no wake-up directory"; fi

  log "passed in $((($(now_ms) - T0) / 1000)) s: runs $first, $second, $third"
}
