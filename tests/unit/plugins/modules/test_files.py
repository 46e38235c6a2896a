# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""gough.gough.files run in-process on real files in a temporary directory."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import grp
import json
import os
import pwd
import stat

import pytest

from ansible_collections.gough.gough.plugins.modules import files as files_module


def _mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def _runner(run_module, return_doc_problems):
    def run(files, check=False, diff=False):
        result = run_module(files_module, {"files": files, "_ansible_check_mode": check, "_ansible_diff": diff})
        assert return_doc_problems(files_module, result) == []
        return result
    return run


@pytest.fixture
def keep(run_module, return_doc_problems):
    """``keep(entries, check=, diff=)`` runs the module and checks its result against RETURN."""
    return _runner(run_module, return_doc_problems)


def test_writes_what_is_missing_then_a_rerun_changes_nothing(keep, tmp_path):
    conf, token = str(tmp_path / "app.conf"), str(tmp_path / "token")
    files = [{"path": conf, "content": "a = 1\n", "mode": "0644", "tag": "app"},
             {"path": token, "secret": "s3cr3t-value", "mode": "0600", "tag": "app"},
             {"path": str(tmp_path / "plain"), "content": "x", "mode": "0640"}]
    first = keep(files)
    assert first["changed"] is True
    assert first["changed_tags"] == ["app"]
    assert [entry["differs"] for entry in first["files"]] == [["exists"], ["exists"], ["exists"]]
    with open(conf) as stream:
        assert stream.read() == "a = 1\n"
    with open(token) as stream:
        assert stream.read() == "s3cr3t-value"
    assert (_mode(conf), _mode(token), _mode(str(tmp_path / "plain"))) == (0o644, 0o600, 0o640)
    # No temporary file is left behind.
    assert sorted(os.listdir(str(tmp_path))) == ["app.conf", "plain", "token"]

    again = keep(files)
    assert again["changed"] is False
    assert again["changed_tags"] == []
    assert all(entry["changed"] is False and entry["differs"] == [] for entry in again["files"])


def test_the_secret_is_in_no_result_and_no_diff(keep, tmp_path):
    token = str(tmp_path / "token")
    with open(token, "w") as stream:
        stream.write("old-secret-value")
    result = keep([{"path": token, "secret": "new-secret-value", "mode": "0600"}], diff=True)
    text = json.dumps(result)
    assert "new-secret-value" not in text and "old-secret-value" not in text
    assert result["diff"] == [{"before_header": token, "after_header": token, "before": "(secret)\n",
                               "after": "(secret; content, mode changed)\n"}]
    with open(token) as stream:
        assert stream.read() == "new-secret-value"


def test_check_mode_reports_and_writes_nothing_and_diff_shows_the_content(keep, tmp_path):
    conf = str(tmp_path / "app.conf")
    with open(conf, "w") as stream:
        stream.write("a = 1\n")
    os.chmod(conf, 0o644)
    gone = str(tmp_path / "old.conf")
    with open(gone, "w") as stream:
        stream.write("old\n")
    result = keep([{"path": conf, "content": "a = 2\n", "mode": "0644", "tag": "app"},
                   {"path": gone, "state": "absent", "tag": "cleanup"},
                   {"path": str(tmp_path / "new.conf"), "content": "n\n", "mode": "0644"}],
                  check=True, diff=True)
    assert result["changed"] is True
    assert result["changed_tags"] == ["app", "cleanup"]
    assert [entry["differs"] for entry in result["files"]] == [["content"], ["exists"], ["exists"]]
    assert result["diff"][0] == {"before_header": conf, "after_header": conf, "before": "a = 1\n", "after": "a = 2\n"}
    with open(conf) as stream:
        assert stream.read() == "a = 1\n"
    assert os.path.exists(gone) and not os.path.exists(str(tmp_path / "new.conf"))


def test_a_mode_alone_is_put_right_without_rewriting_the_file(keep, tmp_path):
    conf = str(tmp_path / "app.conf")
    with open(conf, "w") as stream:
        stream.write("a = 1\n")
    os.chmod(conf, 0o666)
    inode = os.stat(conf).st_ino
    result = keep([{"path": conf, "content": "a = 1\n", "mode": "0644"}])
    assert result["files"][0]["differs"] == ["mode"]
    assert _mode(conf) == 0o644
    assert os.stat(conf).st_ino == inode


def test_owner_and_group_by_name_and_by_number(keep, tmp_path):
    me = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(os.getgid()).gr_name
    conf = str(tmp_path / "app.conf")
    first = keep([{"path": conf, "content": "a\n", "mode": "0644", "owner": me, "group": group}])
    assert first["files"][0]["differs"] == ["exists"]
    assert (os.stat(conf).st_uid, os.stat(conf).st_gid) == (os.getuid(), os.getgid())
    again = keep([{"path": conf, "content": "a\n", "mode": "0644", "owner": str(os.getuid()),
                   "group": str(os.getgid())}])
    assert again["changed"] is False


def test_a_link_is_replaced_by_the_file_and_its_target_left_alone(keep, tmp_path):
    target, link = str(tmp_path / "target"), str(tmp_path / "link")
    with open(target, "w") as stream:
        stream.write("target\n")
    os.symlink(target, link)
    result = keep([{"path": link, "content": "file\n", "mode": "0644"}])
    assert result["files"][0]["differs"] == ["type"]
    assert not os.path.islink(link)
    with open(target) as stream:
        assert stream.read() == "target\n"


def test_absent_removes_a_file_and_is_quiet_when_it_is_gone(keep, tmp_path):
    old = str(tmp_path / "old.conf")
    with open(old, "w") as stream:
        stream.write("old\n")
    assert keep([{"path": old, "state": "absent"}])["changed"] is True
    assert not os.path.exists(old)
    assert keep([{"path": old, "state": "absent"}])["changed"] is False


def _fails(run_module, files):
    result = run_module(files_module, {"files": files})
    assert result.get("failed") is True, result
    return result["msg"]


def test_every_entry_is_checked_before_the_first_write(run_module, tmp_path):
    good = str(tmp_path / "good.conf")
    missing_dir = str(tmp_path / "nodir" / "x.conf")
    msg = _fails(run_module, [{"path": good, "content": "a\n", "mode": "0644"},
                              {"path": missing_dir, "content": "b\n", "mode": "0644"}])
    assert missing_dir in msg and "does not exist" in msg
    assert not os.path.exists(good)


def test_bad_entries_fail_naming_the_path(run_module, tmp_path):
    conf = str(tmp_path / "a.conf")
    os.mkdir(str(tmp_path / "adir"))
    cases = [
        ([{"path": conf, "content": "a", "mode": "644x"}], "mode must be an octal string"),
        ([{"path": conf, "content": "a", "mode": "0644", "owner": "no-such-user-gough"}], "no user named"),
        ([{"path": conf, "content": "a", "mode": "0644", "group": "no-such-group-gough"}], "no group named"),
        ([{"path": conf, "mode": "0644"}], "give one of content and secret"),
        ([{"path": conf, "content": "a", "secret": "a-longer-secret", "mode": "0644"}], "give one of content and secret"),
        ([{"path": conf, "content": "a"}], "mode is required"),
        ([{"path": conf, "state": "absent", "mode": "0644"}], "mode is only for state=present"),
        ([{"path": str(tmp_path / "adir"), "content": "a", "mode": "0644"}], "is not a regular file"),
        ([{"path": str(tmp_path / "adir"), "state": "absent"}], "is not a regular file"),
        ([{"path": "relative.conf", "content": "a", "mode": "0644"}], "path must be absolute"),
        ([{"path": conf, "content": "a", "mode": "0644"}, {"path": conf + "/", "content": "b", "mode": "0644"}],
         "given more than once"),
    ]
    for files, expected in cases:
        msg = _fails(run_module, files)
        assert expected in msg, (files, msg)
        assert files[-1]["path"].rstrip("/") in msg or files[0]["path"] in msg, msg
    assert not os.path.exists(conf)


def test_validate_runs_before_the_first_write_and_only_for_new_content(run_module, tmp_path):
    first, checked = str(tmp_path / "first.conf"), str(tmp_path / "checked.conf")
    with open(checked, "w") as stream:
        stream.write("good\n")
    os.chmod(checked, 0o644)
    # grep -q good %s: passes when the new content says "good".
    msg = _fails(run_module, [{"path": first, "content": "one\n", "mode": "0644"},
                              {"path": checked, "content": "bad\n", "mode": "0644", "validate": "grep -q good %s"}])
    assert checked in msg and "failed validation" in msg and "exit 1" in msg
    assert not os.path.exists(first)
    with open(checked) as stream:
        assert stream.read() == "good\n"
    assert sorted(os.listdir(str(tmp_path))) == ["checked.conf"]
    # A mode change alone does not run it (a command that always fails would fail the task).
    os.chmod(checked, 0o600)
    result = run_module(files_module, {"files": [{"path": checked, "content": "good\n", "mode": "0644",
                                                  "validate": "false %s"}]})
    assert result["files"][0]["differs"] == ["mode"] and not result.get("failed")
    passed = run_module(files_module, {"files": [{"path": checked, "content": "still good\n", "mode": "0644",
                                                  "validate": "grep -q good %s"}]})
    assert passed["changed"] is True and not passed.get("failed")
    assert "%s" in _fails(run_module, [{"path": checked, "content": "x\n", "mode": "0644", "validate": "true"}])


def test_directories_are_made_before_the_files_in_them_and_kept(keep, run_module, tmp_path):
    conf_dir = str(tmp_path / "etc" / "app")
    conf = os.path.join(conf_dir, "app.conf")
    entries = [{"path": conf_dir, "state": "directory", "mode": "0750"},
               {"path": conf, "content": "a\n", "mode": "0640", "tag": "app"}]
    checked = keep(entries, check=True)
    assert [entry["differs"] for entry in checked["files"]] == [["exists"], ["exists"]]
    assert not os.path.exists(str(tmp_path / "etc"))
    made = keep(entries)
    assert made["changed_tags"] == ["app"]
    assert _mode(conf_dir) == 0o750 and _mode(conf) == 0o640
    os.chmod(conf_dir, 0o755)
    again = keep(entries)
    assert [entry["differs"] for entry in again["files"]] == [["mode"], []]
    assert _mode(conf_dir) == 0o750
    assert keep(entries)["changed"] is False
    # A file where the directory should be is refused, naming it.
    plain = str(tmp_path / "plain")
    with open(plain, "w") as stream:
        stream.write("x")
    msg = _fails(run_module, [{"path": plain, "state": "directory", "mode": "0755"}])
    assert plain in msg and "is not a directory" in msg
    assert "content is only for state=present" in _fails(
        run_module, [{"path": conf_dir, "state": "directory", "mode": "0755", "content": "x"}])


def test_a_link_to_a_directory_is_followed_as_ansible_file_does(keep, run_module, tmp_path):
    # A data directory on another disk, linked into place: its target gets the mode; the link stays a link.
    target = tmp_path / "disk" / "backups"
    target.mkdir(parents=True, mode=0o755)
    os.chmod(str(target), 0o755)
    link = str(tmp_path / "backups")
    os.symlink(str(target), link)
    checked = keep([{"path": link, "state": "directory", "mode": "0700"}], check=True, diff=True)
    assert checked["files"][0]["differs"] == ["mode"] and _mode(str(target)) == 0o755
    assert checked["diff"][0]["after"] == "(directory; mode changed)\n"
    result = keep([{"path": link, "state": "directory", "mode": "0700"}])
    assert result["files"][0]["differs"] == ["mode"]
    assert os.path.islink(link) and _mode(str(target)) == 0o700
    assert keep([{"path": link, "state": "directory", "mode": "0700"}])["changed"] is False
    # A link to something that is not a directory (missing, or a file) is still refused.
    dangling = str(tmp_path / "dangling")
    os.symlink(str(tmp_path / "nowhere"), dangling)
    to_file = str(tmp_path / "to-file")
    (tmp_path / "a-file").write_text("x")
    os.symlink(str(tmp_path / "a-file"), to_file)
    for path in (dangling, to_file):
        msg = _fails(run_module, [{"path": path, "state": "directory", "mode": "0755"}])
        assert path in msg and "is not a directory" in msg


def test_a_directory_listed_before_its_missing_parent_makes_both_with_their_modes(keep, tmp_path):
    parent = str(tmp_path / "base")
    child = os.path.join(parent, "logs")
    entries = [{"path": child, "state": "directory", "mode": "0750"},
               {"path": parent, "state": "directory", "mode": "0711"}]
    made = keep(entries)
    assert [entry["differs"] for entry in made["files"]] == [["exists"], ["exists"]]
    assert _mode(child) == 0o750 and _mode(parent) == 0o711
    assert keep(entries)["changed"] is False


def test_a_file_may_be_in_a_missing_parent_of_a_listed_directory(keep, tmp_path):
    # The directory's missing parents are made with it, so a file in one of them can follow in the same list.
    deep = str(tmp_path / "base" / "a" / "b")
    beside = str(tmp_path / "base" / "a" / "note")
    entries = [{"path": deep, "state": "directory", "mode": "0755"},
               {"path": beside, "content": "x\n", "mode": "0644"}]
    assert [entry["differs"] for entry in keep(entries, check=True)["files"]] == [["exists"], ["exists"]]
    made = keep(entries)
    assert made["changed"] is True and os.path.isdir(deep) and open(beside).read() == "x\n"
    assert keep(entries)["changed"] is False


def test_check_mode_takes_a_directory_user_or_group_an_earlier_task_would_make(keep, tmp_path):
    """A real run fails on an unknown group or a missing directory (see above); check mode reports the entry as
    differing instead, since an earlier task of the run (the role's user, group or directory tasks) would have
    made it."""
    directory, conf = str(tmp_path / "etc"), str(tmp_path / "app.conf")
    with open(conf, "w") as stream:
        stream.write("a\n")
    os.chmod(conf, 0o640)
    result = keep([{"path": directory, "state": "directory", "mode": "0750", "group": "no-such-group-gough"},
                   {"path": conf, "content": "a\n", "mode": "0640", "owner": "no-such-user-gough"},
                   {"path": str(tmp_path / "later" / "b.conf"), "content": "b\n", "mode": "0644"}], check=True)
    assert [entry["differs"] for entry in result["files"]] == [["exists"], ["owner"], ["exists"]]
    assert not os.path.exists(directory)
