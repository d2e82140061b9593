#!/usr/bin/env bash
# A local S3 server (moto_server) on 127.0.0.1 for raybridge's tests and demo, with SigV4
# signature checking switched on and signed credentials for it.
#
#   scripts/s3-server.sh start     start (or keep) the server, credentials and buckets
#   scripts/s3-server.sh stop      stop it and make sure it is gone
#   scripts/s3-server.sh status    print whether it runs and answers
#
# Env: S3_PORT (default 9000), S3_BUCKETS (default "ray-logs ray-scripts").
# The IAM role arn:aws:iam::123456789012:role/raybridge-logs (s3:*) is there for moto's STS.
# Produces under .run/: s3.pid, s3.log, s3.env (S3_ENDPOINT, AWS_ACCESS_KEY_ID,
# AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION), and s3/accesskey + s3/secretkey: the layout of a
# Kubernetes Secret mounted as files (each file holds the bare value, no trailing newline).
. "$(dirname "$0")/lib.sh"

SERVICE=moto_server
PORT="${S3_PORT:-9000}"
ENDPOINT="http://127.0.0.1:$PORT"
BUCKETS="${S3_BUCKETS:-ray-logs ray-scripts}"
REGION=us-east-1
SERVICE_PID_FILE="$RUN/s3.pid"
SERVICE_LOG="$RUN/s3.log"
CRED_DIR="$RUN/s3"
ENV_FILE="$RUN/s3.env"
START_TIMEOUT=30

# moto's own dashboard page: answers 200 without a signature, also once signatures are checked.
service_answers() { curl -fsS -o /dev/null --max-time 3 "$ENDPOINT/moto-api/" 2>/dev/null; }

# moto_server processes of this venv on our port (also one whose pid file got lost).
service_pids() { pids_by_cmdline "moto_server -H 127\\.0\\.0\\.1 -p $PORT\$" "$VENV/bin/moto_server "; }

# Runs a Python snippet (stdin) with the venv's boto3. Args: the snippet's sys.argv[1:].
py() { "$VENV/bin/python" - "$@"; }

# Creates the IAM user with s3:* and an access key, switches signature checking on, and writes
# the credential files. Must run while the server still accepts unsigned requests.
# (Called in an `if`, where bash ignores set -e: hence the explicit `|| return 1`.)
configure_auth() {
  mkdir -p "$CRED_DIR" || return 1
  chmod 700 "$CRED_DIR" || return 1
  ENDPOINT="$ENDPOINT" REGION="$REGION" CRED_DIR="$CRED_DIR" py <<'PY' || return 1
import json, os, urllib.request
import boto3

endpoint, region, cred_dir = os.environ["ENDPOINT"], os.environ["REGION"], os.environ["CRED_DIR"]
# Before reset-auth moto accepts any credentials: these only bootstrap the IAM user.
iam = boto3.client("iam", endpoint_url=endpoint, region_name=region,
                   aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
user = "raybridge"
iam.create_user(UserName=user)
iam.put_user_policy(UserName=user, PolicyName="s3-all", PolicyDocument=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
}))
# The tests of the credential chain (web identity, the container endpoint) assume this role
# through moto's STS; the user may assume it (moto checks every call's signature and policy).
iam.put_user_policy(UserName=user, PolicyName="sts-assume", PolicyDocument=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:AssumeRoleWithWebIdentity"], "Resource": "*"}],
}))
iam.create_role(RoleName="raybridge-logs", AssumeRolePolicyDocument=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/oidc.test"},
                   "Action": "sts:AssumeRoleWithWebIdentity"},
                  # The tests' container credentials endpoint assumes it as the user (moto
                  # checks the trust policy).
                  {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:user/raybridge"},
                   "Action": "sts:AssumeRole"}],
}))
iam.put_role_policy(RoleName="raybridge-logs", PolicyName="s3-all", PolicyDocument=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
}))
key = iam.create_access_key(UserName=user)["AccessKey"]

# From now on every request must be signed by a known key (0 unauthenticated calls left).
# The body must reach moto raw: with curl's/urllib's default form Content-Type Flask eats it
# and moto answers 500 (float('')).
req = urllib.request.Request(endpoint + "/moto-api/reset-auth", data=b"0", method="POST",
                             headers={"Content-Type": "text/plain"})
with urllib.request.urlopen(req, timeout=10) as resp:
    resp.read()

# Check that it took: a wrong secret must now be refused.
import botocore.exceptions
bad = boto3.client("s3", endpoint_url=endpoint, region_name=region,
                   aws_access_key_id=key["AccessKeyId"], aws_secret_access_key="wrong")
try:
    bad.list_buckets()
    raise SystemExit("[s3-server] signature checking is not on: a wrong secret was accepted")
except botocore.exceptions.ClientError as e:
    if e.response["Error"]["Code"] != "SignatureDoesNotMatch":
        raise

def write(name, value):
    path = os.path.join(cred_dir, name)
    fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value)
    os.replace(path + ".tmp", path)

write("accesskey", key["AccessKeyId"])
write("secretkey", key["SecretAccessKey"])
PY
  write_env_file "$ENV_FILE" "S3_ENDPOINT=$ENDPOINT" "AWS_ACCESS_KEY_ID=$(cat "$CRED_DIR/accesskey")" \
    "AWS_SECRET_ACCESS_KEY=$(cat "$CRED_DIR/secretkey")" "AWS_DEFAULT_REGION=$REGION"
}

# Creates the buckets in S3_BUCKETS that do not exist yet, with the signed credentials (this
# also proves that they work).
ensure_buckets() {
  # shellcheck disable=SC2086  # one argument per bucket name
  ENDPOINT="$ENDPOINT" REGION="$REGION" CRED_DIR="$CRED_DIR" py $BUCKETS <<'PY'
import os, sys
import boto3

cred = lambda name: open(os.path.join(os.environ["CRED_DIR"], name)).read()
s3 = boto3.client("s3", endpoint_url=os.environ["ENDPOINT"], region_name=os.environ["REGION"],
                  aws_access_key_id=cred("accesskey"), aws_secret_access_key=cred("secretkey"))
have = {b["Name"] for b in s3.list_buckets()["Buckets"]}
for bucket in sys.argv[1:]:
    if bucket not in have:
        s3.create_bucket(Bucket=bucket)  # us-east-1: no LocationConstraint
        print(f"[s3-server] created bucket {bucket}", file=sys.stderr)
PY
}

do_start() {
  [ $# -eq 0 ] || usage
  [ -x "$VENV/bin/moto_server" ] || die "no moto_server in $VENV; run scripts/install-deps.sh"
  local pids t0
  t0=$(now_ms)
  pids=$(service_pids)
  if [ -n "$pids" ] && service_answers && [ -s "$ENV_FILE" ] && [ -s "$CRED_DIR/secretkey" ]; then
    ensure_buckets
    log "already running at $ENDPOINT"
    return 0
  fi
  if [ -n "$pids" ]; then
    log "a server is around but not answering or without credentials: restarting"
    do_stop
  fi
  require_free_ports "$PORT"

  mkdir -p "$RUN"
  rm -f "$ENV_FILE" "$CRED_DIR/accesskey" "$CRED_DIR/secretkey"
  log "starting moto_server on $ENDPOINT"
  spawn "$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT"
  await_answer "$START_TIMEOUT"
  if ! configure_auth || ! ensure_buckets; then
    service_logs
    do_stop || true
    die "setting up credentials or buckets failed (log: $SERVICE_LOG)"
  fi
  log "up in $(($(now_ms) - t0)) ms (pid $SPAWNED_PID); credentials in $ENV_FILE and $CRED_DIR/"
}

do_stop() {
  if [ -n "$(service_pids)" ]; then
    stop_pids || exit 1
    log "stopped"
  else
    log "not running"
  fi
  # The credentials lived only in the server's memory: remove them with it.
  rm -f "$SERVICE_PID_FILE" "$ENV_FILE" "$CRED_DIR/accesskey" "$CRED_DIR/secretkey"
}

do_status() { service_status "$ENDPOINT (pid $(cat "$SERVICE_PID_FILE" 2>/dev/null || echo '?'))"; }

service_main "$@"
