"""playbooks/provision.yml (role gough.gough.provision) against the MAAS emulator in simulated mode: the
provision_count mode deploys N machines picked by constraints, a rerun deploys none more, cloud-init is rendered
from the library, and bad input fails before anything is written to MAAS."""

import json
import os
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
LAB = os.path.join(ROOT, "lab")
if LAB not in sys.path:
    sys.path.insert(0, LAB)

from gough_lab.testing import start_maas_emulator  # noqa: E402  pylint: disable=wrong-import-position
from playbook_run import run_playbook  # noqa: E402  pylint: disable=wrong-import-position,import-error
# pylint: disable-next=wrong-import-position,import-error
from ansible_collections.gough.gough.plugins.module_utils.maas import MAASClient  # noqa: E402

SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGough0000000000000000000000000000000000000 ops@example"


@pytest.fixture
def lab(tmp_path):
    """Six Ready machines; three carry the tag web. Counters zeroed."""
    emulator = start_maas_emulator(tmp_path / "maas", machines=6,
                                   extra_args=["--deploy-seconds", "0.3", "--release-seconds", "0.2"])
    try:
        with MAASClient(emulator.url, emulator.api_key) as client:
            listed = sorted(client.get("machines/"), key=lambda m: m["hostname"])
            client.post("tags/", data={"name": "web"})
            client.post("tags/web/", op="update_nodes", data={"add": [m["system_id"] for m in listed[:3]]})
        emulator.web = [m["system_id"] for m in listed[:3]]
        emulator.reset_stats()
        yield emulator
    finally:
        emulator.stop()


def machines(lab, **params):
    with MAASClient(lab.url, lab.api_key) as client:
        return client.get("machines/", params=params)


def run(lab, tmp_path, variables, *args):
    """ansible-playbook playbooks/provision.yml with ``variables``; returns (CompletedProcess, changed count)."""
    return run_playbook("provision.yml", lab, tmp_path, dict(provision_poll_interval=0.2, provision_deploy_timeout=60, **variables), *args)


def test_count_mode_deploys_n_matching_machines_with_rendered_user_data_and_a_rerun_deploys_none_more(
        lab, tmp_path):
    # What an AWX survey sends: an integer, tags as comma-separated text, a template name as text.
    variables = dict(provision_count=2, provision_tags="web", provision_zone="default", provision_pool="",
                     provision_distro_series="jammy", provision_cloudinit_template="base",
                     provision_cloudinit_vars={"cloudinit_ssh_authorized_keys": [SSH_KEY]},
                     provision_agent_name="web-batch")
    check, changed = run(lab, tmp_path, variables, "--check")
    assert check.rc == 0, check.stdout[-4000:]
    assert changed == 1 and lab.stats()["writes"] == 0

    first, changed = run(lab, tmp_path, variables)
    assert first.rc == 0, first.stdout[-4000:]
    assert changed == 1
    assert SSH_KEY not in first.stdout  # the user data stays out of the output
    deployed = machines(lab, agent_name="web-batch")
    assert len(deployed) == 2
    assert {m["system_id"] for m in deployed} <= set(lab.web)
    assert {m["status_name"] for m in deployed} == {"Deployed"}
    assert {m["distro_series"] for m in deployed} == {"jammy"}
    assert sum(1 for m in machines(lab) if m["status_name"] == "Deployed") == 2
    ops = lab.stats()["machine_ops"]
    assert sorted(sid for sid, counts in ops.items() if counts.get("deploy")) == sorted(
        m["system_id"] for m in deployed)

    lab.reset_stats()
    again, changed = run(lab, tmp_path, variables)
    assert again.rc == 0, again.stdout[-4000:]
    assert changed == 0 and lab.stats()["writes"] == 0
    assert len(machines(lab, agent_name="web-batch")) == 2
    assert sum(1 for m in machines(lab) if m["status_name"] == "Deployed") == 2


def test_count_mode_never_allocates_a_quarantined_machine(lab, tmp_path):
    with MAASClient(lab.url, lab.api_key) as client:
        client.post("tags/", data={"name": "gough-quarantine"})
        client.post("tags/gough-quarantine/", op="update_nodes", data={"add": lab.web[:-1]})
    variables = dict(provision_count=2, provision_tags="web", provision_agent_name="web-q")
    process, _changed = run(lab, tmp_path, variables)
    assert process.rc != 0
    assert "but only 1 Ready machines match" in process.stdout and "not_tags=gough-quarantine" in process.stdout, \
        process.stdout[-3000:]
    assert machines(lab, agent_name="web-q") == []
    allowed, _changed = run(lab, tmp_path, dict(variables, provision_count=1))
    assert allowed.rc == 0, allowed.stdout[-4000:]
    assert [m["system_id"] for m in machines(lab, agent_name="web-q")] == lab.web[-1:]


def test_count_mode_user_data_is_the_rendered_template(lab, tmp_path):
    variables = dict(provision_count=1, provision_cloudinit_template=["base", "gough-bootstrap"],
                     provision_cloudinit_vars={"cloudinit_ssh_authorized_keys": [SSH_KEY],
                                               "gough_ca_cert": "-----BEGIN CERTIFICATE-----\nMIIB\n"
                                                                "-----END CERTIFICATE-----\n"})
    process, _changed = run(lab, tmp_path, variables)
    assert process.rc == 0, process.stdout[-4000:]
    (machine,) = machines(lab, agent_name="gough")
    user_data = stored_user_data(lab, machine["system_id"])
    assert user_data.startswith("#cloud-config") and SSH_KEY in user_data and "MIIB" in user_data


def stored_user_data(lab, system_id):
    """The user data the emulator stored with the deploy (its state database; the API does not return it)."""
    import base64  # pylint: disable=import-outside-toplevel
    import sqlite3  # pylint: disable=import-outside-toplevel

    with sqlite3.connect(os.path.join(str(lab.state_dir), "maas.sqlite3")) as db:
        (doc,) = db.execute("SELECT doc FROM machines WHERE system_id = ?", (system_id,)).fetchone()
    return base64.b64decode(json.loads(doc)["user_data"]).decode()


@pytest.mark.parametrize("variables, message", [
    ({}, "Give exactly one of provision_machines"),
    ({"provision_count": 2, "provision_machines": [{"hostname": "x", "mac_addresses": ["52:54:00:00:00:01"]}]},
     "Give exactly one of provision_machines"),
    ({"provision_machines": [{"hostname": "x", "mac_addresses": ["52:54:00:00:00:01"]}], "provision_zone": "z"},
     "choose machines for provision_count"),
    ({"provision_count": 1, "provision_user_data": "#cloud-config\n", "provision_cloudinit_template": "base",
      "provision_cloudinit_vars": {"cloudinit_ssh_authorized_keys": [SSH_KEY]}}, "not both"),
    ({"provision_count": 1, "provision_cloudinit_template": "base"}, "cloudinit_ssh_authorized_keys"),
    ({"provision_count": 1, "provision_cloudinit_template": "no-such-template"}, "no-such-template"),
    ({"provision_count": 1, "provision_tags": "nope"}, "MAAS has no tag named nope"),
    ({"provision_count": 1, "provision_agent_name": ""}, "provision_agent_name must name the set"),
    ({"provision_count": 4, "provision_tags": "web"}, "only 3 Ready machines match"),
])
def test_bad_input_fails_before_any_write(lab, tmp_path, variables, message):
    process, _changed = run(lab, tmp_path, variables)
    assert process.rc == 2, process.stdout[-3000:]
    assert message in process.stdout, process.stdout[-3000:]
    assert lab.stats()["writes"] == 0
    assert all(m["status_name"] == "Ready" for m in machines(lab))


def test_deploy_log_gets_one_record_per_deployed_machine_and_a_run_that_deploys_nothing_writes_nothing(
        lab, tmp_path):
    """provision_deploy_log: maas_deploy's per-machine seconds for the fleet report's deploy-duration chart."""
    log = tmp_path / "deploys.jsonl"
    variables = dict(provision_count=2, provision_tags="web", provision_agent_name="logged",
                     provision_deploy_log=str(log))
    check, _changed = run(lab, tmp_path, variables, "--check")
    assert check.rc == 0, check.stdout[-4000:]
    assert not log.exists()
    first, _changed = run(lab, tmp_path, variables)
    assert first.rc == 0, first.stdout[-4000:]
    records = [json.loads(line) for line in log.read_text().splitlines()]
    deployed = sorted(m["hostname"] for m in machines(lab, agent_name="logged"))
    assert sorted(r["hostname"] for r in records) == deployed
    assert all(r["action"] == "deploy" and not r["failed"] and r["seconds"] > 0 and r["time"] > 0 and r["system_id"]
               for r in records)
    before = log.read_text()
    again, changed = run(lab, tmp_path, variables)
    assert again.rc == 0 and changed == 0, again.stdout[-4000:]
    assert log.read_text() == before
