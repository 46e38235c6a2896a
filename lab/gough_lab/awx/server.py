"""HTTP front end of the AWX emulator: authentication, routing to the API, lab endpoints and write counters."""

import base64
import json
import logging
import os
import threading
from urllib.parse import parse_qs, urlsplit

from gough_lab.common.http import (LabHTTPServer, LabRequestHandler, LabStats, bump, make_private_dir, stop_serving,
                                   write_file)

from .api import API, PREFIX, VERSION
from .store import Store
from .validate import Forbidden, Invalid, MethodNotAllowed, NotFound

LOG = logging.getLogger("gough_lab.awx")
ADMIN = "admin"
JSON_TYPE = "application/json"


class Stats(LabStats):
    """Request counters served at /_lab/stats; ``writes`` counts API changes (token issue/revoke excluded)."""

    def zero(self):
        """Zero the AWX counters."""
        self.requests = 0
        self.writes = 0
        self.by_method = {}
        self.writes_by_path = {}

    def count(self, method, path, write):
        """Count one request; ``write`` when it changed (or tried to change) configuration."""
        with self.lock:
            self.requests += 1
            bump(self.by_method, method)
            if write:
                self.writes += 1
                bump(self.writes_by_path, "%s %s" % (method, path))

    def snapshot(self):
        """The counters as a JSON document."""
        with self.lock:
            return {"requests": self.requests, "writes": self.writes, "by_method": dict(self.by_method),
                    "writes_by_path": dict(self.writes_by_path)}


class Emulator:
    """The AWX emulator: state directory, HTTP server thread, admin user and token."""

    def __init__(self, state_dir, listen=("127.0.0.1", 0), project_checkout=None, projects_root=None,
                 remote_host_headers=("REMOTE_ADDR",)):
        """Load or create the state in ``state_dir``; ``listen`` is (host, port), port 0 picks a free one.
        ``project_checkout``: the git repository project updates check out for URLs that are not ``file://``
        paths (the directory itself for projects that are not git).
        ``projects_root``: AWX's PROJECTS_ROOT for manual projects (default ``state_dir/projects``).
        ``remote_host_headers``: AWX's REMOTE_HOST_HEADERS, where a callback's address is read: REMOTE_ADDR (the
        peer) or HTTP header names such as X-Forwarded-For (behind a proxy)."""
        self.remote_host_headers = tuple(remote_host_headers)
        self.state_dir = os.path.abspath(state_dir)
        # The state holds the admin password and token: keep the directory and the database private.
        make_private_dir(self.state_dir)
        self.store = Store(self.state_dir)
        self.stats = Stats()
        root = projects_root or os.path.join(self.state_dir, "projects")
        os.makedirs(root, mode=0o700, exist_ok=True)
        self.api = API(self.store, self.stats, project_checkout=project_checkout, projects_root=root)
        with self.store.lock:
            seeded = self.api.seed(ADMIN)
        if seeded is not None:
            password, token = seeded
            self._write_private("admin.json", json.dumps({"username": ADMIN, "password": password}) + "\n")
            self._write_private("token", token + "\n")
        self.server = LabHTTPServer(listen, Handler, self)
        self.thread = None

    def _write_private(self, name, text):
        write_file(os.path.join(self.state_dir, name), text)

    @property
    def url(self):
        """Base URL (no /api/)."""
        host, port = self.server.server_address[:2]
        return "http://%s:%d" % (host, port)

    def start(self):
        """Serve in a background thread, then publish the ``url`` file."""
        self.thread = threading.Thread(target=self.server.serve_forever, name="awx-emulator", daemon=True)
        self.thread.start()
        write_file(os.path.join(self.state_dir, "url"), self.url + "\n", 0o644)
        LOG.info("AWX emulator listening on %s (state in %s)", self.url, self.state_dir)

    def stop(self):
        """Stop serving, remove the ``url`` file and close the database."""
        stop_serving(self.server, self.state_dir)
        with self.store.lock:
            self.store.close()


class Handler(LabRequestHandler):
    """One connection; HTTP/1.1 keep-alive with explicit Content-Length on every response."""

    server_version = "gough-lab-awx"
    logger = LOG

    def do_PATCH(self):  # pylint: disable=invalid-name
        """Handle PATCH."""
        self._handle()

    def do_HEAD(self):  # pylint: disable=invalid-name
        """Handle HEAD (a GET without the body)."""
        self._handle()

    def _send(self, status, body, headers=None):
        payload = b"" if body is None else json.dumps(body).encode()
        self._send_bytes(status, payload, JSON_TYPE if payload else None,
                         {"X-API-Product-Name": "AWX", "X-API-Product-Version": VERSION, **(headers or {})})

    def _handle(self):
        try:
            self._route()
        except Exception:  # pylint: disable=broad-except
            LOG.exception("internal error on %s %s", self.command, self.path)
            self._send(500, {"detail": "internal error in the emulator"})

    def _authenticate(self, api):
        """(user or None, token scope)."""
        header = self.headers.get("Authorization", "")
        scheme, value = (header.split(" ", 1) + [""])[:2]
        if scheme.lower() == "bearer" and value:
            return api.user_for_token(value.strip()), api.token_scope(value.strip())
        if scheme.lower() == "basic" and value:
            try:
                username, password = (base64.b64decode(value.strip()).decode("utf-8").split(":", 1) + [""])[:2]
            except (ValueError, UnicodeDecodeError):
                return None, "write"
            return api.user_for_password(username, password), "write"
        return None, "write"

    def _route(self):
        emulator = self.server.emulator
        parts = urlsplit(self.path)
        path = parts.path
        query = parse_qs(parts.query, keep_blank_values=True)
        raw = self._read_body()
        if path.startswith("/_lab/"):
            try:
                lab_body = json.loads(raw) if raw else None
            except ValueError:
                return self._send(400, {"detail": "JSON parse error"})
            return self._lab(path, emulator, lab_body)
        if path in ("/api", "/api/"):
            return self._send(200, {"description": "AWX REST API", "current_version": PREFIX,
                                    "available_versions": {"v2": PREFIX}, "oauth2": "/api/o/",
                                    "custom_logo": "", "custom_login_info": "", "login_redirect_override": ""})
        if not path.startswith(PREFIX.rstrip("/")):
            return self._send(404, {"detail": "Not found."})
        if not path.endswith("/"):
            return self._send(301, None, {"Location": path + "/" + ("?" + parts.query if parts.query else "")})
        if path == PREFIX + "ping/":
            return self._send(200, emulator.api.ping())
        body = None
        form = self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded")
        if raw and form and emulator.api.is_callback(self.command, path):
            # AWX's callback view also parses forms (curl --data host_config_key=...); a form carries no extra_vars
            fields = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
            body = {key: values[-1] for key, values in fields.items() if key != "extra_vars"}
        elif raw:
            try:
                body = json.loads(raw)
            except ValueError:
                return self._send(400, {"detail": "JSON parse error - Expecting value"})
        write = self.command in ("POST", "PUT", "PATCH", "DELETE") and not path.startswith(PREFIX + "tokens/")
        with emulator.store.lock:
            user, scope = self._authenticate(emulator.api)
            # A provisioning callback needs no login: the host config key is the credential.
            callback = emulator.api.is_callback(self.command, path)
            emulator.stats.count(self.command, path, write and (user is not None or callback))
            if user is None and not callback:
                detail = ("Invalid username/password." if self.headers.get("Authorization")
                          else "Authentication credentials were not provided.")
                return self._send(401, {"detail": detail}, {"WWW-Authenticate": 'Bearer realm="api"'})
            if user is not None and scope == "read" and write:
                return self._send(403, {"detail": "You do not have permission to perform this action."})
            try:
                status, response = emulator.api.handle(self.command if self.command != "HEAD" else "GET",
                                                       path, query, body, user, scope, self._remote_hosts())
            except Invalid as exc:
                return self._send(exc.status, exc.body)
            except NotFound:
                return self._send(404, {"detail": "Not found."})
            except Forbidden as exc:
                return self._send(403, {"detail": str(exc)})
            except MethodNotAllowed:
                return self._send(405, {"detail": 'Method "%s" not allowed.' % self.command})
        return self._send(status, response)

    def _remote_hosts(self):
        """The caller's addresses, as AWX's get_remote_hosts reads them from REMOTE_HOST_HEADERS."""
        found = []
        for name in self.server.emulator.remote_host_headers:
            value = self.client_address[0] if name in ("REMOTE_ADDR", "REMOTE_HOST") else self.headers.get(name, "")
            for part in (value or "").split(","):
                if part.strip() and part.strip() not in found:
                    found.append(part.strip())
        return found

    def _lab(self, path, emulator, body=None):
        if path == "/_lab/stats":
            if self.command == "GET":
                return self._send(200, emulator.stats.snapshot())
            if self.command == "DELETE":
                emulator.stats.reset()
                return self._send(204, None)
        with emulator.store.lock:
            if path == "/_lab/callbacks" and self.command == "GET":
                return self._send(200, emulator.store.data.get("callbacks", []))
            if path == "/_lab/project_updates" and self.command == "POST":
                pending = emulator.api.hold_project_updates((body or {}).get("hold"))
                return self._send(200, {"hold": bool((body or {}).get("hold")), "pending": pending})
            if path == "/_lab/jobs" and self.command == "GET":
                return self._send(200, sorted(emulator.store.data.get("jobs", {}).values(), key=lambda j: j["id"]))
            if path.startswith("/_lab/jobs/") and self.command == "POST":
                job = emulator.api.set_job_status(path[len("/_lab/jobs/"):], (body or {}).get("status"))
                if job is None:
                    return self._send(400, {"detail": "unknown job, or status not one of pending, waiting, running, "
                                                      "successful, failed, error, canceled"})
                return self._send(200, job)
        return self._send(404, {"detail": "Not found."})
