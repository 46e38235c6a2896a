"""Machine handlers: listing, enlistment, allocation and every per-machine operation, with MAAS's rules."""

import base64
import binascii
import json
import re

from . import enums
from .api import Handler, Reply, json_reply
from .errors import APIError, admin_only, bad_request, conflict, forbidden, form_errors, unavailable
from .filters import build_allocate_filter, build_read_filter, describe_constraints
from .render import by_key
from .region import HOSTNAME_RE, POWER_TYPES, normalise_mac

DEPLOYABLE = (enums.READY, enums.ALLOCATED)
RELEASABLE = (enums.ALLOCATED, enums.RESERVED, enums.BROKEN, enums.DEPLOYING, enums.DEPLOYED,
              enums.FAILED_DEPLOYMENT, enums.FAILED_RELEASING, enums.FAILED_DISK_ERASING)
COMMISSIONABLE = (enums.NEW, enums.READY, enums.FAILED_COMMISSIONING, enums.BROKEN, enums.FAILED_TESTING)
TESTABLE = (enums.NEW, enums.READY, enums.ALLOCATED, enums.DEPLOYED, enums.BROKEN, enums.FAILED_TESTING,
            enums.FAILED_COMMISSIONING, enums.FAILED_DEPLOYMENT, enums.DEPLOYING)


def _machine_reply(call, m, extra=None):
    if extra:
        data = call.region.machine_data(m)
        data.update(extra)
        return json_reply(data)
    return Reply(200, call.region.machine_json_bytes(m))


def _machine(call, perm="view", op=None):
    region = call.region
    m = region.get_machine(call.args["system_id"])
    if op is not None:
        call.touch(m["system_id"], op)
    if perm == "view":
        region.check_view(call.user, m)
    elif perm == "edit":
        region.check_edit(call.user, m)
    elif perm == "admin":
        region.check_admin(call.user, m)
    elif perm == "lock":
        region.check_lock(call.user, m)
    return m


# ---------------------------------------------------------------------------------------------------------------
# machines/
def list_machines(call):
    """List machines the caller may see, filtered like ReadNodesForm, sorted by id."""
    region = call.region
    with region.lock:
        machine_filter = build_read_filter(region, call.params)
        chunks = [region.machine_json_bytes(m) for m in by_key(region.machines)
                  if region.can_view(call.user, m) and machine_filter.matches(m)]
    return Reply(200, b"[" + b", ".join(chunks) + b"]")


def _parse_power_parameters(params):
    """Power parameters from one JSON string or from ``power_parameters_<key>`` fields."""
    result = {}
    raw = params.get("power_parameters")
    if raw:
        try:
            parsed = json.loads(raw)
        except ValueError:
            raise form_errors({"power_parameters": ["Enter a valid JSON object."]}) from None
        if not isinstance(parsed, dict):
            raise form_errors({"power_parameters": ["Enter a valid JSON object."]})
        result.update(parsed)
    for name in params.names():
        if name.startswith("power_parameters_"):
            result[name[len("power_parameters_"):]] = params.get(name)
    return result


def _validate_architecture(region, value, errors):
    """MAAS's architecture choice field: only architectures of imported boot resources are valid, so a fresh MAAS
    accepts none (``It should be one of: ''.``)."""
    if value is None:
        return None
    arch = value if "/" in value else value + "/generic"
    usable = region.usable_architectures()
    if arch not in usable:
        errors["architecture"] = ["'%s' is not a valid architecture.  It should be one of: %s." % (
            value, ", ".join("'%s'" % a for a in usable) if usable else "''")]
    return arch


def _check_power_type_needs_interfaces(power_type, old_power_type, have_interfaces, errors):
    """MAAS's machine form: any power type but ipmi needs network interfaces (given MACs or existing ones)."""
    if power_type and power_type != old_power_type and power_type != "ipmi" and not have_interfaces:
        errors.setdefault("power_type", []).append(
            "Can't set power type to %s without network interfaces" % power_type)


def _placement_ids(region, params, errors):
    """``{domain_id, zone_id, pool_id}`` for the placement fields given in ``params``; unknown names go to
    ``errors`` as MAAS's form error for a bad choice."""
    ids = {}
    for field, lookup in (("domain", region.domain_by_name_or_id), ("zone", region.zone_by_name),
                          ("pool", region.pool_by_name_or_id)):
        if params.get(field):
            found = lookup(params.get(field))
            if found is None:
                errors[field] = ["Select a valid choice. That choice is not one of the available choices."]
            else:
                ids[field + "_id"] = found["id"]
    return ids


def create_machine(call):
    """Enlist a machine; admins' machines start commissioning, anonymous and users' stay New."""
    region = call.region
    params = call.params
    errors = {}
    power_type = params.get("power_type") or ""
    deployed = params.bool("deployed")
    commission = params.bool("commission", True)
    arch_value = params.get("architecture")
    if arch_value and params.get("subarchitecture") and "/" not in arch_value:
        arch_value = "%s/%s" % (arch_value, params.get("subarchitecture"))
    macs_given = [value for value in params.getlist("mac_addresses") if value != ""]
    needs_hardware = not (power_type == "ipmi" or (deployed and not power_type))
    if needs_hardware and not arch_value:
        errors["architecture"] = ["This field is required."]
    if needs_hardware and not macs_given:
        errors["mac_addresses"] = ["This field is required."]
    with region.lock:
        architecture = _validate_architecture(region, arch_value, errors) if arch_value else (
            "amd64/generic" if not needs_hardware else "")
    known_power_type = not power_type or power_type in POWER_TYPES
    if not known_power_type:
        errors["power_type"] = ["Select a valid choice. %s is not one of the available choices." % power_type]
    power_parameters = {}
    try:
        power_parameters = _parse_power_parameters(params)
    except APIError:
        errors["power_parameters"] = ["Enter a valid JSON object."]
    min_hwe = params.get("min_hwe_kernel") or ""
    if min_hwe and not (min_hwe.startswith("hwe-") or min_hwe.startswith("ga-")):
        errors["min_hwe_kernel"] = ["Kernel must start with 'hwe-' or 'ga-'."]
    hostname = params.get("hostname") or ""
    with region.lock:
        if hostname:
            short = hostname.split(".", 1)[0]
            if not HOSTNAME_RE.match(short):
                errors["hostname"] = ["Invalid hostname: Label cannot start or end with hyphen, and may only contain "
                                      "letters, numbers and hyphens."]
            elif region.hostname_taken(short):
                errors["hostname"] = ["Node with hostname \"%s\" already exists." % short]
            hostname = short
        macs = []
        for value in macs_given:
            mac = normalise_mac(value)
            if mac is None:
                errors.setdefault("mac_addresses", []).append("'%s' is not a valid MAC address." % value)
            elif mac in region.mac_owner:
                owner = region.machines[region.mac_owner[mac]]["hostname"]
                errors.setdefault("mac_addresses", []).append("MAC address %s already in use on %s." % (mac, owner))
            elif mac not in macs:
                macs.append(mac)
        if known_power_type:
            # MAAS's form checks the MACs that passed validation: one MAC in use or invalid leaves it none.
            _check_power_type_needs_interfaces(power_type, "", macs and "mac_addresses" not in errors, errors)
        placement = _placement_ids(region, params, errors)
        if errors:
            raise form_errors(errors)
        m = region.new_machine_doc(hostname=hostname, architecture=architecture, macs=macs, power_type=power_type,
                                   power_parameters=power_parameters, description=params.get("description") or "",
                                   min_hwe_kernel=min_hwe, **placement)
        region.add_machine(m)
        call.touch(m["system_id"], "create")
        # MAAS records no INFO event on enlistment: status_message and status_action stay null until one happens.
        region.record_event(m, "Enlisted" if call.user is None else "Created", "", level="DEBUG", user=call.user)
        if deployed:
            # MAAS 3.5 adds a deployed machine with no OS known, power unknown and commissioning still Pending.
            region.set_status(m, enums.DEPLOYED, call.user)
            m["owner"] = call.user
            m["commissioning_status"] = enums.SCRIPT_PENDING
        elif call.is_admin and commission and power_type:
            _start_commission(call, m, params.get("comment", ""))
        region.save_machine(m)
        return _machine_reply(call, m)


def _start_commission(call, m, comment):
    region = call.region
    region.set_status(m, enums.COMMISSIONING, call.user)
    m["commissioning_status"] = enums.SCRIPT_RUNNING
    m["testing_status"] = enums.SCRIPT_PENDING
    m["power_state"] = "on"
    m["error_description"] = ""
    region.record_event(m, "Commissioning", comment, user=call.user, action="commission")
    region._begin(m, "commission")  # pylint: disable=protected-access


def allocate(call):
    """Acquire the cheapest Ready machine matching the constraints (or report what would be taken with dry_run)."""
    region = call.region
    params = call.params
    with region.lock:
        machine_filter = build_allocate_filter(region, params)
        dry_run = params.bool("dry_run")
        candidates = [m for m in region.machines.values()
                      if m["status"] == enums.READY and m.get("owner") is None and not m.get("locked")
                      and machine_filter.matches(m)]
        if not candidates:
            if params.get("system_id"):
                raise conflict("No machine with system ID %s available." % params.get("system_id"))
            if not machine_filter.described:
                raise conflict("No machine available.")
            raise conflict(describe_constraints(machine_filter.described))
        candidates.sort(key=lambda m: (m.get("cpu_count", 0) + m.get("memory", 0) / 1024.0, m["id"]))
        m = candidates[0]
        call.touch(m["system_id"], "allocate")
        constraints = {}
        if machine_filter.described:
            constraints = {"storage": {}, "interfaces": {}} if params.get("storage") or params.get("interfaces") else {}
        if dry_run:
            return _machine_reply(call, m, {"constraints_by_type": constraints})
        region.set_status(m, enums.ALLOCATED, call.user)
        m["owner"] = call.user
        m["agent_name"] = params.get("agent_name") or ""
        region.record_event(m, "Allocated", params.get("comment") or "", user=call.user, action="allocate")
        region.save_machine(m)
        return _machine_reply(call, m, {"constraints_by_type": constraints})


def bulk_release(call):
    """Release several machines at once; every one must be releasable, or nothing happens."""
    region = call.region
    system_ids = call.params.getlist("machines")
    with region.lock:
        unknown = [sid for sid in system_ids if sid not in region.by_system_id]
        if unknown:
            raise bad_request("Unknown machine(s): %s." % ", ".join(unknown))
        machines = [region.by_system_id[sid] for sid in system_ids]
        for m in machines:
            call.touch(m["system_id"], "release")
        denied = []
        for m in machines:
            try:
                region.check_edit(call.user, m)
            except APIError:
                denied.append(m["system_id"])
        if denied:
            raise forbidden("You don't have the required permission to release the following machine(s): %s."
                            % ", ".join(denied))
        bad = [m for m in machines if m["status"] not in RELEASABLE + (enums.READY, enums.RELEASING)]
        if bad:
            raise conflict("Machine(s) with system ID(s) %s cannot be released in their current state: %s." % (
                ", ".join(m["system_id"] for m in bad), ", ".join(enums.status_label(m["status"]) for m in bad)))
        released = []
        for m in machines:
            if m["status"] in RELEASABLE:
                _start_release(call, m)
                released.append(m["system_id"])
        return json_reply(released)


def power_parameters_many(call):
    """Power parameters of several machines (admin), keyed by system_id."""
    region = call.region
    if not call.is_admin:
        raise admin_only()
    with region.lock:
        wanted = call.params.getlist("id") or list(region.by_system_id)
        return json_reply({sid: region.by_system_id[sid]["power_parameters"] for sid in wanted
                           if sid in region.by_system_id})


def is_registered(call):
    """Whether a MAC address belongs to a known machine."""
    mac = normalise_mac(call.params.get("mac_address") or "")
    if mac is None:
        raise form_errors({"mac_address": ["'%s' is not a valid MAC address." % call.params.get("mac_address")]})
    with call.region.lock:
        return json_reply(mac in call.region.mac_owner)


# ---------------------------------------------------------------------------------------------------------------
# machines/{system_id}/
def read_machine(call):
    """One machine."""
    with call.region.lock:
        return _machine_reply(call, _machine(call, "view"))


def update_machine(call):
    """Change a machine's settings (admin)."""
    region = call.region
    params = call.params
    with region.lock:
        m = _machine(call, "admin", "update")
        errors = {}
        if "hostname" in params:
            hostname = (params.get("hostname") or "").split(".", 1)[0]
            if not HOSTNAME_RE.match(hostname):
                errors["hostname"] = ["Invalid hostname."]
            elif region.hostname_taken(hostname, except_id=m["id"]):
                errors["hostname"] = ["Node with hostname \"%s\" already exists." % hostname]
            else:
                m["hostname"] = hostname
        if "architecture" in params:
            arch = _validate_architecture(region, params.get("architecture"), errors)
            m["architecture"] = arch
        if "description" in params:
            m["description"] = params.get("description") or ""
        if "min_hwe_kernel" in params:
            m["min_hwe_kernel"] = params.get("min_hwe_kernel") or ""
        if "power_type" in params:
            power_type = params.get("power_type") or ""
            if power_type and power_type not in POWER_TYPES:
                errors["power_type"] = ["Select a valid choice. %s is not one of the available choices." % power_type]
            else:
                _check_power_type_needs_interfaces(power_type, m.get("power_type") or "",
                                                   params.getlist("mac_addresses") or m["interfaces"], errors)
            m["power_type"] = power_type
        power_parameters = _parse_power_parameters(params)
        if power_parameters:
            m["power_parameters"] = dict(m.get("power_parameters") or {}, **power_parameters)
        m.update(_placement_ids(region, params, errors))
        for field in ("cpu_count", "memory"):
            if field in params:
                m[field] = params.int(field, 0)
        if errors:
            raise form_errors(errors)
        region.save_machine(m)
        return _machine_reply(call, m)


def delete_machine(call):
    """Delete a machine (admin)."""
    region = call.region
    with region.lock:
        m = _machine(call, "admin", "delete")
        region.machines.pop(m["id"], None)
        region.by_system_id.pop(m["system_id"], None)
        for nic in m["interfaces"]:
            region.mac_owner.pop(nic["mac"], None)
        m.pop("pending", None)
        region.store.delete_machine(m["id"])
        region.invalidate_machine(m)
        return Reply(204, b"", "text/plain; charset=utf-8")


def commission(call):
    """Start commissioning (admin); the form refuses machines in the wrong state."""
    region = call.region
    params = call.params
    with region.lock:
        m = _machine(call, "admin", "commission")
        for name in ("enable_ssh", "skip_bmc_config", "skip_networking", "skip_storage"):
            params.bool(name)
        if m["status"] not in COMMISSIONABLE:
            raise form_errors({"__all__": ["Commission is not available because of the current state of the node."]})
        if not m.get("power_type"):
            raise unavailable("Unconfigured power type. Please configure the power type and try again.")
        m.pop("pending", None)
        _start_commission(call, m, params.get("comment") or "")
        region.save_machine(m)
        return _machine_reply(call, m)


def test(call):
    """Run hardware tests; the machine returns to its previous status when they pass."""
    region = call.region
    with region.lock:
        m = _machine(call, "admin", "test")
        if not m.get("power_type"):
            raise unavailable("Unconfigured power type. Please configure the power type and try again.")
        previous = m["status"]
        region.set_status(m, enums.TESTING, call.user)
        m["status_before_test"] = previous if previous not in (enums.FAILED_TESTING,) else enums.READY
        m["testing_status"] = enums.SCRIPT_RUNNING
        region.record_event(m, "Testing", call.params.get("comment") or "", user=call.user, action="test")
        region._begin(m, "test")  # pylint: disable=protected-access
        region.save_machine(m)
        return _machine_reply(call, m)


def _decode_user_data(value):
    if value is None or value == "":
        return None
    try:
        return base64.b64decode(re.sub(r"\s+", "", value), validate=True)
    except (binascii.Error, ValueError):
        raise form_errors({"user_data": ["Invalid base64 data."]}) from None


def _resolve_series(region, value):
    """Accept ``jammy``, ``ubuntu/jammy`` or ``22.04``; return (osystem, series) or raise MAAS's 400."""
    available = region.deployable_series()
    if not value:
        value = region.settings["default_distro_series"]
    text = value.split("/", 1)[1] if value.startswith("ubuntu/") else value
    for series, version, _title in available:
        if text in (series, version):
            return "ubuntu", series
    choices = ", ".join(["''"] + ["'ubuntu/%s'" % s for s, _v, _t in available])
    raise form_errors({"distro_series": ["'%s' is not a valid distro_series.  It should be one of: %s." % (value, choices)]})


def deploy(call):
    """Deploy: allocate a Ready machine to the caller if needed, then start installing."""
    region = call.region
    params = call.params
    with region.lock:
        m = _machine(call, "edit", "deploy")
        osystem, series = _resolve_series(region, params.get("distro_series"))
        user_data = _decode_user_data(params.get("user_data"))
        for name in ("bridge_all", "bridge_stp", "ephemeral_deploy", "enable_hw_sync", "enable_kernel_crash_dump",
                     "install_kvm", "register_vmhost", "install_rackd"):
            params.bool(name)
        hwe_kernel = params.get("hwe_kernel") or None
        if hwe_kernel and not (hwe_kernel.startswith("hwe-") or hwe_kernel.startswith("ga-")):
            raise form_errors({"hwe_kernel": ["%s is not available for %s/%s on %s." % (
                hwe_kernel, osystem, series, m.get("architecture"))]})
        if m["status"] == enums.READY:
            if m.get("owner") not in (None, call.user):
                raise conflict("Can't allocate a machine belonging to another user.")
            region.set_status(m, enums.ALLOCATED, call.user)
            m["owner"] = call.user
            region.record_event(m, "Allocated", "", user=call.user, action="deploy")
        elif m["status"] != enums.ALLOCATED:
            raise conflict("Can't deploy a machine that is in the '%s' state" % enums.status_label(m["status"]))
        if params.get("agent_name") is not None:
            m["agent_name"] = params.get("agent_name")
        if not m.get("power_type"):
            raise unavailable("Unconfigured power type. Please configure the power type and try again.")
        if not region.backend.bmc_reachable(m):
            # MAAS keeps the allocation it made (Ready -> Allocated, owned by the caller) and answers 503.
            region.save_machine(m)
            raise _no_rack_for(region, m, call.user)
        m["osystem"] = osystem
        m["distro_series"] = series
        m["hwe_kernel"] = hwe_kernel or "ga-%s" % dict((s, v) for s, v, _t in region.deployable_series())[series]
        m["user_data"] = base64.b64encode(user_data).decode() if user_data is not None else None
        m["ephemeral_deploy"] = params.bool("ephemeral_deploy")
        m["enable_hw_sync"] = params.bool("enable_hw_sync")
        # enable_kernel_crash_dump came with MAAS 3.6; 3.5 ignores the field like any unknown one.
        m["enable_kernel_crash_dump"] = params.bool("enable_kernel_crash_dump") if region.at_least("3.6") \
            else False
        m["error_description"] = ""
        region.set_status(m, enums.DEPLOYING, call.user)
        region._claim_ips(m)  # pylint: disable=protected-access
        m["power_state"] = region.backend.power(m, "on")
        region.record_event(m, "Deploying", params.get("comment") or "", user=call.user, action="deploy")
        region._begin(m, "deploy", {"user_data": user_data})  # pylint: disable=protected-access
        region.save_machine(m)
        return _machine_reply(call, m)


def _no_rack_for(region, m, user):
    """MAAS's PowerProblem when no rack controller can reach the machine's BMC: an event, then 503."""
    message = "No rack controllers can access the BMC of node %s" % m["hostname"]
    region.record_event(m, "Failed to query node's BMC", message, level="WARNING", user=user)
    region.save_machine(m)
    return unavailable(message)


def _start_release(call, m, erase=False, secure_erase=False, quick_erase=False, comment=""):
    region = call.region
    m.pop("pending", None)
    if erase:
        region.set_status(m, enums.DISK_ERASING, call.user)
        kind = "secure erase" if secure_erase else ("quick erase" if quick_erase else "full erase")
        region.record_event(m, "Erasing disk", comment or "Performing %s" % kind, user=call.user, action="release")
        region._begin(m, "erase", {"secure_erase": secure_erase, "quick_erase": quick_erase})  # pylint: disable=protected-access
    else:
        region.set_status(m, enums.RELEASING, call.user)
        region.record_event(m, "Releasing", comment, user=call.user, action="release")
        region._begin(m, "release")  # pylint: disable=protected-access
    m["owner_data"] = {}
    m["power_state"] = region.backend.power(m, "off") if not erase else m.get("power_state", "on")
    region.save_machine(m)


def release(call):
    """Release a machine, optionally erasing its disks; Ready and Releasing are a no-op."""
    region = call.region
    params = call.params
    with region.lock:
        m = _machine(call, "edit", "release")
        erase = params.bool("erase")
        secure_erase = params.bool("secure_erase")
        quick_erase = params.bool("quick_erase")
        params.bool("force")
        if m["status"] in (enums.READY, enums.RELEASING):
            return _machine_reply(call, m)
        if m["status"] not in RELEASABLE:
            raise conflict("Machine cannot be released in its current state ('%s')." % enums.status_label(m["status"]))
        _start_release(call, m, erase or secure_erase or quick_erase, secure_erase, quick_erase,
                       params.get("comment") or "")
        return _machine_reply(call, m)


def abort(call):
    """Abort commissioning, deployment, disk erasing or testing."""
    region = call.region
    with region.lock:
        m = _machine(call, "edit", "abort")
        comment = call.params.get("comment") or ""
        status = m["status"]
        pending = m.get("pending")
        targets = {enums.COMMISSIONING: enums.NEW, enums.DEPLOYING: enums.ALLOCATED,
                   enums.DISK_ERASING: enums.FAILED_DISK_ERASING}
        if status == enums.TESTING:
            target = m.pop("status_before_test", enums.READY)
        elif status in targets:
            target = targets[status]
        else:
            raise conflict("Cannot abort in current state: node %s is in state %s." % (
                m["system_id"], enums.status_label(status)))
        if pending:
            region.backend.cancel(m, pending["action"])
        m.pop("pending", None)
        region.set_status(m, target, call.user)
        if status == enums.COMMISSIONING:
            m["commissioning_status"] = enums.SCRIPT_ABORTED
        if status == enums.DEPLOYING:
            region._release_ips(m)  # pylint: disable=protected-access
        m["power_state"] = region.backend.power(m, "off")
        label = {enums.COMMISSIONING: "commissioning", enums.DEPLOYING: "deployment", enums.DISK_ERASING: "disk erasing",
                 enums.TESTING: "testing"}[status]
        region.record_event(m, "Aborted %s" % label, comment, user=call.user, action="abort")
        region.save_machine(m)
        return _machine_reply(call, m)


def mark_broken(call):
    """Mark a machine Broken. Only its owner may, even an admin (MAAS 3.5/3.6 answer 403 with an empty body to
    anyone else, so an unowned machine, a Broken one included, cannot be marked). MAAS releases a releasable
    machine first and leaves it without owner; the comment becomes error_description."""
    region = call.region
    with region.lock:
        m = _machine(call, "edit", "mark_broken")
        if m.get("owner") != call.user:
            raise forbidden()
        comment = call.params.get("comment") or call.params.get("error_description") or ""
        pending = m.pop("pending", None)
        if pending:
            region.backend.cancel(m, pending["action"])
        m["previous_status"] = m["status"]
        if m["status"] in RELEASABLE:
            region._release_ips(m)  # pylint: disable=protected-access
        region._clear_ownership(m)  # pylint: disable=protected-access
        region.set_status(m, enums.BROKEN, call.user)
        m["error_description"] = comment
        region.record_event(m, "Marked broken", comment, level="ERROR", user=call.user, action="mark_broken")
        region.save_machine(m)
        return _machine_reply(call, m)


def mark_fixed(call):
    """Bring a Broken machine back to Ready, or Deployed if it was Deployed (admin)."""
    region = call.region
    with region.lock:
        m = _machine(call, "admin", "mark_fixed")
        if m["status"] != enums.BROKEN:
            raise conflict("Can't mark a non-broken node as 'Ready'.")
        target = enums.DEPLOYED if m.get("previous_status") == enums.DEPLOYED else enums.READY
        if target == enums.READY:
            region._clear_ownership(m)  # pylint: disable=protected-access
        region.set_status(m, target, call.user)
        m["error_description"] = ""
        m.pop("previous_status", None)
        region.record_event(m, "Marked fixed", call.params.get("comment") or "", user=call.user, action="mark_fixed")
        region.save_machine(m)
        return _machine_reply(call, m)


def power_on(call):
    """Power a machine on; it must be allocated to someone."""
    region = call.region
    with region.lock:
        m = _machine(call, "edit", "power_on")
        if m.get("owner") is None:
            raise conflict("Can't start node: it hasn't been allocated.")
        if not m.get("power_type"):
            raise unavailable("Unconfigured power type. Please configure the power type and try again.")
        if not region.backend.bmc_reachable(m):
            raise _no_rack_for(region, m, call.user)
        user_data = _decode_user_data(call.params.get("user_data"))
        if user_data is not None:
            m["user_data"] = base64.b64encode(user_data).decode()
        m["power_state"] = region.backend.power(m, "on")
        region.record_event(m, "Powering on", call.params.get("comment") or "", user=call.user, action="power_on")
        region.save_machine(m)
        return _machine_reply(call, m)


def power_off(call):
    """Power a machine off (soft or hard)."""
    region = call.region
    with region.lock:
        m = _machine(call, "edit", "power_off")
        stop_mode = call.params.get("stop_mode") or "hard"
        if stop_mode not in ("soft", "hard"):
            raise form_errors({"stop_mode": ["Select a valid choice. %s is not one of the available choices." % stop_mode]})
        if not m.get("power_type"):
            raise unavailable("Unconfigured power type. Please configure the power type and try again.")
        if not region.backend.bmc_reachable(m):
            raise _no_rack_for(region, m, call.user)
        m["power_state"] = region.backend.power(m, "off")
        region.record_event(m, "Powering off", call.params.get("comment") or "", user=call.user, action="power_off")
        region.save_machine(m)
        return _machine_reply(call, m)


def query_power_state(call):
    """Ask the (simulated) BMC for the power state."""
    region = call.region
    with region.lock:
        m = _machine(call, "view")
        state = region.backend.query_power_state(m)
        if state != m.get("power_state"):
            m["power_state"] = state
            region.save_machine(m)
        return json_reply({"state": state})


def lock(call):
    """Lock a Deployed or Deploying machine against changes."""
    region = call.region
    with region.lock:
        m = _machine(call, "lock", "lock")
        if m.get("locked"):
            raise conflict("Machine is already locked")
        if m["status"] not in (enums.DEPLOYED, enums.DEPLOYING):
            raise conflict("Can't lock, node is not deployed or deploying")
        m["locked"] = True
        region.record_event(m, "Locked", call.params.get("comment") or "", user=call.user, action="lock")
        region.save_machine(m)
        return _machine_reply(call, m)


def unlock(call):
    """Unlock a machine."""
    region = call.region
    with region.lock:
        m = _machine(call, "lock", "unlock")
        if not m.get("locked"):
            raise conflict("Machine is not locked")
        m["locked"] = False
        region.record_event(m, "Unlocked", call.params.get("comment") or "", user=call.user, action="unlock")
        region.save_machine(m)
        return _machine_reply(call, m)


def set_workload_annotations(call):
    """Set owner data key=value pairs (an empty value deletes the key); the machine must be acquired."""
    region = call.region
    with region.lock:
        m = _machine(call, "edit", call.op)
        if m.get("owner") is None:
            raise conflict("Cannot set workload annotation: it hasn't been acquired.")
        data = dict(m.get("owner_data") or {})
        for name, values in call.params.items():
            if name == "op":
                continue
            value = values[-1]
            if value == "":
                data.pop(name, None)
            else:
                data[name] = value
        m["owner_data"] = data
        region.save_machine(m)
        return _machine_reply(call, m)


def power_parameters(call):
    """The machine's power parameters (admin)."""
    region = call.region
    with region.lock:
        m = region.get_machine(call.args["system_id"])
        if not call.is_admin:
            raise forbidden()
        return json_reply(m.get("power_parameters") or {})


def details(call):
    """Commissioning output as BSON (lshw XML and lldp XML), as MAAS returns it."""
    region = call.region
    with region.lock:
        m = _machine(call, "view")
        info = m.get("hardware_info") or {}
        lshw = ('<?xml version="1.0" standalone="yes" ?><list><node id="%s" class="system"><vendor>%s</vendor>'
                '<product>%s</product><serial>%s</serial><size units="bytes">%d</size></node></list>' % (
                    m["hostname"], info.get("system_vendor", ""), info.get("system_product", ""),
                    info.get("system_serial", ""), m.get("memory", 0) * 1048576)).encode()
        lldp = b'<?xml version="1.0" encoding="UTF-8"?><lldp label="LLDP neighbors"/>'
        return Reply(200, _bson({"lshw": lshw, "lldp": lldp}), "application/bson")


def _bson(fields):
    """Encode a flat dict of name -> bytes as a BSON document of binary values."""
    body = b""
    for name, value in fields.items():
        body += b"\x05" + name.encode() + b"\x00" + len(value).to_bytes(4, "little") + b"\x00" + value
    body += b"\x00"
    return (len(body) + 4).to_bytes(4, "little") + body


def get_curtin_config(call):
    """A minimal curtin config for a deploying or deployed machine."""
    region = call.region
    with region.lock:
        m = _machine(call, "edit")
        if m["status"] not in (enums.DEPLOYING, enums.DEPLOYED):
            raise bad_request("Machine %s is not in a deployment state." % m["hostname"])
        return Reply(200, "install:\n  log_file: /tmp/install.log\n", "text/plain; charset=utf-8")


def machine_handlers():
    """The machine handlers: MachinesHandler, AnonMachinesHandler and MachineHandler."""
    machines = Handler("MachinesHandler", "machines/", [], "Manage the collection of all the machines in the MAAS.")
    machines.add("GET", None, list_machines, "List machines, optionally filtered.")
    machines.add("POST", None, create_machine, "Create a new machine.")
    machines.add("POST", "allocate", allocate, "Allocate an available machine for deployment.")
    machines.add("POST", "release", bulk_release, "Release multiple machines.")
    machines.add("GET", "power_parameters", power_parameters_many, "Get power parameters of several machines.")
    machines.add("GET", "is_registered", is_registered, "Check whether a MAC address is registered.")
    anon_machines = Handler("AnonMachinesHandler", "machines/", [], "Anonymous machine enlistment.")
    anon_machines.add("POST", None, create_machine, "Enlist a new machine.")
    anon_machines.add("GET", "is_registered", is_registered, "Check whether a MAC address is registered.")
    machine = Handler("MachineHandler", "machines/{system_id}/", ["system_id"], "Manage an individual machine.")
    for method, op, func in (
            ("GET", None, read_machine), ("PUT", None, update_machine), ("DELETE", None, delete_machine),
            ("POST", "commission", commission), ("POST", "test", test), ("POST", "deploy", deploy),
            ("POST", "release", release), ("POST", "abort", abort), ("POST", "mark_broken", mark_broken),
            ("POST", "mark_fixed", mark_fixed), ("POST", "power_on", power_on), ("POST", "power_off", power_off),
            ("GET", "query_power_state", query_power_state), ("POST", "lock", lock), ("POST", "unlock", unlock),
            ("POST", "set_workload_annotations", set_workload_annotations),
            ("POST", "set_owner_data", set_workload_annotations),
            ("GET", "power_parameters", power_parameters), ("GET", "details", details),
            ("GET", "get_curtin_config", get_curtin_config)):
        machine.add(method, op, func)
    return machines, anon_machines, machine
