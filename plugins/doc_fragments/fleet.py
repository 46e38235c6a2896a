# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):

    # Connection options of every gough.gough Fleet module; fleet_argument_spec() in
    # plugins/module_utils/fleet.py is the matching argument spec.
    DOCUMENTATION = r"""
options:
  url:
    description:
      - URL of the Fleet server, for example V(https://fleet.example.com) or V(https://fleet.example.com:8080).
      - The Fleet root and the API base V(https://fleet.example.com/api/v1/fleet) are both accepted.
      - If not set in the task, the value of the environment variable E(FLEET_URL) is used.
    type: str
    required: true
  api_token:
    description:
      - API token of the Fleet user to act as, best an API-only user made with C(fleetctl user create --api-only).
      - Managing teams, enroll secrets and deleting hosts needs a global admin or maintainer.
      - If not set in the task, the value of the environment variable E(FLEET_API_TOKEN) is used.
      - The token is never shown in results or error messages.
    type: str
    required: true
  validate_certs:
    description:
      - Whether to verify the TLS certificate and host name of an V(https://) Fleet URL.
      - Set to V(false) only for a throw-away lab; O(ca_path) is the safer choice.
      - If not set in the task, the value of the environment variable E(FLEET_VALIDATE_CERTS) is used.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file with the CA certificate(s) to trust for the Fleet server, instead of the system trust store.
        Gough's stack writes its CA to C(<stack_base_dir>/ca/ca.crt).
      - If not set in the task, the value of the environment variable E(FLEET_CA_CERT) is used.
    type: path
  timeout:
    description:
      - Seconds to wait for Fleet to accept a connection or send data, per request.
    type: int
    default: 30
  retries:
    description:
      - How many times to retry a request after a transient failure (connection error or reset, HTTP 502, 503 or 504,
        or HTTP 429 with C(Retry-After)), waiting a capped exponential backoff with jitter between attempts.
      - Reads are always retried. A change is resent only if it provably never reached Fleet, or after the module
        re-read the affected object and saw that the change did not happen.
      - V(0) disables retries.
    type: int
    default: 5
notes:
  - The connection options can be set once for all Fleet modules of a play with C(module_defaults) and the action group
    C(group/gough.gough.fleet).
attributes:
  action_group:
    support: full
    membership:
      - gough.gough.fleet
    description: Use C(group/gough.gough.fleet) in C(module_defaults) to set the connection options.
"""
