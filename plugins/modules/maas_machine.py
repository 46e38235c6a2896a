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
        O(force=true). A O(hostname) that names another machine than the one found by O(system_id) or
        O(mac_addresses) is an error, and nothing is deleted.
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
        six times this value. Must not be longer than O(wait_timeout) unless that is V(0).
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

- name: Rename a Deployed machine on purpose (without rename_in_use the task fails and writes nothing)
  gough.gough.maas_machine:
    system_id: 4y3h7n
    hostname: web-01-old
    rename_in_use: true

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
      description: MAAS status label (MAAS's C(status_name)); the number is RV(machine.status_code).
      returned: when the machine exists
      type: str
      sample: Ready
    status_code:
      description: Numeric MAAS status (MAAS's C(status)).
      returned: when the machine exists
      type: int
      sample: 4
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

from ansible_collections.gough.gough.plugins.module_utils.gough_module import (
    BadInput, GoughModule, check_wait, connection_argument_spec, error_result)
from ansible_collections.gough.gough.plugins.module_utils.maas import (
    MAASError, commission_form, commissioning_argument_spec)
from ansible_collections.gough.gough.plugins.module_utils.maas_machine_apply import MachineSteps, StepFailed
from ansible_collections.gough.gough.plugins.module_utils.maas_machine_plan import (
    WRITES, as_text, broken_mode, label, machine_result, make_plan, outcome, secret_power_values)
from ansible_collections.gough.gough.plugins.module_utils.maas_validate import (
    POWER_TYPES, normalize_architecture, normalize_macs, validate_hostname)

ARGUMENT_SPEC = dict(
    commissioning_argument_spec(),
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


class MachineAnsibleModule(AnsibleModule):
    """``AnsibleModule`` that hides secret power parameters from the start: it may fail with every argument in
    ``invocation`` and logs the invocation before ``main`` sees the parameters."""

    def _load_params(self):
        super(MachineAnsibleModule, self)._load_params()
        self.no_log_values.update(secret_power_values(self.params.get("power_parameters")))


class MachineGoughModule(GoughModule):
    """``GoughModule`` for MAAS built on ``MachineAnsibleModule``, so that passwords inside ``power_parameters`` are
    hidden even when argument validation fails (``GoughModule`` builds a plain ``AnsibleModule``)."""

    def __init__(self, argument_spec, **ansible_module_kwargs):  # pylint: disable=super-init-not-called
        spec = connection_argument_spec("maas")
        spec.update(argument_spec)
        self.api, self.client = "maas", None
        self.ansible = MachineAnsibleModule(argument_spec=spec, **ansible_module_kwargs)
        self.params, self.check_mode = self.ansible.params, self.ansible.check_mode
        self.diff_mode = bool(self.ansible._diff)  # pylint: disable=protected-access


def desired_settings(module):
    """Normalise and check every option that needs no server: ``(desired fields, MACs, power parameters)``."""
    params, desired = module.params, {}
    if params["hostname"] is not None:
        desired["hostname"] = validate_hostname(params["hostname"])
    if params["architecture"] is not None:
        desired["architecture"] = normalize_architecture(params["architecture"])
    desired.update((f, params[f]) for f in ("power_type", "domain", "zone", "pool", "description")
                   if params[f] is not None)
    if params["tags"] is not None:
        desired["tags"] = sorted(set(params["tags"]))
    if params["power_parameters"] is not None and not isinstance(params["power_parameters"], dict):
        raise BadInput("power_parameters", "must be a dictionary.")
    power = dict((k, v) for k, v in (params["power_parameters"] or {}).items() if v is not None)
    if params["power_password"] is not None:
        power[params["power_password_key"]] = params["power_password"]
    # Again after type conversion: power_parameters given as a "key=value" string is a dict only now.
    module.ansible.no_log_values.update(secret_power_values(power))
    check_wait(params, zero_timeout=True)
    macs = normalize_macs(params["mac_addresses"]) if params["mac_addresses"] is not None else []
    return desired, macs, dict((k, as_text(v)) for k, v in power.items())


def work(module):
    """Read, plan, then (unless in check mode) execute exactly the plan; every refusal comes before any write."""
    params = module.params
    state = "ready" if params["state"] == "commissioned" else params["state"]
    desired, macs, power = desired_settings(module)
    io = MachineSteps(module.client, dict(system_id=params["system_id"], hostname=params["hostname"], macs=macs),
                      power if state != "absent" else {}, params["poll_interval"], params["comment"])
    current, found_by = io.find()
    if current is None and found_by == "system_id" and state != "absent":
        raise BadInput("system_id", "MAAS has no machine %s." % params["system_id"])
    if current is None and state == "broken":
        raise BadInput("state", "broken needs an existing machine; none matches the given hostname or mac_addresses.")
    if state != "absent":
        io.check_settings(current, desired)
    before = io.view(current) if current is not None else None
    if before is not None:
        io.check_identity(before, desired, found_by, renaming=state != "absent")
    mark = None
    if state == "broken" and current.get("status_name") != "Broken":
        mark = broken_mode(current, (module.client.whoami() or {}).get("username"))
    steps = make_plan(before, desired, dict(
        state=state, macs=macs, power_parameters=io.power_parameters, purge_tags=params["purge_tags"], mark=mark,
        wait=params["wait"], wait_timeout=params["wait_timeout"], commission=commission_form(params),
        comment=params["comment"], force=params["force"], found_by=found_by, rename_in_use=params["rename_in_use"]))
    if module.check_mode:
        return machine_result(before, outcome(before, steps), steps, [label(s) for s in steps if s[0] in WRITES])
    try:
        machine = io.apply(current, steps)
    except (BadInput, MAASError) as exc:
        module.ansible.fail_json(actions=io.actions, **error_result(exc))
    except StepFailed as exc:
        module.ansible.fail_json(msg=str(exc), actions=io.actions, **exc.extra)
    return machine_result(before, io.view(machine) if machine else None, steps, io.actions)


def main():
    MachineGoughModule(ARGUMENT_SPEC, supports_check_mode=True,
                       required_one_of=[("system_id", "hostname", "mac_addresses")]).run(work)


if __name__ == "__main__":
    main()
