"""Per-run settings of the Fleet emulator: intervals and fault rates, changeable at runtime via /_lab/config."""

import threading

DEFAULTS = {
    # Host status: a host is "online" while its last osquery check-in is at most
    # distributed_interval + online_buffer_seconds old (Fleet adds a 60 s buffer to the check-in interval).
    "distributed_interval": 10,
    "online_buffer_seconds": 60.0,
    # How often a host is sent the detail queries (os_version, system_info, uptime, ...) and each policy and
    # label query again; a refetch (POST /hosts/:id/refetch) sends the detail queries at the next check-in.
    "detail_interval": 3600.0,
    "policy_interval": 3600.0,
    "label_interval": 3600.0,
    # Options sent in the osquery config (intervals the agent should use).
    "config_refresh": 10,
    "logger_tls_period": 10,
    # How long POST /queries/:id/run and POST /hosts/:id/query wait for the targeted hosts' answers.
    "live_query_seconds": 25.0,
    "fault_503": 0.0,
    "fault_502": 0.0,
    "fault_429": 0.0,
    "fault_reset": 0.0,
    "fault_slow": 0.0,
    "slow_seconds": 2.0,
    "retry_after_seconds": 1,
}
RATES = ("fault_503", "fault_502", "fault_429", "fault_reset", "fault_slow")
INTEGERS = ("distributed_interval", "config_refresh", "logger_tls_period", "retry_after_seconds")


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
            if name in INTEGERS:
                if int(value) != value:
                    raise ConfigError("%s must be a whole number" % name)
                clean[name] = int(value)
            else:
                clean[name] = float(value)
        with self._lock:
            self._values.update(clean)
        return self.snapshot()
