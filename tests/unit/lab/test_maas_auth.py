"""OAuth 1.0a PLAINTEXT authentication: every header spelling MAAS accepts and every rejection it makes."""

import time
import uuid

import pytest

from conftest import MAASClient, oauth_header


def whoami(client, header):
    return client.get("users/", query={"op": "whoami"}, headers={"Authorization": header})


@pytest.mark.parametrize("variant", [
    {"quoted": True, "realm": True},
    {"quoted": False, "realm": False},
    {"quoted": True, "realm": False, "encoded_signature": True},
    {"quoted": False, "realm": True, "encoded_signature": True},
    {"quoted": True, "realm": True, "version": False},
])
def test_header_variants_are_accepted(lab, anon, variant):
    response = whoami(anon, oauth_header(lab.api_key, **variant))
    assert response.status == 200, response
    assert response.json()["username"] == "admin" and response.json()["is_superuser"] is True


def test_percent_encoded_values_are_unquoted(lab, anon):
    consumer, token, secret = lab.api_key.split(":")
    header = ('OAuth oauth_version="1.0", oauth_signature_method="PLAINTEXT", oauth_consumer_key="%s", '
              'oauth_token="%s", oauth_signature="%%26%s", oauth_nonce="a%%2Db", oauth_timestamp="%d"'
              % (consumer, token, secret, time.time()))
    assert whoami(anon, header).status == 200


def test_user_key_is_not_superuser(lab, anon):
    data = whoami(anon, oauth_header(lab.user_api_key)).json()
    assert data == {"username": "user", "email": "user@example.com", "is_local": True, "is_superuser": False,
                    "resource_uri": "/MAAS/api/2.0/users/user/"}


def test_bad_consumer_key_is_401_invalid_api_key_with_challenge(lab, anon):
    _consumer, token, secret = lab.api_key.split(":")
    response = whoami(anon, oauth_header("nosuchconsumer:%s:%s" % (token, secret)))
    assert response.status == 401
    assert response.text == "Authorization Error: Invalid API key."
    assert response.headers["WWW-Authenticate"] == 'OAuth realm="OAuth"'


def test_bad_token_is_401_with_repr_message(lab, anon):
    consumer, _token, secret = lab.api_key.split(":")
    response = whoami(anon, oauth_header("%s:nosuchtoken:%s" % (consumer, secret)))
    assert response.status == 401
    assert response.text == "Authorization Error: 'Invalid access token: nosuchtoken'"


def test_bad_signature_is_401(lab, anon):
    consumer, token, _secret = lab.api_key.split(":")
    response = whoami(anon, oauth_header("%s:%s:wrongsecret" % (consumer, token)))
    assert response.status == 401 and response.text.startswith("Authorization Error: 'Invalid signature")


def test_stale_timestamp_is_401(lab, anon):
    response = whoami(anon, oauth_header(lab.api_key, timestamp=int(time.time()) - 301))
    assert response.status == 401 and "Expired timestamp" in response.text


def test_reused_nonce_is_401_but_same_nonce_on_other_token_is_fine(lab, anon):
    nonce = uuid.uuid4().hex
    assert whoami(anon, oauth_header(lab.api_key, nonce=nonce)).status == 200
    again = whoami(anon, oauth_header(lab.api_key, nonce=nonce))
    assert again.status == 401 and again.text == "Authorization Error: 'Nonce already used: %s'" % nonce
    assert whoami(anon, oauth_header(lab.user_api_key, nonce=nonce)).status == 200


def test_unsupported_oauth_version_is_401(lab, anon):
    header = oauth_header(lab.api_key).replace('oauth_version="1.0"', 'oauth_version="2.0"')
    assert whoami(anon, header).status == 401


def test_partial_header_counts_as_anonymous(lab, anon):
    consumer, token, _secret = lab.api_key.split(":")
    header = 'OAuth oauth_consumer_key="%s", oauth_token="%s"' % (consumer, token)
    response = whoami(anon, header)
    assert response.status == 401 and response.text == "Forbidden"


def test_new_authorisation_token_works_for_signing(lab, admin, anon):
    response = admin.post("account/", {"name": "ci"}, query={"op": "create_authorisation_token"})
    assert response.status == 200
    token = response.json()
    assert set(token) == {"token_key", "token_secret", "consumer_key", "name"} and token["name"] == "ci"
    key = "%s:%s:%s" % (token["consumer_key"], token["token_key"], token["token_secret"])
    assert whoami(anon, oauth_header(key)).json()["username"] == "admin"
    assert MAASClient(lab, key).get("machines/").status == 200


def test_api_keys_survive_restart(lab):
    before = lab.api_key
    lab.restart()
    assert lab.api_key == before
    assert MAASClient(lab, before).get("users/", query={"op": "whoami"}).status == 200
