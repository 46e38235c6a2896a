"""Per-run settings of the MAAS emulator: timings and fault rates, changeable at runtime via /_lab/config."""

import threading

DEFAULTS = {
    "commission_seconds": 5.0,
    "deploy_seconds": 10.0,
    "release_seconds": 3.0,
    "erase_seconds": 8.0,
    "fault_503": 0.0,
    "fault_502": 0.0,
    "fault_429": 0.0,
    "fault_reset": 0.0,
    "fault_slow": 0.0,
    "slow_seconds": 2.0,
    "fail_commission": 0.0,
    "fail_deploy": 0.0,
    "retry_after_seconds": 1,
}
RATES = ("fault_503", "fault_502", "fault_429", "fault_reset", "fault_slow", "fail_commission", "fail_deploy")


class ConfigError(ValueError):
    """A setting name or value that the emulator does not accept."""


class LabConfig:
    """Thread-safe holder of the run's settings."""

    def __init__(self, **values):
        """Start from the defaults, overridden by ``values``."""
        self._lock = threading.Lock()
        self._values = dict(DEFAULTS)
        self.update(values)

    def get(self, name):
        """Return one setting."""
        with self._lock:
            return self._values[name]

    def snapshot(self):
        """Return a copy of every setting."""
        with self._lock:
            return dict(self._values)

    def update(self, changes):
        """Validate and apply a partial change; raise ConfigError naming the bad setting."""
        clean = {}
        for name, value in changes.items():
            if name not in DEFAULTS:
                raise ConfigError("unknown setting %r; known: %s" % (name, ", ".join(sorted(DEFAULTS))))
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError("%s must be a number" % name)
            if value < 0:
                raise ConfigError("%s must not be negative" % name)
            if name in RATES and value > 1:
                raise ConfigError("%s is a rate between 0 and 1" % name)
            clean[name] = int(value) if name == "retry_after_seconds" else float(value)
        with self._lock:
            self._values.update(clean)
        return self.snapshot()
