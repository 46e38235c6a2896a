"""Fleet emulator REST API: auth, users, enroll secrets, teams (and the /fleets aliases), errors, state files."""

import json
import os
import ssl
import stat
import urllib.error
import urllib.request

import pytest


def assert_error(response, status, message, name=None, reason_part=None):
    """Fleet's error body: message, errors[{name, reason}], uuid."""
    assert response.status == status, response
    doc = response.json()
    assert set(doc) == {"message", "errors", "uuid"}
    assert doc["message"] == message and doc["uuid"]
    assert len(doc["errors"]) == 1 and set(doc["errors"][0]) == {"name", "reason"}
    if name:
        assert doc["errors"][0]["name"] == name, doc
    if reason_part:
        assert reason_part in doc["errors"][0]["reason"], doc
    return doc


def test_state_files_and_modes(fleet):
    state = fleet.state_dir
    assert stat.S_IMODE(os.stat(state).st_mode) == 0o700
    for name in ("api_token", "enroll_secret", "admin.json", "fleet.sqlite3", "ca.key", "server.key"):
        assert stat.S_IMODE(os.stat(os.path.join(state, name)).st_mode) == 0o600, name
    assert fleet.url.startswith("https://127.0.0.1:")
    assert open(os.path.join(state, "ca.crt"), encoding="utf-8").read().startswith("-----BEGIN CERTIFICATE-----")
    admin = json.load(open(os.path.join(state, "admin.json"), encoding="utf-8"))
    assert set(admin) == {"email", "password"}


def test_tls_is_verified_against_the_lab_ca(fleet):
    with urllib.request.urlopen(fleet.url + "/_lab/config", context=fleet.ssl_context()) as response:
        assert response.status == 200
    with pytest.raises(urllib.error.URLError) as info:
        urllib.request.urlopen(fleet.url + "/_lab/config", context=ssl.create_default_context())
    assert isinstance(info.value.reason, ssl.SSLCertVerificationError)


def test_api_token_me_version(fleet):
    me = fleet.api("GET", "me")
    assert me.status == 200
    user = me.json()["user"]
    assert user["api_only"] is True and user["global_role"] == "admin"
    version = fleet.api("GET", "version").json()
    assert set(version) >= {"version", "branch", "revision", "go_version", "build_date", "build_user"}


def test_authentication_errors(fleet):
    assert_error(fleet.api("GET", "me", token=None), 401, "Authentication required")
    assert_error(fleet.api("GET", "hosts", token="not-a-token"), 401, "Authentication required")
    assert_error(fleet.api("POST", "login", {"email": fleet.admin["email"], "password": "wrong-1234!"}, token=None),
                 401, "Authentication failed")


def test_login_logout_session(fleet):
    response = fleet.api("POST", "login", fleet.admin, token=None)
    assert response.status == 200
    doc = response.json()
    assert doc["user"]["email"] == fleet.admin["email"] and doc["token"]
    token = doc["token"]
    assert fleet.api("GET", "me", token=token).json()["user"]["api_only"] is False
    assert fleet.api("POST", "logout", token=token).status == 200
    assert_error(fleet.api("GET", "me", token=token), 401, "Authentication required")


def test_api_only_user_gets_a_token_that_works(fleet):
    body = {"name": "automation", "email": "auto@example.com", "password": "sup3r-secret-pw!", "api_only": True,
            "global_role": "observer"}
    response = fleet.api("POST", "users/admin", body)
    assert response.status == 200
    token = response.json()["token"]
    assert response.json()["user"]["api_only"] is True
    assert fleet.api("GET", "me", token=token).json()["user"]["email"] == "auto@example.com"
    # An observer may read but not write.
    assert fleet.api("GET", "hosts", token=token).status == 200
    assert_error(fleet.api("POST", "teams", {"name": "x"}, token=token), 403, "Permission Denied")
    # API-only users cannot log in with a password.
    assert fleet.api("POST", "login", {"email": "auto@example.com", "password": "sup3r-secret-pw!"},
                     token=None).status == 401
    # Not API-only: no token in the response.
    body = dict(body, email="human@example.com", api_only=False)
    assert "token" not in fleet.api("POST", "users/admin", body).json()
    assert len(fleet.api("GET", "users").json()["users"]) == 4


def test_user_validation_errors(fleet):
    good = {"name": "a", "email": "a@example.com", "password": "sup3r-secret-pw!", "global_role": "admin"}
    assert_error(fleet.api("POST", "users/admin", dict(good, password="short")), 422, "Validation Failed", "password")
    assert_error(fleet.api("POST", "users/admin", dict(good, name="")), 422, "Validation Failed", "name")
    assert_error(fleet.api("POST", "users/admin", dict(good, global_role="boss")), 422, "Validation Failed",
                 "global_role")
    assert fleet.api("POST", "users/admin", good).status == 200
    assert_error(fleet.api("POST", "users/admin", good), 409, "Resource Already Exists")
    assert_error(fleet.api("GET", "users/999"), 404, "Resource Not Found",
                 reason_part="User with id=999 was not found in the datastore")


def test_bad_requests(fleet):
    assert_error(fleet.api("POST", "teams", raw=b"{not json", headers={"Content-Type": "application/json"}), 400,
                 "Bad request", reason_part="Expected JSON Body")
    assert_error(fleet.api("POST", "teams"), 400, "Bad request", reason_part="Expected JSON Body")
    assert_error(fleet.api("GET", "hosts", params={"page": "x"}), 400, "Bad request", "page")
    assert_error(fleet.api("GET", "nothing-here"), 404, "Resource Not Found")
    response = fleet.api("PUT", "teams")
    assert response.status == 405 and "GET" in response.headers["Allow"]


def test_global_enroll_secrets_replace_all(fleet):
    secrets = fleet.api("GET", "spec/enroll_secret").json()["spec"]["secrets"]
    assert [s["secret"] for s in secrets] == [fleet.enroll_secret] and secrets[0]["created_at"]
    response = fleet.api("POST", "spec/enroll_secret", {"spec": {"secrets": [{"secret": "one"}, {"secret": "two"}]}})
    assert response.status == 200 and response.json() == {}
    assert [s["secret"] for s in fleet.api("GET", "spec/enroll_secret").json()["spec"]["secrets"]] == ["one", "two"]
    # dry_run validates and changes nothing.
    fleet.api("POST", "spec/enroll_secret", {"spec": {"secrets": [{"secret": "three"}]}}, params={"dry_run": "true"})
    assert len(fleet.api("GET", "spec/enroll_secret").json()["spec"]["secrets"]) == 2
    assert fleet.api("POST", "spec/enroll_secret", {"spec": {"secrets": []}}).status == 200
    assert fleet.api("GET", "spec/enroll_secret").json()["spec"]["secrets"] == []
    assert_error(fleet.api("POST", "spec/enroll_secret", {"spec": {"secrets": [{"secret": ""}]}}), 422,
                 "Validation Failed", "secret")
    assert_error(fleet.api("POST", "spec/enroll_secret", {"secrets": []}), 422, "Validation Failed", "spec")


def test_teams_crud_and_team_secrets(fleet):
    created = fleet.api("POST", "teams", {"name": "web", "description": "web servers"})
    assert created.status == 200
    team = created.json()["team"]
    assert team["name"] == "web" and team["host_count"] == 0 and len(team["secrets"]) == 1
    team_id = team["id"]
    assert_error(fleet.api("POST", "teams", {"name": "WEB"}), 409, "Resource Already Exists")
    assert_error(fleet.api("POST", "teams", {"name": ""}), 422, "Validation Failed", "name")
    assert fleet.api("GET", "teams/%d" % team_id).json()["team"]["description"] == "web servers"
    patched = fleet.api("PATCH", "teams/%d" % team_id, {"name": "web2"}).json()["team"]
    assert patched["name"] == "web2"
    assert [t["name"] for t in fleet.api("GET", "teams").json()["teams"]] == ["web2"]
    secrets = fleet.api("PATCH", "teams/%d/secrets" % team_id, {"secrets": [{"secret": "team-s"}]}).json()["secrets"]
    assert [(s["secret"], s["team_id"]) for s in secrets] == [("team-s", team_id)]
    assert fleet.api("GET", "teams/%d/secrets" % team_id).json()["secrets"][0]["secret"] == "team-s"
    # A secret is unique across global and team secrets.
    assert_error(fleet.api("PATCH", "teams/%d/secrets" % team_id, {"secrets": [{"secret": fleet.enroll_secret}]}),
                 409, "Resource Already Exists")
    assert fleet.api("PATCH", "teams/%d/secrets" % team_id, {"secrets": []}).json() == {"secrets": None}
    assert fleet.api("DELETE", "teams/%d" % team_id).status == 200
    assert_error(fleet.api("GET", "teams/%d" % team_id), 404, "Resource Not Found",
                 reason_part="Team with id=%d" % team_id)


def test_fleets_aliases(fleet):
    created = fleet.api("POST", "fleets", {"name": "db"}).json()
    assert created["fleet"] == created["team"] and created["team"]["name"] == "db"
    team_id = created["team"]["id"]
    listed = fleet.api("GET", "fleets").json()
    assert listed["fleets"] == listed["teams"] and listed["teams"][0]["id"] == team_id
    assert fleet.api("GET", "fleets/%d/secrets" % team_id).status == 200
    assert fleet.api("GET", "hosts", params={"fleet_id": team_id}).status == 200
    assert_error(fleet.api("GET", "hosts", params={"fleet_id": team_id, "team_id": team_id}), 400, "Bad request",
                 "fleet_id")
    assert_error(fleet.api("POST", "hosts/transfer", {"team_id": team_id, "fleet_id": team_id, "hosts": []}), 400,
                 "Bad request", "fleet_id")


def test_stats_count_writes_only(fleet):
    fleet.reset_stats()
    fleet.api("GET", "teams")
    fleet.api("GET", "hosts")
    assert fleet.stats()["writes"] == 0
    fleet.api("POST", "teams", {"name": "a"})
    fleet.api("POST", "teams", {"name": "a"})  # 409: no change, not a write
    stats = fleet.stats()
    assert stats["writes"] == 1 and stats["by_route"]["POST teams"] == 2 and stats["by_status"]["409"] == 1
