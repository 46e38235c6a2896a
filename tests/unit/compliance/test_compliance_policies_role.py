"""roles/compliance, entry point ``policies``, through ansible-runner against the Fleet emulator: the baseline
applied globally or to a team, user policies added, baseline policies disabled, a rerun and check mode that change
nothing, and a policy with bad SQL that fails naming the policy before anything is written."""

import os
import sys
import tempfile

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
LAB = os.path.join(ROOT, "lab")
if LAB not in sys.path:
    sys.path.insert(0, LAB)
COLLECTIONS = os.path.join(ROOT, ".build", "pytest-collections")
DEFAULTS = os.path.join(ROOT, "roles", "compliance", "defaults", "main", "policies.yml")

from gough_lab.playbook_runner import run_playbook  # noqa: E402  pylint: disable=wrong-import-position

PLAYBOOK = """
- name: Fleet policies
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Apply the policies
      ansible.builtin.include_role:
        name: gough.gough.compliance
        tasks_from: policies
    - name: One result per policy in compliance_policies_applied, in order, each with the policy Fleet holds
      ansible.builtin.assert:
        that:
          - compliance_policies_applied.results | length == __compliance_policies | length
          - (compliance_policies_applied.results | map(attribute='item.name') | list)
            == (__compliance_policies | map(attribute='name') | list)
          - (compliance_policies_applied.results | map(attribute='policy.name') | list)
            == (__compliance_policies | map(attribute='name') | list)
          - compliance_policies_applied.changed
            == (compliance_policies_applied.results | selectattr('changed') | list | length > 0)
"""


def baseline():
    with open(DEFAULTS, encoding="utf-8") as handle:
        return yaml.safe_load(handle)["compliance_baseline_policies"]


def run(fleet, tmp_path, variables=None, *args):
    """Run the entry point as a job (gough_lab.playbook_runner); returns (exit status, output, changed count)."""
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAYBOOK)
    extra = {"gough_fleet_url": fleet.url, "gough_fleet_api_token": fleet.api_token, "gough_ca_cert": fleet.ca_cert}
    extra.update(variables or {})
    job = run_playbook(str(playbook), tempfile.mkdtemp(prefix="job-", dir=tmp_path), *args, extravars=extra,
                       envvars={"ANSIBLE_LOCALHOST_WARNING": "0", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0"},
                       collections=COLLECTIONS, timeout=300)
    return job.rc, job.stdout, job.changed().get("localhost")


def test_baseline_applies_globally_then_reruns_and_check_mode_change_nothing(fleet, tmp_path):
    fleet.reset_stats()
    status, output, _changed = run(fleet, tmp_path, None, "--check")
    assert status == 0, output[-3000:]
    assert fleet.stats()["writes"] == 0 and fleet.api("GET", "global/policies").json()["policies"] == []
    status, output, changed = run(fleet, tmp_path)
    assert status == 0, output[-3000:]
    policies = fleet.api("GET", "global/policies").json()["policies"]
    shipped = baseline()
    assert changed == 1 and len(shipped) >= 8  # one task (all the policies) changed
    by_name = dict((p["name"], p) for p in policies)
    assert sorted(by_name) == sorted(p["name"] for p in shipped)
    for policy in shipped:
        got = by_name[policy["name"]]
        assert (got["critical"], got["platform"], got["query"]) == (policy["critical"], "linux",
                                                                    policy["query"].strip())
        assert got["resolution"] and got["description"]
    writes = fleet.stats()["writes"]
    status, output, changed = run(fleet, tmp_path)
    assert status == 0 and changed == 0, output[-3000:]
    assert fleet.stats()["writes"] == writes


def test_team_policies_with_extra_and_disabled_ones(fleet, tmp_path):
    team = fleet.api("POST", "teams", {"name": "web"}).json()["team"]
    fleet.api("POST", "teams/%d/policies" % team["id"], {"name": "Journal persistent", "query": "SELECT 1"})
    extra = {"name": "nginx installed", "query": "SELECT 1 FROM deb_packages WHERE name = 'nginx';",
             "description": "nginx is installed", "resolution": "apt-get install nginx", "critical": False,
             "platform": "linux"}
    status, output, _changed = run(fleet, tmp_path, {"compliance_policies_team": "web",
                                                     "compliance_extra_policies": [extra],
                                                     "compliance_disabled_policies": ["Journal persistent"]})
    assert status == 0, output[-3000:]
    names = sorted(p["name"] for p in fleet.api("GET", "teams/%d/policies" % team["id"]).json()["policies"])
    expected = sorted([p["name"] for p in baseline() if p["name"] != "Journal persistent"] + ["nginx installed"])
    assert names == expected
    assert fleet.api("GET", "global/policies").json()["policies"] == []


def test_a_policy_with_bad_sql_fails_naming_it_before_anything_is_written(fleet, tmp_path):
    fleet.reset_stats()
    bad = {"name": "typo", "query": "SELECT 1 FROM sytemd_units WHERE id = 'sshd.service';"}
    status, output, _changed = run(fleet, tmp_path, {"compliance_extra_policies": [bad]})
    assert status != 0
    # The extra policy comes after the baseline's in the one task's list, and the error names its entry.
    assert "].query: policy 'typo' is not valid osquery SQL: no such table: sytemd_units" in output
    assert "policies[%d].query" % len(baseline()) in output
    assert fleet.stats()["writes"] == 0 and fleet.api("GET", "global/policies").json()["policies"] == []
