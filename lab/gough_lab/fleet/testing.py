"""Start the lab's Fleet emulator from tests: ``start_fleet_emulator(state_dir)`` returns a running FleetEmulator.

The emulator runs as a subprocess (``python -m gough_lab.cli fleet serve --listen 127.0.0.1:0``), so tests can
stop it, ``kill -9`` it and restart it on the same state directory. Its certificate is signed by the lab CA in
``<state_dir>/ca.crt`` (``.ca_cert``); every helper here verifies TLS against it.
"""

import gzip
import hashlib
import http.client
import json
import os
import ssl
from urllib.parse import urlencode, urlsplit

from gough_lab.common.testing import LAB_ROOT, ConfigurableEmulator, EmulatorError

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


class FakeOsqueryHost:  # pylint: disable=too-many-instance-attributes
    """An in-process osquery agent for tests without lab nodes: enrolls, checks in, answers queries.

    It answers the detail tables (os_version, system_info, osquery_info, uptime, interface_addresses) from its
    attributes, ``SELECT 1``-style constant queries with one row, and any query containing a key of ``answers``
    with that key's rows (a string value is an error message: the query fails). Anything else fails with
    "no such table". ``start(interval)`` checks in from a background thread until ``stop()``.
    """

    def __init__(self, emulator, hostname, *, identifier=None, uuid=None, serial="", secret=None,
                 os_name="Debian GNU/Linux", os_version="13 (trixie)", platform="debian", address="172.30.90.50",
                 answers=None):
        """Describe the host; nothing is sent until ``enroll`` or ``checkin``."""
        self.emulator = emulator
        self.hostname = hostname
        digest = hashlib.sha256(hostname.encode()).hexdigest()
        self.uuid = uuid or "%s-%s-4%s-8%s-%s" % (digest[:8], digest[8:12], digest[13:16], digest[17:20], digest[20:32])
        self.identifier = identifier or self.uuid
        self.serial = serial
        self.secret = secret
        self.os_row = {"name": os_name, "version": os_version, "platform": platform, "platform_like": "debian",
                       "major": os_version.split(".")[0].split()[0], "codename": ""}
        self.address = address
        self.answers = dict(answers or {})
        self.node_key = None
        self.enrollments = 0
        self.answered = []
        self._thread = None
        self._stop = None

    def tables(self):
        """Rows of the tables this fake knows."""
        return {
            "os_version": [self.os_row],
            "system_info": [{"hostname": self.hostname, "uuid": self.uuid, "hardware_serial": self.serial,
                             "hardware_vendor": "Gough lab", "hardware_model": "fake", "cpu_brand": "fake cpu",
                             "cpu_type": "x86_64", "cpu_physical_cores": "2", "cpu_logical_cores": "4",
                             "physical_memory": str(4 << 30), "computer_name": self.hostname}],
            "osquery_info": [{"version": "5.14.1-lab", "instance_id": "instance-" + self.uuid, "uuid": self.uuid,
                              "build_platform": "debian"}],
            "uptime": [{"total_seconds": "1234", "days": "0", "hours": "0", "minutes": "20", "seconds": "34"}],
            "interface_addresses": [{"address": "127.0.0.1", "mask": "255.0.0.0", "interface": "lo", "mac": ""},
                                    {"address": self.address, "mask": "255.255.255.0", "interface": "eth0",
                                     "mac": "02:42:ac:1e:5a:32"}],
        }

    def enroll(self):
        """POST enroll; returns the Response (the node key is kept on success)."""
        tables = self.tables()
        response = self.emulator.osquery("enroll", {
            "enroll_secret": self.secret or self.emulator.enroll_secret, "host_identifier": self.identifier,
            "platform_type": "9", "host_details": {"os_version": tables["os_version"][0],
                                                   "system_info": tables["system_info"][0],
                                                   "osquery_info": tables["osquery_info"][0]}})
        if response.status == 200:
            self.node_key = response.json()["node_key"]
            self.enrollments += 1
        return response

    def answer(self, sql):
        """(rows, error) for one query."""
        for key, rows in self.answers.items():
            if key in sql:
                return (None, rows) if isinstance(rows, str) else (rows, None)
        lowered = " ".join(sql.lower().replace(";", " ").split())
        for table, rows in self.tables().items():
            if " from %s" % table in lowered:
                return rows, None
        if lowered.startswith("select") and " from " not in lowered:
            return [{"1": "1"}], None
        return None, "no such table: %s" % lowered.split(" from ", 1)[-1].split(" ")[0]

    def checkin(self):
        """Config, distributed read, answers written back, one status log; re-enrolls on node_invalid."""
        if self.node_key is None and self.enroll().status != 200:
            return False
        response = self.emulator.osquery("config", {"node_key": self.node_key})
        if response.status == 401 and response.json().get("node_invalid"):
            self.node_key = None
            return self.checkin() if self.enroll().status == 200 else False
        queries = self.emulator.osquery("distributed/read", {"node_key": self.node_key}).json().get("queries", {})
        results, statuses, messages = {}, {}, {}
        for name, sql in queries.items():
            rows, error = self.answer(sql)
            results[name] = rows if rows else ""
            statuses[name] = 0 if error is None else 1
            if error is not None:
                messages[name] = error
            self.answered.append(name)
        if queries:
            self.emulator.osquery("distributed/write", {"node_key": self.node_key, "queries": results,
                                                        "statuses": statuses, "messages": messages})
        self.emulator.osquery("log", {"node_key": self.node_key, "log_type": "status",
                                      "data": [{"severity": "0", "message": "fake check-in"}]})
        return True

    def start(self, interval=0.2):
        """Check in every ``interval`` seconds from a background thread."""
        import threading  # pylint: disable=import-outside-toplevel
        self._stop = threading.Event()

        def loop():
            while not self._stop.is_set():
                try:
                    self.checkin()
                except (OSError, ValueError, EmulatorError):
                    pass
                self._stop.wait(interval)
        self._thread = threading.Thread(target=loop, name="fake-osquery-%s" % self.hostname, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Stop the background check-ins."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join(10)
            self._thread = None
