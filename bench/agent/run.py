"""gough-agent against Debian's prometheus-node-exporter on one lab node: memory and CPU time per scrape.

One lab node (systemd container from gough-lab/node) runs both side by side:

* gough-agent as the role installs it: the collection's gough_agent.py under the role's hardened unit, as the
  gough-agent user, HTTPS with client certificates from a CA made here;
* prometheus-node-exporter from the image (Debian's package, its own unit, default collectors, plain HTTP).

The host scrapes each N times over one kept-alive connection per exporter (as Prometheus does), interleaved, after
a warm-up. It reads from /proc on the node: CPU time of each process (utime+stime, and the per-thread schedstat
run time in nanoseconds for precision) before and after, and resident memory (VmRSS, Pss) after. It prints the
ratios and a PASS/MISS line per target (memory <= 1.5x node_exporter's, CPU time per scrape <= 2x) and exits 1
when a target is missed.

    .venv/bin/python bench/agent/run.py [--scrapes N]
"""

import argparse
import datetime
import http.client
import ipaddress
import json
import os
import ssl
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "lab"))

from gough_lab import nodes  # noqa: E402  pylint: disable=wrong-import-position

LOAD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "load.py")

ROLE = os.path.join(ROOT, "roles", "agent")
MEMORY_TARGET = 1.5
CPU_TARGET = 2.0


def make_pki(directory, address):
    """CA, agent server certificate (SAN = the node's address) and a client certificate; {name: path}."""
    # pylint: disable=import-outside-toplevel
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    paths = {}

    def save(name, cert, key):
        paths[name + ".crt"] = os.path.join(directory, name + ".crt")
        with open(paths[name + ".crt"], "wb") as handle:
            handle.write(cert.public_bytes(serialization.Encoding.PEM))
        if key is not None:
            paths[name + ".key"] = os.path.join(directory, name + ".key")
            with open(paths[name + ".key"], "wb") as handle:
                handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))

    def subject(common_name):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(subject("bench CA")).issuer_name(subject("bench CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    save("ca", ca, None)
    for name, usage in (("agent", ExtendedKeyUsageOID.SERVER_AUTH), ("client", ExtendedKeyUsageOID.CLIENT_AUTH)):
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (x509.CertificateBuilder().subject_name(subject(name)).issuer_name(ca.subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=2))
                   .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
                   # Python 3.13's default context checks X.509 strictly: the issuer's key identifier is required.
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                                  critical=False))
        if name == "agent":
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(address))]), critical=False)
        save(name, builder.sign(ca_key, hashes.SHA256()), key)
    return paths


def render_unit():
    """The role's unit template with the role's defaults."""
    import jinja2  # pylint: disable=import-outside-toplevel
    with open(os.path.join(ROLE, "templates", "gough-agent.service.j2"), encoding="utf-8") as handle:
        template = jinja2.Template(handle.read(), keep_trailing_newline=True)
    return template.render(ansible_managed="installed by bench/agent/run.py", agent_user="gough-agent",
                           agent_python="/usr/bin/python3", agent_install_dir="/usr/local/lib/gough-agent",
                           agent_config_dir="/etc/gough-agent")


class Node:
    """docker exec helpers for the bench node."""

    def __init__(self, name):
        self.name = name

    def sh(self, script, check=True):
        """Run a shell script on the node as root; return stdout."""
        result = subprocess.run(["docker", "exec", self.name, "sh", "-ec", script], capture_output=True, text=True,
                                timeout=120, check=False)
        if check and result.returncode != 0:
            raise RuntimeError("on the node: %s\n%s%s" % (script[:200], result.stdout, result.stderr))
        return result.stdout

    def copy(self, source, dest):
        """Copy a host file onto the node."""
        nodes.docker("cp", source, "%s:%s" % (self.name, dest))

    def process(self, unit):
        """{pid, ticks, run_ns, rss_kb, pss_kb} of a unit's main process."""
        pid = self.sh("systemctl show -p MainPID --value %s" % unit).strip()
        if pid in ("", "0"):
            raise RuntimeError("%s is not running: %s" % (unit, self.sh("systemctl status %s || true" % unit)))
        out = self.sh("cat /proc/%s/stat; echo; cat /proc/%s/task/*/schedstat | awk '{s+=$1} END {print s}'; "
                      "grep -E '^VmRSS' /proc/%s/status; grep -E '^Pss:' /proc/%s/smaps_rollup" % ((pid,) * 4))
        lines = [line for line in out.splitlines() if line.strip()]
        stat = lines[0].rsplit(")", 1)[1].split()
        return {"pid": int(pid), "ticks": int(stat[11]) + int(stat[12]), "child_ticks": int(stat[13]) + int(stat[14]),
                "run_ns": int(float(lines[1])),
                "rss_kb": int(lines[2].split()[1]), "pss_kb": int(lines[3].split()[1])}


def install_agent(node, pki, config, scratch):
    """Install and start gough-agent on ``node`` as the role does: its user, the program, ``config`` (agent.json),
    the certificates from ``pki`` (make_pki) and the role's hardened unit. ``scratch`` is a local directory."""
    with open(os.path.join(scratch, "agent.json"), "w", encoding="utf-8") as handle:
        json.dump(config, handle)
    with open(os.path.join(scratch, "gough-agent.service"), "w", encoding="utf-8") as handle:
        handle.write(render_unit())
    node.sh("useradd --system --user-group --no-create-home --home-dir /var/lib/gough-agent "
            "--shell /usr/sbin/nologin gough-agent; install -d -m 0755 /usr/local/lib/gough-agent; "
            "install -d -m 0750 -g gough-agent /etc/gough-agent /etc/gough-agent/tls")
    node.copy(os.path.join(ROLE, "files", "gough_agent.py"), "/usr/local/lib/gough-agent/gough_agent.py")
    for source, dest in ((pki["agent.crt"], "tls/agent.crt"), (pki["agent.key"], "tls/agent.key"),
                         (pki["ca.crt"], "tls/ca.crt"), (os.path.join(scratch, "agent.json"), "agent.json")):
        node.copy(source, "/etc/gough-agent/" + dest)
    node.copy(os.path.join(scratch, "gough-agent.service"), "/etc/systemd/system/gough-agent.service")
    node.sh("chown -R root:gough-agent /etc/gough-agent; chmod 0640 /etc/gough-agent/agent.json; "
            "chown gough-agent /etc/gough-agent/tls/agent.key; chmod 0600 /etc/gough-agent/tls/agent.key; "
            "chmod 0644 /usr/local/lib/gough-agent/gough_agent.py; systemctl daemon-reload; "
            "systemctl start gough-agent.service")


def latency_under_load(stranger, address, port, connect, plain, scrapes=20):
    """Seconds of ``scrapes`` scrapes (a new connection each; ``connect()`` makes one) while the ``stranger``
    container runs load.py's attack on address:port (1,000 idle, 100 slowloris, 1,000 malformed)."""
    attack = subprocess.Popen(["docker", "exec", stranger, "python3", "/load.py", "attack", address, str(port),
                               "--seconds", "12"] + (["--plain"] if plain else []),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seconds = []
    try:
        time.sleep(2)
        for _n in range(scrapes):
            connection = connect()
            tick = time.perf_counter()
            try:
                scrape(connection)
                seconds.append(time.perf_counter() - tick)
            except (OSError, http.client.HTTPException, RuntimeError):
                seconds.append(float("inf"))  # a failed scrape: Prometheus would mark the target down
            finally:
                connection.close()
            time.sleep(0.4)
    finally:
        attack.communicate(timeout=120)
    return seconds


def scrape(connection, path="/metrics"):
    """One GET on a kept-alive connection; return the body size."""
    connection.request("GET", path)
    response = connection.getresponse()
    body = response.read()
    if response.status != 200:
        raise RuntimeError("%s answered %d" % (path, response.status))
    return len(body)


def main():
    """Boot the node, install both exporters, scrape, measure, print; 0 when both targets are met."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--scrapes", type=int, default=400, help="scrapes of each exporter (default 400)")
    parser.add_argument("--warmup", type=int, default=20, help="scrapes of each before measuring (default 20)")
    args = parser.parse_args()

    driver = nodes.NodeDriver(image=os.environ.get("GOUGH_LAB_NODE_IMAGE", nodes.IMAGE))
    try:
        driver.check_engine()
    except nodes.DockerError as exc:
        print("bench-agent: cannot run: %s" % exc, file=sys.stderr)
        return 2
    tag = "bench-agent-%d-%s" % (os.getpid(), uuid.uuid4().hex[:4])
    driver = nodes.NodeDriver(image=driver.image, network="gough-lab-" + tag, subnet=nodes.free_subnet(),
                              prefix="gough-lab-%s-" % tag)
    system_id = "bench01"
    started = time.monotonic()
    driver.ensure_network()
    try:
        driver.boot(system_id, "bench-agent")
        result = driver.wait_cloud_init(system_id, timeout=180)
        if not result.ok:
            raise RuntimeError("the bench node did not boot: %r" % result)
        address = driver.address(system_id)
        node = Node(driver.name(system_id))
        with tempfile.TemporaryDirectory() as scratch:
            pki = make_pki(scratch, address)
            config = {"listen_address": "0.0.0.0", "port": 9555, "tls_cert": "/etc/gough-agent/tls/agent.crt",
                      "tls_key": "/etc/gough-agent/tls/agent.key", "tls_client_ca": "/etc/gough-agent/tls/ca.crt",
                      "maas_system_id": system_id, "template": "base"}
            install_agent(node, pki, config, scratch)
            node.sh("systemctl start prometheus-node-exporter.service")
            context = ssl.create_default_context(cafile=pki["ca.crt"])
            context.load_cert_chain(pki["client.crt"], pki["client.key"])
            targets = {
                "gough-agent": (http.client.HTTPSConnection(address, 9555, timeout=20, context=context),
                                "gough-agent.service"),
                "node_exporter": (http.client.HTTPConnection(address, 9100, timeout=20),
                                  "prometheus-node-exporter.service"),
            }
            deadline = time.monotonic() + 30
            while True:  # both answer (node_exporter starts in about a second)
                try:
                    for connection, _unit in targets.values():
                        scrape(connection)
                    break
                except (OSError, http.client.HTTPException):
                    for connection, _unit in targets.values():
                        connection.close()
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.5)
            for _round in range(args.warmup):
                for connection, _unit in targets.values():
                    scrape(connection)
            before = {name: node.process(unit) for name, (_c, unit) in targets.items()}
            wall = {name: 0.0 for name in targets}
            size = {}
            for _round in range(args.scrapes):
                for name, (connection, _unit) in targets.items():
                    tick = time.perf_counter()
                    size[name] = scrape(connection)
                    wall[name] += time.perf_counter() - tick
            after = {name: node.process(unit) for name, (_c, unit) in targets.items()}
            for connection, _unit in targets.values():
                connection.close()
            # Scrape latency while another container on the network misbehaves (the load of issue 21), each
            # scrape on a new connection (the agent's includes its TLS handshake).
            stranger = driver.prefix + "stranger"
            nodes.docker("run", "-d", "--name", stranger, "--label", "gough-lab=1", "--network", driver.network,
                         "--entrypoint", "sleep", driver.image, "600", timeout=120)
            try:
                nodes.docker("cp", LOAD, "%s:/load.py" % stranger)
                loaded = {
                    "gough-agent": latency_under_load(stranger, address, 9555, lambda: http.client.HTTPSConnection(
                        address, 9555, timeout=5, context=context), plain=False),
                    "node_exporter": latency_under_load(stranger, address, 9100, lambda: http.client.HTTPConnection(
                        address, 9100, timeout=5), plain=True),
                }
            finally:
                nodes.docker("rm", "-f", "-v", stranger, check=False)
            hz = float(node.sh("getconf CLK_TCK").strip())
            # Worst case: cache_ttl 0, so every scrape also runs systemctl and scans /proc for osquery (their CPU is
            # the agent's children's, counted here too). The default (30 s) refreshes once per 2 scrapes at a 15 s
            # scrape interval.
            node.sh("sed -i 's/\"template\": \"base\"/\"template\": \"base\", \"cache_ttl\": 0/' "
                    "/etc/gough-agent/agent.json && systemctl restart gough-agent.service")
            uncached = http.client.HTTPSConnection(address, 9555, timeout=20, context=context)
            deadline = time.monotonic() + 30
            while True:
                try:
                    scrape(uncached)
                    break
                except (OSError, http.client.HTTPException):
                    uncached.close()
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.3)
            worst_scrapes = max(args.scrapes // 4, 10)
            first = node.process("gough-agent.service")
            for _round in range(worst_scrapes):
                scrape(uncached)
            last = node.process("gough-agent.service")
            uncached.close()
            worst_ms = ((last["ticks"] + last["child_ticks"]) - (first["ticks"] + first["child_ticks"])) \
                / hz * 1000 / worst_scrapes
        figures = {}
        for name in targets:
            figures[name] = {
                "cpu_ms": (after[name]["ticks"] - before[name]["ticks"]) / hz * 1000 / args.scrapes,
                "run_ms": (after[name]["run_ns"] - before[name]["run_ns"]) / 1e6 / args.scrapes,
                "wall_ms": wall[name] * 1000 / args.scrapes,
                "rss_mb": after[name]["rss_kb"] / 1024.0, "pss_mb": after[name]["pss_kb"] / 1024.0,
                "bytes": size[name]}
        agent, baseline = figures["gough-agent"], figures["node_exporter"]
        print("gough-agent vs prometheus-node-exporter on one lab node, %d scrapes each over one kept-alive "
              "connection (agent: HTTPS + client certificate; node_exporter: plain HTTP, Debian defaults)"
              % args.scrapes)
        print("%-15s %10s %10s %14s %14s %12s %10s" % ("", "VmRSS MB", "Pss MB", "CPU ms/scrape",
                                                       "run ms/scrape", "wall ms", "bytes"))
        for name, item in figures.items():
            print("%-15s %10.1f %10.1f %14.2f %14.2f %12.2f %10d" % (
                name, item["rss_mb"], item["pss_mb"], item["cpu_ms"], item["run_ms"], item["wall_ms"], item["bytes"]))
        memory_ratio = agent["rss_mb"] / baseline["rss_mb"]
        pss_ratio = agent["pss_mb"] / baseline["pss_mb"]
        # schedstat run time (ns, every thread) is the precise figure; utime+stime (clock ticks) is shown beside it.
        cpu_ratio = agent["run_ms"] / baseline["run_ms"] if baseline["run_ms"] else float("inf")
        tick_ratio = agent["cpu_ms"] / baseline["cpu_ms"] if baseline["cpu_ms"] else float("inf")
        print("memory (VmRSS) agent / node_exporter   %.2fx  (Pss %.2fx)" % (memory_ratio, pss_ratio))
        print("CPU per scrape agent / node_exporter   %.2fx  (utime+stime %.2fx)" % (cpu_ratio, tick_ratio))
        print("agent with cache_ttl 0 (systemctl and the process scan on every scrape, children included): "
              "%.2f ms/scrape, %.2fx node_exporter" % (worst_ms, worst_ms / baseline["cpu_ms"]))
        memory_ok = memory_ratio <= MEMORY_TARGET
        cpu_ok = cpu_ratio <= CPU_TARGET
        means = {name: sum(values) / len(values) for name, values in loaded.items()}
        print("scrape latency under load (1,000 idle + 100 slowloris + 1,000 malformed from another container, "
              "20 scrapes on new connections): agent mean %.1f ms max %.1f ms, node_exporter mean %.1f ms max %.1f "
              "ms, agent / node_exporter %.2fx; failed scrapes: agent %d, node_exporter %d" % (
                  means["gough-agent"] * 1000, max(loaded["gough-agent"]) * 1000, means["node_exporter"] * 1000,
                  max(loaded["node_exporter"]) * 1000, means["gough-agent"] / means["node_exporter"],
                  sum(1 for value in loaded["gough-agent"] if value == float("inf")),
                  sum(1 for value in loaded["node_exporter"] if value == float("inf"))))
        print("%s memory <= %.1fx node_exporter (%.2fx)" % ("PASS" if memory_ok else "MISS", MEMORY_TARGET,
                                                            memory_ratio))
        print("%s scrape CPU time <= %.1fx node_exporter (%.2fx)" % ("PASS" if cpu_ok else "MISS", CPU_TARGET, cpu_ratio))
        print("bench-agent: %.1f s in all" % (time.monotonic() - started))
        return 0 if memory_ok and cpu_ok else 1
    finally:
        driver.remove(system_id)
        driver.remove_network()


if __name__ == "__main__":
    sys.exit(main())
