# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):

    # Connection options of every gough.gough MAAS module; maas_argument_spec() in
    # plugins/module_utils/maas.py is the matching argument spec.
    DOCUMENTATION = r"""
options:
  url:
    description:
      - URL of the MAAS region API, for example V(http://maas.example.com:5240/MAAS).
      - The MAAS root (with or without a trailing slash) and the API base V(http://maas.example.com:5240/MAAS/api/2.0/)
        are both accepted.
      - If not set in the task, the value of the environment variable E(MAAS_URL) is used.
    type: str
    required: true
  api_key:
    description:
      - MAAS API key of the user to act as, in the form C(consumer_key:token_key:token_secret), as printed by
        C(maas apikey --username=<user>).
      - If not set in the task, the value of the environment variable E(MAAS_API_KEY) is used.
      - The key is never shown in results or error messages.
    type: str
    required: true
  validate_certs:
    description:
      - Whether to verify the TLS certificate and host name of an V(https://) MAAS URL.
      - Set to V(false) only for a lab with a self-signed certificate; O(ca_path) is the safer choice.
      - If not set in the task, the value of the environment variable E(MAAS_VALIDATE_CERTS) is used.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file with the CA certificates to trust for an V(https://) MAAS URL, instead of the system trust store.
      - If not set in the task, the value of the environment variable E(MAAS_CA_PATH) is used.
    type: path
  timeout:
    description:
      - Seconds to wait for MAAS to accept a connection or send data, per request.
    type: int
    default: 30
  retries:
    description:
      - How many times to retry a request after a transient failure (connection error or reset, HTTP 502, 503 or 504,
        or HTTP 429 with C(Retry-After)), waiting a capped exponential backoff with jitter between attempts.
      - Reads are always retried. A change is resent only if it provably never reached MAAS, or after the module
        re-read the affected object and saw that the change did not happen, so no operation runs twice.
      - V(0) disables retries.
    type: int
    default: 5
notes:
  - The connection options can be set once for all MAAS modules of a play with C(module_defaults) and the action group
    C(group/gough.gough.maas).
attributes:
  action_group:
    support: full
    membership:
      - gough.gough.maas
    description: Use C(group/gough.gough.maas) in C(module_defaults) to set the connection options.
"""

    # The commission operation's options, shared by maas_machine and maas_commission.
    COMMISSIONING = r"""
options:
  enable_ssh:
    description:
      - Commissioning option. Leave the machine on with SSH access after commissioning.
    type: bool
    default: false
  skip_networking:
    description:
      - Commissioning option. Keep the machine's current network configuration.
    type: bool
    default: false
  skip_storage:
    description:
      - Commissioning option. Keep the machine's current storage configuration.
    type: bool
    default: false
  commissioning_scripts:
    description:
      - Commissioning option. Names or tags of extra commissioning scripts to run.
    type: list
    elements: str
  testing_scripts:
    description:
      - Commissioning option. Names or tags of the testing scripts to run after commissioning; an empty list runs no
        tests (sent as V(none)). MAAS's default tests run when not set.
    type: list
    elements: str
"""

    # Connection options of the gough.gough.maas inventory plugin. Inventory plugins read options from their
    # configuration file and from env: entries, not from a module argument spec, so they get their own fragment.
    INVENTORY = r"""
options:
  url:
    description:
      - URL of the MAAS region API, for example V(http://maas.example.com:5240/MAAS).
      - The MAAS root (with or without a trailing slash) and the API base V(http://maas.example.com:5240/MAAS/api/2.0/)
        are both accepted.
    type: str
    required: true
    env:
      - name: MAAS_URL
  api_key:
    description:
      - MAAS API key of the user whose view of the machines the inventory shows, in the form
        C(consumer_key:token_key:token_secret), as printed by C(maas apikey --username=<user>).
      - Prefer the environment variable to writing the key into the configuration file.
      - The key is never shown in output or error messages.
    type: str
    required: true
    env:
      - name: MAAS_API_KEY
  validate_certs:
    description:
      - Whether to verify the TLS certificate and host name of an V(https://) MAAS URL.
      - Set to V(false) only for a lab with a self-signed certificate; O(ca_path) is the safer choice.
    type: bool
    default: true
    env:
      - name: MAAS_VALIDATE_CERTS
  ca_path:
    description:
      - PEM file with the CA certificates to trust for an V(https://) MAAS URL, instead of the system trust store.
    type: path
    env:
      - name: MAAS_CA_PATH
  timeout:
    description:
      - Seconds to wait for MAAS to accept a connection or send data, per request.
      - The machine list of a large MAAS can take a while to build; raise this rather than lowering it.
    type: int
    default: 30
    env:
      - name: MAAS_TIMEOUT
  retries:
    description:
      - How many times to retry the machine list after a transient failure (connection error or reset, HTTP 502,
        503 or 504, or HTTP 429 with C(Retry-After)), waiting a capped exponential backoff with jitter between
        attempts.
      - V(0) disables retries.
    type: int
    default: 5
"""
