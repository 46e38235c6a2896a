"""Tags, zones, pools, domains, fabrics, VLANs, subnets, SSH keys, boot resources, users and events."""

import base64

SSH_KEY = "ssh-ed25519 " + base64.b64encode(
    len(b"ssh-ed25519").to_bytes(4, "big") + b"ssh-ed25519" + (32).to_bytes(4, "big") + b"k" * 32).decode() + " me@lab"


def test_tag_crud_and_update_nodes(admin, user):
    created = admin.post("tags/", {"name": "gpu", "comment": "has a GPU"})
    assert created.status == 200
    assert created.json() == {"name": "gpu", "definition": "", "comment": "has a GPU", "kernel_opts": "",
                              "resource_uri": "/MAAS/api/2.0/tags/gpu/"}
    assert admin.post("tags/", {"name": "gpu"}).status == 400
    assert admin.post("tags/", {"name": "bad name!"}).status == 400
    denied = user.post("tags/", {"name": "mine"})
    assert denied.status == 403 and denied.text == "This method is reserved for admin users."
    ids = [m["system_id"] for m in admin.get("machines/").json()]
    result = admin.op("tags/gpu/", "update_nodes", {"add": ids[:3] + ["unknown1"], "remove": ids[5]})
    assert result.json() == {"added": 3, "removed": 0}
    assert admin.op("tags/gpu/", "update_nodes", {"add": ids[0], "remove": ids[1]}).json() == {"added": 0, "removed": 1}
    tagged = admin.get("tags/gpu/", query={"op": "machines"}).json()
    assert sorted(m["system_id"] for m in tagged) == sorted([ids[0], ids[2]])
    assert admin.machine(ids[0])["tag_names"] == ["gpu"]
    renamed = admin.put("tags/gpu/", {"name": "accel"})
    assert renamed.json()["name"] == "accel" and admin.machine(ids[0])["tag_names"] == ["accel"]
    assert admin.delete("tags/accel/").status == 204
    assert admin.machine(ids[0])["tag_names"] == []
    assert admin.get("tags/accel/").status == 404


def test_update_nodes_with_stale_definition_is_409(admin):
    admin.post("tags/", {"name": "virt", "definition": "//node[@class='system']"})
    response = admin.op("tags/virt/", "update_nodes", {"definition": "//other", "add": "x"})
    assert response.status == 409


def test_zones(admin, user):
    assert [z["name"] for z in admin.get("zones/").json()] == ["default"]
    zone = admin.post("zones/", {"name": "rack-b", "description": "second rack"}).json()
    assert zone["resource_uri"] == "/MAAS/api/2.0/zones/rack-b/"
    assert user.post("zones/", {"name": "x"}).status == 403
    assert admin.put("zones/rack-b/", {"description": "changed"}).json()["description"] == "changed"
    assert admin.delete("zones/rack-b/").status == 204
    assert admin.delete("zones/default/").status == 400


def test_resource_pools_use_singular_path(admin):
    pools = admin.get("resourcepools/").json()
    assert pools[0]["id"] == 0 and pools[0]["name"] == "default"
    pool = admin.post("resourcepools/", {"name": "batch"}).json()
    assert pool["resource_uri"] == "/MAAS/api/2.0/resourcepool/%d/" % pool["id"]
    assert admin.get("resourcepool/%d/" % pool["id"]).json()["name"] == "batch"
    assert admin.get("resourcepool/batch/").json()["id"] == pool["id"]
    sid = admin.get("machines/").json()[0]["system_id"]
    admin.put("machines/%s/" % sid, {"pool": "batch"})
    assert admin.op("machines/", "allocate", {"pool": "batch"}).json()["system_id"] == sid
    assert admin.get("machines/", {"not_in_pool": "batch"}).status == 200


def test_domains(admin):
    domain = admin.post("domains/", {"name": "lab.example", "authoritative": "true", "ttl": "300"}).json()
    assert domain["ttl"] == 300 and domain["is_default"] is False
    assert admin.op("domains/%d/" % domain["id"], "set_default").json()["is_default"] is True
    assert admin.get("machines/").json()[0]["fqdn"].endswith(".maas")
    created = admin.post("machines/", {"architecture": "amd64", "mac_addresses": "52:54:00:20:00:01",
                                       "power_type": "manual", "hostname": "in-lab"}).json()
    assert created["fqdn"] == "in-lab.lab.example"


def test_fabrics_vlans_subnets(admin):
    fabrics = admin.get("fabrics/").json()
    assert fabrics[0]["name"] == "fabric-0" and fabrics[0]["vlans"][0]["vid"] == 0
    vlan = admin.post("fabrics/0/vlans/", {"vid": "100", "name": "storage"}).json()
    assert vlan["vid"] == 100 and vlan["fabric_id"] == 0
    assert admin.put("fabrics/0/vlans/100/", {"mtu": "9000"}).json()["mtu"] == 9000
    assert admin.get("vlans/%d/" % vlan["id"]).json()["mtu"] == 9000
    subnet = admin.post("subnets/", {"cidr": "10.30.0.0/24", "vlan": str(vlan["id"]), "gateway_ip": "10.30.0.1"}).json()
    assert subnet["vlan"]["vid"] == 100 and subnet["gateway_ip"] == "10.30.0.1"
    assert admin.get("subnets/%d/" % subnet["id"]).json()["cidr"] == "10.30.0.0/24"
    stats = admin.get("subnets/1/", query={"op": "statistics"}).json()
    assert stats["total_addresses"] == 65534
    assert admin.post("subnets/", {"cidr": "not-a-cidr"}).status == 400


def test_ssh_keys_create_is_201_and_per_user(admin, user):
    response = admin.post("account/prefs/sshkeys/", {"key": SSH_KEY})
    assert response.status == 201
    key = response.json()
    assert key["key"] == SSH_KEY and key["resource_uri"].endswith("/sshkeys/%d/" % key["id"])
    assert admin.post("account/prefs/sshkeys/", {"key": SSH_KEY}).status == 400
    assert admin.post("account/prefs/sshkeys/", {"key": "ssh-rsa nonsense"}).status == 400
    assert len(admin.get("account/prefs/sshkeys/").json()) == 1
    assert user.get("account/prefs/sshkeys/").json() == []
    imported = admin.op("account/prefs/sshkeys/", "import", {"keysource": "gh:octocat"})
    assert imported.status == 200 and imported.json()[0]["keysource"] == "gh:octocat"
    assert admin.delete("account/prefs/sshkeys/%d/" % key["id"]).status == 204


def test_boot_resources_import(admin, user):
    names = [r["name"] for r in admin.get("boot-resources/").json()]
    assert "ubuntu/jammy" in names
    assert admin.get("boot-resources/", {"op": "is_importing"}).json() is False
    assert user.op("boot-resources/", "import").status == 403
    assert admin.op("boot-resources/", "import").status == 200
    assert admin.get("boot-resources/", {"op": "is_importing"}).json() is True


def test_users_list_and_whoami(admin, user):
    assert {u["username"] for u in admin.get("users/").json()} == {"admin", "user"}
    assert user.get("users/", {"op": "whoami"}).json()["username"] == "user"


def test_maas_config(admin, user):
    assert admin.get("maas/", {"op": "get_config", "name": "default_distro_series"}).json() == "jammy"
    assert user.op("maas/", "set_config", {"name": "default_distro_series", "value": "noble"}).status == 403
    assert admin.op("maas/", "set_config", {"name": "default_distro_series", "value": "noble"}).status == 200
    sid = admin.get("machines/").json()[0]["system_id"]
    assert admin.op("machines/%s/" % sid, "deploy", {"comment": "default series"}).json()["distro_series"] == "noble"


# --- events -----------------------------------------------------------------------------------------------------
def test_events_record_transitions_newest_first_with_filters(admin):
    machines = admin.get("machines/").json()
    sid, other = machines[0]["system_id"], machines[1]["system_id"]
    admin.op("machines/%s/" % sid, "deploy", {"distro_series": "jammy", "comment": "go"})
    admin.wait_status(sid, {"Deployed"})
    admin.op("machines/", "allocate", {"system_id": other})
    admin.op("machines/%s/" % other, "mark_broken", {"comment": "fan"})
    page = admin.get("events/", {"op": "query", "id": sid}).json()
    types = [e["type"] for e in page["events"]]
    assert types[:3] == ["Deployed", "Deploying", "Allocated"]
    ids = [e["id"] for e in page["events"]]
    assert ids == sorted(ids, reverse=True)
    assert all(e["node"] == sid and e["hostname"] == machines[0]["hostname"] for e in page["events"])
    assert page["count"] == len(page["events"]) and "next_uri" in page and "prev_uri" in page
    debug = admin.get("events/", {"op": "query", "id": sid, "level": "DEBUG"}).json()["events"]
    assert any(e["type"] == "Node changed status" and e["description"] == "From 'Ready' to 'Allocated'" for e in debug)
    assert admin.get("events/", {"op": "query", "hostname": machines[1]["hostname"]}).json()["events"][0]["type"] == "Marked broken"
    limited = admin.get("events/", {"op": "query", "limit": "2"}).json()
    assert limited["count"] == 2
    older = admin.get("events/", {"op": "query", "before": str(limited["events"][-1]["id"])}).json()["events"]
    assert all(e["id"] < limited["events"][-1]["id"] for e in older)
    newer = admin.get("events/", {"op": "query", "after": str(ids[1])}).json()["events"]
    assert [e["id"] for e in newer][-1] == ids[1] + 1 or all(e["id"] > ids[1] for e in newer)


def test_events_by_agent_name_and_status_action(admin):
    sid = admin.get("machines/").json()[2]["system_id"]
    admin.op("machines/", "allocate", {"system_id": sid, "agent_name": "batch-7"})
    events = admin.get("events/", {"op": "query", "agent_name": "batch-7"}).json()["events"]
    assert events[0]["type"] == "Allocated" and events[0]["node"] == sid
    assert admin.machine(sid)["status_action"] == "allocate"


def test_tag_names_are_refused_as_maas_tag_model_refuses_them(admin):
    """MAAS's Tag.name is CharField(max_length=256, validators=[RegexValidator("^[a-zA-Z0-9_-]+$")]): a create or a
    rename with another character, or longer than 256 characters, is a 400 with Django's stock messages, and nothing
    is stored."""
    bad = admin.post("tags/", {"name": "rack a"})
    assert bad.status == 400 and bad.json() == {"name": ["Enter a valid value."]}
    long_name = "t" * 257
    too_long = admin.post("tags/", {"name": long_name})
    assert too_long.status == 400
    assert too_long.json() == {"name": ["Ensure this value has at most 256 characters (it has 257)."]}
    assert admin.post("tags/", {"name": "t" * 256}).status == 200
    assert admin.post("tags/", {"name": "ok_name-1"}).status == 200
    renamed = admin.put("tags/ok_name-1/", {"name": "no/slash"})
    assert renamed.status == 400 and renamed.json() == {"name": ["Enter a valid value."]}
    assert sorted(t["name"] for t in admin.get("tags/").json()) == sorted(["t" * 256, "ok_name-1"])
