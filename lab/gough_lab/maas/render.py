"""JSON representations of MAAS objects, shaped like the 2.0 API's responses."""

from . import enums

API = "/MAAS/api/2.0/"


def by_key(table):
    """The values of a dict ordered by key (ids or names), as MAAS lists objects."""
    return [table[key] for key in sorted(table)]


def zone_json(zone):
    """A zone as MAAS shows it."""
    return {"id": zone["id"], "name": zone["name"], "description": zone["description"],
            "resource_uri": API + "zones/%s/" % zone["name"]}


def pool_json(pool):
    """A resource pool; note the singular ``resourcepool/`` in its URI."""
    return {"id": pool["id"], "name": pool["name"], "description": pool["description"],
            "resource_uri": API + "resourcepool/%d/" % pool["id"]}


def domain_json(domain, resource_record_count=0):
    """A DNS domain."""
    return {"id": domain["id"], "name": domain["name"], "ttl": domain["ttl"], "authoritative": domain["authoritative"],
            "is_default": domain["is_default"], "resource_record_count": resource_record_count,
            "resource_uri": API + "domains/%d/" % domain["id"]}


def vlan_json(vlan, fabric, relay=None):
    """A VLAN, with its fabric's name; ``relay`` is the relay VLAN's JSON (MAAS nests the object). The fabric's
    untagged VLAN is always named ``untagged`` (VLAN.get_name). MAAS shows no ``description`` (it is not among
    DISPLAYED_VLAN_FIELDS), though its form accepts one."""
    return {"vid": vlan["vid"], "mtu": vlan["mtu"], "dhcp_on": vlan["dhcp_on"], "external_dhcp": None,
            "relay_vlan": relay, "fabric": fabric["name"], "space": vlan.get("space") or "undefined",
            "primary_rack": vlan.get("primary_rack"), "secondary_rack": vlan.get("secondary_rack"),
            "name": "untagged" if vlan["vid"] == 0 else vlan.get("name"),
            "fabric_id": vlan["fabric_id"], "id": vlan["id"], "resource_uri": API + "vlans/%d/" % vlan["id"]}


def fabric_json(fabric, vlans):
    """A fabric with its VLANs."""
    return {"id": fabric["id"], "name": fabric["name"], "class_type": fabric.get("class_type"),
            "vlans": vlans, "resource_uri": API + "fabrics/%d/" % fabric["id"]}


def subnet_json(subnet, vlan):
    """A subnet with its VLAN expanded."""
    return {"name": subnet["name"], "description": subnet.get("description", ""), "vlan": vlan,
            "cidr": subnet["cidr"], "rdns_mode": 2, "gateway_ip": subnet.get("gateway_ip"),
            "dns_servers": subnet.get("dns_servers", []), "allow_dns": True, "allow_proxy": True,
            "active_discovery": False, "managed": subnet.get("managed", True), "disabled_boot_architectures": [],
            "id": subnet["id"], "space": "undefined", "resource_uri": API + "subnets/%d/" % subnet["id"]}


def tag_json(tag):
    """A tag."""
    return {"name": tag["name"], "definition": tag.get("definition", ""), "comment": tag.get("comment", ""),
            "kernel_opts": tag.get("kernel_opts", ""), "resource_uri": API + "tags/%s/" % tag["name"]}


def user_json(user):
    """A user, as ``users/`` and ``whoami`` show it."""
    return {"is_superuser": user["is_superuser"], "username": user["username"], "email": user["email"],
            "is_local": True, "resource_uri": API + "users/%s/" % user["username"]}


def sshkey_json(key):
    """An SSH public key."""
    return {"id": key["id"], "key": key["key"], "keysource": key.get("keysource"),
            "resource_uri": API + "account/prefs/sshkeys/%d/" % key["id"]}


def _status_pair(prefix, value):
    return {prefix: value, prefix + "_name": enums.SCRIPT_STATUS_NAMES.get(value, "Unknown")}


class MachineRenderer:
    """Turns a stored machine document into MAAS's machine JSON, given the region's placement objects."""

    def __init__(self, region):
        """Render against ``region``'s zones, pools, domains, fabrics, VLANs and subnets."""
        self.region = region

    def _vlan(self, vlan_id):
        vlan = self.region.vlans[vlan_id]
        relay = self.region.vlans.get(vlan.get("relay_vlan")) if vlan.get("relay_vlan") is not None else None
        relay_json = vlan_json(relay, self.region.fabrics[relay["fabric_id"]]) if relay else None
        return vlan_json(vlan, self.region.fabrics[vlan["fabric_id"]], relay_json)

    def _subnet(self, subnet_id):
        subnet = self.region.subnets[subnet_id]
        return subnet_json(subnet, self._vlan(subnet["vlan_id"]))

    def interface(self, machine, nic):
        """One physical interface with VLAN and links."""
        links = []
        for link in nic["links"]:
            entry = {"id": link["id"], "mode": link["mode"]}
            if link.get("subnet_id") is not None and link["subnet_id"] in self.region.subnets:
                entry["subnet"] = self._subnet(link["subnet_id"])
            if link.get("ip"):
                entry["ip_address"] = link["ip"]
            links.append(entry)
        vlan = self._vlan(nic["vlan_id"]) if nic.get("vlan_id") in self.region.vlans else None
        speed = nic.get("speed", 0)
        return {
            "params": {}, "id": nic["id"], "name": nic["name"], "type": "physical", "enabled": nic.get("enabled", True),
            "mac_address": nic["mac"], "vlan": vlan, "links": links, "parents": [], "children": [], "tags": [],
            "discovered": [] if links else None, "effective_mtu": vlan["mtu"] if vlan else 1500,
            "system_id": machine["system_id"], "numa_node": nic.get("numa_node", 0),
            "vendor": nic.get("vendor"), "product": nic.get("product"), "firmware_version": nic.get("firmware_version"),
            "link_connected": True, "interface_speed": speed, "link_speed": speed if links else 0, "sriov_max_vf": 0,
            "resource_uri": API + "nodes/%s/interfaces/%d/" % (machine["system_id"], nic["id"]),
        }

    @staticmethod
    def block_device(machine, disk):
        """One physical disk; the boot disk carries MAAS's default flat layout (ESP + root)."""
        sid = machine["system_id"]
        partitions = []
        used_for = "Unused"
        used_size = 0
        if disk.get("boot"):
            esp = 536870912
            root = disk["size"] - esp - 8 * 1048576
            for number, (size, fstype, mount, bootable) in enumerate(
                    ((esp, "fat32", "/boot/efi", True), (root, "ext4", "/", False)), start=1):
                part_id = disk["id"] * 4 + number
                partitions.append({
                    "uuid": "%s-%04d-4000-8000-%012d" % (sid.ljust(8, "0"), number, part_id),
                    "size": size, "bootable": bootable, "tags": [],
                    "path": "/dev/disk/by-dname/%s-part%d" % (disk["name"], number),
                    "system_id": sid, "device_id": disk["id"],
                    "type": "partition", "id": part_id, "used_for": "%s formatted filesystem mounted at %s" % (fstype, mount),
                    "filesystem": {"fstype": fstype, "label": "efi" if fstype == "fat32" else "root",
                                   "uuid": "%08x-0000-4000-8000-%012x" % (part_id, disk["id"]),
                                   "mount_point": mount, "mount_options": None},
                    "resource_uri": API + "nodes/%s/blockdevices/%d/partition/%d" % (sid, disk["id"], part_id),
                })
            used_for = "GPT partitioned with 2 partitions"
            used_size = disk["size"]
        return {
            "id_path": "/dev/disk/by-id/wwn-0x5%s" % disk["serial"].lower()[:15], "size": disk["size"],
            "block_size": disk.get("block_size", 512), "tags": disk["tags"], "uuid": None,
            "numa_node": disk.get("numa_node", 0), "storage_pool": None, "model": disk["model"], "serial": disk["serial"],
            "firmware_version": disk.get("firmware_version"), "partition_table_type": "GPT" if partitions else None,
            "id": disk["id"], "system_id": sid, "used_for": used_for, "available_size": disk["size"] - used_size,
            "used_size": used_size, "path": "/dev/disk/by-dname/%s" % disk["name"], "name": disk["name"],
            "type": "physical", "filesystem": None, "partitions": partitions,
            "resource_uri": API + "nodes/%s/blockdevices/%d/" % (sid, disk["id"]),
        }

    def machine(self, m):
        """The full machine representation (DISPLAYED_MACHINE_FIELDS)."""
        region = self.region
        status = m["status"]
        interfaces = [self.interface(m, nic) for nic in m["interfaces"]]
        disks = [self.block_device(m, disk) for disk in m["disks"]]
        ips = [link["ip"] for nic in m["interfaces"] for link in nic["links"] if link.get("ip")]
        domain = region.domains.get(m["domain_id"]) or region.default_domain()
        gateway_link = None
        for nic in m["interfaces"]:
            for link in nic["links"]:
                if link.get("ip") and gateway_link is None:
                    gateway_link = link
        gateway_ip = None
        if gateway_link is not None and gateway_link.get("subnet_id") in region.subnets:
            gateway_ip = region.subnets[gateway_link["subnet_id"]].get("gateway_ip")
        data = {
            "resource_uri": API + "machines/%s/" % m["system_id"],
            "system_id": m["system_id"],
            "hostname": m["hostname"],
            "description": m.get("description", ""),
            "hardware_uuid": m.get("hardware_uuid"),
            "domain": domain_json(domain, region.domain_record_count(domain["id"])),
            "fqdn": "%s.%s" % (m["hostname"], domain["name"]),
            "owner": m.get("owner"),
            "owner_data": dict(m.get("owner_data") or {}),
            "workload_annotations": dict(m.get("owner_data") or {}),
            "locked": bool(m.get("locked")),
            "status": status,
            "status_name": enums.status_label(status),
            "status_message": m.get("status_message"),
            "status_action": m.get("status_action"),
            "error_description": m.get("error_description", ""),
            "node_type": 0,
            "node_type_name": "Machine",
            "parent": None,
            "pod": None,
            "virtualmachine_id": None,
            "architecture": m.get("architecture") or "",
            "min_hwe_kernel": m.get("min_hwe_kernel") or "",
            "hwe_kernel": m.get("hwe_kernel"),
            "cpu_count": m.get("cpu_count", 0),
            "cpu_speed": m.get("cpu_speed", 0),
            "memory": m.get("memory", 0),
            "swap_size": None,
            "storage": float(sum(d["size"] for d in m["disks"]) / 1000000.0),
            "hardware_info": m.get("hardware_info") or _unknown_hardware_info(),
            "numanode_set": m.get("numanode_set") or [{"index": 0, "memory": 0, "cores": [], "hugepages_set": []}],
            "bios_boot_method": "uefi" if m.get("cpu_count") else None,
            "netboot": bool(m.get("netboot", True)),
            "osystem": m.get("osystem", ""),
            "distro_series": m.get("distro_series", ""),
            "ephemeral_deploy": bool(m.get("ephemeral_deploy")),
            "enable_hw_sync": bool(m.get("enable_hw_sync")),
            "last_sync": None,
            "next_sync": None,
            "sync_interval": None,
            "disable_ipv4": False,
            "address_ttl": None,
            "power_type": m.get("power_type", ""),
            "power_state": m.get("power_state", "unknown"),
            "zone": zone_json(region.zones.get(m["zone_id"]) or region.zones[region.default_zone_id]),
            "pool": pool_json(region.pools.get(m["pool_id"]) or region.pools[0]),
            "tag_names": list(m.get("tag_names", [])),
            "ip_addresses": ips,
            "boot_interface": interfaces[0] if interfaces else None,
            "interface_set": interfaces,
            "default_gateways": {
                "ipv4": {"gateway_ip": gateway_ip, "link_id": gateway_link["id"] if gateway_link else None},
                "ipv6": {"gateway_ip": None, "link_id": None},
            },
            "boot_disk": disks[0] if disks else None,
            "blockdevice_set": disks,
            "physicalblockdevice_set": disks,
            "virtualblockdevice_set": [],
            "volume_groups": [],
            "raids": [],
            "cache_sets": [],
            "bcaches": [],
            "special_filesystems": [],
            "current_commissioning_result_id": m.get("commissioning_result_id"),
            "current_testing_result_id": m.get("testing_result_id"),
            "current_installation_result_id": m.get("installation_result_id"),
        }
        data.update(_status_pair("commissioning_status", m.get("commissioning_status", -1)))
        data.update(_status_pair("testing_status", m.get("testing_status", -1)))
        for kind in ("cpu", "memory", "network", "interface", "other"):
            data.update(_status_pair("%s_test_status" % kind, -1))
        data.update(_status_pair("storage_test_status", m.get("storage_test_status", -1)))
        if region.at_least("3.6"):
            # The field came with MAAS 3.6; a 3.5 region does not send it.
            data["enable_kernel_crash_dump"] = bool(m.get("enable_kernel_crash_dump"))
        return data


def _unknown_hardware_info():
    keys = ("system_vendor", "system_product", "system_family", "system_version", "system_sku", "system_serial",
            "cpu_model", "mainboard_vendor", "mainboard_product", "mainboard_serial", "mainboard_version",
            "mainboard_firmware_vendor", "mainboard_firmware_date", "mainboard_firmware_version", "chassis_vendor",
            "chassis_type", "chassis_serial", "chassis_version")
    return {key: "Unknown" for key in keys}
