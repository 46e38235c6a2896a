#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: maas_commission
short_description: Commission, in one batch, the machines MAAS has discovered (status New), and tag them
version_added: 0.1.0
description:
  - Finds the machines in status V(New) with one filtered C(GET machines/?status=new), optionally narrowed by
    O(match), adds the tags in O(tags) to them, starts commissioning on all of them at once (at most O(concurrency)
    requests in flight), and waits for them together with one list call per poll, up to O(wait_timeout) seconds.
  - Machines in any other status (Ready, Commissioning, Deployed, Broken, ...) are neither tagged nor commissioned.
  - Every tag name is checked as MAAS checks it before the first request; a bad name fails naming it, and MAAS is
    left unchanged. Missing tags are created, each tag gets its machines in one C(update_nodes) request, and tags the
    machines already carry are kept.
  - A run that finds no New machine (for example a rerun) sends no state-changing request and reports no change.
  - One machine's refusal or failed commissioning does not stop the others; the module then fails naming every
    machine that did not reach V(Ready), with MAAS's message and its latest events.
  - Needs a MAAS administrator's API key.
author:
  - Gough developers (@gough)
extends_documentation_fragment:
  - gough.gough.maas
  - gough.gough.maas.commissioning
options:
  match:
    description:
      - Shell-style patterns (V(*), V(?), V([...])); a New machine is commissioned when its hostname or its system ID
        matches any of them. Not set or empty, every New machine is.
    type: list
    elements: str
  tags:
    description:
      - Tags every commissioned machine gets, in addition to those it carries. Letters, digits, V(-) and V(_), at
        most 256 characters each (MAAS's rule).
      - Missing tags are created, only when there is a machine to carry them.
    type: list
    elements: str
    default: []
  comment:
    description:
      - Comment recorded with the commission operation.
    type: str
  wait:
    description:
      - Wait until every machine has finished commissioning (V(Ready) or failed). With V(false) the module returns
        once commissioning has started on all of them.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for the whole batch. Machines still commissioning then fail the module, named.
    type: int
    default: 1800
  poll_interval:
    description:
      - Seconds before the first poll; the interval grows by half each poll up to six times this value.
      - Once a poll sees some machines done, the next poll comes when the rest are predicted done (the last op MAAS
        answered plus the shortest time a machine was seen to take), if that is sooner; at most one poll more.
    type: float
    default: 5
  concurrency:
    description:
      - How many commission requests may be in flight at once.
    type: int
    default: 16
attributes:
  check_mode:
    support: full
    description: Reads the New machines and the tags (two requests) and reports what would be tagged and
      commissioned; sends no request that changes MAAS.
  diff_mode:
    support: full
    description: Shows the status of every machine commissioned, before and after.
notes:
  - Idempotent in effect. Once commissioned a machine is no longer New, so a rerun leaves it alone.
seealso:
  - module: gough.gough.maas_machine
  - module: gough.gough.maas_tag
  - module: gough.gough.maas_deploy
"""

EXAMPLES = r"""
- name: Commission every machine MAAS has discovered, tag them, and wait until they are Ready
  gough.gough.maas_commission:
    tags: [discovered, rack-a]
  register: commissioned

- name: Only the new machines whose names start with rack-b-, without hardware tests, without waiting
  gough.gough.maas_commission:
    match: ["rack-b-*"]
    tags: [rack-b]
    testing_scripts: []
    wait: false
"""

RETURN = r"""
machines:
  description: Every New machine this run commissioned (or, in check mode, would commission), in MAAS's order.
  returned: success
  type: list
  elements: dict
  contains:
    system_id:
      description: System ID.
      returned: success
      type: str
      sample: 4y3h7n
    hostname:
      description: Short hostname.
      returned: success
      type: str
      sample: node-07
    status_before:
      description: Status when the run found it (always V(New)).
      returned: success
      type: str
      sample: New
    status:
      description: Status at the end of the run (predicted in check mode).
      returned: success
      type: str
      sample: Ready
    tags_added:
      description: Tags of O(tags) the machine did not carry before.
      returned: success
      type: list
      elements: str
      sample: [rack-a]
    seconds:
      description: Seconds from the start of the run until the machine settled (0 when the run did not wait).
      returned: success
      type: float
      sample: 312.4
    failed:
      description: Whether MAAS refused the machine, or (with O(wait=true)) it did not reach V(Ready) in time.
      returned: success
      type: bool
      sample: false
    msg:
      description: Why it failed; empty otherwise.
      returned: success
      type: str
      sample: ""
    events:
      description: The machine's newest events, newest first, for a machine that failed commissioning.
      returned: success
      type: list
      elements: dict
hostnames:
  description: Hostnames of the machines commissioned (or that would be), failed ones included.
  returned: success
  type: list
  elements: str
  sample: [node-07, node-08]
failed_machines:
  description: Hostnames of the machines MAAS refused or that did not reach V(Ready).
  returned: success
  type: list
  elements: str
  sample: []
tags_created:
  description: Tags of O(tags) MAAS did not have, created by this run (or that would be).
  returned: success
  type: list
  elements: str
  sample: [rack-a]
plan:
  description:
    - What the run did (or, in check mode, would do), in order; each step is a list whose first item is the action.
    - V([create_tag, NAME]), V([tag, NAME, [SYSTEM_ID, ...]]), V([commission, [SYSTEM_ID, ...]]).
  returned: success
  type: list
  elements: list
  sample: [[create_tag, rack-a], [tag, rack-a, [4y3h7n]], [commission, [4y3h7n]]]
polls:
  description: List calls made while waiting.
  returned: success
  type: int
  sample: 7
summary:
  description: One line saying what was commissioned, with which tags, and how it ended.
  returned: success
  type: str
  sample: "2 New machines commissioned (node-07, node-08), tagged rack-a: 2 Ready, 0 failed"
"""

from ansible_collections.gough.gough.plugins.module_utils.gough_module import GoughModule, check_wait
from ansible_collections.gough.gough.plugins.module_utils.maas import commissioning_argument_spec
from ansible_collections.gough.gough.plugins.module_utils.maas_commissioning import Commissioning
from ansible_collections.gough.gough.plugins.module_utils.maas_fanout import DEFAULT_CONCURRENCY, check_concurrency
from ansible_collections.gough.gough.plugins.module_utils.maas_validate import validate_tag_name


def argument_spec():
    """The module's own options; GoughModule adds the connection options."""
    spec = commissioning_argument_spec()
    spec.update(
        match=dict(type="list", elements="str"),
        tags=dict(type="list", elements="str", default=[]),
        comment=dict(type="str"),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=1800),
        poll_interval=dict(type="float", default=5),
        concurrency=dict(type="int", default=DEFAULT_CONCURRENCY),
    )
    return spec


def work(module):
    """Commission the New machines; a run with failed machines fails the task with every machine's result."""
    params = module.params
    params["match"] = [p for p in params["match"] or [] if p]
    # Every input check comes before the first request.
    params["tags"] = [validate_tag_name(tag, "tags") for tag in dict.fromkeys(params["tags"])]
    check_wait(params)
    check_concurrency(params)
    result = Commissioning(module.client, params, module.check_mode).start().wait().result()
    if result.get("failed"):
        module.ansible.fail_json(**module.finish(result))
    return result


def main():
    GoughModule("maas", argument_spec(), supports_check_mode=True).run(work)


if __name__ == "__main__":
    main()
