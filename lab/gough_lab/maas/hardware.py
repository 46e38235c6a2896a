"""Hardware profiles that commissioning "discovers", chosen deterministically per machine.

Each profile is a plausible server: CPU, memory, NUMA layout, disks and NICs. ``profile_for`` hashes the
machine's system_id with the run's seed, so the same machine always gets the same hardware.
"""

import hashlib

GB = 1000 ** 3

PROFILES = (
    {
        "name": "compute-small",
        "cpu_count": 16, "cpu_speed": 2100, "memory": 65536, "numa_nodes": 1,
        "cpu_model": "Intel(R) Xeon(R) Silver 4208 CPU @ 2.10GHz",
        "vendor": "Dell Inc.", "product": "PowerEdge R640", "family": "PowerEdge",
        "bios_vendor": "Dell Inc.", "bios_version": "2.17.1", "bios_date": "10/19/2022",
        "disks": (("sda", 480 * GB, "SSDSC2KG480G8R", ("ssd",)),),
        "nics": (("eno1", 10000, "Intel Corporation", "Ethernet Controller X710 for 10GbE SFP+"),
                 ("eno2", 10000, "Intel Corporation", "Ethernet Controller X710 for 10GbE SFP+")),
    },
    {
        "name": "compute-large",
        "cpu_count": 64, "cpu_speed": 2600, "memory": 262144, "numa_nodes": 2,
        "cpu_model": "AMD EPYC 7513 32-Core Processor",
        "vendor": "Supermicro", "product": "AS -2024US-TRT", "family": "Family",
        "bios_vendor": "American Megatrends International, LLC.", "bios_version": "2.4a", "bios_date": "04/11/2023",
        "disks": (("sda", 960 * GB, "MZ7LH960HAJR", ("ssd",)), ("sdb", 960 * GB, "MZ7LH960HAJR", ("ssd",))),
        "nics": (("enp65s0f0", 25000, "Mellanox Technologies", "MT27710 Family [ConnectX-4 Lx]"),
                 ("enp65s0f1", 25000, "Mellanox Technologies", "MT27710 Family [ConnectX-4 Lx]"),
                 ("eno1", 1000, "Intel Corporation", "I350 Gigabit Network Connection"),
                 ("eno2", 1000, "Intel Corporation", "I350 Gigabit Network Connection")),
    },
    {
        "name": "storage",
        "cpu_count": 24, "cpu_speed": 2200, "memory": 131072, "numa_nodes": 2,
        "cpu_model": "Intel(R) Xeon(R) Silver 4214 CPU @ 2.20GHz",
        "vendor": "HPE", "product": "ProLiant DL380 Gen10", "family": "ProLiant",
        "bios_vendor": "HPE", "bios_version": "U30", "bios_date": "08/25/2022",
        "disks": (("sda", 480 * GB, "MK000480GWXFF", ("ssd",)),
                  ("sdb", 8000 * GB, "MB008000JWJRQ", ("hdd", "rotary")),
                  ("sdc", 8000 * GB, "MB008000JWJRQ", ("hdd", "rotary")),
                  ("sdd", 8000 * GB, "MB008000JWJRQ", ("hdd", "rotary"))),
        "nics": (("ens1f0", 25000, "Broadcom Inc. and subsidiaries", "BCM57414 NetXtreme-E 10Gb/25Gb"),
                 ("ens1f1", 25000, "Broadcom Inc. and subsidiaries", "BCM57414 NetXtreme-E 10Gb/25Gb")),
    },
    {
        "name": "edge",
        "cpu_count": 8, "cpu_speed": 2900, "memory": 32768, "numa_nodes": 1,
        "cpu_model": "Intel(R) Xeon(R) E-2278G CPU @ 3.40GHz",
        "vendor": "Lenovo", "product": "ThinkSystem SE350", "family": "ThinkSystem",
        "bios_vendor": "Lenovo", "bios_version": "TEE166G", "bios_date": "03/02/2023",
        "disks": (("nvme0n1", 256 * GB, "SAMSUNG MZVLB256HBHQ", ("ssd", "nvme")),),
        "nics": (("eno1", 1000, "Intel Corporation", "Ethernet Connection I219-LM"),
                 ("eno2", 1000, "Intel Corporation", "I210 Gigabit Network Connection")),
    },
    {
        "name": "gpu",
        "cpu_count": 48, "cpu_speed": 2450, "memory": 524288, "numa_nodes": 2,
        "cpu_model": "AMD EPYC 7413 24-Core Processor",
        "vendor": "GIGABYTE", "product": "G292-Z20", "family": "Server",
        "bios_vendor": "GIGABYTE", "bios_version": "R23", "bios_date": "12/07/2022",
        "disks": (("nvme0n1", 1920 * GB, "SAMSUNG MZQL21T9HCJR", ("ssd", "nvme")),
                  ("nvme1n1", 1920 * GB, "SAMSUNG MZQL21T9HCJR", ("ssd", "nvme"))),
        "nics": (("ens3f0", 100000, "Mellanox Technologies", "MT28800 Family [ConnectX-5 Ex]"),
                 ("ens3f1", 100000, "Mellanox Technologies", "MT28800 Family [ConnectX-5 Ex]")),
    },
)


# Most of a fleet is plain compute; storage and GPU boxes are rarer. Indexes into PROFILES.
PROFILE_WEIGHTS = (0, 0, 0, 0, 0, 1, 2, 3, 3, 3, 4)


def _digest(seed, system_id):
    return hashlib.sha256(("%s:%s" % (seed, system_id)).encode()).digest()


def profile_for(seed, system_id):
    """Return the hardware profile a machine gets, the same one every time for a seed and system_id."""
    return PROFILES[PROFILE_WEIGHTS[_digest(seed, system_id)[0] % len(PROFILE_WEIGHTS)]]


def serial_for(seed, system_id, what):
    """Return a stable, vendor-looking serial number for one component of a machine."""
    return hashlib.sha256(("%s:%s:%s" % (seed, system_id, what)).encode()).hexdigest()[:12].upper()


def hardware_uuid_for(seed, system_id):
    """Return the stable SMBIOS UUID of a machine."""
    h = hashlib.sha256(("%s:%s:uuid" % (seed, system_id)).encode()).hexdigest()
    return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:32])


def commissioned_hardware(seed, system_id, profile):
    """Return the fields commissioning fills in: cpu, memory, hardware_info, numa, disks and NIC facts."""
    numa = profile["numa_nodes"]
    per_node_cores = profile["cpu_count"] // numa
    per_node_memory = profile["memory"] // numa
    disks = []
    for index, (name, size, model, tags) in enumerate(profile["disks"]):
        disks.append({
            "name": name, "size": size, "model": model, "tags": list(tags),
            "serial": serial_for(seed, system_id, "disk%d" % index),
            "firmware_version": "HXT7%d04Q" % index,
            "numa_node": index % numa, "block_size": 4096 if "nvme" in tags else 512,
        })
    return {
        "hardware_profile": profile["name"],
        "cpu_count": profile["cpu_count"],
        "cpu_speed": profile["cpu_speed"],
        "memory": profile["memory"],
        "hardware_uuid": hardware_uuid_for(seed, system_id),
        "hardware_info": {
            "system_vendor": profile["vendor"],
            "system_product": profile["product"],
            "system_family": profile["family"],
            "system_version": "Not Specified",
            "system_sku": "SKU=%s" % serial_for(seed, system_id, "sku")[:6],
            "system_serial": serial_for(seed, system_id, "system"),
            "cpu_model": profile["cpu_model"],
            "mainboard_vendor": profile["vendor"],
            "mainboard_product": serial_for(seed, system_id, "board")[:6],
            "mainboard_serial": serial_for(seed, system_id, "mainboard"),
            "mainboard_version": "A00",
            "mainboard_firmware_vendor": profile["bios_vendor"],
            "mainboard_firmware_date": profile["bios_date"],
            "mainboard_firmware_version": profile["bios_version"],
            "chassis_vendor": profile["vendor"],
            "chassis_type": "Rack Mount Chassis",
            "chassis_serial": serial_for(seed, system_id, "chassis"),
            "chassis_version": "Not Specified",
        },
        "numanode_set": [
            {"index": node, "memory": per_node_memory,
             "cores": list(range(node * per_node_cores, (node + 1) * per_node_cores)), "hugepages_set": []}
            for node in range(numa)
        ],
        "disks": disks,
        "nics": [
            {"name": name, "speed": speed, "vendor": vendor, "product": product, "numa_node": index % numa,
             "firmware_version": "%d.%d.%d" % (14 + index, 32, 1010)}
            for index, (name, speed, vendor, product) in enumerate(profile["nics"])
        ],
    }
