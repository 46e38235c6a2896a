"""Fault injection (seeded, counted), persistence across restart and kill -9, timers, and the 10,000-machine list."""

import http.client
import time

import pytest

from conftest import FAST, MAASClient
from gough_lab.testing import start_maas_emulator


def test_503_502_429_are_answered_without_processing(lab, admin):
    lab.reset_stats()
    for setting, status in (("fault_503", 503), ("fault_502", 502), ("fault_429", 429)):
        lab.configure(**{setting: 1.0})
        response = admin.post("tags/", {"name": "t%d" % status})
        assert response.status == status
        if status == 429:
            assert response.headers["Retry-After"] == "1"
        lab.configure(**{setting: 0.0})
    stats = lab.stats()
    assert stats["faults"]["503"] == 1 and stats["faults"]["502"] == 1 and stats["faults"]["429"] == 1
    assert stats["requests_total"] == 0 and stats["writes"] == 0
    assert admin.get("tags/").json() == []


def test_lab_endpoints_are_never_faulted(lab):
    lab.configure(fault_503=1.0, fault_reset=0.0)
    assert lab.stats()["faults"]["503"] == 0
    assert lab.config()["fault_503"] == 1.0


def test_connection_resets_before_or_after_processing_act_exactly_once(lab, admin):
    lab.configure(fault_reset=1.0)
    lab.reset_stats()
    attempts = 12
    for number in range(attempts):
        with pytest.raises((ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine)):
            admin.post("machines/", {"architecture": "amd64", "mac_addresses": "52:54:00:30:00:%02x" % number,
                                     "power_type": "manual", "hostname": "reset-%d" % number, "commission": "false"})
    lab.configure(fault_reset=0.0)
    stats = lab.stats()
    before, after = stats["faults"]["reset_before"], stats["faults"]["reset_after"]
    assert before + after == attempts and before > 0 and after > 0
    assert stats["requests_total"] == after and stats["writes"] == after
    created = [m for m in admin.get("machines/").json() if m["hostname"].startswith("reset-")]
    assert len(created) == after
    assert all(stats["machine_ops"][m["system_id"]] == {"create": 1} for m in created)


def test_slow_responses_are_delayed_but_processed(lab, admin):
    lab.configure(fault_slow=1.0, slow_seconds=0.3)
    started = time.monotonic()
    assert admin.get("users/", {"op": "whoami"}).status == 200
    assert time.monotonic() - started >= 0.3
    assert lab.stats()["faults"]["slow"] >= 1


def test_fault_sequence_is_reproducible_with_the_same_seed(tmp_path):
    sequences = []
    for run in range(2):
        with start_maas_emulator(tmp_path / ("run%d" % run), seed=42, extra_args=("--fault-503", "0.5")) as emulator:
            client = MAASClient(emulator, emulator.api_key)
            sequences.append([client.get("users/", {"op": "whoami"}).status for _count in range(24)])
    assert sequences[0] == sequences[1] and set(sequences[0]) == {200, 503}


def test_state_survives_restart(lab, admin):
    admin.post("tags/", {"name": "keep"})
    admin.post("zones/", {"name": "keep-zone"})
    sid = admin.get("machines/").json()[0]["system_id"]
    admin.op("tags/keep/", "update_nodes", {"add": sid})
    admin.op("machines/", "allocate", {"system_id": sid})
    before = admin.machine(sid)
    lab.restart()
    client = MAASClient(lab, lab.api_key)
    after = client.machine(sid)
    assert after["status_name"] == "Allocated" and after["tag_names"] == ["keep"] and after["owner"] == "admin"
    assert after["interface_set"] == before["interface_set"]
    assert len(client.get("machines/").json()) == 8
    assert "keep-zone" in [z["name"] for z in client.get("zones/").json()]


def test_seeding_happens_only_on_an_empty_state_dir(lab):
    lab.stop()
    lab.restart()
    assert len(MAASClient(lab, lab.api_key).get("machines/").json()) == 8


def test_kill_9_mid_deploy_completes_after_restart(lab, admin):
    lab.configure(deploy_seconds=2.0)
    sid = admin.get("machines/").json()[0]["system_id"]
    assert admin.op("machines/%s/" % sid, "deploy", {"distro_series": "jammy"}).json()["status_name"] == "Deploying"
    lab.kill()
    lab.restart()
    client = MAASClient(lab, lab.api_key)
    assert client.machine(sid)["status_name"] in ("Deploying", "Deployed")
    assert client.wait_status(sid, {"Deployed"}, timeout=10)["owner"] == "admin"


def test_overdue_deploy_completes_at_once_after_restart(lab, admin):
    lab.configure(deploy_seconds=0.5)
    sid = admin.get("machines/").json()[1]["system_id"]
    admin.op("machines/%s/" % sid, "deploy", {"distro_series": "jammy"})
    lab.kill()
    time.sleep(0.8)
    lab.restart()
    assert MAASClient(lab, lab.api_key).wait_status(sid, {"Deployed"}, timeout=1.0)


def test_timers_fire_without_requests(lab, admin):
    sid = admin.get("machines/").json()[0]["system_id"]
    lab.configure(deploy_seconds=0.3)
    admin.op("machines/%s/" % sid, "deploy", {"distro_series": "jammy"})
    time.sleep(0.8)
    lab.reset_stats()
    events = admin.get("events/", {"op": "query", "id": sid}).json()["events"]
    assert events[0]["type"] == "Deployed"


def test_zero_second_timings_complete_immediately(tmp_path):
    args = ("--commission-seconds", "0", "--deploy-seconds", "0", "--release-seconds", "0", "--erase-seconds", "0")
    with start_maas_emulator(tmp_path / "zero", machines=1, extra_args=args) as emulator:
        client = MAASClient(emulator, emulator.api_key)
        sid = client.get("machines/").json()[0]["system_id"]
        client.op("machines/%s/" % sid, "deploy", {"distro_series": "jammy"})
        assert client.wait_status(sid, {"Deployed"}, timeout=1.0)


def test_ten_thousand_machines_list_fast_and_big(tmp_path):
    started = time.monotonic()
    with start_maas_emulator(tmp_path / "scale", machines=10000, seed=9, extra_args=FAST, timeout=120) as emulator:
        startup = time.monotonic() - started
        client = MAASClient(emulator, emulator.api_key)
        started = time.monotonic()
        response = client.get("machines/")
        first = time.monotonic() - started
        started = time.monotonic()
        again = client.get("machines/")
        second = time.monotonic() - started
        assert response.status == 200 and again.status == 200
        size_mb = len(response.body) / 1e6
        print("\n10k machines: start+seed %.1f s, first list %.2f s, second list %.2f s, %.1f MB (%.1f KB/machine)"
              % (startup, first, second, size_mb, len(response.body) / 10000 / 1e3))
        assert first < 30 and second < 30
        assert size_mb > 40
        assert response.body.count(b'"system_id":') >= 10000
        filtered = client.get("machines/", {"hostname": "node-09999"}).json()
        assert [m["hostname"] for m in filtered] == ["node-09999"]


def test_state_dir_and_database_are_private_because_they_hold_api_tokens(lab, admin):
    import os
    import stat

    admin.post("tags/", {"name": "written"})  # make sure the WAL exists
    assert stat.S_IMODE(os.stat(lab.state_dir).st_mode) == 0o700
    secret_holders = [name for name in os.listdir(lab.state_dir) if name.startswith(("api_key", "maas.sqlite3"))]
    assert {"api_key", "api_key.user", "maas.sqlite3", "maas.sqlite3-wal"} <= set(secret_holders)
    for name in secret_holders:
        mode = stat.S_IMODE(os.stat(os.path.join(lab.state_dir, name)).st_mode)
        assert mode & 0o077 == 0, "%s is readable by others (mode %o)" % (name, mode)
