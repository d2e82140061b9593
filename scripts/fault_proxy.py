"""A small HTTP proxy on 127.0.0.1 that forwards to an upstream (moto) unchanged, or, while the
file given by --fail-flag exists, answers every request with the fault written in it:
`503` (S3's SlowDown XML) or `refuse` (closes the connection without an answer).

Tests use it to make S3 fail on demand in the middle of a log stream; everything else about
the requests (Host header included, so signatures stay valid) is passed through.
"""
import argparse
import http.client
import http.server
import os
import socketserver

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--upstream", required=True, help="host:port")
parser.add_argument("--fail-flag", required=True)
args = parser.parse_args()
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
        fault = None
        if os.path.exists(args.fail_flag):
            with open(args.fail_flag) as f:
                fault = f.read().strip() or "503"
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
