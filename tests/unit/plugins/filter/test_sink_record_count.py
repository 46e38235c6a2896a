# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""gough.gough.sink_record_count, and where playbooks/alert_drill.yml starts reading the sink's file.

The drill once counted the records with a Jinja ``split('\\n')``, which also split at the escaped newlines inside
the records' JSON (chat messages and mail carry multi-line text): with enough chat notifications before the drill,
its start was past the end of the file and it never saw the GoughAgentDown it was waiting for."""

import json
import os
import tempfile

import yaml

from gough_lab.playbook_runner import ROOT, run_playbook
from ansible_collections.gough.gough.plugins.filter.sink_alerts import sink_alerts
from ansible_collections.gough.gough.plugins.filter.sink_record_count import sink_record_count

COLLECTIONS = os.path.join(ROOT, ".build", "pytest-collections")
# What the sink writes: a webhook payload, a chat message (its text has newlines) and a mail (its body too).
RECORDS = [
    {"time": "2026-12-05T09:15:50Z", "method": "POST", "path": "/webhook",
     "body": {"version": "4", "status": "firing",
              "alerts": [{"status": "firing", "labels": {"alertname": "GoughTimeNotSynchronized",
                                                         "instance": "node-01"}}]}},
    {"time": "2026-12-05T09:15:50Z", "method": "POST", "path": "/chat",
     "body": {"attachments": [{"title": "[FIRING:1] GoughTimeNotSynchronized on node-01",
                               "text": "*Summary:* clock not synchronized\n*Runbook:* chronyc tracking\n"
                                       "*Labels:*\n - instance: node-01\n - severity: warning\n"}]}},
    {"time": "2026-12-05T09:15:51Z", "method": "SMTP", "path": "smtp",
     "headers": {"Subject": "[Gough FIRING:1] GoughTimeNotSynchronized on node-01"},
     "body_text": "GoughTimeNotSynchronized\r\n\r\ninstance: node-01\r\nseverity: warning\r\n"},
]
TEXT = "".join(json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n" for record in RECORDS)


def test_counts_whole_records_not_the_escaped_newlines_inside_them():
    assert TEXT.count("\\n") > len(RECORDS)  # the records do carry escaped newlines
    assert sink_record_count(TEXT) == 3
    assert sink_record_count(TEXT + '{"time": "2026-12-05T09:16:00Z", "meth') == 3  # still being written
    assert sink_record_count("") == 0
    assert sink_record_count(None) == 0


def test_the_count_leaves_out_exactly_the_records_before_it():
    firing = {"time": "2026-12-05T09:16:50Z", "method": "POST", "path": "/webhook",
              "body": {"version": "4", "status": "firing",
                       "alerts": [{"status": "firing", "labels": {"alertname": "GoughAgentDown",
                                                                  "instance": "node-01"}}]}}
    later = TEXT + json.dumps(firing) + "\n"
    assert len(sink_alerts(later, "GoughAgentDown", {"instance": "node-01"}, "firing", sink_record_count(TEXT))) == 1
    assert sink_alerts(later, "GoughAgentDown", {"instance": "node-01"}, "firing", sink_record_count(later)) == []


def test_the_alert_drill_starts_after_the_records_already_in_the_sink(tmp_path):
    """The drill's own two tasks (read the sink's file, remember where the drill starts), taken from
    playbooks/alert_drill.yml and run by ansible-playbook on a sink file like the lab's."""
    with open(os.path.join(ROOT, "playbooks", "alert_drill.yml"), encoding="utf-8") as handle:
        plays = yaml.safe_load(handle)
    wanted = ("Read the sink's notifications so far", "Remember where the drill starts in the sink's file")
    tasks = [task for play in plays for task in play.get("tasks", []) if task.get("name") in wanted]
    assert [task["name"] for task in tasks] == list(wanted)
    sink_file = tmp_path / "notifications.jsonl"
    sink_file.write_text(TEXT, encoding="utf-8")
    playbook = tmp_path / "drill_start.yml"
    playbook.write_text(yaml.safe_dump([{"name": "Drill start", "hosts": "localhost", "gather_facts": False,
                                         "vars": {"alert_drill_sink_file": str(sink_file)}, "tasks": tasks}]),
                        encoding="utf-8")
    run = run_playbook(str(playbook), tempfile.mkdtemp(prefix="job-", dir=str(tmp_path)), collections=COLLECTIONS,
                       envvars={"ANSIBLE_LOCALHOST_WARNING": "0", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0"},
                       timeout=120)
    assert run.rc == 0, run.output
    facts = run.task_results(wanted[1])["localhost"]["ansible_facts"]
    assert int(facts["alert_drill_skip"]) == len(RECORDS)
