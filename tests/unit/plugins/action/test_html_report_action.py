# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""playbooks/report.yml as AWX runs it (ansible-runner), with the MAAS emulator and a Fleet and a Prometheus that
do not answer: the run succeeds, the report marks those sections unavailable with the error and no secret, the job
publishes the report's path and numbers as artifacts (set_stats), and gough.gough.html_report's result matches its
RETURN. Check mode writes nothing."""

import importlib.util
import json
import os
import time

from gough_lab import playbook_runner
from gough_lab.playbook_runner import LOCALHOST

from ansible_collections.gough.gough.plugins.modules import html_report

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
COLLECTIONS = os.path.join(ROOT, ".build", "pytest-collections")
FLEET_TOKEN = "fleet-token-never-shown-4711"


def return_doc_problems(module, result):
    """Mismatches between ``result`` and the module's RETURN, with the modules' conftest's checker."""
    spec = importlib.util.spec_from_file_location("gough_modules_conftest",
                                                  os.path.join(HERE, "..", "modules", "conftest.py"))
    checker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(checker)
    return checker.return_mismatches(module, result)


def run_report(tmp_path, maas, closed_port, *args):
    stack = tmp_path / "stack"
    (stack / "report").mkdir(parents=True, exist_ok=True)
    (stack / "backups" / "gough-20261204T020000Z").mkdir(parents=True, exist_ok=True)
    (stack / "deploys.jsonl").write_text(json.dumps({"time": int(time.time()) - 60, "hostname": "x", "system_id": "s",
                                                     "action": "deploy", "seconds": 120.0, "failed": False}) + "\n")
    env = {"MAAS_URL": maas.url, "MAAS_API_KEY": maas.api_key, "FLEET_URL": "https://127.0.0.1:%d" % closed_port,
           "FLEET_API_TOKEN": FLEET_TOKEN, "PROMETHEUS_URL": "http://127.0.0.1:%d" % closed_port}
    result_file = tmp_path / "result.json"
    run = playbook_runner.run_playbook(
        os.path.join(ROOT, "playbooks", "report.yml"), str(tmp_path / ("job-%d" % time.monotonic_ns())),
        "-e", "stack_profile=lab", "-e", "stack_base_dir=%s" % stack, "-e", "report_result_file=%s" % result_file,
        *args, inventory=LOCALHOST, collections=COLLECTIONS, envvars=env, timeout=300)
    return run, stack / "report" / "index.html", result_file


def test_report_yml_with_fleet_and_prometheus_down_succeeds_and_marks_their_sections_unavailable(
        tmp_path, lab_maas_factory, closed_port):
    maas = lab_maas_factory(machines=4)
    run, page_path, result_file = run_report(tmp_path, maas, closed_port)
    assert run.rc == 0, run.stdout[-3000:]
    result = json.loads(result_file.read_text())
    assert return_doc_problems(html_report, result) == []
    summary = result["summary"]
    assert summary["machines"] == 4 and result["hosts"] == 4
    assert set(summary["unavailable"]) == {"fleet", "agents", "certificates"}
    assert summary["failing_critical_policies"] is None and summary["agents_down"] is None
    assert summary["deployed_last_24h"] == 1 and summary["backups"] == 1
    page = page_path.read_text()
    assert "Fleet unavailable:" in page and "Prometheus (agents) unavailable:" in page
    # Neither the page nor the job's output and events (what AWX shows) hold the token; ansible-runner's own
    # artifacts/command records the environment this test hands the job, so it is not looked at.
    assert FLEET_TOKEN not in page and FLEET_TOKEN not in run.stdout and FLEET_TOKEN not in json.dumps(run.events)
    assert oct(os.stat(page_path).st_mode & 0o777) == "0o644"
    # AWX keeps set_stats data as the job's artifacts.
    stats = [e for e in run.events if e.get("event") == "playbook_on_stats"][-1]["event_data"]["artifact_data"]
    assert stats["gough_report"]["path"] == str(page_path)
    assert stats["gough_report"]["summary"]["machines"] == 4


def test_report_yml_in_check_mode_writes_no_report(tmp_path, lab_maas_factory, closed_port):
    maas = lab_maas_factory(machines=2)
    run, page_path, _result_file = run_report(tmp_path, maas, closed_port, "--check")
    assert run.rc == 0, run.stdout[-3000:]
    assert not page_path.exists()
