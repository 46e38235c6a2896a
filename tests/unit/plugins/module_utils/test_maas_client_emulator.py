# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""MAASClient against the lab MAAS emulator, with injected faults, checked through the emulator's counters.

The emulator counts every non-GET request that reached request handling per machine and op
(``stats()["machine_ops"]``), including requests whose response it then dropped. So "exactly one per machine
and op" proves that no retry ever repeated a state change.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from ansible_collections.gough.gough.plugins.module_utils.maas import MAASClient, MAASError, status_in

pytestmark = pytest.mark.timeout(300)

MACHINES = 50
WORKERS = 10


def fast_client(emulator, **kwargs):
    kwargs.setdefault("backoff_base", 0.02)
    kwargs.setdefault("backoff_cap", 0.2)
    kwargs.setdefault("retry_after_cap", 0.2)
    kwargs.setdefault("retries", 10)
    return MAASClient(emulator.url, emulator.api_key, **kwargs)


class CountingPredicate(object):
    """Wraps a ``took_effect`` predicate and counts the state checks (proof that retries happened)."""

    def __init__(self, predicate):
        self.predicate = predicate
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, machine):
        with self.lock:
            self.calls += 1
        return self.predicate(machine)


def run_everywhere(client, system_ids, op, predicate, data=None):
    """Run ``op`` on every machine from WORKERS threads; return {system_id: returned machine}."""
    def one(system_id):
        return system_id, client.machine_op(system_id, op, data, took_effect=predicate)
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return dict(pool.map(one, system_ids))


def test_ops_on_fifty_machines_under_faults_happen_exactly_once_each(lab_maas_factory):
    emulator = lab_maas_factory(machines=MACHINES, seed=7)
    # Deploy and release complete at once; commissioning stays visible for the whole test, so every
    # predicate below tells "took effect" from "never happened" unambiguously.
    emulator.configure(deploy_seconds=0, release_seconds=0, commission_seconds=600)
    client = fast_client(emulator)
    machines = client.get("machines/")
    system_ids = sorted(m["system_id"] for m in machines)
    assert len(system_ids) == MACHINES and all(m["status_name"] == "Ready" for m in machines)
    emulator.reset_stats()
    emulator.configure(fault_503=0.1, fault_reset=0.05)

    deployed = CountingPredicate(status_in("Deploying", "Deployed", "Failed deployment"))
    results = run_everywhere(client, system_ids, "deploy", deployed, {"distro_series": "jammy"})
    assert all(results[s]["status_name"] in ("Deploying", "Deployed") for s in system_ids)

    # Ready counts as released only because every machine was Deploying or Deployed before.
    released = CountingPredicate(status_in("Releasing", "Ready"))
    results = run_everywhere(client, system_ids, "release", released)
    assert all(results[s]["status_name"] in ("Releasing", "Ready") for s in system_ids)

    commissioning = CountingPredicate(status_in("Commissioning"))
    results = run_everywhere(client, system_ids, "commission", commissioning, {"skip_bmc_config": True})
    assert all(results[s]["status_name"] == "Commissioning" for s in system_ids)

    emulator.configure(fault_503=0, fault_reset=0)
    stats = emulator.stats()
    expected = {"deploy": 1, "release": 1, "commission": 1}
    assert {s: stats["machine_ops"].get(s) for s in system_ids} == {s: expected for s in system_ids}
    assert stats["writes"] == 3 * MACHINES
    # The faults really fired, including responses dropped after MAAS acted, and retries went through checks.
    faults = stats["faults"]
    assert faults["503"] > 0 and faults["reset_before"] > 0 and faults["reset_after"] > 0
    assert deployed.calls + released.calls + commissioning.calls > 0
    # Every op took effect: MAAS agrees, read without faults.
    final = client.get("machines/", params={"id": system_ids})
    assert sorted((m["system_id"], m["status_name"]) for m in final) == [(s, "Commissioning") for s in system_ids]


def test_deploys_whose_responses_are_often_dropped_are_confirmed_not_repeated(lab_maas_factory):
    emulator = lab_maas_factory(machines=MACHINES, seed=11)
    emulator.configure(deploy_seconds=0)
    client = fast_client(emulator, retries=15)
    system_ids = [m["system_id"] for m in client.get("machines/")]
    emulator.reset_stats()
    emulator.configure(fault_reset=0.3)
    results = run_everywhere(client, system_ids, "deploy", status_in("Deploying", "Deployed"),
                             {"distro_series": "jammy"})
    emulator.configure(fault_reset=0)
    stats = emulator.stats()
    assert stats["faults"]["reset_after"] >= 5
    assert {s: stats["machine_ops"].get(s) for s in system_ids} == {s: {"deploy": 1} for s in system_ids}
    assert sorted(results) == sorted(system_ids)
    assert all(m["status_name"] == "Deployed" for m in client.get("machines/"))


def test_reads_ride_through_every_transient_fault(lab_maas_factory):
    emulator = lab_maas_factory(machines=5, seed=3)
    client = fast_client(emulator)
    emulator.configure(fault_503=0.15, fault_502=0.15, fault_429=0.1, fault_reset=0.1)
    for dummy in range(40):
        assert len(client.get("machines/")) == 5
    emulator.configure(fault_503=0, fault_502=0, fault_429=0, fault_reset=0)
    faults = emulator.stats()["faults"]
    assert faults["503"] > 0 and faults["502"] > 0 and faults["429"] > 0


def test_state_change_without_a_check_is_not_repeated_after_a_dropped_response(lab_maas_factory):
    emulator = lab_maas_factory(machines=20, seed=5)
    emulator.configure(deploy_seconds=600)
    client = fast_client(emulator)
    system_ids = [m["system_id"] for m in client.get("machines/")]
    emulator.reset_stats()
    emulator.configure(fault_reset=1.0)
    outcomes = []
    for system_id in system_ids:
        try:
            client.machine_op(system_id, "deploy", {"distro_series": "jammy"})
            outcomes.append("ok")
        except MAASError as exc:
            assert exc.status is None and "not retried" in str(exc)
            outcomes.append("raised")
    emulator.configure(fault_reset=0)
    assert outcomes == ["raised"] * len(system_ids)
    stats = emulator.stats()
    # Each machine saw the deploy at most once (reset before processing: zero; after: one).
    assert all(ops.get("deploy", 0) <= 1 for ops in stats["machine_ops"].values())
    assert len(stats["machine_ops"]) == stats["faults"]["reset_after"]


def test_admin_and_user_keys_identify_their_users(lab_maas_factory):
    emulator = lab_maas_factory()
    assert MAASClient(emulator.url, emulator.api_key).whoami()["is_superuser"] is True
    assert MAASClient(emulator.url, emulator.user_api_key).whoami()["is_superuser"] is False


def test_api_base_url_is_accepted_as_well_as_the_root(lab_maas_factory):
    emulator = lab_maas_factory()
    assert MAASClient(emulator.api_url, emulator.api_key).version()["version"]


def test_wrong_key_is_one_clear_401_without_the_key(lab_maas_factory):
    emulator = lab_maas_factory()
    consumer, token, secret = emulator.api_key.split(":")
    wrong = "%s:%s:%s" % (consumer[::-1], token[::-1], secret[::-1])
    with pytest.raises(MAASError) as info:
        MAASClient(emulator.url, wrong).whoami()
    assert str(info.value) == ("MAAS rejected the API key (HTTP 401) at %s/api/2.0/users/?op=whoami: "
                               "Authorization Error: Invalid API key." % emulator.url)
    for part in wrong.split(":"):
        assert part not in str(info.value) + repr(info.value)


def test_wrong_secret_is_rejected_with_maas_wording(lab_maas_factory):
    emulator = lab_maas_factory()
    consumer, token, secret = emulator.api_key.split(":")
    with pytest.raises(MAASError) as info:
        MAASClient(emulator.url, "%s:%s:%s" % (consumer, token, secret[::-1])).whoami()
    assert info.value.status == 401 and secret[::-1] not in str(info.value)


def test_malformed_key_fails_before_any_request(lab_maas_factory):
    emulator = lab_maas_factory()
    emulator.reset_stats()
    with pytest.raises(MAASError) as info:
        MAASClient(emulator.url, emulator.api_key.replace(":", "", 1))
    assert "consumer_key:token_key:token_secret" in str(info.value)
    assert emulator.api_key.split(":")[2] not in str(info.value)
    assert emulator.stats()["requests_total"] == 0


def test_unreachable_port_is_one_clear_connection_error(closed_port):
    with pytest.raises(MAASError) as info:
        MAASClient("http://127.0.0.1:%d/MAAS" % closed_port, "ck:tk:secretvalue1", retries=2,
                   backoff_base=0.01).whoami()
    assert info.value.status is None
    assert str(info.value) == ("Cannot connect to MAAS for GET http://127.0.0.1:%d/MAAS/api/2.0/users/?op=whoami: "
                               "connection refused (3 attempts)." % closed_port)


@pytest.fixture
def tls_emulator(lab_maas_factory, tls_files):
    return lab_maas_factory(extra_args=("--tls-cert", tls_files.server_cert, "--tls-key", tls_files.server_key))


def test_tls_emulator_is_refused_without_its_ca(tls_emulator):
    assert tls_emulator.url.startswith("https://127.0.0.1:")
    with pytest.raises(MAASError) as info:
        MAASClient(tls_emulator.url, tls_emulator.api_key).whoami()
    assert info.value.status is None and info.value.attempts == 1
    assert "certificate verification failed" in str(info.value) and "ca_path" in str(info.value)


def test_tls_emulator_is_trusted_with_ca_path(tls_emulator, tls_files):
    client = MAASClient(tls_emulator.url, tls_emulator.api_key, ca_path=tls_files.ca_cert)
    assert client.whoami()["username"] == "admin"


def test_tls_emulator_with_validation_off_needs_no_ca(tls_emulator):
    client = MAASClient(tls_emulator.url, tls_emulator.api_key, validate_certs=False)
    assert client.whoami()["username"] == "admin"
