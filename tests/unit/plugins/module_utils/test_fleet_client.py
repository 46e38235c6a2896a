# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""FleetClient against the lab Fleet emulator: auth, error bodies, TLS, unreachable servers, pagination, retries."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime

import pytest

from fleet_lab import FleetLab, fleet_lab, start_lab  # noqa: F401 pylint: disable=unused-import

from ansible_collections.gough.gough.plugins.module_utils.fleet import (
    FleetClient,
    FleetError,
    normalize_base_url,
    parse_time,
)


def client(lab, **kwargs):
    kwargs.setdefault("ca_path", lab.ca_cert)
    kwargs.setdefault("sleep", lambda seconds: None)
    return FleetClient(lab.url, kwargs.pop("token", lab.api_token), **kwargs)


def test_reads_version_and_user_with_the_bearer_token(fleet_lab):
    with client(fleet_lab) as fleet:
        assert fleet.version()["version"]
        assert fleet.me()["api_only"] is True


def test_validation_error_names_the_field_fleet_rejected(fleet_lab):
    with client(fleet_lab) as fleet:
        with pytest.raises(FleetError) as caught:
            fleet.post("teams", body={"name": ""})
    error = caught.value
    assert error.status == 422
    assert error.field == "name"
    assert "Validation Failed" in str(error) and "name:" in str(error)
    assert error.details()["fleet_errors"][0]["name"] == "name"


def test_wrong_token_is_a_401_that_never_shows_the_token(fleet_lab):
    token = "not-the-right-token-0123456789"
    with client(fleet_lab, token=token) as fleet:
        with pytest.raises(FleetError) as caught:
            fleet.me()
    assert caught.value.status == 401
    assert "api_token" in str(caught.value)
    assert token not in str(caught.value) and token not in repr(caught.value.details())


def test_ca_that_does_not_match_says_certificate_verify_failed_and_points_at_ca_path(fleet_lab, tls_files):
    with client(fleet_lab, ca_path=tls_files.other_ca_cert) as fleet:
        with pytest.raises(FleetError) as caught:
            fleet.version()
    message = str(caught.value)
    assert "certificate verify failed" in message
    assert "check ca_path" in message and tls_files.other_ca_cert in message
    assert caught.value.status is None


def test_unreachable_fleet_names_the_url(closed_port):
    url = "https://127.0.0.1:%d" % closed_port
    with FleetClient(url, "token-123456", retries=1, sleep=lambda s: None) as fleet:
        with pytest.raises(FleetError) as caught:
            fleet.version()
    message = str(caught.value)
    assert "connection refused" in message
    assert url in message
    assert caught.value.attempts == 2


def test_missing_ca_file_is_reported_before_any_request():
    with pytest.raises(FleetError) as caught:
        FleetClient("https://fleet.example.com", "token-123456", ca_path="/nonexistent/ca.pem")
    assert "ca_path=/nonexistent/ca.pem" in str(caught.value)


def test_paginate_follows_pages_until_fleet_says_there_are_no_more(fleet_lab):
    for index in range(5):
        fleet_lab.host("page-%d" % index)
    with client(fleet_lab) as fleet:
        hosts = fleet.paginate("hosts", "hosts", per_page=2)
    assert sorted(h["hostname"] for h in hosts) == ["page-%d" % i for i in range(5)]
    assert fleet_lab.stats()["by_route"]["GET hosts"] == 3


def test_reads_are_retried_through_503s(tmp_path):
    emulator = start_lab(tmp_path, fault_503=0.5, seed=3)
    try:
        lab = FleetLab(emulator)
        with client(lab, retries=10) as fleet:
            for _attempt in range(5):
                assert fleet.version()["version"]
        assert lab.stats()["faults"]["503"] > 0
    finally:
        emulator.stop()


def test_deletes_through_connection_resets_take_effect_once(fleet_lab):
    for index in range(4):
        fleet_lab.host("gone-%d" % index)
    ids = [h["id"] for h in fleet_lab.hosts()]
    fleet_lab.emulator.configure(fault_reset=0.4)
    try:
        with client(fleet_lab, retries=12) as fleet:
            for host_id in ids:
                fleet.delete_host(host_id)
    finally:
        fleet_lab.emulator.configure(fault_reset=0.0)
    assert fleet_lab.hosts() == []
    faults = fleet_lab.stats()["faults"]
    assert faults["reset_before"] + faults["reset_after"] > 0


def test_enroll_secrets_global_and_team_are_replaced_as_a_whole(fleet_lab):
    with client(fleet_lab) as fleet:
        team = fleet.post("teams", body={"name": "web"})["team"]
        fleet.set_enroll_secrets(["global-one", "global-two"])
        fleet.set_enroll_secrets(["team-one"], team_id=team["id"])
        assert sorted(s["secret"] for s in fleet.enroll_secrets()) == ["global-one", "global-two"]
        assert [s["secret"] for s in fleet.enroll_secrets(team["id"])] == ["team-one"]
        assert fleet.team_id("web") == team["id"]
        with pytest.raises(FleetError) as caught:
            fleet.team_id("nope")
        assert caught.value.field == "team"


def test_base_url_accepts_root_and_api_base_and_refuses_credentials():
    assert normalize_base_url("https://fleet.example.com") == "https://fleet.example.com/api/v1/fleet/"
    assert normalize_base_url("https://fleet.example.com:8443/api/v1/fleet/") == \
        "https://fleet.example.com:8443/api/v1/fleet/"
    assert normalize_base_url("https://x/prefix/") == "https://x/prefix/api/v1/fleet/"
    with pytest.raises(FleetError) as caught:
        normalize_base_url("https://admin:secret@fleet.example.com")
    assert "secret" not in str(caught.value)
    with pytest.raises(FleetError):
        normalize_base_url("fleet.example.com")


def test_parse_time_reads_fleet_times_and_treats_the_zero_time_as_never():
    assert parse_time("2026-01-05T10:01:12.123456789Z") == datetime.datetime(
        2026, 1, 5, 10, 1, 12, 123456, tzinfo=datetime.timezone.utc)
    assert parse_time("2026-01-05T12:01:12+02:00") == parse_time("2026-01-05T10:01:12Z")
    assert parse_time("0001-01-01T00:00:00Z") is None
    assert parse_time("") is None
    assert parse_time("1767607272") == parse_time("2026-01-05T10:01:12Z")
    with pytest.raises(ValueError):
        parse_time("yesterday")
