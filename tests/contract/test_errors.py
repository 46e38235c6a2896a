"""The error answers Gough parses: 404 texts, 409 state conflicts as text, 403 with an empty body, 400 for a wrong
method and op, and events as ``maas_query`` reads them."""

import pytest

from conftest import MAASError, status_name


def test_unknown_machine_is_404_no_machine_matches(client):
    """``GET machines/{unknown}/``: 404 ``No Machine matches the given query.`` (maas_machine reads it as absent)."""
    with pytest.raises(MAASError) as caught:
        client.get_machine("zzzzzz")
    assert caught.value.status == 404
    assert caught.value.maas_message == "No Machine matches the given query."
    assert caught.value.field_errors is None


def test_unknown_endpoint_is_404_unknown_api_endpoint(client):
    """An unknown path under 2.0: 404 ``Unknown API endpoint: <path>.`` (a wrong URL is reported, not retried)."""
    with pytest.raises(MAASError) as caught:
        client.get("gough-no-such-endpoint/")
    assert caught.value.status == 404 and caught.value.attempts == 1
    assert caught.value.maas_message.startswith("Unknown API endpoint: ")


def test_wrong_method_for_an_op_is_400_unrecognised_signature(client):
    """A GET of a POST op: 400 ``Unrecognised signature: method=GET op=allocate``."""
    with pytest.raises(MAASError) as caught:
        client.get("machines/", op="allocate")
    assert caught.value.status == 400
    assert caught.value.maas_message == "Unrecognised signature: method=GET op=allocate"


def test_release_of_a_new_machine_is_409_text(client, machine):
    """``op=release`` on a New machine: 409 ``Machine cannot be released in its current state ('New').``"""
    with pytest.raises(MAASError) as caught:
        client.machine_op(machine["system_id"], "release")
    assert caught.value.status == 409 and caught.value.field_errors is None
    assert caught.value.maas_message == "Machine cannot be released in its current state ('New')."


def test_mark_fixed_of_a_machine_that_is_not_broken_is_409(client, machine):
    """``op=mark_fixed`` on a New machine: 409 ``Can't mark a non-broken node as 'Ready'.``"""
    with pytest.raises(MAASError) as caught:
        client.machine_op(machine["system_id"], "mark_fixed")
    assert caught.value.status == 409
    assert caught.value.maas_message == "Can't mark a non-broken node as 'Ready'."


def test_abort_with_nothing_to_abort_is_409(client, machine):
    """``op=abort`` on a New machine: 409 ``Cannot abort in current state: node <id> is in state New.``"""
    with pytest.raises(MAASError) as caught:
        client.machine_op(machine["system_id"], "abort")
    assert caught.value.status == 409
    assert caught.value.maas_message == "Cannot abort in current state: node %s is in state New." % machine["system_id"]


def test_mark_broken_of_a_machine_nobody_owns_is_403_empty(client, machine):
    """``op=mark_broken`` needs the caller to own the machine: 403 with an empty body, and the machine stays New."""
    try:
        client.machine_op(machine["system_id"], "mark_broken", data={"comment": "contract"})
    except MAASError as exc:
        assert exc.status == 403 and exc.maas_message == ""
        assert "MAAS gave no message" in str(exc)
    else:
        pytest.fail("mark_broken of an unowned machine was accepted")
    assert status_name(client.get_machine(machine["system_id"])) == "New"


def test_events_query_of_a_machine_has_the_fields_maas_query_reads(client, machine):
    """``GET events/?op=query&id=<sid>&limit=`` answers ``{"count", "events": [{id, level, type, description}]}``,
    newest first; ``level=DEBUG`` is accepted (maas_query.latest_event_id reads the latest event id that way)."""
    answer = client.get("events/", op="query", params={"id": machine["system_id"], "limit": 5})
    assert isinstance(answer["count"], int) and isinstance(answer["events"], list)
    ids = [event["id"] for event in answer["events"]]
    assert ids == sorted(ids, reverse=True)
    for event in answer["events"]:
        assert isinstance(event["id"], int)
        assert isinstance(event["type"], str) and isinstance(event["description"], str)
    debug = client.get("events/", op="query", params={"id": machine["system_id"], "limit": 1, "level": "DEBUG"})
    assert isinstance(debug["events"], list) and len(debug["events"]) <= 1


def test_admin_only_request_with_a_user_key_is_403(user_client, run):
    """A non-admin key creating a tag (admin only) gets 403, MAAS's text ``This method is reserved for admin
    users.`` or an empty body; Gough's message says why (permission, lock or owner)."""
    name = run.name("usertag")
    run.tags.append(name)
    with pytest.raises(MAASError) as caught:
        user_client.post("tags/", data={"name": name})
    exc = caught.value
    assert exc.status == 403 and exc.attempts == 1
    assert exc.maas_message in ("", "This method is reserved for admin users.")
    assert "HTTP 403, the user lacks permission" in str(exc)
