"""Start the lab's Fleet emulator from tests: ``start_fleet_emulator(state_dir)`` returns a running FleetEmulator.

The emulator runs as a subprocess (``python -m gough_lab.cli fleet serve --listen 127.0.0.1:0``), so tests can
stop it, ``kill -9`` it and restart it on the same state directory. Its certificate is signed by the lab CA in
``<state_dir>/ca.crt`` (``.ca_cert``); every helper here verifies TLS against it.
"""

import gzip
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
