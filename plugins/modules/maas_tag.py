#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: maas_tag
short_description: Create, update and delete MAAS tags, and choose which machines carry them
version_added: 0.1.0
description:
  - Makes sure a MAAS tag exists with the given comment, definition and kernel options, or does not exist.
  - Optionally adds the tag to machines, removes it from machines, or makes a given list of machines exactly the
    ones that carry it, with one C(update_nodes) request.
  - Machines are named by system ID or short hostname. All names are resolved before anything is written, and
    names MAAS does not know make the module fail without changing anything.
  - Creating, changing and deleting tags needs a MAAS administrator's API key.
author:
  - Gough developers (@gough)
extends_documentation_fragment:
  - gough.gough.maas
options:
  name:
    description:
      - Name of the tag. Letters, digits, V(-) and V(_) only, at most 256 characters (as MAAS requires).
    type: str
    required: true
  state:
    description:
      - V(present) creates the tag or brings it in line with the options; V(absent) deletes it (and so takes it off
        every machine).
    type: str
    choices: [present, absent]
    default: present
  comment:
    description:
      - Free-text description of the tag. Left as it is when not set.
    type: str
  definition:
    description:
      - XPath expression over the machines' hardware details; MAAS tags every matching machine automatically.
      - Left as it is when not set; V("") removes the definition.
    type: str
  kernel_opts:
    description:
      - Kernel command-line options added when a machine with this tag boots. Left as it is when not set.
    type: str
  machines:
    description:
      - Machines to add the tag to, remove it from, or to be exactly the machines that carry it (see
        O(machines_mode)), each as a system ID or a short hostname.
      - Names are found with one filtered list call, by system ID when every name looks like one (six lower-case
        letters and digits), else by hostname; names the first call did not find are looked up the other way.
      - Ignored when O(state=absent).
    type: list
    elements: str
  machines_mode:
    description:
      - V(add) adds the tag to O(machines) and leaves other machines alone.
      - V(remove) takes the tag off O(machines) and leaves other machines alone.
      - V(set) makes O(machines) exactly the machines that carry the tag; V(set) with an empty list takes it off
        every machine.
    type: str
    choices: [add, remove, set]
    default: add
  remove_machines:
    description:
      - Machines to take the tag off, in the same C(update_nodes) request that adds it to O(machines)
        (O(machines_mode=add)), each as a system ID or a short hostname. A machine in both lists keeps the tag.
      - The compliance gate uses it to quarantine and release servers in one request.
    type: list
    elements: str
  machines_missing:
    description:
      - What to do with names in O(machines) or O(remove_machines) that match no MAAS machine.
      - V(fail) fails the module before anything is written.
      - V(ignore) leaves them out and lists them in RV(machines_missing), for lists that come from elsewhere (for
        example Fleet's hosts, some of which MAAS may not manage).
    type: str
    choices: [fail, ignore]
    default: fail
attributes:
  check_mode:
    support: full
    description: Reads as usual and reports what would change, but sends no request that changes MAAS.
  diff_mode:
    support: full
    description: Shows the tag's fields, and its machines when O(machines) is set, before and after.
notes:
  - Idempotent. A second run with the same options reports no change.
  - MAAS re-evaluates a tag with a O(definition) on its own, so machines chosen by hand may be re-tagged or untagged
    by MAAS later.
seealso:
  - module: gough.gough.maas_machine_info
"""

EXAMPLES = r"""
- name: A tag for machines with GPUs, with a kernel option
  gough.gough.maas_tag:
    name: gpu
    comment: Machines with an NVIDIA GPU
    kernel_opts: nouveau.modeset=0

- name: Tag two machines, one by hostname and one by system ID
  gough.gough.maas_tag:
    name: rack-a
    machines: [node-01, 4y3h7n]

- name: Make exactly these machines carry the tag
  gough.gough.maas_tag:
    name: ceph
    machines: "{{ groups['ceph'] }}"
    machines_mode: set

- name: Take the tag off one machine
  gough.gough.maas_tag:
    name: rack-a
    machines: [node-01]
    machines_mode: remove

- name: Delete a tag
  gough.gough.maas_tag:
    name: old-tag
    state: absent
"""

RETURN = r"""
tag:
  description:
    - The tag after the module ran (as predicted in check mode).
    - Empty when O(state=absent).
  returned: success
  type: dict
  contains:
    name:
      description: Name of the tag.
      returned: when the tag exists
      type: str
      sample: gpu
    comment:
      description: Description of the tag.
      returned: when the tag exists
      type: str
      sample: Machines with an NVIDIA GPU
    definition:
      description: XPath definition, empty when machines are tagged by hand.
      returned: when the tag exists
      type: str
      sample: ""
    kernel_opts:
      description: Kernel options of the tag.
      returned: when the tag exists
      type: str
      sample: nouveau.modeset=0
    machines:
      description: System IDs of the machines that carry the tag, sorted.
      returned: when the tag exists and O(machines) is set
      type: list
      elements: str
      sample: [4y3h7n, 8cwxkq]
machines_added:
  description: System IDs the tag was (or in check mode would be) added to, sorted.
  returned: success
  type: list
  elements: str
  sample: [8cwxkq]
machines_removed:
  description: System IDs the tag was (or in check mode would be) taken off, sorted.
  returned: success
  type: list
  elements: str
  sample: []
hostnames_added:
  description: Hostnames of RV(machines_added), in the same order.
  returned: success
  type: list
  elements: str
  sample: [node-01]
hostnames_removed:
  description: Hostnames of RV(machines_removed), in the same order.
  returned: success
  type: list
  elements: str
  sample: []
machines_missing:
  description: Names in O(machines) that match no MAAS machine and were left out (O(machines_missing=ignore)).
  returned: success
  type: list
  elements: str
  sample: [laptop-17]
"""

from ansible_collections.gough.gough.plugins.module_utils.entity import EntitySpec, ensure_entity
from ansible_collections.gough.gough.plugins.module_utils.gough_module import BadInput, GoughModule
from ansible_collections.gough.gough.plugins.module_utils.maas_query import find_named_machines
from ansible_collections.gough.gough.plugins.module_utils.maas_validate import validate_tag_name

TAG_FIELDS = {"name": "", "comment": "", "definition": "", "kernel_opts": ""}


def read_tag(client, name):
    """The tag ``name`` with only the fields this module manages, or None when it does not exist."""
    tag = client.get_or_none("tags/%s/" % name)
    if tag is None:
        return None
    return dict((field, tag.get(field) or "") for field in TAG_FIELDS)


def read_members(client, name, hostnames=None):
    """Sorted system IDs of the machines carrying tag ``name``; their hostnames go into ``hostnames`` when given."""
    machines = client.get("tags/%s/" % name, op="machines") or []
    if hostnames is not None:
        hostnames.update((m["system_id"], m.get("hostname")) for m in machines)
    return sorted(m["system_id"] for m in machines)


def system_ids_of(machines, names):
    """Sorted system IDs of the ``machines`` that ``names`` refer to (by hostname or system ID)."""
    wanted = set(names)
    return sorted(m["system_id"] for m in machines if m["system_id"] in wanted or m.get("hostname") in wanted)


def target_members(current, given, mode):
    """The machines that should carry the tag, from its ``current`` ones, the ``given`` ones and the mode."""
    if mode == "set":
        return sorted(set(given))
    if mode == "remove":
        return sorted(set(current) - set(given))
    return sorted(set(current) | set(given))


def entity_matches(tag, fields):
    """True when ``tag`` exists and already has every value in ``fields`` (a PUT took effect)."""
    return tag is not None and all(tag.get(k) == v for k, v in fields.items())


class Tag(object):
    """Tag ``name`` as one entity: its fields and, when the task manages them, its machines (system IDs)."""

    def __init__(self, client, name, manage_members):
        self.client, self.name, self.manage_members = client, name, manage_members
        self.hostnames = {}
        fields = dict(TAG_FIELDS, **({"machines": []} if manage_members else {}))
        self.spec = EntitySpec(fields, self.create, self.update, self.delete)

    def read(self):
        """The tag as ``ensure_entity`` compares it, or None."""
        tag = read_tag(self.client, self.name)
        if tag is not None and self.manage_members:
            tag["machines"] = read_members(self.client, self.name, self.hostnames)
        return tag

    def update_nodes(self, before, after):
        add, remove = sorted(set(after) - set(before)), sorted(set(before) - set(after))
        if add or remove:
            self.client.post("tags/%s/" % self.name, op="update_nodes", data={"add": add, "remove": remove},
                             confirm=lambda: read_members(self.client, self.name) == after)

    def create(self, payload):
        fields = dict((k, v) for k, v in payload.items() if k in TAG_FIELDS)
        self.client.post("tags/", data=fields, confirm=lambda: read_tag(self.client, self.name))
        if self.manage_members:
            self.update_nodes([], payload.get("machines", []))
        return self.read()

    def update(self, entity, changes):
        fields = dict((k, v) for k, v in changes.items() if k in TAG_FIELDS)
        if fields:
            self.client.put("tags/%s/" % self.name, data=fields,
                            confirm=lambda: entity_matches(read_tag(self.client, self.name), fields))
        if "machines" in changes:
            self.update_nodes(entity["machines"], changes["machines"])
        return self.read()

    def delete(self, entity):
        self.client.delete("tags/%s/" % self.name, confirm=lambda: read_tag(self.client, self.name) is None)


def work(module):
    """Bring the tag to ``state`` with its fields and machines; report the machines added and removed."""
    params = module.params
    if params["remove_machines"] and params["machines_mode"] != "add":
        raise BadInput("remove_machines", "only with machines_mode=add (the other modes say it all).")
    name = validate_tag_name(params["name"])
    tag = Tag(module.client, name, params["state"] == "present" and params["machines"] is not None)
    given, taken_off, missing = [], [], []
    if tag.manage_members:
        to_remove = params["remove_machines"] or []
        # One lookup for both lists; each name is then matched by hostname or system ID.
        found, missing = find_named_machines(module.client, params["machines"] + to_remove)
        if missing and params["machines_missing"] == "fail":
            raise BadInput("machines", "MAAS has no machine with hostname or system ID %s." % ", ".join(sorted(missing)))
        tag.hostnames.update((m["system_id"], m.get("hostname")) for m in found)
        given = system_ids_of(found, params["machines"])
        taken_off = sorted(set(system_ids_of(found, to_remove)) - set(given))
    current = tag.read()
    desired = dict((field, params.get(field)) for field in TAG_FIELDS)
    if tag.manage_members:
        before = current["machines"] if current else []
        desired["machines"] = sorted(set(target_members(before, given, params["machines_mode"])) - set(taken_off))
    result = ensure_entity(tag.spec, current, desired, params["state"], module.check_mode)
    before_members = result["diff"]["before"].get("machines", [])
    after_members = result["diff"]["after"].get("machines", [])
    added = sorted(set(after_members) - set(before_members))
    removed = sorted(set(before_members) - set(after_members))
    return dict(
        changed=result["changed"], tag=result["entity"] or {}, diff=result["diff"],
        machines_added=added, machines_removed=removed, machines_missing=missing,
        hostnames_added=[tag.hostnames.get(system_id) for system_id in added],
        hostnames_removed=[tag.hostnames.get(system_id) for system_id in removed],
    )


def main():
    GoughModule("maas", dict(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        comment=dict(type="str"),
        definition=dict(type="str"),
        kernel_opts=dict(type="str"),
        machines=dict(type="list", elements="str"),
        machines_mode=dict(type="str", choices=["add", "remove", "set"], default="add"),
        remove_machines=dict(type="list", elements="str"),
        machines_missing=dict(type="str", choices=["fail", "ignore"], default="fail"),
    ), supports_check_mode=True, required_by={"remove_machines": ("machines",)}).run(work)


if __name__ == "__main__":
    main()
