"""Start the lab's AWX emulator from tests: ``start_awx_emulator(state_dir)`` returns a running AWXEmulator.

The emulator runs as a subprocess (``python -m gough_lab.cli awx serve --listen 127.0.0.1:0``); its state
directory keeps the objects, so ``restart()`` serves the same AWX again.
"""

import json

from gough_lab.common.testing import LAB_ROOT, EmulatorError, SubprocessEmulator

__all__ = ["LAB_ROOT", "EmulatorError", "AWXEmulator", "start_awx_emulator"]


class AWXEmulator(SubprocessEmulator):
    """A running AWX emulator: .url (no /api/), .token, .username, .password, .stats(), .stop()."""

    SERVICE = "awx"
    LAB_ERRORS_AS_EMULATOR_ERROR = False

    def __init__(self, state_dir, env=None, timeout=30):
        """Start ``gough-lab awx serve`` on a free port and wait for its url file."""
        self.token = self.username = self.password = None
        super().__init__(state_dir, (), env, timeout)

    def _started(self):
        super()._started()
        self.token = self._read("token")
        admin = json.loads(self._read("admin.json"))
        self.username, self.password = admin["username"], admin["password"]

    def _tail(self):
        return self.tail_log()


def start_awx_emulator(state_dir, *, env=None, timeout=30):
    """Start ``gough-lab awx serve`` on a free 127.0.0.1 port with ``state_dir`` and return an AWXEmulator."""
    return AWXEmulator(state_dir, env=env, timeout=timeout)
