#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: maas_dns
short_description: Set the DNS forwarders and DNSSEC validation of the MAAS region's DNS server
version_added: 0.1.0
description:
  - Sets the MAAS settings C(upstream_dns) (the forwarders of the DNS server MAAS runs, for names MAAS does not
    manage) and C(dnssec_validation), each only when it differs.
  - Every value is checked before anything is written; a bad address or DNSSEC value fails naming the option and
    changes nothing.
  - Changing settings needs a MAAS administrator's API key.
author:
  - Gough developers (@gough)
extends_documentation_fragment:
  - gough.gough.maas
options:
  upstream_dns:
    description:
      - IP addresses (IPv4 or IPv6) of the upstream DNS servers, in the order MAAS should use them.
      - An empty list removes every forwarder. Left as it is when not set.
    type: list
    elements: str
  dnssec_validation:
    description:
      - DNSSEC validation of upstream zones, one of V(auto) (the default root key), V(yes) (a manually configured
        root key) or V(no) (useful when the upstream DNS is misconfigured). YAML's V(true) and V(false) count as
        V(yes) and V(no).
      - Left as it is when not set.
    type: raw
attributes:
  check_mode:
    support: full
    description: Reads the settings and reports what would change, but writes nothing.
  diff_mode:
    support: full
    description: Shows both settings before and after.
notes:
  - Idempotent. A second run with the same options reports no change.
  - MAAS uses these settings only when it runs its own DNS server, which it does by default.
seealso:
  - module: gough.gough.maas_boot_source
"""

EXAMPLES = r"""
- name: Forward to two resolvers and validate DNSSEC automatically
  gough.gough.maas_dns:
    upstream_dns: [192.0.2.53, 192.0.2.54]
    dnssec_validation: auto

- name: Turn DNSSEC validation off for a lab whose upstream DNS breaks it
  gough.gough.maas_dns:
    dnssec_validation: "no"

- name: Remove every forwarder
  gough.gough.maas_dns:
    upstream_dns: []
"""

RETURN = r"""
dns:
  description: The DNS settings after the module ran (as predicted in check mode).
  returned: success
  type: dict
  contains:
    upstream_dns:
      description: Forwarder addresses, in order; empty when MAAS has none.
      returned: success
      type: list
      elements: str
      sample: [192.0.2.53, 192.0.2.54]
    dnssec_validation:
      description: DNSSEC validation mode, V(auto), V(yes) or V(no).
      returned: success
      type: str
      sample: auto
changed_settings:
  description: Names of the MAAS settings the module changed (or would change in check mode), in the order written.
  returned: success
  type: list
  elements: str
  sample: [upstream_dns]
"""

from ansible_collections.gough.gough.plugins.module_utils.gough_module import GoughModule
from ansible_collections.gough.gough.plugins.module_utils.maas_boot import (
    check_dnssec,
    check_upstream_dns,
    read_dns,
    set_config,
)


def work(module):
    """Bring upstream_dns and dnssec_validation to the wanted values; every check runs before the first write."""
    params = module.params
    wanted = {"upstream_dns": check_upstream_dns(params["upstream_dns"]),
              "dnssec_validation": check_dnssec(params["dnssec_validation"])}
    before = read_dns(module.client)
    after = dict(before)
    after.update((name, value) for name, value in wanted.items() if value is not None)
    changed = [name for name in ("upstream_dns", "dnssec_validation") if after[name] != before[name]]
    if not module.check_mode:
        for name in changed:
            value = " ".join(after[name]) if name == "upstream_dns" else after[name]
            set_config(module.client, name, value)
    return dict(changed=bool(changed), dns=after, changed_settings=changed,
                diff=dict(before=before, after=after))


def main():
    GoughModule("maas", dict(
        upstream_dns=dict(type="list", elements="str"),
        dnssec_validation=dict(type="raw"),
    ), supports_check_mode=True).run(work)


if __name__ == "__main__":
    main()
