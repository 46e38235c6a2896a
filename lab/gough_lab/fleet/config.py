"""Per-run settings of the Fleet emulator: intervals and fault rates, changeable at runtime via /_lab/config."""

from gough_lab.common.config import FAULT_DEFAULTS, FAULT_RATES, BaseLabConfig, ConfigError

__all__ = ["DEFAULTS", "RATES", "INTEGERS", "ConfigError", "LabConfig"]

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
    # The failing policies webhook automation runs every webhook_settings.interval of the app config (Fleet's
    # default 24h); a positive webhook_interval_seconds runs it that often instead (lab knob, for tests and demos).
    # Each POST waits at most webhook_timeout_seconds (Fleet's PostJSONWithTimeout: 30 s).
    "webhook_interval_seconds": 0.0,
    "webhook_timeout_seconds": 30.0,
    **FAULT_DEFAULTS,
    "retry_after_seconds": 1,
}
RATES = FAULT_RATES
INTEGERS = ("distributed_interval", "config_refresh", "logger_tls_period", "retry_after_seconds")


class LabConfig(BaseLabConfig):
    """Thread-safe holder of the run's settings; INTEGERS must be whole numbers."""

    SETTINGS = DEFAULTS
    RATE_SETTINGS = RATES
    INTEGER_SETTINGS = INTEGERS

    def coerce(self, name, value):
        """Whole numbers for INTEGER_SETTINGS (a fraction is an error), floats otherwise."""
        if name in self.INTEGER_SETTINGS and int(value) != value:
            raise ConfigError("%s must be a whole number" % name)
        return super().coerce(name, value)
