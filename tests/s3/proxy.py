"""An S3 endpoint on 127.0.0.1 in front of the real server (moto in the tests) that forwards every
request and can misbehave as stores and networks do. The test stops it (a store gone unreachable)
by killing its process.

usage: proxy.py UPSTREAM_PORT [RULE ...]   prints "listening on PORT" once it accepts connections
  drop-header:NAME         forward every request without header NAME (drop-header:If-None-Match is
                           a store that ignores conditional writes, as some emulators do)
  refuse:METHOD:TEXT       answer 503 to every METHOD request whose path or body contains TEXT
                           (a DELETE is a POST ?delete listing the keys), unforwarded
  lose-answer:METHOD:TEXT  forward the first such request, then answer 503 instead of the store's
                           answer (a gateway timing out after the store did the work)
  hang-up:METHOD:TEXT      forward the first such request, then close the connection unanswered
"""
import http.client
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

UPSTREAM = int(sys.argv[1])
DROP = set()
RULES = []  # [kind, method, text, used]
LOCK = threading.Lock()
for arg in sys.argv[2:]:
    kind, _, rest = arg.partition(":")
    if kind == "drop-header":
        DROP.add(rest.lower())
    elif kind in ("refuse", "lose-answer", "hang-up"):
        method, _, text = rest.partition(":")
        RULES.append([kind, method, text, False])
    else:
        sys.exit(f"unknown rule {arg}")


def rule_for(method: str, path: str, body: bytes):
    with LOCK:
        for r in RULES:
            kind, m, text, used = r
            found = text in path or text.encode() in body
            if m == method and found and not (used and kind != "refuse"):
                r[3] = True
                return kind
    return None


class Forward(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        rule = rule_for(self.command, self.path, body or b"")
        if rule == "refuse":
            self.answer_503()
            return
        skip = DROP | {"connection"}
        headers = {k: v for k, v in self.headers.items() if k.lower() not in skip}
        conn = http.client.HTTPConnection("127.0.0.1", UPSTREAM, timeout=30)
        conn.request(self.command, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        if rule == "lose-answer":
            self.answer_503()
            return
        if rule == "hang-up":
            self.close_connection = True
            return
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        # A HEAD answer has no body but the object's length.
        length = resp.getheader("Content-Length") if self.command == "HEAD" else None
        self.send_header("Content-Length", length or str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def answer_503(self) -> None:
        body = b"<Error><Code>SlowDown</Code><Message>injected by proxy.py</Message></Error>"
        self.send_response(503)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = forward

    def log_message(self, *args) -> None:
        pass


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
    server.daemon_threads = True
    print(f"listening on {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
