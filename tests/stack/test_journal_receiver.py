"""The journal receiver's disk limit for real: the role renders journal-remote.conf (lab profile, small limits), the
lab's journal image (Debian's systemd-journal-remote) receives four times its MaxUse, and the directory stays within
the limit while the newest entries remain readable with journalctl --directory.
"""

import os
import stat
import subprocess
import time
import uuid

import pytest
import yaml

from stack_helpers import docker, run_playbook

IMAGE = "gough-lab/journal:trixie"
ENTRIES = 55000  # about 35 MiB in the export format, four times MaxUse below
LIMITS = {"stack_journal_max_use": "8M", "stack_journal_max_file_size": "2M", "stack_journal_keep_free": "1M"}
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def receiver(engine, run_id, tmp_path_factory):  # pylint: disable=unused-argument
    """The rendered lab files and a running receiver on them (no network: it is fed from inside)."""
    base = str(tmp_path_factory.mktemp("journal") / "lab")
    playbook = str(tmp_path_factory.mktemp("playbook") / "render.yml")
    with open(playbook, "w", encoding="utf-8") as handle:
        yaml.safe_dump([{"name": "Render", "hosts": "localhost", "gather_facts": False, "tasks": [
            {"name": "Render the lab stack", "ansible.builtin.include_role": {
                "name": "gough.gough.stack", "tasks_from": "render"}}]}], handle)
    run = run_playbook(playbook, dict(LIMITS, stack_profile="lab", stack_base_dir=base))
    assert run.rc == 0, run.output[-6000:]
    name = "gough-jrtest-%s" % run_id
    journal_dir = os.path.join(base, "journal", "remote")
    docker("run", "-d", "--name", name, "--label", "gough-lab=1", "--network", "none",
           "-v", "%s:/etc/systemd/journal-remote.conf:ro" % os.path.join(base, "journal", "journal-remote.conf"),
           "-v", "%s:/var/log/journal/remote" % journal_dir, IMAGE)
    try:
        deadline = time.monotonic() + 30
        while _run("exec", name, "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/19532").returncode != 0:
            assert time.monotonic() < deadline, _run("logs", name).stderr
            time.sleep(0.5)
        yield {"base": base, "name": name, "dir": journal_dir}
    finally:
        docker("rm", "-f", "-v", name, check=False)


def _run(*args):
    return subprocess.run(("docker",) + args, capture_output=True, text=True, timeout=120, check=False)


def _export(path, count, tag):
    """Write ``count`` journal entries in systemd's export format, numbered, to ``path``."""
    start = int(time.time() * 1e6)
    boot = uuid.uuid4().hex
    with open(path, "w", encoding="utf-8") as handle:
        for number in range(count):
            handle.write("__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n_BOOT_ID=%s\n_HOSTNAME=bulk\n"
                         "SYSLOG_IDENTIFIER=%s\nMESSAGE=entry %06d %s\n\n"
                         % (start + number, number + 1, boot, tag, number, os.urandom(240).hex()))


def test_journal_remote_conf_carries_the_limits(receiver):
    with open(os.path.join(receiver["base"], "journal", "journal-remote.conf"), encoding="utf-8") as handle:
        settings = dict(line.strip().split("=", 1) for line in handle if "=" in line and not line.startswith("#"))
    assert settings == {"Seal": "false", "SplitMode": "none", "MaxUse": "8M", "KeepFree": "1M", "MaxFileSize": "2M",
                        "MaxFiles": "100"}
    info = os.stat(receiver["dir"])
    assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (992, 0o750)


def test_receiving_four_times_max_use_keeps_the_directory_within_the_limit(receiver, tmp_path):
    tag = "bulk-%s" % uuid.uuid4().hex[:8]
    bulk = tmp_path / "bulk.export"
    _export(str(bulk), ENTRIES, tag)
    os.chmod(tmp_path, 0o755)
    os.chmod(bulk, 0o644)
    assert bulk.stat().st_size > 4 * 8 * MIB
    docker("cp", str(bulk), "%s:/tmp/bulk.export" % receiver["name"])
    docker("exec", receiver["name"], "/usr/lib/systemd/systemd-journal-upload", "--url=http://127.0.0.1:19532",
           "/tmp/bulk.export", timeout=300)
    files = [os.path.join(receiver["dir"], name) for name in os.listdir(receiver["dir"])]
    total = sum(os.path.getsize(path) for path in files)
    # Vacuuming runs whenever the active file (at most MaxFileSize) is archived.
    assert total <= 8 * MIB + 2 * MIB, sorted((os.path.basename(p), os.path.getsize(p)) for p in files)
    assert len(files) >= 2 and all(stat.S_IMODE(os.stat(path).st_mode) & 0o007 == 0 for path in files)
    assert "Deleted archived journal" in _run("logs", receiver["name"]).stderr
    messages = docker("exec", receiver["name"], "journalctl", "--directory", "/var/log/journal/remote", "--no-pager",
                      "--output", "cat", "--identifier", tag).splitlines()
    # The oldest entries were deleted with their files; the newest are all still there, in order.
    assert messages[-1].startswith("entry %06d " % (ENTRIES - 1))
    assert not messages[0].startswith("entry 000000 ") and len(messages) < ENTRIES
