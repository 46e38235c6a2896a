"""Start the lab's MAAS emulator from tests: ``start_maas_emulator(state_dir)`` returns a running MAASEmulator.

The emulator runs as a subprocess (``python -m gough_lab.cli maas serve --listen 127.0.0.1:0``), so tests can
stop it, ``kill -9`` it and restart it on the same state directory.
"""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

LAB_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class EmulatorError(RuntimeError):
    """The emulator did not start, or a lab endpoint failed."""


class MAASEmulator:
    """A running MAAS emulator subprocess and the files it wrote to its state directory."""

    def __init__(self, state_dir, args, env, timeout):
        """Start the emulator with ``args`` (extra CLI arguments) and wait for its url file."""
        self.state_dir = str(state_dir)
        self._args = list(args)
        self._env = env
        self._timeout = timeout
        self.process = None
        self.url = None
        self.api_key = None
        self.user_api_key = None
        self._start()

    @property
    def api_url(self):
        """The 2.0 API root, ``<url>/api/2.0/``."""
        return self.url + "/api/2.0/"

    def _start(self):
        url_file = os.path.join(self.state_dir, "url")
        if os.path.exists(url_file):
            os.unlink(url_file)
        env = dict(os.environ if self._env is None else self._env)
        env["PYTHONPATH"] = LAB_ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
        log_fd = os.open(os.path.join(self.state_dir, "emulator.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._log = os.fdopen(log_fd, "ab")
        command = [sys.executable, "-m", "gough_lab.cli", "maas", "serve", "--listen", "127.0.0.1:0",
                   "--state", self.state_dir] + self._args
        self.process = subprocess.Popen(command, env=env, stdout=self._log, stderr=self._log)  # pylint: disable=consider-using-with
        deadline = time.monotonic() + self._timeout
        while not os.path.exists(url_file):
            if self.process.poll() is not None:
                raise EmulatorError("emulator exited with %s; log: %s" % (self.process.returncode, self._tail_log()))
            if time.monotonic() > deadline:
                self.kill()
                raise EmulatorError("emulator did not write %s within %ss; log: %s"
                                    % (url_file, self._timeout, self._tail_log()))
            time.sleep(0.02)
        with open(url_file, encoding="utf-8") as handle:
            self.url = handle.read().strip()
        with open(os.path.join(self.state_dir, "api_key"), encoding="utf-8") as handle:
            self.api_key = handle.read().strip()
        with open(os.path.join(self.state_dir, "api_key.user"), encoding="utf-8") as handle:
            self.user_api_key = handle.read().strip()

    def _tail_log(self):
        try:
            with open(os.path.join(self.state_dir, "emulator.log"), "rb") as handle:
                return handle.read()[-3000:].decode("utf-8", "replace")
        except OSError:
            return "(no log)"

    def _lab(self, method, path, body=None):
        base = self.url[:-len("/MAAS")]
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"} if data else {})
        context = None
        if base.startswith("https"):
            import ssl  # pylint: disable=import-outside-toplevel
            context = ssl._create_unverified_context()  # pylint: disable=protected-access
        with urllib.request.urlopen(request, timeout=30, context=context) as response:
            payload = response.read()
        return json.loads(payload) if payload else None

    def stats(self):
        """The emulator's request counters (GET /_lab/stats)."""
        return self._lab("GET", "/_lab/stats")

    def reset_stats(self):
        """Zero the counters (DELETE /_lab/stats)."""
        self._lab("DELETE", "/_lab/stats")

    def configure(self, **changes):
        """Change timings or fault rates at runtime (PUT /_lab/config); returns the whole config."""
        return self._lab("PUT", "/_lab/config", changes)

    def config(self):
        """The current timings and fault rates (GET /_lab/config)."""
        return self._lab("GET", "/_lab/config")

    def stop(self):
        """SIGTERM the emulator and wait for it to exit."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def kill(self):
        """SIGKILL the emulator (simulates a crash) and reap it."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._log.close()

    def restart(self):
        """Start the emulator again on the same state directory (stopping it first if it runs)."""
        self.stop()
        self._start()
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()


def start_maas_emulator(state_dir, *, machines=0, seed=1, extra_args=(), env=None, timeout=30):
    """Start ``gough-lab maas serve`` on a free 127.0.0.1 port with ``state_dir`` and return a MAASEmulator."""
    os.makedirs(str(state_dir), exist_ok=True)
    args = ["--seed", str(seed)]
    if machines:
        args += ["--machines", str(machines)]
    args += list(extra_args)
    return MAASEmulator(state_dir, args, env, timeout)
