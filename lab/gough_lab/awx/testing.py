"""Start the lab's AWX emulator from tests: ``start_awx_emulator(state_dir)`` returns a running AWXEmulator.

The emulator runs as a subprocess (``python -m gough_lab.cli awx serve --listen 127.0.0.1:0``); its state
directory keeps the objects, so ``restart()`` serves the same AWX again.
"""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

LAB_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class EmulatorError(RuntimeError):
    """The emulator did not start."""


class AWXEmulator:
    """A running AWX emulator: .url (no /api/), .token, .username, .password, .stats(), .stop()."""

    def __init__(self, state_dir, env=None, timeout=30):
        """Start ``gough-lab awx serve`` on a free port and wait for its url file."""
        self.state_dir = str(state_dir)
        self._env = env
        self._timeout = timeout
        self.process = None
        self.url = self.token = self.username = self.password = None
        self._log = None
        self._start()

    def _start(self):
        url_file = os.path.join(self.state_dir, "url")
        if os.path.exists(url_file):
            os.unlink(url_file)
        env = dict(os.environ if self._env is None else self._env)
        env["PYTHONPATH"] = LAB_ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
        log_fd = os.open(os.path.join(self.state_dir, "emulator.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._log = os.fdopen(log_fd, "ab")
        command = [sys.executable, "-m", "gough_lab.cli", "awx", "serve", "--listen", "127.0.0.1:0",
                   "--state", self.state_dir]
        self.process = subprocess.Popen(command, env=env, stdout=self._log, stderr=self._log)  # pylint: disable=consider-using-with
        deadline = time.monotonic() + self._timeout
        while not os.path.exists(url_file):
            if self.process.poll() is not None:
                raise EmulatorError("emulator exited with %s; log: %s" % (self.process.returncode, self._tail()))
            if time.monotonic() > deadline:
                self.stop()
                raise EmulatorError("emulator did not start within %ss; log: %s" % (self._timeout, self._tail()))
            time.sleep(0.02)
        with open(url_file, encoding="utf-8") as handle:
            self.url = handle.read().strip()
        with open(os.path.join(self.state_dir, "token"), encoding="utf-8") as handle:
            self.token = handle.read().strip()
        with open(os.path.join(self.state_dir, "admin.json"), encoding="utf-8") as handle:
            admin = json.load(handle)
        self.username, self.password = admin["username"], admin["password"]

    def _tail(self):
        try:
            with open(os.path.join(self.state_dir, "emulator.log"), "rb") as handle:
                return handle.read()[-3000:].decode("utf-8", "replace")
        except OSError:
            return "(no log)"

    def _lab(self, method, path):
        request = urllib.request.Request(self.url + path, method=method)
        with urllib.request.urlopen(request, timeout=30) as response:
            payload = response.read()
        return json.loads(payload) if payload else None

    def stats(self):
        """Request and write counters (GET /_lab/stats)."""
        return self._lab("GET", "/_lab/stats")

    def reset_stats(self):
        """Zero the counters (DELETE /_lab/stats)."""
        self._lab("DELETE", "/_lab/stats")

    def stop(self):
        """SIGTERM the emulator and wait for it."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def restart(self):
        """Stop and start again on the same state directory."""
        self.stop()
        self._start()
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()


def start_awx_emulator(state_dir, *, env=None, timeout=30):
    """Start ``gough-lab awx serve`` on a free 127.0.0.1 port with ``state_dir`` and return an AWXEmulator."""
    return AWXEmulator(state_dir, env=env, timeout=timeout)
