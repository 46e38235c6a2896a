"""The demo's flow (see conftest.py): the table, Fleet, Prometheus, SSH, secrets, site.yml's job events and
artifacts as AWX sees them, and a rerun that changes nothing."""

import ipaddress
import os
import re
import subprocess
import time

import yaml
from e2e_helpers import BASELINE_POLICIES, LAB_SUBNET, NODES, changed, controller, get, playbook, table


def test_site_deploys_every_node_and_prints_the_table(lab, first_run):  # pylint: disable=redefined-outer-name
    rows = table(first_run["site"])
    assert [row["HOSTNAME"] for row in rows] == ["e2e-%s-%02d" % (lab["tag"], n) for n in range(1, NODES + 1)]
    for row in rows:
        assert row["STATUS"] == "Deployed"
        # The lab MAAS's dynamic range on the node network (stack_maas_networks_lab): its upper half.
        assert ipaddress.ip_address(row["IP"]) in LAB_SUBNET
        assert ipaddress.ip_address(row["IP"]) >= LAB_SUBNET[LAB_SUBNET.num_addresses // 2], row
        assert row["CLOUD-INIT"] == "done"
        assert len(row["SYSTEM_ID"]) == 6
        assert row["AGENT"] == "healthy"
        assert row["PROMETHEUS"] == "up"
        assert row["FLEET"] == "online"
        assert row["FLEET_ID"].isdigit()
    # The last node is deployed with SSH root login allowed (lab_noncompliant_machine): one critical policy fails,
    # and the compliance gate at the end of site.yml quarantines it.
    total = len(BASELINE_POLICIES)
    assert [(row["POLICIES"], row["QUARANTINE"]) for row in rows] == \
        [("%d/%d" % (total, total), "no")] * (NODES - 1) + [("%d/%d" % (total - 1, total), "yes")]


def test_fleet_knows_every_node_by_the_id_in_the_table(lab, first_run):  # pylint: disable=redefined-outer-name
    connection = controller(lab)
    rows = table(first_run["site"])
    # Fleet fills primary_ip from the host's answers to its detail queries, one distributed interval after enrolling.
    deadline = time.monotonic() + 60
    while True:
        hosts = get(connection["gough_fleet_url"] + "/api/v1/fleet/hosts", connection,
                    {"Authorization": "Bearer %s" % connection["gough_fleet_api_token"]})["hosts"]
        by_name = dict((host["hostname"], host) for host in hosts)
        if all(by_name.get(row["HOSTNAME"], {}).get("primary_ip") for row in rows) or time.monotonic() > deadline:
            break
        time.sleep(2)
    for row in rows:
        assert by_name[row["HOSTNAME"]]["id"] == int(row["FLEET_ID"])
        assert by_name[row["HOSTNAME"]]["primary_ip"] == row["IP"]
        assert by_name[row["HOSTNAME"]]["status"] == "online"
    assert len(hosts) == NODES  # one identity per node, no duplicates


def test_prometheus_scrapes_every_agent_over_mtls(lab, first_run):  # pylint: disable=redefined-outer-name
    connection = controller(lab)
    targets = get(connection["gough_prometheus_url"] + "/api/v1/targets?state=active", connection)
    agents = [t for t in targets["data"]["activeTargets"] if t["labels"]["job"] == "gough-agent"]
    assert sorted(t["labels"]["instance"] for t in agents) == sorted(r["HOSTNAME"] for r in table(first_run["site"]))
    for target in agents:
        assert target["health"] == "up", target
        assert target["scrapeUrl"].startswith("https://")


def test_nodes_answer_over_ssh_with_the_labs_key(lab, first_run):  # pylint: disable=redefined-outer-name
    key = os.path.join(str(lab["dir"]), "ssh", "id_ed25519")
    assert oct(os.stat(key).st_mode & 0o777) == "0o600"
    for row in table(first_run["site"]):
        result = subprocess.run(
            ["ssh", "-i", key, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o",
             "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10", "ops@%s" % row["IP"],
             "hostname; cloud-init status"], capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, result.stderr
        assert result.stdout.split()[0] == row["HOSTNAME"]
        assert "status: done" in result.stdout


def test_lab_files_hold_secrets_only_for_their_owner(lab, first_run):  # pylint: disable=redefined-outer-name
    plugin_file = os.path.join(first_run["inventory"], "gough.maas.yml")
    assert oct(os.stat(plugin_file).st_mode & 0o777) == "0o600"
    with open(plugin_file, encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    assert config["plugin"] == "gough.gough.maas"
    assert config["url"].startswith("https://127.0.0.1:%d/" % lab["maas_port"])
    # The API key is never printed: not by lab.yml, not by site.yml (check mode here), not in any job artifact.
    rc, run, output = playbook("site.yml", "-i", first_run["inventory"], "--check", *lab["extra"], env=lab["env"])
    assert rc == 0, output
    assert config["api_key"].split(":")[2] not in run.stdout
    assert run.artifacts_holding([config["api_key"], config["api_key"].split(":")[2]]) == []


def secrets(lab):
    """The stack's secrets every job may reach (through the 0600 files only): MAAS API key (and its secret part),
    Fleet API token, Fleet enroll secret."""
    connection = controller(lab)
    values = [connection["gough_maas_api_key"], connection["gough_maas_api_key"].split(":")[2],
              connection["gough_fleet_api_token"], connection["gough_fleet_enroll_secret"]]
    assert all(len(value) >= 16 for value in values)  # long enough that finding one is no accident
    return values


def test_site_job_ends_successful_with_its_artifacts_and_no_secret_in_them(lab, first_run):  # pylint: disable=redefined-outer-name
    values = secrets(lab)
    for run in (first_run["lab"], first_run["site"]):
        assert run.status == "successful" and run.rc == 0
        assert run.artifact("status") == "successful"
        assert run.artifact("rc") == "0"
        events = os.listdir(os.path.join(run.artifact_dir, "job_events"))
        assert len(events) == len(run.events) > 0 and all(name.endswith(".json") for name in events)
        assert "PLAY RECAP" in run.artifact("stdout")
        # Nor in the private data directory's env/ files (the job's variables, environment and options).
        assert run.artifacts_holding(values) == [], run.artifact_dir
        for name in os.listdir(os.path.join(run.private_data_dir, "env")):
            with open(os.path.join(run.private_data_dir, "env", name), encoding="utf-8") as handle:
                content = handle.read()
            assert not any(secret in content for secret in values), "a secret in env/%s" % name


def test_site_job_events_give_each_deployed_node_its_agent_and_fleet_results(first_run):
    run = first_run["site"]
    hosts = [row["HOSTNAME"] for row in table(run)]
    for host in hosts:
        ok = run.host_events(host, "runner_on_ok")
        for role in ("agent", "fleet_enroll"):
            assert [event for event in ok if event["event_data"].get("role") in (role, "gough.gough." + role)], \
                (host, role)
        # What AWX counts as the host's failures: failed results that were not ignored, unreachable ones.
        failed = [event for event in run.host_events(host, "runner_on_failed", "runner_on_unreachable")
                  if not event["event_data"].get("ignore_errors")]
        assert failed == [], [event["event_data"].get("task") for event in failed]


PROGRESS = re.compile(r"^maas_deploy: \d+/%d deployed, \d+ deploying, \d+ failed, \S+ \[localhost\]$" % NODES)


def test_maas_deploy_progress_lines_reach_the_job_output_as_events_while_it_waits(first_run):
    run = first_run["site"]
    starts = [event["counter"] for event in run.events if event["event"] == "playbook_on_task_start"
              and event["event_data"]["name"].endswith("Deploy every machine in one batch")]
    done = [event["counter"] for event in run.events if event["event"] == "runner_on_ok"
            and event["event_data"]["task"] == "Deploy every machine in one batch"]
    assert len(starts) == 1 and len(done) == 1
    lines = [(event["counter"], line) for event in run.events for line in event.get("stdout", "").splitlines()
             if PROGRESS.match(line)]
    assert lines, "no progress line among the job events"
    # Streamed while the task waits (between its start and its result), the last one saying every node deployed.
    assert all(starts[0] < counter < done[0] for counter, _line in lines), lines
    assert lines[-1][1].startswith("maas_deploy: %d/%d deployed, 0 deploying, 0 failed" % (NODES, NODES))
    # And in the job's stdout artifact, as AWX's job output shows it.
    assert all(line in run.artifact("stdout") for _counter, line in lines)


def test_second_run_changes_nothing(lab, first_run):  # pylint: disable=redefined-outer-name
    """Last of the session (conftest.py): after the alert drill, the compliance and journal changes, the restore
    from backup and the certificate renewal, lab.yml and site.yml change nothing."""
    rc, parsed, output = playbook("lab.yml", *lab["extra"], env=lab["env"])
    assert rc == 0, output
    assert changed(parsed) == {"localhost": 0}, output
    rc, parsed, output = playbook("site.yml", "-i", first_run["inventory"], *lab["extra"], env=lab["env"])
    assert rc == 0, output
    assert set(changed(parsed).values()) == {0}, changed(parsed)
    # The quarantined node is left out of the agent and Fleet play (it is in gough_quarantine); the table keeps it.
    rows = table(parsed)
    quarantined = [row["HOSTNAME"] for row in rows if row["QUARANTINE"] == "yes"]
    assert quarantined == ["e2e-%s-%02d" % (lab["tag"], NODES)]
    assert sorted(changed(parsed)) == sorted(["localhost"] + [row["HOSTNAME"] for row in rows
                                                              if row["QUARANTINE"] == "no"])
