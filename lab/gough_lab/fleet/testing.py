"""Start the lab's Fleet emulator from tests: ``start_fleet_emulator(state_dir)`` returns a running FleetEmulator.

The emulator runs as a subprocess (``python -m gough_lab.cli fleet serve --listen 127.0.0.1:0``), so tests can
stop it, ``kill -9`` it and restart it on the same state directory. Its certificate is signed by the lab CA in
``<state_dir>/ca.crt`` (``.ca_cert``); every helper here verifies TLS against it.
"""

import gzip
import http.client
import json
import os
import ssl
from urllib.parse import urlencode, urlsplit

from gough_lab.common.testing import LAB_ROOT, ConfigurableEmulator, EmulatorError

from .osquery_host import FakeOsqueryHost

__all__ = ["LAB_ROOT", "EmulatorError", "Response", "FleetEmulator", "start_fleet_emulator", "FakeOsqueryHost"]


class Response:  # pylint: disable=too-few-public-methods
    """Status, headers and body of one response."""

    def __init__(self, status, headers, body):
        """Keep the parts."""
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        """The body as JSON (None when empty)."""
        return json.loads(self.body) if self.body else None

    def __repr__(self):
        return "<Response %d %r>" % (self.status, self.body[:400])


class FleetEmulator(ConfigurableEmulator):
    """A running Fleet emulator subprocess and the files it wrote to its state directory."""

    SERVICE = "fleet"

    def __init__(self, state_dir, args, env, timeout, listen):
        """Start the emulator with ``args`` (extra CLI arguments) and wait for its url file."""
        self.api_token = self.enroll_secret = self.admin = None
        self.ca_cert = os.path.join(str(state_dir), "ca.crt")
        super().__init__(state_dir, args, env, timeout, listen)

    @property
    def port(self):
        """The port the emulator listens on."""
        return int(self.url.rsplit(":", 1)[1])

    def _started(self):
        super()._started()
        self.api_token = self._read("api_token")
        self.enroll_secret = self._read("enroll_secret")
        self.admin = json.loads(self._read("admin.json"))
        if self._listen.endswith(":0"):
            # Restarts keep the port, so URLs the test handed out stay valid.
            self._listen = self._listen[:-1] + str(self.port)

    def ssl_context(self):
        """An SSLContext that verifies the emulator against its CA."""
        return ssl.create_default_context(cafile=self.ca_cert)

    def _ssl_context(self):
        return self.ssl_context()

    def request(self, method, path, body=None, *, token="api", params=None, headers=None, raw=None, gzipped=False):
        """One HTTPS request (TLS verified against the lab CA); returns a Response.

        ``token`` is "api" (the API-only admin's token), None (no Authorization header) or a token string.
        ``body`` is sent as JSON; ``raw`` as bytes; ``gzipped`` compresses it with Content-Encoding: gzip.
        """
        parts = urlsplit(self.url)
        send = dict(headers or {})
        if token == "api":
            token = self.api_token
        if token:
            send["Authorization"] = "Bearer " + token
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            send["Content-Type"] = "application/json"
        if data is not None and gzipped:
            data = gzip.compress(data)
            send["Content-Encoding"] = "gzip"
        if params:
            path += "?" + urlencode(params, doseq=True)
        conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=90, context=self.ssl_context())
        try:
            conn.request(method, path, body=data, headers=send)
            response = conn.getresponse()
            return Response(response.status, response.headers, response.read())
        finally:
            conn.close()

    def api(self, method, path, body=None, **kwargs):
        """``request`` on ``/api/v1/fleet/<path>``."""
        return self.request(method, "/api/v1/fleet/" + path, body, **kwargs)

    def osquery(self, endpoint, body, **kwargs):
        """POST ``/api/osquery/<endpoint>`` without a REST token."""
        return self.request("POST", "/api/osquery/" + endpoint, body, token=None, **kwargs)

    def logs(self):
        """The osquery status/result log lines each host sent (GET /_lab/logs)."""
        return self._lab("GET", "/_lab/logs")


def start_fleet_emulator(state_dir, *, listen="127.0.0.1:0", seed=1, tls_sans=(), extra_args=(), env=None,
                         timeout=30, **options):
    """Start ``gough-lab fleet serve`` with ``state_dir`` and return a FleetEmulator.

    ``options`` become command-line flags: ``distributed_interval=1`` -> ``--distributed-interval 1``,
    ``fault_503=0.5`` -> ``--fault-503 0.5``, ``osquery_host_identifier="uuid"``, ``live_query_seconds=5``...
    ``listen="0.0.0.0:0"`` with ``tls_sans=["172.30.90.1"]`` makes it reachable from lab nodes.
    """
    os.makedirs(str(state_dir), exist_ok=True)
    args = ["--seed", str(seed)]
    for san in tls_sans:
        args += ["--tls-san", san]
    for name, value in sorted(options.items()):
        args += ["--" + name.replace("_", "-"), str(value)]
    args += list(extra_args)
    return FleetEmulator(state_dir, args, env, timeout, listen)
