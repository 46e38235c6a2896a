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
    filtered request.
  - When it is found by O(system_id) or MAC address and O(hostname) differs, the machine is renamed, except that a
    machine in use (V(Allocated), V(Deploying), V(Deployed) or a rescue-mode status) is renamed only with
    O(rename_in_use=true). Without it the module fails before any write, naming both hostnames and the system ID or
    MAC addresses, so that a mistyped MAC address cannot rename a production server. With O(state=absent) such a
    mismatch always fails.
  - The module first computes a plan, the ordered list of steps (create, update, tag, untag, commission, wait,
    allocate, mark_broken, delete) that takes the machine from what MAAS has to what the task asks for. Check mode
    returns it with the predicted machine; a real run executes exactly that plan.
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
      - A machine found by O(system_id) or O(mac_addresses) under another hostname is renamed to this one; a machine
        in use only with O(rename_in_use=true). A hostname that another machine already has is an error.
      - When creating without a hostname MAAS picks one.
    type: str
  mac_addresses:
    description:
      - MAC addresses of the machine's network interfaces, in any usual spelling; the first is the boot interface.
      - Identify the machine when neither O(system_id) nor O(hostname) is set, or when the hostname is not found.
      - Required to create a machine unless O(power_type=ipmi). Every address given must belong to the machine
        found (the error names the machine that has them); this module does not add interfaces to existing machines.
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
  rename_in_use:
    description:
      - Rename a machine in use (V(Allocated), V(Deploying), V(Deployed), V(Rescue mode), V(Entering rescue mode),
        V(Failed to enter rescue mode), V(Exiting rescue mode) or V(Failed to exit rescue mode)) that was found by
        O(system_id) or O(mac_addresses) under another hostname than O(hostname).
      - Renaming changes the machine's DNS name while it serves, so with V(false) the module fails before any write
        and names both hostnames.
    type: bool
    default: false
    version_added: 0.1.0
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
    description: Reads as usual and returns the plan and the machine predicted from it, but sends no request that
      changes MAAS and does not wait.
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
  description: The changes the module made (or in check mode would make), in order, one per write step of RV(plan).
  returned: success
  type: list
  elements: str
  sample: [create, tag rack-a, commission]
plan:
  description:
    - The ordered steps computed from the machine as read and the options, before any write. A real run executes
      exactly these steps; check mode only returns them.
  returned: success
  type: list
  elements: dict
  sample:
    - {action: update, args: {zone: rack-a}}
    - {action: tag, args: {name: gpu}}
    - {action: commission, args: {enable_ssh: false, skip_networking: false, skip_storage: false}}
    - {action: wait, args: {until: Ready, timeout: 1800}}
  contains:
    action:
      description:
        - V(create), V(update), V(tag), V(untag), V(commission), V(wait) (for commissioning to end), V(allocate),
          V(mark_broken) or V(delete).
      returned: always
      type: str
      sample: update
    args:
      description:
        - What the step sends. V(create) and V(update) hold the fields and power parameters to set (secret-looking
          power parameters masked), V(tag) and V(untag) the tag's V(name), V(commission) the commissioning form,
          V(wait) the status waited for and the timeout, V(mark_broken) the comment.
      returned: always
      type: dict
      sample: {zone: rack-a}
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
from ansible_collections.gough.gough.plugins.module_utils.maas_machine_plan import (
    COMMISSIONING,
    DIFF_FIELDS,
    PUT_FIELDS,
    WRITES,
    as_text,
    broken_mode,
    describe,
    label,
    make_plan,
    machine_view,
    masked,
    outcome,
    public_plan,
    secret_power_values,
)
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


class MachineAnsibleModule(AnsibleModule):
    """``AnsibleModule`` that hides secret power parameters from the start: it may fail with every argument in
    ``invocation`` and logs the invocation before ``main`` sees the parameters."""

    def _load_params(self):
        super(MachineAnsibleModule, self)._load_params()
        self.no_log_values.update(secret_power_values(self.params.get("power_parameters")))


class ModuleFailure(Exception):
    """Ends the run with fail_json(msg, **extra)."""

    def __init__(self, msg, **extra):
        super(ModuleFailure, self).__init__(msg)
        self.extra = extra


class MachineModule(object):
    """One run of maas_machine: validate and read, plan (``maas_machine_plan``), then apply exactly that plan."""

    def __init__(self, module):
        self.module, self.params, self.client, self.actions = module, module.params, None, []
        self.state = "ready" if self.params["state"] == "commissioned" else self.params["state"]
        self.macs, self.power_parameters, self.allocated = [], {}, False

    def validate(self):
        """Normalise and check every option that needs no server; return the desired settings."""
        params, desired = self.params, {}
        if params["hostname"] is not None:
            desired["hostname"] = validate_hostname(params["hostname"])
        self.macs = normalize_macs(params["mac_addresses"]) if params["mac_addresses"] is not None else []
        if params["architecture"] is not None:
            desired["architecture"] = normalize_architecture(params["architecture"])
        desired.update((f, params[f]) for f in ("power_type", "domain", "zone", "pool", "description")
                       if params[f] is not None)
        if params["power_parameters"] is not None and not isinstance(params["power_parameters"], dict):
            raise MAASValidationError("power_parameters", "must be a dictionary.")
        parameters = dict((k, v) for k, v in (params["power_parameters"] or {}).items() if v is not None)
        if params["power_password"] is not None:
            parameters[params["power_password_key"]] = params["power_password"]
        # Again after type conversion: power_parameters given as a "key=value" string is a dict only now.
        self.module.no_log_values.update(secret_power_values(parameters))
        self.power_parameters = dict((k, as_text(v)) for k, v in parameters.items())
        if params["tags"] is not None:
            desired["tags"] = sorted(set(params["tags"]))
        if params["wait_timeout"] < 0:
            raise MAASValidationError("wait_timeout", "must be 0 or more seconds.")
        if params["poll_interval"] <= 0:
            raise MAASValidationError("poll_interval", "must be more than 0 seconds.")
        return desired

    def check_new(self, current, desired):
        """Checks against MAAS before any write: power parameters, what a create needs, that references exist."""
        if desired.get("power_type") and (current is None or current.get("power_type") != desired["power_type"]):
            validate_power_parameters(desired["power_type"], self.power_parameters)
        if current is None and not desired.get("hostname") and not self.macs:
            raise MAASValidationError("hostname", "a new machine needs hostname or mac_addresses so that later runs "
                                                  "can find it.")
        needs = (("mac_addresses", self.macs), ("architecture", desired.get("architecture")))
        for field, value in needs if current is None and desired.get("power_type") != "ipmi" else ():
            if not value:
                raise MAASValidationError(field, "required to create a machine unless power_type is ipmi.")
        check_references(self.client, zone=desired.get("zone"), pool=desired.get("pool"),
                         domain=desired.get("domain"), tags=desired.get("tags"))
        for field in ("domain", "pool"):
            ref = (current or {}).get(field)
            if isinstance(ref, dict) and desired.get(field) == str(ref.get("id")):
                desired[field] = ref.get("name")  # given by numeric id: compare with the name MAAS shows

    def find(self):
        """The machine named by system_id, hostname or MAC addresses (one filtered GET each) and which one found it."""
        if self.params["system_id"]:
            try:
                return self.client.get_machine(self.params["system_id"]), "system_id"
            except MAASError as exc:
                if exc.status != 404:
                    raise
                return None, "system_id"
        found = self.client.get("machines/", params={"hostname": self.params["hostname"]}) \
            if self.params["hostname"] else []
        if found:
            return found[0], "hostname"
        found = self.client.get("machines/", params={"mac_address": self.macs}) if self.macs else []
        if len(found) > 1:
            raise MAASValidationError("mac_addresses", "the addresses belong to more than one machine (%s)."
                                      % ", ".join(describe(machine_view(m)) for m in found))
        return (found[0] if found else None), "mac_addresses"

    def check_identity(self, before, desired, found_by):
        """Identifiers that name another machine than the one found fail before any write, naming both."""
        missing = [mac for mac in self.macs if mac not in before["mac_addresses"]]
        if missing:
            holders = self.client.get("machines/", params={"mac_address": missing})
            raise MAASValidationError("mac_addresses", "%s not on machine %s; %s. This module does not add interfaces."
                                      % (", ".join(missing), describe(before), "they belong to machine %s" % ", ".join(
                                          describe(machine_view(m)) for m in holders) if holders else "no machine "
                                          "has them"))
        wanted = desired.get("hostname")
        if found_by == "system_id" and wanted and wanted != before["hostname"] and self.state != "absent":
            taken = self.client.get("machines/", params={"hostname": wanted})
            if taken:
                raise MAASValidationError("hostname", "%s is machine %s, but system_id %s is machine %s; MAAS "
                                                      "hostnames are unique, so it cannot be renamed to %s."
                                          % (wanted, describe(machine_view(taken[0])), before["system_id"],
                                             before["hostname"], wanted))

    def machine_with_power(self, machine):
        """The view of ``machine`` plus the power parameters this run manages (read only when it manages some)."""
        view = machine_view(machine)
        if self.power_parameters and self.state != "absent":
            current = self.client.get("machines/%s/" % machine["system_id"], op="power_parameters") or {}
            view["power_parameters"] = dict((k, as_text(current[k]) if current.get(k) is not None else None)
                                            for k in self.power_parameters)
        return view

    def run(self):
        desired = self.validate()
        self.client = client_from_module(self.module)
        current, found_by = self.find()
        if current is None and found_by == "system_id" and self.state != "absent":
            raise MAASValidationError("system_id", "MAAS has no machine %s." % self.params["system_id"])
        if current is None and self.state == "broken":
            raise MAASValidationError("state", "broken needs an existing machine; none matches the given hostname or "
                                               "mac_addresses.")
        if self.state != "absent":
            self.check_new(current, desired)
        before = self.machine_with_power(current) if current is not None else None
        if before is not None:
            self.check_identity(before, desired, found_by)
        mark = None
        if self.state == "broken" and current.get("status_name") != "Broken":
            mark = broken_mode(current, (self.client.whoami() or {}).get("username"))
        steps = make_plan(before, desired, dict(
            state=self.state, macs=self.macs, power_parameters=self.power_parameters, wait=self.params["wait"],
            purge_tags=self.params["purge_tags"], wait_timeout=self.params["wait_timeout"], mark=mark,
            commission=commission_form(self.params), comment=self.params["comment"], force=self.params["force"],
            found_by=found_by, rename_in_use=self.params["rename_in_use"]))
        if self.module.check_mode:
            self.actions = [label(step) for step in steps if step[0] in WRITES]
            return self.result(before, outcome(before, steps), steps)
        machine = current
        for step in steps:
            machine = getattr(self, "do_" + step[0])(machine, step[1])
            if step[0] in WRITES:
                self.actions.append(label(step))
        after = self.machine_with_power(self.client.get_machine(machine["system_id"])) if machine else None
        return self.result(before, after, steps)

    def do_create(self, _machine, args):
        data = dict(((f, args.get(f)) for f in PUT_FIELDS), commission=False, mac_addresses=self.macs or None)
        data.update(("power_parameters_%s" % k, v) for k, v in self.power_parameters.items())
        return self.client.post("machines/", data=data, confirm=lambda: self.find()[0])

    def do_update(self, machine, changed):
        sid = machine["system_id"]
        data = dict((field, changed[field]) for field in PUT_FIELDS if field in changed)
        data.update(("power_parameters_%s" % k, v) for k, v in changed.get("power_parameters", {}).items())
        if "power_parameters" in changed:
            data.setdefault("power_type", machine.get("power_type") or "")  # MAAS checks them against the type

        def applied():
            fresh = self.client.get_machine(sid)
            view = self.machine_with_power(fresh)
            return fresh if all(view.get(f) == changed[f] for f in PUT_FIELDS if f in changed) and all(
                view["power_parameters"].get(k) == v for k, v in changed.get("power_parameters", {}).items()) else None
        self.client.put("machines/%s/" % sid, data=data, confirm=applied)
        return machine

    def do_tag(self, machine, args, how="add"):
        sid, tag = machine["system_id"], args["name"]

        def done():
            carries = tag in (self.client.get_machine(sid).get("tag_names") or [])
            return {"done": True} if carries == (how == "add") else None
        self.client.post("tags/%s/" % tag, op="update_nodes", data={how: sid}, confirm=done)
        return machine

    def do_untag(self, machine, args):
        return self.do_tag(machine, args, how="remove")

    def do_commission(self, machine, form):
        sid, start = machine["system_id"], machine.get("status_name")
        before, started = latest_event_id(self.client, sid), status_in(*COMMISSIONING)

        def took_effect(fresh):
            # A fast commission may already have ended in the starting status; a new event shows it ran.
            return started(fresh) or fresh.get("status_name") != start or latest_event_id(self.client, sid) != before
        return self.client.machine_op(sid, "commission", data=form, took_effect=took_effect)

    def do_wait(self, machine, args):
        sid, params = machine["system_id"], self.params
        try:
            machine = wait_until(lambda: self.client.get_machine(sid), lambda m: m.get("status_name") not in
                                 COMMISSIONING, timeout=args["timeout"], interval=params["poll_interval"],
                                 max_interval=params["poll_interval"] * 6)
        except WaitTimeout as exc:
            self.fail("Commissioning of %s (%s) did not finish within %d seconds; it is still %s."
                      % (machine.get("hostname"), sid, args["timeout"], exc.last.get("status_name")), exc.last)
        if machine.get("status_name") != args["until"]:
            events = latest_events(self.client, sid, 5)
            self.fail("Commissioning of %s (%s) failed: the machine is %s: %s. Latest events: %s"
                      % (machine.get("hostname"), sid, machine.get("status_name"),
                         machine.get("status_message") or machine.get("error_description") or "(no message)",
                         describe_events(events) or "(none)"), machine, events=events)
        return machine

    def do_allocate(self, machine, _args):
        sid, me = machine["system_id"], (self.client.whoami() or {}).get("username")

        def allocated():
            fresh = self.client.get_machine(sid)
            return fresh if fresh.get("owner") == me and fresh.get("status_name") == "Allocated" else None
        self.client.post("machines/", op="allocate", data={"system_id": sid, "comment": self.params["comment"]},
                         confirm=allocated)
        self.allocated = True
        return machine

    def do_mark_broken(self, machine, args):
        """Mark ``machine`` broken; when this run allocated it, a failed mark gives it back so nothing stays held."""
        sid = machine["system_id"]
        try:
            return self.client.machine_op(sid, "mark_broken", data=args, took_effect=status_in("Broken"))
        except MAASError as exc:
            if self.allocated:
                try:
                    self.client.machine_op(sid, "release", data={"comment": "mark_broken failed"},
                                           took_effect=status_in("Ready", "New", "Releasing"))
                    self.actions.append("release")
                except MAASError as again:
                    raise MAASError("%s; releasing the machine this task allocated failed too, so it is left "
                                    "Allocated to you: %s" % (exc, again), status=exc.status, method=exc.method,
                                    url=exc.url)
            raise

    def do_delete(self, machine, _args):
        sid = machine["system_id"]

        def gone():
            try:
                self.client.get_machine(sid)
            except MAASError as exc:
                if exc.status == 404:
                    return True
                raise
            return None
        self.client.delete("machines/%s/" % sid, confirm=gone)

    def fail(self, msg, machine=None, **extra):
        raise ModuleFailure(msg, machine=machine_view(machine) if machine else {}, actions=self.actions, **extra)

    def result(self, before, after, steps):
        diff = entity_diff(before, after, DIFF_FIELDS)
        for side in ("before", "after"):
            if "power_parameters" in diff[side]:
                diff[side]["power_parameters"] = masked(diff[side]["power_parameters"] or {})
        machine = dict(after) if after else {}
        machine.pop("power_parameters", None)
        return {"changed": bool(self.actions), "machine": machine, "actions": list(self.actions),
                "plan": public_plan(steps), "diff": diff}


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
        rename_in_use=dict(type="bool", default=False),
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
