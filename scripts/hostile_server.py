"""An unkind HTTP server on 127.0.0.1 for tests of what raybridge shows and follows:
  --echo STATUS       answer every request with STATUS and a body echoing the request's headers
  --redirect-to URL   answer every request with 302 to URL
Every request is appended to --log as `METHOD PATH` plus its headers, one line each.
"""
import argparse
import http.server
import socketserver

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--echo", type=int)
parser.add_argument("--redirect-to")
parser.add_argument("--log", required=True)
args = parser.parse_args()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        echoed = "".join(f"{k}: {v}\n" for k, v in self.headers.items())
        with open(args.log, "a") as f:
            f.write(f"{self.command} {self.path} {echoed!r}\n")
        if args.redirect_to:
            self.send_response(302)
            self.send_header("Location", args.redirect_to)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = f"Traceback: bad request; you sent:\n{echoed}".encode()
        self.send_response(args.echo or 500)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


Server(("127.0.0.1", args.port), Handler).serve_forever()
