"""HTTP front end of the MAAS emulator: routing, authentication, fault injection, lab endpoints and stats."""

import json
import logging
import os
import threading
import time
from urllib.parse import urlsplit

from gough_lab.common.http import (FaultInjector, LabHTTPServer, LabRequestHandler, LabStats, bump,
                                   make_private_dir, stop_serving, write_file)

from .api import API, JSON_TYPE, Call, Resource, dispatch
from .auth import Authenticator
from .backend import SimulatedBackend
from .config import ConfigError, LabConfig
from .errors import APIError
from .machines import machine_handlers
from .network import network_handlers
from .boot import boot_handlers
from .resources import resource_handlers
from .params import parse_body, parse_query
from .region import DEFAULT_BOOT_IMAGES, DEFAULT_MAAS_VERSION, Region
from .store import Store

LOG = logging.getLogger("gough_lab.maas")
TEXT_TYPE = "text/plain; charset=utf-8"
API_PREFIX = "/MAAS/api/2.0/"


def build_api():
    """The emulator's routing table, in MAAS's handler names."""
    machines, anon_machines, machine = machine_handlers()
    resources = [Resource(auth=machines, anon=anon_machines), Resource(auth=machine)]
    for auth, anon in resource_handlers() + boot_handlers():
        resources.append(Resource(auth=auth, anon=anon))
    # Fabrics, VLANs, subnets, IP ranges and rack controllers (network.py).
    for auth, anon in network_handlers():
        resources.append(Resource(auth=auth, anon=anon))
    return API(resources)


class Stats(LabStats):
    """Request counters served at /_lab/stats."""

    def zero(self):
        """Zero the MAAS counters."""
        self.requests_total = 0
        self.by_method = {}
        self.by_path = {}
        self.by_op = {}
        self.writes = 0
        self.machine_ops = {}

    def request(self, method, path_key, op_key, is_api_write, touched):
        """Count one request that reached handling."""
        with self.lock:
            self.requests_total += 1
            bump(self.by_method, method)
            bump(self.by_path, path_key)
            if op_key:
                bump(self.by_op, op_key)
            if is_api_write:
                self.writes += 1
                for system_id, op in touched:
                    bump(self.machine_ops.setdefault(system_id, {}), op)

    def snapshot(self):
        """Every counter, as the JSON document /_lab/stats returns."""
        with self.lock:
            return {"requests_total": self.requests_total, "by_method": dict(self.by_method),
                    "by_path": dict(self.by_path), "by_op": dict(self.by_op), "writes": self.writes,
                    "machine_ops": {sid: dict(ops) for sid, ops in self.machine_ops.items()},
                    "faults": dict(self.faults)}


class Emulator:  # pylint: disable=too-many-instance-attributes
    """The whole MAAS emulator: state, region, HTTP server and its lifecycle."""

    def __init__(self, state_dir, *, listen=("127.0.0.1", 0), seed=1, machines=0, config=None, tls_cert=None,
                 tls_key=None, backend=None, maas_version=DEFAULT_MAAS_VERSION, boot_images=DEFAULT_BOOT_IMAGES):
        """Open (or create) the state in ``state_dir`` and prepare to listen on ``listen``.

        ``maas_version`` is the MAAS version to behave as; ``boot_images`` the Ubuntu series a fresh state directory
        starts with imported (empty: no architecture is valid until an import).
        """
        self.state_dir = state_dir
        # The state holds API tokens: keep the directory and everything sqlite creates in it private.
        make_private_dir(state_dir)
        self.config = config or LabConfig()
        self.seed = seed
        self.store = Store(os.path.join(state_dir, "maas.sqlite3"))
        # Lab nodes: a caller may pass another NodeBackend, e.g. DockerBackend for --node-backend docker.
        self.backend = backend or SimulatedBackend(self.config, seed)
        fresh = self.store.get_meta("initialised") is None
        self.region = Region(self.store, self.config, self.backend, seed=seed, maas_version=maas_version,
                             boot_images=boot_images)
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
            self.httpd.wrap_tls(tls_cert, tls_key)
            self.scheme = "https"
        self._thread = None

    @property
    def url(self):
        """The MAAS URL clients use, e.g. ``http://127.0.0.1:41234/MAAS``."""
        host, port = self.httpd.server_address[:2]
        return "%s://%s:%d/MAAS" % (self.scheme, host, port)

    def _write_private(self, name, text):
        write_file(os.path.join(self.state_dir, name), text + "\n")

    def start(self):
        """Serve in a background thread, start timers, then publish keys and (last) the ``url`` file."""
        self.region.start()
        threading.Thread(target=self.region.warm_cache, name="maas-cache-warmup", daemon=True).start()
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="maas-http", daemon=True)
        self._thread.start()
        self._write_private("api_key", self.admin_key)
        self._write_private("api_key.user", self.user_key)
        write_file(os.path.join(self.state_dir, "url"), self.url + "\n", 0o644)
        LOG.info("MAAS emulator listening on %s (state in %s)", self.url, self.state_dir)

    def stop(self):
        """Stop serving, stop timers and close the database."""
        stop_serving(self.httpd, self.state_dir)
        self.region.stop()
        with self.region.lock:
            self.store.close()


class RequestHandler(LabRequestHandler):
    """One connection; HTTP/1.1 keep-alive with explicit Content-Length on every response."""

    server_version = "gough-lab-maas"
    logger = LOG

    def _send(self, status, body, content_type, headers=None):
        self._send_bytes(status, body, content_type,
                         {"X-MAAS-API-Hash": self.server.emulator.api.api_hash(), **(headers or {})})

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
        self._serve_with_faults(
            slow, fault, lambda: self._process(path, parts.query, body),
            lambda status, message, headers: self._send(status, message.encode(), TEXT_TYPE, headers))

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
                params.merge(parse_body(self.headers.get("Content-Type"), body,
                                        reject_empty_multipart=emulator.region.at_least("3.6")))
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
                snapshot = emulator.config.update_json(body)
            except (ValueError, ConfigError) as error:
                self._send(400, json.dumps({"error": str(error)}).encode(), JSON_TYPE)
                return
            self._send(200, json.dumps(snapshot).encode(), JSON_TYPE)
        else:
            self._send(404, b"Unknown lab endpoint.", TEXT_TYPE)
