"""``gough-lab sink serve`` and ``gough-lab sink show``: the lab's webhook sink (registered by gough_lab.cli)."""

import json
import sys
import time

from gough_lab.common.cli import listen_address as _listen_address
from gough_lab.common.cli import seconds as _seconds
from gough_lab.common.cli import serve_until_signal

SERVICE = "sink"


def add_parser(subparsers):
    """Register ``gough-lab sink serve`` and ``gough-lab sink show``."""
    sink = subparsers.add_parser("sink", help="a webhook sink that records every notification it receives")
    commands = sink.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="record POSTs into a JSON-lines file until SIGTERM or Ctrl-C")
    serve.add_argument("--listen", type=_listen_address, default=("127.0.0.1", 9099),
                       help="HOST:PORT to listen on; port 0 picks a free port (default 127.0.0.1:9099)")
    serve.add_argument("--file", help="the JSON-lines file (default: STATE/notifications.jsonl)")
    serve.add_argument("--state", help="directory for the url file (written once serving)")
    serve.add_argument("--smtp-listen", type=_listen_address, default=None,
                       help="also take mail over SMTP on HOST:PORT (no TLS, no AUTH: the lab's email receiver)")
    serve.add_argument("--tls-cert", help="PEM certificate: serve HTTPS")
    serve.add_argument("--tls-key", help="PEM private key for --tls-cert")
    show = commands.add_parser("show", help="print what the sink recorded, one line per notification")
    show.add_argument("file", help="the JSON-lines file of `sink serve`")
    show.add_argument("--path", default="", help="only notifications whose path starts with this")
    show.add_argument("--json", action="store_true", help="print the records as they are")
    show.add_argument("--follow", action="store_true", help="keep printing new notifications (Ctrl-C stops)")
    show.add_argument("--interval", type=_seconds, default=1.0, help="seconds between checks with --follow")
    return sink


def describe(record):
    """One line for a record: time, path, and for Alertmanager's payload status and each alert's labels."""
    body = record.get("body")
    head = "%s %s %s" % (record.get("time", "?"), record.get("method", "POST"), record.get("path", ""))
    if isinstance(body, dict) and isinstance(body.get("alerts"), list):
        alerts = ["%s%s" % (alert.get("labels", {}).get("alertname", "?"), _labels(alert.get("labels", {})))
                  for alert in body["alerts"]]
        return "%s %s [%s] %s" % (head, body.get("status", "?"), body.get("receiver", ""), ", ".join(alerts))
    if isinstance(body, dict) and "attachments" in body:  # Slack/Mattermost-style message
        titles = [item.get("title", "") for item in body["attachments"] if isinstance(item, dict)]
        return "%s chat: %s" % (head, " | ".join(titles) or body.get("text", ""))
    if record.get("method") == "SMTP":
        return "%s mail from %s to %s: %s" % (head, record["smtp"]["mail_from"], ", ".join(record["smtp"]["rcpt_to"]),
                                              record.get("headers", {}).get("Subject", ""))
    if "body_text" in record:
        return "%s (not JSON, %d characters)" % (head, len(record["body_text"]))
    return "%s %s" % (head, json.dumps(body, sort_keys=True)[:200])


def _labels(labels):
    wanted = ("instance", "severity", "service", "hostname", "policy", "cert")
    shown = {k: v for k, v in sorted(labels.items()) if k in wanted}
    return "{%s}" % ", ".join("%s=%s" % pair for pair in shown.items()) if shown else ""


def _print_new(handle, args):
    while True:
        start = handle.tell()
        line = handle.readline()
        if not line.endswith(b"\n"):
            handle.seek(start)  # a record still being written: read it whole next time
            return
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if str(record.get("path", "")).startswith(args.path):
            print(line.decode("utf-8").rstrip("\n") if args.json else describe(record), flush=True)


def show(args):
    """Print the file's notifications (and, with --follow, new ones as they come)."""
    try:
        handle = open(args.file, "rb")  # pylint: disable=consider-using-with
    except OSError as exc:
        print("gough-lab sink show: cannot read %s: %s" % (args.file, exc.strerror or exc), file=sys.stderr)
        return 1
    with handle:
        _print_new(handle, args)
        try:
            while args.follow:
                time.sleep(args.interval)
                _print_new(handle, args)
        except KeyboardInterrupt:
            pass
    return 0


def run(args):
    """Run ``gough-lab sink serve`` or ``gough-lab sink show``."""
    import os  # pylint: disable=import-outside-toplevel

    from .server import Sink  # pylint: disable=import-outside-toplevel

    if args.command == "show":
        return show(args)
    if args.command != "serve":
        return 2
    if not args.file and not args.state:
        print("gough-lab sink serve: --file or --state is needed", file=sys.stderr)
        return 2
    if bool(args.tls_cert) != bool(args.tls_key):
        print("gough-lab: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    path = args.file or os.path.join(args.state, "notifications.jsonl")
    sink = Sink(path, listen=args.listen, state_dir=args.state, tls_cert=args.tls_cert, tls_key=args.tls_key,
                smtp_listen=args.smtp_listen)
    return serve_until_signal(sink, "gough_lab.sink")
