# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""gough.gough.sink_alerts: the webhook payloads in the lab sink's JSON-lines file that carry one alert."""

import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.gough.gough.plugins.filter.sink_alerts import sink_alerts


def _webhook(name, instance, status):
    return {"time": "2026-12-04T20:00:00Z", "method": "POST", "path": "/webhook",
            "body": {"version": "4", "status": status, "receiver": "gough-critical",
                     "alerts": [{"status": status, "labels": {"alertname": name, "instance": instance}}]}}


LINES = [
    _webhook("GoughAgentDown", "node-01", "firing"),
    {"time": "2026-12-04T20:00:00Z", "method": "POST", "path": "/chat", "body": {"text": "GoughAgentDown"}},
    {"time": "2026-12-04T20:00:00Z", "method": "SMTP", "path": "smtp", "body": "mail"},
    _webhook("GoughAgentDown", "node-02", "firing"),
    _webhook("GoughAgentDown", "node-01", "resolved"),
]
TEXT = "".join(json.dumps(line) + "\n" for line in LINES)


def test_matches_name_labels_and_status():
    firing = sink_alerts(TEXT, "GoughAgentDown", {"instance": "node-01"})
    assert [body["status"] for body in firing] == ["firing"]
    resolved = sink_alerts(TEXT, "GoughAgentDown", {"instance": "node-01"}, "resolved")
    assert [body["alerts"][0]["status"] for body in resolved] == ["resolved"]
    assert len(sink_alerts(TEXT, "GoughAgentDown")) == 2  # both nodes' firing payloads
    assert sink_alerts(TEXT, "GoughNodeDown") == []


def test_skip_leaves_out_records_written_before():
    assert sink_alerts(TEXT, "GoughAgentDown", {"instance": "node-01"}, "firing", 1) == []
    assert len(sink_alerts(TEXT, "GoughAgentDown", {"instance": "node-01"}, "resolved", 4)) == 1


def test_a_line_still_being_written_is_left_out():
    partial = TEXT + json.dumps(_webhook("GoughAgentDown", "node-03", "firing"))[:40]
    assert sink_alerts(partial, "GoughAgentDown", {"instance": "node-03"}) == []
    assert sink_alerts("", "GoughAgentDown") == []


def test_bad_status_is_refused():
    with pytest.raises(AnsibleFilterError, match="status must be firing or resolved"):
        sink_alerts(TEXT, "GoughAgentDown", status="pending")
