"""The ``GET machines/`` filters Gough sends (maas_machine, maas_machine_info, maas_deploy, the inventory): each
is ANDed with ``id=`` of this run's machines, so a large MAAS answers small lists."""

import pytest

from conftest import MAASError, create_or_skip


@pytest.fixture(scope="module")
def pair(run, architecture):
    """Two machines of this run, the second one tagged; deleted with the run."""
    made = [create_or_skip(run, architecture) for _index in range(2)]
    tag = run.create_tag(comment="contract filters")
    run.client.post("tags/%s/" % tag, op="update_nodes", data={"add": made[1]["system_id"]})
    return made, tag


def ids(machines):
    return sorted(m["system_id"] for m in machines)


def listing(client, **params):
    return ids(client.get("machines/", params=params))


def test_id_filter_matches_any_of_the_given_ids(client, pair):
    """``id=a&id=b`` returns both machines (find_named_machines, maas_machine_info system_ids)."""
    machines, _tag = pair
    assert listing(client, id=ids(machines)) == ids(machines)
    assert listing(client, id=[machines[0]["system_id"]]) == [machines[0]["system_id"]]


def test_hostname_filter_is_exact_and_matches_any(client, pair):
    """``hostname=`` matches whole short names only, any of several (inventory hostnames, maas_machine find)."""
    machines, _tag = pair
    assert listing(client, hostname=[m["hostname"] for m in machines]) == ids(machines)
    assert listing(client, hostname=machines[0]["hostname"][:-1]) == []


def test_mac_address_filter_finds_the_machine(client, pair):
    """``mac_address=`` (lower case with colons, as Gough normalises MACs) finds the machine that has it."""
    machine = client.get_machine(pair[0][0]["system_id"])
    mac = machine["interface_set"][0]["mac_address"]
    assert listing(client, mac_address=[mac]) == [machine["system_id"]]


def test_status_filter_takes_lowercase_names_and_several_values(client, pair):
    """``status=new`` matches New machines, ``status=ready`` does not, several values match any (inventory status,
    maas_commission's ``status=new``, maas_deploy's ``status=ready``)."""
    machines, _tag = pair
    every = ids(machines)
    assert listing(client, id=every, status="new") == every
    assert listing(client, id=every, status="ready") == []
    assert listing(client, id=every, status=["ready", "new"]) == every
    assert listing(client, id=every, status="failed_deployment") == []


def test_tags_and_not_tags_filters(client, pair):
    """``tags=`` keeps machines with the tag, ``not_tags=`` drops them (inventory, maas_machine_info, maas_deploy)."""
    machines, tag = pair
    every = ids(machines)
    assert listing(client, tags=[tag]) == [machines[1]["system_id"]]
    assert listing(client, id=every, not_tags=[tag]) == [machines[0]["system_id"]]


def test_zone_and_pool_filters(client, pair):
    """``zone=default`` and ``pool=default`` keep machines placed there (inventory zones and pools options)."""
    every = ids(pair[0])
    assert listing(client, id=every, zone="default") == every
    assert listing(client, id=every, pool="default") == every


def test_agent_name_filter_of_unallocated_machines_is_empty(client, run, pair):
    """``agent_name=`` (maas_deploy's set of machines) matches only machines allocated with that name."""
    assert listing(client, id=ids(pair[0]), agent_name=run.agent_name) == []


def test_unknown_filter_is_400_no_such_constraint(client):
    """An unknown parameter gives 400 ``{"<name>": ["No such constraint."]}``."""
    with pytest.raises(MAASError) as caught:
        client.get("machines/", params={"gough_no_such_filter": "x"})
    assert caught.value.status == 400
    assert caught.value.field_errors == {"gough_no_such_filter": ["No such constraint."]}


def test_unknown_tag_filter_is_400_naming_tags(client, run):
    """An unknown tag gives 400 ``{"tags": ["No such tag(s): 'x'."]}`` (maas_machine_info names the option)."""
    missing = run.name("missing")
    with pytest.raises(MAASError) as caught:
        client.get("machines/", params={"tags": [missing]})
    assert caught.value.status == 400
    assert caught.value.field_errors == {"tags": ["No such tag(s): '%s'." % missing]}


def test_unknown_zone_filter_is_400_naming_zone(client, run):
    """An unknown zone gives 400 ``{"zone": ["No such zone(s): x."]}``."""
    missing = run.name("missing")
    with pytest.raises(MAASError) as caught:
        client.get("machines/", params={"zone": missing})
    assert caught.value.status == 400
    assert caught.value.field_errors == {"zone": ["No such zone(s): %s." % missing]}


def test_bad_mac_filter_is_400_naming_mac_address(client):
    """A malformed MAC gives 400 ``{"mac_address": ["'…' is not a valid MAC address."]}``."""
    with pytest.raises(MAASError) as caught:
        client.get("machines/", params={"mac_address": "02:00:00:00:00:ZZ"})
    assert caught.value.status == 400
    assert caught.value.field_errors == {"mac_address": ["'02:00:00:00:00:ZZ' is not a valid MAC address."]}
