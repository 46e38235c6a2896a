"""``gough-lab awx serve --listen HOST:PORT --state DIR``: the AWX API emulator's command line."""

import logging
import signal
import threading

SERVICE = "awx"


def _listen(text):
    import argparse  # pylint: disable=import-outside-toplevel

    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError("expected HOST:PORT, got %r" % text)
    return host.strip("[]") or "127.0.0.1", int(port)


def add_parser(subparsers):
    """Register ``gough-lab awx serve``."""
    awx = subparsers.add_parser("awx", help="the AWX v2 REST API emulator (what the awx.awx collection uses)")
    commands = awx.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the AWX API until SIGTERM or Ctrl-C")
    serve.add_argument("--listen", type=_listen, default=("127.0.0.1", 8052),
                       help="HOST:PORT to listen on; port 0 picks a free port (default 127.0.0.1:8052)")
    serve.add_argument("--state", required=True,
                       help="state directory: awx.json, admin.json (admin password), token, url (files 0600)")
    return awx


def run(args):
    """Serve until SIGTERM or SIGINT."""
    from .server import Emulator  # pylint: disable=import-outside-toplevel

    if args.command != "serve":
        return 2
    emulator = Emulator(args.state, listen=args.listen)
    stopping = threading.Event()

    def request_stop(signum, _frame):
        logging.getLogger("gough_lab.awx").info("signal %d: stopping", signum)
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    emulator.start()
    while not stopping.wait(1.0):
        pass
    emulator.stop()
    return 0
