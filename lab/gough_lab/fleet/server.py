"""HTTPS front end of the Fleet emulator: the REST API, the osquery TLS API, fault injection, lab endpoints."""

import gzip
import json
import logging
import os
import socket
import ssl
import threading
from urllib.parse import parse_qsl, urlsplit

from gough_lab.common import http as lab_http
from gough_lab.common.http import (FaultInjector, LabRequestHandler, LabStats, bump, make_private_dir,
                                   read_raw_body, stop_serving, write_file)

from . import rest
from .config import ConfigError, LabConfig
from .errors import FleetError, OsqueryError
from .automations import FailingPoliciesWebhook
from .service import HOST_IDENTIFIER_MODES, Fleet
from .store import Store
from .tlsca import ensure_certificates

LOG = logging.getLogger("gough_lab.fleet")
JSON_TYPE = "application/json; charset=utf-8"
OSQUERY_PREFIXES = ("/api/osquery/", "/api/v1/osquery/")
OSQUERY_ENDPOINTS = ("enroll", "config", "distributed/read", "distributed/write", "log")


class Stats(LabStats):
    """Request counters served at /_lab/stats."""

    def zero(self):
        """Zero the Fleet counters."""
        self.requests_total = 0
        self.writes = 0
        self.by_method = {}
        self.by_route = {}
        self.by_status = {}
        self.osquery = {name: 0 for name in OSQUERY_ENDPOINTS}
        self.osquery_errors = {"node_invalid": 0, "other": 0}

    def rest(self, method, route_key, status, is_write):
        """Count one REST request that reached handling; writes are successful changing calls."""
        with self.lock:
            self.requests_total += 1
            bump(self.by_method, method)
            bump(self.by_route, route_key)
            bump(self.by_status, str(status))
            if is_write and status < 400:
                self.writes += 1

    def osquery_call(self, endpoint, error=None):
        """Count one osquery TLS API request."""
        with self.lock:
            if endpoint in self.osquery:
                self.osquery[endpoint] += 1
            if error is not None:
                self.osquery_errors["node_invalid" if error.node_invalid else "other"] += 1

    def snapshot(self):
        """Every counter, as /_lab/stats returns them."""
        with self.lock:
            return {"requests_total": self.requests_total, "writes": self.writes, "by_method": dict(self.by_method),
                    "by_route": dict(self.by_route), "by_status": dict(self.by_status), "osquery": dict(self.osquery),
                    "osquery_errors": dict(self.osquery_errors), "faults": dict(self.faults)}


class Emulator:  # pylint: disable=too-many-instance-attributes
    """The whole Fleet emulator: state, TLS, HTTP server and its lifecycle."""

    def __init__(self, state_dir, *, listen=("127.0.0.1", 0), seed=1, config=None, tls_cert=None, tls_key=None,
                 tls_ca=None, tls_sans=(), host_identifier="provided", advertise_host=None, log_writers=None):
        """Open (or create) the state in ``state_dir``, the lab CA and certificate, and bind ``listen``.

        ``log_writers`` ({"result"|"status": filelog.FilesystemLogWriter}) also append the osquery logs hosts send
        to files, as Fleet's filesystem plugin does.
        """
        if host_identifier not in HOST_IDENTIFIER_MODES:
            raise ValueError("host_identifier must be one of %s" % ", ".join(HOST_IDENTIFIER_MODES))
        self.state_dir = state_dir
        make_private_dir(state_dir)
        self.config = config or LabConfig()
        self.store = Store(os.path.join(state_dir, "fleet.sqlite3"))
        self.fleet = Fleet(self.store, self.config, host_identifier=host_identifier)
        self.boot = self.fleet.bootstrap()
        self.stats = Stats()
        self.faults = FaultInjector(self.config, seed, "fleet-faults")
        if tls_cert:
            ca_path = os.path.join(state_dir, "ca.crt")
            with open(tls_ca or tls_cert, encoding="utf-8") as handle:
                write_file(ca_path, handle.read(), 0o644)
        else:
            tls_cert, tls_key, _ca = ensure_certificates(state_dir, tls_sans)
        self.httpd = LabHTTPServer(listen, RequestHandler, self)
        self.httpd.wrap_tls(tls_cert, tls_key, minimum_version=ssl.TLSVersion.TLSv1_2, do_handshake_on_connect=False)
        self.advertise_host = advertise_host
        self.log_writers = dict(log_writers or {})
        self._thread = None
        self.webhooks = FailingPoliciesWebhook(self.fleet, self.config, lambda: self.url)

    @property
    def url(self):
        """The base URL clients use, e.g. ``https://127.0.0.1:8412``."""
        host, port = self.httpd.server_address[:2]
        if self.advertise_host:
            host = self.advertise_host
        elif host in ("0.0.0.0", "", "::"):
            host = "127.0.0.1"
        if ":" in host:
            host = "[%s]" % host
        return "https://%s:%d" % (host, port)

    def start(self):
        """Serve in a background thread, then publish the credentials and (last) the ``url`` file."""
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="fleet-http", daemon=True)
        self._thread.start()
        self.webhooks.start()
        write_file(os.path.join(self.state_dir, "api_token"), self.boot["api_token"] + "\n", 0o600)
        write_file(os.path.join(self.state_dir, "enroll_secret"), self.boot["enroll_secret"] + "\n", 0o600)
        write_file(os.path.join(self.state_dir, "admin.json"),
                   json.dumps({"email": self.boot["admin_email"], "password": self.boot["admin_password"]}) + "\n",
                   0o600)
        write_file(os.path.join(self.state_dir, "url"), self.url + "\n", 0o644)
        LOG.info("Fleet emulator listening on %s (state in %s)", self.url, self.state_dir)

    def stop(self):
        """Stop serving and close the database."""
        self.webhooks.stop()
        stop_serving(self.httpd, self.state_dir)
        with self.fleet.lock:
            self.store.close()


class LabHTTPServer(lab_http.LabHTTPServer):
    """The lab HTTP server, logging failed TLS connections in one line."""

    def handle_error(self, request, client_address):
        """Log a failed connection (e.g. a client that does not trust the CA) in one line, not a traceback."""
        LOG.info("connection from %s failed", client_address[0], exc_info=LOG.isEnabledFor(logging.DEBUG))


class RequestHandler(LabRequestHandler):
    """One connection; HTTP/1.1 keep-alive with explicit Content-Length on every response."""

    server_version = "gough-lab-fleet"
    logger = LOG
    timeout = 120

    def setup(self):
        """Do the TLS handshake in the connection's own thread (a bad client cannot block the server)."""
        self.request.settimeout(30)
        try:
            self.request.do_handshake()
        except (ssl.SSLError, OSError) as exc:
            LOG.info("TLS handshake with %s failed: %s", self.client_address[0], exc)
            raise
        super().setup()

    def handle(self):
        """Serve the connection, ignoring clients that vanish."""
        try:
            super().handle()
        except (ConnectionError, ssl.SSLError, socket.timeout):
            pass

    def do_PATCH(self):  # pylint: disable=invalid-name
        """Handle PATCH."""
        self._handle()

    def _read_body(self):
        data = read_raw_body(self)
        if data and "gzip" in (self.headers.get("Content-Encoding") or "").lower():
            data = gzip.decompress(data)
        return data

    def _send(self, status, doc, headers=None):
        self._send_bytes(status, json.dumps(doc).encode() if doc is not None else b"", JSON_TYPE, headers)

    def _handle(self):
        emulator = self.server.emulator
        try:
            raw = self._read_body()
        except (OSError, ValueError, EOFError):
            self.close_connection = True
            self._send(400, {"message": "Bad request", "errors": [{"name": "base", "reason": "unreadable body"}]})
            return
        parts = urlsplit(self.path)
        path = parts.path
        if path.startswith("/_lab/"):
            self._handle_lab(path, raw)
            return
        if path.startswith(OSQUERY_PREFIXES):
            self._handle_osquery(path, raw)
            return
        slow, fault = emulator.faults.draw()
        self._serve_with_faults(
            slow, fault, lambda: self._process_rest(path, parts.query, raw),
            lambda status, message, headers: self._send(
                status, {"message": message, "errors": [{"name": "base", "reason": message}]}, headers))

    def _base_url(self):
        host = self.headers.get("Host") or "%s:%d" % self.server.server_address[:2]
        return "https://%s" % host

    def _process_rest(self, path, query, raw):
        emulator = self.server.emulator
        method = self.command
        info = {"route": "<unknown>", "write": False}
        status = 500
        try:
            params = dict(parse_qsl(query, keep_blank_values=True))
            body = None
            if raw.strip():
                try:
                    body = json.loads(raw)
                except ValueError:
                    raise FleetError(400, "Bad request", "Expected JSON Body") from None
            status, doc, _route, _write = rest.dispatch(emulator.fleet, method, path, params, body,
                                                        self.headers.get("Authorization"), self._base_url(), info)
            return status, doc, {}
        except FleetError as error:
            status = error.status
            return error.status, error.body(), error.headers
        except Exception:  # pylint: disable=broad-exception-caught
            LOG.exception("internal error handling %s %s", method, path)
            status = 500
            return 500, FleetError(500, "Unknown Error", "internal error").body(), {}
        finally:
            emulator.stats.rest(method, info["route"], status, info["write"])

    def _handle_osquery(self, path, raw):
        emulator = self.server.emulator
        fleet = emulator.fleet
        prefix = next(p for p in OSQUERY_PREFIXES if path.startswith(p))
        endpoint = path[len(prefix):].rstrip("/")
        remote = self.client_address[0]
        try:
            if self.command != "POST" or endpoint not in OSQUERY_ENDPOINTS:
                raise OsqueryError("unknown osquery endpoint %s %s" % (self.command, path), status=404)
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                raise OsqueryError("decoding request: invalid JSON", status=400) from None
            if not isinstance(body, dict):
                raise OsqueryError("decoding request: expected a JSON object", status=400)
            if endpoint == "enroll":
                node_key = fleet.enroll(body, remote)
                reply = {"node_key": node_key}
                LOG.info("osquery enroll from %s: host_identifier=%s", remote, body.get("host_identifier"))
            else:
                host = fleet.node(body, remote)
                if endpoint == "config":
                    reply = fleet.osquery_config(host)
                elif endpoint == "distributed/read":
                    reply = fleet.distributed_read(host)
                elif endpoint == "distributed/write":
                    fleet.distributed_write(host, body)
                    reply = {}
                else:
                    log_type = body.get("log_type")
                    data = body.get("data")
                    if log_type not in ("status", "result") or not isinstance(data, list):
                        raise OsqueryError("log: log_type must be status or result and data a list", status=400)
                    fleet.add_logs(host, log_type, data)
                    if log_type in emulator.log_writers:
                        emulator.log_writers[log_type].write(data)
                    reply = {}
            emulator.stats.osquery_call(endpoint)
            self._send(200, reply)
        except OsqueryError as error:
            emulator.stats.osquery_call(endpoint, error)
            LOG.info("osquery %s from %s: %d %s", endpoint, remote, error.status, error.message)
            self._send(error.status, error.body())
        except Exception:  # pylint: disable=broad-exception-caught
            LOG.exception("internal error handling osquery %s", path)
            self._send(500, {"error": "internal error"})

    def _handle_lab(self, path, body):
        emulator = self.server.emulator
        method = self.command
        if path == "/_lab/stats" and method == "GET":
            self._send(200, emulator.stats.snapshot())
        elif path == "/_lab/stats" and method == "DELETE":
            emulator.stats.reset()
            self._send(204, None)
        elif path == "/_lab/config" and method == "GET":
            self._send(200, emulator.config.snapshot())
        elif path == "/_lab/config" and method == "PUT":
            try:
                snapshot = emulator.config.update_json(body)
            except (ValueError, ConfigError) as error:
                self._send(400, {"error": str(error)})
                return
            self._send(200, snapshot)
        elif path == "/_lab/webhooks" and method == "GET":
            self._send(200, {"deliveries": list(emulator.webhooks.deliveries)})
        elif path == "/_lab/webhooks/run" and method == "POST":
            self._send(200, {"delivered": emulator.webhooks.run_once()})
        elif path == "/_lab/logs" and method == "GET":
            self._send(200, emulator.fleet.logs_json())
        else:
            self._send(404, {"error": "unknown lab endpoint"})
