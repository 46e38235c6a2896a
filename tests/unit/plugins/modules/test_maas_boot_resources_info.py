# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""maas_boot_resources_info run in-process against the lab MAAS emulator: images, deployable series, imports."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.gough.gough.plugins.module_utils.maas import MAASClient
from ansible_collections.gough.gough.plugins.modules import maas_boot_resources_info


def args(lab, **options):
    return dict(options, url=lab.url, api_key=lab.api_key)


def test_lists_the_imported_images_and_their_series_without_writing(lab_maas_factory, run_module):
    lab = lab_maas_factory(extra_args=("--boot-images", "jammy,noble"))
    lab.reset_stats()
    result = run_module(maas_boot_resources_info, args(lab, _ansible_check_mode=True))
    assert result["changed"] is False and result["importing"] is False
    assert result["series"] == ["jammy", "noble"]
    assert [(r["name"], r["architecture"], r["type"]) for r in result["resources"]] == [
        ("ubuntu/jammy", "amd64/ga-22.04", "Synced"), ("ubuntu/noble", "amd64/ga-24.04", "Synced")]
    assert lab.stats()["writes"] == 0


def test_reports_a_running_import_and_filters_by_os(lab_maas_factory, run_module):
    lab = lab_maas_factory(extra_args=("--boot-images", "none", "--import-seconds", "30"))
    client = MAASClient(lab.url, lab.api_key)
    try:
        client.post("boot-resources/", op="import")
        result = run_module(maas_boot_resources_info, args(lab, os="ubuntu"))
        assert result["importing"] is True and result["resources"] == [] and result["series"] == []
        client.post("boot-resources/", op="stop_import")
        lab.configure(import_seconds=0)
        client.post("boot-resources/", op="import")
    finally:
        client.close()
    done = run_module(maas_boot_resources_info, args(lab, os="centos"))
    assert done["importing"] is False and done["resources"] == [] and done["series"] == []
    everything = run_module(maas_boot_resources_info, args(lab))
    assert everything["series"] == ["focal", "jammy", "noble"]
