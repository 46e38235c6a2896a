# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one state machine of ``maas_machine``, as pure functions without a server.

``make_plan(before, desired, goal)`` turns the machine as read (a ``machine_view``, or None when it does not exist)
and what the task asks for into an ordered list of steps, plain ``(verb, args)`` tuples such as
``("update", {"zone": "rack-a"})``, ``("tag", {"name": "gpu"})`` or ``("commission", {...})``. Check mode returns
that plan and ``outcome(before, plan)``; a real run executes the same steps in order. Every refusal that needs no
further request (a machine in use that would be renamed or deleted, a state that cannot be commissioned) is raised
here as ``BadInput`` before any write.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import re

from ansible_collections.gough.gough.plugins.module_utils.gough_module import BadInput
from ansible_collections.gough.gough.plugins.module_utils.maas_machine_view import STATUS_CODES, project

# Statuses from which commissioning gets a machine to Ready.
COMMISSIONABLE = ("New", "Failed commissioning", "Failed testing", "Broken")
# Statuses that mean commissioning is still running.
COMMISSIONING = ("Commissioning", "Testing")
# A machine a user holds: deleting it needs force=true, and state=ready leaves it alone.
IN_USE = ("Allocated", "Deploying", "Deployed")
# MAAS's rescue-mode statuses: the machine is a user's and runs an ephemeral system.
RESCUE = ("Rescue mode", "Entering rescue mode", "Failed to enter rescue mode", "Exiting rescue mode",
          "Failed to exit rescue mode")
# A machine in these statuses serves under its hostname (DNS), so it is renamed only with rename_in_use=true.
RENAME_GUARDED = IN_USE + RESCUE
# Fields sent with PUT machines/{id}/ (tags go through each tag's update_nodes).
PUT_FIELDS = ("hostname", "architecture", "power_type", "domain", "zone", "pool", "description")
DIFF_FIELDS = ("hostname", "mac_addresses", "architecture", "power_type", "power_parameters", "domain", "zone", "pool",
               "tags", "description", "status", "error_description")
# Steps that change MAAS; a plan without one reports changed=false.
WRITES = ("create", "update", "tag", "untag", "commission", "allocate", "mark_broken", "delete")
# The machine projection's fields maas_machine returns.
VIEW_FIELDS = ("system_id", "hostname", "fqdn", "status", "status_code", "status_message", "error_description",
               "architecture", "power_type", "power_state", "domain", "zone", "pool", "tags", "description",
               "mac_addresses", "ip_addresses")
SECRET_KEY_RE = re.compile(r"pass|secret|token|key", re.IGNORECASE)
MASK = "********"


def machine_view(machine):
    """The documented summary of a MAAS machine (the module's ``machine`` return value): ``VIEW_FIELDS`` of the
    collection's machine projection."""
    return project(machine, VIEW_FIELDS)


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


def masked(parameters):
    """Power parameters with secret-looking values replaced, for the diff and the returned plan."""
    return dict((key, MASK if SECRET_KEY_RE.search(key) else value) for key, value in parameters.items())


def changes(view, desired, power_parameters, purge_tags):
    """Fields of ``desired`` that differ from ``view``: ``tags`` as the whole wanted set, ``power_parameters`` as the
    keys whose values differ."""
    changed = {}
    for field, wanted in desired.items():
        if field == "tags":
            have, want = set(view["tags"]), set(wanted)
            if (want - have) or (purge_tags and have - want):
                changed["tags"] = sorted(want | (set() if purge_tags else have))
        elif view.get(field) != wanted:
            changed[field] = wanted
    current = view.get("power_parameters") or {}
    differing = dict((k, v) for k, v in power_parameters.items() if current.get(k) != v)
    if differing:
        changed["power_parameters"] = differing
    return changed


def describe(view):
    """``hostname (system_id)`` for messages."""
    return "%s (%s)" % (view["hostname"], view["system_id"])


def check_rename(before, desired, goal):
    """Refuse, before any write, a hostname that names another machine than the one found (``goal["found_by"]``:
    ``system_id`` or ``mac_addresses``; a machine found by hostname has it already).

    A typo in a MAC address or system ID would otherwise rename a production server and break its DNS, or delete the
    wrong machine. So with ``state=absent`` the mismatch always fails; otherwise a machine in use (``RENAME_GUARDED``)
    is renamed only with ``goal["rename_in_use"]``, and any other machine is renamed.
    """
    wanted = desired.get("hostname")
    if not wanted or wanted == before["hostname"]:
        return
    if goal["found_by"] == "mac_addresses":
        found = "MAAS has no machine %s, and mac_addresses %s belong to machine %s" % (
            wanted, ", ".join(goal["macs"]), describe(before))
    else:
        found = "system_id %s is machine %s" % (before["system_id"], before["hostname"])
    if goal["state"] == "absent":
        raise BadInput("hostname", "%s, not %s; nothing is deleted while hostname and %s name different "
                                   "machines. Check both, or leave hostname out to delete %s."
                       % (found, wanted, goal["found_by"], before["hostname"]))
    if before["status"] in RENAME_GUARDED and not goal.get("rename_in_use"):
        raise BadInput(
            "hostname", "%s, which is %s: renaming a machine in use from %s to %s changes its DNS name, so it needs "
                        "rename_in_use=true. Check the %s, or set rename_in_use=true to rename it."
                        % (found, before["status"], before["hostname"], wanted, goal["found_by"]))


def check_state(before, goal):
    """Refusals that depend only on the machine's status: deleting a machine in use without force, commissioning one
    that must be released first."""
    state, status = goal["state"], before["status"]
    if state == "absent" and status in IN_USE and not goal.get("force"):
        raise BadInput("force", "machine %s is %s; set force=true to delete a machine in use."
                       % (describe(before), status))
    # Allocated, Deploying and Deployed machines were commissioned and are in use: the state holds, and a
    # provisioning playbook that enlists, commissions and deploys can be rerun without touching them.
    if state == "ready" and status not in COMMISSIONABLE + COMMISSIONING + IN_USE + ("Ready",):
        raise BadInput("state", "machine %s is %s; it must be released before it can be commissioned."
                       % (describe(before), status))


def broken_mode(machine, me):
    """How to mark ``machine`` (as MAAS returns it) broken for user ``me``: ``"mark"`` when ``me`` owns it,
    ``"allocate"`` when it is Ready without owner (allocating it first is safe: MAAS releases it again as it marks it
    broken); otherwise a ``BadInput`` saying what to do."""
    # MAAS 3.5/3.6 let only the owner mark a machine broken, admins included (API and web UI): 403, empty body.
    owner, status = machine.get("owner"), machine.get("status_name")
    name = "%s (%s)" % (machine.get("hostname"), machine.get("system_id"))
    if machine.get("locked"):
        raise BadInput("state", "machine %s is locked; MAAS changes nothing on a locked machine. Unlock "
                                "it first, then mark it broken." % name)
    if owner and owner == me:
        return "mark"
    rule = "MAAS lets only a machine's owner mark it broken (an admin too gets 403 otherwise)"
    if owner:
        raise BadInput(
            "state", "machine %s is %s and allocated to %s; %s. Have %s mark it broken (this task with their API "
                     "key), or release it first (gough.gough.maas_deploy state=released) and rerun, which "
                     "allocates it to you and marks it broken." % (name, status, owner, rule, owner))
    if status == "Ready":
        return "allocate"
    raise BadInput(
        "state", "machine %s is %s and has no owner; %s, and MAAS allocates only Ready machines, so this task "
                 "cannot take it first. Commission it to Ready (state=ready) and rerun, or delete it "
                 "(state=absent)." % (name, status, rule))


def make_plan(before, desired, goal):
    """The ordered steps that take the machine from ``before`` (a view with the managed power parameters, or None)
    to ``desired`` (the managed fields) and ``goal`` (``state``, ``macs``, ``power_parameters``, ``purge_tags``,
    ``wait``, ``wait_timeout``, ``commission`` form, ``comment``, ``mark`` from ``broken_mode``, ``force``,
    ``found_by``, ``rename_in_use``). Raises ``BadInput`` for what must be refused before any write."""
    state = goal["state"]
    if before is not None:
        check_rename(before, desired, goal)
        check_state(before, goal)
    if state == "absent":
        return [("delete", {})] if before is not None else []
    steps = []
    if before is None:
        create = dict((k, v) for k, v in desired.items() if k != "tags")
        create["mac_addresses"] = list(goal["macs"])
        if goal["power_parameters"]:
            create["power_parameters"] = dict(goal["power_parameters"])
        steps.append(("create", create))
        steps.extend(("tag", {"name": tag}) for tag in desired.get("tags", []))
        status = "New"
    else:
        changed = changes(before, desired, goal["power_parameters"], goal["purge_tags"])
        update = dict((k, v) for k, v in changed.items() if k != "tags")
        if update:
            steps.append(("update", update))
        wanted = set(changed.get("tags", before["tags"]))
        steps.extend(("tag", {"name": tag}) for tag in sorted(wanted - set(before["tags"])))
        steps.extend(("untag", {"name": tag}) for tag in sorted(set(before["tags"]) - wanted))
        status = before["status"]
    if state == "ready":
        if status in COMMISSIONABLE:
            steps.append(("commission", dict(goal["commission"])))
        if goal["wait"] and status in COMMISSIONABLE + COMMISSIONING:
            steps.append(("wait", {"until": "Ready", "timeout": goal["wait_timeout"]}))
    elif state == "broken" and status != "Broken":
        if goal.get("mark") == "allocate":
            steps.append(("allocate", {}))
        steps.append(("mark_broken", {"comment": goal.get("comment")}))
    return steps


def outcome(before, steps):
    """The machine view after ``steps`` ran on ``before``, as check mode predicts it (None once deleted)."""
    after = copy.deepcopy(before)
    for verb, args in steps:
        if verb == "create":
            after = machine_view({})
            after.update(args)
            after.update(status="New", status_code=STATUS_CODES["New"])
        elif verb == "update":
            for field, value in args.items():
                if field == "power_parameters":
                    after.setdefault("power_parameters", {}).update(value)
                else:
                    after[field] = value
        elif verb in ("tag", "untag"):
            others = set(after["tags"]) - set([args["name"]])
            after["tags"] = sorted(others | set([args["name"]]) if verb == "tag" else others)
        elif verb == "delete":
            after = None
        else:
            after["status"] = {"commission": "Commissioning", "wait": args.get("until"),
                               "allocate": "Allocated", "mark_broken": "Broken"}[verb]
            after["status_code"] = STATUS_CODES[after["status"]]
            if verb == "mark_broken":
                after["error_description"] = args["comment"] or ""
    return after


def label(step):
    """The ``actions`` entry of a step: ``update <fields>``, ``tag <name>``, ``untag <name>``, or the verb."""
    verb, args = step
    if verb == "update":
        return "update " + ", ".join(sorted(args))
    if verb in ("tag", "untag"):
        return "%s %s" % (verb, args["name"])
    return verb


def public_plan(steps):
    """The plan as the module returns it: ``[{"action": verb, "args": {...}}]``, power parameters masked."""
    result = []
    for verb, args in steps:
        args = dict(args)
        if "power_parameters" in args:
            args["power_parameters"] = masked(args["power_parameters"])
        result.append({"action": verb, "args": args})
    return result


def machine_result(before, after, steps, actions):
    """The module's result: ``changed``, ``machine`` (without power parameters), ``actions``, ``plan`` and the
    ``diff`` of the managed fields (secret-looking power parameters masked)."""
    diff = {}
    for side, entity in (("before", before), ("after", after)):
        diff[side] = dict((f, entity[f]) for f in DIFF_FIELDS if f in entity) if entity else {}
        if "power_parameters" in diff[side]:
            diff[side]["power_parameters"] = masked(diff[side]["power_parameters"] or {})
    machine = dict((k, v) for k, v in (after or {}).items() if k != "power_parameters")
    return {"changed": bool(actions), "machine": machine, "actions": list(actions), "plan": public_plan(steps),
            "diff": diff}
