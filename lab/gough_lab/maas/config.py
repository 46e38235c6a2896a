"""Per-run settings of the MAAS emulator: timings and fault rates, changeable at runtime via /_lab/config."""

from gough_lab.common.config import FAULT_DEFAULTS, FAULT_RATES, BaseLabConfig, ConfigError

__all__ = ["DEFAULTS", "RATES", "ConfigError", "LabConfig"]

DEFAULTS = {
    "commission_seconds": 5.0,
    "deploy_seconds": 10.0,
    "release_seconds": 3.0,
    "erase_seconds": 8.0,
    "import_seconds": 3.0,
    **FAULT_DEFAULTS,
    "fail_commission": 0.0,
    "fail_deploy": 0.0,
    "fail_power": 0.0,
    "retry_after_seconds": 1,
}
RATES = FAULT_RATES + ("fail_commission", "fail_deploy", "fail_power")


class LabConfig(BaseLabConfig):
    """Thread-safe holder of the run's settings."""

    SETTINGS = DEFAULTS
    RATE_SETTINGS = RATES
    INTEGER_SETTINGS = ("retry_after_seconds",)
