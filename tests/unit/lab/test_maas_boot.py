"""The emulator's DNS settings, boot sources, selections and image import, each test naming the MAAS 3.5 rule it
mirrors (forms/settings.py, fields.IPListFormField, forms.BootSourceForm/BootSourceSelectionForm, the models'
unique and clean checks, api/boot_resources.py)."""

import time

import pytest

from conftest import FAST, MAASClient
from gough_lab.testing import start_maas_emulator

SELECTIONS = "boot-sources/1/selections/"


@pytest.fixture
def maas(tmp_path):
    """An emulator with one Ready machine and a 0.5 second import; admin and non-admin clients."""
    emulator = start_maas_emulator(tmp_path / "maas", machines=1, extra_args=FAST + ("--import-seconds", "0.5"))
    try:
        yield MAASClient(emulator, emulator.api_key), MAASClient(emulator, emulator.user_api_key)
    finally:
        emulator.stop()


@pytest.fixture
def admin(maas):
    return maas[0]


def wait_import(client, timeout=10):
    deadline = time.monotonic() + timeout
    while client.get("boot-resources/", {"op": "is_importing"}).json() is True:
        assert time.monotonic() < deadline, "the import never finished"
        time.sleep(0.1)


def resources(client):
    return sorted((r["name"], r["architecture"].partition("/")[0]) for r in client.get("boot-resources/").json())


def set_config(client, name, value):
    return client.op("maas/", "set_config", {"name": name, "value": value})


def get_config(client, name):
    return client.request("GET", "maas/", {"name": name}, query={"op": "get_config"}).json()


# --- DNS settings -------------------------------------------------------------------------------------------------
def test_dns_settings_start_with_maas_defaults(admin):
    """MAAS's CONFIG_ITEMS: upstream_dns defaults to None (null), dnssec_validation to 'auto'."""
    assert get_config(admin, "upstream_dns") is None
    assert get_config(admin, "dnssec_validation") == "auto"


def test_upstream_dns_is_normalised_to_space_separated_addresses(admin):
    """MAAS's IPListFormField splits on commas and blanks and stores the addresses space-separated; IPv6 is valid."""
    assert set_config(admin, "upstream_dns", "10.0.0.53, 10.0.0.54  2001:db8::35").status == 200
    assert get_config(admin, "upstream_dns") == "10.0.0.53 10.0.0.54 2001:db8::35"


def test_upstream_dns_rejects_a_bad_address_with_maas_text(admin):
    """IPListFormField: ``Invalid IP address: <ip>; provide a list of space-separated IP addresses``, keyed by the
    config name, and the setting is unchanged."""
    set_config(admin, "upstream_dns", "10.0.0.53")
    response = set_config(admin, "upstream_dns", "10.0.0.53 dns.example")
    assert response.status == 400
    assert response.json() == {"upstream_dns": [
        "Invalid IP address: dns.example; provide a list of space-separated IP addresses"]}
    assert get_config(admin, "upstream_dns") == "10.0.0.53"


def test_dnssec_validation_accepts_auto_yes_no_only(admin):
    """DNSSEC_VALIDATION_CHOICES and compose_invalid_choice_text: ``'<v>' is not a valid dnssec_validation.  It
    should be one of: 'auto', 'yes', 'no'.``"""
    assert set_config(admin, "dnssec_validation", "no").status == 200
    assert get_config(admin, "dnssec_validation") == "no"
    response = set_config(admin, "dnssec_validation", "maybe")
    assert response.status == 400
    assert response.json() == {"dnssec_validation": [
        "'maybe' is not a valid dnssec_validation.  It should be one of: 'auto', 'yes', 'no'."]}
    assert get_config(admin, "dnssec_validation") == "no"


def test_dns_settings_are_admin_only(maas):
    """``maas/?op=set_config`` is reserved for admins (403)."""
    assert set_config(maas[1], "upstream_dns", "10.0.0.53").status == 403


# --- boot sources -----------------------------------------------------------------------------------------------
def test_a_fresh_region_has_the_default_source_selecting_its_imported_series(admin):
    """MAAS creates a default boot source with the Ubuntu cloud-image keyring and selects amd64 images of it."""
    sources = admin.get("boot-sources/").json()
    assert len(sources) == 1
    assert sources[0]["keyring_filename"] == "/usr/share/keyrings/ubuntu-cloudimage-keyring.gpg"
    assert sources[0]["resource_uri"] == "/MAAS/api/2.0/boot-sources/1/"
    selections = admin.get(SELECTIONS).json()
    assert sorted(s["release"] for s in selections) == ["focal", "jammy", "noble"]
    assert all(s["arches"] == ["amd64"] and s["subarches"] == ["*"] and s["labels"] == ["*"] for s in selections)


def test_boot_sources_are_admin_only(maas):
    """MAAS serves boot sources through an AdminRestrictedResource: ``User is not allowed access to this API.``"""
    response = maas[1].get("boot-sources/")
    assert response.status == 403 and response.text == "User is not allowed access to this API."
    assert maas[1].get(SELECTIONS).status == 403


def test_create_boot_source_needs_a_keyring_and_a_unique_url(admin):
    """BootSource.clean: one of keyring_data or keyring_filename; the url is unique (Django's unique text); create
    answers 201."""
    url = "http://mirror.lab.invalid/images/"
    response = admin.post("boot-sources/", {"url": url})
    assert response.status == 400
    assert response.json() == {"__all__": ["One of keyring_data or keyring_filename must be specified."]}
    created = admin.post("boot-sources/", {"url": url, "keyring_filename": "/k.gpg"})
    assert created.status == 201 and created.json()["url"] == url
    again = admin.post("boot-sources/", {"url": url, "keyring_filename": "/k.gpg"})
    assert again.status == 400 and again.json() == {"url": ["Boot source with this Url already exists."]}
    assert admin.post("boot-sources/", {"url": "not a url", "keyring_filename": "/k.gpg"}).json() == {
        "url": ["Enter a valid URL."]}


def test_deleting_a_boot_source_deletes_its_selections(admin):
    """BootSourceSelection's foreign key cascades; an unknown source is Django's 404 text."""
    source = admin.post("boot-sources/", {"url": "http://m.lab.invalid/", "keyring_filename": "/k.gpg"}).json()
    path = "boot-sources/%d/selections/" % source["id"]
    assert admin.post(path, {"os": "ubuntu", "release": "noble", "arches": "amd64"}).status == 200
    assert admin.delete("boot-sources/%d/" % source["id"]).status == 204
    missing = admin.get(path)
    assert missing.status == 404 and missing.text == "No BootSource matches the given query."


# --- selections -------------------------------------------------------------------------------------------------
def test_selection_of_an_unknown_release_is_refused_with_maas_text(admin):
    """BootSourceSelectionForm.clean: ``OS ubuntu with release <r> has no available images for download``."""
    response = admin.post("boot-sources/", {"url": "http://m.lab.invalid/", "keyring_filename": "/k.gpg"})
    path = "boot-sources/%d/selections/" % response.json()["id"]
    response = admin.post(path, {"os": "ubuntu", "release": "warty", "arches": "amd64"})
    assert response.status == 400
    assert response.json() == {"os": ["OS ubuntu with release warty has no available images for download"]}


def test_selection_of_unknown_arches_subarches_or_labels_is_refused(admin):
    """BootSourceSelectionForm.clean: ``No available images to download for [...]`` per list field, '*' matches
    everything."""
    source = admin.post("boot-sources/", {"url": "http://m.lab.invalid/", "keyring_filename": "/k.gpg"}).json()
    path = "boot-sources/%d/selections/" % source["id"]
    response = admin.post(path, {"os": "ubuntu", "release": "noble", "arches": ["amd64", "s390x"],
                                 "labels": "daily"})
    assert response.status == 400
    assert response.json() == {"arches": ["No available images to download for ['amd64', 's390x']"],
                               "labels": ["No available images to download for ['daily']"]}
    made = admin.post(path, {"os": "ubuntu", "release": "noble", "arches": ["amd64", "arm64"], "subarches": "*",
                             "labels": "*"})
    assert made.status == 200
    assert made.json()["arches"] == ["amd64", "arm64"] and made.json()["boot_source_id"] == source["id"]


def test_a_duplicate_selection_is_refused_by_the_unique_check(admin):
    """BootSourceSelection is unique on (boot_source, os, release): ``Boot source selection with this Boot source,
    Os and Release already exists.``"""
    response = admin.post(SELECTIONS, {"os": "ubuntu", "release": "jammy", "arches": "arm64"})
    assert response.status == 400
    assert response.json() == {"__all__": [
        "Boot source selection with this Boot source, Os and Release already exists."]}


def test_update_selection_keeps_fields_not_sent(admin):
    """MAAS's API forms (APIEditMixin) keep a field's current value when it is not sent."""
    noble = [s for s in admin.get(SELECTIONS).json() if s["release"] == "noble"][0]
    updated = admin.put("%s%d/" % (SELECTIONS, noble["id"]), {"arches": ["amd64", "arm64"]}).json()
    assert updated["arches"] == ["amd64", "arm64"] and updated["release"] == "noble" and updated["labels"] == ["*"]
    assert admin.get("%s%d/" % (SELECTIONS, noble["id"])).json() == updated


def test_the_commissioning_series_selection_cannot_be_deleted(admin):
    """BootSourceSelection.delete: the selection of commissioning_osystem/commissioning_distro_series is refused with
    MAAS's plain text (its %s placeholders left unfilled, as MAAS leaves them)."""
    jammy = [s for s in admin.get(SELECTIONS).json() if s["release"] == "jammy"][0]
    response = admin.delete("%s%d/" % (SELECTIONS, jammy["id"]))
    assert response.status == 400
    assert response.text == "Unable to delete %s %s. It is the operating system used in ephemeral environments."
    focal = [s for s in admin.get(SELECTIONS).json() if s["release"] == "focal"][0]
    assert admin.delete("%s%d/" % (SELECTIONS, focal["id"])).status == 204
    missing = admin.get("%s%d/" % (SELECTIONS, focal["id"]))
    assert missing.status == 404 and missing.text == "No BootSourceSelection matches the given query."


# --- the import ---------------------------------------------------------------------------------------------------
def test_import_takes_import_seconds_then_resources_follow_the_selections(admin):
    """``POST boot-resources/?op=import`` starts an import; ``is_importing`` is true while it runs; when it ends the
    Synced resources are what the selections ask for (added and removed)."""
    focal = [s for s in admin.get(SELECTIONS).json() if s["release"] == "focal"][0]
    noble = [s for s in admin.get(SELECTIONS).json() if s["release"] == "noble"][0]
    admin.delete("%s%d/" % (SELECTIONS, focal["id"]))
    admin.put("%s%d/" % (SELECTIONS, noble["id"]), {"arches": ["amd64", "arm64"]})
    assert ("ubuntu/focal", "amd64") in resources(admin)  # nothing changes before an import
    started = admin.op("boot-resources/", "import")
    assert started.status == 200 and started.text == "Import of boot resources started"
    assert admin.get("boot-resources/", {"op": "is_importing"}).json() is True
    assert ("ubuntu/focal", "amd64") in resources(admin)
    wait_import(admin)
    assert resources(admin) == [("ubuntu/jammy", "amd64"), ("ubuntu/noble", "amd64"), ("ubuntu/noble", "arm64")]


def test_import_seconds_is_a_runtime_setting(admin):
    """The import's length is the region's ``import_seconds`` (like the other *_seconds settings of /_lab/config)."""
    assert admin.put("/_lab/config", raw_body=b'{"import_seconds": 0}').status == 200
    admin.op("boot-resources/", "import")
    assert admin.get("boot-resources/", {"op": "is_importing"}).json() is False


def test_stop_import_leaves_resources_as_they_were(admin):
    """``op=stop_import`` stops the import before it changes anything."""
    focal = [s for s in admin.get(SELECTIONS).json() if s["release"] == "focal"][0]
    admin.delete("%s%d/" % (SELECTIONS, focal["id"]))
    admin.op("boot-resources/", "import")
    assert admin.op("boot-resources/", "stop_import").text == "Import of boot resources is being stopped"
    assert admin.get("boot-resources/", {"op": "is_importing"}).json() is False
    time.sleep(0.6)
    assert ("ubuntu/focal", "amd64") in resources(admin)


def test_deploy_of_a_series_without_images_fails_with_maas_text(admin):
    """A deploy's distro_series must be one with imported images (the machine form's distro_series choices):
    ``'focal' is not a valid distro_series.  It should be one of: '', 'ubuntu/jammy', 'ubuntu/noble'.``"""
    focal = [s for s in admin.get(SELECTIONS).json() if s["release"] == "focal"][0]
    admin.delete("%s%d/" % (SELECTIONS, focal["id"]))
    admin.op("boot-resources/", "import")
    wait_import(admin)
    system_id = admin.get("machines/").json()[0]["system_id"]
    response = admin.op("machines/%s/" % system_id, "deploy", {"distro_series": "focal"})
    assert response.status == 400
    assert response.json() == {"distro_series": [
        "'focal' is not a valid distro_series.  It should be one of: '', 'ubuntu/jammy', 'ubuntu/noble'."]}
    assert admin.machine(system_id)["status_name"] == "Ready"
    assert admin.op("machines/%s/" % system_id, "deploy", {"distro_series": "noble"}).status == 200


def test_boot_sources_and_selections_survive_a_restart(tmp_path):
    """Sources and selections are stored like every other MAAS object."""
    emulator = start_maas_emulator(tmp_path / "m", extra_args=FAST)
    try:
        admin = MAASClient(emulator, emulator.api_key)
        noble = [s for s in admin.get(SELECTIONS).json() if s["release"] == "noble"][0]
        admin.put("%s%d/" % (SELECTIONS, noble["id"]), {"arches": "arm64"})
        before = admin.get(SELECTIONS).json()
    finally:
        emulator.stop()
    emulator = start_maas_emulator(tmp_path / "m", extra_args=FAST)
    try:
        assert MAASClient(emulator, emulator.api_key).get(SELECTIONS).json() == before
    finally:
        emulator.stop()


def test_allocate_takes_no_distro_series_the_series_is_checked_at_deploy(admin):
    """MAAS 3.5's AcquireNodeForm has no distro_series field (only the machine list's FreeTextFilterNodeForm has), so
    ``op=allocate`` with one is refused as an unknown constraint whether or not the series is imported:
    ``{"distro_series": ["No such constraint."]}``; the imported-series check happens at deploy."""
    response = admin.op("machines/", "allocate", {"distro_series": "noble"})
    assert response.status == 400 and response.json() == {"distro_series": ["No such constraint."]}
    assert admin.get("machines/").json()[0]["status_name"] == "Ready"
