#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: maas_server_info
short_description: Check the MAAS connection and credentials, and report the MAAS version and user
version_added: 0.1.0
description:
  - Reads the user the API key belongs to (C(GET users/?op=whoami)) and the MAAS version and capabilities
    (C(GET version/)).
  - Use it as a cheap pre-flight check. A wrong URL, an unreachable server, an untrusted certificate, a malformed key
    and a key MAAS rejects each fail with one message that says which, without showing the key.
  - Makes no changes.
author:
  - Gough developers (@gough)
extends_documentation_fragment:
  - gough.gough.maas
attributes:
  check_mode:
    support: full
    description: The module only reads, so it behaves the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to diff.
"""

EXAMPLES = r"""
- name: Check that MAAS answers and the key works (URL and key from MAAS_URL and MAAS_API_KEY)
  gough.gough.maas_server_info:
  register: maas

- name: Show the MAAS version and the user
  ansible.builtin.debug:
    msg: "MAAS {{ maas.server.version }}, acting as {{ maas.user.username }}"

- name: Require an administrator key before provisioning
  ansible.builtin.assert:
    that: maas.user.is_superuser
    fail_msg: The MAAS API key must belong to an administrator.

- name: Check an HTTPS MAAS signed by a private CA
  gough.gough.maas_server_info:
    url: https://maas.example.com:5443/MAAS
    api_key: "{{ vault_maas_api_key }}"
    ca_path: /etc/gough/ca.pem
"""

RETURN = r"""
api_url:
  description: The MAAS API 2.0 base URL the module talked to, after normalisation.
  returned: success
  type: str
  sample: http://maas.example.com:5240/MAAS/api/2.0/
server:
  description: What MAAS reports about itself.
  returned: success
  type: dict
  contains:
    version:
      description: MAAS version.
      returned: success
      type: str
      sample: 3.6.1
    subversion:
      description: Build or packaging detail of the version, often empty.
      returned: success
      type: str
      sample: ""
    capabilities:
      description: API capabilities the server announces.
      returned: success
      type: list
      elements: str
      sample: [authenticate-api, static-ipaddresses, network-deployment-ubuntu]
user:
  description: The MAAS user the API key belongs to.
  returned: success
  type: dict
  contains:
    username:
      description: User name.
      returned: success
      type: str
      sample: admin
    email:
      description: E-mail address, possibly empty.
      returned: success
      type: str
      sample: admin@example.com
    is_superuser:
      description: Whether the user is a MAAS administrator (needed to enlist and commission machines).
      returned: success
      type: bool
      sample: true
    is_local:
      description: Whether the user is managed by MAAS itself rather than an external identity provider.
      returned: success
      type: bool
      sample: true
"""

from ansible_collections.gough.gough.plugins.module_utils.gough_module import GoughModule
from ansible_collections.gough.gough.plugins.module_utils.maas import MAASError


def work(module):
    """The MAAS version and the user the API key belongs to."""
    client = module.client
    # whoami first: it needs a valid key (version/ is anonymous), so a bad key fails on the call that says so.
    user = client.whoami() or {}
    version = client.version() or {}
    if not isinstance(version, dict) or not isinstance(user, dict):
        raise MAASError("MAAS at %s answered with something other than a JSON object; is the URL the MAAS root "
                        "(e.g. http://maas.example.com:5240/MAAS)?" % client.api_url)
    return dict(
        changed=False,
        api_url=client.api_url,
        server=dict(
            version=version.get("version"),
            subversion=version.get("subversion", ""),
            capabilities=version.get("capabilities") or [],
        ),
        user=dict(
            username=user.get("username"),
            email=user.get("email", ""),
            is_superuser=bool(user.get("is_superuser")),
            is_local=bool(user.get("is_local", True)),
        ),
    )


def main():
    GoughModule("maas", {}, supports_check_mode=True).run(work)


if __name__ == "__main__":
    main()
