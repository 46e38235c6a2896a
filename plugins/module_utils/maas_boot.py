# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""MAAS DNS settings and boot images, as ``maas_dns``, ``maas_boot_source`` and ``maas_boot_resources_info`` use them.

DNS: ``upstream_dns`` and ``dnssec_validation`` are region settings (``maas/?op=get_config`` / ``set_config``);
``check_dns`` checks them as MAAS would, before any write. Boot images: a boot source's selections (os, release,
arches, subarches, labels) say what ``POST boot-resources/?op=import`` brings in. ``check_selections`` normalises
the wanted selections and refuses what MAAS would (an unknown Ubuntu release or architecture, a duplicate), and
``plan_selections`` gives the creates, updates and deletes that make the source's selections match. ``missing_images``
compares the imported boot resources with the selections.

Runs inside modules, so it imports only the standard library and the collection's own module_utils.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ipaddress
import re
import time

from ansible_collections.gough.gough.plugins.module_utils.gough_module import BadInput
from ansible_collections.gough.gough.plugins.module_utils.maas import MAASError
from ansible_collections.gough.gough.plugins.module_utils.maas_validate import UBUNTU_SERIES
from ansible_collections.gough.gough.plugins.module_utils.polling import wait_until

DNSSEC_CHOICES = ("auto", "yes", "no")
# Architectures MAAS has images for (simplestreams); a selection of anything else can never import.
ARCHES = ("amd64", "arm64", "armhf", "i386", "ppc64el", "riscv64", "s390x")
SELECTION_FIELDS = ("os", "release", "arches", "subarches", "labels")
_VERSIONS = dict((version, codename) for codename, version in UBUNTU_SERIES)
_CODENAMES = [codename for codename, _version in UBUNTU_SERIES]


# -- DNS ---------------------------------------------------------------------------------------------------------
def get_config(client, name):
    """One MAAS setting (``GET maas/?op=get_config&name=...``)."""
    return client.get("maas/", op="get_config", params={"name": name})


def set_config(client, name, value):
    """Change one MAAS setting; a retry is sent only after a re-read shows it did not happen."""
    client.post("maas/", op="set_config", data={"name": name, "value": value},
                confirm=lambda: get_config(client, name) == value)


def _canonical(address):
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return address


def split_addresses(text):
    """MAAS's stored ``upstream_dns`` (space-separated, or None) as a list of canonical addresses.

    MAAS stores the addresses as they were sent (``2001:DB8::35``); comparing canonical forms keeps reruns
    idempotent.
    """
    return [_canonical(part) for part in re.split(r"[,\s]+", text or "") if part]


def read_dns(client):
    """``{"upstream_dns": [addresses], "dnssec_validation": "auto"|"yes"|"no"}`` as MAAS has them."""
    return {"upstream_dns": split_addresses(get_config(client, "upstream_dns")),
            "dnssec_validation": get_config(client, "dnssec_validation") or "auto"}


def check_dnssec(value):
    """``auto``, ``yes`` or ``no`` (YAML's booleans true/false count as yes/no); None stays None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value).strip().lower()
    if text not in DNSSEC_CHOICES:
        raise BadInput("dnssec_validation", "must be one of %s, got %r." % (", ".join(DNSSEC_CHOICES), value))
    return text


def check_upstream_dns(values):
    """The addresses as MAAS stores them (IPv4 or IPv6, canonical text); BadInput names the first bad one."""
    if values is None:
        return None
    clean = []
    for index, value in enumerate(values):
        try:
            clean.append(str(ipaddress.ip_address(str(value).strip())))
        except ValueError:
            raise BadInput("upstream_dns[%d]" % index, "%r is not an IP address (MAAS forwards to addresses, not "
                                                       "names)." % value)
    return clean


# -- selections --------------------------------------------------------------------------------------------------
def _names(values, field, default):
    if values is None:
        return list(default)
    if not values:
        raise BadInput(field, "must not be empty; '*' selects every one.")
    out = sorted(set(str(v).strip() for v in values))
    if "" in out:
        raise BadInput(field, "must not contain an empty name.")
    return out


def check_selection(item, index):
    """One wanted selection, normalised (``22.04`` becomes ``jammy``, lists sorted, ``*`` by default)."""
    field = "selections[%d]" % index
    if not isinstance(item, dict):
        raise BadInput(field, "must be a dictionary with os, release, arches and subarches.")
    unknown = sorted(set(item) - set(SELECTION_FIELDS))
    if unknown:
        raise BadInput(field, "unknown key %s; known: %s." % (", ".join(unknown), ", ".join(SELECTION_FIELDS)))
    osystem = str(item.get("os") or "ubuntu").strip()
    release = str(item.get("release") or "").strip()
    if not release:
        raise BadInput(field + ".release", "is required (for example noble).")
    if osystem == "ubuntu":
        release = _VERSIONS.get(release, release)
        if release not in _CODENAMES:
            raise BadInput(field + ".release", "%r is not an Ubuntu release MAAS has images for; known: %s."
                           % (item.get("release"), ", ".join(_CODENAMES)))
    arches = _names(item.get("arches"), field + ".arches", ["amd64"])
    bad = [a for a in arches if a != "*" and a not in ARCHES]
    if bad:
        raise BadInput(field + ".arches", "unknown architecture %s; known: %s." % (", ".join(bad), ", ".join(ARCHES)))
    return {"os": osystem, "release": release, "arches": arches,
            "subarches": _names(item.get("subarches"), field + ".subarches", ["*"]),
            "labels": _names(item.get("labels"), field + ".labels", ["*"])}


def check_selections(items):
    """Every wanted selection normalised; one per os/release, as MAAS allows."""
    clean, seen = [], {}
    for index, item in enumerate(items or []):
        selection = check_selection(item, index)
        key = "%s/%s" % (selection["os"], selection["release"])
        if key in seen:
            raise BadInput("selections[%d]" % index, "%s is already selections[%d]; MAAS keeps one selection per "
                                                     "os and release." % (key, seen[key]))
        seen[key] = index
        clean.append(selection)
    return clean


def find_source(client, url=None):
    """The boot source with ``url``, or the first one (lowest id) when ``url`` is None; BadInput when none."""
    sources = sorted(client.get("boot-sources/") or [], key=lambda s: s["id"])
    if url is not None:
        sources = [s for s in sources if s.get("url", "").rstrip("/") == url.rstrip("/")]
    if not sources:
        raise BadInput("source_url", "MAAS has no boot source %s." % (url or "at all"))
    return sources[0]


def read_selections(client, source_id):
    """The source's selections, each with ``id`` and the managed fields (lists sorted)."""
    out = []
    for sel in client.get("boot-sources/%d/selections/" % source_id) or []:
        entry = {"id": sel["id"], "os": sel.get("os") or "", "release": sel.get("release") or ""}
        entry.update((name, sorted(sel.get(name) or [])) for name in ("arches", "subarches", "labels"))
        out.append(entry)
    return out


def public(selection):
    """A selection without its id, as results show it."""
    return dict((name, selection[name]) for name in SELECTION_FIELDS)


def key_of(selection):
    """``os/release`` of a selection."""
    return "%s/%s" % (selection["os"], selection["release"])


def plan_selections(current, wanted):
    """``(create, update, delete)``: wanted selections to create, ``(current, wanted)`` pairs to change, current
    selections to delete, so that the source selects exactly ``wanted``."""
    by_key = dict((key_of(s), s) for s in current)
    wanted_keys = set(key_of(s) for s in wanted)
    create = [s for s in wanted if key_of(s) not in by_key]
    update = [(by_key[key_of(s)], s) for s in wanted if key_of(s) in by_key and public(by_key[key_of(s)]) != s]
    delete = [s for s in current if key_of(s) not in wanted_keys]
    return create, update, delete


def write_error(exc, selection):
    """A MAAS refusal of a selection as BadInput naming the selection (MAAS's text kept)."""
    if isinstance(exc, MAASError) and exc.status == 400:
        return BadInput("selections", "MAAS refused %s: %s" % (key_of(selection), exc.maas_message or exc))
    return exc


# -- images ------------------------------------------------------------------------------------------------------
def read_resources(client):
    """The imported boot resources, sorted by name and architecture."""
    fields = ("id", "name", "type", "architecture", "subarches", "title")
    resources = [dict((f, r.get(f)) for f in fields) for r in client.get("boot-resources/") or []]
    return sorted(resources, key=lambda r: (r["name"] or "", r["architecture"] or ""))


def missing_images(selections, resources):
    """``os/release/arch`` the selections ask for that no boot resource provides ("*" arches are not checked)."""
    have = set((r["name"], (r["architecture"] or "").partition("/")[0]) for r in resources)
    return sorted("%s/%s" % (key_of(s), arch) for s in selections for arch in s["arches"]
                  if arch != "*" and (key_of(s), arch) not in have)


def is_importing(client):
    """Whether MAAS is importing images now (``GET boot-resources/?op=is_importing``)."""
    return client.get("boot-resources/", op="is_importing") is True


def image_state(client, wanted):
    """``{"importing": bool, "missing": [os/release/arch]}`` for the ``wanted`` selections, read now."""
    return {"importing": is_importing(client), "missing": missing_images(wanted, read_resources(client))}


def wait_for_images(client, wanted, timeout, interval, on_poll=None, clock=time.monotonic):
    """Poll until MAAS is not importing and has every image ``wanted`` asks for; return (state, seconds waited).

    One poll is two reads (``is_importing`` and the resources); the interval grows up to 60 seconds. ``on_poll(state,
    elapsed)`` sees every state that has not settled. Raises ``WaitTimeout`` with the last state after ``timeout``.
    """
    start = clock()
    state = wait_until(lambda: image_state(client, wanted), lambda s: not s["importing"] and not s["missing"],
                       timeout, interval=interval, max_interval=max(60.0, interval), on_poll=on_poll, clock=clock)
    return state, clock() - start
