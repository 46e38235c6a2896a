"""AWX emulator rules for inventories, hosts and workflow nodes, each against what AWX 24.6.1 does (awx/api/
serializers.py, awx/api/views/inventory.py, awx/main/scheduler/task_manager.py). Where the emulator is stricter
than AWX, the test says what AWX does instead and why the emulator refuses."""

import pytest

from gough_lab.awx.testing import start_awx_emulator

KIND_ERROR = {"error": 'You cannot turn a regular inventory into a "smart" or "constructed" inventory.'}
HOST_ERROR = {"inventory": {"detail": "Cannot create Host for Smart or Constructed Inventories"}}


@pytest.fixture(scope="module")
def awx(tmp_path_factory):
    emulator = start_awx_emulator(tmp_path_factory.mktemp("awx") / "state")
    try:
        emulator.org = emulator.client().create("organizations/", {"name": "Rules"})
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(scope="module")
def api(awx):
    return awx.client()


def inventory(api, awx, name, **fields):
    return api.create("inventories/", dict({"name": name, "organization": awx.org["id"]}, **fields))


def test_smart_inventory_without_host_filter_is_refused(api, awx):
    """InventorySerializer.validate: a smart inventory must have a host_filter, on create and on any later write
    that leaves it without one: 400 {"host_filter": ["Smart inventories must specify host_filter"]}."""
    error = (400, {"host_filter": ["Smart inventories must specify host_filter"]})
    base = {"name": "smart", "organization": awx.org["id"], "kind": "smart"}
    assert api.post("inventories/", base) == error
    assert api.post("inventories/", dict(base, host_filter="")) == error
    smart = inventory(api, awx, "smart", kind="smart", host_filter="name=node1")
    assert smart["kind"] == "smart" and smart["host_filter"] == "name=node1"
    assert api.patch("inventories/%s/" % smart["id"], {"host_filter": ""}) == error
    assert api.patch("inventories/%s/" % smart["id"], {"host_filter": "name=node2"})[0] == 200


def test_host_filter_on_a_regular_inventory_is_refused(api, awx):
    """Stricter than AWX: AWX 24.6.1 stores a host_filter on a regular (or constructed) inventory and never uses
    it, so a configuration that sets one expects a smart inventory it did not get; the emulator refuses it with
    400 {"host_filter": ["host_filter is only valid for smart inventories."]}."""
    error = (400, {"host_filter": ["host_filter is only valid for smart inventories."]})
    assert api.post("inventories/", {"name": "regular-hf", "organization": awx.org["id"],
                                     "host_filter": "name=node1"}) == error
    regular = inventory(api, awx, "regular")
    assert api.patch("inventories/%s/" % regular["id"], {"host_filter": "name=node1"}) == error


def test_inventory_kind_never_changes(api, awx):
    """InventoryDetail.update refuses a write that changes kind before any field is validated: 405
    {"error": "You cannot turn a regular inventory into a \\"smart\\" or \\"constructed\\" inventory."}, whichever
    way the change goes. (AWX lets a blank kind through that check; the emulator refuses every change.)"""
    regular = inventory(api, awx, "kind-regular")
    smart = inventory(api, awx, "kind-smart", kind="smart", host_filter="name=node1")
    assert api.patch("inventories/%s/" % regular["id"], {"kind": "smart", "host_filter": "name=x"}) == (
        405, KIND_ERROR)
    assert api.patch("inventories/%s/" % regular["id"], {"kind": "constructed"}) == (405, KIND_ERROR)
    assert api.patch("inventories/%s/" % smart["id"], {"kind": ""}) == (405, KIND_ERROR)
    # Checked before the fields: an invalid variables value does not change the answer.
    assert api.patch("inventories/%s/" % regular["id"], {"kind": "smart", "variables": "[1"}) == (405, KIND_ERROR)
    # Naming the kind it already has is no change.
    assert api.patch("inventories/%s/" % smart["id"], {"kind": "smart", "description": "d"})[0] == 200
    assert api.get("inventories/%s/" % regular["id"])[1]["kind"] == ""


@pytest.mark.parametrize("kind, fields", [("smart", {"host_filter": "name=node1"}), ("constructed", {})])
def test_host_cannot_be_created_in_a_smart_or_constructed_inventory(api, awx, kind, fields):
    """HostSerializer.validate_inventory: a smart or constructed inventory's hosts come from other inventories,
    so a host cannot be created in one: 400 {"inventory": {"detail": "Cannot create Host for Smart or
    Constructed Inventories"}} (the ValidationError's dict is kept under the field)."""
    target = inventory(api, awx, "hosts-%s" % kind, kind=kind, **fields)
    assert api.post("hosts/", {"name": "node1", "inventory": target["id"]}) == (400, HOST_ERROR)
    regular = inventory(api, awx, "hosts-regular-%s" % kind)
    assert api.post("hosts/", {"name": "node1", "inventory": regular["id"]})[0] == 201


@pytest.fixture(scope="module")
def workflows(api, awx):
    first = api.create("workflow_job_templates/", {"name": "wf-one", "organization": awx.org["id"]})
    second = api.create("workflow_job_templates/", {"name": "wf-two", "organization": awx.org["id"]})
    return first, second


def test_workflow_node_cannot_run_its_own_workflow(api, workflows):
    """Stricter than AWX: AWX accepts a node whose unified_job_template is its own workflow and fails the spawned
    workflow job when it runs ("Workflow Job spawned from workflow could not start because it would result in
    recursion"); the emulator runs no jobs, so it refuses the node: 400 {"unified_job_template": ["A workflow
    cannot run itself."]}, on create and on update. Another workflow is a valid node."""
    first, second = workflows
    error = (400, {"unified_job_template": ["A workflow cannot run itself."]})
    assert api.post("workflow_job_template_nodes/", {"workflow_job_template": first["id"],
                                                     "unified_job_template": first["id"]}) == error
    node = api.create("workflow_job_template_nodes/", {"workflow_job_template": first["id"],
                                                       "unified_job_template": second["id"]})
    assert node["unified_job_template"] == second["id"]
    assert api.patch("workflow_job_template_nodes/%s/" % node["id"], {"unified_job_template": first["id"]}) == error


def test_workflow_node_cannot_move_to_another_workflow(api, workflows):
    """Stricter than AWX: WorkflowJobTemplateNodeSerializer makes workflow_job_template read-only once the node
    exists, so AWX ignores a new value and the node stays where it is; the emulator refuses the write, 400
    {"workflow_job_template": ["A node cannot move to another workflow."]}, so a client never believes it moved
    a node. Naming the node's own workflow is accepted."""
    first, second = workflows
    node = api.create("workflow_job_template_nodes/", {"workflow_job_template": first["id"]})
    assert api.patch("workflow_job_template_nodes/%s/" % node["id"], {"workflow_job_template": second["id"]}) == (
        400, {"workflow_job_template": ["A node cannot move to another workflow."]})
    status, body = api.patch("workflow_job_template_nodes/%s/" % node["id"],
                             {"workflow_job_template": first["id"], "identifier": "kept"})
    assert status == 200 and body["workflow_job_template"] == first["id"] and body["identifier"] == "kept"
