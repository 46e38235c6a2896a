"""HTTP front end of the MAAS emulator: routing, authentication, fault injection, lab endpoints and stats."""

import json
import logging
import os
import random
import socket
import ssl
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from .api import API, JSON_TYPE, Call, Resource, dispatch
from .auth import Authenticator
from .backend import SimulatedBackend
from .config import ConfigError, LabConfig
from .errors import APIError
from .machines import machine_handlers
from .resources import resource_handlers
from .params import parse_body, parse_query
from .region import Region
from .store import Store

LOG = logging.getLogger("gough_lab.maas")
TEXT_TYPE = "text/plain; charset=utf-8"
API_PREFIX = "/MAAS/api/2.0/"


def build_api():
    """The emulator's routing table, in MAAS's handler names."""
    machines, anon_machines, machine = machine_handlers()
    resources = [Resource(auth=machines, anon=anon_machines), Resource(auth=machine)]
    for auth, anon in resource_handlers():
        resources.append(Resource(auth=auth, anon=anon))
    return API(resources)


class Stats:
    """Request counters served at /_lab/stats."""

    def __init__(self):
        """Start with every counter at zero."""
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        """Zero every counter."""
        with self.lock:
            self.requests_total = 0
            self.by_method = {}
            self.by_path = {}
            self.by_op = {}
            self.writes = 0
            self.machine_ops = {}
            self.faults = {"503": 0, "502": 0, "429": 0, "reset_before": 0, "reset_after": 0, "slow": 0}

    def fault(self, kind):
        """Count one injected fault."""
        with self.lock:
            self.faults[kind] += 1

    def request(self, method, path_key, op_key, is_api_write, touched):
        """Count one request that reached handling."""
        with self.lock:
            self.requests_total += 1
            self.by_method[method] = self.by_method.get(method, 0) + 1
            self.by_path[path_key] = self.by_path.get(path_key, 0) + 1
            if op_key:
                self.by_op[op_key] = self.by_op.get(op_key, 0) + 1
            if is_api_write:
                self.writes += 1
                for system_id, op in touched:
                    ops = self.machine_ops.setdefault(system_id, {})
                    ops[op] = ops.get(op, 0) + 1

    def snapshot(self):
        """Every counter, as the JSON document /_lab/stats returns."""
        with self.lock:
            return {"requests_total": self.requests_total, "by_method": dict(self.by_method),
                    "by_path": dict(self.by_path), "by_op": dict(self.by_op), "writes": self.writes,
                    "machine_ops": {sid: dict(ops) for sid, ops in self.machine_ops.items()},
                    "faults": dict(self.faults)}


class FaultInjector:
    """Seeded dice deciding, per API request, whether to inject a fault and which."""

    def __init__(self, config, seed):
        """Use ``config`` for the rates and ``seed`` for reproducibility."""
        self.config = config
        self.rng = random.Random("faults:%s" % seed)
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


class Emulator:  # pylint: disable=too-many-instance-attributes
    """The whole MAAS emulator: state, region, HTTP server and its lifecycle."""

    def __init__(self, state_dir, *, listen=("127.0.0.1", 0), seed=1, machines=0, config=None, tls_cert=None,
                 tls_key=None, backend=None):
        """Open (or create) the state in ``state_dir`` and prepare to listen on ``listen``."""
        self.state_dir = state_dir
        # The state holds API tokens: keep the directory and everything sqlite creates in it private.
        os.makedirs(state_dir, mode=0o700, exist_ok=True)
        os.chmod(state_dir, 0o700)
        self.config = config or LabConfig()
        self.seed = seed
        self.store = Store(os.path.join(state_dir, "maas.sqlite3"))
        # Lab nodes (issue 5): a caller may pass another NodeBackend, e.g. DockerBackend for --node-backend docker.
        self.backend = backend or SimulatedBackend(self.config, seed)
        fresh = self.store.get_meta("initialised") is None
        self.region = Region(self.store, self.config, self.backend, seed=seed)
        self.admin_key = self.region.ensure_user("admin", True)
        self.user_key = self.region.ensure_user("user", False)
        if fresh:
            if machines:
                started = time.monotonic()
                self.region.seed_machines(machines)
                LOG.info("seeded %d Ready machines in %.1f s", machines, time.monotonic() - started)
            self.store.set_meta("initialised", time.time())
        self.api = build_api()
        self.auth = Authenticator(self.region)
        self.stats = Stats()
        self.faults = FaultInjector(self.config, seed)
        self.httpd = LabHTTPServer(listen, RequestHandler, self)
        self.scheme = "http"
        if tls_cert:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(tls_cert, tls_key)
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
            self.scheme = "https"
        self._thread = None

    @property
    def url(self):
        """The MAAS URL clients use, e.g. ``http://127.0.0.1:41234/MAAS``."""
        host, port = self.httpd.server_address[:2]
        return "%s://%s:%d/MAAS" % (self.scheme, host, port)

    def _write_private(self, name, text):
        path = os.path.join(self.state_dir, name)
        tmp = path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text + "\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)

    def start(self):
        """Serve in a background thread, start timers, then publish keys and (last) the ``url`` file."""
        self.region.start()
        threading.Thread(target=self.region.warm_cache, name="maas-cache-warmup", daemon=True).start()
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="maas-http", daemon=True)
        self._thread.start()
        self._write_private("api_key", self.admin_key)
        self._write_private("api_key.user", self.user_key)
        url_path = os.path.join(self.state_dir, "url")
        tmp = url_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(self.url + "\n")
        os.replace(tmp, url_path)
        LOG.info("MAAS emulator listening on %s (state in %s)", self.url, self.state_dir)

    def stop(self):
        """Stop serving, stop timers and close the database."""
        try:
            os.unlink(os.path.join(self.state_dir, "url"))
        except FileNotFoundError:
            pass
        self.httpd.shutdown()
        self.httpd.server_close()
        self.region.stop()
        with self.region.lock:
            self.store.close()


class LabHTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows its Emulator."""

    daemon_threads = True
    request_queue_size = 256

    def __init__(self, address, handler_class, emulator):
        """Bind to ``address`` and remember ``emulator`` for request handlers."""
        self.emulator = emulator
        super().__init__(address, handler_class)


class RequestHandler(BaseHTTPRequestHandler):
    """One connection; HTTP/1.1 keep-alive with explicit Content-Length on every response."""

    protocol_version = "HTTP/1.1"
    server_version = "gough-lab-maas"
    sys_version = ""

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Send access logs to the emulator's logger (stderr) at debug level."""
        LOG.debug("%s %s", self.address_string(), format % args)

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

    # -----------------------------------------------------------------------------------------------------------
    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status, body, content_type, headers=None):
        emulator = self.server.emulator
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-MAAS-API-Hash", emulator.api.api_hash())
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _reset_connection(self):
        """Drop the connection with a TCP RST and no response."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close_connection = True
        try:
            self.connection.close()
        except OSError:
            pass

    def _handle(self):
        emulator = self.server.emulator
        body = self._read_body()
        parts = urlsplit(self.path)
        path = parts.path
        if path.startswith("/_lab/"):
            self._handle_lab(path, body)
            return
        slow, fault = (False, None)
        if path.startswith("/MAAS/"):
            slow, fault = emulator.faults.draw()
        if fault in ("503", "502", "429", "reset_before"):
            emulator.stats.fault(fault)
            if fault == "reset_before":
                self._reset_connection()
                return
            headers = {"Retry-After": str(emulator.config.get("retry_after_seconds"))} if fault == "429" else {}
            messages = {"503": "Service Unavailable", "502": "Bad Gateway", "429": "Too Many Requests"}
            self._send(int(fault), messages[fault].encode(), TEXT_TYPE, headers)
            return
        if slow:
            emulator.stats.fault("slow")
            time.sleep(emulator.config.get("slow_seconds"))
        status, reply_body, content_type, headers = self._process(path, parts.query, body)
        if fault == "reset_after":
            emulator.stats.fault("reset_after")
            self._reset_connection()
            return
        self._send(status, reply_body, content_type, headers)

    def _process(self, path, query, body):
        """Run one MAAS request; returns (status, body, content type, headers) and counts it."""
        emulator = self.server.emulator
        method = self.command
        path_key, op_key, touched = path, None, []
        try:
            if path == "/MAAS/api/version/":
                path_key = path
                return 200, b"2.0", TEXT_TYPE, {}
            if path.startswith("/MAAS/api/1.0/") or path == "/MAAS/api/1.0":
                path_key = "/MAAS/api/1.0/*"
                raise APIError(410, "The 1.0 API is no longer available. Please use API version 2.0.")
            if not path.startswith(API_PREFIX):
                path_key = "<unknown>"
                raise APIError(404, "Not Found")
            relative = path[len(API_PREFIX):]
            if relative == "describe/":
                path_key, op_key = path, "GET describe/ read"
                if method != "GET":
                    raise APIError(405, "", headers={"Allow": "GET"})
                data = emulator.api.describe(self._base_url())
                return 200, json.dumps(data).encode(), "application/json", {}
            resource, args, op_from_path = emulator.api.route(relative)
            if resource is None:
                path_key = "<unknown>"
                raise APIError(404, "Unknown API endpoint: %s." % path)
            path_key = API_PREFIX + resource.template
            params = parse_query(query)
            if method in ("POST", "PUT"):
                params.merge(parse_body(self.headers.get("Content-Type"), body))
            op = op_from_path or params.get("op") or None
            user = emulator.auth.authenticate(self.headers.get("Authorization"))
            call = Call(emulator.region, user, method, op, params, args, self._base_url())
            touched = call.touched
            action_name = op if op else {"GET": "read", "POST": "create", "PUT": "update", "DELETE": "delete"}.get(method, method)
            op_key = "%s %s %s" % (method, resource.template, action_name)
            _action, reply = dispatch(resource, call)
            return reply.status, reply.body, reply.content_type, reply.headers
        except APIError as error:
            return error.status, error.body, error.content_type, error.headers
        except Exception:  # pylint: disable=broad-exception-caught
            # A bug in the emulator must answer 500 like Django would, not kill the connection.
            LOG.exception("internal error handling %s %s", method, path)
            return 500, b"Internal server error.", TEXT_TYPE, {}
        finally:
            emulator.stats.request(method, path_key, op_key, method != "GET" and path.startswith("/MAAS/api/"), touched)

    def _base_url(self):
        host = self.headers.get("Host") or "%s:%d" % self.server.server_address[:2]
        return "%s://%s" % (self.server.emulator.scheme, host)

    def _handle_lab(self, path, body):
        emulator = self.server.emulator
        method = self.command
        if path == "/_lab/stats" and method == "GET":
            self._send(200, json.dumps(emulator.stats.snapshot()).encode(), JSON_TYPE)
        elif path == "/_lab/stats" and method == "DELETE":
            emulator.stats.reset()
            self._send(204, b"", TEXT_TYPE)
        elif path == "/_lab/config" and method == "GET":
            self._send(200, json.dumps(emulator.config.snapshot()).encode(), JSON_TYPE)
        elif path == "/_lab/config" and method == "PUT":
            try:
                changes = json.loads(body or b"{}")
                if not isinstance(changes, dict):
                    raise ConfigError("the body must be a JSON object")
                snapshot = emulator.config.update(changes)
            except (ValueError, ConfigError) as error:
                self._send(400, json.dumps({"error": str(error)}).encode(), JSON_TYPE)
                return
            self._send(200, json.dumps(snapshot).encode(), JSON_TYPE)
        else:
            self._send(404, b"Unknown lab endpoint.", TEXT_TYPE)
