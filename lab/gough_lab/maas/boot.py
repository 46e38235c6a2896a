"""Boot sources, their selections, the image import that follows them, and the DNS settings of the region.

As in MAAS 3.5: a boot source is a simplestreams URL with a keyring; its selections (os, release, arches,
subarches, labels) say which images ``POST boot-resources/?op=import`` brings in. An import takes the region's
``import_seconds`` (a /_lab/config setting); when it ends the Synced boot resources are exactly what the selections
ask for, and only imported series are deployable. The emulated image server offers the Ubuntu releases in
``region.DISTROS`` (handed to ``load``) for ``STREAM_ARCHES``; a selection of anything else is refused with MAAS's form errors.

The DNS settings ``upstream_dns`` and ``dnssec_validation`` go through ``maas/?op=set_config`` with MAAS's
validation (``clean_setting``).
"""

import base64
import ipaddress
import re
import time

from .api import Handler, Reply, json_reply
from .errors import APIError, forbidden, form_errors, not_found
from .render import by_key

# What the emulated image server (the lab's stand-in for MAAS's default stream) offers for each release.
STREAM_ARCHES = ("amd64", "arm64")
STREAM_LABELS = ("stable",)
DEFAULT_SOURCE_URL = "http://images.lab.invalid/ephemeral-v3/stable/"
DEFAULT_KEYRING = "/usr/share/keyrings/ubuntu-cloudimage-keyring.gpg"
# MAAS's DNSSEC_VALIDATION_CHOICES, in its order (the order its error text lists them in).
DNSSEC_CHOICES = ("auto", "yes", "no")
# Settings this part of the region adds to ``maas/?op=get_config``, with MAAS's defaults.
SETTING_DEFAULTS = {"upstream_dns": None, "dnssec_validation": "auto", "commissioning_osystem": "ubuntu",
                    "commissioning_distro_series": "jammy"}
SELECTION_FIELDS = ("os", "release", "arches", "subarches", "labels")
TEXT = "text/plain; charset=utf-8"


def stream_entries(distros):
    """``{(os, release): {"arches", "subarches", "labels", "version", "title"}}`` the image server offers for
    ``distros`` (``(series, version, title)`` of Ubuntu releases)."""
    return {("ubuntu", series): {"arches": STREAM_ARCHES, "labels": STREAM_LABELS, "version": version, "title": title,
                                 "subarches": ("generic", "ga-%s" % version, "hwe-%s" % version)}
            for series, version, title in distros}


def _stamp(when):
    return time.strftime("%Y-%m-%dT%H:%M:%S.000", time.gmtime(when))


# ---------------------------------------------------------------------------------------------------------------
# loading and the import
def load(region, distros):
    """Load boot sources and selections into ``region``; give a state directory without any MAAS's default source.

    ``distros`` are the Ubuntu releases the image server offers (``(series, version, title)``); the default source
    selects each for amd64 (any subarchitecture and label), as the import of a fresh MAAS did before sources existed
    here. The DNS settings get MAAS's defaults when missing.
    """
    region.image_stream = stream_entries(distros)
    region.boot_sources = region.store.load_objects("bootsource")
    region.boot_selections = region.store.load_objects("bootsourceselection")
    for name, value in SETTING_DEFAULTS.items():
        region.settings.setdefault(name, value)
    if not region.boot_sources:
        now = region.now()
        _save(region, "bootsource", region.boot_sources, {
            "id": 1, "url": DEFAULT_SOURCE_URL, "keyring_filename": DEFAULT_KEYRING, "keyring_data": "",
            "created": now, "updated": now})
        for series, _version, _title in distros:
            _save(region, "bootsourceselection", region.boot_selections, {
                "id": _next_id(region.boot_selections), "boot_source_id": 1, "os": "ubuntu", "release": series,
                "arches": ["amd64"], "subarches": ["*"], "labels": ["*"]})


def _save(region, kind, table, obj):
    table[obj["id"]] = obj
    region.store.save_object(kind, obj)
    return obj


def _next_id(table):
    return max(list(table) + [0]) + 1


def wanted_resources(region):
    """``{(name, arch): subarches}`` that the selections of every boot source ask for."""
    stream = region.image_stream
    wanted = {}
    for sel in region.boot_selections.values():
        entry = stream.get((sel["os"] or "ubuntu", sel["release"]))
        if entry is None:
            continue
        arches = entry["arches"] if "*" in sel["arches"] else [a for a in sel["arches"] if a in entry["arches"]]
        subs = [s for s in entry["subarches"] if "*" in sel["subarches"] or s in sel["subarches"]]
        for arch in arches:
            key = ("%s/%s" % (sel["os"] or "ubuntu", sel["release"]), arch)
            wanted[key] = sorted(set(wanted.get(key, [])) | set(subs), key=entry["subarches"].index)
    return wanted


def sync_resources(region):
    """End an import: add the images the selections ask for, delete Synced ones they no longer ask for."""
    stream = region.image_stream
    wanted = wanted_resources(region)
    have = {}
    for res in list(region.boot_resources.values()):
        key = (res["name"], res["architecture"].partition("/")[0])
        if res["type"] == "Synced" and key not in wanted:
            del region.boot_resources[res["id"]]
            region.store.delete_object("bootresource", res["id"])
        else:
            have[key] = res
    for (name, arch), subs in sorted(wanted.items()):
        os_name, _sep, release = name.partition("/")
        entry = stream[(os_name, release)]
        res = have.get((name, arch)) or {"id": _next_id(region.boot_resources), "type": "Synced", "name": name,
                                         "architecture": "%s/ga-%s" % (arch, entry["version"]),
                                         "title": entry["title"]}
        res["subarches"] = ",".join(subs)
        _save(region, "bootresource", region.boot_resources, res)


# ---------------------------------------------------------------------------------------------------------------
# DNS settings
def clean_setting(name, value):
    """The value MAAS stores for config ``name``, or a 400 with MAAS's form error for it; other names pass."""
    if name == "upstream_dns":
        # MAAS's IPListFormField: comma or blank separated, each a valid IPv4 or IPv6 address, stored space-joined.
        addresses = [part for part in re.split(r"[,\s]+", value) if part]
        for address in addresses:
            try:
                ipaddress.ip_address(address)
            except ValueError:
                raise form_errors({name: ["Invalid IP address: %s; provide a list of space-separated IP addresses"
                                          % address]}) from None
        return " ".join(addresses)
    if name == "dnssec_validation" and value not in DNSSEC_CHOICES:
        raise form_errors({name: ["'%s' is not a valid dnssec_validation.  It should be one of: %s."
                                  % (value, ", ".join("'%s'" % c for c in DNSSEC_CHOICES))]})
    return value


# ---------------------------------------------------------------------------------------------------------------
# boot sources
def _require_admin(call):
    """MAAS serves boot sources and selections through an AdminRestrictedResource: 403 for anyone else."""
    if not call.is_admin:
        raise forbidden("User is not allowed access to this API.")


def source_json(source):
    """A boot source as MAAS shows it (keyring_data base64-encoded)."""
    return {"id": source["id"], "url": source["url"], "keyring_filename": source["keyring_filename"],
            "keyring_data": source["keyring_data"], "created": _stamp(source["created"]),
            "updated": _stamp(source["updated"]), "resource_uri": "/MAAS/api/2.0/boot-sources/%d/" % source["id"]}


def selection_json(sel):
    """A boot source selection as MAAS shows it."""
    out = {"boot_source_id": sel["boot_source_id"], "id": sel["id"]}
    out.update((field, sel[field]) for field in SELECTION_FIELDS)
    out["resource_uri"] = "/MAAS/api/2.0/boot-sources/%d/selections/%d/" % (sel["boot_source_id"], sel["id"])
    return out


def _source(call):
    key = call.args.get("boot_source_id") or call.args.get("id")
    source = call.region.boot_sources.get(int(key)) if key.isdigit() else None
    if source is None:
        raise not_found("BootSource")
    return source


def _clean_source(region, params, current):
    """The boot source after applying ``params`` (BootSourceForm and the model's clean), or a 400."""
    source = dict(current or {})
    if "url" in params or current is None:
        source["url"] = (params.get("url") or "").strip()
    for name in ("keyring_filename", "keyring_data"):
        if name in params:
            source[name] = params.get(name) or ""
    source.setdefault("keyring_filename", "")
    source.setdefault("keyring_data", "")
    if not source["url"]:
        raise form_errors({"url": ["This field is required."]})
    if not re.match(r"^(https?|ftp)://[^\s/?#]+([/?#]\S*)?$", source["url"], re.IGNORECASE):
        raise form_errors({"url": ["Enter a valid URL."]})
    if any(s["url"] == source["url"] and s["id"] != source.get("id") for s in region.boot_sources.values()):
        raise form_errors({"url": ["Boot source with this Url already exists."]})
    if source["keyring_data"]:
        source["keyring_data"] = base64.b64encode(source["keyring_data"].encode()).decode()
    if not source["keyring_filename"] and not source["keyring_data"]:
        raise form_errors({"__all__": ["One of keyring_data or keyring_filename must be specified."]})
    if source["keyring_filename"] and source["keyring_data"]:
        raise form_errors({"__all__": ["Only one of keyring_filename or keyring_data can be specified."]})
    return source


def list_sources(call):
    """Every boot source (admin)."""
    _require_admin(call)
    with call.region.lock:
        return json_reply([source_json(s) for s in by_key(call.region.boot_sources)])


def create_source(call):
    """Add a boot source (admin): a URL and one of keyring_filename or keyring_data; 201 like MAAS."""
    _require_admin(call)
    region = call.region
    with region.lock:
        source = _clean_source(region, call.params, None)
        source.update(id=_next_id(region.boot_sources), created=region.now(), updated=region.now())
        _save(region, "bootsource", region.boot_sources, source)
        return json_reply(source_json(source), status=201)


def read_source(call):
    """One boot source (admin)."""
    _require_admin(call)
    with call.region.lock:
        return json_reply(source_json(_source(call)))


def update_source(call):
    """Change a boot source's URL or keyring (admin)."""
    _require_admin(call)
    region = call.region
    with region.lock:
        source = _clean_source(region, call.params, _source(call))
        source["updated"] = region.now()
        _save(region, "bootsource", region.boot_sources, source)
        return json_reply(source_json(source))


def delete_source(call):
    """Delete a boot source and its selections (admin)."""
    _require_admin(call)
    region = call.region
    with region.lock:
        source = _source(call)
        for sel in [s for s in region.boot_selections.values() if s["boot_source_id"] == source["id"]]:
            del region.boot_selections[sel["id"]]
            region.store.delete_object("bootsourceselection", sel["id"])
        del region.boot_sources[source["id"]]
        region.store.delete_object("bootsource", source["id"])
        return Reply(204, b"", TEXT)


# ---------------------------------------------------------------------------------------------------------------
# boot source selections
def _selection(call, source):
    key = call.args["id"]
    sel = call.region.boot_selections.get(int(key)) if key.isdigit() else None
    if sel is None or sel["boot_source_id"] != source["id"]:
        raise not_found("BootSourceSelection")
    return sel


def _clean_selection(region, source, params, current):
    """The selection after applying ``params`` (BootSourceSelectionForm, then the unique check), or a 400.

    Fields not sent keep their current value (MAAS's API forms); list fields take every value sent.
    """
    sel = dict(current or {"os": "", "release": "", "arches": [], "subarches": [], "labels": []})
    for name in ("os", "release"):
        if name in params:
            sel[name] = params.get(name) or ""
    for name in ("arches", "subarches", "labels"):
        if name in params:
            sel[name] = [v for v in params.getlist(name) if v != ""]
    for name in ("os", "release"):
        if len(sel[name]) > 20:
            raise form_errors({name: ["Ensure this value has at most 20 characters (it has %d)." % len(sel[name])]})
    entries = [e for (os_name, release), e in region.image_stream.items()
               if release == sel["release"] and (not sel["os"] or os_name == sel["os"])]
    if not entries:
        raise form_errors({"os": ["OS %s with release %s has no available images for download"
                                  % (sel["os"], sel["release"])]})
    errors = {}
    for name in ("arches", "subarches", "labels"):
        offered = set(v for e in entries for v in e[name])
        if "*" not in sel[name] and not set(sel[name]) <= offered:
            errors[name] = ["No available images to download for %s" % sel[name]]
    if errors:
        raise form_errors(errors)
    if any(s["boot_source_id"] == source["id"] and s["os"] == sel["os"] and s["release"] == sel["release"]
           and s["id"] != sel.get("id") for s in region.boot_selections.values()):
        raise form_errors({"__all__": ["Boot source selection with this Boot source, Os and Release already exists."]})
    sel["boot_source_id"] = source["id"]
    return sel


def list_selections(call):
    """The selections of one boot source (admin)."""
    _require_admin(call)
    region = call.region
    with region.lock:
        source = _source(call)
        return json_reply([selection_json(s) for s in by_key(region.boot_selections)
                           if s["boot_source_id"] == source["id"]])


def create_selection(call):
    """Add a selection to a boot source (admin); MAAS answers 200 with it."""
    _require_admin(call)
    region = call.region
    with region.lock:
        source = _source(call)
        sel = _clean_selection(region, source, call.params, None)
        sel["id"] = _next_id(region.boot_selections)
        _save(region, "bootsourceselection", region.boot_selections, sel)
        return json_reply(selection_json(sel))


def read_selection(call):
    """One selection (admin)."""
    _require_admin(call)
    with call.region.lock:
        return json_reply(selection_json(_selection(call, _source(call))))


def update_selection(call):
    """Change a selection (admin); fields not sent stay."""
    _require_admin(call)
    region = call.region
    with region.lock:
        source = _source(call)
        sel = _clean_selection(region, source, call.params, _selection(call, source))
        _save(region, "bootsourceselection", region.boot_selections, sel)
        return json_reply(selection_json(sel))


def delete_selection(call):
    """Delete a selection (admin); MAAS refuses to delete the one of the commissioning series, with a plain-text
    400 whose placeholders it never fills in."""
    _require_admin(call)
    region = call.region
    with region.lock:
        sel = _selection(call, _source(call))
        if (sel["os"], sel["release"]) == (region.settings["commissioning_osystem"],
                                           region.settings["commissioning_distro_series"]):
            raise APIError(400, "Unable to delete %s %s. It is the operating system used in ephemeral environments.")
        del region.boot_selections[sel["id"]]
        region.store.delete_object("bootsourceselection", sel["id"])
        return Reply(204, b"", TEXT)


def boot_handlers():
    """The boot source and selection handlers, as (auth, anon) pairs for the routing table."""
    def make(name, path, params, doc, actions):
        handler = Handler(name, path, params, doc)
        for method, func in actions:
            handler.add(method, None, func)
        return handler

    return [
        (make("BootSourcesHandler", "boot-sources/", [], "Manage the collection of boot sources.",
              [("GET", list_sources), ("POST", create_source)]), None),
        (make("BootSourceHandler", "boot-sources/{id}/", ["id"], "Manage a boot source.",
              [("GET", read_source), ("PUT", update_source), ("DELETE", delete_source)]), None),
        (make("BootSourceSelectionsHandler", "boot-sources/{boot_source_id}/selections/", ["boot_source_id"],
              "Manage the collection of boot source selections.",
              [("GET", list_selections), ("POST", create_selection)]), None),
        (make("BootSourceSelectionHandler", "boot-sources/{boot_source_id}/selections/{id}/",
              ["boot_source_id", "id"], "Manage a boot source selection.",
              [("GET", read_selection), ("PUT", update_selection), ("DELETE", delete_selection)]), None),
    ]
