"""gough-agent on a lab node keeps answering Prometheus while another host on the network misbehaves (issue 21).

One booted lab node runs the agent as the role installs it (the collection's gough_agent.py under the role's
hardened unit, mutual TLS; installed as bench/agent does), with a stand-in Prometheus container listed in its
``scrapers``. Two more containers on the same network run bench/agent/load.py: "prom" with the client certificate,
"stranger" without one. The node and the containers are shared by the module's tests.
"""

import importlib.util
import json
import os
import re
import subprocess
import tempfile
import time

import jinja2
import pytest

from gough_lab import nodes

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LOAD = os.path.join(ROOT, "bench", "agent", "load.py")
SYSTEM_ID = "load01"
PORT = 9555

_spec = importlib.util.spec_from_file_location("bench_agent_run", os.path.join(ROOT, "bench", "agent", "run.py"))
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def helper(lab_net, role):
    """A container of the node image on the run's network (no systemd: it only runs load.py); (name, address)."""
    name = lab_net.prefix + role
    nodes.docker("run", "-d", "--name", name, "--label", "gough-lab=1", "--network", lab_net.network,
                 "--entrypoint", "sleep", lab_net.image, "900", timeout=120)
    nodes.docker("cp", LOAD, "%s:/load.py" % name)
    address = nodes.docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", name).strip()
    return name, address


def run_in(name, *args, timeout=120):
    """Run a command in a helper container; return its stdout (fails the test on a non-zero exit)."""
    result = subprocess.run(["docker", "exec", name] + list(args), capture_output=True, text=True, timeout=timeout,
                            check=False)
    assert result.returncode == 0, (args, result.stdout[-2000:], result.stderr[-2000:])
    return result.stdout


class Setup:
    """The node with the agent, the two helper containers and the client certificate's paths on "prom"."""

    def __init__(self, lab_net, scratch):
        self.node = bench.Node(lab_net.name(SYSTEM_ID))
        self.address = lab_net.address(SYSTEM_ID)
        self.prom, self.prom_address = helper(lab_net, "prom")
        self.stranger, self.stranger_address = helper(lab_net, "stranger")
        pki = bench.make_pki(scratch, self.address)
        config = {"listen_address": "0.0.0.0", "port": PORT, "tls_cert": "/etc/gough-agent/tls/agent.crt",
                  "tls_key": "/etc/gough-agent/tls/agent.key", "tls_client_ca": "/etc/gough-agent/tls/ca.crt",
                  "maas_system_id": SYSTEM_ID, "template": "base", "scrapers": [self.prom_address + "/32"]}
        bench.install_agent(self.node, pki, config, scratch)
        for name in ("ca.crt", "client.crt", "client.key"):
            nodes.docker("cp", pki[name], "%s:/%s" % (self.prom, name))
        self.scrape_args = ["--cert", "/client.crt", "--key", "/client.key", "--ca", "/ca.crt"]

    def scrape(self, count, interval=0.5, timeout=2.0):
        """load.py scrape from "prom": {scrapes: [{status, seconds}], series: [...]}."""
        out = run_in(self.prom, "python3", "/load.py", "scrape", self.address, str(PORT), "--count", str(count),
                     "--interval", str(interval), "--timeout", str(timeout), *self.scrape_args)
        return json.loads(out)

    def rss_kb(self):
        """The agent's resident memory (VmRSS, KiB)."""
        return self.node.process("gough-agent.service")["rss_kb"]


@pytest.fixture(scope="module")
def setup(lab_net):
    """Boot the node, install the agent, start the helpers; remove them at the end."""
    lab_net.boot(SYSTEM_ID, "load-node")
    try:
        result = lab_net.wait_cloud_init(SYSTEM_ID, timeout=180)
        assert result.ok, result
        with tempfile.TemporaryDirectory() as scratch:
            made = Setup(lab_net, scratch)
        deadline = time.monotonic() + 30
        while True:  # the unit is Type=simple: started is not yet listening
            first = made.scrape(1, interval=0)["scrapes"][0]
            if first["status"] == 200:
                break
            assert time.monotonic() < deadline, (first, made.node.sh("journalctl -u gough-agent --no-pager | tail"))
            time.sleep(0.5)
        yield made
    finally:
        for role in ("prom", "stranger"):
            nodes.docker("rm", "-f", "-v", lab_net.prefix + role, check=False)
        lab_net.remove(SYSTEM_ID, erase=True)


def series_value(series, name, **labels):
    """A value from load.py's series lines (0 when absent)."""
    wanted = "%s{%s}" % (name, ",".join('%s="%s"' % item for item in sorted(labels.items()))) if labels else name
    for line in series:
        key, _space, value = line.rpartition(" ")
        if key == wanted:
            return float(value)
    return 0.0


def test_scrapes_succeed_within_2s_during_idle_slowloris_and_malformed_load_and_memory_stays_flat(setup):
    setup.scrape(3)  # warm: caches filled, the workers started
    rss_before = setup.rss_kb()
    attack = subprocess.Popen(["docker", "exec", setup.stranger, "python3", "/load.py", "attack", setup.address,
                               str(PORT), "--idle", "1000", "--slow", "100", "--malformed", "1000",
                               "--seconds", "12"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(2)  # the idle and slow connections are open, the malformed requests under way
        during = setup.scrape(20, interval=0.4)
    finally:
        out, err = attack.communicate(timeout=90)
    assert attack.returncode == 0, err[-2000:]
    counts = json.loads(out)
    failed = [item for item in during["scrapes"] if item["status"] != 200 or item["seconds"] >= 2]
    assert len(during["scrapes"]) == 20 and not failed, failed
    # The load happened: 1,000 idle and 100 slow connections opened (and reopened when closed), 1,000 malformed.
    assert counts["idle_opened"] >= 1000 and counts["slow_opened"] >= 100, counts
    assert counts["malformed_sent"] == 1000, counts
    # ... and the agent saw it: the stranger's connections were refused past 32 and the slow ones timed out.
    series = during["series"]
    assert series_value(series, "gough_agent_connections_refused_total", reason="per_source_limit") > 500, series
    time.sleep(6)  # every connection the stranger left has passed its handshake deadline
    after = setup.scrape(1)
    assert series_value(after["series"], "gough_agent_connection_timeouts_total", phase="handshake") > 0
    assert series_value(after["series"], "gough_agent_connections_open") <= 2, after["series"]
    rss_after = setup.rss_kb()
    print("scrape seconds under load: max %.3f, mean %.3f; RSS %d -> %d KiB; attack %s" % (
        max(item["seconds"] for item in during["scrapes"]),
        sum(item["seconds"] for item in during["scrapes"]) / 20, rss_before, rss_after, counts))
    assert rss_after <= 1.5 * rss_before, (rss_before, rss_after)


def render_firewall(allowed):
    """The agent role's nftables table for ``allowed`` (IPv4 networks), rendered as the role renders it."""
    with open(os.path.join(ROOT, "roles", "agent", "templates", "gough-agent.nft.j2"), encoding="utf-8") as handle:
        template = jinja2.Template(handle.read(), keep_trailing_newline=True)
    return template.render(ansible_managed="test_agent_under_load", agent_port=PORT, agent_allowed_ipv4=allowed,
                           agent_allowed_ipv6=[])


def test_with_the_firewall_on_only_allowed_sources_reach_the_port(setup, tmp_path):
    path = tmp_path / "firewall.nft"
    path.write_text(render_firewall([setup.prom_address + "/32"]))
    setup.node.copy(str(path), "/etc/gough-agent/firewall.nft")
    setup.node.sh("nft -c -f /etc/gough-agent/firewall.nft && nft -f /etc/gough-agent/firewall.nft")
    try:
        listed = setup.node.sh("nft list table inet gough_agent")
        assert re.search(r"elements = \{ %s \}" % re.escape(setup.prom_address), listed), listed
        # The stranger's SYN is dropped: no connection at all, not even a refused one (a timeout, not a reset).
        probe = ("import socket\ntry:\n socket.create_connection(('%s', %d), timeout=3)\n print('connected')\n"
                 "except socket.timeout:\n print('timeout')\nexcept OSError as exc:\n print('error', exc)\n"
                 % (setup.address, PORT))
        assert run_in(setup.stranger, "python3", "-c", probe).strip() == "timeout"
        scraped = setup.scrape(2, interval=0.1)
        assert [item["status"] for item in scraped["scrapes"]] == [200, 200]
        # Loading the same file again is atomic and leaves exactly one table.
        setup.node.sh("nft -f /etc/gough-agent/firewall.nft")
        assert setup.node.sh("nft list tables").split().count("gough_agent") == 1
    finally:
        setup.node.sh("nft delete table inet gough_agent", check=False)
    assert run_in(setup.stranger, "python3", "-c", probe).strip() == "connected"
