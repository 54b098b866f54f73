"""An HTTPS listener for the webhook tests: answers every POST with 200 and stores it.

Usage: https_sink.py CERT KEY OUTDIR PORTFILE. Each request becomes OUTDIR/NNNN.json with the
request line, the headers and the body (as text); the port is written to PORTFILE once listening.
"""

import http.server
import json
import os
import ssl
import sys

cert, key, outdir, portfile = sys.argv[1:5]
os.makedirs(outdir, exist_ok=True)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        n = len(os.listdir(outdir))
        with open(os.path.join(outdir, f"{n:04}.json.tmp"), "w") as f:
            json.dump(
                {"line": self.requestline, "headers": dict(self.headers), "body": body.decode()},
                f,
            )
        os.rename(os.path.join(outdir, f"{n:04}.json.tmp"), os.path.join(outdir, f"{n:04}.json"))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
with open(portfile + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(portfile + ".tmp", portfile)
server.serve_forever()
