#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: maas_deploy
short_description: Deploy or release many MAAS machines at once, with progress and per-machine results
version_added: 0.1.0
description:
  - Deploys an operating system to MAAS machines named in O(machines), or allocates O(count) machines that match
    constraints (O(tags), O(not_tags), O(zone), O(pool), O(arch), O(cpu_count), O(mem)) and deploys them; or
    releases machines, optionally erasing their disks, and waits until they are Ready.
  - Batch first. Every operation for every machine is sent up front, at most O(concurrency) at a time; then one
    filtered C(GET machines/?id=...) request per poll interval watches all of them, so 500 machines cost about the
    time of one.
  - "While it waits, a progress line such as C(maas_deploy: 37/100 deployed, 61 deploying, 2 failed, 4m12s) is
    printed every O(progress_interval) seconds in C(ansible-playbook) and AWX job output. When the task waits, the
    module's action plugin runs the batch on the controller (the module's own code, then the waiting), which must
    therefore reach the MAAS API."
  - One machine failing does not stop the others. Each machine's result carries its status, addresses and the
    seconds it took; a failed one also carries MAAS's status message and its latest events. The task fails at the
    end, naming the failed machines. O(on_failure) chooses what happens to a failed machine.
  - Idempotent. Machines already Deployed (with O(distro_series), when given) are left alone. A deploy by O(count)
    marks the machines it allocates with O(agent_name), so a second run counts the machines already carrying it and
    allocates only the shortfall, never more.
  - MAAS allocates atomically, so two runs allocating from the same pool at the same time never get the same
    machine. Before allocating, the module counts the Ready machines that match; when there are too few, it fails
    saying how many matched which constraints, and allocates nothing.
  - Retries after lost answers are safe. Before resending an op, the module re-reads the machine and resends only
    if the op did not take effect and the machine did not move, so no machine is deployed twice. Allocations for
    O(count) go out one at a time, so a lost allocate answer is recognised by re-reading the set instead of
    allocating again.
  - MAAS may act on part of a deploy. It allocates a Ready machine to you first and then powers it on; when the
    power action fails (HTTP 503 C(No rack controllers can access the BMC of node ...)) the machine stays
    Allocated to you. The module recognises this from the machine's new status and owner, does not send the deploy
    again, reports the machine's real status, counts it as changed, and lists it in RV(left_allocated) with how
    to release it. O(on_failure=release) or V(replace) releases it at once.
  - The task reports C(changed) only when something changed on the server; a run whose every op MAAS refused
    reports C(changed=false).
  - A release is done when the machine has no owner and is V(Ready) or V(New). MAAS returns a machine without
    passed commissioning results (one added with C(deployed=true), for example) to V(New); the module counts that
    as released and warns that the machine needs commissioning before it can be allocated again.
author:
  - Gough developers (@gough)
extends_documentation_fragment:
  - gough.gough.maas
options:
  state:
    description:
      - V(deployed) deploys the machines and waits for Deployed.
      - V(released) releases them (erasing disks if asked) and waits for Ready. Machines are named by O(machines), or
        are the set made by a O(count) deploy with this O(agent_name).
    type: str
    choices: [deployed, released]
    default: deployed
  machines:
    description:
      - Machines to deploy or release, each as a system ID or a short hostname.
      - All names are resolved with one filtered list request before anything is written; unknown names fail the
        task without changing anything.
      - Mutually exclusive with O(count).
    type: list
    elements: str
  count:
    description:
      - Number of machines the set named by O(agent_name) must have. Machines already in the set (Allocated,
        Deploying, Deployed or Failed deployment, with this O(agent_name)) count; only the shortfall is allocated,
        using the constraints. Extra machines in the set are left alone.
      - Requires O(agent_name). Mutually exclusive with O(machines).
    type: int
  tags:
    description:
      - Allocation constraint with O(count). Machines must carry all of these tags.
    type: list
    elements: str
  not_tags:
    description:
      - Allocation constraint with O(count). Machines must carry none of these tags.
    type: list
    elements: str
  zone:
    description:
      - Allocation constraint with O(count). Name of the availability zone.
    type: str
  pool:
    description:
      - Allocation constraint with O(count). Name of the resource pool.
    type: str
  arch:
    description:
      - Allocation constraint with O(count). Architectures any of which will do, such as V(amd64/generic).
    type: list
    elements: str
  cpu_count:
    description:
      - Allocation constraint with O(count). Minimum number of CPU cores.
    type: int
  mem:
    description:
      - Allocation constraint with O(count). Minimum memory in MiB.
    type: int
  agent_name:
    description:
      - Name of the set of machines a O(count) deploy manages. MAAS stores it on each machine it allocates and
        deploys, and clears it on release; a rerun finds the set with C(GET machines/?agent_name=...).
      - Required with O(count). With O(machines) it is only passed to the deploy. With O(state=released) and no
        O(machines), every machine of the set is released.
      - Use one name per set, such as C(web-prod), and do not run two tasks for the same set at the same time.
    type: str
  distro_series:
    description:
      - Release to deploy, such as V(jammy), V(ubuntu/jammy) or V(22.04). It must be one MAAS has boot images for.
      - When not set, MAAS deploys its default series and any Deployed machine counts as done.
      - A machine already Deployed with another series is reported as failed (release it first); it is never
        redeployed implicitly.
    type: str
  hwe_kernel:
    description:
      - Kernel to deploy, such as V(hwe-22.04) or V(ga-22.04).
    type: str
  user_data:
    description:
      - Cloud-init user data as plain text; the module base64-encodes it for MAAS.
      - It is never shown in results, diffs or logs.
    type: str
  machine_user_data:
    description:
      - User data for some of the O(machines), by the name they have in O(machines) (hostname or system ID);
        those machines get it instead of O(user_data), in the same batch.
      - Every key must be one of O(machines). Never shown in results, diffs or logs.
    type: dict
  comment:
    description:
      - Comment MAAS records with the allocation, deploy or release events.
    type: str
  ephemeral_deploy:
    description:
      - Deploy to memory only, without installing to disk.
    type: bool
  enable_hw_sync:
    description:
      - Keep MAAS's hardware details in sync from the deployed machine.
    type: bool
  erase:
    description:
      - With O(state=released), erase the disks before the machine becomes Ready.
    type: bool
    default: false
  secure_erase:
    description:
      - With O(state=released), use the disks' secure erase (implies O(erase)).
    type: bool
    default: false
  quick_erase:
    description:
      - With O(state=released), wipe only the start and end of each disk (implies O(erase)).
    type: bool
    default: false
  on_failure:
    description:
      - What to do with a machine whose deployment fails, or whose deploy MAAS refused after allocating it.
      - V(leave) leaves it in Failed deployment for inspection.
      - V(release) releases it (with O(count), the next run then allocates another).
      - V(replace) releases it and allocates and deploys another machine matching the same constraints, at most 3
        rounds within O(wait_timeout); only with O(count). A replaced machine does not fail the task.
    type: str
    choices: [leave, release, replace]
    default: leave
  wait:
    description:
      - Wait until every machine is Deployed (or Ready, when releasing) or has failed.
      - With V(false) the ops are sent and the machines returned in their current status.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds the whole task may take. Machines still deploying or releasing then are reported as failed.
    type: int
    default: 1800
  poll_interval:
    description:
      - Seconds between the first polls. Each poll is one list request for all machines still in progress.
      - Once a poll sees some machines done, the module predicts when the rest will be, from the last op MAAS
        answered and the shortest time a machine was seen to take. It polls then if that comes before the next interval, so
        the task ends when the batch does, not up to one interval (with O(poll_backoff), up to
        O(poll_interval_max)) later. This adds at most one poll to a wait.
    type: float
    default: 5
  poll_backoff:
    description:
      - Factor by which the poll interval grows after each poll, up to O(poll_interval_max).
    type: float
    default: 1.5
  poll_interval_max:
    description:
      - Longest interval between polls, in seconds.
    type: float
    default: 30
  progress_interval:
    description:
      - Seconds between progress lines printed while waiting (at most one per poll). V(0) prints none.
    type: float
    default: 30
  concurrency:
    description:
      - Most requests sent to MAAS at the same time when firing ops.
    type: int
    default: 16
attributes:
  check_mode:
    support: full
    description: Reads as usual (resolving names, counting matching machines) and reports what would change, but
      sends no request that changes MAAS.
  diff_mode:
    support: full
    description: Shows each machine's status before and after (for a O(count) deploy, new machines as placeholders).
  action:
    support: full
    description: The action plugin runs the module to send the ops, then polls MAAS from the controller and prints
      progress.
notes:
  - The controller polls MAAS while the task waits, so the MAAS URL must be reachable from the controller, and
    connection options from environment variables are read on the controller for that.
seealso:
  - module: gough.gough.maas_machine_info
  - module: gough.gough.maas_tag
"""

EXAMPLES = r"""
- name: Deploy three named machines with Ubuntu 24.04 and cloud-init user data
  gough.gough.maas_deploy:
    machines: [node-01, node-02, node-03]
    distro_series: noble
    user_data: "{{ lookup('ansible.builtin.template', 'user-data.yml.j2') }}"
  register: deployed

- name: Show where they are
  ansible.builtin.debug:
    msg: "{{ deployed.machines | items2dict(key_name='hostname', value_name='ip_addresses') }}"

- name: Keep 20 GPU machines from rack-a deployed as the set "ml-train"; replace any that fail
  gough.gough.maas_deploy:
    count: 20
    agent_name: ml-train
    tags: [gpu]
    zone: rack-a
    distro_series: jammy
    on_failure: replace
    wait_timeout: 3600

- name: Send the deploys only, and check on them later
  gough.gough.maas_deploy:
    machines: "{{ groups['new_servers'] }}"
    wait: false

- name: Release the set and erase its disks
  gough.gough.maas_deploy:
    state: released
    agent_name: ml-train
    erase: true
    quick_erase: true
"""

RETURN = r"""
machines:
  description: One entry per machine the task looked at, in the order MAAS lists them, replacements last.
  returned: always
  type: list
  elements: dict
  contains:
    system_id:
      description: MAAS system ID.
      returned: success
      type: str
      sample: 4y3h7n
    hostname:
      description: Short hostname.
      returned: success
      type: str
      sample: node-01
    fqdn:
      description: Fully qualified domain name.
      returned: success
      type: str
      sample: node-01.maas
    status:
      description:
        - MAAS status label when the task ended (or would end, in check mode for unchanged machines), as MAAS last
          reported it. After a deploy MAAS refused, this is the state MAAS left the machine in, such as
          V(Allocated).
        - A released machine is V(Ready), or V(New) when MAAS has no passed commissioning results for it (MAAS
          releases such a machine to New; it needs commissioning before it can be allocated again).
      returned: success
      type: str
      sample: Deployed
    owner:
      description: User MAAS says the machine is allocated to, or null when it has no owner.
      returned: success
      type: str
      sample: admin
    ip_addresses:
      description: IP addresses MAAS reports for the machine.
      returned: success
      type: list
      elements: str
      sample: [10.20.0.15]
    seconds:
      description: Seconds from the start of the task until the machine settled (0 when nothing was waited for).
      returned: success
      type: float
      sample: 412.5
    changed:
      description: Whether the machine changed on the server because of this task (an allocate, deploy or
        release that MAAS carried out, in full or in part, such as a deploy that allocated the machine and then
        failed).
      returned: success
      type: bool
      sample: true
    action:
      description: What the task did to the machine, V(deploy), V(release), V(replacement) (deployed in place of a
        failed machine), V(released) (released after failing) or V(none).
      returned: success
      type: str
      sample: deploy
    failed:
      description: Whether the machine failed (or was still in progress at O(wait_timeout)).
      returned: success
      type: bool
      sample: false
    msg:
      description: Why the machine failed, empty otherwise.
      returned: success
      type: str
      sample: "Failed deployment: Failed deployment - Node installation failure - 'curtin' 'install' failed"
    status_message:
      description: MAAS's latest status message for the machine.
      returned: success
      type: str
      sample: Deployed
    events:
      description: Latest MAAS events of a failed machine (at most 5, newest first); empty for others.
      returned: success
      type: list
      elements: dict
      contains:
        created:
          description: When MAAS recorded the event.
          returned: success
          type: str
          sample: "Mon, 01 Jan. 2026 12:00:00"
        level:
          description: Event level.
          returned: success
          type: str
          sample: ERROR
        type:
          description: Event type.
          returned: success
          type: str
          sample: Failed deployment
        description:
          description: Event details.
          returned: success
          type: str
          sample: "Node installation failure - 'curtin' 'install' failed"
    replaced_by:
      description: With O(on_failure=replace), the system ID of the machine deployed in place of this failed one;
        null for every other machine. A replaced machine does not fail the task.
      returned: success
      type: str
      sample: 7xkq2p
system_ids:
  description: System IDs of the machines the task manages (not counting machines replaced after failing).
  returned: always
  type: list
  elements: str
  sample: [4y3h7n, 7xkq2p]
failed_machines:
  description: Hostnames (or system IDs) of the machines that failed.
  returned: always
  type: list
  elements: str
  sample: [node-07]
left_allocated:
  description:
    - Hostnames (or system IDs) of failed machines that the task leaves allocated to you, in V(Allocated) (MAAS
      allocated the machine, then refused or failed the deploy, for example when no rack controller could reach
      its BMC) or V(Failed deployment). MAAS gives them to no one else until they are released.
    - Release them with O(state=released) (the task's C(msg) names the machines), or run with O(on_failure=release).
  returned: always
  type: list
  elements: str
  sample: [node-07]
would_allocate:
  description: In check mode, how many machines a O(count) deploy would allocate; 0 otherwise.
  returned: always
  type: int
  sample: 0
agent_name:
  description: The O(agent_name) of the set.
  returned: when O(agent_name) is set
  type: str
  sample: ml-train
"""

from ansible_collections.gough.gough.plugins.module_utils.gough_module import (
    BadInput,
    GoughModule,
    check_positive,
    check_wait,
    error_result,
)
from ansible_collections.gough.gough.plugins.module_utils.maas import MAASError
from ansible_collections.gough.gough.plugins.module_utils.maas_deployment import (
    CONSTRAINTS,
    BatchError,
    MachineDeployment,
)
from ansible_collections.gough.gough.plugins.module_utils.maas_fanout import DEFAULT_CONCURRENCY, check_concurrency
from ansible_collections.gough.gough.plugins.module_utils.maas_validate import check_references, normalize_distro_series


def argument_spec():
    """The module's own options (GoughModule adds the connection options); the action plugin validates task
    arguments with the same spec."""
    return dict(
        state=dict(type="str", choices=["deployed", "released"], default="deployed"),
        machines=dict(type="list", elements="str"),
        count=dict(type="int"),
        tags=dict(type="list", elements="str"),
        not_tags=dict(type="list", elements="str"),
        zone=dict(type="str"),
        pool=dict(type="str"),
        arch=dict(type="list", elements="str"),
        cpu_count=dict(type="int"),
        mem=dict(type="int"),
        agent_name=dict(type="str"),
        distro_series=dict(type="str"),
        hwe_kernel=dict(type="str"),
        user_data=dict(type="str", no_log=True),
        machine_user_data=dict(type="dict", no_log=True),
        comment=dict(type="str"),
        ephemeral_deploy=dict(type="bool"),
        enable_hw_sync=dict(type="bool"),
        erase=dict(type="bool", default=False),
        secure_erase=dict(type="bool", default=False),
        quick_erase=dict(type="bool", default=False),
        on_failure=dict(type="str", choices=["leave", "release", "replace"], default="leave"),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=1800),
        poll_interval=dict(type="float", default=5.0),
        poll_backoff=dict(type="float", default=1.5),
        poll_interval_max=dict(type="float", default=30.0),
        progress_interval=dict(type="float", default=30.0),
        concurrency=dict(type="int", default=DEFAULT_CONCURRENCY),
    )


MODULE_KWARGS = dict(
    mutually_exclusive=[("machines", "count")],
    required_by={"count": ("agent_name",)},
    supports_check_mode=True,
)


def check_params(params):
    """Raise ``BadInput`` for option values and combinations the argument spec cannot express."""
    if params["state"] == "deployed" and params["machines"] is None and params["count"] is None:
        raise BadInput("machines", "state=deployed needs machines or count.")
    if params["state"] == "released" and params["machines"] is None and not params["agent_name"]:
        raise BadInput("machines", "state=released needs machines or agent_name.")
    stray = sorted(set(params.get("machine_user_data") or {}) - set(params["machines"] or []))
    if stray:
        raise BadInput("machine_user_data", "%s not in machines." % ", ".join(stray))
    if params["count"] is not None and params["count"] < 0:
        raise BadInput("count", "must be 0 or more.")
    if params["on_failure"] == "replace" and params["count"] is None:
        raise BadInput("on_failure", "replace needs count (a named machine has no constraints to pick another by).")
    check_wait(params)
    check_positive(params, "poll_interval_max")
    check_concurrency(params)
    if params["poll_backoff"] < 1:
        raise BadInput("poll_backoff", "must be 1 or more.")
    given = [c for c in CONSTRAINTS if params[c] not in (None, [])]
    if params["count"] is None and given:
        raise BadInput(given[0], "tags, not_tags, zone, pool, arch, cpu_count and mem are allocation constraints; "
                                 "they need count.")


def validate_references(client, params):
    """Fail early on an unknown series, tag, zone or pool (before any write); normalizes ``distro_series``."""
    if params["state"] == "deployed" and params["distro_series"]:
        params["distro_series"] = normalize_distro_series(params["distro_series"], client)
    if params["count"] is not None:
        check_references(client, zone=params["zone"], pool=params["pool"])
        for field in ("tags", "not_tags"):
            if params[field]:
                check_references(client, tags=params[field], fields={"tag": field})


def fire(client, params, check_mode=False, wait=False):
    """Check ``params``, resolve or allocate the machines and fire every op (and wait, with ``wait``).

    Returns ``(run, failure)``: the ``MachineDeployment``, and None or the failed result (``msg``, ``machines``,
    ``changed``...). The module runs this; so does its action plugin on the controller when the task waits."""
    try:
        check_params(params)
    except BadInput as exc:
        return None, dict(failed=True, **error_result(exc))
    run = MachineDeployment(client, params, check_mode=check_mode)
    try:
        validate_references(client, params)
        run.start()
        if wait:
            run.wait()
    except (BatchError, BadInput, MAASError) as exc:
        # Unlike GoughModule's own mapping, the failure carries the machines, some of which may have changed.
        failure = dict(msg=str(exc)) if isinstance(exc, BatchError) else error_result(exc)
        return run, dict(failed=True, machines=run.machines(), changed=run.changed, **failure)
    return run, None


def work(module):
    """Deploy or release the machines; a run with failed machines fails the task with every machine's result."""
    params = module.params
    run, failure = fire(module.client, params, check_mode=module.check_mode, wait=params["wait"])
    if failure is not None:
        failure.pop("failed")
        module.ansible.fail_json(**failure)
    result = run.result()
    for warning in result.pop("warnings", []):
        module.warn(warning)
    if module.diff_mode:
        result["diff"] = run.diff()
    if result.pop("failed", False):
        module.ansible.fail_json(**result)
    return result


def main():
    GoughModule("maas", argument_spec(), **MODULE_KWARGS).run(work)


if __name__ == "__main__":
    main()
