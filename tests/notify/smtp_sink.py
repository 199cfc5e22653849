"""A real SMTP server (aiosmtpd) as the e-mail sink of herald's notification tests.

    smtp_sink.py OUT_DIR

Listens on loopback port 0 (the system picks a free one), prints that port on stdout, and
writes each message it receives to OUT_DIR/NNNNNN.eml (first line `X-Rcpt-To: a,b`, then
the message exactly as received), renamed into place once complete. Stops when stdin closes.
"""
import os
import sys

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, out):
        self.out = out
        self.n = 0

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        base = os.path.join(self.out, f"{self.n:06d}")
        with open(base + ".tmp", "wb") as f:
            f.write(b"X-Rcpt-To: " + ",".join(envelope.rcpt_tos).encode() + b"\r\n")
            f.write(envelope.original_content or envelope.content)
        os.rename(base + ".tmp", base + ".eml")
        return "250 OK"


class PortZeroController(Controller):
    """Binds port 0 and reads back the port the system chose: guessing a free port first
    (bind, close, bind again) races with everything else on the machine."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


def main():
    out = sys.argv[1]
    controller = PortZeroController(Sink(out), hostname="127.0.0.1", port=0)
    controller.start()
    print(controller.port, flush=True)
    sys.stdin.read()
    controller.stop()


if __name__ == "__main__":
    main()
