"""DockerBackend: machines deploy into real lab nodes (``gough-lab maas serve --node-backend docker``).

Deploy boots a systemd container (gough_lab.nodes) seeded with the machine's user_data; the machine turns
Deployed when cloud-init finishes and Failed deployment (with the failing module in the message) when it fails,
stops or times out. A node takes the next free address of the dynamic range MAAS has on the node network's subnet,
as a PXE-booting machine gets one from MAAS's DHCP (Docker picks one when MAAS has no such range); that address
replaces the simulated one in ``ip_addresses`` and the interface links as soon as it is known. Release removes the
container (erase also its per-node directory); power on and off start and stop it. Commissioning and testing stay simulated (timers), as in SimulatedBackend.

Backend methods run with the Region lock held, so every docker call happens on a per-node worker thread that
runs that node's operations in order; results come back through ``region.complete_action``.
"""

import base64
import logging
import queue
import threading

from gough_lab import nodes
from . import network
from .backend import Plan, SimulatedBackend

LOG = logging.getLogger("gough_lab.maas.nodes")
# Boot attempts when the leased address is taken meanwhile by a container of another lab on the shared network.
LEASE_ATTEMPTS = 5


class _NodeWorker:
    """One thread per node running its docker operations in submission order."""

    def __init__(self, name):
        self.queue = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="node-%s" % name, daemon=True)
        self.thread.start()

    def submit(self, func, *args):
        self.queue.put((func, args))

    def _run(self):
        while True:
            func, args = self.queue.get()
            try:
                func(*args)
            except Exception:  # pylint: disable=broad-exception-caught
                # A failed docker call must not kill the node's worker; the operation reports its own outcome.
                LOG.exception("node operation %s failed", getattr(func, "__name__", func))


class DockerBackend(SimulatedBackend):
    """Deploy, release, erase and power act on lab node containers; other actions are simulated."""

    def __init__(self, config, seed, *, state_dir, driver=None, boot_timeout=600.0, poll_interval=0.5):
        """``driver`` is a gough_lab.nodes.NodeDriver (default: one keeping per-node files in ``state_dir``)."""
        super().__init__(config, seed)
        self.driver = driver or nodes.NodeDriver(state_dir=state_dir)
        self.boot_timeout = boot_timeout
        self.poll_interval = poll_interval
        self._workers = {}
        self._generation = {}
        self._leases = {}  # system_id -> the address its node was booted on (or is booting on)
        self._guard = threading.Lock()

    def check(self):
        """Fail early (DockerError) when the engine or the node image is missing; create the lab network."""
        self.driver.check_engine()
        self.driver.ensure_network()

    def attach(self, region):
        """Remember the region and pick up node actions a previous emulator process left in flight."""
        super().attach(region)
        for m in list(region.by_system_id.values()):
            pending = m.get("pending") or {}
            if pending.get("deadline") is None and pending.get("action") in ("deploy", "release", "erase"):
                LOG.info("resuming %s of %s", pending["action"], m["system_id"])
                if pending["action"] == "deploy":
                    self._start_deploy(m, resume=True)
                else:
                    self._start_release(m, pending["action"] == "erase")

    # -- plumbing ---------------------------------------------------------------------------------------------
    def _worker(self, system_id):
        with self._guard:
            worker = self._workers.get(system_id)
            if worker is None:
                worker = self._workers[system_id] = _NodeWorker(system_id)
            return worker

    def _bump(self, system_id):
        """Start a new generation of operations on a node: watchers of older ones stop reporting."""
        with self._guard:
            self._generation[system_id] = self._generation.get(system_id, 0) + 1
            return self._generation[system_id]

    def _current(self, system_id, generation):
        with self._guard:
            return self._generation.get(system_id) == generation

    def _complete(self, system_id, action, generation, ok, message=""):
        if self._current(system_id, generation):
            self.region.complete_action(system_id, action, ok, message)

    # -- actions ----------------------------------------------------------------------------------------------
    def begin(self, machine, action, options):
        """Deploy/release/erase act on containers and report back later; the rest use SimulatedBackend's timers."""
        if action == "deploy":
            self._start_deploy(machine, user_data=options.get("user_data"))
            return Plan(None)
        if action in ("release", "erase"):
            self._start_release(machine, action == "erase")
            return Plan(None)
        return super().begin(machine, action, options)

    def _start_deploy(self, machine, user_data=None, resume=False):
        if user_data is None and machine.get("user_data"):
            user_data = base64.b64decode(machine["user_data"])
        system_id = machine["system_id"]
        generation = self._bump(system_id)
        self._worker(system_id).submit(self._deploy, system_id, machine["hostname"], user_data, generation, resume)

    def _deploy(self, system_id, hostname, user_data, generation, resume):
        if not self._current(system_id, generation):
            return
        try:
            if not (resume and self.driver.is_running(system_id)):
                self._boot(system_id, hostname, user_data)
            address = self.driver.address(system_id)
        except nodes.DockerError as exc:
            self._complete(system_id, "deploy", generation, False,
                           "Node failed to power on: %s" % str(exc)[:300])
            return
        self._set_address(system_id, generation, address)
        # Watch cloud-init on a thread of its own so that power and release requests are not queued behind it.
        threading.Thread(target=self._watch, args=(system_id, generation), name="watch-%s" % system_id,
                         daemon=True).start()

    def _lease(self, system_id, taken=()):
        """The next free address of the dynamic range MAAS has on the node network's subnet (what the node would get
        from MAAS's DHCP as it PXE-boots), or None when MAAS has none there (Docker then picks). Free: held by no
        other machine of this region and by no container on the network (other labs share it), nor in ``taken``."""
        with self.region.lock:
            held = {link.get("ip") for m in self.region.by_system_id.values() if m["system_id"] != system_id
                    for nic in m["interfaces"] for link in nic["links"]}
            candidates = network.dynamic_addresses(self.region, self.driver.subnet) if self.driver.subnet else ()
            candidates = list(candidates)
        with self._guard:
            # Nodes of this region booting at the same moment are not on the network yet.
            booting = {a for sid, a in self._leases.items() if sid != system_id}
            used = held | booting | self.driver.used_addresses() | set(taken)
            address = next((address for address in candidates if address not in used), None)
            self._leases[system_id] = address
        return address

    def _boot(self, system_id, hostname, user_data):
        """Boot the node on a leased address; another lab on the network may take the same one at the same moment,
        so a clash is retried with the next free address (a few times)."""
        taken = []
        for _attempt in range(LEASE_ATTEMPTS):
            address = self._lease(system_id, taken)
            try:
                return self.driver.boot(system_id, hostname, user_data, address=address)
            except nodes.DockerError as exc:
                if address is None or "already in use" not in str(exc).lower():
                    raise
                taken.append(address)
        raise nodes.DockerError("no free address in the dynamic range after %d attempts: %s"
                                % (LEASE_ATTEMPTS, ", ".join(taken)))

    def _set_address(self, system_id, generation, address):
        """Report the container's address where MAAS shows it: the machine's auto-assigned links."""
        with self.region.lock:
            m = self.region.by_system_id.get(system_id)
            if m is None or not self._current(system_id, generation):
                return
            for nic in m["interfaces"]:
                for link in nic["links"]:
                    if link.get("mode") == "auto" and link.get("subnet_id") is not None:
                        link["ip"] = address
            self.region.save_machine(m)

    def _watch(self, system_id, generation):
        result = self.driver.wait_cloud_init(system_id, timeout=self.boot_timeout, interval=self.poll_interval,
                                             cancelled=lambda: not self._current(system_id, generation))
        if result.status == "cancelled":
            return
        LOG.info("node %s: cloud-init %s after %.1f s %s", system_id, result.status, result.elapsed,
                 result.module or "")
        self._complete(system_id, "deploy", generation, result.ok, result.message())

    def _start_release(self, machine, erase):
        system_id = machine["system_id"]
        generation = self._bump(system_id)
        self._worker(system_id).submit(self._release, system_id, erase, generation)

    def _release(self, system_id, erase, generation):
        self.driver.remove(system_id, erase=erase)
        with self._guard:
            self._leases.pop(system_id, None)
        self._complete(system_id, "erase" if erase else "release", generation, True)

    def cancel(self, machine, action):
        """An aborted deploy (or a machine marked broken) stops being watched; power off follows from the API."""
        if action in ("deploy", "release", "erase"):
            self._bump(machine["system_id"])

    # -- power ------------------------------------------------------------------------------------------------
    def power(self, machine, state):
        """Stop or start the node's container, when it has one (before the first deploy there is none)."""
        system_id = machine["system_id"]
        if state == "off":
            self._worker(system_id).submit(self._power_off, system_id)
        elif state == "on":
            self._worker(system_id).submit(self._power_on, system_id)
        return state

    def _power_off(self, system_id):
        if self.driver.exists(system_id):
            self.driver.power_off(system_id)

    def _power_on(self, system_id):
        if self.driver.exists(system_id) and not self.driver.is_running(system_id):
            self.driver.power_on(system_id)

    def query_power_state(self, machine):
        """The container's state: on when it runs, off when stopped; without a container, what was last set."""
        info = self.driver.inspect(machine["system_id"])
        if info is None:
            return machine.get("power_state") or "off"
        return "on" if info["State"]["Running"] else "off"
