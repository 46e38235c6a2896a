"""Tags as ``maas_tag``, ``maas_machine`` and the compliance gate use them: create, update, ``update_nodes`` add and
remove, ``op=machines``, delete."""

import pytest

from conftest import MAASError


def test_tag_create_read_update_delete(client, run):
    """``POST tags/`` creates, ``GET tags/{name}/`` reads name/comment/definition/kernel_opts, ``PUT`` changes the
    comment, ``DELETE`` removes it (then 404)."""
    name = run.create_tag(comment="contract tag")
    tag = client.get("tags/%s/" % name)
    assert tag["name"] == name and tag["comment"] == "contract tag"
    assert (tag.get("definition") or "") == "" and (tag.get("kernel_opts") or "") == ""
    client.put("tags/%s/" % name, data={"comment": "changed"})
    assert client.get("tags/%s/" % name)["comment"] == "changed"
    assert client.delete("tags/%s/" % name) is None
    with pytest.raises(MAASError) as caught:
        client.get("tags/%s/" % name)
    assert caught.value.status == 404


def test_update_nodes_adds_and_removes_machines(client, run, create_machine):
    """``op=update_nodes`` with repeated ``add``/``remove`` answers ``{"added": n, "removed": m}``; ``op=machines``
    lists the members and each machine's ``tag_names`` follows."""
    first, second = create_machine(), create_machine()
    name = run.create_tag()
    answer = client.post("tags/%s/" % name, op="update_nodes",
                         data={"add": [first["system_id"], second["system_id"]]})
    assert answer == {"added": 2, "removed": 0}
    members = sorted(m["system_id"] for m in client.get("tags/%s/" % name, op="machines"))
    assert members == sorted([first["system_id"], second["system_id"]])
    assert name in client.get_machine(first["system_id"])["tag_names"]
    answer = client.post("tags/%s/" % name, op="update_nodes", data={"add": [], "remove": [first["system_id"]]})
    assert answer == {"added": 0, "removed": 1}
    assert [m["system_id"] for m in client.get("tags/%s/" % name, op="machines")] == [second["system_id"]]
    assert name not in client.get_machine(first["system_id"])["tag_names"]


def test_deleting_a_tag_takes_it_off_its_machines(client, run, machine):
    """A deleted tag disappears from its machines' ``tag_names``."""
    name = run.create_tag()
    client.post("tags/%s/" % name, op="update_nodes", data={"add": machine["system_id"]})
    client.delete("tags/%s/" % name)
    assert name not in client.get_machine(machine["system_id"])["tag_names"]


def test_bad_tag_name_is_400_naming_name(client, run):
    """A tag name outside ``^[a-zA-Z0-9_-]+$`` gives 400 with a ``name`` field error (maas_tag checks it first)."""
    bad = run.name("bad") + ".x"
    run.tags.append(bad)
    with pytest.raises(MAASError) as caught:
        client.post("tags/", data={"name": bad})
    assert caught.value.status == 400 and "name" in caught.value.field_errors


def test_unknown_tag_is_404(client, run):
    """``GET tags/{unknown}/`` is 404; maas_tag reads that as "absent"."""
    with pytest.raises(MAASError) as caught:
        client.get("tags/%s/" % run.name("missing"))
    assert caught.value.status == 404
