# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""fleet_team and fleet_policy run in-process against the lab Fleet emulator: states, check mode, diff, errors."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from fleet_lab import fleet_lab  # noqa: F401 pylint: disable=unused-import

from ansible_collections.gough.gough.plugins.modules import fleet_policy, fleet_team


def teams(lab):
    return dict((t["name"], t) for t in lab.api("GET", "teams")["teams"])


def test_team_created_then_second_run_changes_nothing(fleet_lab, run_module, return_doc_problems):
    options = fleet_lab.args(name="web", description="Web front ends")
    result = run_module(fleet_team, options)
    assert result["changed"] is True
    assert result["team"]["name"] == "web" and result["team"]["description"] == "Web front ends"
    assert result["team"]["id"] == teams(fleet_lab)["web"]["id"]
    assert return_doc_problems(fleet_team, result) == []
    writes = fleet_lab.writes()
    again = run_module(fleet_team, options)
    assert again["changed"] is False and again["team"] == result["team"]
    assert fleet_lab.writes() == writes


def test_team_check_mode_writes_nothing_and_diff_shows_the_change(fleet_lab, run_module):
    fleet_lab.api("POST", "teams", {"name": "web", "description": "old"})
    writes = fleet_lab.writes()
    result = run_module(fleet_team, fleet_lab.args(name="web", description="new", _ansible_check_mode=True,
                                                   _ansible_diff=True))
    assert result["changed"] is True and result["team"]["description"] == "new"
    assert result["diff"] == {"before": {"name": "web", "description": "old"},
                              "after": {"name": "web", "description": "new"}}
    created = run_module(fleet_team, fleet_lab.args(name="db", _ansible_check_mode=True))
    assert created["changed"] is True
    assert fleet_lab.writes() == writes
    assert teams(fleet_lab)["web"]["description"] == "old" and "db" not in teams(fleet_lab)


def test_team_absent_deletes_and_is_idempotent(fleet_lab, run_module):
    fleet_lab.api("POST", "teams", {"name": "old"})
    result = run_module(fleet_team, fleet_lab.args(name="old", state="absent"))
    assert result["changed"] is True and result["team"] == {}
    assert "old" not in teams(fleet_lab)
    assert run_module(fleet_team, fleet_lab.args(name="old", state="absent"))["changed"] is False


def test_policy_global_and_team_lifecycle(fleet_lab, run_module, return_doc_problems):
    fleet_lab.api("POST", "teams", {"name": "web"})
    options = fleet_lab.args(name="sshd running", query="SELECT 1 FROM processes WHERE name = 'sshd';",
                             platform="linux", critical=True)
    created = run_module(fleet_policy, options)
    assert created["changed"] is True and created["policy"]["team_id"] is None
    assert created["policy"]["critical"] is True and created["policy"]["platform"] == "linux"
    assert return_doc_problems(fleet_policy, created) == []
    assert run_module(fleet_policy, options)["changed"] is False

    team_options = fleet_lab.args(name="sshd running", team="web", query="SELECT 1;")
    in_team = run_module(fleet_policy, team_options)
    assert in_team["changed"] is True and in_team["policy"]["team_id"] == teams(fleet_lab)["web"]["id"]
    assert in_team["policy"]["id"] != created["policy"]["id"]

    updated = run_module(fleet_policy, fleet_lab.args(name="sshd running", resolution="Start sshd.",
                                                      _ansible_diff=True))
    assert updated["changed"] is True
    assert updated["diff"]["before"]["resolution"] == "" and updated["diff"]["after"]["resolution"] == "Start sshd."
    assert updated["policy"]["query"] == options["query"]

    writes = fleet_lab.writes()
    checked = run_module(fleet_policy, fleet_lab.args(name="sshd running", state="absent", _ansible_check_mode=True))
    assert checked["changed"] is True and fleet_lab.writes() == writes

    removed = run_module(fleet_policy, fleet_lab.args(name="sshd running", state="absent"))
    assert removed["changed"] is True and removed["policy"] == {}
    assert fleet_lab.api("GET", "global/policies")["policies"] == []
    assert len(fleet_lab.api("GET", "teams/%d/policies" % in_team["policy"]["team_id"])["policies"]) == 1
    assert run_module(fleet_policy, fleet_lab.args(name="sshd running", state="absent"))["changed"] is False


def test_policy_errors_name_the_field(fleet_lab, run_module):
    no_query = run_module(fleet_policy, fleet_lab.args(name="new one"))
    assert no_query["failed"] is True and no_query["msg"].startswith("query:")
    bad_platform = run_module(fleet_policy, fleet_lab.args(name="x", query="SELECT 1;", platform="linux,beos"))
    assert bad_platform["failed"] is True and bad_platform["msg"].startswith("platform:")
    no_team = run_module(fleet_policy, fleet_lab.args(name="x", query="SELECT 1;", team="missing"))
    assert no_team["failed"] is True and no_team["msg"].startswith("team:") and no_team["field"] == "team"
    assert fleet_lab.writes() == 0


def test_policy_sql_with_a_syntax_error_fails_naming_the_policy_and_writes_nothing(fleet_lab, run_module):
    result = run_module(fleet_policy, fleet_lab.args(name="broken", query="SELEC 1 FROM users;"))
    assert result["failed"] is True
    assert result["msg"].startswith("query: policy 'broken' is not valid osquery SQL: ")
    assert 'syntax error' in result["msg"]
    assert fleet_lab.writes() == 0 and fleet_lab.api("GET", "global/policies")["policies"] == []


def test_policy_sql_with_an_unknown_table_fails_like_osquery_would_and_writes_nothing(fleet_lab, run_module):
    fleet_lab.api("POST", "teams", {"name": "web"})
    writes = fleet_lab.writes()
    result = run_module(fleet_policy, fleet_lab.args(name="no table", team="web",
                                                     query="SELECT 1 FROM foo WHERE bar = 1;"))
    assert result["failed"] is True
    assert result["msg"] == "query: policy 'no table' is not valid osquery SQL: no such table: foo"
    assert fleet_lab.writes() == writes


def test_policy_sql_with_an_unknown_column_fails_and_an_existing_policy_is_left_alone(fleet_lab, run_module):
    good = run_module(fleet_policy, fleet_lab.args(name="root only", query="SELECT 1 FROM users WHERE uid = 0;"))
    assert good["changed"] is True
    writes = fleet_lab.writes()
    result = run_module(fleet_policy, fleet_lab.args(name="root only", query="SELECT 1 FROM users WHERE userid = 0;"))
    assert result["failed"] is True
    assert result["msg"] == "query: policy 'root only' is not valid osquery SQL: no such column: userid"
    assert fleet_lab.writes() == writes
    assert fleet_lab.api("GET", "global/policies")["policies"][0]["query"] == "SELECT 1 FROM users WHERE uid = 0;"


def test_policy_sql_check_accepts_osquery_tables_aliases_functions_and_hidden_columns(fleet_lab, run_module):
    query = ("SELECT 1 FROM configurations c JOIN file f ON f.path = c.path WHERE f.path LIKE '/etc/%%' "
             "AND f.pid_with_namespace = 0 AND split(c.value, ' ', 0) = 'no' AND regex_match(c.label, '^P', 0);")
    result = run_module(fleet_policy, fleet_lab.args(name="osquery dialect", query=query))
    assert result["changed"] is True, result.get("msg")


def test_policy_sql_with_two_statements_fails(fleet_lab, run_module):
    result = run_module(fleet_policy, fleet_lab.args(name="two", query="SELECT 1; SELECT 2;"))
    assert result["failed"] is True and "one statement" in result["msg"]
    assert fleet_lab.writes() == 0


def test_policy_without_sqlite3_skips_the_check_with_a_warning(fleet_lab, run_module, monkeypatch):
    monkeypatch.setattr(fleet_policy, "HAS_SQLITE3", False)
    result = run_module(fleet_policy, fleet_lab.args(name="unchecked", query="SELECT 1 FROM users;"))
    assert result["changed"] is True
    # ansible-core 2.19 returns warnings as WarningSummary objects; the text is in event.msg.
    texts = [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]
    assert "query of policy 'unchecked' not checked: this Python has no sqlite3 module" in texts, result
