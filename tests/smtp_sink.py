"""A real SMTP server on 127.0.0.1 for lakegate's alert tests (aiosmtpd).

    smtp_sink.py MAILDIR PORTFILE [--port N] [--auth USER:ENVVAR] [--tls starttls|implicit --cert PEM --key PEM]

Listens on 127.0.0.1 (port N, or a free one), writes the port to PORTFILE once it accepts
connections, and stores every message it accepts as MAILDIR/NNNNNN.json: the envelope, the login
used, and the message as Python's email package parses it (subject, Message-ID, To, Cc, the text
and HTML parts, the raw bytes). The file is complete before the server answers 250. With --auth,
the server requires AUTH (PLAIN or LOGIN, without TLS) with USER and the password held by the
environment variable ENVVAR. With --tls starttls the server offers STARTTLS and refuses mail
before it (aiosmtpd's require_starttls); with --tls implicit it speaks TLS from the first byte
(smtps); both with the certificate and key given. Each stored message records whether it came
over TLS. A recipient `nobody@…` is refused with 550 ("no such user here").
"""

import argparse
import asyncio
import email
import email.policy
import json
import os
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Sink:
    def __init__(self, maildir):
        self.maildir = maildir
        self.count = len([n for n in os.listdir(maildir) if n.endswith(".json")])

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        # A mailbox that does not exist, for tests of a refusal with the server's reason.
        if address.startswith("nobody@"):
            return "550 5.1.1 <%s>: no such user here" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)

        def part(kind):
            body = msg.get_body(preferencelist=(kind,))
            return body.get_content() if body is not None else None

        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "login": login,
            "tls": session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None,
            "subject": str(msg["subject"]),
            "message_id": str(msg["message-id"]),
            "from": str(msg["from"]),
            "to": str(msg["to"] or ""),
            "cc": str(msg["cc"] or ""),
            "content_type": msg.get_content_type(),
            "text": part("plain"),
            "html": part("html"),
            "raw": envelope.original_content.decode("utf-8", "replace"),
        }
        self.count += 1
        path = os.path.join(self.maildir, "%06d.json" % self.count)
        with open(path + ".tmp", "w") as f:
            json.dump(record, f)
        os.replace(path + ".tmp", path)
        return "250 Message accepted for delivery"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("maildir")
    ap.add_argument("portfile")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--auth")
    ap.add_argument("--tls", choices=["starttls", "implicit"])
    ap.add_argument("--cert")
    ap.add_argument("--key")
    args = ap.parse_args()
    ctx = None
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
    os.makedirs(args.maildir, exist_ok=True)
    sink = Sink(args.maildir)

    user = password = None
    if args.auth:
        user, var = args.auth.split(":", 1)
        password = os.environ[var]

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == user
            and auth_data.password.decode() == password
        )
        # handled=False: aiosmtpd itself answers 535 to a refused login (True means "already answered").
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    def factory():
        kw = {}
        if args.tls == "starttls":
            kw = {"tls_context": ctx, "require_starttls": True}
        if user is None:
            return SMTP(sink, hostname="sink.test", **kw)
        return SMTP(
            sink,
            hostname="sink.test",
            authenticator=authenticator,
            auth_required=True,
            auth_require_tls=False,
            **kw,
        )

    async def serve():
        server = await asyncio.get_running_loop().create_server(
            factory,
            host="127.0.0.1",
            port=args.port,
            ssl=ctx if args.tls == "implicit" else None,
        )
        port = server.sockets[0].getsockname()[1]
        with open(args.portfile + ".tmp", "w") as f:
            f.write(str(port))
        os.replace(args.portfile + ".tmp", args.portfile)
        await server.serve_forever()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
