"""HTTP pieces shared by the emulators: threaded server, seeded fault injection, TLS wrap, private files."""

import logging
import os
import random
import socket
import ssl
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAULT_MESSAGES = {"503": "Service Unavailable", "502": "Bad Gateway", "429": "Too Many Requests"}


class LabStats:
    """Request counters served at /_lab/stats; subclasses zero their own counters in ``zero``."""

    def __init__(self):
        """Start with every counter at zero."""
        self.lock = threading.Lock()
        self.faults = {}
        self.reset()

    def zero(self):
        """Set the subclass's counters to zero (called with the lock held)."""

    def reset(self):
        """Zero every counter."""
        with self.lock:
            self.faults = {"503": 0, "502": 0, "429": 0, "reset_before": 0, "reset_after": 0, "slow": 0}
            self.zero()

    def fault(self, kind):
        """Count one injected fault."""
        with self.lock:
            self.faults[kind] += 1


def bump(counter, key):
    """Add one to ``counter[key]``."""
    counter[key] = counter.get(key, 0) + 1


class LabHTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows its Emulator."""

    daemon_threads = True
    request_queue_size = 256

    def __init__(self, address, handler_class, emulator):
        """Bind to ``address`` and remember ``emulator`` for request handlers."""
        self.emulator = emulator
        super().__init__(address, handler_class)

    def wrap_tls(self, cert, key, *, minimum_version=None, do_handshake_on_connect=True):
        """Serve HTTPS with the PEM ``cert`` and ``key``."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if minimum_version is not None:
            context.minimum_version = minimum_version
        context.load_cert_chain(cert, key)
        self.socket = context.wrap_socket(self.socket, server_side=True,
                                          do_handshake_on_connect=do_handshake_on_connect)


class LabRequestHandler(BaseHTTPRequestHandler):
    """One connection; HTTP/1.1 keep-alive; GET, POST, PUT and DELETE go to ``_handle``."""

    protocol_version = "HTTP/1.1"
    sys_version = ""
    # TCP_NODELAY: headers and body go out in two writes, and with Nagle's algorithm the second waits for the
    # client's delayed ACK, about 40 ms a request on a kept-alive connection; MAAS, Fleet and AWX answer at once.
    disable_nagle_algorithm = True
    logger = logging.getLogger("gough_lab")

    def _handle(self):
        raise NotImplementedError

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Send access logs to the emulator's logger (stderr) at debug level."""
        self.logger.debug("%s %s", self.address_string(), format % args)

    def do_GET(self):  # pylint: disable=invalid-name
        """Handle GET."""
        self._handle()

    def do_POST(self):  # pylint: disable=invalid-name
        """Handle POST."""
        self._handle()

    def do_PUT(self):  # pylint: disable=invalid-name
        """Handle PUT."""
        self._handle()

    def do_DELETE(self):  # pylint: disable=invalid-name
        """Handle DELETE."""
        self._handle()

    def _read_body(self):
        return read_raw_body(self)

    def _serve_with_faults(self, slow, fault, process, fault_reply):
        """Answer one API request under the injected ``slow`` and ``fault`` (from FaultInjector.draw).

        ``process()`` handles the request and returns the arguments of ``self._send``; ``fault_reply(status,
        message, headers)`` answers a 503, 502 or 429 fault. Resets drop the connection before or after processing.
        """
        emulator = self.server.emulator
        if fault in ("503", "502", "429", "reset_before"):
            emulator.stats.fault(fault)
            if fault == "reset_before":
                self._reset_connection()
                return
            headers = {"Retry-After": str(emulator.config.get("retry_after_seconds"))} if fault == "429" else {}
            fault_reply(int(fault), FAULT_MESSAGES[fault], headers)
            return
        if slow:
            emulator.stats.fault("slow")
            time.sleep(emulator.config.get("slow_seconds"))
        reply = process()
        if fault == "reset_after":
            emulator.stats.fault("reset_after")
            self._reset_connection()
            return
        self._send(*reply)

    def _send_bytes(self, status, body, content_type, headers=None):
        """Answer with ``body`` and an explicit Content-Length (keep-alive), closing when asked to.

        ``content_type`` None sends no Content-Type (an empty answer); a HEAD request gets the headers only.
        """
        self.send_response(status)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _reset_connection(self):
        """Drop the connection with a TCP RST and no response."""
        reset_connection(self)


class FaultInjector:
    """Seeded dice deciding, per API request, whether to inject a fault and which."""

    def __init__(self, config, seed, salt="faults"):
        """Use ``config`` for the rates and ``seed`` (with ``salt``) for reproducibility."""
        self.config = config
        self.rng = random.Random("%s:%s" % (salt, seed))
        self.lock = threading.Lock()

    def draw(self):
        """Return (slow, fault) where fault is None, "503", "502", "429", "reset_before" or "reset_after"."""
        cfg = self.config.snapshot()
        with self.lock:
            slow = self.rng.random() < cfg["fault_slow"]
            roll = self.rng.random()
            half = self.rng.random() < 0.5
        fault = None
        for kind in ("fault_reset", "fault_503", "fault_502", "fault_429"):
            if roll < cfg[kind]:
                fault = kind[len("fault_"):]
                break
            roll -= cfg[kind]
        if fault == "reset":
            fault = "reset_before" if half else "reset_after"
        return slow, fault


def read_raw_body(handler):
    """The request body of a BaseHTTPRequestHandler: chunked or Content-Length."""
    if "chunked" in (handler.headers.get("Transfer-Encoding") or "").lower():
        chunks = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def reset_connection(handler):
    """Drop the handler's connection with a TCP RST and no response."""
    try:
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    handler.close_connection = True
    try:
        handler.connection.close()
    except OSError:
        pass


def make_private_dir(path):
    """Create ``path`` (and parents) and make it 0700: the state holds tokens."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    os.chmod(path, 0o700)


def write_file(path, text, mode=0o600):
    """Write ``text`` to ``path`` atomically with ``mode`` (0600 for secrets)."""
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def stop_serving(httpd, state_dir):
    """Withdraw the ``url`` file from ``state_dir`` (clients stop finding the emulator), then stop ``httpd``."""
    try:
        os.unlink(os.path.join(state_dir, "url"))
    except FileNotFoundError:
        pass
    httpd.shutdown()
    httpd.server_close()
