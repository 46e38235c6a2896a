# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The agent role's allowed sources (tasks/sources.yml), as its nftables set gets them.

nftables refuses an interval set whose elements overlap ("conflicting intervals specified"): in the lab the
controller's address (the Docker gateway) lies inside the scrapers' network, and the role's firewall table failed
to validate on every node until the sources were merged."""

import os
import tempfile

import yaml

from gough_lab.playbook_runner import ROOT, run_playbook

COLLECTIONS = os.path.join(ROOT, ".build", "pytest-collections")


def _sources(tmp_path, allowed, controller):
    play = [{"name": "Allowed sources", "hosts": "localhost", "gather_facts": False,
             "vars": {"agent_firewall_allowed_sources": allowed, "agent_firewall_allow_controller": controller,
                      "agent_scrape_address": "127.0.0.1"},
             "tasks": [{"name": "The role's sources", "ansible.builtin.include_role": {
                 "name": "gough.gough.agent", "tasks_from": "sources"}},
                 {"name": "Show them", "ansible.builtin.debug": {"var": "agent_allowed_sources"}}]}]
    playbook = tmp_path / "sources.yml"
    playbook.write_text(yaml.safe_dump(play), encoding="utf-8")
    run = run_playbook(str(playbook), tempfile.mkdtemp(prefix="job-", dir=str(tmp_path)), collections=COLLECTIONS,
                       envvars={"ANSIBLE_LOCALHOST_WARNING": "0", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0"},
                       timeout=120)
    assert run.rc == 0, run.output
    return run.task_results("Show them")["localhost"]["agent_allowed_sources"]


def test_the_controller_inside_a_scrapers_network_is_merged_into_it_not_listed_twice(tmp_path):
    # The controller's address towards 127.0.0.1 is 127.0.0.1, inside 127.0.0.0/8.
    assert _sources(tmp_path, ["127.0.0.0/8", "172.30.90.0/25", "172.30.90.1", "2001:db8::/64", "2001:db8::7"],
                    True) == ["127.0.0.0/8", "172.30.90.0/25", "2001:db8::/64"]


def test_single_addresses_become_host_networks_each_once(tmp_path):
    assert _sources(tmp_path, ["192.0.2.10", "192.0.2.10", "192.0.2.12"], True) == [
        "127.0.0.1/32", "192.0.2.10/32", "192.0.2.12/32"]
