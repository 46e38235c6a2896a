# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""maas_boot_source run in-process against the lab MAAS emulator (its default source selects focal, jammy and
noble for amd64; jammy is the commissioning series): selections, import and wait, check mode, reruns, bad input."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.gough.gough.plugins.module_utils.maas import MAASClient
from ansible_collections.gough.gough.plugins.modules import maas_boot_source

WANTED = [{"release": "jammy"}, {"release": "24.04", "arches": ["arm64", "amd64"]}]


@pytest.fixture
def lab(lab_maas_factory):
    """An emulator whose imports take 0.5 seconds, an admin client and zeroed request counters."""
    emulator = lab_maas_factory(extra_args=("--import-seconds", "0.5"))
    emulator.client = MAASClient(emulator.url, emulator.api_key)
    emulator.reset_stats()
    try:
        yield emulator
    finally:
        emulator.client.close()


def args(lab, **options):
    options.setdefault("poll_interval", 0.1)
    options.setdefault("wait_timeout", 30)
    return dict(options, url=lab.url, api_key=lab.api_key)


def selections(lab):
    return sorted((s["release"], sorted(s["arches"])) for s in lab.client.get("boot-sources/1/selections/"))


def images(lab):
    return sorted((r["name"], r["architecture"].partition("/")[0]) for r in lab.client.get("boot-resources/"))


def test_matches_the_selections_imports_and_waits_then_a_rerun_changes_nothing(lab, run_module):
    result = run_module(maas_boot_source, args(lab, selections=WANTED))
    assert result["changed"] is True, result
    assert result["selections_added"] == [] and result["selections_updated"] == ["ubuntu/noble"]
    assert result["selections_removed"] == ["ubuntu/focal"]
    assert result["import_started"] is True and result["importing"] is False and result["missing_images"] == []
    expected = [("jammy", ["amd64"]), ("noble", ["amd64", "arm64"])]
    assert [(s["release"], s["arches"]) for s in result["selections"]] == expected
    assert selections(lab) == [("jammy", ["amd64"]), ("noble", ["amd64", "arm64"])]
    assert images(lab) == [("ubuntu/jammy", "amd64"), ("ubuntu/noble", "amd64"), ("ubuntu/noble", "arm64")]
    assert lab.stats()["by_op"]["POST boot-resources/ import"] == 1
    writes = lab.stats()["writes"]
    again = run_module(maas_boot_source, args(lab, selections=WANTED))
    assert again["changed"] is False and again["import_started"] is False
    assert again["selections"] == result["selections"]
    assert lab.stats()["writes"] == writes


def test_adds_a_selection(lab, run_module):
    lab.client.delete("boot-sources/1/selections/1/")  # focal
    lab.reset_stats()
    result = run_module(maas_boot_source, args(lab, selections=[
        {"release": "focal"}, {"release": "jammy"}, {"release": "noble"}], import_images=False))
    assert result["changed"] is True and result["selections_added"] == ["ubuntu/focal"]
    assert result["import_started"] is False
    assert "POST boot-resources/ import" not in lab.stats()["by_op"]
    assert [s[0] for s in selections(lab)] == ["focal", "jammy", "noble"]


def test_check_mode_predicts_everything_and_writes_nothing(lab, run_module):
    result = run_module(maas_boot_source, args(lab, selections=WANTED, _ansible_check_mode=True, _ansible_diff=True))
    assert result["changed"] is True and result["import_started"] is True
    assert result["selections_removed"] == ["ubuntu/focal"]
    assert [s["release"] for s in result["diff"]["before"]] == ["focal", "jammy", "noble"]
    assert result["diff"]["after"] == result["selections"]
    assert result["missing_images"] == ["ubuntu/noble/arm64"]
    assert lab.stats()["writes"] == 0
    assert [s[0] for s in selections(lab)] == ["focal", "jammy", "noble"]


def test_without_import_the_missing_images_are_reported_and_a_later_run_imports_them(lab, run_module):
    first = run_module(maas_boot_source, args(lab, selections=WANTED, import_images=False))
    assert first["changed"] is True and first["import_started"] is False
    assert first["missing_images"] == ["ubuntu/noble/arm64"]
    second = run_module(maas_boot_source, args(lab, selections=WANTED))
    assert second["changed"] is True and second["import_started"] is True and second["missing_images"] == []
    assert ("ubuntu/noble", "arm64") in images(lab)


def test_a_wait_that_runs_out_fails_with_the_last_state(lab, run_module):
    lab.configure(import_seconds=30)
    result = run_module(maas_boot_source, args(lab, selections=WANTED, wait_timeout=1, poll_interval=0.2))
    assert result["failed"] is True and result["msg"].startswith("still waiting after")
    assert result["last"] == {"importing": True, "missing": ["ubuntu/noble/arm64"]}


@pytest.mark.parametrize("wanted, field, text", [
    ([{"release": "warty"}], "selections[0].release", "'warty' is not an Ubuntu release MAAS has images for"),
    ([{"release": "noble", "arches": ["amd64", "sparc"]}], "selections[0].arches", "unknown architecture sparc"),
    ([{"release": "noble"}, {"release": "24.04"}], "selections[1]", "ubuntu/noble is already selections[0]"),
    ([{"release": "noble"}], "selections", "must keep ubuntu/jammy"),
])
def test_bad_selections_fail_naming_the_field_and_write_nothing(lab, run_module, wanted, field, text):
    result = run_module(maas_boot_source, args(lab, selections=wanted))
    assert result["failed"] is True and result["field"] == field
    assert text in result["msg"]
    assert lab.stats()["writes"] == 0


def test_an_unknown_source_url_fails_naming_it(lab, run_module):
    result = run_module(maas_boot_source, args(lab, selections=WANTED, source_url="http://nowhere.invalid/"))
    assert result["failed"] is True and result["field"] == "source_url"
    assert lab.stats()["writes"] == 0


def test_a_release_the_source_does_not_offer_is_maas_refusal_before_any_other_write(lab, run_module):
    """The emulated image server offers focal, jammy and noble; MAAS refuses a create of another release, and
    creations come first, so the other selections stay as they were."""
    result = run_module(maas_boot_source, args(lab, selections=[{"release": "jammy"}, {"release": "oracular"}]))
    assert result["failed"] is True and result["field"] == "selections"
    assert "OS ubuntu with release oracular has no available images for download" in result["msg"]
    assert [s[0] for s in selections(lab)] == ["focal", "jammy", "noble"]
