# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The MAAS side of ``maas_machine``: find the machine, the checks that need a request, and the executor that runs a
plan from ``maas_machine_plan`` step by step.

Every write is sent with a ``confirm``/``took_effect`` check, so a request retried after a lost answer is never
repeated once it took effect (the machine is re-read first). A step that fails leaves ``actions`` listing the steps
done before it.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.gough.gough.plugins.module_utils.gough_module import BadInput
from ansible_collections.gough.gough.plugins.module_utils.maas import MAASError, status_in
from ansible_collections.gough.gough.plugins.module_utils.maas_machine_plan import (
    COMMISSIONING, PUT_FIELDS, WRITES, as_text, describe, label, machine_view)
from ansible_collections.gough.gough.plugins.module_utils.maas_validate import (
    check_references, validate_power_parameters)
from ansible_collections.gough.gough.plugins.module_utils.maas_query import (
    describe_events, latest_event_id, latest_events)
from ansible_collections.gough.gough.plugins.module_utils.polling import WaitTimeout, wait_until


class StepFailed(Exception):
    """A step failed after writes began; ``extra`` holds what the module returns with the message (``machine``,
    ``events``)."""

    def __init__(self, msg, machine=None, **extra):
        super(StepFailed, self).__init__(msg)
        self.extra = dict(extra, machine=machine_view(machine) if machine else {})


class MachineSteps(object):
    """Reads and writes one MAAS machine for ``maas_machine``.

    ``identity`` holds ``system_id``, ``hostname`` and ``macs`` (normalised) as given; ``power_parameters`` the ones
    the task manages (text values); ``poll_interval`` the first interval of the commissioning wait; ``comment`` the
    comment sent with allocate. ``actions`` lists the labels of the write steps done so far.
    """

    def __init__(self, client, identity, power_parameters, poll_interval, comment=None):
        self.client, self.identity, self.power_parameters = client, identity, power_parameters
        self.poll_interval, self.comment, self.actions, self.allocated = poll_interval, comment, [], False

    # -- reading and the checks that need MAAS --------------------------------------------------------------------

    def find(self):
        """``(machine, found_by)``: the machine named by system_id, else hostname, else MAC addresses (one filtered
        GET each; None when there is none), and the option that found it (or would have)."""
        system_id, hostname, macs = (self.identity.get(k) for k in ("system_id", "hostname", "macs"))
        if system_id:
            try:
                return self.client.get_machine(system_id), "system_id"
            except MAASError as exc:
                if exc.status != 404:
                    raise
                return None, "system_id"
        found = self.client.get("machines/", params={"hostname": hostname}) if hostname else []
        if found:
            return found[0], "hostname"
        found = self.client.get("machines/", params={"mac_address": macs}) if macs else []
        if len(found) > 1:
            raise BadInput("mac_addresses", "the addresses belong to more than one machine (%s)."
                           % ", ".join(describe(machine_view(m)) for m in found))
        return (found[0] if found else None), "mac_addresses"

    def view(self, machine):
        """``machine_view`` plus the power parameters the task manages (read only when it manages some)."""
        view = machine_view(machine)
        if self.power_parameters:
            current = self.client.get("machines/%s/" % machine["system_id"], op="power_parameters") or {}
            view["power_parameters"] = dict((k, as_text(current[k]) if current.get(k) is not None else None)
                                            for k in self.power_parameters)
        return view

    def check_settings(self, current, desired):
        """Before any write: the power driver's required parameters (on create or a power type change), what MAAS
        needs to create a machine, and that the named zone, pool, domain and tags exist. A domain or pool given by
        numeric ID is replaced in ``desired`` by the name MAAS shows, so that a rerun compares like with like."""
        power_type, macs = desired.get("power_type"), self.identity.get("macs")
        if power_type and (current is None or current.get("power_type") != power_type):
            validate_power_parameters(power_type, self.power_parameters)
        if current is None and not desired.get("hostname") and not macs:
            raise BadInput("hostname", "a new machine needs hostname or mac_addresses so that later runs can find it.")
        needs = (("mac_addresses", macs), ("architecture", desired.get("architecture")))
        for field, value in needs if current is None and power_type != "ipmi" else ():
            if not value:
                raise BadInput(field, "required to create a machine unless power_type is ipmi.")
        check_references(self.client, zone=desired.get("zone"), pool=desired.get("pool"),
                         domain=desired.get("domain"), tags=desired.get("tags"))
        for field in ("domain", "pool"):
            ref = (current or {}).get(field)
            if isinstance(ref, dict) and desired.get(field) == str(ref.get("id")):
                desired[field] = ref.get("name")

    def check_identity(self, before, desired, found_by, renaming):
        """Fail before any write when a given identifier names another machine than the one found: a MAC address
        that is not on it (naming the machine that has it), or, when ``renaming``, a hostname another machine has
        (MAAS hostnames are unique)."""
        missing = [mac for mac in self.identity.get("macs") or [] if mac not in before["mac_addresses"]]
        if missing:
            holders = self.client.get("machines/", params={"mac_address": missing})
            where = ("they belong to machine %s" % ", ".join(describe(machine_view(m)) for m in holders)
                     if holders else "no machine has them")
            raise BadInput("mac_addresses", "%s not on machine %s; %s. This module does not add interfaces."
                           % (", ".join(missing), describe(before), where))
        wanted = desired.get("hostname")
        taken = self.client.get("machines/", params={"hostname": wanted}) if renaming and found_by == "system_id" \
            and wanted and wanted != before["hostname"] else []
        if taken:
            raise BadInput("hostname", "%s is machine %s, but system_id %s is machine %s; MAAS hostnames are unique, "
                                       "so it cannot be renamed to %s." % (wanted, describe(machine_view(taken[0])),
                                                                           before["system_id"], before["hostname"],
                                                                           wanted))

    # -- executing a plan -----------------------------------------------------------------------------------------

    def apply(self, machine, steps):
        """Run ``steps`` in order on ``machine`` (None before a create); return the machine as MAAS has it after the
        last step, or None once deleted."""
        for step in steps:
            machine = getattr(self, step[0])(machine, step[1])
            if step[0] in WRITES:
                self.actions.append(label(step))
        return self.client.get_machine(machine["system_id"]) if machine else None

    def create(self, _machine, args):
        data = dict(((f, args.get(f)) for f in PUT_FIELDS), commission=False,
                    mac_addresses=args["mac_addresses"] or None)
        data.update(("power_parameters_%s" % k, v) for k, v in args.get("power_parameters", {}).items())
        return self.client.post("machines/", data=data, confirm=lambda: self.find()[0])

    def update(self, machine, changed):
        sid = machine["system_id"]
        data = dict((field, changed[field]) for field in PUT_FIELDS if field in changed)
        data.update(("power_parameters_%s" % k, v) for k, v in changed.get("power_parameters", {}).items())
        if "power_parameters" in changed:
            data.setdefault("power_type", machine.get("power_type") or "")  # MAAS checks them against the type

        def applied():
            fresh = self.client.get_machine(sid)
            view = self.view(fresh)
            return fresh if all(view.get(f) == changed[f] for f in PUT_FIELDS if f in changed) and all(
                view["power_parameters"].get(k) == v for k, v in changed.get("power_parameters", {}).items()) else None
        self.client.put("machines/%s/" % sid, data=data, confirm=applied)
        return machine

    def tag(self, machine, args, how="add"):
        sid, tag = machine["system_id"], args["name"]

        def done():
            carries = tag in (self.client.get_machine(sid).get("tag_names") or [])
            return {"done": True} if carries == (how == "add") else None
        self.client.post("tags/%s/" % tag, op="update_nodes", data={how: sid}, confirm=done)
        return machine

    def untag(self, machine, args):
        return self.tag(machine, args, how="remove")

    def commission(self, machine, form):
        sid, start = machine["system_id"], machine.get("status_name")
        before, started = latest_event_id(self.client, sid), status_in(*COMMISSIONING)

        def took_effect(fresh):
            # A fast commission may already have ended in the starting status; a new event shows it ran.
            return started(fresh) or fresh.get("status_name") != start or latest_event_id(self.client, sid) != before
        return self.client.machine_op(sid, "commission", data=form, took_effect=took_effect)

    def wait(self, machine, args):
        """Poll until commissioning ends; fail with the status and the newest events unless it ends in
        ``args["until"]``."""
        sid, name = machine["system_id"], "%s (%s)" % (machine.get("hostname"), machine["system_id"])
        try:
            machine = wait_until(lambda: self.client.get_machine(sid), lambda m: m.get("status_name") not in
                                 COMMISSIONING, timeout=args["timeout"], interval=self.poll_interval,
                                 max_interval=self.poll_interval * 6)
        except WaitTimeout as exc:
            raise StepFailed("Commissioning of %s did not finish within %d seconds; it is still %s."
                             % (name, args["timeout"], exc.last.get("status_name")), exc.last)
        if machine.get("status_name") != args["until"]:
            events = latest_events(self.client, sid, 5)
            raise StepFailed("Commissioning of %s failed: the machine is %s: %s. Latest events: %s"
                             % (name, machine.get("status_name"), machine.get("status_message")
                                or machine.get("error_description") or "(no message)",
                                describe_events(events) or "(none)"), machine, events=events)
        return machine

    def allocate(self, machine, _args):
        sid, me = machine["system_id"], (self.client.whoami() or {}).get("username")

        def allocated():
            fresh = self.client.get_machine(sid)
            return fresh if fresh.get("owner") == me and fresh.get("status_name") == "Allocated" else None
        self.client.post("machines/", op="allocate", data={"system_id": sid, "comment": self.comment},
                         confirm=allocated)
        self.allocated = True
        return machine

    def mark_broken(self, machine, args):
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

    def delete(self, machine, _args):
        sid = machine["system_id"]

        def gone():
            return True if self.client.get_or_none("machines/%s/" % sid) is None else None
        self.client.delete("machines/%s/" % sid, confirm=gone)
