"""gough-lab maas|fleet|awx dump-state and check-state: the lab's pg_dump and "load into a scratch database" for
backups.

pg_dump and mysqldump --single-transaction take a consistent snapshot while the service keeps writing; the dumps
here must do the same for the emulators' sqlite state (online backup API), and a restored copy must answer as the
original did.
"""

import io
import os
import sqlite3
import subprocess
import sys
import tarfile
import threading

import pytest

from conftest import MAASClient  # pylint: disable=import-error
from gough_lab.awx.testing import start_awx_emulator
from gough_lab.common import statefile
from gough_lab.fleet.testing import FakeOsqueryHost, start_fleet_emulator
from gough_lab.testing import start_maas_emulator

LAB = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "lab"))


def cli(*args, stdin=None):
    """Run ``gough-lab`` as the emulators image does; (returncode, stdout bytes, stderr text)."""
    result = subprocess.run([sys.executable, "-m", "gough_lab.cli"] + list(args), input=stdin, capture_output=True,
                            env=dict(os.environ, PYTHONPATH=LAB), timeout=120, check=False)
    return result.returncode, result.stdout, result.stderr.decode()


def extract(data, target):
    with tarfile.open(fileobj=io.BytesIO(data), mode="r|") as archive:
        archive.extractall(target, filter="data")


def test_maas_dump_taken_while_writing_restores_to_the_same_answers(tmp_path):
    """Like pg_dump: a dump taken while the emulator writes is consistent and a restored copy answers the same."""
    lab = start_maas_emulator(tmp_path / "live", machines=3)
    admin = MAASClient(lab, lab.api_key)
    stop = threading.Event()

    def write_tags():
        number = 0
        while not stop.is_set():
            admin.post("tags/", {"name": "busy-%d" % number})
            number += 1

    writer = threading.Thread(target=write_tags)
    try:
        admin.post("tags/", {"name": "kept"})
        writer.start()
        rc, dump, err = cli("maas", "dump-state", "--state", str(tmp_path / "live"))
        stop.set()
        writer.join()
        assert rc == 0, err
        names = tarfile.open(fileobj=io.BytesIO(dump), mode="r|").getnames()
        assert "maas.sqlite3" in names and "api_key" in names
        assert not [n for n in names if n.endswith(("-wal", "-shm"))]
    finally:
        stop.set()
        lab.stop()
    restored = tmp_path / "restored"
    extract(dump, restored)
    rc, out, err = cli("maas", "check-state", "--state", str(restored))
    assert rc == 0, err
    assert b'"machines": 3' in out
    copy = start_maas_emulator(restored)
    try:
        assert copy.api_key == lab.api_key  # the admin's key is in the restored state: clients keep working
        client = MAASClient(copy, copy.api_key)
        tags = {t["name"] for t in client.get("tags/").json()}
        assert "kept" in tags
        assert len(client.get("machines/").json()) == 3
    finally:
        copy.stop()


def test_fleet_dump_restores_hosts_tokens_and_enroll_secret(tmp_path):
    fleet = start_fleet_emulator(tmp_path / "live")
    try:
        FakeOsqueryHost(fleet, "dumped-1").checkin()
        wanted = [{"secret": fleet.enroll_secret}, {"secret": "second-secret"}]
        fleet.api("POST", "spec/enroll_secret", {"spec": {"secrets": wanted}})
        before = fleet.api("GET", "hosts").json()["hosts"]
        secrets = fleet.api("GET", "spec/enroll_secret").json()["spec"]["secrets"]
        rc, dump, err = cli("fleet", "dump-state", "--state", str(tmp_path / "live"))
        assert rc == 0, err
    finally:
        fleet.stop()
    restored = tmp_path / "restored"
    extract(dump, restored)
    rc, out, err = cli("fleet", "check-state", "--state", str(restored))
    assert rc == 0, err
    assert b'"hosts": 1' in out and b'"enroll_secrets": 2' in out
    copy = start_fleet_emulator(restored)
    try:
        assert copy.api("GET", "hosts").json()["hosts"] == before
        assert copy.api("GET", "spec/enroll_secret").json()["spec"]["secrets"] == secrets
    finally:
        copy.stop()


def test_awx_dump_restores_objects_and_the_admin_token(tmp_path):
    """Like a backup of AWX's database: the dump of a running emulator restores its objects, and the admin token
    it issued still authenticates against the restored copy."""
    awx = start_awx_emulator(tmp_path / "live")
    try:
        client = awx.client()
        client.create("organizations/", {"name": "Backed up"})
        rc, dump, err = cli("awx", "dump-state", "--state", str(tmp_path / "live"))
        assert rc == 0, err
        token = awx.token
    finally:
        awx.stop()
    restored = tmp_path / "restored"
    extract(dump, restored)
    assert "awx.sqlite3" in os.listdir(restored)
    rc, out, err = cli("awx", "check-state", "--state", str(restored))
    assert rc == 0, err
    assert b'"organizations": 1' in out and b'"users": 1' in out
    copy = start_awx_emulator(restored)
    try:
        assert copy.token == token
        status, found = copy.client().get("organizations/?name=Backed%20up")
        assert status == 200 and found["count"] == 1
    finally:
        copy.stop()


def test_check_state_refuses_a_corrupt_database_naming_it(tmp_path):
    """A damaged dump must fail the scratch load (pg_restore into a scratch database fails on a corrupt dump)."""
    state = tmp_path / "state"
    state.mkdir()
    database = state / "maas.sqlite3"
    db = sqlite3.connect(str(database))
    db.execute("CREATE TABLE t (x TEXT)")
    db.executemany("INSERT INTO t VALUES (?)", [("x" * 500,)] * 200)
    db.commit()
    db.close()
    data = bytearray(database.read_bytes())
    data[4096:8192] = b"\xff" * 4096  # overwrite a page in the middle
    database.write_bytes(bytes(data))
    rc, _out, err = cli("maas", "check-state", "--state", str(state))
    assert rc == 1
    assert str(database) in err


def test_check_state_refuses_a_directory_without_the_database(tmp_path):
    rc, _out, err = cli("fleet", "check-state", "--state", str(tmp_path))
    assert rc == 1 and os.path.join(str(tmp_path), "fleet.sqlite3") in err and "missing" in err


def test_dump_of_a_missing_directory_fails_naming_it(tmp_path):
    with pytest.raises(statefile.StateError, match=str(tmp_path / "nope")):
        statefile.dump_state(str(tmp_path / "nope"), io.BytesIO())
