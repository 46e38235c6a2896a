"""Canonical's python-libmaas 0.6.8, unchanged, drives a machine through its life against the emulator."""

# python-libmaas is pinned in requirements.txt: without it this is a broken venv, not a skip.
import maas.client as maas_client
from maas.client.enum import NodeStatus

from gough_lab.testing import start_maas_emulator


def test_libmaas_lists_creates_allocates_deploys_and_releases(tmp_path):
    with start_maas_emulator(tmp_path / "maas", machines=3, seed=3,
                             extra_args=("--deploy-seconds", "1", "--release-seconds", "1",
                                         "--commission-seconds", "0.2")) as emulator:
        client = maas_client.connect(emulator.url, apikey=emulator.api_key)
        listed = client.machines.list()
        assert sorted(m.hostname for m in listed) == ["node-00001", "node-00002", "node-00003"]
        assert all(m.status == NodeStatus.READY for m in listed)
        assert client.machines.list(hostnames=["node-00002"])[0].hostname == "node-00002"

        created = client.machines.create(architecture="amd64", mac_addresses=["52:54:00:aa:bb:01"],
                                         power_type="manual", power_parameters={}, hostname="libmaas-made")
        assert created.hostname == "libmaas-made"
        assert created.status == NodeStatus.COMMISSIONING

        machine = client.machines.allocate(hostname="node-00002", cpus=1, memory=1024)
        assert machine.status == NodeStatus.ALLOCATED
        assert machine.owner.username == "admin"

        machine.deploy(distro_series="jammy", user_data=b"#cloud-config\n{}\n", wait=True, wait_interval=0.2)
        assert machine.status == NodeStatus.DEPLOYED
        assert machine.distro_series == "jammy" and machine.ip_addresses
        assert machine.cpus > 0 and machine.memory > 0

        machine.release(comment="done", wait=True, wait_interval=0.2)
        assert machine.status == NodeStatus.READY
        assert machine.owner is None

        stats = emulator.stats()
        assert stats["machine_ops"][machine.system_id] == {"allocate": 1, "deploy": 1, "release": 1}
