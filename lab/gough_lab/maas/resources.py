"""Handlers for every MAAS resource but machines: tags, zones, pools, domains, networks, keys, images, users, events."""

import base64
import binascii
import re
import time
from urllib.parse import urlencode

from . import boot, enums
from .api import Handler, Reply, json_reply
from .errors import admin_only, bad_request, conflict, form_errors, not_found
from .render import by_key, domain_json, pool_json, sshkey_json, tag_json, user_json, zone_json


TAG_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]+$")
TAG_NAME_MAX = 256


def tag_name_errors(name):
    """MAAS's Tag.name field: CharField(max_length=256) with RegexValidator("^[a-zA-Z0-9_-]+$"); Django reports
    every validator that fails, with its stock messages."""
    errors = []
    if len(name) > TAG_NAME_MAX:
        errors.append("Ensure this value has at most %d characters (it has %d)." % (TAG_NAME_MAX, len(name)))
    if not TAG_NAME_RE.match(name):
        errors.append("Enter a valid value.")
    return errors


NAME_RE = re.compile(r"^[\w-]+$")
SSH_KEY_TYPES = ("ssh-rsa", "ssh-dss", "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
                 "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com")


def _require_admin(call):
    if not call.is_admin:
        raise admin_only()


def _next_id(table, start=1):
    return max(list(table) + [start - 1]) + 1


# ---------------------------------------------------------------------------------------------------------------
# tags
def _tag(call):
    tag = call.region.tags.get(call.args["name"])
    if tag is None:
        raise not_found("Tag")
    return tag


def list_tags(call):
    """Every tag."""
    with call.region.lock:
        return json_reply(call.region.tags_json())


def create_tag(call):
    """Create a tag (admin)."""
    _require_admin(call)
    region = call.region
    name = call.params.get("name") or ""
    with region.lock:
        if not name:
            raise form_errors({"name": ["This field is required."]})
        if tag_name_errors(name):
            raise form_errors({"name": tag_name_errors(name)})
        if name in region.tags:
            raise form_errors({"name": ["Tag with this Name already exists."]})
        ids = [t["id"] for t in region.tags.values()]
        tag = {"id": max(ids + [0]) + 1, "name": name, "comment": call.params.get("comment") or "",
               "definition": call.params.get("definition") or "", "kernel_opts": call.params.get("kernel_opts") or ""}
        region.tags[name] = tag
        region.store.save_object("tag", tag)
        return json_reply(tag_json(tag))


def read_tag(call):
    """One tag."""
    with call.region.lock:
        return json_reply(tag_json(_tag(call)))


def update_tag(call):
    """Rename or change a tag (admin); machines follow a rename."""
    _require_admin(call)
    region = call.region
    with region.lock:
        tag = _tag(call)
        new_name = call.params.get("name")
        if new_name and new_name != tag["name"]:
            if tag_name_errors(new_name):
                raise form_errors({"name": tag_name_errors(new_name)})
            if new_name in region.tags:
                raise form_errors({"name": ["Tag with this Name already exists."]})
            old = tag["name"]
            del region.tags[old]
            tag["name"] = new_name
            region.tags[new_name] = tag
            for m in region.machines.values():
                if old in m["tag_names"]:
                    m["tag_names"] = [new_name if t == old else t for t in m["tag_names"]]
                    region.save_machine(m)
        for field in ("comment", "definition", "kernel_opts"):
            if field in call.params:
                tag[field] = call.params.get(field) or ""
        region.store.save_object("tag", tag)
        return json_reply(tag_json(tag))


def delete_tag(call):
    """Delete a tag (admin) and take it off every machine."""
    _require_admin(call)
    region = call.region
    with region.lock:
        tag = _tag(call)
        del region.tags[tag["name"]]
        region.store.delete_object("tag", tag["id"])
        for m in region.machines.values():
            if tag["name"] in m["tag_names"]:
                m["tag_names"] = [t for t in m["tag_names"] if t != tag["name"]]
                region.save_machine(m)
        return Reply(204, b"", "text/plain; charset=utf-8")


def tag_machines(call):
    """The machines carrying a tag that the caller may see."""
    region = call.region
    with region.lock:
        tag = _tag(call)
        chunks = [region.machine_json_bytes(m) for m in by_key(region.machines)
                  if tag["name"] in m["tag_names"] and region.can_view(call.user, m)]
        return Reply(200, b"[" + b", ".join(chunks) + b"]")


def update_nodes(call):
    """Add and remove the tag on machines by system_id (admin); unknown ids are ignored."""
    _require_admin(call)
    region = call.region
    with region.lock:
        tag = _tag(call)
        definition = call.params.get("definition")
        if definition is not None and definition != tag.get("definition", ""):
            raise conflict("Definition supplied '%s' doesn't match current definition '%s'" % (
                definition, tag.get("definition", "")))
        added = removed = 0
        for sid in call.params.getlist("add"):
            m = region.by_system_id.get(sid)
            if m is not None:
                call.touch(sid, "tag")
                if tag["name"] not in m["tag_names"]:
                    m["tag_names"] = m["tag_names"] + [tag["name"]]
                    region.save_machine(m)
                    added += 1
        for sid in call.params.getlist("remove"):
            m = region.by_system_id.get(sid)
            if m is not None:
                call.touch(sid, "untag")
                if tag["name"] in m["tag_names"]:
                    m["tag_names"] = [t for t in m["tag_names"] if t != tag["name"]]
                    region.save_machine(m)
                    removed += 1
        return json_reply({"added": added, "removed": removed})


# ---------------------------------------------------------------------------------------------------------------
# zones and resource pools
def _zone(call):
    zone = call.region.zone_by_name(call.args["name"])
    if zone is None:
        raise not_found("Zone")
    return zone


def list_zones(call):
    """Every zone."""
    with call.region.lock:
        return json_reply(call.region.zones_json())


def create_zone(call):
    """Create a zone (admin)."""
    _require_admin(call)
    region = call.region
    name = call.params.get("name") or ""
    with region.lock:
        if not name:
            raise form_errors({"name": ["This field is required."]})
        if not NAME_RE.match(name):
            raise form_errors({"name": ["Enter a valid value."]})
        if region.zone_by_name(name):
            raise form_errors({"name": ["Zone with this Name already exists."]})
        zone = {"id": _next_id(region.zones), "name": name, "description": call.params.get("description") or ""}
        region.zones[zone["id"]] = zone
        region.store.save_object("zone", zone)
        return json_reply(zone_json(zone))


def read_zone(call):
    """One zone."""
    with call.region.lock:
        return json_reply(zone_json(_zone(call)))


def update_zone(call):
    """Rename or describe a zone (admin)."""
    _require_admin(call)
    region = call.region
    with region.lock:
        zone = _zone(call)
        new_name = call.params.get("name")
        if new_name and new_name != zone["name"]:
            if region.zone_by_name(new_name):
                raise form_errors({"name": ["Zone with this Name already exists."]})
            zone["name"] = new_name
        if "description" in call.params:
            zone["description"] = call.params.get("description") or ""
        region.store.save_object("zone", zone)
        region.invalidate_all()
        return json_reply(zone_json(zone))


def delete_zone(call):
    """Delete a zone (admin); its machines move to the default zone. The default zone cannot go."""
    _require_admin(call)
    region = call.region
    with region.lock:
        zone = _zone(call)
        if zone["id"] == region.default_zone_id:
            raise bad_request("This zone is the default zone, it cannot be deleted.")
        for m in region.machines.values():
            if m["zone_id"] == zone["id"]:
                m["zone_id"] = region.default_zone_id
                region.save_machine(m)
        del region.zones[zone["id"]]
        region.store.delete_object("zone", zone["id"])
        return Reply(204, b"", "text/plain; charset=utf-8")


def _pool(call):
    pool = call.region.pool_by_name_or_id(call.args["id"])
    if pool is None:
        raise not_found("ResourcePool")
    return pool


def list_pools(call):
    """Every resource pool."""
    with call.region.lock:
        return json_reply(call.region.pools_json())


def create_pool(call):
    """Create a resource pool (admin)."""
    _require_admin(call)
    region = call.region
    name = call.params.get("name") or ""
    with region.lock:
        if not name:
            raise form_errors({"name": ["This field is required."]})
        if region.pool_by_name_or_id(name):
            raise form_errors({"name": ["Resource pool with this Name already exists."]})
        pool = {"id": _next_id(region.pools), "name": name, "description": call.params.get("description") or ""}
        region.pools[pool["id"]] = pool
        region.store.save_object("pool", pool)
        return json_reply(pool_json(pool))


def read_pool(call):
    """One resource pool."""
    with call.region.lock:
        return json_reply(pool_json(_pool(call)))


def update_pool(call):
    """Rename or describe a pool (admin)."""
    _require_admin(call)
    region = call.region
    with region.lock:
        pool = _pool(call)
        if call.params.get("name"):
            pool["name"] = call.params.get("name")
        if "description" in call.params:
            pool["description"] = call.params.get("description") or ""
        region.store.save_object("pool", pool)
        region.invalidate_all()
        return json_reply(pool_json(pool))


def delete_pool(call):
    """Delete an empty pool (admin); the default pool cannot go."""
    _require_admin(call)
    region = call.region
    with region.lock:
        pool = _pool(call)
        if pool["id"] == 0:
            raise bad_request("This is the default pool, it cannot be deleted.")
        if any(m["pool_id"] == pool["id"] for m in region.machines.values()):
            raise bad_request("Pool has machines in it, it cannot be deleted.")
        del region.pools[pool["id"]]
        region.store.delete_object("pool", pool["id"])
        return Reply(204, b"", "text/plain; charset=utf-8")


# ---------------------------------------------------------------------------------------------------------------
# domains
def _domain(call):
    domain = call.region.domains.get(int(call.args["id"])) if call.args["id"].isdigit() else None
    if domain is None:
        raise not_found("Domain")
    return domain


def list_domains(call):
    """Every domain."""
    with call.region.lock:
        return json_reply(call.region.domains_json())


def create_domain(call):
    """Create a domain (admin)."""
    _require_admin(call)
    region = call.region
    name = call.params.get("name") or ""
    with region.lock:
        if not name:
            raise form_errors({"name": ["This field is required."]})
        if region.domain_by_name_or_id(name):
            raise form_errors({"name": ["Domain with this Name already exists."]})
        domain = {"id": _next_id(region.domains), "name": name, "ttl": call.params.int("ttl"),
                  "authoritative": call.params.bool("authoritative", True), "is_default": False}
        region.domains[domain["id"]] = domain
        region.store.save_object("domain", domain)
        return json_reply(domain_json(domain))


def read_domain(call):
    """One domain."""
    with call.region.lock:
        return json_reply(domain_json(_domain(call)))


def update_domain(call):
    """Change a domain (admin)."""
    _require_admin(call)
    region = call.region
    with region.lock:
        domain = _domain(call)
        if call.params.get("name"):
            domain["name"] = call.params.get("name")
        if "ttl" in call.params:
            domain["ttl"] = call.params.int("ttl")
        if "authoritative" in call.params:
            domain["authoritative"] = call.params.bool("authoritative")
        region.store.save_object("domain", domain)
        region.invalidate_all()
        return json_reply(domain_json(domain))


def delete_domain(call):
    """Delete a domain without machines (admin)."""
    _require_admin(call)
    region = call.region
    with region.lock:
        domain = _domain(call)
        if domain["is_default"]:
            raise bad_request("This domain is the default domain, it cannot be deleted.")
        if any(m["domain_id"] == domain["id"] for m in region.machines.values()):
            raise bad_request("Cannot delete domain: it has nodes in it.")
        del region.domains[domain["id"]]
        region.store.delete_object("domain", domain["id"])
        return Reply(204, b"", "text/plain; charset=utf-8")


def set_default_domain(call):
    """Make a domain the default (admin)."""
    _require_admin(call)
    region = call.region
    with region.lock:
        domain = _domain(call)
        for other in region.domains.values():
            other["is_default"] = other["id"] == domain["id"]
            region.store.save_object("domain", other)
        region.invalidate_all()
        return json_reply(domain_json(domain))


# ---------------------------------------------------------------------------------------------------------------
# SSH keys
def _validate_ssh_key(text):
    parts = text.strip().split()
    if len(parts) < 2 or parts[0] not in SSH_KEY_TYPES:
        raise form_errors({"key": ["Invalid SSH public key: Key should contain 2 or more space separated parts "
                                   "(key type, base64-encoded key, optional comments), not %d)" % len(parts)]})
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        raise form_errors({"key": ["Invalid SSH public key: Key is not a valid base64 string."]}) from None
    if not blob.startswith(len(parts[0]).to_bytes(4, "big") + parts[0].encode()):
        raise form_errors({"key": ["Invalid SSH public key: Key type does not match key contents."]})
    return " ".join(parts)


def list_sshkeys(call):
    """The caller's SSH keys."""
    region = call.region
    with region.lock:
        return json_reply([sshkey_json(k) for k in by_key(region.sshkeys) if k["username"] == call.user])


def create_sshkey(call):
    """Add an SSH key for the caller; answers 201."""
    region = call.region
    key = _validate_ssh_key(call.params.get("key") or "")
    with region.lock:
        if any(k["key"] == key and k["username"] == call.user for k in region.sshkeys.values()):
            raise form_errors({"__all__": ["This key has already been added for this user."]})
        record = {"id": _next_id(region.sshkeys), "key": key, "keysource": None, "username": call.user}
        region.sshkeys[record["id"]] = record
        region.store.save_object("sshkey", record)
        return json_reply(sshkey_json(record), status=201)


def import_sshkeys(call):
    """Pretend to import keys from Launchpad or GitHub: the lab has no network, so it makes one stable key."""
    region = call.region
    source = call.params.get("keysource") or ""
    if not re.match(r"^(lp|gh):[\w.-]+$", source):
        raise form_errors({"keysource": ["Enter a valid keysource: lp:<user> or gh:<user>."]})
    blob = len(b"ssh-ed25519").to_bytes(4, "big") + b"ssh-ed25519" + (32).to_bytes(4, "big") + \
        source.encode().ljust(32, b"\0")[:32]
    key = "ssh-ed25519 %s %s" % (base64.b64encode(blob).decode(), source)
    with region.lock:
        existing = [k for k in region.sshkeys.values() if k["key"] == key and k["username"] == call.user]
        if not existing:
            record = {"id": _next_id(region.sshkeys), "key": key, "keysource": source, "username": call.user}
            region.sshkeys[record["id"]] = record
            region.store.save_object("sshkey", record)
            existing = [record]
        return json_reply([sshkey_json(k) for k in existing])


def _sshkey(call):
    key_id = call.args["id"]
    record = call.region.sshkeys.get(int(key_id)) if key_id.isdigit() else None
    if record is None or record["username"] != call.user:
        raise not_found("SSHKey")
    return record


def read_sshkey(call):
    """One of the caller's keys."""
    with call.region.lock:
        return json_reply(sshkey_json(_sshkey(call)))


def delete_sshkey(call):
    """Delete one of the caller's keys."""
    region = call.region
    with region.lock:
        record = _sshkey(call)
        del region.sshkeys[record["id"]]
        region.store.delete_object("sshkey", record["id"])
        return Reply(204, b"", "text/plain; charset=utf-8")


# ---------------------------------------------------------------------------------------------------------------
# boot resources
def _boot_resource_json(res):
    return {"id": res["id"], "type": res["type"], "name": res["name"], "architecture": res["architecture"],
            "subarches": res.get("subarches", ""), "title": res.get("title", ""),
            "resource_uri": "/MAAS/api/2.0/boot-resources/%d/" % res["id"]}


def list_boot_resources(call):
    """Every imported image."""
    region = call.region
    with region.lock:
        region.is_importing()
        return json_reply([_boot_resource_json(r) for r in by_key(region.boot_resources)])


def import_boot_resources(call):
    """Start an image import (admin); after a few seconds the default images are there (a fresh MAAS has none)."""
    _require_admin(call)
    region = call.region
    with region.lock:
        region.start_import()
    return Reply(200, "Import of boot resources started", "text/plain; charset=utf-8")


def stop_import_boot_resources(call):
    """Stop an image import (admin)."""
    _require_admin(call)
    with call.region.lock:
        call.region.stop_import()
    return Reply(200, "Import of boot resources is being stopped", "text/plain; charset=utf-8")


def is_importing(call):
    """Whether an image import is running."""
    region = call.region
    with region.lock:
        return json_reply(region.is_importing())


def read_boot_resource(call):
    """One image."""
    region = call.region
    with region.lock:
        res = region.boot_resources.get(int(call.args["id"])) if call.args["id"].isdigit() else None
        if res is None:
            raise not_found("BootResource")
        return json_reply(_boot_resource_json(res))


# ---------------------------------------------------------------------------------------------------------------
# users, account, events, version, MAAS settings
def list_users(call):
    """Every user."""
    region = call.region
    with region.lock:
        return json_reply([user_json(u) for u in by_key(region.users)])


def whoami(call):
    """The calling user."""
    with call.region.lock:
        return json_reply(user_json(call.region.users[call.user]))


def read_user(call):
    """One user."""
    region = call.region
    with region.lock:
        user = region.users.get(call.args["username"])
        if user is None:
            raise not_found("User")
        return json_reply(user_json(user))


def create_user(call):
    """Create a user (admin)."""
    _require_admin(call)
    region = call.region
    params = call.params
    with region.lock:
        username = params.get("username") or ""
        if not re.match(r"^[\w.@+-]+$", username):
            raise form_errors({"username": ["This field is required."]})
        if username in region.users:
            raise form_errors({"username": ["A user with that username already exists."]})
        user = {"username": username, "email": params.get("email") or "", "is_superuser": params.bool("is_superuser"),
                "is_active": True}
        region.users[username] = user
        region.store.save_user(user)
        return json_reply(user_json(user))


def create_authorisation_token(call):
    """Make a new API key for the caller; it works for signing at once."""
    token = call.region.create_token(call.user, call.params.get("name") or "")
    return json_reply({"token_key": token["token_key"], "token_secret": token["token_secret"],
                       "consumer_key": token["consumer_key"], "name": token["name"]})


def list_authorisation_tokens(call):
    """The caller's API tokens (names and keys, not secrets)."""
    region = call.region
    with region.lock:
        return json_reply([{"name": t["name"], "token": t["token_key"]} for t in region.tokens.values()
                           if t["username"] == call.user])


def delete_authorisation_token(call):
    """Delete one of the caller's tokens."""
    region = call.region
    key = call.params.get("token_key") or ""
    with region.lock:
        token = region.tokens.get(key)
        if token is None or token["username"] != call.user:
            raise not_found("Token")
        del region.tokens[key]
        region.store.delete_token(key)
        return Reply(204, b"", "text/plain; charset=utf-8")


def query_events(call):
    """Events newest first, filtered by node attributes, level and id window."""
    region = call.region
    params = call.params
    level_name = (params.get("level") or "INFO").upper()
    if level_name not in enums.EVENT_LEVELS:
        raise form_errors({"level": ["Select a valid choice. %s is not one of the available choices." % level_name]})
    limit = params.int("limit", 100)
    if limit < 1:
        raise form_errors({"limit": ["Ensure this value is greater than or equal to 1."]})
    limit = min(limit, 1000)
    before = params.int("before")
    after = params.int("after")
    with region.lock:
        node_filters = [name for name in ("id", "hostname", "mac_address", "zone", "agent_name", "owner") if name in params]
        system_ids = None
        if node_filters:
            matched = region.machines.values()
            for name in node_filters:
                values = set(params.getlist(name))
                if name == "id":
                    matched = [m for m in matched if m["system_id"] in values]
                elif name == "hostname":
                    matched = [m for m in matched if m["hostname"] in values]
                elif name == "mac_address":
                    matched = [m for m in matched if values & {nic["mac"] for nic in m["interfaces"]}]
                elif name == "zone":
                    matched = [m for m in matched if region.zones.get(m["zone_id"], {}).get("name") in values]
                elif name == "agent_name":
                    matched = [m for m in matched if (m.get("agent_name") or "") in values]
                else:
                    matched = [m for m in matched if m.get("owner") in values]
            system_ids = [m["system_id"] for m in matched]
        if not call.is_admin:
            visible = [m["system_id"] for m in region.machines.values() if region.can_view(call.user, m)]
            system_ids = visible if system_ids is None else [s for s in system_ids if s in set(visible)]
        rows = region.store.query_events(system_ids=system_ids, min_level=enums.EVENT_LEVELS[level_name],
                                         before=before, after=after, limit=limit)
    level_names = {v: k for k, v in enums.EVENT_LEVELS.items()}
    events = [{"id": r["id"], "node": r["system_id"], "hostname": r["hostname"], "username": r["username"] or "",
               "level": level_names.get(r["level"], "INFO"), "created": _format_time(r["created"]), "type": r["type"],
               "description": r["description"], "action": r["action"]} for r in rows]
    base = [(k, v) for k, vs in params.items() if k not in ("before", "after") for v in vs]
    uri = "/MAAS/api/2.0/events/"
    prev_uri = uri + "?" + urlencode(base + [("after", events[0]["id"] if events else (after or 0))])
    next_uri = uri + "?" + urlencode(base + [("before", events[-1]["id"] if events else (before or 0))])
    return json_reply({"count": len(events), "events": events, "prev_uri": prev_uri, "next_uri": next_uri})


def _format_time(timestamp):
    return time.strftime("%a, %d %b. %Y %H:%M:%S", time.gmtime(timestamp))


def version(call):
    """The MAAS version (the one emulated, ``--maas-version``) and capabilities."""
    return json_reply({
        "capabilities": ["networks-management", "static-ipaddresses", "ipv6-deployment-ubuntu", "devices-management",
                         "storage-deployment-ubuntu", "network-deployment-ubuntu", "bridging-interface-ubuntu",
                         "bridging-automatic-ubuntu", "authenticate-api"],
        "version": call.region.version_string,
        "subversion": "",
    })


def get_config(call):
    """Read one MAAS setting."""
    region = call.region
    name = call.params.get("name") or ""
    with region.lock:
        if name not in region.settings:
            raise form_errors({"name": ["%s is not a valid config name." % name]}) if name else \
                form_errors({"name": ["This field is required."]})
        return json_reply(region.settings[name])


def set_config(call):
    """Change one MAAS setting (admin); default_distro_series must be an imported series."""
    _require_admin(call)
    region = call.region
    name = call.params.get("name") or ""
    value = call.params.get("value") or ""
    with region.lock:
        if name not in region.settings:
            raise form_errors({"name": ["%s is not a valid config name." % name]})
        if name == "default_distro_series" and value not in [s for s, _v, _t in region.deployable_series()]:
            raise form_errors({"value": ["'%s' is not a valid distro_series." % value]})
        value = boot.clean_setting(name, value)
        region.settings[name] = value
        region.store.set_meta("settings", region.settings)
        return Reply(200, "OK", "text/plain; charset=utf-8")


def resource_handlers():
    """Every non-machine handler, as (auth, anon) pairs."""
    # pylint: disable=too-many-locals,too-many-statements
    def make(name, path, params, doc, actions):
        handler = Handler(name, path, params, doc)
        for method, op, func in actions:
            handler.add(method, op, func)
        return handler

    pairs = [
        (make("TagsHandler", "tags/", [], "Manage all tags known to MAAS.",
              [("GET", None, list_tags), ("POST", None, create_tag)]), None),
        (make("TagHandler", "tags/{name}/", ["name"], "Manage a tag.",
              [("GET", None, read_tag), ("PUT", None, update_tag), ("DELETE", None, delete_tag),
               ("GET", "machines", tag_machines), ("GET", "nodes", tag_machines),
               ("POST", "update_nodes", update_nodes)]), None),
        (make("ZonesHandler", "zones/", [], "Manage physical zones.",
              [("GET", None, list_zones), ("POST", None, create_zone)]), None),
        (make("ZoneHandler", "zones/{name}/", ["name"], "Manage a physical zone.",
              [("GET", None, read_zone), ("PUT", None, update_zone), ("DELETE", None, delete_zone)]), None),
        (make("ResourcePoolsHandler", "resourcepools/", [], "Manage resource pools.",
              [("GET", None, list_pools), ("POST", None, create_pool)]), None),
        (make("ResourcePoolHandler", "resourcepool/{id}/", ["id"], "Manage a resource pool.",
              [("GET", None, read_pool), ("PUT", None, update_pool), ("DELETE", None, delete_pool)]), None),
        (make("DomainsHandler", "domains/", [], "Manage domains.",
              [("GET", None, list_domains), ("POST", None, create_domain)]), None),
        (make("DomainHandler", "domains/{id}/", ["id"], "Manage a domain.",
              [("GET", None, read_domain), ("PUT", None, update_domain), ("DELETE", None, delete_domain),
               ("POST", "set_default", set_default_domain)]), None),
        (make("SSHKeysHandler", "account/prefs/sshkeys/", [], "Manage the caller's SSH keys.",
              [("GET", None, list_sshkeys), ("POST", None, create_sshkey), ("POST", "import", import_sshkeys)]), None),
        (make("SSHKeyHandler", "account/prefs/sshkeys/{id}/", ["id"], "Manage one SSH key.",
              [("GET", None, read_sshkey), ("DELETE", None, delete_sshkey)]), None),
        (make("BootResourcesHandler", "boot-resources/", [], "Manage boot resources.",
              [("GET", None, list_boot_resources), ("POST", "import", import_boot_resources),
               ("POST", "stop_import", stop_import_boot_resources), ("GET", "is_importing", is_importing)]), None),
        (make("BootResourceHandler", "boot-resources/{id}/", ["id"], "Manage a boot resource.",
              [("GET", None, read_boot_resource)]), None),
        (make("UsersHandler", "users/", [], "Manage user accounts.",
              [("GET", None, list_users), ("POST", None, create_user), ("GET", "whoami", whoami)]), None),
        (make("UserHandler", "users/{username}/", ["username"], "Manage a user account.",
              [("GET", None, read_user)]), None),
        (make("AccountHandler", "account/", [], "Manage the current logged-in user.",
              [("POST", "create_authorisation_token", create_authorisation_token),
               ("GET", "list_authorisation_tokens", list_authorisation_tokens),
               ("POST", "delete_authorisation_token", delete_authorisation_token)]), None),
        (make("EventsHandler", "events/", [], "Retrieve filtered node events.",
              [("GET", "query", query_events)]), None),
        (make("MaasHandler", "maas/", [], "Manage the MAAS server.",
              [("GET", "get_config", get_config), ("POST", "set_config", set_config)]), None),
        (None, make("VersionHandler", "version/", [], "Information about this MAAS instance.",
                    [("GET", None, version)])),
    ]
    return pairs
