# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Input checks shared by the MAAS modules, run before the first write.

Every check raises ``BadInput`` (a ``ValueError``) whose message starts
with the name of the option it is about (``mac_addresses: 'zz' is not a MAC address ...``); ``GoughModule.run``
hands it to ``fail_json`` with that ``field``. The pure checks also return the value normalised to the spelling MAAS
uses, so modules compare like with like.

``check_references`` needs a client: it makes one ``GET`` per kind of object named (zones, pools, domains,
tags) and lists every unknown name in its message. ``normalize_distro_series`` consults ``GET boot-resources/``
when given a client, so a series MAAS has not imported fails early too.

Runs inside modules, so it imports only the standard library and ``gough_module`` (for ``BadInput``).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible_collections.gough.gough.plugins.module_utils.gough_module import BadInput


# -- MAC addresses ----------------------------------------------------------------------------------------------

# The spellings MAAS accepts: colons or hyphens between octets, Cisco dotted quads, or 12 bare hex digits.
_MAC_RE = re.compile(r"^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$|^([0-9a-f]{4}\.){2}[0-9a-f]{4}$|^[0-9a-f]{12}$")


def normalize_mac(value, field="mac_addresses"):
    """Return ``value`` as a lower-case, colon-separated MAC (``52:54:00:12:34:56``) or raise naming ``field``."""
    if not isinstance(value, str) or not _MAC_RE.match(value.strip().lower()):
        raise BadInput(field, "%r is not a MAC address; use six hex octets such as 52:54:00:12:34:56."
                       % (value,))
    digits = re.sub(r"[^0-9a-f]", "", value.strip().lower())
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))


def normalize_macs(values, field="mac_addresses"):
    """Normalise each MAC of ``values`` (see ``normalize_mac``), dropping repeats; keeps the given order."""
    result = []
    for value in values or []:
        mac = normalize_mac(value, field)
        if mac not in result:
            result.append(mac)
    return result


# -- hostnames --------------------------------------------------------------------------------------------------

# RFC 1123 label: letters, digits and hyphens, 1 to 63 characters, no hyphen at either end.
_LABEL_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", re.IGNORECASE)


def validate_hostname(value, field="hostname", allow_fqdn=False):
    """Check a MAAS hostname and return it.

    A MAAS hostname is one RFC 1123 label (letters, digits, hyphens; 1-63 characters; no hyphen first or last).
    With ``allow_fqdn`` a dotted name is accepted when every label is valid and the whole is at most 253 characters.
    """
    if not isinstance(value, str) or not value:
        raise BadInput(field, "must be a non-empty string.")
    labels = value.split(".")
    if len(labels) > 1 and not allow_fqdn:
        raise BadInput(field, "%r must be a short hostname without dots (the domain is a separate "
                              "option)." % value)
    if len(value) > 253:
        raise BadInput(field, "%r is longer than 253 characters." % value)
    for label in labels:
        if not _LABEL_RE.match(label):
            raise BadInput(
                field, "%r is not a valid hostname: each label must be 1 to 63 letters, digits or hyphens, and "
                       "must not start or end with a hyphen." % value)
    return value


# -- architectures ----------------------------------------------------------------------------------------------

#: Architectures MAAS can boot; a bare name means the ``generic`` subarchitecture.
ARCHITECTURES = ("amd64", "arm64", "armhf", "i386", "ppc64el", "riscv64", "s390x")
# Subarchitectures: generic, hwe-22.04, ga-24.04, xgene-uboot, ...
_SUBARCH_RE = re.compile(r"^[a-z0-9][a-z0-9.+-]*$")


def normalize_architecture(value, field="architecture"):
    """Return ``arch/subarch`` for ``amd64``, ``amd64/generic``, ``arm64/hwe-22.04``, ...; raise on anything else."""
    if not isinstance(value, str) or not value.strip():
        raise BadInput(field, "must be one of %s, optionally followed by /subarchitecture "
                              "(e.g. amd64/generic)." % ", ".join(ARCHITECTURES))
    text = value.strip().lower()
    arch, _sep, subarch = text.partition("/")
    if arch not in ARCHITECTURES:
        raise BadInput(field, "%r is not a known architecture; expected one of %s, optionally followed "
                              "by /subarchitecture (e.g. amd64/generic)."
                       % (value, ", ".join(ARCHITECTURES)))
    if _sep and not _SUBARCH_RE.match(subarch):
        raise BadInput(field, "%r has an invalid subarchitecture %r (expected e.g. generic or hwe-22.04)."
                       % (value, subarch))
    return "%s/%s" % (arch, subarch or "generic")


# -- power types and parameters ---------------------------------------------------------------------------------

#: Power drivers MAAS knows, with the power parameters this collection insists on before enlisting a machine.
#: The lists are the parameters without which the driver cannot reach the machine; other parameters are passed on
#: unchecked. ``manual`` needs none.
POWER_TYPES = {
    "amt": ("power_address",),
    "apc": ("power_address", "node_outlet"),
    "dli": ("power_address", "outlet_id"),
    "eaton": ("power_address", "node_outlet"),
    "hmc": ("power_address", "server_name", "lpar"),
    "hmcz": ("power_address", "power_partition_name"),
    "ipmi": ("power_address",),
    "lxd": ("power_address", "instance_name"),
    "manual": (),
    "moonshot": ("power_address", "power_hwaddress"),
    "mscm": ("power_address", "node_id"),
    "msftocs": ("power_address", "blade_id"),
    "nova": ("nova_id", "os_tenantname", "os_username", "os_password", "os_authurl"),
    "openbmc": ("power_address",),
    "proxmox": ("power_address", "power_vm_name"),
    "recs_box": ("power_address", "node_id"),
    "redfish": ("power_address",),
    "sm15k": ("power_address", "system_id"),
    "ucsm": ("power_address", "uuid"),
    "virsh": ("power_address", "power_id"),
    "vmware": ("power_address", "power_vm_name"),
    "webhook": ("power_on_uri", "power_off_uri", "power_query_uri"),
    "wedge": ("power_address",),
}


def validate_power_type(value, field="power_type"):
    """Return ``value`` if it is one of ``POWER_TYPES``, else raise listing them."""
    if value not in POWER_TYPES:
        raise BadInput(field, "%r is not a MAAS power type; expected one of %s."
                       % (value, ", ".join(sorted(POWER_TYPES))))
    return value


def validate_power_parameters(power_type, parameters, field="power_parameters", type_field="power_type"):
    """Check ``power_type`` and that ``parameters`` (a dict) has a non-empty value for each required key.

    Returns the parameters with values as strings (MAAS stores them as text). Raises naming ``field`` and every
    missing key at once.
    """
    validate_power_type(power_type, type_field)
    parameters = parameters or {}
    if not isinstance(parameters, dict):
        raise BadInput(field, "must be a dictionary of power parameter names to values.")
    missing = [key for key in POWER_TYPES[power_type]
               if parameters.get(key) is None or str(parameters.get(key)).strip() == ""]
    if missing:
        raise BadInput(field, "power type %s needs %s." % (power_type, ", ".join(missing)))
    return dict((key, value if isinstance(value, str) else str(value).lower() if isinstance(value, bool)
                 else str(value)) for key, value in parameters.items() if value is not None)


# -- distro series ----------------------------------------------------------------------------------------------

#: Ubuntu releases by codename and version, oldest first. MAAS accepts any of ``jammy``, ``ubuntu/jammy`` and
#: ``22.04`` for a release; this module normalises all three to the codename.
UBUNTU_SERIES = (
    ("trusty", "14.04"), ("xenial", "16.04"), ("bionic", "18.04"), ("focal", "20.04"), ("groovy", "20.10"),
    ("hirsute", "21.04"), ("impish", "21.10"), ("jammy", "22.04"), ("kinetic", "22.10"), ("lunar", "23.04"),
    ("mantic", "23.10"), ("noble", "24.04"), ("oracular", "24.10"), ("plucky", "25.04"), ("questing", "25.10"),
)
_VERSION_TO_CODENAME = dict((version, codename) for codename, version in UBUNTU_SERIES)
_CODENAMES = frozenset(codename for codename, _version in UBUNTU_SERIES)


def imported_series(client):
    """Series MAAS has boot images for, from ``GET boot-resources/``: Ubuntu as codenames, others as ``os/series``.

    Returns a sorted list, e.g. ``["centos/8", "jammy", "noble"]``.
    """
    found = set()
    for resource in client.get("boot-resources/") or []:
        name = resource.get("name") or ""
        osystem, _sep, series = name.partition("/")
        if not series:
            continue
        found.add(series if osystem == "ubuntu" else name)
    return sorted(found)


def normalize_distro_series(value, client=None, field="distro_series"):
    """Return the series MAAS should deploy, for ``jammy``, ``ubuntu/jammy`` or ``22.04``: here ``jammy``.

    Ubuntu series become their codename. Without a client only ``UBUNTU_SERIES`` is accepted. With a client, the
    series must also be one MAAS has boot images for (``imported_series``); a non-Ubuntu ``os/series`` such as
    ``centos/8`` is accepted then, when it is imported. Unknown series fail with the allowed list.
    """
    if not isinstance(value, str) or not value.strip():
        raise BadInput(field, "must be a release such as jammy, ubuntu/jammy or 22.04.")
    text = value.strip().lower()
    osystem, _sep, series = text.rpartition("/")
    if osystem in ("", "ubuntu"):
        series = _VERSION_TO_CODENAME.get(series, series)
        wanted = series if series in _CODENAMES else None
    else:
        wanted = text
    if client is not None:
        available = imported_series(client)
        candidate = wanted or series
        if candidate in available:
            return candidate
        raise BadInput(field, "%r is not a series MAAS has boot images for; imported: %s."
                       % (value, ", ".join(available) or "none"))
    if wanted is None or wanted not in _CODENAMES:
        raise BadInput(field, "%r is not a known Ubuntu series; expected one of %s (or ubuntu/<codename>, "
                              "or the version number)."
                       % (value, ", ".join("%s (%s)" % pair for pair in UBUNTU_SERIES)))
    return wanted


# -- objects that must exist on the server ----------------------------------------------------------------------

# -- tag names --------------------------------------------------------------------------------------------------

# MAAS's Tag model: name = CharField(max_length=256, validators=[RegexValidator("^[a-zA-Z0-9_-]+$")]).
_TAG_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]+$")
TAG_NAME_MAX = 256


def validate_tag_name(value, field="name"):
    """Return ``value`` if MAAS would accept it as a tag name (letters, digits, ``-`` and ``_``, at most 256
    characters); else raise ``BadInput`` quoting the name."""
    if not isinstance(value, str) or not _TAG_NAME_RE.match(value):
        raise BadInput(field, "%r is not a valid MAAS tag name; use only letters, digits, '-' and '_'."
                       % (value,))
    if len(value) > TAG_NAME_MAX:
        raise BadInput(field, "%r is not a valid MAAS tag name; MAAS allows at most %d characters (it has "
                              "%d)." % (value, TAG_NAME_MAX, len(value)))
    return value


#: kind -> (collection path, option name used in messages, noun)
_REFERENCE_KINDS = {
    "zone": ("zones/", "zone", "zone"),
    "pool": ("resourcepools/", "pool", "resource pool"),
    "domain": ("domains/", "domain", "domain"),
    "tag": ("tags/", "tags", "tag"),
}


def unknown_names(client, kind, names):
    """Names (or numeric ids) of ``names`` that MAAS has no ``kind`` (zone, pool, domain or tag) for; one GET."""
    names = [name for name in (names or []) if name not in (None, "")]
    if not names:
        return []
    path = _REFERENCE_KINDS[kind][0]
    known = set()
    for item in client.get(path) or []:
        known.add(str(item.get("name")))
        if item.get("id") is not None and kind in ("pool", "domain"):
            known.add(str(item["id"]))
    return [name for name in dict.fromkeys(str(n) for n in names) if name not in known]


def check_references(client, zone=None, pool=None, domain=None, tags=None, fields=None):
    """Raise ``BadInput`` if any named zone, pool, domain or tag does not exist in MAAS.

    Each argument is a name or a list of names (pools and domains may also be given by numeric id); kinds that
    are not given cost no request, the others one ``GET`` each. The message names the option (override with
    ``fields={"zone": "zones", ...}``) and lists every unknown name of the first kind found wanting.
    """
    fields = fields or {}
    for kind, value in (("zone", zone), ("pool", pool), ("domain", domain), ("tag", tags)):
        if value is None:
            continue
        names = value if isinstance(value, (list, tuple)) else [value]
        unknown = unknown_names(client, kind, names)
        if unknown:
            noun = _REFERENCE_KINDS[kind][2]
            raise BadInput(
                fields.get(kind, _REFERENCE_KINDS[kind][1]),
                "MAAS has no %s named %s." % (noun + ("s" if len(unknown) > 1 else ""), ", ".join(unknown)))
