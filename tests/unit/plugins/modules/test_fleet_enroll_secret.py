# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""fleet_enroll_secret against the lab Fleet emulator: set, rotate (keep or replace), read, remove; no leaks."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

from fleet_lab import OsqueryError, OsqueryHost, fleet_lab  # noqa: F401 pylint: disable=unused-import

from ansible_collections.gough.gough.plugins.modules import fleet_enroll_secret


def global_secrets(lab):
    return [s["secret"] for s in lab.api("GET", "spec/enroll_secret")["spec"]["secrets"]]


def test_set_a_given_secret_replaces_the_old_one_and_is_idempotent(fleet_lab, run_module, return_doc_problems):
    old = fleet_lab.enroll_secret
    options = fleet_lab.args(secret="vault-secret-0001")
    result = run_module(fleet_enroll_secret, options)
    assert result["changed"] is True and result["count"] == 1 and result["scope"] == "global"
    assert global_secrets(fleet_lab) == ["vault-secret-0001"]
    assert "vault-secret-0001" not in json.dumps(result) and old not in json.dumps(result)
    assert return_doc_problems(fleet_enroll_secret, result) == []
    writes = fleet_lab.writes()
    assert run_module(fleet_enroll_secret, options)["changed"] is False
    assert fleet_lab.writes() == writes
    # The old secret no longer enrolls anything; the new one does.
    try:
        OsqueryHost(fleet_lab.emulator, "late", secret=old).enroll()
        raise AssertionError("enrolled with a replaced secret")
    except OsqueryError as exc:
        assert exc.status == 401 and "node_invalid" in exc.body
    OsqueryHost(fleet_lab.emulator, "fresh", secret="vault-secret-0001").enroll()


def test_rotate_keeping_old_returns_new_secret_only_when_asked(fleet_lab, run_module):
    old = fleet_lab.enroll_secret
    hidden = run_module(fleet_enroll_secret, fleet_lab.args(rotate=True, keep_old=True))
    assert hidden["changed"] is True and hidden["count"] == 2
    assert all("secret" not in item for item in hidden["secrets"])
    current = global_secrets(fleet_lab)
    assert old in current and len(current) == 2
    for value in current:
        assert value not in json.dumps(hidden)

    shown = run_module(fleet_enroll_secret, fleet_lab.args(rotate=True, return_secrets=True))
    assert shown["changed"] is True and shown["count"] == 1
    assert [item["secret"] for item in shown["secrets"]] == global_secrets(fleet_lab)
    assert shown["secrets"][0]["secret"] not in current


def test_team_secret_created_when_missing_then_read(fleet_lab, run_module):
    team = fleet_lab.api("POST", "teams", {"name": "web"})["team"]
    fleet_lab.api("PATCH", "teams/%d/secrets" % team["id"], {"secrets": []})
    made = run_module(fleet_enroll_secret, fleet_lab.args(team="web", return_secrets=True))
    assert made["changed"] is True and made["team_id"] == team["id"] and made["scope"] == "web"
    stored = fleet_lab.api("GET", "teams/%d/secrets" % team["id"])["secrets"]
    assert [s["secret"] for s in stored] == [made["secrets"][0]["secret"]]
    read = run_module(fleet_enroll_secret, fleet_lab.args(team="web"))
    assert read["changed"] is False and read["secrets"][0]["fingerprint"] == made["secrets"][0]["fingerprint"]
    host = OsqueryHost(fleet_lab.emulator, "web-1", secret=made["secrets"][0]["secret"]).enroll()
    assert host.node_key
    assert [h["team_id"] for h in fleet_lab.hosts() if h["hostname"] == "web-1"] == [team["id"]]


def test_check_mode_rotation_writes_nothing(fleet_lab, run_module):
    before = global_secrets(fleet_lab)
    writes = fleet_lab.writes()
    result = run_module(fleet_enroll_secret, fleet_lab.args(rotate=True, _ansible_check_mode=True, _ansible_diff=True))
    assert result["changed"] is True
    assert result["diff"]["after"]["secrets"] == ["(new secret)"]
    assert fleet_lab.writes() == writes and global_secrets(fleet_lab) == before


def test_absent_removes_one_or_all_secrets(fleet_lab, run_module):
    fleet_lab.api("POST", "spec/enroll_secret", {"spec": {"secrets": [{"secret": "keep-000001"},
                                                                      {"secret": "drop-000001"}]}})
    one = run_module(fleet_enroll_secret, fleet_lab.args(secret="drop-000001", state="absent"))
    assert one["changed"] is True and global_secrets(fleet_lab) == ["keep-000001"]
    assert run_module(fleet_enroll_secret, fleet_lab.args(secret="drop-000001", state="absent"))["changed"] is False
    every = run_module(fleet_enroll_secret, fleet_lab.args(state="absent"))
    assert every["changed"] is True and every["count"] == 0 and global_secrets(fleet_lab) == []
