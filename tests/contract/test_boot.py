"""DNS settings and boot images as ``maas_dns``, ``maas_boot_source`` and ``maas_boot_resources_info`` use them:
``maas/?op=get_config``/``set_config`` for ``upstream_dns`` and ``dnssec_validation`` (each test puts back the value
it found), ``boot-sources/`` and their ``selections/`` with the form errors the modules turn into messages, and
``boot-resources/?op=is_importing``. The suite starts no import: on a real MAAS that downloads images."""

import pytest

from conftest import MAASError


@pytest.fixture
def restore_config(client):
    """Put back every setting a test changed, whatever happened."""
    saved = {}

    def remember(name):
        saved.setdefault(name, client.get("maas/", op="get_config", params={"name": name}))
    yield remember
    for name, value in saved.items():
        client.post("maas/", op="set_config", data={"name": name, "value": value or ""})


def test_dnssec_validation_round_trip_and_bad_value(client, restore_config):
    """``dnssec_validation`` is one of auto/yes/no; another value is 400 with a field error keyed by the setting's
    name, and the value stays."""
    restore_config("dnssec_validation")
    client.post("maas/", op="set_config", data={"name": "dnssec_validation", "value": "no"})
    assert client.get("maas/", op="get_config", params={"name": "dnssec_validation"}) == "no"
    with pytest.raises(MAASError) as caught:
        client.post("maas/", op="set_config", data={"name": "dnssec_validation", "value": "maybe"})
    assert caught.value.status == 400
    assert "is not a valid dnssec_validation" in caught.value.field_errors["dnssec_validation"][0]
    assert client.get("maas/", op="get_config", params={"name": "dnssec_validation"}) == "no"


def test_upstream_dns_is_stored_space_separated_and_checked(client, restore_config):
    """``upstream_dns`` takes addresses separated by commas or blanks and reads back space-separated; a bad address
    is 400 naming ``upstream_dns`` with ``Invalid IP address: <it>``."""
    restore_config("upstream_dns")
    client.post("maas/", op="set_config", data={"name": "upstream_dns", "value": "192.0.2.53,192.0.2.54"})
    assert client.get("maas/", op="get_config", params={"name": "upstream_dns"}) == "192.0.2.53 192.0.2.54"
    with pytest.raises(MAASError) as caught:
        client.post("maas/", op="set_config", data={"name": "upstream_dns", "value": "192.0.2.53 not-an-ip"})
    assert caught.value.status == 400
    assert caught.value.field_errors["upstream_dns"][0].startswith("Invalid IP address: not-an-ip")


def test_boot_sources_and_their_selections_have_the_fields_the_modules_read(client):
    """``GET boot-sources/`` lists sources with id, url and keyring fields; each source's ``selections/`` have
    os, release and the lists arches, subarches and labels. MAAS creates its default source together with one
    selection (ubuntu, the default commissioning release, amd64, subarches and labels ``*``:
    ``ensure_boot_source_definition`` in src/maasserver/bootsources.py, run at region start-up), so the first
    source has at least one selection unless an operator deleted it."""
    sources = client.get("boot-sources/")
    assert sources, "MAAS has no boot source"
    assert set(("id", "url", "keyring_filename", "keyring_data")) <= set(sources[0])
    selections = client.get("boot-sources/%d/selections/" % sources[0]["id"])
    assert selections, "boot source %d has no selection (MAAS creates one with its default source)" % (
        sources[0]["id"])
    for selection in selections:
        assert selection["boot_source_id"] == sources[0]["id"]
        assert isinstance(selection["os"], str) and isinstance(selection["release"], str)
        assert all(isinstance(selection[name], list) for name in ("arches", "subarches", "labels"))


def test_selection_of_an_unknown_release_is_400_on_os(client):
    """A selection of a release the source does not offer is refused with a field error on ``os`` (``OS ubuntu with
    release <r> has no available images for download``); nothing is created."""
    source = client.get("boot-sources/")[0]
    path = "boot-sources/%d/selections/" % source["id"]
    before = client.get(path)
    with pytest.raises(MAASError) as caught:
        client.post(path, data={"os": "ubuntu", "release": "gough-nosuch", "arches": ["amd64"]})
    assert caught.value.status == 400
    assert caught.value.field_errors["os"] == [
        "OS ubuntu with release gough-nosuch has no available images for download"]
    assert client.get(path) == before


def test_a_second_selection_of_the_same_release_is_400(client):
    """Selections are unique per (boot source, os, release): a second one is refused with a non-field error."""
    source = client.get("boot-sources/")[0]
    path = "boot-sources/%d/selections/" % source["id"]
    existing = client.get(path)
    if not existing:
        pytest.skip("the first boot source has no selection to repeat")
    with pytest.raises(MAASError) as caught:
        client.post(path, data={"os": existing[0]["os"], "release": existing[0]["release"],
                                "arches": existing[0]["arches"]})
    assert caught.value.status == 400
    assert "already exists" in caught.value.field_errors["__all__"][0]
    assert client.get(path) == existing


def test_is_importing_is_a_boolean(client):
    """``GET boot-resources/?op=is_importing`` answers JSON true or false (maas_boot_source polls it)."""
    assert client.get("boot-resources/", op="is_importing") in (True, False)
