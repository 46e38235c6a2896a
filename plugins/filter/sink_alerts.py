# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
name: sink_alerts
short_description: Alertmanager webhook notifications for one alert, from the lab sink's JSON-lines file
version_added: 0.1.0
author: Gough developers
description:
  - Takes the text of the lab webhook sink's file (C(gough-lab sink serve) writes one JSON record per line for
    every request it receives) and returns the Alertmanager webhook payloads that carry an alert named
    O(alertname) with status O(status) and the given O(labels).
  - Records that are not webhook payloads (chat messages, mail) and a last line still being written are left out.
options:
  _input:
    description: The file's text.
    type: str
    required: true
  alertname:
    description: The alert's name, for example V(GoughAgentDown).
    type: str
    required: true
  labels:
    description: Labels the alert must carry, with these values, for example C(instance) set to the server's name.
    type: dict
    default: {}
  status:
    description: The alert's status in the payload.
    type: str
    choices: [firing, resolved]
    default: firing
  skip:
    description: Leave out this many records at the start of the file (those written before a drill began).
    type: int
    default: 0
"""

EXAMPLES = r"""
- name: Read the sink's file
  ansible.builtin.slurp:
    src: "{{ lab_dir }}/stack/sink/notifications.jsonl"
  register: sink

- name: The GoughAgentDown notifications for node-01
  ansible.builtin.debug:
    msg: "{{ sink.content | b64decode | gough.gough.sink_alerts('GoughAgentDown', {'instance': 'node-01'}) }}"
"""

RETURN = r"""
_value:
  description: The matching webhook payloads (Alertmanager's version 4 JSON), oldest first.
  type: list
  elements: dict
"""

import json

from ansible.errors import AnsibleFilterError


def sink_alerts(text, alertname, labels=None, status="firing", skip=0):
    """The webhook payloads in the sink's text with an alert ``alertname`` in ``status`` carrying ``labels``."""
    if status not in ("firing", "resolved"):
        raise AnsibleFilterError("sink_alerts: status must be firing or resolved, got %r" % (status,))
    labels = dict(labels or {})
    try:
        skip = int(skip)
    except (TypeError, ValueError):
        raise AnsibleFilterError("sink_alerts: skip must be a whole number, got %r" % (skip,))
    lines = str(text or "").split("\n")[:-1]  # the last part has no newline yet: still being written, or empty
    found = []
    for line in lines[skip:]:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        body = record.get("body") if isinstance(record, dict) else None
        if not isinstance(body, dict) or not isinstance(body.get("alerts"), list):
            continue
        for alert in body["alerts"]:
            alert_labels = alert.get("labels") or {}
            if alert.get("status") == status and alert_labels.get("alertname") == alertname and \
                    all(str(alert_labels.get(k)) == str(v) for k, v in labels.items()):
                found.append(body)
                break
    return found


class FilterModule(object):
    """Filters for the lab's webhook sink."""

    def filters(self):
        return {"sink_alerts": sink_alerts}
