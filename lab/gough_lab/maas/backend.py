"""The seam between MAAS's node lifecycle and whatever plays the part of the hardware.

The Region (API logic) decides *what* happens to a machine; a NodeBackend decides *how long* it takes and
*whether it works*. The default SimulatedBackend answers from timers and seeded failure rates. A backend that
boots real containers can implement the same interface: return ``Plan(duration=None)`` from ``begin`` and call
``region.complete_action(system_id, action, ok, message)`` when the node reports back.
"""

import random
import threading


class Plan:
    """How a started action will end: after ``duration`` seconds (None: the backend reports), ok or not."""

    __slots__ = ("duration", "ok", "message")

    def __init__(self, duration, ok=True, message=""):
        """Describe the outcome of an action the backend has started."""
        self.duration = duration
        self.ok = ok
        self.message = message


class NodeBackend:
    """Interface every backend implements. Methods are called with the Region lock held; keep them quick."""

    def attach(self, region):
        """Remember the region, to report completions of actions planned with ``duration=None``."""
        self.region = region  # pylint: disable=attribute-defined-outside-init

    def begin(self, machine, action, options):
        """Start ``action`` (commission, deploy, release, erase, test) on ``machine`` and return a Plan."""
        raise NotImplementedError

    def cancel(self, machine, action):
        """Stop an action that was aborted."""

    def power(self, machine, state):
        """Switch the machine ``on`` or ``off``; return the new power state."""
        raise NotImplementedError

    def query_power_state(self, machine):
        """Return the machine's power state as its BMC reports it."""
        raise NotImplementedError

    def bmc_reachable(self, machine):
        """Whether a rack controller can reach the machine's BMC for a power action (MAAS answers 503 if not)."""
        return True


COMMISSION_FAILURES = (
    "Commissioning script '50-maas-01-commissioning' failed with exit status 1",
    "Node failed to boot the ephemeral environment: PXE boot timed out",
    "Testing script 'smartctl-validate' failed on /dev/sda",
)
DEPLOY_FAILURES = (
    "Node installation failure - 'curtin' 'install' failed: command 'partitioning' returned exit status 3",
    "Node installation failure - 'cloudinit' 'modules-final' failed: running 'scripts_user'",
    "Node failed to power on: no response from BMC",
)


class SimulatedBackend(NodeBackend):
    """Timers and seeded dice: durations come from the run's config, failures from its rates."""

    def __init__(self, config, seed):
        """Use ``config`` (a LabConfig) for durations and failure rates, ``seed`` for the dice."""
        self.config = config
        self.rng = random.Random("backend:%s" % seed)
        self.lock = threading.Lock()

    def _roll(self, rate):
        with self.lock:
            return self.rng.random() < rate

    def _pick(self, choices):
        with self.lock:
            return self.rng.choice(choices)

    def begin(self, machine, action, options):
        """Plan the action using the configured durations and failure rates."""
        cfg = self.config
        if action == "commission":
            if self._roll(cfg.get("fail_commission")):
                return Plan(cfg.get("commission_seconds"), False, self._pick(COMMISSION_FAILURES))
            return Plan(cfg.get("commission_seconds"))
        if action == "deploy":
            if self._roll(cfg.get("fail_deploy")):
                return Plan(cfg.get("deploy_seconds"), False, self._pick(DEPLOY_FAILURES))
            return Plan(cfg.get("deploy_seconds"))
        if action == "release":
            return Plan(cfg.get("release_seconds"))
        if action == "erase":
            return Plan(cfg.get("erase_seconds"))
        if action == "test":
            return Plan(cfg.get("commission_seconds"))
        raise ValueError("unknown action %r" % action)

    def power(self, machine, state):
        """Simulated BMCs always obey."""
        return state

    def bmc_reachable(self, machine):
        """A seeded share (``fail_power``) of power actions find no rack controller that reaches the BMC."""
        rate = self.config.get("fail_power")
        # No draw at rate 0, so the dice of a seeded run without power failures stay as they were.
        return not (rate > 0 and self._roll(rate))

    def query_power_state(self, machine):
        """Simulated BMCs report what was last set."""
        return machine.get("power_state") or "unknown"
