"""The osqueryd stand-in's query engine (lab/images/node/osqueryd-lab) on this machine, over fixture files.

Each rule mirrors osquery: the query text runs unchanged in SQLite; a table is filled from the node only when the
query names it, with osquery's columns (checked against osquery's table specs in plugins/module_utils/osquery_schema);
unknown tables and columns are SQLite's errors, as osquery answers them; ``file`` needs a path or directory
constraint and reads only what it names (``%`` one level, trailing ``%%`` recursive); augeas reads sshd and apt
configuration like augeas' Sshd and AptConf lenses.
"""

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.gough.gough.plugins.module_utils import osquery_schema
from gough_lab.fleet.osquery_host import STANDIN, load_standin


@pytest.fixture(scope="module")
def standin():
    return load_standin()


@pytest.fixture
def node(standin):
    fake = standin.Node.__new__(standin.Node)
    fake._instance, fake.started = "i-test", 0  # pylint: disable=protected-access
    return fake


def query(standin, node, sql):
    return standin.run_query(node, sql)


def test_every_table_has_osquerys_columns_in_osquerys_order(standin):
    for table, (columns, _reader) in standin.TABLES.items():
        real = [name for name, _kind in osquery_schema.TABLES[table]]
        names = [name for name, _kind in columns]
        assert names == [n for n in real if n in names], table
        # Only osquery's hidden columns may be left out.
        assert set(real) - set(names) <= {"pid_with_namespace", "mount_namespace_id", "include_remote"}, table
        assert [k for n, k in columns] == [dict(osquery_schema.TABLES[table])[n] for n in names], table
    assert standin.ALIASES == {"configurations": "augeas"} and osquery_schema.ALIASES["configurations"] == "augeas"


def test_unknown_table_and_column_are_sqlites_errors_like_osquery(standin, node):
    assert query(standin, node, "SELECT * FROM no_such_thing") == (None, "no such table: no_such_thing")
    assert query(standin, node, "SELECT mac FROM interface_addresses") == (None, "no such column: mac")
    assert query(standin, node, "SELEC 1")[1] == 'near "SELEC": syntax error'


def test_values_come_back_as_strings_and_types_follow_osquery(standin, node, tmp_path, monkeypatch):
    passwd = tmp_path / "passwd"
    passwd.write_text("root:x:0:0:root:/root:/bin/bash\nops:x:1000:1000:Ops,,,:/home/ops:/bin/bash\n")
    monkeypatch.setattr(standin, "PASSWD", str(passwd))
    rows, error = query(standin, node, "SELECT username, uid, uid + 1 AS next FROM users WHERE uid > 999")
    assert error is None and rows == [{"username": "ops", "uid": "1000", "next": "1001"}]
    rows, _error = query(standin, node, "SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM users WHERE uid = 0 "
                                        "AND username <> 'root')")
    assert rows == [{"1": "1"}]


def test_file_without_path_or_directory_fails_like_osquery(standin, node):
    assert query(standin, node, "SELECT * FROM file WHERE mode = '0777'") == \
        (None, "Table file was queried without a required column in the WHERE clause")


def test_file_reads_only_the_paths_its_constraints_name(standin, node, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "b").mkdir()
    (tmp_path / "a" / "one.conf").write_text("1")
    (tmp_path / "a" / "b" / "deep.conf").write_text("2")
    os.chmod(str(tmp_path / "a" / "b" / "deep.conf"), 0o646)
    base = str(tmp_path)
    rows, error = query(standin, node, "SELECT path, type, mode FROM file WHERE path = '%s/a/one.conf'" % base)
    assert error is None and rows == [{"path": base + "/a/one.conf", "type": "regular", "mode": "0644"}]
    # % matches within one level: a/one.conf and the directory a/b, not a/b/deep.conf.
    rows, _error = query(standin, node, "SELECT path FROM file WHERE path LIKE '%s/a/%%'" % base)
    assert sorted(r["path"] for r in rows) == [base + "/a/b", base + "/a/one.conf"]
    # A trailing %% recurses.
    rows, _error = query(standin, node, "SELECT path, mode FROM file WHERE path LIKE '%s/a/%%%%' "
                                        "AND substr(mode, -1) IN ('2', '3', '6', '7')" % base)
    assert rows == [{"path": base + "/a/b/deep.conf", "mode": "0646"}]
    rows, _error = query(standin, node, "SELECT filename FROM file WHERE directory = '%s/a'" % base)
    assert sorted(r["filename"] for r in rows) == ["b", "one.conf"]
    rows, _error = query(standin, node, "SELECT path FROM file f WHERE f.path IN ('%s/a/one.conf', '%s/none')"
                         % (base, base))
    assert rows == [{"path": base + "/a/one.conf"}]


def test_file_follows_a_symlink_for_mode_and_type_as_osquery_does(standin, node, tmp_path):
    target = tmp_path / "target"
    target.write_text("x")
    os.chmod(str(target), 0o600)
    (tmp_path / "link").symlink_to(target)
    rows, _error = query(standin, node, "SELECT symlink, type, mode, symlink_target_path FROM file "
                                        "WHERE path = '%s/link'" % tmp_path)
    assert rows == [{"symlink": "1", "type": "regular", "mode": "0600", "symlink_target_path": str(target)}]


def test_augeas_reads_sshd_config_like_the_sshd_lens(standin, node, tmp_path, monkeypatch):
    main = tmp_path / "sshd_config"
    main.write_text("# comment\nInclude /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin prohibit-password\n"
                    "Match User backup\n    PasswordAuthentication yes\n")
    dropin = tmp_path / "sshd_config.d"
    dropin.mkdir()
    (dropin / "60-gough.conf").write_text("PermitRootLogin no\nPasswordAuthentication=no\n")
    monkeypatch.setattr(standin, "AUGEAS_FILES", {"sshd": [str(main), str(dropin / "*.conf")]})
    rows, error = query(standin, node, "SELECT node, label, value FROM augeas WHERE lower(label) IN "
                                       "('permitrootlogin', 'passwordauthentication') ORDER BY node")
    assert error is None
    assert rows == [  # ORDER BY node: "sshd_config.d/" sorts before "sshd_config/"
        {"node": "/files%s/60-gough.conf/PasswordAuthentication" % dropin, "label": "PasswordAuthentication",
         "value": "no"},
        {"node": "/files%s/60-gough.conf/PermitRootLogin" % dropin, "label": "PermitRootLogin", "value": "no"},
        {"node": "/files%s/Match/Settings/PasswordAuthentication" % main, "label": "PasswordAuthentication",
         "value": "yes"},
        {"node": "/files%s/PermitRootLogin" % main, "label": "PermitRootLogin", "value": "prohibit-password"},
    ]
    # A path constraint narrows the files read; configurations is osquery's alias of augeas.
    rows, _error = query(standin, node, "SELECT DISTINCT path FROM configurations WHERE path LIKE '%s/%%.conf'"
                         % dropin)
    assert rows == [{"path": str(dropin / "60-gough.conf")}]


def test_augeas_reads_apt_conf_like_the_aptconf_lens(standin, node, tmp_path, monkeypatch):
    (tmp_path / "20auto-upgrades").write_text('APT::Periodic::Update-Package-Lists "1";\n'
                                              'APT::Periodic::Unattended-Upgrade "1";\n')
    (tmp_path / "50nested").write_text('// comment\nUnattended-Upgrade {\n  Mail "root";\n};\n')
    monkeypatch.setattr(standin, "AUGEAS_FILES", {"aptconf": [str(tmp_path / "*")]})
    rows, _error = query(standin, node, "SELECT node, value FROM augeas WHERE value <> '' ORDER BY node")
    assert rows == [
        {"node": "/files%s/20auto-upgrades/APT[1]/Periodic/Update-Package-Lists" % tmp_path, "value": "1"},
        {"node": "/files%s/20auto-upgrades/APT[2]/Periodic/Unattended-Upgrade" % tmp_path, "value": "1"},
        {"node": "/files%s/50nested/Unattended-Upgrade/Mail" % tmp_path, "value": "root"},
    ]


def test_deb_packages_from_dpkg_status(standin, node, tmp_path, monkeypatch):
    status = tmp_path / "status"
    status.write_text("Package: unattended-upgrades\nStatus: install ok installed\nPriority: optional\n"
                      "Section: admin\nInstalled-Size: 300\nMaintainer: Debian\nArchitecture: all\n"
                      "Version: 2.12\nDescription: automatic installation\n of security upgrades\n\n"
                      "Package: gone\nStatus: deinstall ok config-files\nVersion: 1.0-2\n\n"
                      "Package: never\nStatus: purge ok not-installed\n")
    monkeypatch.setattr(standin, "DPKG_STATUS", str(status))
    rows, _error = query(standin, node, "SELECT name, status, revision, admindir FROM deb_packages ORDER BY name")
    assert rows == [{"name": "gone", "status": "deinstall ok config-files", "revision": "2", "admindir": str(tmp_path)},
                    {"name": "unattended-upgrades", "status": "install ok installed", "revision": "",
                     "admindir": str(tmp_path)}]


def test_systemd_units_from_systemctl_show(standin):
    rows = standin.parse_systemctl_show(
        "Id=nftables.service\nDescription=nftables\nLoadState=loaded\nActiveState=active\nSubState=exited\n"
        "UnitFileState=enabled\nFragmentPath=/usr/lib/systemd/system/nftables.service\nJob=\n\n"
        "Id=chrony.service\nActiveState=inactive\nSubState=dead\n")
    assert [(r["id"], r["active_state"], r["sub_state"]) for r in rows] == \
        [("nftables.service", "active", "exited"), ("chrony.service", "inactive", "dead")]
    assert rows[0]["object_path"] == "/org/freedesktop/systemd1/unit/nftables_2eservice"


def test_processes_include_this_process(standin, node):
    rows, error = query(standin, node, "SELECT pid, parent, cmdline FROM processes WHERE pid = %d" % os.getpid())
    assert error is None and rows[0]["pid"] == str(os.getpid()) and rows[0]["parent"] == str(os.getppid())


def test_query_cli_prints_json_rows_or_an_error(tmp_path):
    env = dict(os.environ, OSQUERYD_LAB_STATE_DIR=str(tmp_path))
    ok = subprocess.run([sys.executable, STANDIN, "--query", "SELECT 1 AS one, 'a' AS two"], capture_output=True,
                        text=True, env=env, timeout=30, check=False)
    assert ok.returncode == 0 and json.loads(ok.stdout) == [{"one": "1", "two": "a"}]
    bad = subprocess.run([sys.executable, STANDIN, "--query", "SELECT * FROM nope"], capture_output=True, text=True,
                         env=env, timeout=30, check=False)
    assert bad.returncode == 1 and bad.stderr.strip() == "Error: no such table: nope"
