"""Start the lab's MAAS emulator from tests: ``start_maas_emulator(state_dir)`` returns a running MAASEmulator.

The emulator runs as a subprocess (``python -m gough_lab.cli maas serve --listen 127.0.0.1:0``), so tests can
stop it, ``kill -9`` it and restart it on the same state directory.
"""

import os
import ssl

from gough_lab.common.testing import LAB_ROOT, ConfigurableEmulator, EmulatorError

__all__ = ["LAB_ROOT", "EmulatorError", "MAASEmulator", "start_maas_emulator"]


class MAASEmulator(ConfigurableEmulator):
    """A running MAAS emulator subprocess and the files it wrote to its state directory."""

    SERVICE = "maas"
    LAB_ERRORS_AS_EMULATOR_ERROR = False

    def __init__(self, state_dir, args, env, timeout):
        """Start the emulator with ``args`` (extra CLI arguments) and wait for its url file."""
        self.api_key = None
        self.user_api_key = None
        super().__init__(state_dir, args, env, timeout)

    @property
    def api_url(self):
        """The 2.0 API root, ``<url>/api/2.0/``."""
        return self.url + "/api/2.0/"

    def _started(self):
        super()._started()
        self.api_key = self._read("api_key")
        self.user_api_key = self._read("api_key.user")

    def _tail_log(self):
        return self.tail_log()

    def _lab_base(self):
        return self.url[:-len("/MAAS")]

    def _ssl_context(self):
        if self.url.startswith("https"):
            return ssl._create_unverified_context()  # pylint: disable=protected-access
        return None


def start_maas_emulator(state_dir, *, machines=0, seed=1, extra_args=(), env=None, timeout=30):
    """Start ``gough-lab maas serve`` on a free 127.0.0.1 port with ``state_dir`` and return a MAASEmulator."""
    os.makedirs(str(state_dir), exist_ok=True)
    args = ["--seed", str(seed)]
    if machines:
        args += ["--machines", str(machines)]
    args += list(extra_args)
    return MAASEmulator(state_dir, args, env, timeout)
