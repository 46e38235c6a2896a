# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The maas_boot_source action plugin through ansible-playbook: progress lines while the import runs, the final
image state in the result, and a wait that runs out failing the task with the last state."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import re
import time

from gough_lab import playbook_runner
from gough_lab.playbook_runner import LOCALHOST

from ansible_collections.gough.gough.plugins.action.maas_boot_source import progress_line

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
    - name: Boot images
      gough.gough.maas_boot_source:
{options}
      register: images
      ignore_errors: true
    - name: Save the result
      ansible.builtin.copy:
        content: "{{{{ images | to_json }}}}"
        dest: "{result_file}"
        mode: "0600"
      check_mode: false
"""
WANTED = [{"release": "jammy"}, {"release": "noble", "arches": ["amd64", "arm64"]}]


def run_playbook(tmp_path, lab, options):
    """Run one maas_boot_source task; return (PlaybookRun, registered result)."""
    result_file = tmp_path / "result.json"
    lines = "\n".join("        %s: %s" % (key, json.dumps(value)) for key, value in options.items())
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAYBOOK.format(url=lab.url, api_key=lab.api_key, options=lines, result_file=result_file))
    process = playbook_runner.run_playbook(str(playbook), str(tmp_path / ("job-%d" % time.monotonic_ns())),
                                           inventory=LOCALHOST, collections=COLLECTIONS,
                                           envvars={"MAAS_URL": "", "MAAS_API_KEY": "",
                                                    "ANSIBLE_DEPRECATION_WARNINGS": "0"}, timeout=120)
    assert process.rc == 0, process.stdout
    return process, json.loads(result_file.read_text())


def test_progress_line_format():
    assert progress_line({"importing": True, "missing": ["ubuntu/noble/arm64"]}, 3, 130) == \
        "maas_boot_source: importing, 2/3 images, 2m10s"
    assert progress_line({"importing": False, "missing": []}, 3, 9.5) == \
        "maas_boot_source: not importing, 3/3 images, 9s"


def test_progress_lines_while_importing_then_the_final_state(tmp_path, lab_maas_factory):
    lab = lab_maas_factory(extra_args=["--import-seconds", "2"])
    process, result = run_playbook(tmp_path, lab, {"selections": WANTED, "poll_interval": 0.2,
                                                   "progress_interval": 0.3})
    assert not result.get("failed"), result
    lines = re.findall(r"maas_boot_source: (importing|not importing), (\d)/3 images, \d+s", process.stdout)
    assert len(lines) >= 2, process.stdout
    assert lines[0] == ("importing", "2") and lines[-1] == ("not importing", "3")
    assert result["import_started"] is True and result["importing"] is False and result["missing_images"] == []
    assert result["selections_removed"] == ["ubuntu/focal"]


def test_a_wait_that_runs_out_fails_the_task_with_the_last_state(tmp_path, lab_maas_factory):
    lab = lab_maas_factory(extra_args=["--import-seconds", "60"])
    _process, result = run_playbook(tmp_path, lab, {"selections": WANTED, "poll_interval": 0.2, "wait_timeout": 1})
    assert result["failed"] is True and result["msg"].startswith("still waiting after")
    assert result["last"] == {"importing": True, "missing": ["ubuntu/noble/arm64"]}
