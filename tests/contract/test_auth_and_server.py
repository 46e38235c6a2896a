"""Authentication as Gough signs requests, and the server calls ``maas_server_info`` makes: ``version/`` and
``users/?op=whoami``, plus the listings Gough's input checks read (zones, pools, domains, tags, boot resources)."""

import pytest

from conftest import MAASError


def test_gough_plaintext_oauth_header_is_accepted(client):
    """MAAS accepts Gough's OAuth 1.0a PLAINTEXT header (quoted values, signature ``&<secret>``, no realm)."""
    user = client.whoami()
    assert isinstance(user, dict) and user.get("username")


def test_fresh_nonce_per_request_lets_back_to_back_requests_through(client):
    """MAAS refuses a reused nonce; Gough signs every request anew, so requests within one second all pass."""
    names = set(client.whoami()["username"] for _attempt in range(5))
    assert len(names) == 1


def test_wrong_token_secret_is_refused_with_401_and_never_shown(target):
    """A key with a wrong secret gets 401; Gough does not retry it and its message never shows the key."""
    consumer, token, _secret = target.api_key.split(":")
    wrong = "%s:%s:%s" % (consumer, token, "wrongsecret0123456789abcd")
    with target.client(api_key=wrong) as bad:
        with pytest.raises(MAASError) as caught:
            bad.whoami()
    exc = caught.value
    assert exc.status == 401
    assert exc.attempts == 1
    assert "rejected the API key (HTTP 401)" in str(exc)
    assert "wrongsecret0123456789abcd" not in str(exc) + repr(exc.details())


def test_unknown_consumer_key_is_401_invalid_api_key(target):
    """An unknown consumer key gets 401 ``Authorization Error: Invalid API key.`` (MAAS api/auth.py)."""
    _consumer, token, secret = target.api_key.split(":")
    with target.client(api_key="nosuchconsumerkey:%s:%s" % (token, secret)) as bad:
        with pytest.raises(MAASError) as caught:
            bad.whoami()
    assert caught.value.status == 401
    assert caught.value.maas_message == "Authorization Error: Invalid API key."
    assert secret not in str(caught.value)


def test_version_reports_version_subversion_and_capabilities(client):
    """``GET version/`` gives the fields ``maas_server_info`` returns: version, subversion, capabilities."""
    version = client.version()
    assert isinstance(version["version"], str) and version["version"][0].isdigit()
    assert isinstance(version.get("subversion", ""), str)
    assert isinstance(version["capabilities"], list)
    assert "authenticate-api" in version["capabilities"]


def test_whoami_reports_username_and_superuser_flag(client):
    """``GET users/?op=whoami`` gives username, email, is_superuser; the suite's key must be an admin's."""
    user = client.whoami()
    assert isinstance(user["username"], str) and user["username"]
    assert isinstance(user.get("email", ""), str)
    assert user["is_superuser"] is True, "the contract suite needs an admin's API key (it creates machines and tags)"


@pytest.mark.parametrize("path", ["zones/", "resourcepools/", "domains/", "tags/"])
def test_listings_of_named_objects_are_lists_with_names(client, path):
    """The input checks (maas_validate.check_references) list zones, pools, domains and tags and read ``name``."""
    items = client.get(path)
    assert isinstance(items, list)
    assert all(isinstance(item.get("name"), str) for item in items)


def test_default_zone_and_pool_exist(client):
    """Zone ``default`` and resource pool ``default`` always exist; Gough's machines land there unless told."""
    assert "default" in [zone["name"] for zone in client.get("zones/")]
    assert "default" in [pool["name"] for pool in client.get("resourcepools/")]


def test_boot_resources_list_names_and_architectures(client):
    """``GET boot-resources/`` (distro series checks) lists ``{name: "ubuntu/jammy", architecture: ...}`` items."""
    resources = client.get("boot-resources/")
    assert isinstance(resources, list)
    for resource in resources:
        assert "/" in resource["name"] and "/" in resource["architecture"]
