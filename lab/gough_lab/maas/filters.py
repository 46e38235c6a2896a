"""Machine list filters (ReadNodesForm) and allocation constraints (AcquireNodeForm), with MAAS's 400s."""

import re

from . import enums
from .errors import form_errors
from .region import normalise_mac

# name -> how values combine. "any": OR over values; "all": every value; "min": a lower bound; "not": exclusion.
READ_FILTERS = {
    "id": "any", "system_id": "any", "hostname": "any", "mac_address": "any", "domain": "any", "agent_name": "any",
    "zone": "any", "pool": "any", "arch": "any", "owner": "any", "power_state": "any", "fabrics": "any",
    "vlans": "any", "pod": "any", "status": "any", "simple_status": "any",
    "tags": "all", "subnets": "all",
    "cpu_count": "min", "mem": "min", "cpu_speed": "min", "link_speed": "min",
    "not_id": "not", "not_hostname": "not", "not_tags": "not", "not_in_zone": "not", "not_in_pool": "not",
    "not_status": "not", "not_owner": "not", "not_power_state": "not", "not_arch": "not", "not_fabrics": "not",
    "not_vlans": "not", "not_subnets": "not", "not_pod": "not", "not_domain": "not", "not_agent_name": "not",
    "not_mac_address": "not", "not_simple_status": "not",
    # Accepted but not evaluated by the emulator (documented in docs/lab.md).
    "interfaces": "ignored", "storage": "ignored", "devices": "ignored", "fabric_classes": "ignored",
    "not_fabric_classes": "ignored", "pod_type": "ignored", "not_pod_type": "ignored", "not_link_speed": "ignored",
}
ALLOCATE_CONSTRAINTS = ("name", "system_id", "arch", "cpu_count", "mem", "tags", "not_tags", "zone", "not_in_zone",
                        "pool", "not_in_pool", "subnets", "not_subnets", "fabrics", "not_fabrics", "fabric_classes",
                        "not_fabric_classes", "interfaces", "storage", "devices", "pod", "not_pod", "pod_type",
                        "not_pod_type")
ALLOCATE_OPTIONS = ("agent_name", "comment", "bridge_all", "bridge_type", "bridge_stp", "bridge_fd", "dry_run",
                    "verbose", "op")
SIMPLE_STATUS = {
    "ready": {enums.READY},
    "allocated": {enums.ALLOCATED, enums.RESERVED},
    "deployed": {enums.DEPLOYED},
    "commissioning": {enums.COMMISSIONING, enums.TESTING},
    "deploying": {enums.DEPLOYING},
    "failed": {enums.FAILED_COMMISSIONING, enums.FAILED_DEPLOYMENT, enums.FAILED_TESTING, enums.FAILED_RELEASING,
               enums.FAILED_DISK_ERASING},
    "releasing": {enums.RELEASING, enums.DISK_ERASING},
    "broken": {enums.BROKEN},
    "new": {enums.NEW},
}


def split_words(values):
    """Split repeated values that may also hold comma- or space-separated lists (tags=a,b c)."""
    out = []
    for value in values:
        out.extend(word for word in re.split(r"[,\s]+", value) if word)
    return out


def _arch_matches(wanted, arch):
    if "/" in wanted:
        return arch == wanted
    return arch.split("/", 1)[0] == wanted


class MachineFilter:
    """A compiled set of predicates; call ``matches(machine)``."""

    def __init__(self, region, predicates, described):
        """Keep the predicates and the (name, values) pairs they came from."""
        self.region = region
        self.predicates = predicates
        self.described = described

    def matches(self, m):
        """Tell whether a machine passes every predicate."""
        return all(predicate(m) for predicate in self.predicates)


def _validate_names(region, errors, field, names, kind):
    if kind == "tags":
        missing = [name for name in names if name not in region.tags]
        if missing:
            errors[field] = ["No such tag(s): %s." % ", ".join("'%s'" % name for name in missing)]
    elif kind == "zone":
        missing = [name for name in names if region.zone_by_name(name) is None]
        if missing:
            errors[field] = ["No such zone(s): %s." % ", ".join(missing)]
    elif kind == "pool":
        missing = [name for name in names if region.pool_by_name_or_id(name) is None]
        if missing:
            errors[field] = ["No such pool(s): %s." % ", ".join(missing)]


def _machine_macs(m):
    return {nic["mac"] for nic in m["interfaces"]}


def _machine_subnets(region, m):
    return {link["subnet_id"] for nic in m["interfaces"] for link in nic["links"] if link.get("subnet_id") is not None}


def _machine_fabric_names(region, m):
    names = set()
    for nic in m["interfaces"]:
        vlan = region.vlans.get(nic.get("vlan_id"))
        if vlan is not None and nic["links"]:
            fabric = region.fabrics.get(vlan["fabric_id"])
            if fabric:
                names.add(fabric["name"])
                names.add(str(fabric["id"]))
    return names


def build_read_filter(region, params, skip=("op",)):
    """Compile ``GET machines/`` filters; raise MAAS's 400 JSON for unknown filters and bad values."""
    errors = {}
    predicates = []
    described = []
    for name, values in params.items():
        if name in skip:
            continue
        kind = READ_FILTERS.get(name)
        if kind is None:
            errors[name] = ["No such constraint."]
            continue
        if kind == "ignored":
            continue
        described.append((name, values))
        predicate = _compile(region, errors, name, values)
        if predicate is not None:
            predicates.append(predicate)
    if errors:
        raise form_errors(errors)
    return MachineFilter(region, predicates, described)


def _compile(region, errors, name, values):  # pylint: disable=too-many-return-statements,too-many-branches
    base = name[4:] if name.startswith("not_") else name
    if name == "not_in_zone":
        base = "zone"
    if name == "not_in_pool":
        base = "pool"
    negate = name.startswith("not_")
    if base in ("tags",):
        tags = split_words(values)
        _validate_names(region, errors, name, tags, "tags")
        wanted = set(tags)
        if negate:
            return lambda m: not wanted & set(m.get("tag_names", ()))
        return lambda m: wanted <= set(m.get("tag_names", ()))
    if base == "zone":
        _validate_names(region, errors, name, values, "zone")
        ids = {region.zone_by_name(v)["id"] for v in values if region.zone_by_name(v)}
        return (lambda m: m["zone_id"] not in ids) if negate else (lambda m: m["zone_id"] in ids)
    if base == "pool":
        _validate_names(region, errors, name, values, "pool")
        ids = {region.pool_by_name_or_id(v)["id"] for v in values if region.pool_by_name_or_id(v)}
        return (lambda m: m["pool_id"] not in ids) if negate else (lambda m: m["pool_id"] in ids)
    if base == "mac_address":
        macs = set()
        for value in values:
            mac = normalise_mac(value)
            if mac is None:
                errors[name] = ["'%s' is not a valid MAC address." % value]
            macs.add(mac)
        return (lambda m: not macs & _machine_macs(m)) if negate else (lambda m: bool(macs & _machine_macs(m)))
    if base in ("status", "simple_status"):
        codes = set()
        for value in values:
            if base == "status" and value in enums.STATUS_BY_FILTER_NAME:
                codes.add(enums.STATUS_BY_FILTER_NAME[value])
            elif base == "simple_status" and value in SIMPLE_STATUS:
                codes |= SIMPLE_STATUS[value]
            else:
                errors[name] = ["Select a valid choice. %s is not one of the available choices." % value]
        return (lambda m: m["status"] not in codes) if negate else (lambda m: m["status"] in codes)
    if base in ("cpu_count", "mem", "cpu_speed", "link_speed"):
        try:
            bound = max(float(v) for v in values)
        except ValueError:
            errors[name] = ["Enter a number."]
            return None
        if base == "cpu_count":
            return lambda m: m.get("cpu_count", 0) >= bound
        if base == "mem":
            return lambda m: m.get("memory", 0) >= bound
        if base == "cpu_speed":
            return lambda m: m.get("cpu_speed", 0) >= bound
        return lambda m: any(nic.get("speed", 0) >= bound for nic in m["interfaces"] if nic["links"])
    if base == "subnets":
        ids = set()
        for value in values:
            subnet = region.subnet_by_key(value)
            if subnet is None:
                errors[name] = ["No such subnet(s): %s." % value]
            else:
                ids.add(subnet["id"])
        if negate:
            return lambda m: not ids & _machine_subnets(region, m)
        return lambda m: ids <= _machine_subnets(region, m)
    if base == "fabrics":
        wanted = set(values)
        if negate:
            return lambda m: not wanted & _machine_fabric_names(region, m)
        return lambda m: bool(wanted & _machine_fabric_names(region, m))
    if base == "vlans":
        wanted = set(values)

        def vlan_keys(m):
            keys = set()
            for nic in m["interfaces"]:
                vlan = region.vlans.get(nic.get("vlan_id"))
                if vlan:
                    keys |= {str(vlan["id"]), vlan["name"], "vid:%d" % vlan["vid"]}
            return keys
        return (lambda m: not wanted & vlan_keys(m)) if negate else (lambda m: bool(wanted & vlan_keys(m)))
    if base == "pod":
        # No machine in the emulator belongs to a pod.
        return (lambda m: True) if negate else (lambda m: False)
    getters = {
        "id": lambda m: m["system_id"],
        "system_id": lambda m: m["system_id"],
        "hostname": lambda m: m["hostname"],
        "domain": lambda m: region.domains[m["domain_id"]]["name"] if m["domain_id"] in region.domains else "",
        "agent_name": lambda m: m.get("agent_name") or "",
        "owner": lambda m: m.get("owner"),
        "power_state": lambda m: m.get("power_state"),
    }
    if base == "arch":
        return ((lambda m: not any(_arch_matches(v, m.get("architecture") or "") for v in values)) if negate
                else (lambda m: any(_arch_matches(v, m.get("architecture") or "") for v in values)))
    getter = getters[base]
    wanted = set(values)
    if base == "hostname":
        # MAAS matches the short name; accept an FQDN by dropping the domain.
        wanted = {value.split(".", 1)[0] for value in values}
    return (lambda m: getter(m) not in wanted) if negate else (lambda m: getter(m) in wanted)


def build_allocate_filter(region, params):
    """Compile ``op=allocate`` constraints; unknown names, tags and zones give the list 400s."""
    errors = {}
    predicates = []
    described = []
    for name, values in params.items():
        if name in ALLOCATE_OPTIONS:
            continue
        if name not in ALLOCATE_CONSTRAINTS:
            errors[name] = ["No such constraint."]
            continue
        described.append((name, values))
        if name in ("interfaces", "storage", "devices", "fabric_classes", "not_fabric_classes", "pod_type",
                    "not_pod_type"):
            continue
        if name == "name":
            wanted = {v.split(".", 1)[0] for v in values}
            predicates.append(lambda m, wanted=wanted: m["hostname"] in wanted)
            continue
        if name == "zone":
            values = values[-1:]
        predicate = _compile(region, errors, name, values)
        if predicate is not None:
            predicates.append(predicate)
    if errors:
        raise form_errors(errors)
    return MachineFilter(region, predicates, described)


def describe_constraints(described):
    """MAAS's 409 text for allocate: the constraints as sent and as resolved."""
    as_sent = "[%s]" % ", ".join("(%r, %r)" % (name, values) for name, values in described)
    resolved = " ".join("%s=%s" % (name, ",".join(values)) for name, values in sorted(described))
    return "No available machine matches constraints: %s (resolved to \"%s\")" % (as_sent, resolved)
