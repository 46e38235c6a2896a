"""``gough-lab fleet serve``: the Fleet emulator's command line (registered by gough_lab.cli)."""

import argparse
import sys

from gough_lab.common.cli import add_fault_arguments, add_state_commands, serve_until_signal
from gough_lab.common.cli import listen_address as _listen_address
from gough_lab.common.cli import seconds as _seconds

SERVICE = "fleet"


def _positive_int(text):
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("expected a positive whole number, got %s" % text)
    return value


def _non_negative_int(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("expected a whole number of 0 or more, got %s" % text)
    return value


def add_parser(subparsers):
    """Register ``gough-lab fleet serve``."""
    fleet = subparsers.add_parser("fleet", help="the Fleet REST API and osquery TLS API emulator (HTTPS)")
    commands = fleet.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve Fleet until SIGTERM or Ctrl-C")
    serve.add_argument("--listen", type=_listen_address, default=("127.0.0.1", 8412),
                       help="HOST:PORT to listen on; port 0 picks a free port (default 127.0.0.1:8412)")
    serve.add_argument("--state", required=True,
                       help="state directory: database, lab CA, url, api_token, enroll_secret, admin.json, ca.crt")
    serve.add_argument("--seed", type=int, default=1, help="seed for fault injection")
    serve.add_argument("--advertise-host", default=None,
                       help="host written into the url file (default: the listen address; 127.0.0.1 for 0.0.0.0)")
    tls = serve.add_argument_group("TLS (default: a lab CA and server certificate created in the state directory)")
    tls.add_argument("--tls-san", action="append", default=[], metavar="NAME_OR_IP",
                     help="extra subject alternative name of the lab certificate (repeatable), e.g. 172.30.90.1")
    tls.add_argument("--tls-cert", help="PEM server certificate to use instead of the lab CA's")
    tls.add_argument("--tls-key", help="PEM private key for --tls-cert")
    tls.add_argument("--tls-ca", help="PEM CA certificate that signed --tls-cert (copied to DIR/ca.crt)")
    osq = serve.add_argument_group("osquery")
    osq.add_argument("--osquery-host-identifier", choices=("provided", "instance", "uuid", "hostname"),
                     default="provided",
                     help="which enroll value identifies a host (Fleet's osquery_host_identifier; default provided)")
    osq.add_argument("--distributed-interval", type=_positive_int, default=10,
                     help="distributed_interval sent in the osquery config (seconds)")
    osq.add_argument("--online-buffer", type=_seconds, default=60.0,
                     help="a host is online while seen within distributed_interval + this many seconds")
    osq.add_argument("--live-query-seconds", type=_seconds, default=25.0,
                     help="how long a live query waits for the hosts' answers")
    logs = serve.add_argument_group(
        "osquery logs to files (Fleet's filesystem plugin and its flag names; default: kept in memory only)")
    logs.add_argument("--filesystem_result_log_file", metavar="PATH", help="append result logs here, one JSON per line")
    logs.add_argument("--filesystem_status_log_file", metavar="PATH", help="append status logs here, one JSON per line")
    logs.add_argument("--filesystem_enable_log_rotation", action="store_true",
                      help="rotate a file at --filesystem_max_size megabytes (name-<UTC time>.ext)")
    logs.add_argument("--filesystem_enable_log_compression", action="store_true", help="gzip rotated files")
    logs.add_argument("--filesystem_max_size", type=_positive_int, default=500, help="megabytes (default 500)")
    logs.add_argument("--filesystem_max_age", type=_non_negative_int, default=28,
                      help="days rotated files are kept, 0 for ever (default 28)")
    logs.add_argument("--filesystem_max_backups", type=_non_negative_int, default=3,
                      help="rotated files kept, 0 for all (default 3)")
    add_fault_arguments(serve, "fault injection (rates between 0 and 1, per REST request)")
    add_state_commands(commands, "Fleet")
    return serve


def run(args):
    """Run ``gough-lab fleet serve`` until SIGTERM or SIGINT."""
    from .config import LabConfig  # pylint: disable=import-outside-toplevel
    from .filelog import writers_from_args  # pylint: disable=import-outside-toplevel
    from .server import Emulator  # pylint: disable=import-outside-toplevel

    if args.command != "serve":
        return 2
    if bool(args.tls_cert) != bool(args.tls_key):
        print("gough-lab: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    if args.tls_ca and not args.tls_cert:
        print("gough-lab: --tls-ca needs --tls-cert", file=sys.stderr)
        return 2
    config = LabConfig(distributed_interval=args.distributed_interval, online_buffer_seconds=args.online_buffer,
                       live_query_seconds=args.live_query_seconds, fault_503=args.fault_503,
                       fault_502=args.fault_502, fault_429=args.fault_429, fault_reset=args.fault_reset,
                       fault_slow=args.fault_slow, slow_seconds=args.slow_seconds)
    emulator = Emulator(args.state, listen=args.listen, seed=args.seed, config=config, tls_cert=args.tls_cert,
                        tls_key=args.tls_key, tls_ca=args.tls_ca, tls_sans=args.tls_san,
                        host_identifier=args.osquery_host_identifier, advertise_host=args.advertise_host,
                        log_writers=writers_from_args(args))
    return serve_until_signal(emulator, "gough_lab.fleet")
