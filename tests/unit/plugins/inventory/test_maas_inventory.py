# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The gough.gough.maas inventory plugin, run through ``ansible-inventory --list`` against the lab emulator.

Outputs are compared with golden JSON in ``golden/``; regenerate them with ``GOUGH_UPDATE_GOLDEN=1`` after a
deliberate change, and review the diff.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import subprocess
import sys
import time

import pytest

from gough_lab import playbook_runner

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
GOLDEN = os.path.join(HERE, "golden")
COLLECTIONS = os.path.join(ROOT, ".build", "pytest-collections")
BIN = os.path.dirname(sys.executable)
EVIL = "{{ lookup('pipe', 'touch %s') }}"


def run_ansible(tool, args, env_extra, check=True):
    """Run an ansible CLI from the venv with the collection on its path; return the CompletedProcess."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_INVENTORY_ENABLED="gough.gough.maas",
               ANSIBLE_NOCOLOR="1", ANSIBLE_DEPRECATION_WARNINGS="0")
    env.pop("MAAS_URL", None)
    env.pop("MAAS_API_KEY", None)
    env.update(env_extra)
    result = subprocess.run([os.path.join(BIN, tool)] + args, env=env, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s\n%s" % (tool, result.returncode, result.stdout, result.stderr))
    return result


def write_config(directory, text, name="test.maas.yml"):
    path = os.path.join(str(directory), name)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("plugin: gough.gough.maas\nretries: 0\n" + text)
    return path


def inventory_list(config, url, api_key):
    """``ansible-inventory -i config --list`` as parsed JSON (and the process, for stderr)."""
    result = run_ansible("ansible-inventory", ["-i", config, "--list"], {"MAAS_URL": url, "MAAS_API_KEY": api_key})
    return json.loads(result.stdout), result


def inventory_failure(config, url, api_key):
    """``ansible-inventory -i config --list`` for a source that must fail to parse. By default ansible-core only warns
    and lists an empty inventory; AWX's inventory updates set ANSIBLE_INVENTORY_UNPARSED_FAILED, and so does this,
    so the plugin's error must make the command fail. Returns the process."""
    result = run_ansible("ansible-inventory", ["-i", config, "--list"],
                         {"MAAS_URL": url, "MAAS_API_KEY": api_key, "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True"},
                         check=False)
    assert result.returncode != 0, result.stdout[-2000:]
    return result


def assert_golden(name, data):
    """Compare ``data`` with golden/<name>.json (written instead when GOUGH_UPDATE_GOLDEN is set)."""
    path = os.path.join(GOLDEN, name + ".json")
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    if os.environ.get("GOUGH_UPDATE_GOLDEN"):
        os.makedirs(GOLDEN, exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    with open(path, encoding="utf-8") as handle:
        expected = json.load(handle)
    assert data == expected, "inventory differs from %s" % path


def list_requests(emulator):
    return emulator.stats()["by_path"].get("/MAAS/api/2.0/machines/", 0)


class Fleet(object):
    """A seeded emulator in a known state: six machines, four Deployed, tags, a second zone and pool."""

    def __init__(self, emulator, client):
        self.emulator = emulator
        self.url = emulator.url
        self.api_key = emulator.api_key
        self.client = client


def build_fleet(emulator):
    sys.path.insert(0, COLLECTIONS)
    from ansible_collections.gough.gough.plugins.module_utils.maas import MAASClient  # pylint: disable=import-outside-toplevel

    emulator.configure(deploy_seconds=0)
    client = MAASClient(emulator.url, emulator.api_key, retries=0)
    sids = [m["system_id"] for m in client.get("machines/")]
    for tag in ("web", "db", "gpu"):
        client.post("tags/", data={"name": tag})
    client.post("zones/", data={"name": "zone-b"})
    client.post("resourcepools/", data={"name": "pool-x"})
    client.post("tags/web/", op="update_nodes", data={"add": sids[0:3]})
    client.post("tags/db/", op="update_nodes", data={"add": [sids[2], sids[3]]})
    client.post("tags/gpu/", op="update_nodes", data={"add": [sids[4]]})
    client.put("machines/%s/" % sids[1], data={"zone": "zone-b", "pool": "pool-x"})
    client.put("machines/%s/" % sids[3], data={"zone": "zone-b"})
    for sid in sids[0:4]:
        client.post("machines/%s/" % sid, op="deploy")
    deadline = time.monotonic() + 30
    while client.get("machines/", params={"status": "deploying"}):
        assert time.monotonic() < deadline, "machines did not finish deploying"
        time.sleep(0.05)
    client.post("machines/%s/" % sids[0], op="set_workload_annotations", data={"team": "blue", "env": "prod"})
    return Fleet(emulator, client)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """The seeded fleet, shared by the read-only tests of this module."""
    from gough_lab import testing  # pylint: disable=import-outside-toplevel
    emulator = testing.start_maas_emulator(str(tmp_path_factory.mktemp("maas")), machines=6, seed=7)
    try:
        yield build_fleet(emulator)
    finally:
        emulator.stop()


def test_default_config_lists_deployed_machines_with_default_groups(fleet, tmp_path):
    data, _result = inventory_list(write_config(tmp_path, ""), fleet.url, fleet.api_key)
    assert_golden("default", data)
    assert sorted(data["maas_status_deployed"]["hosts"]) == ["node-00001", "node-00002", "node-00003",
                                                             "node-00004"]
    assert sorted(data["maas_tag_web"]["hosts"]) == ["node-00001", "node-00002", "node-00003"]
    assert "maas_tag_gpu" not in data  # node-00005 is Ready, so filtered out by the default status


DEFAULT_HOSTVARS = {"ansible_host", "maas_system_id", "maas_hostname", "maas_fqdn", "maas_domain", "maas_status",
                    "maas_zone", "maas_pool", "maas_tags", "maas_osystem", "maas_distro_series", "maas_ip_addresses"}
DETAIL_HOSTVARS = {
    "status": {"maas_status_code", "maas_status_message", "maas_error_description", "maas_locked"},
    "ownership": {"maas_owner", "maas_description"},
    "annotations": {"maas_workload_annotations"},
    "hardware": {"maas_architecture", "maas_cpu_count", "maas_memory", "maas_storage", "maas_power_type",
                 "maas_power_state", "maas_hardware_vendor", "maas_hardware_product"},
    "interfaces": {"maas_mac_addresses", "maas_interfaces"},
}


def test_hosts_carry_the_default_hostvars_unless_a_detail_group_is_chosen(fleet, tmp_path):
    data, _result = inventory_list(write_config(tmp_path, ""), fleet.url, fleet.api_key)
    assert set(data["_meta"]["hostvars"]["node-00001"]) == DEFAULT_HOSTVARS
    chosen, _result = inventory_list(write_config(tmp_path, "hostvars_detail: [hardware, annotations]\n", "hw.maas.yml"),
                                     fleet.url, fleet.api_key)
    hostvars = chosen["_meta"]["hostvars"]["node-00001"]
    assert set(hostvars) == DEFAULT_HOSTVARS | DETAIL_HOSTVARS["hardware"] | DETAIL_HOSTVARS["annotations"]
    assert isinstance(hostvars["maas_memory"], int)
    # The detail changes the variables only, never the hosts or the groups.
    assert sorted(chosen["_meta"]["hostvars"]) == sorted(data["_meta"]["hostvars"])
    assert dict((k, v) for k, v in chosen.items() if k != "_meta") == dict((k, v) for k, v in data.items()
                                                                           if k != "_meta")


def test_hostvars_detail_all_carries_every_maas_field_all_marked_unsafe(fleet, tmp_path):
    data, _result = inventory_list(write_config(tmp_path, "hostvars_detail: [all]\n"), fleet.url, fleet.api_key)
    assert_golden("detail_all", data)
    hostvars = data["_meta"]["hostvars"]["node-00001"]
    assert set(hostvars) == DEFAULT_HOSTVARS.union(*DETAIL_HOSTVARS.values())
    assert hostvars["maas_status"] == {"__ansible_unsafe": "Deployed"} and hostvars["maas_status_code"] == 6
    assert hostvars["maas_workload_annotations"] == {"env": {"__ansible_unsafe": "prod"},
                                                     "team": {"__ansible_unsafe": "blue"}}
    assert hostvars["maas_tags"] == [{"__ansible_unsafe": "web"}]
    assert isinstance(hostvars["maas_memory"], int)
    first = hostvars["maas_interfaces"][0]
    assert set(first) == {"name", "mac_address", "vlan_name", "vlan_vid", "ip_addresses"}


def test_compose_and_groups_see_every_field_whatever_hostvars_detail_leaves_out(fleet, tmp_path):
    """Expressions written against the full vocabulary keep working with the default detail; the hosts still carry
    only the default variables and what compose sets."""
    config = write_config(tmp_path, """compose:
  team: maas_workload_annotations.team | default('none')
  cores: maas_cpu_count
groups:
  big_memory: maas_memory >= 0
keyed_groups:
  - key: maas_power_type
    prefix: power
strict: true
""")
    data, _result = inventory_list(config, fleet.url, fleet.api_key)
    hostvars = data["_meta"]["hostvars"]
    assert hostvars["node-00001"]["team"] == {"__ansible_unsafe": "blue"}
    assert hostvars["node-00002"]["team"] == {"__ansible_unsafe": "none"}
    assert all(isinstance(variables["cores"], int) for variables in hostvars.values())
    assert set(hostvars["node-00001"]) == DEFAULT_HOSTVARS | {"team", "cores"}
    assert sorted(data["big_memory"]["hosts"]) == sorted(hostvars)
    assert any(name.startswith("power_") for name in data)


def test_an_unknown_hostvars_detail_group_fails_naming_it(fleet, tmp_path):
    result = inventory_failure(write_config(tmp_path, "hostvars_detail: [hardware, disks]\n"), fleet.url,
                               fleet.api_key)
    assert "disks" in result.stderr and "hostvars_detail" in result.stderr


def test_filters_are_sent_to_maas_in_one_list_request(fleet, tmp_path):
    config = write_config(tmp_path, "status: [deployed, Ready]\ntags: [web]\nnot_tags: [db]\n"
                                    "zones: [default, zone-b]\npools: [default, pool-x]\n")
    fleet.emulator.reset_stats()
    data, _result = inventory_list(config, fleet.url, fleet.api_key)
    assert fleet.emulator.stats()["requests_total"] == 1
    assert list_requests(fleet.emulator) == 1
    assert_golden("filters", data)
    assert sorted(data["_meta"]["hostvars"]) == ["node-00001", "node-00002"]


def test_status_and_hostname_filters(fleet, tmp_path):
    config = write_config(tmp_path, "status: [ready]\nhostnames: [node-00005, node-00001]\n")
    data, _result = inventory_list(config, fleet.url, fleet.api_key)
    assert sorted(data["_meta"]["hostvars"]) == ["node-00005"]
    assert data["maas_status_ready"]["hosts"] == ["node-00005"]
    assert data["maas_tag_gpu"]["hosts"] == ["node-00005"]
    everything, _result = inventory_list(write_config(tmp_path, "status: []\n", "all.maas.yml"), fleet.url,
                                         fleet.api_key)
    assert len(everything["_meta"]["hostvars"]) == 6


def test_unknown_tag_filter_fails_with_maas_message(fleet, tmp_path):
    result = inventory_failure(write_config(tmp_path, "tags: [nosuchtag]\n"), fleet.url, fleet.api_key)
    assert "nosuchtag" in result.stderr
    assert fleet.api_key.split(":")[2] not in result.stderr


def test_naming_by_fqdn_or_system_id_and_preferred_cidrs(fleet, tmp_path):
    by_fqdn, _result = inventory_list(write_config(tmp_path, "hostname_source: fqdn\n"
                                                             "preferred_cidrs: [192.0.2.0/24, 10.20.0.4/32]\n"),
                                      fleet.url, fleet.api_key)
    assert_golden("naming_fqdn", by_fqdn)
    hostvars = by_fqdn["_meta"]["hostvars"]
    assert sorted(hostvars) == ["node-00001.maas", "node-00002.maas", "node-00003.maas", "node-00004.maas"]
    for name, variables in hostvars.items():
        assert variables["ansible_host"]["__ansible_unsafe"] in variables["maas_ip_addresses"][0].values(), name
    by_id, _result = inventory_list(write_config(tmp_path, "hostname_source: system_id\ngroup_by: []\n", "id.maas.yml"),
                                    fleet.url, fleet.api_key)
    assert_golden("naming_system_id", by_id)
    assert sorted(by_id["_meta"]["hostvars"]) == sorted(v["maas_system_id"]["__ansible_unsafe"]
                                                        for v in hostvars.values())
    assert set(by_id) == {"_meta", "all", "ungrouped"}


def test_constructable_compose_groups_and_keyed_groups(fleet, tmp_path):
    config = write_config(tmp_path, """group_by: [zones]
group_prefix: m_
compose:
  ansible_user: "'ubuntu' if maas_osystem == 'ubuntu' else 'root'"
  rack: maas_hostname[-1:]
groups:
  big_memory: maas_memory >= 65536
  webdb: "'web' in maas_tags and 'db' in maas_tags"
keyed_groups:
  - key: maas_distro_series
    prefix: series
  - key: maas_workload_annotations.team | default('none')
    prefix: team
  - key: maas_tags
    prefix: role
strict: true
""")
    data, _result = inventory_list(config, fleet.url, fleet.api_key)
    assert_golden("constructed", data)
    assert data["webdb"]["hosts"] == ["node-00003"]
    assert data["team_blue"]["hosts"] == ["node-00001"]
    assert "m_zone_zone_b" in data and "maas_tag_web" not in data


def test_strict_reports_a_broken_compose_expression(fleet, tmp_path):
    config = write_config(tmp_path, "strict: true\ncompose:\n  broken: maas_no_such_variable.x\n")
    result = inventory_failure(config, fleet.url, fleet.api_key)
    assert "broken" in result.stderr and "maas_no_such_variable" in result.stderr


def test_cache_hit_sends_no_request(fleet, tmp_path):
    config = write_config(tmp_path, "cache: true\ncache_plugin: ansible.builtin.jsonfile\ncache_connection: %s\n"
                          % (tmp_path / "cache"))
    fleet.emulator.reset_stats()
    first, _result = inventory_list(config, fleet.url, fleet.api_key)
    assert list_requests(fleet.emulator) == 1
    second, _result = inventory_list(config, fleet.url, fleet.api_key)
    assert fleet.emulator.stats()["requests_total"] == 1
    assert second == first
    assert_golden("default", second)
    # Other filters are another cache entry.
    other = write_config(tmp_path, "status: [ready]\ncache: true\ncache_plugin: ansible.builtin.jsonfile\n"
                                   "cache_connection: %s\n" % (tmp_path / "cache"))
    os.replace(other, config)
    ready, _result = inventory_list(config, fleet.url, fleet.api_key)
    assert list_requests(fleet.emulator) == 2
    assert sorted(ready["_meta"]["hostvars"]) == ["node-00005", "node-00006"]
    # --flush-cache asks MAAS again.
    result = run_ansible("ansible-inventory", ["-i", config, "--list", "--flush-cache"],
                         {"MAAS_URL": fleet.url, "MAAS_API_KEY": fleet.api_key})
    assert json.loads(result.stdout) == ready
    assert list_requests(fleet.emulator) == 3


def test_cache_holds_finished_hostvars_per_detail_and_preferred_cidrs(fleet, tmp_path):
    """The cache stores each host's finished variables (ansible_host included): a run with other detail groups or
    other preferred networks makes other variables, so it asks MAAS again instead of serving the wrong ones."""
    cache = "cache: true\ncache_plugin: ansible.builtin.jsonfile\ncache_connection: %s\n" % (tmp_path / "cache")
    config = write_config(tmp_path, cache)
    fleet.emulator.reset_stats()
    default, _result = inventory_list(config, fleet.url, fleet.api_key)
    detailed_config = write_config(tmp_path, cache + "hostvars_detail: [hardware]\n", "detail.maas.yml")
    os.replace(detailed_config, config)
    detailed, _result = inventory_list(config, fleet.url, fleet.api_key)
    assert list_requests(fleet.emulator) == 2
    assert "maas_memory" in detailed["_meta"]["hostvars"]["node-00001"]
    assert "maas_memory" not in default["_meta"]["hostvars"]["node-00001"]
    cached, _result = inventory_list(config, fleet.url, fleet.api_key)
    assert list_requests(fleet.emulator) == 2 and cached == detailed
    cidrs_config = write_config(tmp_path, cache + "hostvars_detail: [hardware]\npreferred_cidrs: [10.20.0.4/32]\n",
                                "cidrs.maas.yml")
    os.replace(cidrs_config, config)
    by_cidr, _result = inventory_list(config, fleet.url, fleet.api_key)
    assert list_requests(fleet.emulator) == 3
    # Each machine has one address here, so the preference picks the same ones.
    assert by_cidr == detailed


def test_cache_fallback_serves_cached_inventory_with_warning_when_maas_is_down(lab_maas_factory, tmp_path):
    emulator = lab_maas_factory(machines=6, seed=7)
    build_fleet(emulator)
    cache_options = "cache_plugin: ansible.builtin.jsonfile\ncache_connection: %s\n" % (tmp_path / "cache")
    with_fallback = write_config(tmp_path, cache_options + "cache_fallback: true\n", "fallback.maas.yml")
    without = write_config(tmp_path, cache_options, "plain.maas.yml")
    live, _result = inventory_list(with_fallback, emulator.url, emulator.api_key)
    assert_golden("default", live)
    emulator.stop()

    served, result = inventory_list(with_fallback, emulator.url, emulator.api_key)
    assert served == live
    assert "MAAS is unreachable, serving the cached inventory of 4 machines" in " ".join(result.stderr.split())

    result = inventory_failure(without, emulator.url, emulator.api_key)
    assert "Cannot connect to MAAS" in result.stderr
    assert emulator.api_key.split(":")[2] not in result.stderr


def evil_machine(marker):
    """A machine as MAAS would list it whose hostname, tag and annotation hold a template that touches marker."""
    evil = EVIL % marker
    return {
        "system_id": "ev1l00", "hostname": "evil-" + evil, "fqdn": "evil-%s.maas" % evil,
        "domain": {"name": "maas"}, "status_name": "Deployed", "zone": {"name": "default"},
        "pool": {"name": "default"}, "tag_names": [evil], "owner": "admin", "osystem": "ubuntu",
        "distro_series": "jammy", "architecture": "amd64/generic", "power_type": "manual", "cpu_count": 1,
        "memory": 1024, "storage": 1000.0, "ip_addresses": ["192.0.2.10"],
        "interface_set": [{"name": evil, "mac_address": "52:54:00:12:34:56", "vlan": {"vid": 0, "fabric": "f0"},
                           "links": [{"ip_address": "192.0.2.10"}]}],
        "workload_annotations": {"note": evil, evil: "key"},
        "hardware_info": {"system_vendor": evil, "system_product": "Unknown"},
    }


def test_strings_from_maas_are_never_templated(maas_tap, tmp_path):
    marker = str(tmp_path / "templated")
    machine = evil_machine(marker)
    config = write_config(tmp_path, "hostname_source: fqdn\nhostvars_detail: [all]\n")
    maas_tap.script(("json", 200, [machine]))
    data, _result = inventory_list(config, maas_tap.url, maas_tap.api_key)
    hostvars = data["_meta"]["hostvars"][machine["fqdn"]]
    evil = EVIL % marker
    assert hostvars["maas_hostname"] == {"__ansible_unsafe": machine["hostname"]}
    assert hostvars["maas_tags"] == [{"__ansible_unsafe": evil}]
    assert hostvars["maas_workload_annotations"]["note"] == {"__ansible_unsafe": evil}
    assert hostvars["maas_hardware_vendor"] == {"__ansible_unsafe": evil}
    assert "maas_hardware_product" not in hostvars

    playbook = tmp_path / "use.yml"
    playbook.write_text("""- hosts: all
  gather_facts: false
  connection: local
  tasks:
    - ansible.builtin.debug:
        msg: "{{ maas_hostname }} {{ maas_fqdn }} {{ maas_tags | join(',') }} {{ maas_workload_annotations }}
          {{ maas_hardware_vendor }} {{ maas_interfaces[0].name }} {{ inventory_hostname }}"
    - ansible.builtin.set_fact:
        copied: "{{ maas_workload_annotations.note }}"
    - ansible.builtin.debug:
        msg: "{{ copied }} {{ hostvars[inventory_hostname].maas_tags[0] }}"
""")
    maas_tap.script(("json", 200, [machine]))
    # The inventory source reads MAAS_URL/MAAS_API_KEY from the job's environment, as AWX's MAAS credential injects.
    result = playbook_runner.run_playbook(str(playbook), str(tmp_path / "job"), inventory=config,
                                          collections=COLLECTIONS,
                                          envvars={"MAAS_URL": maas_tap.url, "MAAS_API_KEY": maas_tap.api_key,
                                                   "ANSIBLE_INVENTORY_ENABLED": "gough.gough.maas"})
    assert result.rc == 0, result.output
    assert "lookup('pipe'" in result.stdout
    assert not os.path.exists(marker), "a string from MAAS was templated"


def test_ansible_host_prefers_cidrs_in_order_then_ipv4_then_fqdn():
    sys.path.insert(0, COLLECTIONS)
    import ipaddress  # pylint: disable=import-outside-toplevel
    from ansible_collections.gough.gough.plugins.inventory.maas import pick_ansible_host  # pylint: disable=import-outside-toplevel

    hostvars = {"maas_ip_addresses": ["2001:db8::5", "10.1.0.5", "172.16.0.5", "not-an-ip"], "maas_fqdn": "a.maas"}
    nets = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "172.16.0.0/12", "10.0.0.0/8")]
    assert pick_ansible_host(hostvars, nets) == "172.16.0.5"
    assert pick_ansible_host(hostvars, [ipaddress.ip_network("2001:db8::/32")]) == "2001:db8::5"
    assert pick_ansible_host(hostvars, []) == "10.1.0.5"
    assert pick_ansible_host({"maas_ip_addresses": ["2001:db8::5"], "maas_fqdn": "a.maas"}, []) == "a.maas"


def test_quarantined_machines_form_the_gough_quarantine_group_whatever_group_by_says(tmp_path):
    """The compliance gate's tag becomes a group playbooks can leave out (all:!gough_quarantine)."""
    from gough_lab import testing  # pylint: disable=import-outside-toplevel
    emulator = testing.start_maas_emulator(str(tmp_path / "maas"), machines=6, seed=3)
    try:
        seeded = build_fleet(emulator)
        sids = [m["system_id"] for m in seeded.client.get("machines/", params={"status": "deployed"})]
        for tag in ("gough-quarantine", "isolated"):
            seeded.client.post("tags/", data={"name": tag})
            seeded.client.post("tags/%s/" % tag, op="update_nodes", data={"add": [sids[0]]})
        hostname = seeded.client.get("machines/%s/" % sids[0])["hostname"]

        data, _result = inventory_list(write_config(tmp_path, "group_by: []\n"), emulator.url, emulator.api_key)
        assert data["gough_quarantine"]["hosts"] == [hostname]
        custom, _result = inventory_list(write_config(tmp_path, "group_by: []\nquarantine_tag: isolated\n"),
                                         emulator.url, emulator.api_key)
        assert custom["gough_quarantine"]["hosts"] == [hostname]
        off, _result = inventory_list(write_config(tmp_path, "quarantine_tag: ''\n"), emulator.url, emulator.api_key)
        assert "gough_quarantine" not in off and off["maas_tag_gough_quarantine"]["hosts"] == [hostname]
    finally:
        emulator.stop()


def test_documented_ansible_user_example_does_not_guess_from_an_empty_osystem(lab_maas_factory, tmp_path):
    """Machines added with deployed=true have ``osystem ""`` on MAAS 3.5: the documented compose takes the login user
    from the ``ansible_user`` workload annotation, else the cloud-init template's admin user, and groups the machines
    whose OS MAAS does not know."""
    sys.path.insert(0, COLLECTIONS)
    from ansible_collections.gough.gough.plugins.inventory import maas as maas_inventory  # pylint: disable=import-outside-toplevel
    from ansible_collections.gough.gough.plugins.module_utils.maas import MAASClient  # pylint: disable=import-outside-toplevel
    import yaml  # pylint: disable=import-outside-toplevel

    emulator = lab_maas_factory(machines=1)
    emulator.configure(deploy_seconds=0)
    with MAASClient(emulator.url, emulator.api_key, retries=0) as client:
        sid = client.get("machines/")[0]["system_id"]
        client.post("machines/%s/" % sid, op="deploy")
        for number, user in ((1, "centos"), (2, None)):
            added = client.post("machines/", data={"hostname": "brown-%d" % number, "architecture": "amd64/generic",
                                                   "mac_addresses": "52:54:00:16:05:0%d" % number,
                                                   "power_type": "manual", "deployed": True})
            assert added["osystem"] == ""
            if user:
                client.post("machines/%s/" % added["system_id"], op="set_workload_annotations",
                            data={"ansible_user": user})
    example = [doc for doc in yaml.safe_load_all(maas_inventory.EXAMPLES) if doc and doc.get("compose")][0]
    config = write_config(tmp_path, yaml.safe_dump({"compose": example["compose"], "groups": example["groups"],
                                                    "strict": True}))
    data, _result = inventory_list(config, emulator.url, emulator.api_key)
    users = dict((host, hostvars["ansible_user"]["__ansible_unsafe"])
                 for host, hostvars in data["_meta"]["hostvars"].items())
    deployed_host = [h for h in users if not h.startswith("brown-")][0]
    assert users == {deployed_host: "ops", "brown-1": "centos", "brown-2": "ops"}
    assert sorted(data["maas_os_unknown"]["hosts"]) == ["brown-1", "brown-2"]
