"""playbooks/provision.yml (role gough.gough.provision) in provision_machines mode against the MAAS emulator: a
machine MAAS does not know is enlisted and commissioned, one already Ready is not commissioned again, and on a rerun
with every machine Deployed the commissioning tasks have no machine left to ask about (maas_machine with state=ready
would leave them alone)."""

import os
import re
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

START = "gough.gough.provision : Start commissioning every machine that needs it"
WAIT = "gough.gough.provision : Wait until every machine has been commissioned"


@pytest.fixture
def lab(tmp_path):
    """Two Ready machines (the test provisions one of them), commissioning and deploying in a fraction of a second."""
    emulator = start_maas_emulator(tmp_path / "maas", machines=2,
                                   extra_args=["--deploy-seconds", "0.3", "--release-seconds", "0.2",
                                               "--commission-seconds", "0.3"])
    try:
        yield emulator
    finally:
        emulator.stop()


def items_of(output, task):
    """The loop items the task ran for (skipped ones left out), from the default callback's output."""
    section = output.split("TASK [%s]" % task, 1)[1].split("\nTASK [", 1)[0]
    return sorted(set(re.findall(r"^(?:ok|changed): \[localhost\] => \(item=([^)]+)\)", section, re.M)))


def test_only_machines_that_need_it_are_commissioned_and_a_rerun_asks_about_none(lab, tmp_path):
    with MAASClient(lab.url, lab.api_key) as client:
        ready = sorted(client.get("machines/"), key=lambda m: m["hostname"])[0]
    variables = dict(provision_poll_interval=0.2, provision_deploy_timeout=60, provision_commission_timeout=60,
                     provision_machines=[
                         {"hostname": ready["hostname"], "mac_addresses": [ready["boot_interface"]["mac_address"]]},
                         {"hostname": "fresh-01", "mac_addresses": ["52:54:00:aa:bb:01"]}])
    first, changed = run_playbook("provision.yml", lab, tmp_path, variables)
    assert first.rc == 0, first.stdout[-4000:]
    assert changed > 0
    assert items_of(first.stdout, START) == ["fresh-01"]
    assert items_of(first.stdout, WAIT) == ["fresh-01"]
    with MAASClient(lab.url, lab.api_key) as client:
        status = {m["hostname"]: m["status_name"] for m in client.get("machines/")}
    assert (status[ready["hostname"]], status["fresh-01"]) == ("Deployed", "Deployed")
    again, changed = run_playbook("provision.yml", lab, tmp_path, variables)
    assert again.rc == 0, again.stdout[-4000:]
    assert changed == 0
    assert items_of(again.stdout, START) == [] and items_of(again.stdout, WAIT) == []
