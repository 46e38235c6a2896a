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
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from urllib.parse import urlencode, urlsplit

LAB_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class EmulatorError(RuntimeError):
    """The emulator did not start, or a lab endpoint failed."""


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


class FleetEmulator:  # pylint: disable=too-many-instance-attributes
    """A running Fleet emulator subprocess and the files it wrote to its state directory."""

    def __init__(self, state_dir, args, env, timeout, listen):
        """Start the emulator with ``args`` (extra CLI arguments) and wait for its url file."""
        self.state_dir = str(state_dir)
        self._args = list(args)
        self._env = env
        self._timeout = timeout
        self._listen = listen
        self._log = None
        self.process = None
        self.url = self.api_token = self.enroll_secret = self.admin = None
        self.ca_cert = os.path.join(self.state_dir, "ca.crt")
        self._start()

    @property
    def port(self):
        """The port the emulator listens on."""
        return int(self.url.rsplit(":", 1)[1])

    def _read(self, name):
        with open(os.path.join(self.state_dir, name), encoding="utf-8") as handle:
            return handle.read().strip()

    def _start(self):
        url_file = os.path.join(self.state_dir, "url")
        if os.path.exists(url_file):
            os.unlink(url_file)
        env = dict(os.environ if self._env is None else self._env)
        env["PYTHONPATH"] = LAB_ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
        log_fd = os.open(os.path.join(self.state_dir, "emulator.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._log = os.fdopen(log_fd, "ab")
        command = [sys.executable, "-m", "gough_lab.cli", "fleet", "serve", "--listen", self._listen,
                   "--state", self.state_dir] + self._args
        self.process = subprocess.Popen(command, env=env, stdout=self._log, stderr=self._log)  # pylint: disable=consider-using-with
        deadline = time.monotonic() + self._timeout
        while not os.path.exists(url_file):
            if self.process.poll() is not None:
                raise EmulatorError("emulator exited with %s; log: %s" % (self.process.returncode, self.tail_log()))
            if time.monotonic() > deadline:
                self.kill()
                raise EmulatorError("emulator did not write %s within %ss; log: %s"
                                    % (url_file, self._timeout, self.tail_log()))
            time.sleep(0.02)
        self.url = self._read("url")
        self.api_token = self._read("api_token")
        self.enroll_secret = self._read("enroll_secret")
        self.admin = json.loads(self._read("admin.json"))
        if self._listen.endswith(":0"):
            # Restarts keep the port, so URLs the test handed out stay valid.
            self._listen = self._listen[:-1] + str(self.port)

    def tail_log(self):
        """The end of the emulator's log."""
        try:
            with open(os.path.join(self.state_dir, "emulator.log"), "rb") as handle:
                return handle.read()[-3000:].decode("utf-8", "replace")
        except OSError:
            return "(no log)"

    def ssl_context(self):
        """An SSLContext that verifies the emulator against its CA."""
        return ssl.create_default_context(cafile=self.ca_cert)

    def _lab(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"} if data else {})
        try:
            with urllib.request.urlopen(request, timeout=30, context=self.ssl_context()) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            raise EmulatorError("%s %s: %s %s" % (method, path, exc.code, exc.read()[:300])) from exc
        return json.loads(payload) if payload else None

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

    def stats(self):
        """The emulator's request counters (GET /_lab/stats): writes, by_route, osquery, faults..."""
        return self._lab("GET", "/_lab/stats")

    def reset_stats(self):
        """Zero the counters (DELETE /_lab/stats)."""
        self._lab("DELETE", "/_lab/stats")

    def configure(self, **changes):
        """Change intervals or fault rates at runtime (PUT /_lab/config); returns the whole config."""
        return self._lab("PUT", "/_lab/config", changes)

    def config(self):
        """The current intervals and fault rates (GET /_lab/config)."""
        return self._lab("GET", "/_lab/config")

    def logs(self):
        """The osquery status/result log lines each host sent (GET /_lab/logs)."""
        return self._lab("GET", "/_lab/logs")

    def stop(self):
        """SIGTERM the emulator and wait for it to exit."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log:
            self._log.close()

    def kill(self):
        """SIGKILL the emulator (simulates a crash) and reap it."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self._log:
            self._log.close()

    def restart(self):
        """Start the emulator again on the same state directory and port (stopping it first if it runs)."""
        self.stop()
        self._start()
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()


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
