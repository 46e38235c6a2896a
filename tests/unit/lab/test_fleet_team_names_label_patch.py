"""Fleet emulator: reserved team names, and what PATCH /labels/:id does with a query or platform."""

import pytest


def assert_validation(response, reason):
    """Fleet's 422 body for an invalid argument named "name" (server/service/transport_error.go)."""
    assert response.status == 422, response
    doc = response.json()
    assert doc["message"] == "Validation Failed", doc
    assert doc["errors"] == [{"name": "name", "reason": reason}], doc


@pytest.mark.parametrize("sent, reserved", [("All teams", "All teams"), ("all TEAMS", "All teams"),
                                            ("No team", "No team"), ("NO TEAM", "No team")])
def test_pre_rename_reserved_team_names_are_refused(fleet, sent, reserved):
    """Fleet refuses a team named "All teams" or "No team" in any case, on create and on rename: its NewTeam and
    ModifyTeam (ee/server/service/teams.go) compare the lower-cased name with the two reserved names and return
    NewInvalidArgumentError("name", `"All teams" is a reserved team name`) (or `"No team" ...`), i.e. 422
    "Validation Failed" whose reason spells the reserved name, not the name as sent. No team is created or renamed.
    """
    reason = "\"%s\" is a reserved team name" % reserved
    assert_validation(fleet.api("POST", "teams", {"name": sent}), reason)
    assert fleet.api("GET", "teams").json()["teams"] == []
    team_id = fleet.api("POST", "teams", {"name": "web"}).json()["team"]["id"]
    assert_validation(fleet.api("PATCH", "teams/%d" % team_id, {"name": sent}), reason)
    assert fleet.api("GET", "teams/%d" % team_id).json()["team"]["name"] == "web"


@pytest.mark.parametrize("sent", ["All fleets", "unassigned"])
def test_post_rename_reserved_fleet_names_are_refused(fleet, sent):
    """Fleet since the teams->fleets rename also reserves "All fleets" and "Unassigned" (server/fleet/teams.go
    IsReservedTeamName, case-insensitive); verifyFleetName (server/service/teams.go) returns
    NewInvalidArgumentError("name", fmt.Sprintf("%q is a reserved name", name)): 422 quoting the name as sent.
    The /fleets alias path is refused the same way.
    """
    reason = "\"%s\" is a reserved name" % sent
    assert_validation(fleet.api("POST", "teams", {"name": sent}), reason)
    assert_validation(fleet.api("POST", "fleets", {"name": sent}), reason)
    assert fleet.api("GET", "teams").json()["teams"] == []


def test_names_near_the_reserved_ones_are_ordinary(fleet):
    """Fleet reserves only the exact names (case aside): "No teams", "All" and "No fleet" are ordinary team names."""
    for name in ("No teams", "All", "No fleet"):
        created = fleet.api("POST", "teams", {"name": name})
        assert created.status == 200, created
        assert created.json()["team"]["name"] == name
    assert sorted(t["name"] for t in fleet.api("GET", "teams").json()["teams"]) == ["All", "No fleet", "No teams"]


def test_label_patch_ignores_query_and_platform(fleet):
    """Fleet's PATCH /labels/:id body is fleet.ModifyLabelPayload (name, description, hosts, host_ids): it has no
    query or platform field, and Fleet decodes request bodies with a plain encoding/json Decoder, which drops
    unknown keys. So a query or platform in the PATCH body is not an error: the request succeeds (200), the name
    and description sent with it are applied, and the label keeps the query and platform it was created with.
    Fleet's REST API docs ("Modify label"): "Label queries and platforms are immutable. To change these, you must
    delete the label and create a new label."
    """
    created = fleet.api("POST", "labels", {"name": "has-lo", "query": "SELECT 1 FROM interface_addresses",
                                           "platform": "ubuntu"}).json()["label"]
    patched = fleet.api("PATCH", "labels/%d" % created["id"],
                        {"name": "loopback", "description": "renamed", "query": "SELECT 2", "platform": "darwin"})
    assert patched.status == 200, patched
    label = patched.json()["label"]
    assert (label["name"], label["description"]) == ("loopback", "renamed")
    assert (label["query"], label["platform"]) == ("SELECT 1 FROM interface_addresses", "ubuntu")
    stored = fleet.api("GET", "labels/%d" % created["id"]).json()["label"]
    assert (stored["name"], stored["query"], stored["platform"]) == (
        "loopback", "SELECT 1 FROM interface_addresses", "ubuntu")


def test_label_patch_query_does_not_turn_a_manual_label_dynamic(fleet):
    """A manual label (created with hosts) has an empty query; a query in a PATCH body is dropped the same way,
    so the label stays manual with its empty query (Fleet: ModifyLabelPayload has no query field)."""
    created = fleet.api("POST", "labels", {"name": "pets", "hosts": []}).json()["label"]
    assert created["label_membership_type"] == "manual"
    patched = fleet.api("PATCH", "labels/%d" % created["id"], {"query": "SELECT 1"})
    assert patched.status == 200, patched
    stored = fleet.api("GET", "labels/%d" % created["id"]).json()["label"]
    assert (stored["label_membership_type"], stored["query"]) == ("manual", "")
