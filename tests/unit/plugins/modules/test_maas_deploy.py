# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""maas_deploy run in-process against the lab MAAS emulator: batch deploys and releases, idempotency, failures,
on_failure, timeouts, check mode, allocation races, the fault run, and the shape of the result."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import threading
import time

import pytest

from ansible_collections.gough.gough.plugins.module_utils import maas_deployment, maas_query
from ansible_collections.gough.gough.plugins.module_utils.maas import MAASClient
from ansible_collections.gough.gough.plugins.modules import maas_deploy

FAST = {"poll_interval": 0.2, "poll_backoff": 1.0}


def args(lab, **options):
    options.setdefault("url", lab.url)
    options.setdefault("api_key", lab.api_key)
    for key, value in FAST.items():
        options.setdefault(key, value)
    return options


def machines_of(lab, **params):
    with MAASClient(lab.url, lab.api_key) as client:
        return client.get("machines/", params=params)


def ops_per_machine(lab, op):
    return dict((sid, ops.get(op, 0)) for sid, ops in lab.stats()["machine_ops"].items() if ops.get(op))


def list_calls(lab):
    return lab.stats()["by_op"].get("GET machines/ read", 0)


@pytest.fixture
def lab(lab_maas_factory):
    """Eight Ready machines that deploy in 1 s; counters zeroed."""
    emulator = lab_maas_factory(machines=8, extra_args=["--deploy-seconds", "1", "--release-seconds", "0.5",
                                                        "--erase-seconds", "0.5"])
    machines = machines_of(emulator)
    emulator.sids = [m["system_id"] for m in machines]
    emulator.hostnames = [m["hostname"] for m in machines]
    emulator.reset_stats()
    return emulator


@pytest.fixture
def fail_some_deploys(monkeypatch):
    """``fail_some_deploys(lab, should_fail)``: each deploy op fails in MAAS when ``should_fail(system_id)`` is true
    (the emulator's fail_deploy rate is set to 1 or 0 just before that machine's deploy; run with concurrency 1)."""
    original = MAASClient.machine_op
    lock = threading.Lock()

    def install(lab, should_fail):
        def machine_op(self, system_id, op, data=None, **kwargs):
            if op != "deploy":
                return original(self, system_id, op, data=data, **kwargs)
            with lock:
                lab.configure(fail_deploy=1.0 if should_fail(system_id) else 0.0)
                return original(self, system_id, op, data=data, **kwargs)
        monkeypatch.setattr(MAASClient, "machine_op", machine_op)
    return install


def test_deploys_named_machines_by_hostname_and_system_id_with_one_deploy_each(
        lab, run_module, return_doc_problems):
    names = lab.hostnames[:3] + lab.sids[3:5]
    result = run_module(maas_deploy, args(lab, machines=names, distro_series="22.04",
                                          user_data="#cloud-config\nsecret_marker: 42\n"))
    assert "failed" not in result, result.get("msg")
    assert result["changed"] is True
    assert sorted(result["system_ids"]) == sorted(lab.sids[:5])
    assert [m["status"] for m in result["machines"]] == ["Deployed"] * 5
    assert all(m["ip_addresses"] and m["seconds"] > 0 and m["fqdn"] for m in result["machines"])
    assert result["failed_machines"] == []
    assert ops_per_machine(lab, "deploy") == dict((sid, 1) for sid in lab.sids[:5])
    assert "secret_marker" not in repr(result)
    assert return_doc_problems(maas_deploy, result) == []
    deployed = machines_of(lab, id=lab.sids[:5])
    assert set(m["distro_series"] for m in deployed) == {"jammy"}


def test_machine_user_data_goes_to_its_machine_in_the_same_batch(lab, run_module, monkeypatch):
    sent = {}
    original = MAASClient.machine_op

    def machine_op(self, system_id, op, data=None, **kwargs):
        if op == "deploy":
            sent[system_id] = base64.b64decode(data["user_data"]).decode()
        return original(self, system_id, op, data=data, **kwargs)
    monkeypatch.setattr(MAASClient, "machine_op", machine_op)
    names = [lab.hostnames[0], lab.sids[1], lab.hostnames[2]]
    result = run_module(maas_deploy, args(lab, machines=names, user_data="#cloud-config\nshared: 1\n",
                                          machine_user_data={lab.sids[1]: "#cloud-config\nown: 2\n",
                                                             lab.hostnames[2]: "#cloud-config\nown: 3\n"}))
    assert result["changed"] is True and "own: 2" not in repr(result)
    assert sent == {lab.sids[0]: "#cloud-config\nshared: 1\n", lab.sids[1]: "#cloud-config\nown: 2\n",
                    lab.sids[2]: "#cloud-config\nown: 3\n"}


def test_polls_with_one_list_call_per_interval_not_per_machine(lab, run_module):
    lab.configure(deploy_seconds=2)
    result = run_module(maas_deploy, args(lab, machines=lab.sids, poll_interval=0.5))
    assert "failed" not in result, result.get("msg")
    # 2 s of deploying at 0.5 s intervals is about 4 polls (+1 to resolve names), whatever the number of machines.
    assert 3 <= list_calls(lab) <= 7
    assert list_calls(lab) < len(lab.sids)


def test_poll_interval_backs_off_to_its_cap(lab):
    sleeps = []
    with MAASClient(lab.url, lab.api_key) as client:
        now = [0.0]

        def sleep(seconds):
            sleeps.append(seconds)
            now[0] += seconds
        maas_query.poll_until_settled(client, lab.sids[:2], lambda m: False, timeout=20, interval=1, backoff=2,
                                      max_interval=5, sleep=sleep, clock=lambda: now[0])
    assert sleeps[:5] == [1, 2, 4, 5, 5]
    assert sum(sleeps) == pytest.approx(20)


def test_list_calls_are_chunked_only_when_the_url_would_be_too_long():
    ids = ["%06d" % n for n in range(2000)]
    chunks = maas_query.chunk_values("id", ids, max_query_chars=7000)
    assert len(chunks) == 3 and sum(len(c) for c in chunks) == 2000
    assert maas_query.chunk_values("id", ids[:100]) == [ids[:100]]


def test_deploy_by_count_allocates_the_set_and_a_rerun_allocates_nothing(lab, run_module):
    first = run_module(maas_deploy, args(lab, count=3, agent_name="web", distro_series="jammy"))
    assert "failed" not in first, first.get("msg")
    assert first["changed"] is True and len(first["system_ids"]) == 3
    assert sum(ops_per_machine(lab, "allocate").values()) == 3
    members = machines_of(lab, agent_name="web")
    assert sorted(m["system_id"] for m in members) == sorted(first["system_ids"])
    assert all(m["status_name"] == "Deployed" for m in members)

    lab.reset_stats()
    again = run_module(maas_deploy, args(lab, count=3, agent_name="web", distro_series="jammy"))
    assert again["changed"] is False
    assert sorted(again["system_ids"]) == sorted(first["system_ids"])
    assert lab.stats()["writes"] == 0

    grown = run_module(maas_deploy, args(lab, count=5, agent_name="web"))
    assert grown["changed"] is True and len(grown["system_ids"]) == 5
    assert sum(ops_per_machine(lab, "allocate").values()) == 2


def test_release_with_erase_waits_for_ready_and_empties_the_set(lab, run_module):
    run_module(maas_deploy, args(lab, count=2, agent_name="db"))
    lab.reset_stats()
    result = run_module(maas_deploy, args(lab, state="released", agent_name="db", erase=True, quick_erase=True))
    assert "failed" not in result, result.get("msg")
    assert result["changed"] is True
    assert [m["status"] for m in result["machines"]] == ["Ready", "Ready"]
    assert sum(ops_per_machine(lab, "release").values()) == 2
    assert machines_of(lab, agent_name="db") == []
    again = run_module(maas_deploy, args(lab, state="released", machines=result["system_ids"]))
    assert again["changed"] is False and again["failed_machines"] == []


def test_already_deployed_machines_are_left_alone(lab, run_module):
    run_module(maas_deploy, args(lab, machines=lab.sids[:2], distro_series="jammy"))
    lab.reset_stats()
    result = run_module(maas_deploy, args(lab, machines=lab.sids[:2], distro_series="ubuntu/jammy"))
    assert result["changed"] is False
    assert [m["action"] for m in result["machines"]] == ["none", "none"]
    assert lab.stats()["writes"] == 0

    other = run_module(maas_deploy, args(lab, machines=lab.sids[:2], distro_series="noble"))
    assert other["failed"] is True and lab.stats()["writes"] == 0
    assert "already Deployed with jammy, not noble" in other["msg"]


def test_one_failing_machine_does_not_stop_the_others(lab, run_module, fail_some_deploys):
    bad = set(lab.sids[1:3])
    fail_some_deploys(lab, lambda sid: sid in bad)
    result = run_module(maas_deploy, args(lab, machines=lab.sids[:5], concurrency=1))
    assert result["failed"] is True
    by_sid = dict((m["system_id"], m) for m in result["machines"])
    assert sorted(result["failed_machines"]) == sorted(by_sid[sid]["hostname"] for sid in bad)
    for sid in bad:
        machine = by_sid[sid]
        assert machine["status"] == "Failed deployment" and machine["failed"] is True
        assert machine["status_message"].startswith("Failed deployment")
        assert machine["events"] and machine["events"][0]["type"] == "Failed deployment"
        assert machine["events"][0]["level"] == "ERROR"
        assert machine["hostname"] in result["msg"]
    assert all(by_sid[sid]["status"] == "Deployed" and not by_sid[sid]["events"]
               for sid in lab.sids[:5] if sid not in bad)
    # Events were fetched for the failed machines only.
    assert lab.stats()["by_op"].get("GET events/ query") == len(bad)


def test_on_failure_release_releases_the_failed_machines(lab, run_module, fail_some_deploys):
    bad = {lab.sids[0]}
    fail_some_deploys(lab, lambda sid: sid in bad)
    result = run_module(maas_deploy, args(lab, machines=lab.sids[:3], concurrency=1, on_failure="release"))
    assert result["failed"] is True and result["failed_machines"] == [lab.hostnames[0]]
    failed = result["machines"][0]
    assert failed["action"] == "released" and failed["events"]
    assert machines_of(lab, id=[lab.sids[0]])[0]["status_name"] in ("Releasing", "Ready")
    assert ops_per_machine(lab, "release") == {lab.sids[0]: 1}


def test_on_failure_release_of_an_earlier_failure_reports_the_change_and_check_mode_predicts_it(
        lab, run_module, fail_some_deploys):
    bad = lab.sids[0]
    fail_some_deploys(lab, lambda sid: sid == bad)
    first = run_module(maas_deploy, args(lab, machines=[bad]))
    assert first["failed"] is True and first["machines"][0]["status"] == "Failed deployment"
    lab.reset_stats()
    options = args(lab, machines=[bad], on_failure="release")
    predicted = run_module(maas_deploy, dict(options, _ansible_check_mode=True))
    assert predicted["changed"] is True
    assert lab.stats()["writes"] == 0
    released = run_module(maas_deploy, options)
    assert ops_per_machine(lab, "release") == {bad: 1}
    assert released["changed"] is True and released["machines"][0]["action"] == "released"


def test_on_failure_replace_deploys_another_matching_machine(lab, run_module, fail_some_deploys):
    failures = []

    def first_deploy_fails(sid):
        if not failures:
            failures.append(sid)
            return True
        return False
    fail_some_deploys(lab, first_deploy_fails)
    result = run_module(maas_deploy, args(lab, count=3, agent_name="rep", concurrency=1, on_failure="replace"))
    assert "failed" not in result, result.get("msg")
    assert len(result["system_ids"]) == 3 and failures[0] not in result["system_ids"]
    statuses = dict((m["system_id"], m) for m in result["machines"])
    assert statuses[failures[0]]["action"] == "released" and "replaced by" in statuses[failures[0]]["msg"]
    assert all(statuses[sid]["status"] == "Deployed" for sid in result["system_ids"])
    assert [m["action"] for m in result["machines"]].count("replacement") == 1
    replacement = next(m["system_id"] for m in result["machines"] if m["action"] == "replacement")
    assert statuses[failures[0]]["replaced_by"] == replacement
    assert [m["system_id"] for m in result["machines"] if m["replaced_by"]] == [failures[0]]
    assert sorted(m["system_id"] for m in machines_of(lab, agent_name="rep", status="deployed")) == \
        sorted(result["system_ids"])


def test_wait_is_bounded_by_wait_timeout(lab, run_module):
    lab.configure(deploy_seconds=60)
    began = time.monotonic()
    result = run_module(maas_deploy, args(lab, machines=lab.sids[:2], wait_timeout=2))
    assert time.monotonic() - began < 6
    assert result["failed"] is True
    assert all(m["status"] == "Deploying" and "still Deploying after wait_timeout=2s" in m["msg"]
               for m in result["machines"])


def test_wait_false_returns_after_firing(lab, run_module):
    lab.configure(deploy_seconds=60)
    result = run_module(maas_deploy, args(lab, machines=lab.sids[:2], wait=False))
    assert "failed" not in result and result["changed"] is True
    assert [m["status"] for m in result["machines"]] == ["Deploying", "Deploying"]


@pytest.mark.parametrize("options", [
    {"machines": ["#0", "#1"]},
    {"count": 3, "agent_name": "cm"},
    {"state": "released", "machines": ["#5"]},
])
def test_check_mode_makes_no_state_changing_request(lab, run_module, options):
    with MAASClient(lab.url, lab.api_key) as client:
        client.machine_op(lab.sids[5], "deploy")
    lab.reset_stats()
    options = dict((k, [lab.sids[int(v[1:])] for v in val] if k == "machines" else val) for k, val in options.items())
    result = run_module(maas_deploy, args(lab, _ansible_check_mode=True, _ansible_diff=True, **options))
    assert "failed" not in result, result.get("msg")
    assert result["changed"] is True
    assert lab.stats()["writes"] == 0
    assert result["diff"]["before"] != result["diff"]["after"]
    if "count" in options:
        assert result["would_allocate"] == 3


def test_too_few_machines_fails_before_allocating_naming_the_constraints(lab, run_module):
    with MAASClient(lab.url, lab.api_key) as client:
        client.post("tags/", data={"name": "gpu"})
        client.post("tags/gpu/", op="update_nodes", data={"add": lab.sids[:2]})
    lab.reset_stats()
    result = run_module(maas_deploy, args(lab, count=3, agent_name="ml", tags=["gpu"], cpu_count=1))
    assert result["failed"] is True
    assert "only 2 Ready machines match cpu_count=1, tags=gpu" in result["msg"]
    assert "nothing was allocated" in result["msg"]
    assert lab.stats()["writes"] == 0


@pytest.mark.parametrize("options, message", [
    ({"count": 1, "agent_name": "x", "tags": ["nope"]}, "tags: MAAS has no tag named nope."),
    ({"count": 1, "agent_name": "x", "zone": "nowhere"}, "zone: MAAS has no zone named nowhere."),
    ({"machines": ["no-such-host"]}, "machines: MAAS has no machine with hostname or system ID no-such-host."),
    ({"machines": ["x"], "distro_series": "warty"}, "distro_series: "),
    ({"machines": ["x"], "on_failure": "replace"}, "on_failure: replace needs count"),
    ({"count": 1}, "missing parameter(s) required by 'count': agent_name"),
    ({"machines": ["x"], "tags": ["a"]}, "allocation constraints; they need count"),
    ({"machines": ["x"], "machine_user_data": {"y": "#cloud-config"}}, "machine_user_data: y not in machines."),
])
def test_bad_input_fails_before_any_write(lab, run_module, options, message):
    result = run_module(maas_deploy, args(lab, **options))
    assert result["failed"] is True and message in result["msg"]
    assert lab.stats()["writes"] == 0


def test_concurrent_allocations_from_one_pool_never_share_a_machine(lab):
    results = {}

    def deploy(agent_name):
        with MAASClient(lab.url, lab.api_key) as client:
            params = dict(state="deployed", count=4, agent_name=agent_name, concurrency=4, on_failure="leave",
                          wait_timeout=30, **FAST)
            run = maas_deployment.MachineDeployment(client, params).start().wait()
            results[agent_name] = run.result()

    threads = [threading.Thread(target=deploy, args=(name,)) for name in ("left", "right")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    left, right = set(results["left"]["system_ids"]), set(results["right"]["system_ids"])
    assert len(left) == 4 and len(right) == 4 and not left & right
    assert sorted(m["system_id"] for m in machines_of(lab, agent_name="left")) == sorted(left)
    assert all(count == 1 for count in ops_per_machine(lab, "allocate").values())


def test_fault_run_200_machines_all_deployed_with_exactly_one_deploy_op_each(lab_maas_factory, run_module):
    lab = lab_maas_factory(machines=200, extra_args=["--deploy-seconds", "0.5"])
    sids = [m["system_id"] for m in machines_of(lab)]
    lab.reset_stats()
    lab.configure(fault_503=0.1, fault_reset=0.02)
    result = run_module(maas_deploy, args(lab, machines=sids, retries=10, wait_timeout=120))
    stats = lab.stats()
    lab.configure(fault_503=0, fault_reset=0)
    assert "failed" not in result, result.get("msg")
    assert stats["faults"]["503"] > 0 and stats["faults"]["reset_after"] + stats["faults"]["reset_before"] > 0
    deploys = dict((sid, ops.get("deploy", 0)) for sid, ops in stats["machine_ops"].items())
    assert deploys == dict((sid, 1) for sid in sids)
    assert set(m["status_name"] for m in machines_of(lab)) == {"Deployed"}


def test_count_deploy_under_lost_answers_allocates_each_machine_once_and_releases_none(lab_maas_factory, run_module):
    lab = lab_maas_factory(machines=30, extra_args=["--deploy-seconds", "0.2", "--seed", "7"])
    lab.reset_stats()
    # Half of the resets happen after MAAS processed the request: the allocate took a machine, the answer is lost.
    lab.configure(fault_reset=0.3)
    result = run_module(maas_deploy, args(lab, count=12, agent_name="lossy", retries=10, wait_timeout=60))
    stats = lab.stats()
    lab.configure(fault_reset=0)
    assert "failed" not in result, result.get("msg")
    assert stats["faults"]["reset_after"] > 0
    allocations = dict((sid, ops["allocate"]) for sid, ops in stats["machine_ops"].items() if "allocate" in ops)
    assert len(allocations) == 12 and set(allocations.values()) == {1}
    assert not any("release" in ops for ops in stats["machine_ops"].values())
    members = machines_of(lab, agent_name="lossy")
    assert sorted(m["system_id"] for m in members) == sorted(result["system_ids"]) == sorted(allocations)
    assert set(m["status_name"] for m in members) == {"Deployed"}


# --- issue 16: what a real MAAS 3.5 showed -----------------------------------------------------------------------
def test_deploy_maas_refused_after_allocating_is_not_resent_and_reports_the_machine_left_allocated(
        lab, run_module, return_doc_problems):
    """Real MAAS answers 503 "No rack controllers can access the BMC" after allocating the Ready machine: the state
    check sees Ready -> Allocated to us, so the deploy is not sent again; the result shows the real state, counts
    the change and says how to release the machine."""
    lab.configure(fail_power=1.0)
    name = lab.hostnames[0]
    result = run_module(maas_deploy, args(lab, machines=[name], distro_series="jammy"))
    assert result["failed"] is True
    assert ops_per_machine(lab, "deploy") == {lab.sids[0]: 1}
    machine = result["machines"][0]
    assert (machine["status"], machine["owner"], machine["changed"], machine["failed"]) == (
        "Allocated", "admin", True, True)
    assert "No rack controllers can access the BMC of node %s" % name in machine["msg"]
    assert "went from Ready (no owner) to Allocated (owner admin)" in machine["msg"]
    assert result["changed"] is True
    assert result["left_allocated"] == [name]
    assert "state=released machines=[%s]" % name in result["msg"]
    assert machines_of(lab, id=lab.sids[0])[0]["status_name"] == "Allocated"
    assert return_doc_problems(maas_deploy, result) == []


def test_on_failure_release_gives_back_a_machine_maas_allocated_before_refusing_the_deploy(lab, run_module):
    """With on_failure=release, the machine MAAS left Allocated after the failed power action is released at once
    and nothing is left allocated."""
    lab.configure(fail_power=1.0)
    result = run_module(maas_deploy, args(lab, machines=[lab.hostnames[0]], on_failure="release"))
    assert result["failed"] is True and result["left_allocated"] == []
    assert result["machines"][0]["action"] == "released"
    assert ops_per_machine(lab, "release") == {lab.sids[0]: 1}
    with MAASClient(lab.url, lab.api_key) as client:
        deadline = time.monotonic() + 10
        while client.get_machine(lab.sids[0])["status_name"] != "Ready":
            assert time.monotonic() < deadline
            time.sleep(0.1)


@pytest.mark.parametrize("case", ["400 for every machine", "503 with the state unmoved"])
def test_changed_is_false_when_maas_refused_every_op_and_nothing_changed(lab, run_module, case):
    """Top-level changed is true only when something changed on the server: not when every deploy got a 400, or a
    503 that left each machine as it was (already Allocated to us)."""
    names = lab.hostnames[:2]
    if case.startswith("400"):
        options = dict(hwe_kernel="bogus-kernel")
    else:
        with MAASClient(lab.url, lab.api_key) as client:
            for sid in lab.sids[:2]:
                client.post("machines/", op="allocate", data={"system_id": sid})
        lab.configure(fail_power=1.0)
        options = dict(retries=0)
    result = run_module(maas_deploy, args(lab, machines=names, **options))
    assert result["failed"] is True and sorted(result["failed_machines"]) == sorted(names)
    assert result["changed"] is False
    assert not any(m["changed"] for m in result["machines"])


def test_release_that_ends_in_new_counts_as_released_and_warns_to_commission(lab, run_module):
    """MAAS releases a machine without passed commissioning results (added with deployed=true) to New: it is
    released (not failed), and the result warns that it needs commissioning before it can be allocated again."""
    with MAASClient(lab.url, lab.api_key) as client:
        client.post("machines/", data={"hostname": "brownfield-9", "architecture": "amd64/generic",
                                       "mac_addresses": "52:54:00:16:09:09", "power_type": "manual",
                                       "deployed": True})
    result = run_module(maas_deploy, args(lab, state="released", machines=["brownfield-9"]))
    assert "failed" not in result, result.get("msg")
    assert result["changed"] is True
    assert [(m["status"], m["owner"], m["failed"]) for m in result["machines"]] == [("New", None, False)]
    # ansible-core 2.19 returns warnings as WarningSummary objects; the text is in event.msg.
    texts = [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]
    assert any("brownfield-9" in text and "commission" in text for text in texts), texts


class BatchClock(object):
    """A fake MAAS and clock for poll_until_settled: machine ``sid``'s op was sent at ``sent[sid]`` and it settles
    ``took[sid]`` seconds later; a list call takes 0.2 s and answers with the states at its end."""

    def __init__(self, sent, took, now):
        self.now = now
        self.sent = sent
        self.took = took
        self.polls = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds

    def get(self, path, params=None):
        assert path == "machines/"
        self.polls.append(round(self.now, 4))
        self.now += 0.2
        return [{"system_id": sid, "status_name": "Deployed" if self.now >= self.sent[sid] + self.took[sid]
                 else "Deploying"} for sid in params["id"]]


def poll_batch(took, start):
    """1,000 ops sent 1.2 ms apart (answered 10 ms after each was sent), polled every 4 s from ``start``."""
    sids = ["m%04d" % n for n in range(1000)]
    sent = dict((sid, n * 0.0012) for n, sid in enumerate(sids))
    fake = BatchClock(sent, dict((sid, took(n)) for n, sid in enumerate(sids)), start)
    op_times = dict((sid, (sent[sid], sent[sid] + 0.01)) for sid in sids)
    result = maas_query.poll_until_settled(fake, sids, lambda m: m["status_name"] == "Deployed", timeout=60,
                                           interval=4, backoff=1, max_interval=4, sleep=fake.sleep, clock=fake.clock,
                                           op_times=op_times, max_query_chars=10 ** 6)
    assert result.unsettled == []
    return fake.polls


def test_a_poll_comes_when_the_batch_is_predicted_settled_not_up_to_an_interval_later():
    """Each machine settles 10 s after its op (the last sent at 1.1988 s). The poll at 10.7 (answered at 10.9) sees
    the ops sent before 0.9 s settled, the last of them at 0.8988 s: none took longer than 10.9 - 0.8988 = 10.0012 s,
    so the last op, answered at 1.2088, should be settled by 11.21: the next poll comes then, not at 14.9."""
    assert poll_batch(lambda n: 10.0, start=2.5) == pytest.approx([6.5, 10.7, 11.21])


def test_a_late_machine_costs_one_poll_more_at_most_then_the_interval_goes_on():
    """The last machine takes 13 s: the predicted poll at 11.21 still sees it moving; the next waits the interval."""
    assert poll_batch(lambda n: 13.0 if n == 999 else 10.0, start=2.5) == pytest.approx([6.5, 10.7, 11.21, 15.41])


def test_without_a_poll_that_sees_some_settled_nothing_is_predicted():
    """Every machine settles between two polls: the polls keep the interval."""
    assert poll_batch(lambda n: 10.0, start=1.21) == pytest.approx([5.21, 9.41, 13.61])
