"""The two credential services raybridge's tests point it at, on 127.0.0.1, both backed by the
real moto STS (credentials it issues are the ones moto's S3 checks):

--mode container: the container credentials endpoint (EKS Pod Identity / ECS). A GET with the
  right Authorization header (--token-file) answers the JSON the AWS SDKs read, with fresh
  credentials from moto's AssumeRole and an Expiration --lifetime seconds from now.
--mode sts: in front of moto's STS for AssumeRoleWithWebIdentity. AWS takes that call unsigned
  (the token is the proof); moto checks a signature on every call once auth is on, so this
  checks the WebIdentityToken against --token-file, signs the unchanged form as the test user and
  passes it on; the answer's Expiration is set --lifetime seconds from now.

While the file --fail-flag exists, every request fails (HTTP 500 / STS 503). Every answer is
appended to --log as JSON (time, status, and the issued values, so a test can grep raybridge's
output for them).
"""
import argparse
import datetime
import http.server
import json
import os
import re
import socketserver
import threading
import urllib.parse
import urllib.request

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

parser = argparse.ArgumentParser()
parser.add_argument("--mode", choices=["container", "sts"], required=True)
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--upstream", required=True, help="moto, http://127.0.0.1:PORT")
parser.add_argument("--credentials-dir", required=True, help="the test user's accesskey/secretkey")
parser.add_argument("--role-arn", default="arn:aws:iam::123456789012:role/raybridge-logs")
parser.add_argument("--token-file", required=True)
parser.add_argument("--lifetime", type=int, default=20)
parser.add_argument("--fail-flag", required=True)
parser.add_argument("--log", required=True)
args = parser.parse_args()
lock = threading.Lock()


def user():
    read = lambda name: open(os.path.join(args.credentials_dir, name)).read().strip()
    return Credentials(read("accesskey"), read("secretkey"))


def expiration():
    at = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=args.lifetime)
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def record(entry):
    entry["time"] = datetime.datetime.now(datetime.timezone.utc).isoformat()
    with lock, open(args.log, "a") as f:
        f.write(json.dumps(entry) + "\n")


def token():
    return open(args.token_file).read().strip()


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def answer(self, status, body, content_type):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if args.mode != "container":
            return self.answer(405, "", "text/plain")
        if os.path.exists(args.fail_flag):
            record({"status": 500})
            return self.answer(500, '{"message": "credentials service unavailable"}', "application/json")
        if self.headers.get("Authorization") != token():
            record({"status": 401})
            return self.answer(401, '{"message": "bad authorization token"}', "application/json")
        c = user()
        sts = boto3.client("sts", endpoint_url=args.upstream, region_name="us-east-1",
                           aws_access_key_id=c.access_key, aws_secret_access_key=c.secret_key)
        issued = sts.assume_role(RoleArn=args.role_arn, RoleSessionName="container", DurationSeconds=900)["Credentials"]
        body = {"AccessKeyId": issued["AccessKeyId"], "SecretAccessKey": issued["SecretAccessKey"],
                "Token": issued["SessionToken"], "Expiration": expiration()}
        record({"status": 200, "accessKeyId": body["AccessKeyId"], "secret": body["SecretAccessKey"],
                "sessionToken": body["Token"], "expiration": body["Expiration"]})
        self.answer(200, json.dumps(body), "application/json")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        form = self.rfile.read(length)
        fields = dict(urllib.parse.parse_qsl(form.decode()))
        if args.mode != "sts" or fields.get("Action") != "AssumeRoleWithWebIdentity":
            return self.answer(400, "<ErrorResponse><Error><Code>InvalidAction</Code></Error></ErrorResponse>", "text/xml")
        if os.path.exists(args.fail_flag):
            record({"status": 503})
            return self.answer(503, "<ErrorResponse><Error><Code>ServiceUnavailable</Code><Message>STS is down</Message></Error></ErrorResponse>", "text/xml")
        if self.headers.get("Authorization") or fields.get("WebIdentityToken") != token():
            record({"status": 400})
            return self.answer(400, "<ErrorResponse><Error><Code>InvalidIdentityToken</Code><Message>the token does not match</Message></Error></ErrorResponse>", "text/xml")
        request = AWSRequest(method="POST", url=args.upstream + "/", data=form,
                             headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        SigV4Auth(user(), "sts", "us-east-1").add_auth(request)
        prepared = request.prepare()
        upstream = urllib.request.Request(prepared.url, data=form, method="POST", headers=dict(prepared.headers))
        with urllib.request.urlopen(upstream, timeout=10) as response:
            xml = response.read().decode()
        xml = re.sub(r"<Expiration>[^<]*</Expiration>", "<Expiration>" + expiration() + "</Expiration>", xml)
        find = lambda name: (re.search(f"<{name}>([^<]*)</{name}>", xml) or [None, None])[1]
        record({"status": 200, "accessKeyId": find("AccessKeyId"), "secret": find("SecretAccessKey"),
                "sessionToken": find("SessionToken"), "webIdentityToken": fields["WebIdentityToken"],
                "roleArn": fields.get("RoleArn"), "expiration": find("Expiration")})
        self.answer(200, xml, "text/xml")


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


Server(("127.0.0.1", args.port), Handler).serve_forever()
