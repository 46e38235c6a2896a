# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one projection of a MAAS machine: the names every module result and the inventory use for its fields.

Fields keep the names MAAS's API gives them, with two exceptions that keep one meaning per name across the
collection: ``status`` is the label (``Deployed``; MAAS's ``status_name``) and ``status_code`` the number (MAAS's
``status``), and ``tags`` are the tag names (MAAS's ``tag_names``). Zone, pool and domain are their names. A module
returns a subset of ``FIELDS`` under these names (``project(machine, fields)``); the inventory sets fields as host
variables with the ``maas_`` prefix (``hostvars(machine, fields)``): by default ``HOSTVARS_DEFAULT``, and the detail
groups of ``HOSTVARS_DETAIL`` a configuration opts into (``hostvar_fields(detail)``).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

# MAAS node status codes (maascommon/enums/node.py) and their display labels.
NODE_STATUS = {
    0: "New", 1: "Commissioning", 2: "Failed commissioning", 3: "Missing", 4: "Ready", 5: "Reserved",
    6: "Deployed", 7: "Retired", 8: "Broken", 9: "Deploying", 10: "Allocated", 11: "Failed deployment",
    12: "Releasing", 13: "Releasing failed", 14: "Disk erasing", 15: "Failed disk erasing", 16: "Rescue mode",
    17: "Entering rescue mode", 18: "Failed to enter rescue mode", 19: "Exiting rescue mode",
    20: "Failed to exit rescue mode", 21: "Testing", 22: "Failed testing",
}
STATUS_CODES = dict((name, code) for code, name in NODE_STATUS.items())
# Vendor strings MAAS reports when commissioning found nothing useful (compared case-insensitively).
UNKNOWN_HARDWARE = frozenset(("", "unknown", "not specified", "to be filled by o.e.m.", "default string"))
# Hardware fields the inventory sets only when MAAS reports a real value.
OPTIONAL_HOSTVARS = ("hardware_vendor", "hardware_product")


def _text(key):
    return lambda m: m.get(key) or ""


def _name_of(key):
    def get(machine):
        value = machine.get(key)
        return (value or {}).get("name") or "" if isinstance(value, dict) else value or ""
    return get


def _status(machine):
    return machine.get("status_name") or NODE_STATUS.get(machine.get("status")) or ""


def _status_code(machine):
    code = machine.get("status")
    return code if isinstance(code, int) else STATUS_CODES.get(machine.get("status_name"))


def _hardware(key):
    def get(machine):
        value = (machine.get("hardware_info") or {}).get(key)
        return value if isinstance(value, str) and value.strip().lower() not in UNKNOWN_HARDWARE else None
    return get


def interface(nic):
    """One ``interface_set`` entry: ``name``, ``mac_address``, ``vlan_name``, ``vlan_vid`` and the linked
    ``ip_addresses``."""
    vlan = nic.get("vlan") or {}
    return {
        "name": nic.get("name") or "",
        "mac_address": (nic.get("mac_address") or "").lower(),
        "vlan_name": vlan.get("name"),
        "vlan_vid": vlan.get("vid"),
        "ip_addresses": [link["ip_address"] for link in nic.get("links") or [] if link.get("ip_address")],
    }


# Canonical name -> how it is read from a machine as MAAS's API returns it.
FIELDS = {
    "system_id": _text("system_id"),
    "hostname": _text("hostname"),
    "fqdn": _text("fqdn"),
    "status": _status,
    "status_code": _status_code,
    "status_message": _text("status_message"),
    "error_description": _text("error_description"),
    "architecture": _text("architecture"),
    "power_type": _text("power_type"),
    "power_state": _text("power_state"),
    "domain": _name_of("domain"),
    "zone": _name_of("zone"),
    "pool": _name_of("pool"),
    "tags": lambda m: sorted(m.get("tag_names") or []),
    "description": _text("description"),
    "owner": lambda m: m.get("owner"),
    "osystem": _text("osystem"),
    "distro_series": _text("distro_series"),
    "cpu_count": lambda m: m.get("cpu_count"),
    "memory": lambda m: m.get("memory"),
    "storage": lambda m: m.get("storage"),
    "mac_addresses": lambda m: [nic["mac_address"].lower() for nic in m.get("interface_set") or []
                                if nic.get("mac_address")],
    "ip_addresses": lambda m: list(m.get("ip_addresses") or []),
    "interfaces": lambda m: [interface(nic) for nic in m.get("interface_set") or []],
    # MAAS 3.x names the owner's key/value data workload_annotations; older releases owner_data.
    "workload_annotations": lambda m: dict(m.get("workload_annotations") if m.get("workload_annotations") is not None
                                           else m.get("owner_data") or {}),
    "locked": lambda m: bool(m.get("locked")),
    "hardware_vendor": _hardware("system_vendor"),
    "hardware_product": _hardware("system_product"),
}


# The inventory's default host variables: what playbooks and Gough's roles use to pick and reach machines. Every other
# field is in one opt-in detail group (the inventory's hostvars_detail option): each string costs ansible-core an
# unsafe wrapper in every ansible-inventory --list, so 10,000 hosts should not carry what few playbooks read.
HOSTVARS_DEFAULT = ("system_id", "hostname", "fqdn", "domain", "status", "zone", "pool", "tags", "osystem",
                    "distro_series", "ip_addresses")
HOSTVARS_DETAIL = {
    "status": ("status_code", "status_message", "error_description", "locked"),
    "ownership": ("owner", "description"),
    "annotations": ("workload_annotations",),
    "hardware": ("architecture", "cpu_count", "memory", "storage", "power_type", "power_state", "hardware_vendor",
                 "hardware_product"),
    "interfaces": ("mac_addresses", "interfaces"),
}


def hostvar_fields(detail=()):
    """The field names the inventory sets: ``HOSTVARS_DEFAULT`` and the ``HOSTVARS_DETAIL`` groups named in
    ``detail`` (``all`` for every group), in ``FIELDS`` order. Raises ``ValueError`` naming an unknown group."""
    detail = set(detail or ())
    unknown = sorted(detail - set(HOSTVARS_DETAIL) - {"all"})
    if unknown:
        raise ValueError("unknown host variable detail %s; choose from %s or all"
                         % (", ".join(unknown), ", ".join(sorted(HOSTVARS_DETAIL))))
    if "all" in detail:
        detail = set(HOSTVARS_DETAIL)
    chosen = set(HOSTVARS_DEFAULT).union(*(HOSTVARS_DETAIL[group] for group in detail))
    return tuple(name for name in FIELDS if name in chosen)


def project(machine, fields=None):
    """``machine`` (as MAAS's API returns it) under the canonical names: every field, or those in ``fields``."""
    machine = machine or {}
    return dict((name, FIELDS[name](machine)) for name in (fields or FIELDS))


def hostvars(machine, fields=None):
    """The inventory's host variables of ``machine``: every field, or those in ``fields``, prefixed ``maas_``; the
    hardware fields only when MAAS reports a real value."""
    view = project(machine, fields)
    return dict(("maas_" + name, value) for name, value in view.items()
                if not (name in OPTIONAL_HOSTVARS and value is None))
