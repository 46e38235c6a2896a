#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: maas_machine
short_description: Enlist, update, commission, mark broken and delete one MAAS machine
version_added: 0.1.0
description:
  - Makes sure one MAAS machine exists with the given settings (O(state=present)), is commissioned and Ready
    (O(state=ready)), is marked Broken (O(state=broken)), or does not exist (O(state=absent)).
  - The machine is found by O(system_id), else by O(hostname), else by any of O(mac_addresses), each with one
    filtered request. When it is found by MAC address and O(hostname) differs, the machine is renamed.
  - Every option is checked before anything is written, including that the named domain, zone, pool and tags exist
    in MAAS. A bad value fails naming the option, and MAAS is left unchanged.
  - State changes are sent so that a retried request never repeats one (the machine is re-read first).
  - Needs a MAAS administrator's API key.
author:
  - Gough developers (@gough)
extends_documentation_fragment:
  - gough.gough.maas
  - gough.gough.maas.commissioning
options:
  system_id:
    description:
      - System ID of the machine. When set, it alone identifies the machine, and a machine that does not exist is an
        error (MAAS chooses system IDs, so one cannot be created with a given ID) except with O(state=absent).
    type: str
  hostname:
    description:
      - Short hostname of the machine (one RFC 1123 label, without the domain).
      - Identifies the machine when O(system_id) is not set; otherwise the machine is renamed to it.
      - When creating without a hostname MAAS picks one.
    type: str
  mac_addresses:
    description:
      - MAC addresses of the machine's network interfaces, in any usual spelling; the first is the boot interface.
      - Identify the machine when neither O(system_id) nor O(hostname) is set, or when the hostname is not found.
      - Required to create a machine unless O(power_type=ipmi). Every address given must belong to the machine
        found; this module does not add interfaces to existing machines.
    type: list
    elements: str
  architecture:
    description:
      - Architecture, such as V(amd64), V(amd64/generic), V(arm64), V(armhf), V(i386), V(ppc64el) or V(s390x). A bare
        name means the V(generic) subarchitecture.
      - Required to create a machine unless O(power_type=ipmi), in which case MAAS detects it.
    type: str
  power_type:
    description:
      - Power driver MAAS uses to switch the machine on and off.
      - When creating a machine or changing its power type, the driver's required parameters must be in
        O(power_parameters) (or O(power_password)); see the notes.
    type: str
    choices: [amt, apc, dli, eaton, hmc, hmcz, ipmi, lxd, manual, moonshot, mscm, msftocs, nova, openbmc, proxmox,
              recs_box, redfish, sm15k, ucsm, virsh, vmware, webhook, wedge]
  power_parameters:
    description:
      - Power parameters of the driver, such as V(power_address), V(power_user) and V(power_id), as a dictionary.
      - Only the keys given are compared and changed; other parameters the machine has are kept.
      - Values of keys whose names contain V(pass), V(secret), V(token) or V(key) are hidden in the output and the
        diff. Passwords can also be given in O(power_password), which is never logged.
    type: dict
  power_password:
    description:
      - Password of the power driver, kept out of logs and output.
      - It is sent as the power parameter named by O(power_password_key).
    type: str
  power_password_key:
    description:
      - Name of the power parameter O(power_password) is sent as.
      - V(power_pass) suits ipmi, redfish, amt, virsh and most drivers; lxd uses V(password).
    type: str
    default: power_pass
  domain:
    description:
      - DNS domain of the machine, by name. Must exist in MAAS.
    type: str
  zone:
    description:
      - Availability zone, by name. Must exist in MAAS.
    type: str
  pool:
    description:
      - Resource pool, by name. Must exist in MAAS.
    type: str
  tags:
    description:
      - Tags the machine must carry; each must exist in MAAS. Tags are added with the tag's C(update_nodes) operation.
      - Other tags the machine carries are kept unless O(purge_tags=true).
    type: list
    elements: str
  purge_tags:
    description:
      - Remove tags the machine carries that are not in O(tags). Ignored when O(tags) is not set.
    type: bool
    default: false
  description:
    description:
      - Free-text description of the machine.
    type: str
  state:
    description:
      - V(present) creates the machine if needed and updates the settings that differ. A machine created this way
        is created with C(commission=false), so it stays V(New) (an administrator's create would otherwise start
        commissioning at once).
      - V(ready), or its alias V(commissioned), does what V(present) does and then commissions the machine when it is
        V(New), V(Failed commissioning), V(Failed testing) or V(Broken) (a Broken machine is re-commissioned, not just
        marked fixed), and waits until it is V(Ready). A machine already commissioning is waited for. A machine that
        is V(Allocated), V(Deploying) or V(Deployed) was commissioned and is in use, so it is left alone
        (C(changed=false)); any other state, such as V(Failed deployment), is an error, so release it first.
      - V(broken) marks an existing machine Broken with O(comment). MAAS lets only a machine's owner mark it broken
        (anyone else, an admin too, gets HTTP 403 with an empty body), and leaves the Broken machine without owner.
        So the module marks a machine you own at once; allocates a V(Ready) machine without owner to you first
        (MAAS releases it again as it marks it broken; if marking fails, the module releases it); and fails before
        any write, saying what to do, for a machine allocated to another user, a locked one, or one without owner
        in another state (such as V(New), which MAAS cannot allocate).
      - V(absent) deletes the machine. A machine in use (Allocated, Deploying or Deployed) is refused unless
        O(force=true).
    type: str
    choices: [present, ready, commissioned, broken, absent]
    default: present
  comment:
    description:
      - Comment recorded with the commission or mark-broken operation (for V(broken) it becomes the machine's error
        description).
    type: str
  force:
    description:
      - With O(state=absent), delete a machine even when it is Allocated, Deploying or Deployed.
    type: bool
    default: false
  wait:
    description:
      - With O(state=ready), wait for commissioning to end. With V(false) the module returns once commissioning
        has started.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for commissioning to end before failing.
    type: int
    default: 1800
  poll_interval:
    description:
      - Seconds between the first polls of the machine while waiting. The interval grows by half each poll up to
        six times this value.
    type: float
    default: 5
attributes:
  check_mode:
    support: full
    description: Reads as usual and reports what would change, but sends no request that changes MAAS and does not
      wait.
  diff_mode:
    support: full
    description: Shows the machine's managed settings and status before and after.
notes:
  - Idempotent. A second run with the same options reports no change.
  - >-
    Power parameters checked before a create or a power type change: ipmi, redfish, amt, openbmc and wedge need
    V(power_address); virsh needs V(power_address) and V(power_id); lxd needs V(power_address) and
    V(instance_name); webhook needs V(power_on_uri), V(power_off_uri) and V(power_query_uri); manual needs none.
    Other drivers are listed in C(plugins/module_utils/maas_validate.py).
  - Reading and comparing power parameters costs one extra request, made only when O(power_parameters) or
    O(power_password) is set.
seealso:
  - module: gough.gough.maas_machine_info
  - module: gough.gough.maas_tag
"""

EXAMPLES = r"""
- name: Enlist a server with its BMC (it stays New)
  gough.gough.maas_machine:
    hostname: node-01
    mac_addresses: ["52:54:00:12:34:56"]
    architecture: amd64
    power_type: ipmi
    power_parameters:
      power_address: 10.0.10.21
      power_user: maas
    power_password: "{{ vault_bmc_password }}"
    zone: rack-a
    pool: compute
    tags: [rack-a]

- name: Commission it and wait until it is Ready, skipping the tests
  gough.gough.maas_machine:
    hostname: node-01
    state: ready
    testing_scripts: []
    wait_timeout: 1200

- name: Enlist and commission a virsh VM in one task
  gough.gough.maas_machine:
    hostname: vm-07
    mac_addresses: ["52:54:00:aa:bb:07"]
    architecture: amd64/generic
    power_type: virsh
    power_parameters:
      power_address: qemu+ssh://ubuntu@kvm-host/system
      power_id: vm-07
    state: commissioned

- name: Mark a machine broken
  gough.gough.maas_machine:
    system_id: 4y3h7n
    state: broken
    comment: DIMM B2 reports ECC errors

- name: Delete a machine by MAC address
  gough.gough.maas_machine:
    mac_addresses: ["52:54:00:12:34:56"]
    state: absent
"""

RETURN = r"""
machine:
  description:
    - The machine after the module ran (as predicted in check mode). Empty when O(state=absent).
  returned: success
  type: dict
  contains:
    system_id:
      description: MAAS system ID; empty in check mode for a machine that would be created.
      returned: when the machine exists
      type: str
      sample: 4y3h7n
    hostname:
      description: Short hostname.
      returned: when the machine exists
      type: str
      sample: node-01
    fqdn:
      description: Fully qualified domain name.
      returned: when the machine exists
      type: str
      sample: node-01.maas
    status:
      description: Numeric MAAS status.
      returned: when the machine exists
      type: int
      sample: 4
    status_name:
      description: MAAS status label.
      returned: when the machine exists
      type: str
      sample: Ready
    status_message:
      description: Latest status event, possibly empty.
      returned: when the machine exists
      type: str
      sample: Ready
    error_description:
      description: Why the machine is Broken (the O(comment) of O(state=broken)), else empty.
      returned: when the machine exists
      type: str
      sample: ""
    architecture:
      description: Architecture and subarchitecture.
      returned: when the machine exists
      type: str
      sample: amd64/generic
    power_type:
      description: Power driver.
      returned: when the machine exists
      type: str
      sample: ipmi
    power_state:
      description: Last known power state.
      returned: when the machine exists
      type: str
      sample: "off"
    domain:
      description: DNS domain name.
      returned: when the machine exists
      type: str
      sample: maas
    zone:
      description: Availability zone name.
      returned: when the machine exists
      type: str
      sample: default
    pool:
      description: Resource pool name.
      returned: when the machine exists
      type: str
      sample: default
    tags:
      description: Tags of the machine, sorted.
      returned: when the machine exists
      type: list
      elements: str
      sample: [rack-a]
    description:
      description: Description of the machine.
      returned: when the machine exists
      type: str
      sample: ""
    mac_addresses:
      description: MAC addresses of the machine's interfaces, lower case, boot interface first.
      returned: when the machine exists
      type: list
      elements: str
      sample: ["52:54:00:12:34:56"]
    ip_addresses:
      description: IP addresses MAAS knows for the machine.
      returned: when the machine exists
      type: list
      elements: str
      sample: []
actions:
  description: What the module did (or in check mode would do), in order.
  returned: success
  type: list
  elements: str
  sample: [create, tag rack-a, commission]
events:
  description:
    - The machine's newest events (newest first), returned when commissioning failed.
  returned: on commissioning failure
  type: list
  elements: dict
  contains:
    created:
      description: When the event happened, as MAAS formats it.
      returned: always
      type: str
      sample: Sat, 28 Nov. 2026 16:40:00
    type:
      description: Event type.
      returned: always
      type: str
      sample: Failed commissioning
    description:
      description: Event details.
      returned: always
      type: str
      sample: Commissioning script 00-maas-01-cpuinfo failed
    level:
      description: Event level.
      returned: always
      type: str
      sample: ERROR
"""

import copy
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.gough.gough.plugins.module_utils.maas import (
    MAASError,
    client_from_module,
    commission_form,
    commissioning_argument_spec,
    maas_argument_spec,
    status_in,
)
from ansible_collections.gough.gough.plugins.module_utils.maas_entity import entity_diff
from ansible_collections.gough.gough.plugins.module_utils.maas_validate import (
    POWER_TYPES,
    MAASValidationError,
    check_references,
    normalize_architecture,
    normalize_macs,
    validate_hostname,
    validate_power_parameters,
)
from ansible_collections.gough.gough.plugins.module_utils.maas_wait import (
    WaitTimeout,
    describe_events,
    latest_event_id,
    latest_events,
    wait_until,
)

# Statuses from which commissioning gets a machine to Ready.
COMMISSIONABLE = ("New", "Failed commissioning", "Failed testing", "Broken")
# Statuses that mean commissioning is still running.
COMMISSIONING = ("Commissioning", "Testing")
COMMISSION_FAILED = ("Failed commissioning", "Failed testing")
IN_USE = ("Allocated", "Deploying", "Deployed")
# Fields this module sets with PUT machines/{id}/ (tags go through update_nodes).
PUT_FIELDS = ("hostname", "architecture", "power_type", "domain", "zone", "pool", "description")
DIFF_FIELDS = ("hostname", "mac_addresses", "architecture", "power_type", "power_parameters", "domain", "zone", "pool",
               "tags", "description", "status_name", "error_description")
SECRET_KEY_RE = re.compile(r"pass|secret|token|key", re.IGNORECASE)
MASK = "********"


def machine_view(machine):
    """The documented summary of a MAAS machine."""
    def name_of(value):
        return (value or {}).get("name", "") if isinstance(value, dict) else (value or "")
    return {
        "system_id": machine.get("system_id") or "",
        "hostname": machine.get("hostname") or "",
        "fqdn": machine.get("fqdn") or "",
        "status": machine.get("status"),
        "status_name": machine.get("status_name") or "",
        "status_message": machine.get("status_message") or "",
        "error_description": machine.get("error_description") or "",
        "architecture": machine.get("architecture") or "",
        "power_type": machine.get("power_type") or "",
        "power_state": machine.get("power_state") or "",
        "domain": name_of(machine.get("domain")),
        "zone": name_of(machine.get("zone")),
        "pool": name_of(machine.get("pool")),
        "tags": sorted(machine.get("tag_names") or []),
        "description": machine.get("description") or "",
        "mac_addresses": [nic.get("mac_address", "").lower() for nic in machine.get("interface_set") or []
                          if nic.get("mac_address")],
        "ip_addresses": list(machine.get("ip_addresses") or []),
    }


def as_text(value):
    """A power parameter value as MAAS stores it: text, booleans as true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def secret_power_values(parameters):
    """Values of the power parameters whose names look secret, as text (a numeric password too)."""
    if not isinstance(parameters, dict):
        return set()
    return set(as_text(value) for key, value in parameters.items()
               if SECRET_KEY_RE.search(str(key)) and value is not None and as_text(value))


class MachineAnsibleModule(AnsibleModule):
    """``AnsibleModule`` that hides secret power parameters from the start.

    AnsibleModule validates its arguments, may fail with every argument in ``invocation`` and logs the invocation
    before ``main`` sees the parameters; the passwords inside ``power_parameters`` must be registered before that.
    """

    def _load_params(self):
        super(MachineAnsibleModule, self)._load_params()
        self.no_log_values.update(secret_power_values(self.params.get("power_parameters")))


def masked(parameters):
    """Power parameters with secret-looking values replaced, for the diff."""
    return dict((key, MASK if SECRET_KEY_RE.search(key) else value) for key, value in parameters.items())


class MachineModule(object):
    """One run of maas_machine: validate, find, then bring the machine to the wanted state."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.check_mode = module.check_mode
        self.client = None
        self.actions = []
        self.state = "ready" if self.params["state"] == "commissioned" else self.params["state"]
        self.macs = []
        self.power_parameters = {}
        self.username = None

    # -- validation (no writes) -------------------------------------------------------------------------------

    def validate(self):
        """Normalise and check every option that needs no server; return the desired settings."""
        params = self.params
        desired = {}
        if params["hostname"] is not None:
            desired["hostname"] = validate_hostname(params["hostname"])
        self.macs = normalize_macs(params["mac_addresses"]) if params["mac_addresses"] is not None else []
        if params["architecture"] is not None:
            desired["architecture"] = normalize_architecture(params["architecture"])
        for field in ("power_type", "domain", "zone", "pool", "description"):
            if params[field] is not None:
                desired[field] = params[field]
        parameters = params["power_parameters"]
        if parameters is not None and not isinstance(parameters, dict):
            raise MAASValidationError("power_parameters", "must be a dictionary.")
        parameters = dict((k, v) for k, v in (parameters or {}).items() if v is not None)
        if params["power_password"] is not None:
            parameters[params["power_password_key"]] = params["power_password"]
        # Again after type conversion: power_parameters given as a "key=value" string is a dict only now.
        self.module.no_log_values.update(secret_power_values(parameters))
        self.power_parameters = dict((k, as_text(v)) for k, v in parameters.items())
        if params["tags"] is not None:
            desired["tags"] = sorted(set(params["tags"]))
        for name in ("wait_timeout",):
            if params[name] < 0:
                raise MAASValidationError(name, "must be 0 or more seconds.")
        if params["poll_interval"] <= 0:
            raise MAASValidationError("poll_interval", "must be more than 0 seconds.")
        return desired

    def check_power(self, current, desired):
        """On create, or when the power type changes, the driver's required parameters must be given."""
        power_type = desired.get("power_type")
        if power_type is None:
            return
        if current is None or current.get("power_type") != power_type:
            validate_power_parameters(power_type, self.power_parameters)

    def check_create(self, desired):
        """What MAAS requires to create a machine, checked before writing (and the identity for the next run)."""
        if not desired.get("hostname") and not self.macs:
            raise MAASValidationError("hostname", "a new machine needs hostname or mac_addresses so that later runs "
                                                  "can find it.")
        if desired.get("power_type") != "ipmi":
            if not self.macs:
                raise MAASValidationError("mac_addresses", "required to create a machine unless power_type is ipmi.")
            if not desired.get("architecture"):
                raise MAASValidationError("architecture", "required to create a machine unless power_type is ipmi.")

    # -- reading ----------------------------------------------------------------------------------------------

    def find(self):
        """The machine named by system_id, hostname or MAC addresses (one filtered GET each), or None."""
        params = self.params
        if params["system_id"]:
            try:
                return self.client.get_machine(params["system_id"])
            except MAASError as exc:
                if exc.status == 404:
                    return None
                raise
        if params["hostname"]:
            found = self.client.get("machines/", params={"hostname": params["hostname"]})
            if found:
                return found[0]
        if self.macs:
            found = self.client.get("machines/", params={"mac_address": self.macs})
            if len(found) > 1:
                raise MAASValidationError(
                    "mac_addresses", "the addresses belong to more than one machine (%s)."
                    % ", ".join("%s (%s)" % (m["hostname"], m["system_id"]) for m in found))
            if found:
                return found[0]
        return None

    def read_power_parameters(self, system_id):
        return self.client.get("machines/%s/" % system_id, op="power_parameters") or {}

    def machine_with_power(self, machine):
        """The view of ``machine`` plus the power parameters this run manages (read only when it manages some)."""
        view = machine_view(machine)
        if self.power_parameters:
            current = self.read_power_parameters(machine["system_id"])
            view["power_parameters"] = dict((k, as_text(current[k]) if current.get(k) is not None else None)
                                            for k in self.power_parameters)
        return view

    # -- the lifecycle ----------------------------------------------------------------------------------------

    def changes(self, view, desired):
        """Fields of ``desired`` that differ from ``view``; power parameters as the changed keys."""
        changed = {}
        for field, wanted in desired.items():
            if field == "tags":
                have = set(view["tags"])
                want = set(wanted)
                if (want - have) or (self.params["purge_tags"] and have - want):
                    changed["tags"] = sorted(want | (set() if self.params["purge_tags"] else have))
            elif view.get(field) != wanted:
                changed[field] = wanted
        if self.power_parameters:
            current = view.get("power_parameters") or {}
            differing = dict((k, v) for k, v in self.power_parameters.items() if current.get(k) != v)
            if differing:
                changed["power_parameters"] = differing
        return changed

    def create(self, desired):
        data = {
            "hostname": desired.get("hostname"), "architecture": desired.get("architecture"),
            "mac_addresses": self.macs or None, "power_type": desired.get("power_type"),
            "domain": desired.get("domain"), "zone": desired.get("zone"), "pool": desired.get("pool"),
            "description": desired.get("description"), "commission": False,
        }
        for key, value in self.power_parameters.items():
            data["power_parameters_%s" % key] = value

        def created():
            return self.find()
        machine = self.client.post("machines/", data=data, confirm=created)
        self.actions.append("create")
        return machine

    def update(self, machine, changed):
        sid = machine["system_id"]
        data = dict((field, changed[field]) for field in PUT_FIELDS if field in changed)
        for key, value in changed.get("power_parameters", {}).items():
            data["power_parameters_%s" % key] = value
        if "power_parameters" in changed and "power_type" not in data:
            # MAAS validates parameters against the power type; send it along unchanged.
            data["power_type"] = machine.get("power_type") or ""
        if data:
            def applied():
                fresh = self.client.get_machine(sid)
                view = machine_view(fresh)
                if any(view.get(f) != changed[f] for f in PUT_FIELDS if f in changed):
                    return None
                if "power_parameters" in changed:
                    current = self.read_power_parameters(sid)
                    if any(as_text(current.get(k)) != v for k, v in changed["power_parameters"].items()):
                        return None
                return fresh
            self.client.put("machines/%s/" % sid, data=data, confirm=applied)
            self.actions.append("update " + ", ".join(sorted(f for f in changed if f != "tags")))
        if "tags" in changed:
            have = set(machine.get("tag_names") or [])
            want = set(changed["tags"])
            for tag in sorted(want - have):
                self.update_tag(sid, tag, "add")
            for tag in sorted(have - want):
                self.update_tag(sid, tag, "remove")
        return self.client.get_machine(sid)

    def update_tag(self, system_id, tag, how):
        def done():
            carries = tag in (self.client.get_machine(system_id).get("tag_names") or [])
            return {"done": True} if carries == (how == "add") else None
        self.client.post("tags/%s/" % tag, op="update_nodes", data={how: system_id}, confirm=done)
        self.actions.append("%s %s" % ("tag" if how == "add" else "untag", tag))

    def commission(self, machine):
        sid = machine["system_id"]
        start = machine.get("status_name")
        data = commission_form(self.params)
        before = latest_event_id(self.client, sid)
        started = status_in(*COMMISSIONING)

        def took_effect(fresh):
            # A fast commission may already have ended in the starting status; a new event shows it ran.
            if started(fresh) or fresh.get("status_name") != start:
                return True
            return latest_event_id(self.client, sid) != before
        machine = self.client.machine_op(sid, "commission", data=data, took_effect=took_effect)
        self.actions.append("commission")
        return machine

    def wait_commissioned(self, machine):
        sid = machine["system_id"]
        params = self.params
        try:
            machine = wait_until(
                lambda: self.client.get_machine(sid),
                lambda m: m.get("status_name") not in COMMISSIONING,
                timeout=params["wait_timeout"], interval=params["poll_interval"],
                max_interval=params["poll_interval"] * 6)
        except WaitTimeout as exc:
            self.fail("Commissioning of %s (%s) did not finish within %d seconds; it is still %s."
                      % (machine.get("hostname"), sid, params["wait_timeout"], exc.last.get("status_name")),
                      machine=exc.last)
        if machine.get("status_name") != "Ready":
            events = latest_events(self.client, sid, 5)
            self.fail("Commissioning of %s (%s) failed: the machine is %s: %s. Latest events: %s"
                      % (machine.get("hostname"), sid, machine.get("status_name"),
                         machine.get("status_message") or machine.get("error_description") or "(no message)",
                         describe_events(events) or "(none)"), machine=machine, events=events)
        return machine

    def fail(self, msg, machine=None, **extra):
        raise ModuleFailure(msg, machine=machine_view(machine) if machine else {}, actions=self.actions, **extra)

    def run(self):
        desired = self.validate()
        self.client = client_from_module(self.module)
        current = self.find()
        if self.params["system_id"] and current is None and self.state != "absent":
            raise MAASValidationError("system_id", "MAAS has no machine %s." % self.params["system_id"])
        if self.state == "absent":
            return self.absent(current)
        if self.state == "broken" and current is None:
            raise MAASValidationError("state", "broken needs an existing machine; none matches the given %s."
                                      % self.identity())

        # Every check that could fail comes before the first write.
        self.check_power(current, desired)
        if current is None:
            self.check_create(desired)
        check_references(self.client, zone=desired.get("zone"), pool=desired.get("pool"),
                         domain=desired.get("domain"), tags=desired.get("tags"))
        if current is not None:
            for field in ("domain", "pool"):
                ref = current.get(field)
                if isinstance(ref, dict) and desired.get(field) == str(ref.get("id")):
                    # Given by numeric id, which check_references accepts: compare with the name MAAS shows.
                    desired[field] = ref.get("name")
        before = self.machine_with_power(current) if current is not None else None
        if current is not None and self.macs:
            missing = [mac for mac in self.macs if mac not in before["mac_addresses"]]
            if missing:
                raise MAASValidationError(
                    "mac_addresses", "%s not on machine %s (%s); this module does not add interfaces."
                    % (", ".join(missing), current["hostname"], current["system_id"]))
        # Allocated, Deploying and Deployed machines were commissioned and are in use: the state holds, and a
        # provisioning playbook that enlists, commissions and deploys can be rerun without touching them.
        if current is not None and self.state == "ready" and before["status_name"] not in (
                COMMISSIONABLE + COMMISSIONING + IN_USE + ("Ready",)):
            raise MAASValidationError("state", "machine %s (%s) is %s; it must be released before it can be "
                                               "commissioned." % (current["hostname"], current["system_id"],
                                                                  before["status_name"]))

        broken_plan = None
        if self.state == "broken" and current.get("status_name") != "Broken":
            broken_plan = self.plan_mark_broken(current)
        changed = self.changes(before, desired) if before is not None else dict(desired)
        if self.check_mode:
            return self.predict(before, desired, changed, broken_plan)

        machine = current
        if machine is None:
            machine = self.create(desired)
            if desired.get("tags"):
                machine = self.update(machine, {"tags": sorted(set(desired["tags"]) | set(machine.get("tag_names") or []))})
        elif changed:
            machine = self.update(machine, changed)

        if self.state == "ready":
            if machine.get("status_name") in COMMISSIONABLE:
                machine = self.commission(machine)
            if self.params["wait"] and machine.get("status_name") in COMMISSIONING + COMMISSION_FAILED:
                machine = self.wait_commissioned(machine)
        elif self.state == "broken" and machine.get("status_name") != "Broken":
            machine = self.mark_broken(machine, broken_plan)
        after = self.machine_with_power(self.client.get_machine(machine["system_id"]))
        return self.result(before, after)

    def predict(self, before, desired, changed, broken_plan=None):
        """The machine as it would be after this run, from what was read, without writing."""
        if before is None:
            after = machine_view({})
            after.update(dict((k, v) for k, v in desired.items()))
            after["mac_addresses"] = list(self.macs)
            after["status_name"] = "New"
            if self.power_parameters:
                after["power_parameters"] = dict(self.power_parameters)
            self.actions.append("create")
            if desired.get("tags"):
                self.actions.extend("tag %s" % t for t in desired["tags"])
        else:
            after = copy.deepcopy(before)
            for field, value in changed.items():
                if field == "power_parameters":
                    after["power_parameters"].update(value)
                elif field != "tags":
                    after[field] = value
            if "tags" in changed:
                after["tags"] = changed["tags"]
            put = sorted(f for f in changed if f != "tags")
            if put:
                self.actions.append("update " + ", ".join(put))
            for tag in sorted(set(changed.get("tags", [])) - set(before["tags"])):
                self.actions.append("tag %s" % tag)
            for tag in sorted(set(before["tags"]) - set(changed.get("tags", before["tags"]))):
                self.actions.append("untag %s" % tag)
        if self.state == "ready" and after["status_name"] in COMMISSIONABLE:
            self.actions.append("commission")
            after["status_name"] = "Ready"
        elif self.state == "ready" and after["status_name"] in COMMISSIONING:
            after["status_name"] = "Ready"
        elif self.state == "broken" and after["status_name"] != "Broken":
            if broken_plan == "allocate":
                self.actions.append("allocate")
            self.actions.append("mark_broken")
            after["status_name"] = "Broken"
            after["error_description"] = self.params["comment"] or ""
        return self.result(before, after)

    def plan_mark_broken(self, machine):
        """How to mark ``machine`` broken under MAAS's rule, checked before any write: ``"mark"`` when the caller owns
        it, ``"allocate"`` when it is Ready and unowned (allocating it to the caller first is safe: MAAS releases it
        again as it marks it broken); otherwise a ``MAASValidationError`` saying what to do."""
        # MAAS 3.5/3.6 let only the owner mark a machine broken, admins included (API and web UI): 403, empty body.
        self.username = me = (self.client.whoami() or {}).get("username")
        owner = machine.get("owner")
        name = "%s (%s)" % (machine.get("hostname"), machine.get("system_id"))
        status = machine.get("status_name")
        if machine.get("locked"):
            raise MAASValidationError("state", "machine %s is locked; MAAS changes nothing on a locked machine. Unlock "
                                               "it first, then mark it broken." % name)
        if owner and owner == me:
            return "mark"
        rule = "MAAS lets only a machine's owner mark it broken (an admin too gets 403 otherwise)"
        if owner:
            raise MAASValidationError(
                "state", "machine %s is %s and allocated to %s; %s. Have %s mark it broken (this task with their API "
                         "key), or release it first (gough.gough.maas_deploy state=released) and rerun, which "
                         "allocates it to you and marks it broken." % (name, status, owner, rule, owner))
        if status == "Ready":
            return "allocate"
        raise MAASValidationError(
            "state", "machine %s is %s and has no owner; %s, and MAAS allocates only Ready machines, so this task "
                     "cannot take it first. Commission it to Ready (state=ready) and rerun, or delete it "
                     "(state=absent)." % (name, status, rule))

    def mark_broken(self, machine, plan):
        """Allocate ``machine`` to the caller when ``plan`` says so, then mark it broken; a failed mark gives the
        machine back so that the task leaves nothing allocated."""
        sid = machine["system_id"]
        if plan == "allocate":
            me = self.username

            def allocated():
                fresh = self.client.get_machine(sid)
                return fresh if fresh.get("owner") == me and fresh.get("status_name") == "Allocated" else None
            self.client.post("machines/", op="allocate", data={"system_id": sid, "comment": self.params["comment"]},
                             confirm=allocated)
            self.actions.append("allocate")
        try:
            machine = self.client.machine_op(sid, "mark_broken", data={"comment": self.params["comment"]},
                                             took_effect=status_in("Broken"))
        except MAASError as exc:
            if plan == "allocate":
                try:
                    self.client.machine_op(sid, "release", data={"comment": "mark_broken failed"},
                                           took_effect=status_in("Ready", "New", "Releasing"))
                    self.actions.append("release")
                except MAASError as again:
                    raise MAASError("%s; releasing the machine this task allocated failed too, so it is left "
                                    "Allocated to you: %s" % (exc, again), status=exc.status, method=exc.method,
                                    url=exc.url)
            raise
        self.actions.append("mark_broken")
        return machine

    def absent(self, current):
        if current is None:
            return self.result(None, None)
        view = machine_view(current)
        if view["status_name"] in IN_USE and not self.params["force"]:
            raise MAASValidationError("force", "machine %s (%s) is %s; set force=true to delete a machine in use."
                                      % (view["hostname"], view["system_id"], view["status_name"]))
        if not self.check_mode:
            sid = current["system_id"]

            def gone():
                try:
                    self.client.get_machine(sid)
                except MAASError as exc:
                    if exc.status == 404:
                        return True
                    raise
                return None
            self.client.delete("machines/%s/" % sid, confirm=gone)
        self.actions.append("delete")
        return self.result(view, None)

    def identity(self):
        for name in ("system_id", "hostname", "mac_addresses"):
            if self.params[name]:
                return "%s %s" % (name, self.params[name])
        return "options"

    def result(self, before, after):
        diff = entity_diff(before, after, DIFF_FIELDS)
        for side in ("before", "after"):
            if "power_parameters" in diff[side]:
                diff[side]["power_parameters"] = masked(diff[side]["power_parameters"] or {})
        machine = dict(after) if after else {}
        machine.pop("power_parameters", None)
        return {"changed": bool(self.actions), "machine": machine, "actions": list(self.actions), "diff": diff}


class ModuleFailure(Exception):
    """Ends the run with fail_json(msg, **extra)."""

    def __init__(self, msg, **extra):
        super(ModuleFailure, self).__init__(msg)
        self.extra = extra


def main():
    argument_spec = maas_argument_spec()
    argument_spec.update(commissioning_argument_spec())
    argument_spec.update(
        system_id=dict(type="str"),
        hostname=dict(type="str"),
        mac_addresses=dict(type="list", elements="str"),
        architecture=dict(type="str"),
        power_type=dict(type="str", choices=sorted(POWER_TYPES)),
        power_parameters=dict(type="dict"),
        power_password=dict(type="str", no_log=True),
        power_password_key=dict(type="str", default="power_pass", no_log=False),
        domain=dict(type="str"),
        zone=dict(type="str"),
        pool=dict(type="str"),
        tags=dict(type="list", elements="str"),
        purge_tags=dict(type="bool", default=False),
        description=dict(type="str"),
        state=dict(type="str", default="present", choices=["present", "ready", "commissioned", "broken", "absent"]),
        comment=dict(type="str"),
        force=dict(type="bool", default=False),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=1800),
        poll_interval=dict(type="float", default=5.0),
    )
    module = MachineAnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                                  required_one_of=[("system_id", "hostname", "mac_addresses")])
    runner = MachineModule(module)
    try:
        result = runner.run()
    except MAASValidationError as exc:
        module.fail_json(msg=str(exc), actions=runner.actions)
    except ModuleFailure as exc:
        module.fail_json(msg=str(exc), **exc.extra)
    except MAASError as exc:
        module.fail_json(msg=str(exc), actions=runner.actions, **exc.details())
    finally:
        if runner.client is not None:
            runner.client.close()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
