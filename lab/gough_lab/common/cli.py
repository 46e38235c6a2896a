"""Command-line helpers shared by the emulators: argument types and the signal-driven serve loop."""

import argparse
import logging
import signal
import threading


def listen_address(text):
    """argparse type: ``HOST:PORT`` -> (host, port); an empty host is 127.0.0.1."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError("expected HOST:PORT, got %r" % text)
    return host.strip("[]") or "127.0.0.1", int(port)


def rate(text):
    """argparse type: a number between 0 and 1."""
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("a rate is between 0 and 1, got %s" % text)
    return value


def seconds(text):
    """argparse type: a non-negative number of seconds."""
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("seconds must not be negative, got %s" % text)
    return value


def add_fault_arguments(parser, title):
    """The --fault-* and --slow-seconds flags every emulator with fault injection has."""
    faults = parser.add_argument_group(title)
    faults.add_argument("--fault-503", type=rate, default=0.0, help="answer 503 without processing")
    faults.add_argument("--fault-502", type=rate, default=0.0, help="answer 502 without processing")
    faults.add_argument("--fault-429", type=rate, default=0.0, help="answer 429 with Retry-After without processing")
    faults.add_argument("--fault-reset", type=rate, default=0.0,
                        help="reset the connection, half before processing and half after (response dropped)")
    faults.add_argument("--fault-slow", type=rate, default=0.0, help="delay the response by --slow-seconds")
    faults.add_argument("--slow-seconds", type=seconds, default=2.0)
    return faults


def add_state_commands(commands, title):
    """``dump-state`` and ``check-state`` of an emulator (backups: gough_lab.common.statefile)."""
    dump = commands.add_parser("dump-state", help="write the %s state directory to stdout as a tar, databases "
                               "copied consistently while the emulator runs (the lab's pg_dump)" % title)
    dump.add_argument("--state", required=True, help="state directory")
    check = commands.add_parser("check-state", help="integrity-check a %s state directory and open it as the "
                                "emulator does; prints what it holds as JSON" % title)
    check.add_argument("--state", required=True, help="state directory (a scratch copy: opening it may write)")


def serve_until_signal(emulator, logger_name):
    """Start ``emulator``, wait for SIGTERM or SIGINT, stop it; returns the exit status 0."""
    stopping = threading.Event()

    def request_stop(signum, _frame):
        logging.getLogger(logger_name).info("signal %d: stopping", signum)
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    emulator.start()
    while not stopping.wait(1.0):
        pass
    emulator.stop()
    return 0
