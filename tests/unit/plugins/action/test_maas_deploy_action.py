# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The maas_deploy action plugin through ansible-playbook: progress lines while it waits, module_defaults with the
maas action group, per-machine failures failing the task, check mode, and no user_data in the output."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import re
import time

import pytest

from gough_lab import playbook_runner
from gough_lab.playbook_runner import LOCALHOST

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
COLLECTIONS = os.path.join(ROOT, ".build", "pytest-collections")

PLAYBOOK = """
- hosts: localhost
  connection: local
  gather_facts: false
  module_defaults:
    group/gough.gough.maas:
      url: "{url}"
      api_key: "{api_key}"
  tasks:
    - name: Deploy
      gough.gough.maas_deploy:
{options}
      register: deployed
      ignore_errors: true
    - name: Save the result
      ansible.builtin.copy:
        content: "{{{{ deployed | to_json }}}}"
        dest: "{result_file}"
        mode: "0600"
      check_mode: false
"""


def run_playbook(tmp_path, lab, options, extra_args=()):
    """Run one maas_deploy task with ``options`` through the tests' one runner; return (PlaybookRun, registered
    result or None)."""
    result_file = tmp_path / "result.json"
    lines = "\n".join("        %s: %s" % (key, json.dumps(value)) for key, value in options.items())
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAYBOOK.format(url=lab.url, api_key=lab.api_key, options=lines,
                                        result_file=result_file))
    # The play names MAAS itself; MAAS_URL/MAAS_API_KEY of this process are emptied for the job.
    process = playbook_runner.run_playbook(str(playbook), str(tmp_path / ("job-%d" % time.monotonic_ns())),
                                           *extra_args, inventory=LOCALHOST, collections=COLLECTIONS,
                                           envvars={"MAAS_URL": "", "MAAS_API_KEY": "",
                                                    "ANSIBLE_DEPRECATION_WARNINGS": "0"}, timeout=120)
    assert process.rc == 0, process.stdout
    registered = json.loads(result_file.read_text()) if result_file.exists() else None
    return process, registered


@pytest.fixture
def lab(lab_maas_factory):
    emulator = lab_maas_factory(machines=6, extra_args=["--deploy-seconds", "2"])
    emulator.reset_stats()
    return emulator


def test_progress_lines_appear_while_waiting_and_results_come_back(tmp_path, lab):
    process, result = run_playbook(tmp_path, lab, {
        "count": 4, "agent_name": "web", "poll_interval": 0.3, "poll_backoff": 1, "progress_interval": 0.5,
        "user_data": "#cloud-config\nsecret_marker_7: 1\n"})
    lines = re.findall(r"maas_deploy: (\d+)/4 deployed, (\d+) deploying, (\d+) failed, \d+s", process.stdout)
    assert len(lines) >= 2, process.stdout
    assert lines[0][0] == "0" and lines[-1] == ("4", "0", "0")
    assert "secret_marker_7" not in process.stdout
    assert "failed" not in result or result["failed"] is False, result.get("msg")
    assert result["changed"] is True and len(result["system_ids"]) == 4
    assert [m["status"] for m in result["machines"]] == ["Deployed"] * 4
    assert all(m["seconds"] >= 1.5 for m in result["machines"])
    assert "secret_marker_7" not in json.dumps(result)
    stats = lab.stats()
    assert sum(ops["deploy"] for ops in stats["machine_ops"].values()) == 4
    # About 2 s / 0.3 s polls, plus the name and count reads: far fewer than machines x polls.
    assert stats["by_op"]["GET machines/ read"] <= 14


def test_failed_machines_fail_the_task_by_name_with_events(tmp_path, lab):
    lab.configure(fail_deploy=1.0)
    options = {"count": 2, "agent_name": "bad", "poll_interval": 0.3, "poll_backoff": 1}
    _process, result = run_playbook(tmp_path, lab, options)
    assert result["failed"] is True
    assert sorted(result["failed_machines"]) == sorted(m["hostname"] for m in result["machines"])
    assert all(name in result["msg"] for name in result["failed_machines"])
    assert all(m["events"] and m["status"] == "Failed deployment" for m in result["machines"])


def test_check_mode_through_the_action_plugin_writes_nothing(tmp_path, lab):
    _process, result = run_playbook(tmp_path, lab, {"count": 3, "agent_name": "cm"}, extra_args=["--check"])
    assert result["changed"] is True and result["would_allocate"] == 3
    assert lab.stats()["writes"] == 0


def test_unknown_names_and_bad_options_fail_before_any_write_with_the_modules_answer(tmp_path, lab):
    """The action plugin fires on the controller with the module's code: same failures, nothing written, and no
    user_data in the result or the verbose output."""
    process, unknown = run_playbook(tmp_path, lab, {"machines": ["no-such-node"], "user_data": "marker-9q"},
                                    extra_args=["-vvv"])
    assert unknown["failed"] is True
    assert unknown["msg"] == "machines: MAAS has no machine with hostname or system ID no-such-node."
    assert "marker-9q" not in json.dumps(unknown) and "marker-9q" not in process.stdout
    _process, bad = run_playbook(tmp_path, lab, {"machines": ["x"], "poll_backoff": 0.5})
    assert bad["failed"] is True and bad["field"] == "poll_backoff" and bad["msg"].startswith("poll_backoff:")
    assert lab.stats()["writes"] == 0
