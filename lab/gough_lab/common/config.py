"""Base of the emulators' per-run settings (timings, fault rates), changeable at runtime via /_lab/config."""

import json
import threading


# The fault-injection settings every emulator with faults has (rates per request, and how slow "slow" is).
FAULT_DEFAULTS = {
    "fault_503": 0.0,
    "fault_502": 0.0,
    "fault_429": 0.0,
    "fault_reset": 0.0,
    "fault_slow": 0.0,
    "slow_seconds": 2.0,
}
FAULT_RATES = ("fault_503", "fault_502", "fault_429", "fault_reset", "fault_slow")


class ConfigError(ValueError):
    """A setting name or value that the emulator does not accept."""


class BaseLabConfig:
    """Thread-safe holder of the run's settings; subclasses set SETTINGS (defaults), RATE_SETTINGS, INTEGER_SETTINGS."""

    SETTINGS = {}
    RATE_SETTINGS = ()
    INTEGER_SETTINGS = ()

    def __init__(self, **values):
        """Start from the defaults, overridden by ``values``."""
        self._lock = threading.Lock()
        self._values = dict(self.SETTINGS)
        self.update(values)

    def get(self, name):
        """Return one setting."""
        with self._lock:
            return self._values[name]

    def snapshot(self):
        """Return a copy of every setting."""
        with self._lock:
            return dict(self._values)

    def coerce(self, name, value):
        """The stored form of a checked number: int for INTEGER_SETTINGS, float otherwise."""
        return int(value) if name in self.INTEGER_SETTINGS else float(value)

    def update(self, changes):
        """Validate and apply a partial change; raise ConfigError naming the bad setting."""
        clean = {}
        for name, value in changes.items():
            if name not in self.SETTINGS:
                raise ConfigError("unknown setting %r; known: %s" % (name, ", ".join(sorted(self.SETTINGS))))
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError("%s must be a number" % name)
            if value < 0:
                raise ConfigError("%s must not be negative" % name)
            if name in self.RATE_SETTINGS and value > 1:
                raise ConfigError("%s is a rate between 0 and 1" % name)
            clean[name] = self.coerce(name, value)
        with self._lock:
            self._values.update(clean)
        return self.snapshot()

    def update_json(self, body):
        """Apply a PUT /_lab/config body (a JSON object, empty = no change); ValueError/ConfigError when bad."""
        changes = json.loads(body or b"{}")
        if not isinstance(changes, dict):
            raise ConfigError("the body must be a JSON object")
        return self.update(changes)
