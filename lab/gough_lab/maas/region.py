"""The emulated MAAS region: machines, their lifecycle, placement objects, users, keys and events.

All state changes happen under one lock and are written through to sqlite before the response is sent.
Timed actions (commission, deploy, release, erase, test) store an absolute deadline in the machine document; a
scheduler thread completes them when due, whether or not requests arrive, and after a restart anything overdue
completes at once.
"""

import heapq
import json
import logging
import random
import re
import secrets
import threading
import time

from . import boot, enums, hardware
from .errors import conflict, forbidden, form_errors, not_found
from .render import MachineRenderer, by_key, domain_json, pool_json, tag_json, zone_json

LOG = logging.getLogger("gough_lab.maas")

SYSTEM_ID_ALPHABET = "abcdefghkmnpqrstwxy3456789"
MAC_RE = re.compile(r"^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$|^([0-9a-f]{4}\.){2}[0-9a-f]{4}$|^[0-9a-f]{12}$")
HOSTNAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", re.IGNORECASE)
POWER_TYPES = ("amt", "apc", "dli", "eaton", "hmc", "hmcz", "ipmi", "lxd", "manual", "moonshot", "mscm", "msftocs",
               "nova", "openbmc", "proxmox", "recs_box", "redfish", "sm15k", "ucsm", "virsh", "vmware", "webhook",
               "wedge")
# Ubuntu releases the emulated image server offers: series, version, title. What a region has imported of them is
# its boot resources, and only those make architectures valid and series deployable (as in MAAS).
DISTROS = (("focal", "20.04", "Ubuntu 20.04 LTS"), ("jammy", "22.04", "Ubuntu 22.04 LTS"),
           ("noble", "24.04", "Ubuntu 24.04 LTS"))
DEFAULT_SERIES = "jammy"
# What seeding imports on the first start of a state directory unless told otherwise (`--boot-images`), and what
# `POST boot-resources/?op=import` imports: the series above for amd64, as MAAS's default selection does.
DEFAULT_BOOT_IMAGES = tuple(series for series, _version, _title in DISTROS)
# MAAS versions the emulator can answer as (`--maas-version`), by the minor version, with the full version string
# it reports; the default is the newest one Gough supports.
MAAS_VERSIONS = {"3.5": "3.5.13", "3.6": "3.6.1"}
DEFAULT_MAAS_VERSION = "3.6"
EVENT_KEEP_DEBUG = True


def normalise_mac(text):
    """Return ``aa:bb:cc:dd:ee:ff`` for any MAC spelling MAAS accepts, or None if it is not a MAC."""
    value = text.strip().lower()
    if not MAC_RE.match(value):
        return None
    digits = re.sub(r"[^0-9a-f]", "", value)
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))


def ip_for(machine_id):
    """The static address the default subnet gives a machine when it deploys."""
    return "10.20.%d.%d" % (machine_id // 250, machine_id % 250 + 2)


class Region:  # pylint: disable=too-many-instance-attributes,too-many-public-methods
    """The emulated MAAS region controller."""

    def __init__(self, store, config, backend, seed=1, clock=time.time, maas_version=DEFAULT_MAAS_VERSION,
                 boot_images=DEFAULT_BOOT_IMAGES):
        """Load state from ``store``; ``backend`` plays the hardware; ``seed`` makes ids and hardware reproducible.

        ``maas_version`` (a key of ``MAAS_VERSIONS``) picks the version-dependent behaviour; ``boot_images`` are the
        Ubuntu series a fresh state directory starts with imported (none: a fresh MAAS, which accepts no
        architecture until images are imported).
        """
        if maas_version not in MAAS_VERSIONS:
            raise ValueError("maas_version must be one of %s" % ", ".join(sorted(MAAS_VERSIONS)))
        unknown = sorted(set(boot_images) - set(DEFAULT_BOOT_IMAGES))
        if unknown:
            raise ValueError("unknown boot image series %s; known: %s"
                             % (", ".join(unknown), ", ".join(DEFAULT_BOOT_IMAGES)))
        self.maas_version = maas_version
        self.version_string = MAAS_VERSIONS[maas_version]
        self.boot_images = tuple(boot_images)
        self.store = store
        self.config = config
        self.backend = backend
        self.seed = seed
        self.clock = clock
        self.lock = threading.RLock()
        self.rng = random.Random("region:%s:%s" % (seed, store.get_meta("generation", 0)))
        store.set_meta("generation", store.get_meta("generation", 0) + 1)
        self.renderer = MachineRenderer(self)
        self._json_cache = {}
        self._wakeup = threading.Condition(self.lock)
        self._deadlines = []
        self._stopping = False
        self._scheduler = None
        self._load()
        backend.attach(self)

    # ---------------------------------------------------------------------------------------------------------
    # loading and bootstrapping
    def _load(self):
        store = self.store
        self.users = store.load_users()
        self.tokens = store.load_tokens()
        self.zones = store.load_objects("zone")
        self.pools = store.load_objects("pool")
        self.domains = store.load_objects("domain")
        self.fabrics = store.load_objects("fabric")
        self.vlans = store.load_objects("vlan")
        self.subnets = store.load_objects("subnet")
        self.ipranges = store.load_objects("iprange")
        self.tags = {t["name"]: t for t in store.load_objects("tag").values()}
        self.sshkeys = store.load_objects("sshkey")
        self.boot_resources = store.load_objects("bootresource")
        self.settings = store.get_meta("settings", {"default_distro_series": DEFAULT_SERIES, "maas_name": "gough-lab",
                                                    "default_osystem": "ubuntu"})
        self.machines = {}
        self.by_system_id = {}
        self.mac_owner = {}
        for m in store.load_machines():
            self._index(m)
        if not self.zones:
            self._bootstrap()
        # Boot sources and selections (boot.py); a state directory from before they existed gets the default one.
        boot.load(self, DISTROS)
        self.default_zone_id = min(z["id"] for z in self.zones.values() if z["name"] == "default")
        for m in self.machines.values():
            if m.get("pending") and m["pending"].get("deadline") is not None:
                heapq.heappush(self._deadlines, (m["pending"]["deadline"], m["system_id"]))

    def _bootstrap(self):
        """Create what a fresh MAAS has: default zone, pool, domain, fabric, VLAN, subnet and boot images."""
        self._save_obj("zone", self.zones, {"id": 1, "name": "default", "description": ""})
        self._save_obj("pool", self.pools, {"id": 0, "name": "default", "description": "Default pool"})
        self._save_obj("domain", self.domains, {"id": 0, "name": "maas", "ttl": None, "authoritative": True,
                                                "is_default": True})
        self._save_obj("fabric", self.fabrics, {"id": 0, "name": "fabric-0", "class_type": None})
        # As on a fresh MAAS, DHCP is off and no rack serves the VLAN until a dynamic range and a rack are set.
        self._save_obj("vlan", self.vlans, {"id": 5001, "vid": 0, "name": "untagged", "fabric_id": 0, "mtu": 1500,
                                            "dhcp_on": False, "relay_vlan": None, "space": None,
                                            "primary_rack": None, "secondary_rack": None, "description": ""})
        self._save_obj("subnet", self.subnets, {"id": 1, "name": "10.20.0.0/16", "cidr": "10.20.0.0/16", "vlan_id": 5001,
                                                "gateway_ip": "10.20.0.1", "dns_servers": [], "description": "",
                                                "managed": True})
        self._import_images(self.boot_images)
        self.store.set_meta("settings", self.settings)

    def at_least(self, version):
        """Whether the emulated MAAS version is ``version`` (``"3.6"``) or newer."""
        def key(text):
            return tuple(int(part) for part in text.split("."))
        return key(self.maas_version) >= key(version)

    # ---------------------------------------------------------------------------------------------------------
    # boot resources: what makes architectures valid and series deployable
    def _import_images(self, series_list):
        """Add a Synced amd64 boot resource for each series not imported yet."""
        have = set(r["name"] for r in self.boot_resources.values())
        for series, version, title in DISTROS:
            if series in series_list and "ubuntu/%s" % series not in have:
                self._save_obj("bootresource", self.boot_resources, {
                    "id": max(list(self.boot_resources) + [0]) + 1, "type": "Synced", "name": "ubuntu/%s" % series,
                    "architecture": "amd64/ga-%s" % version, "subarches": "generic,ga-%s" % version, "title": title})

    def start_import(self):
        """Begin an image import (``POST boot-resources/?op=import``) that takes ``import_seconds``; when it ends
        the boot resources follow the boot source selections. An import already running keeps its end."""
        if not self.is_importing():
            self.store.set_meta("import_until", self.now() + self.config.get("import_seconds"))

    def stop_import(self):
        """Stop a running import before it adds anything."""
        self.store.set_meta("import_until", 0)

    def is_importing(self):
        """Whether an import is running; one that has run its time adds its images first."""
        until = self.store.get_meta("import_until", 0)
        if until and self.now() >= until:
            boot.sync_resources(self)
            self.store.set_meta("import_until", 0)
        return bool(until) and self.now() < until

    def usable_architectures(self):
        """Architectures a machine may have, as MAAS's BootResource.get_usable_architectures derives them: each
        resource's architecture and ``arch/subarch`` for its subarches, leaving out ``hwe-`` and ``ga-`` kernels."""
        self.is_importing()
        arches = set()
        for resource in self.boot_resources.values():
            arch, _sep, subarch = resource["architecture"].partition("/")
            for sub in [subarch] + [s.strip() for s in resource.get("subarches", "").split(",") if s.strip()]:
                if "hwe-" not in sub and "ga-" not in sub:
                    arches.add("%s/%s" % (arch, sub))
        return sorted(arches)

    def deployable_series(self):
        """``(series, version, title)`` of the Ubuntu releases with imported images, oldest first."""
        self.is_importing()
        have = set(r["name"] for r in self.boot_resources.values())
        return [entry for entry in DISTROS if "ubuntu/%s" % entry[0] in have]

    def _save_obj(self, kind, table, obj):
        table[obj["id"]] = obj
        self.store.save_object(kind, obj)
        return obj

    def _index(self, m):
        self.machines[m["id"]] = m
        self.by_system_id[m["system_id"]] = m
        for nic in m["interfaces"]:
            self.mac_owner[nic["mac"]] = m["id"]

    def ensure_user(self, username, is_superuser):
        """Create a user and one API key for it if it does not exist; return its first key as ``ck:tk:ts``."""
        with self.lock:
            if username not in self.users:
                user = {"username": username, "email": "%s@example.com" % username, "is_superuser": is_superuser,
                        "is_active": True}
                self.users[username] = user
                self.store.save_user(user)
            for token in self.tokens.values():
                if token["username"] == username:
                    return "%s:%s:%s" % (token["consumer_key"], token["token_key"], token["token_secret"])
            token = self.create_token(username, "")
            return "%s:%s:%s" % (token["consumer_key"], token["token_key"], token["token_secret"])

    def create_token(self, username, name):
        """Make a new API key for ``username`` (MAAS key lengths: 18, 18 and 32 characters)."""
        alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
        with self.lock:
            token = {
                "consumer_key": "".join(secrets.choice(alphabet) for _count in range(18)),
                "token_key": "".join(secrets.choice(alphabet) for _count in range(18)),
                "token_secret": "".join(secrets.choice(alphabet) for _count in range(32)),
                "username": username,
                "name": name,
            }
            self.tokens[token["token_key"]] = token
            self.store.save_token(token)
            return token

    # ---------------------------------------------------------------------------------------------------------
    # helpers
    def now(self):
        """Current time in seconds since the epoch."""
        return self.clock()

    def is_admin(self, username):
        """Tell whether ``username`` is a superuser."""
        user = self.users.get(username)
        return bool(user and user["is_superuser"])

    def default_domain(self):
        """The domain marked default."""
        for domain in self.domains.values():
            if domain["is_default"]:
                return domain
        return self.domains[min(self.domains)]

    def domain_record_count(self, domain_id):
        """How many machine A records a domain has (only deployed machines with addresses count)."""
        counts = getattr(self, "_record_counts", None)
        if counts is None:
            return 0
        return counts.get(domain_id, 0)

    def _new_system_id(self):
        while True:
            sid = "".join(self.rng.choice(SYSTEM_ID_ALPHABET) for _count in range(6))
            if sid not in self.by_system_id:
                return sid

    def _next_id(self, key):
        value = self.store.get_meta(key, 1)
        self.store.set_meta(key, value + 1)
        return value

    def _new_hostname(self):
        adjectives = ("quick", "brave", "calm", "eager", "fancy", "gentle", "happy", "jolly", "kind", "lively",
                      "proud", "silly", "witty", "zany", "bold", "cosmic")
        nouns = ("otter", "falcon", "badger", "heron", "lynx", "marten", "osprey", "panda", "raven", "stoat", "tapir",
                 "walrus", "yak", "zebra", "koala", "gecko")
        while True:
            name = "%s-%s" % (self.rng.choice(adjectives), self.rng.choice(nouns))
            if not self.hostname_taken(name):
                return name
            name = "%s-%d" % (name, self.rng.randrange(100, 999))
            if not self.hostname_taken(name):
                return name

    def hostname_taken(self, hostname, except_id=None):
        """Tell whether another machine already uses ``hostname``."""
        for m in self.machines.values():
            if m["hostname"] == hostname and m["id"] != except_id:
                return True
        return False

    def get_machine(self, system_id):
        """Return the machine document or raise 404."""
        m = self.by_system_id.get(system_id)
        if m is None:
            raise not_found("Machine")
        return m

    def save_machine(self, m):
        """Persist a changed machine and drop its cached JSON."""
        m["updated"] = self.now()
        self.store.save_machine(m)
        self._json_cache.pop(m["id"], None)

    def invalidate_machine(self, m):
        """Drop one machine's cached JSON."""
        self._json_cache.pop(m["id"], None)

    def invalidate_all(self):
        """Drop every cached machine JSON (a zone, pool, domain, VLAN or subnet changed)."""
        self._json_cache.clear()

    def machine_json_bytes(self, m):
        """Return the machine's JSON bytes, rendering and caching them if needed."""
        cached = self._json_cache.get(m["id"])
        if cached is None:
            cached = json.dumps(self.renderer.machine(m), separators=(",", ":")).encode()
            self._json_cache[m["id"]] = cached
        return cached

    def machine_data(self, m):
        """Return the machine representation as a dict."""
        return json.loads(self.machine_json_bytes(m))

    def warm_cache(self, batch=200):
        """Render every machine into the cache in small locked batches (background warm-up after start)."""
        ids = sorted(self.machines)
        for start in range(0, len(ids), batch):
            with self.lock:
                if self._stopping:
                    return
                for machine_id in ids[start:start + batch]:
                    m = self.machines.get(machine_id)
                    if m is not None:
                        self.machine_json_bytes(m)

    # ---------------------------------------------------------------------------------------------------------
    # permissions (MAAS's NodePermission: view, edit, admin, lock)
    def can_view(self, user, m):
        """Admins see everything; users see unowned machines and their own."""
        return self.is_admin(user) or m.get("owner") in (None, user)

    def check_view(self, user, m):
        """Raise 403 unless ``user`` may see ``m``."""
        if not self.can_view(user, m):
            raise forbidden()

    def check_edit(self, user, m):
        """Raise 403 (empty) if ``m`` is locked or owned by someone else."""
        if m.get("locked"):
            raise forbidden()
        if self.is_admin(user):
            return
        if m.get("owner") not in (None, user):
            raise forbidden()

    def check_admin(self, user, m):
        """Raise 403 (empty) unless ``user`` is an admin and ``m`` is not locked."""
        if not self.is_admin(user) or m.get("locked"):
            raise forbidden()

    def check_lock(self, user, m):
        """Admins and the owner may lock and unlock."""
        if not (self.is_admin(user) or m.get("owner") == user):
            raise forbidden()

    # ---------------------------------------------------------------------------------------------------------
    # events and status
    def record_event(self, m, type_name, description="", *, level="INFO", user=None, action=""):
        """Append an event for a machine; INFO and above also become its status_message/status_action."""
        event = {"system_id": m["system_id"], "hostname": m["hostname"], "username": user,
                 "level": enums.EVENT_LEVELS[level], "created": self.now(), "type": type_name,
                 "description": description or "", "action": action or ""}
        event["id"] = self.store.add_event(event)
        if event["level"] >= enums.EVENT_LEVELS["INFO"]:
            m["status_message"] = "%s - %s" % (type_name, description) if description else type_name
            m["status_action"] = action or ""
        return event

    def set_status(self, m, new, user=None):
        """Move a machine to ``new`` if MAAS allows it, recording the change; else 409 Invalid transition."""
        old = m["status"]
        if old == new:
            return
        if not enums.transition_allowed(old, new):
            raise conflict("Invalid transition: %s -> %s." % (enums.status_label(old), enums.status_label(new)))
        m["status"] = new
        self.record_event(m, "Node changed status",
                          "From '%s' to '%s'" % (enums.status_label(old), enums.status_label(new)),
                          level="DEBUG", user=user)

    def _begin(self, m, action, options=None):
        """Ask the backend to start a timed action and remember when it ends."""
        plan = self.backend.begin(m, action, options or {})
        pending = {"action": action, "ok": plan.ok, "message": plan.message, "started": self.now(),
                   "deadline": None if plan.duration is None else self.now() + plan.duration}
        m["pending"] = pending
        if pending["deadline"] is not None:
            heapq.heappush(self._deadlines, (pending["deadline"], m["system_id"]))
            self._wakeup.notify_all()

    def _cancel(self, m):
        pending = m.pop("pending", None)
        if pending:
            self.backend.cancel(m, pending["action"])

    # ---------------------------------------------------------------------------------------------------------
    # scheduler
    def start(self):
        """Start the thread that completes timed actions when their deadlines pass."""
        self._scheduler = threading.Thread(target=self._run_scheduler, name="maas-scheduler", daemon=True)
        self._scheduler.start()

    def stop(self):
        """Stop the scheduler thread."""
        with self.lock:
            self._stopping = True
            self._wakeup.notify_all()
        if self._scheduler is not None:
            self._scheduler.join(timeout=5)

    def _run_scheduler(self):
        with self.lock:
            while not self._stopping:
                now = self.now()
                while self._deadlines and self._deadlines[0][0] <= now:
                    _deadline, sid = heapq.heappop(self._deadlines)
                    m = self.by_system_id.get(sid)
                    pending = m.get("pending") if m else None
                    if pending and pending.get("deadline") is not None and pending["deadline"] <= now:
                        try:
                            self._complete(m, pending["action"], pending["ok"], pending["message"])
                        except Exception:  # pylint: disable=broad-exception-caught
                            # One bad machine must not stop every other machine's timers.
                            LOG.exception("completing %s on %s failed", pending["action"], sid)
                timeout = (self._deadlines[0][0] - now) if self._deadlines else 1.0
                self._wakeup.wait(timeout=min(max(timeout, 0.005), 1.0))

    def complete_action(self, system_id, action, ok, message=""):
        """Finish an action a backend reported done (for backends that plan with ``duration=None``)."""
        with self.lock:
            m = self.by_system_id.get(system_id)
            if m is None or not m.get("pending") or m["pending"]["action"] != action:
                return False
            self._complete(m, action, ok, message)
            return True

    def _complete(self, m, action, ok, message):
        m.pop("pending", None)
        if action == "commission":
            if ok:
                self._apply_hardware(m)
                m["commissioning_status"] = enums.SCRIPT_PASSED
                m["testing_status"] = enums.SCRIPT_PASSED
                m["storage_test_status"] = enums.SCRIPT_PASSED
                m["power_state"] = "off"
                self.set_status(m, enums.READY)
                self.record_event(m, "Ready", "", action="commission")
            else:
                m["commissioning_status"] = enums.SCRIPT_FAILED
                m["power_state"] = "off"
                m["error_description"] = message
                self.set_status(m, enums.FAILED_COMMISSIONING)
                self.record_event(m, "Failed commissioning", message, level="ERROR", action="commission")
        elif action == "deploy":
            if ok:
                m["installation_result_id"] = self._next_id("next_result_id")
                self.set_status(m, enums.DEPLOYED)
                self.record_event(m, "Deployed", "", action="deploy")
            else:
                m["error_description"] = message
                self.set_status(m, enums.FAILED_DEPLOYMENT)
                self.record_event(m, "Failed deployment", message, level="ERROR", action="deploy")
        elif action in ("release", "erase"):
            if ok:
                m["power_state"] = "off"
                self._clear_ownership(m)
                # MAAS's _finalize_release: Ready only with passed commissioning results, else back to New.
                passed = m.get("commissioning_status") == enums.SCRIPT_PASSED
                if not passed and m["status"] == enums.DISK_ERASING:
                    self.set_status(m, enums.RELEASING)  # MAAS goes on from erasing through releasing
                self.set_status(m, enums.READY if passed else enums.NEW)
                if action == "erase":
                    self.record_event(m, "Erased disk", "", action="release")
                self.record_event(m, "Released", "", action="release")
            else:
                self.set_status(m, enums.FAILED_DISK_ERASING if action == "erase" else enums.FAILED_RELEASING)
                self.record_event(m, "Failed releasing", message, level="ERROR", action="release")
        elif action == "test":
            previous = m.pop("status_before_test", enums.READY)
            m["testing_status"] = enums.SCRIPT_PASSED if ok else enums.SCRIPT_FAILED
            self.set_status(m, previous if ok else enums.FAILED_TESTING)
            self.record_event(m, "Tests passed" if ok else "Failed testing", message, action="test")
        self.save_machine(m)

    # ---------------------------------------------------------------------------------------------------------
    # hardware and networking
    def _apply_hardware(self, m):
        """Fill in what commissioning discovers, keeping enlisted MACs as the first NICs."""
        profile = hardware.profile_for(self.seed, m["system_id"])
        facts = hardware.commissioned_hardware(self.seed, m["system_id"], profile)
        for key in ("cpu_count", "cpu_speed", "memory", "hardware_uuid", "hardware_info", "numanode_set",
                    "hardware_profile"):
            m[key] = facts[key]
        m["commissioning_result_id"] = self._next_id("next_result_id")
        m["testing_result_id"] = self._next_id("next_result_id")
        base = m["id"] * 16
        m["disks"] = []
        for index, disk in enumerate(facts["disks"]):
            disk = dict(disk, id=base + index + 1, boot=index == 0)
            m["disks"].append(disk)
        known = [nic["mac"] for nic in m["interfaces"]]
        for nic in m["interfaces"]:
            self.mac_owner.pop(nic["mac"], None)
        nics = []
        for index, fact in enumerate(facts["nics"]):
            mac = known[index] if index < len(known) else self._derived_mac(m["id"], index)
            nics.append(self._nic(m, index, mac, fact))
        for index in range(len(facts["nics"]), len(known)):
            nics.append(self._nic(m, index, known[index], {"name": "eth%d" % index, "speed": 1000}))
        m["interfaces"] = nics
        for nic in nics:
            self.mac_owner[nic["mac"]] = m["id"]

    def _nic(self, m, index, mac, fact):
        nic_id = m["id"] * 16 + index + 1
        links = [{"id": nic_id, "mode": "auto" if index == 0 else "link_up", "subnet_id": 1 if index == 0 else None}]
        return {"id": nic_id, "name": fact["name"], "mac": mac, "vlan_id": 5001, "speed": fact.get("speed", 1000),
                "vendor": fact.get("vendor"), "product": fact.get("product"), "numa_node": fact.get("numa_node", 0),
                "firmware_version": fact.get("firmware_version"), "enabled": True, "links": links}

    def _derived_mac(self, machine_id, index):
        value = (machine_id * 8 + index) & 0xFFFFFF
        while True:
            mac = "52:54:00:%02x:%02x:%02x" % (value >> 16, (value >> 8) & 0xFF, value & 0xFF)
            if mac not in self.mac_owner:
                return mac
            value = (value + 0x9E3779) & 0xFFFFFF

    def _claim_ips(self, m):
        for nic in m["interfaces"]:
            for link in nic["links"]:
                if link["mode"] == "auto" and link.get("subnet_id") is not None:
                    link["ip"] = ip_for(m["id"])

    @staticmethod
    def _release_ips(m):
        for nic in m["interfaces"]:
            for link in nic["links"]:
                link.pop("ip", None)

    def _clear_ownership(self, m):
        m["owner"] = None
        m["owner_data"] = {}
        m["agent_name"] = ""
        m["osystem"] = ""
        m["distro_series"] = ""
        m["hwe_kernel"] = None
        m["user_data"] = None
        m["locked"] = False
        m["ephemeral_deploy"] = False
        m["error_description"] = m.get("error_description", "") if m["status"] == enums.BROKEN else ""
        self._release_ips(m)

    # ---------------------------------------------------------------------------------------------------------
    # machine creation
    def new_machine_doc(self, *, hostname, architecture, macs, power_type, power_parameters, domain_id=None,
                        zone_id=None, pool_id=None, description="", min_hwe_kernel=""):
        """Build (not save) a machine document with enlisted NICs and no discovered hardware."""
        machine_id = self._next_id("next_machine_id")
        system_id = self._new_system_id()
        m = {
            "id": machine_id, "system_id": system_id, "hostname": hostname or "", "description": description,
            "domain_id": self.default_domain()["id"] if domain_id is None else domain_id,
            "zone_id": self.default_zone_id if zone_id is None else zone_id,
            "pool_id": 0 if pool_id is None else pool_id,
            "architecture": architecture, "min_hwe_kernel": min_hwe_kernel, "hwe_kernel": None,
            "status": enums.NEW, "owner": None, "owner_data": {}, "locked": False,
            "power_type": power_type or "", "power_parameters": power_parameters or {}, "power_state": "unknown",
            "tag_names": [], "cpu_count": 0, "cpu_speed": 0, "memory": 0, "disks": [], "interfaces": [],
            "hardware_uuid": None, "hardware_info": None, "numanode_set": None,
            "osystem": "", "distro_series": "", "agent_name": "", "netboot": True, "error_description": "",
            "status_message": None, "status_action": None, "commissioning_status": -1, "testing_status": -1,
            "storage_test_status": -1, "created": self.now(), "updated": self.now(),
        }
        if not m["hostname"]:
            m["hostname"] = self._new_hostname()
        # MAAS creates the commissioning script set with the machine, so the result id is an int from the start.
        m["commissioning_result_id"] = self._next_id("next_result_id")
        for index, mac in enumerate(macs):
            nic_id = machine_id * 16 + index + 1
            # An interface known only by its MAC is on no VLAN until commissioning discovers it.
            m["interfaces"].append({"id": nic_id, "name": "eth%d" % index, "mac": mac, "vlan_id": None, "speed": 0,
                                    "vendor": None, "product": None, "numa_node": 0, "firmware_version": None,
                                    "enabled": True, "links": []})
        return m

    def add_machine(self, m):
        """Index and persist a new machine."""
        self._index(m)
        self.save_machine(m)

    def seed_machines(self, count, prefix="node-"):
        """Create ``count`` commissioned Ready machines in one transaction (first start of an empty state dir)."""
        with self.lock:
            created = []
            now = self.now()
            for number in range(1, count + 1):
                m = self.new_machine_doc(
                    hostname="%s%05d" % (prefix, number), architecture="amd64/generic", macs=[],
                    power_type="ipmi",
                    power_parameters={"power_address": "10.99.%d.%d" % (number // 250, number % 250 + 2),
                                      "power_user": "maas", "power_pass": "lab-%05d" % number,
                                      "power_driver": "LAN_2_0"})
                # Seed MACs from the machine id so they are unique without consulting the index each time.
                m["interfaces"] = []
                self._apply_hardware(m)
                m.update(status=enums.READY, power_state="off", commissioning_status=enums.SCRIPT_PASSED,
                         testing_status=enums.SCRIPT_PASSED, storage_test_status=enums.SCRIPT_PASSED,
                         status_message="Ready", status_action="", created=now, updated=now)
                self._index(m)
                created.append(m)
            self.store.save_machines_bulk(created)
            self.store.add_events_bulk(
                {"system_id": m["system_id"], "hostname": m["hostname"], "username": None,
                 "level": enums.EVENT_LEVELS["INFO"], "created": now, "type": "Ready", "description": "",
                 "action": "commission"} for m in created)
            return created

    # ---------------------------------------------------------------------------------------------------------
    # lookups by name used by forms
    def zone_by_name(self, name):
        """Return the zone called ``name`` or None."""
        for zone in self.zones.values():
            if zone["name"] == name:
                return zone
        return None

    def pool_by_name_or_id(self, key):
        """Return the pool with this name or numeric id, or None."""
        key = str(key)
        for pool in self.pools.values():
            if pool["name"] == key or str(pool["id"]) == key:
                return pool
        return None

    def domain_by_name_or_id(self, key):
        """Return the domain with this name or numeric id, or None."""
        key = str(key)
        for domain in self.domains.values():
            if domain["name"] == key or str(domain["id"]) == key:
                return domain
        return None

    def subnet_by_key(self, key):
        """Return the subnet with this id, name or CIDR (MAAS accepts all three), or None."""
        key = str(key)
        if key.startswith("cidr:"):
            key = key[5:]
        for subnet in self.subnets.values():
            if key in (str(subnet["id"]), subnet["name"], subnet["cidr"]):
                return subnet
        return None

    def fabric_by_key(self, key):
        """Return the fabric with this id or name, or None."""
        key = str(key)
        for fabric in self.fabrics.values():
            if key in (str(fabric["id"]), fabric["name"]):
                return fabric
        return None

    # ---------------------------------------------------------------------------------------------------------
    # representations of simple objects
    def zones_json(self):
        """Every zone, by id."""
        return [zone_json(z) for z in by_key(self.zones)]

    def pools_json(self):
        """Every resource pool, by id."""
        return [pool_json(p) for p in by_key(self.pools)]

    def domains_json(self):
        """Every domain, by id."""
        return [domain_json(d, self.domain_record_count(d["id"])) for d in by_key(self.domains)]

    def tags_json(self):
        """Every tag, by name."""
        return [tag_json(t) for t in by_key(self.tags)]

    def form_error(self, field, message):
        """Shortcut for a one-field 400."""
        return form_errors({field: [message]})
