# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The module framework: one bad-input error, connection options from the doc fragments, one error mapping, check
mode and diff handled the same way for MAAS and Fleet modules."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

import pytest
import yaml

from ansible.module_utils import _internal as _module_internal
from ansible.module_utils.testing import patch_module_args

from ansible_collections.gough.gough.plugins.doc_fragments import fleet as fleet_fragment
from ansible_collections.gough.gough.plugins.doc_fragments import maas as maas_fragment
from ansible_collections.gough.gough.plugins.module_utils.fleet import FleetClient, FleetError
from ansible_collections.gough.gough.plugins.module_utils.gough_module import (
    BadInput,
    GoughModule,
    check_wait,
)
from ansible_collections.gough.gough.plugins.module_utils.maas import MAASClient, MAASError
from ansible_collections.gough.gough.plugins.module_utils.polling import WaitTimeout

MAAS_KEY = "consumer:tokenkey:tokensecret-xyz"
MAAS_ARGS = {"url": "http://maas.invalid:5240/MAAS", "api_key": MAAS_KEY}
FLEET_ARGS = {"url": "https://fleet.invalid", "api_token": "fleet-token-abc"}
OWN_SPEC = {"name": {"type": "str"}}


@pytest.fixture
def run(capsys, monkeypatch):
    """``run(api, args, work, **kwargs)`` runs ``GoughModule(api, OWN_SPEC, **kwargs).run(work)`` as a module would
    and returns ``(result, module)``: the JSON it printed and the GoughModule."""
    # As in tests/unit/plugins/modules/conftest.py: a module runs on its target, so warnings stay in the result.
    monkeypatch.setattr(_module_internal, "is_controller", False)

    def run_module(api, args, work, **kwargs):
        kwargs.setdefault("supports_check_mode", True)
        with patch_module_args(args):
            module = GoughModule(api, OWN_SPEC, **kwargs)
            with pytest.raises(SystemExit):
                module.run(work)
        return json.loads(capsys.readouterr().out), module
    return run_module


def raising(exc):
    def work(module):
        raise exc
    return work


def test_bad_input_message_starts_with_the_field_and_keeps_it():
    exc = BadInput("wait_timeout", "must be a positive number of seconds, got -1.")
    assert str(exc) == "wait_timeout: must be a positive number of seconds, got -1."
    assert exc.field == "wait_timeout" and exc.message == "must be a positive number of seconds, got -1."
    assert isinstance(exc, ValueError)


@pytest.mark.parametrize("params, message", [
    ({"wait_timeout": -1, "poll_interval": 5}, "wait_timeout: must be a positive number of seconds, got -1."),
    ({"wait_timeout": 0, "poll_interval": 5}, "wait_timeout: must be a positive number of seconds, got 0."),
    ({"wait_timeout": 60, "poll_interval": 0.0}, "poll_interval: must be a positive number of seconds, got 0."),
    ({"wait_timeout": 10, "poll_interval": 30.0},
     "poll_interval: must not be longer than wait_timeout (30 > 10 seconds)."),
])
def test_wait_options_fail_naming_the_option_with_one_message(params, message):
    with pytest.raises(BadInput) as caught:
        check_wait(params)
    assert str(caught.value) == message
    assert caught.value.field == message.split(":")[0]


def test_wait_check_accepts_sane_values_unset_options_and_zero_timeout_when_allowed():
    check_wait({"wait_timeout": 1800, "poll_interval": 5.0})
    check_wait({"wait_timeout": None, "poll_interval": None})
    check_wait({"wait_timeout": 0, "poll_interval": 5.0}, zero_timeout=True)
    check_wait({"timeout": 10, "every": 2}, timeout="timeout", interval="every")
    with pytest.raises(BadInput, match=r"^wait_timeout: must be 0 or more seconds, got -1\.$"):
        check_wait({"wait_timeout": -1, "poll_interval": 5.0}, zero_timeout=True)


@pytest.mark.parametrize("api, fragment", [("maas", maas_fragment), ("fleet", fleet_fragment)])
def test_connection_options_are_the_doc_fragment_options_merged_with_the_module_own(run, api, fragment):
    args = dict(MAAS_ARGS if api == "maas" else FLEET_ARGS, name="x")
    result, module = run(api, args, lambda m: {"changed": False})
    documented = yaml.safe_load(fragment.ModuleDocFragment.DOCUMENTATION)["options"]
    spec = module.ansible.argument_spec
    assert set(spec) == set(documented) | {"name"}
    for option, doc in documented.items():
        assert spec[option]["type"] == doc["type"], option
        assert spec[option].get("default") == doc.get("default"), option
        assert bool(spec[option].get("required")) == bool(doc.get("required")), option
    assert module.params["name"] == "x" and module.params["retries"] == 5
    assert "failed" not in result and result["changed"] is False


@pytest.mark.parametrize("api, client_class", [("maas", MAASClient), ("fleet", FleetClient)])
def test_client_is_built_from_the_connection_options_and_handed_to_work(run, api, client_class):
    seen = []

    def work(module):
        seen.append(module.client)
        return {"changed": False}
    run(api, MAAS_ARGS if api == "maas" else FLEET_ARGS, work)
    assert isinstance(seen[0], client_class)


def test_bad_input_fails_with_the_message_and_the_field(run):
    result, _module = run("maas", MAAS_ARGS, raising(BadInput("name", "must not be empty.")))
    assert result["failed"] is True
    assert result["msg"] == "name: must not be empty." and result["field"] == "name"


def test_maas_error_fails_with_its_message_and_http_details(run):
    error = MAASError("MAAS refused the tag: name: already exists", status=400, method="POST",
                      url="http://maas.invalid:5240/MAAS/api/2.0/tags/", field_errors={"name": ["already exists"]})
    result, _module = run("maas", MAAS_ARGS, raising(error))
    assert result["failed"] is True and result["msg"] == str(error)
    assert (result["status"], result["method"]) == (400, "POST")
    assert result["field_errors"] == {"name": ["already exists"]}


def test_fleet_error_fails_naming_the_field_fleet_rejected(run):
    error = FleetError("Fleet refused the team: name: already exists", status=422, method="POST",
                       url="https://fleet.invalid/api/v1/fleet/teams",
                       errors=[{"name": "base", "reason": "bad"}, {"name": "name", "reason": "already exists"}])
    result, _module = run("fleet", FLEET_ARGS, raising(error))
    assert result["failed"] is True and result["msg"] == str(error)
    assert result["field"] == "name" and result["status"] == 422 and len(result["fleet_errors"]) == 2


def test_wait_timeout_fails_with_its_message_the_time_waited_and_the_last_state(run):
    result, _module = run("maas", MAAS_ARGS, raising(WaitTimeout("still Commissioning after 30 seconds",
                                                                 last={"status_name": "Commissioning"},
                                                                 elapsed=30.04)))
    assert result["failed"] is True and result["msg"] == "still Commissioning after 30 seconds"
    assert result["waited"] == 30.0 and result["last"] == {"status_name": "Commissioning"}


def test_other_exceptions_are_bugs_and_propagate(capsys, monkeypatch):
    monkeypatch.setattr(_module_internal, "is_controller", False)
    with patch_module_args(MAAS_ARGS):
        module = GoughModule("maas", OWN_SPEC, supports_check_mode=True)
        with pytest.raises(KeyError):
            module.run(raising(KeyError("oops")))


@pytest.mark.parametrize("args, field", [
    (dict(MAAS_ARGS, api_key="only:two"), "api_key"),
    (dict(MAAS_ARGS, url="maas.invalid:5240"), "url"),
    (dict(MAAS_ARGS, timeout=0), "timeout"),
    (dict(MAAS_ARGS, retries=-1), "retries"),
])
def test_bad_connection_options_fail_before_work_naming_the_option_without_the_key(run, args, field):
    called = []
    result, _module = run("maas", args, lambda m: called.append(1) or {"changed": True})
    assert result["failed"] is True and result["field"] == field and result["msg"].startswith(field + ": ")
    assert called == []
    assert "tokensecret" not in result["msg"]


def test_bad_fleet_url_fails_naming_url(run):
    result, _module = run("fleet", dict(FLEET_ARGS, url="fleet.invalid"), lambda m: {"changed": True})
    assert result["failed"] is True and result["field"] == "url"


def test_check_mode_flag_follows_the_task(run):
    seen = []

    def work(module):
        seen.append(module.check_mode)
        return {"changed": True}
    run("maas", dict(MAAS_ARGS, _ansible_check_mode=True), work)
    run("maas", MAAS_ARGS, work)
    assert seen == [True, False]


def test_diff_is_added_from_before_and_after_in_diff_mode_only(run):
    def work(module):
        return {"changed": True, "before": {"name": "a"}, "after": {"name": "b"}}
    with_diff, module = run("maas", dict(MAAS_ARGS, _ansible_diff=True), work)
    assert module.diff_mode is True
    assert with_diff["diff"] == {"before": {"name": "a"}, "after": {"name": "b"}}
    without, module = run("maas", MAAS_ARGS, work)
    assert module.diff_mode is False and "diff" not in without
    assert without["before"] == {"name": "a"} and without["changed"] is True


def test_a_diff_the_work_returns_is_kept_in_diff_mode_and_left_out_otherwise(run):
    def work(module):
        return {"changed": True, "diff": {"before": {"x": 1}, "after": {"x": 2}}}
    with_diff = run("fleet", dict(FLEET_ARGS, _ansible_diff=True), work)[0]
    assert with_diff["diff"] == {"before": {"x": 1}, "after": {"x": 2}}
    assert "diff" not in run("fleet", FLEET_ARGS, work)[0]


def test_changed_defaults_to_false(run):
    assert run("maas", MAAS_ARGS, lambda m: {"found": 1})[0]["changed"] is False


def test_unknown_api_is_a_programming_error():
    with pytest.raises(ValueError, match="api must be one of maas, fleet"):
        GoughModule("awx", OWN_SPEC)
