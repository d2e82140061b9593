"""A small HTTP proxy on 127.0.0.1 that forwards to an upstream (moto or Ray) unchanged, or, while
the file given by --fail-flag exists, answers requests with the fault written in it:
`FAULT [PATH-REGEX [COUNT]]`, FAULT being `503` (S3's SlowDown XML) or `refuse` (closes the
connection without an answer); only requests whose path matches PATH-REGEX fail (default: all),
and only COUNT of them (default: all, while the file exists).

Tests use it to make S3 or Ray fail on demand; everything else about the requests (Host header
included, so signatures stay valid) is passed through. With --log, every request is appended to
that file as `METHOD PATH STATUS` (STATUS `refused` or the upstream's), to see where calls went.
"""
import argparse
import http.client
import http.server
import os
import re
import socketserver
import threading

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--upstream", required=True, help="host:port")
parser.add_argument("--fail-flag", required=True)
parser.add_argument("--log")
args = parser.parse_args()
lock = threading.Lock()


def take_fault(path):
    """The fault for this request, if the flag file asks for one (and counts it down)."""
    with lock:
        if not os.path.exists(args.fail_flag):
            return None
        with open(args.fail_flag) as f:
            words = f.read().split()
        fault = words[0] if words else "503"
        if len(words) > 1 and not re.search(words[1], path):
            return None
        if len(words) > 2:
            left = int(words[2])
            if left <= 0:
                return None
            with open(args.fail_flag, "w") as f:
                f.write(f"{fault} {words[1]} {left - 1}")
        return fault


def record(method, path, status):
    if args.log:
        with lock, open(args.log, "a") as f:
            f.write(f"{method} {path} {status}\n")
up_host, up_port = args.upstream.split(":")

SLOW_DOWN = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
             b'<Message>Please reduce your request rate.</Message></Error>')


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fault = take_fault(self.path)
        if fault:
            record(self.command, self.path, "refused" if fault == "refuse" else fault)
        if fault == "refuse":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if fault == "503":
            self.send_response(503)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(SLOW_DOWN)))
            self.end_headers()
            self.wfile.write(SLOW_DOWN)
            return
        conn = http.client.HTTPConnection(up_host, int(up_port), timeout=120)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}
        conn.request(self.command, self.path, body=body if body or length else None, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        record(self.command, self.path, resp.status)
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        conn.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


Server(("127.0.0.1", args.port), Handler).serve_forever()
