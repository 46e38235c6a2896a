"""The MAAS emulator with --node-backend docker: deployments boot lab nodes and follow cloud-init's result."""

import ipaddress
import time

from gough_lab import nodes

OK = b"#cloud-config\nwrite_files:\n  - path: /etc/gough-deployed\n    content: deployed\n"
FAIL = b"#cloud-config\nruncmd:\n  - [\"false\"]\n"


def test_deploy_to_deployed_with_container_ip_then_release(maas_docker, lab_net):
    ok_id, bad_id = sorted(m["system_id"] for m in maas_docker.machines())
    maas_docker.deploy(ok_id, OK)
    maas_docker.deploy(bad_id, FAIL)

    deployed = maas_docker.wait_status(ok_id, ("Deployed", "Failed deployment"))
    assert deployed["status_name"] == "Deployed", deployed["status_message"]
    address = lab_net.address(ok_id)
    assert deployed["ip_addresses"] == [address]
    links = [link for nic in deployed["interface_set"] for link in nic["links"] if link.get("ip_address")]
    assert [link["ip_address"] for link in links] == [address]
    assert lab_net.read_file(ok_id, "/etc/gough-deployed") == b"deployed"
    assert lab_net.read_file(ok_id, "/etc/hostname").strip() == deployed["hostname"].encode()

    failed = maas_docker.wait_status(bad_id, ("Deployed", "Failed deployment"))
    assert failed["status_name"] == "Failed deployment"
    assert "scripts-user" in failed["status_message"]
    events = maas_docker.request("GET", "events/", {"op": "query", "id": bad_id})["events"]
    assert any("scripts-user" in event["description"] for event in events)

    power = maas_docker.request("GET", "machines/%s/?op=query_power_state" % ok_id)
    assert power["state"] == "on"
    maas_docker.request("POST", "machines/%s/?op=power_off" % ok_id, {})
    for _attempt in range(60):
        if not lab_net.is_running(ok_id):
            break
        time.sleep(0.5)
    assert maas_docker.request("GET", "machines/%s/?op=query_power_state" % ok_id)["state"] == "off"

    maas_docker.release(ok_id)
    maas_docker.release(bad_id, erase="true")
    assert maas_docker.wait_status(ok_id, ("Ready",))["ip_addresses"] == []
    maas_docker.wait_status(bad_id, ("Ready",))
    assert not lab_net.exists(ok_id)
    assert not lab_net.exists(bad_id)
    assert not [n for n in nodes.NodeDriver(prefix=lab_net.prefix).list_nodes() if n.endswith((ok_id, bad_id))]


def test_nodes_take_their_addresses_from_the_dynamic_range_of_the_node_subnet(maas_docker_subnet, lab_net):
    """With a MAAS subnet for the node network and a dynamic range on it, a booting node takes the next free address
    of the range (as a PXE-booting machine gets a lease from MAAS's DHCP); MAAS shows that address; two nodes get
    two addresses. The range's first address is held by a stand-in container of another lab on the network, so it
    is skipped."""
    network = ipaddress.ip_network(lab_net.subnet)
    first, last = network[200], network[210]
    subnet = maas_docker_subnet.request("POST", "subnets/", {"cidr": str(network), "gateway_ip": str(network[1])})
    maas_docker_subnet.request("POST", "ipranges/", {"subnet": subnet["id"], "type": "dynamic",
                                                     "start_ip": str(first), "end_ip": str(last)})
    other = "%sother-lab" % lab_net.prefix
    nodes.docker("run", "-d", "--name", other, "--network", lab_net.network, "--ip", str(first), "--label",
                 "gough-lab=1", "--entrypoint", "sleep", lab_net.image, "300")
    try:
        ids = sorted(m["system_id"] for m in maas_docker_subnet.machines())
        for system_id in ids:
            maas_docker_subnet.deploy(system_id, OK)
        addresses = []
        for system_id in ids:
            deployed = maas_docker_subnet.wait_status(system_id, ("Deployed", "Failed deployment"))
            assert deployed["status_name"] == "Deployed", deployed["status_message"]
            address = lab_net.address(system_id)
            assert deployed["ip_addresses"] == [address]
            addresses.append(ipaddress.ip_address(address))
        assert len(set(addresses)) == 2
        assert all(first < address <= last for address in addresses), addresses
    finally:
        nodes.docker("rm", "-f", other, check=False)
