# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The provision survey offers only the series MAAS imports: roles/awx_config's awx_config_distro_series comes from
gough_maas_boot_images, the variable the stack role's stack_maas_boot_images defaults to."""

import os
import tempfile

import pytest
import yaml

from gough_lab.playbook_runner import ROOT, run_playbook


def _survey_series(tmp_path, extravars):
    """(awx_config_distro_series, the survey question's choices and default) as Ansible renders the role's defaults
    with ``extravars``."""
    playbook = tmp_path / "series.yml"
    playbook.write_text(yaml.safe_dump([{
        "hosts": "localhost", "gather_facts": False,
        "tasks": [{"ansible.builtin.include_vars": {"file": os.path.join(ROOT, "roles", "awx_config", "defaults",
                                                                         "main.yml")}},
                  {"name": "series", "ansible.builtin.debug": {"msg": {
                      "series": "{{ awx_config_distro_series }}",
                      "question": "{{ awx_config_provision_questions | selectattr('variable', 'equalto', "
                                  "'provision_distro_series') | first }}"}}}]}]), encoding="utf-8")
    run = run_playbook(str(playbook), tempfile.mkdtemp(prefix="job-", dir=str(tmp_path)), extravars=extravars,
                       envvars={"ANSIBLE_LOCALHOST_WARNING": "0", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0"},
                       timeout=120)
    assert run.rc == 0, run.output
    msg = run.task_results("series")["localhost"]["msg"]
    return msg["series"], msg["question"]["choices"], msg["question"]["default"]


@pytest.mark.parametrize("images, series", [
    (None, ["noble", "jammy"]),
    ([{"os": "ubuntu", "release": "jammy", "arches": ["amd64", "arm64"]}], ["jammy"]),
    # os defaults to ubuntu (gough.gough.maas_boot_source); other systems are not Ubuntu series.
    ([{"release": "focal"}, {"os": "ubuntu", "release": "noble"}, {"os": "centos", "release": "centos70"},
      {"os": "ubuntu", "release": "noble", "arches": ["arm64"]}], ["focal", "noble"]),
])
def test_the_survey_offers_the_ubuntu_releases_maas_imports(tmp_path, images, series):
    extravars = {} if images is None else {"gough_maas_boot_images": images}
    assert _survey_series(tmp_path, extravars) == (series, series, series[0])
