"""The Fleet emulator's filesystem log plugin: osquery result and status logs to files as Fleet writes them (one
JSON object per line) and rotates them (lumberjack: backup names with the UTC time, gzip, max backups and age)."""

import datetime
import gzip
import json
import os
import stat

import pytest

from gough_lab.fleet.filelog import MEGABYTE, FilesystemLogWriter
from gough_lab.fleet.testing import FakeOsqueryHost, start_fleet_emulator


class Clock:
    """A UTC clock the test moves forward."""

    def __init__(self):
        self.now = datetime.datetime(2026, 1, 31, 2, 0, 0, 123456, tzinfo=datetime.timezone.utc)

    def __call__(self):
        return self.now

    def advance(self, **delta):
        """Move the clock forward by ``delta`` (datetime.timedelta keywords)."""
        self.now += datetime.timedelta(**delta)


def _lines(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle.read().splitlines()]


def test_records_are_appended_one_json_object_per_line_without_rotation(tmp_path):
    """Fleet's filesystem plugin without rotation: the file only grows (mode 0644, as Fleet opens it)."""
    path = str(tmp_path / "osqueryd.results.log")
    writer = FilesystemLogWriter(path)
    writer.write([{"name": "pack/users", "action": "added", "columns": {"username": "ops"}}])
    writer.write([{"name": "pack/users", "action": "removed", "columns": {"username": "root"}},
                  {"snapshot": [], "name": "pack/empty"}])
    with open(path, encoding="utf-8") as handle:
        raw = handle.read()
    assert raw.count("\n") == 3 and raw.endswith("\n") and "\n\n" not in raw
    assert [line["name"] for line in _lines(path)] == ["pack/users", "pack/users", "pack/empty"]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644


def test_rotation_at_max_size_names_the_backup_with_the_utc_time_like_lumberjack(tmp_path):
    """lumberjack rotates before a write that would pass MaxSize megabytes; the backup is <name>-<time><ext>."""
    clock = Clock()
    path = str(tmp_path / "osqueryd.status.log")
    writer = FilesystemLogWriter(path, rotate=True, max_size=1, max_backups=0, max_age=0, clock=clock)
    record = {"severity": "0", "message": "x" * 1000}
    line = len(json.dumps(record, separators=(",", ":"))) + 1
    per_file = MEGABYTE // line
    writer.write([record] * per_file)
    assert not writer.backups() and os.path.getsize(path) == per_file * line
    writer.write([record])
    backup = str(tmp_path / "osqueryd.status-2026-01-31T02-00-00.123.log")
    assert [p for _t, p in writer.backups()] == [backup]
    assert len(_lines(backup)) == per_file and len(_lines(path)) == 1
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600  # lumberjack's new files


def test_compressed_backups_beyond_max_backups_or_older_than_max_age_are_deleted(tmp_path):
    """Rotated files are gzipped; only the newest MaxBackups are kept, and none older than MaxAge days."""
    clock = Clock()
    path = str(tmp_path / "osqueryd.results.log")
    writer = FilesystemLogWriter(path, rotate=True, compress=True, max_size=1, max_backups=2, max_age=3, clock=clock)
    big = {"name": "pack/big", "columns": {"blob": "y" * (MEGABYTE * 4 // 10)}}
    for step in range(4):
        # Two records fit in a file: from the second step on, the first record of a step rotates.
        writer.write([dict(big, step=step), dict(big, step=step)])
        clock.advance(hours=1)
    names = [os.path.basename(p) for _t, p in writer.backups()]
    assert names == ["osqueryd.results-2026-01-31T04-00-00.123.log.gz", "osqueryd.results-2026-01-31T05-00-00.123.log.gz"]
    assert [line["step"] for line in _lines(str(tmp_path / names[-1]))] == [2, 2]
    assert [line["step"] for line in _lines(path)] == [3, 3]
    # Four days later every backup is past MaxAge: the next rotation deletes them all but the new one.
    clock.advance(days=4)
    writer.write([dict(big, step=9)])
    assert [os.path.basename(p) for _t, p in writer.backups()] == ["osqueryd.results-2026-02-04T06-00-00.123.log.gz"]


def test_a_record_larger_than_max_size_is_refused_like_lumberjack(tmp_path):
    writer = FilesystemLogWriter(str(tmp_path / "r.log"), rotate=True, max_size=1)
    with pytest.raises(ValueError, match="exceeds maximum file size"):
        writer.write([{"blob": "z" * MEGABYTE}])


@pytest.mark.parametrize("options", [{"max_size": 0}, {"max_age": -1}, {"max_backups": -1}])
def test_bad_limits_are_refused(tmp_path, options):
    with pytest.raises(ValueError):
        FilesystemLogWriter(str(tmp_path / "r.log"), **options)


def test_emulator_writes_the_logs_hosts_send_to_the_files_named_on_its_command_line(tmp_path):
    """gough-lab fleet serve --filesystem_status_log_file/--filesystem_result_log_file: what a host POSTs to
    /api/osquery/log lands in the file of its log_type, and /_lab/logs still has it."""
    status, result = tmp_path / "logs" / "osqueryd.status.log", tmp_path / "logs" / "osqueryd.results.log"
    fleet = start_fleet_emulator(tmp_path / "fleet", extra_args=[
        "--filesystem_status_log_file", str(status), "--filesystem_result_log_file", str(result),
        "--filesystem_enable_log_rotation", "--filesystem_max_backups", "5"])
    try:
        host = FakeOsqueryHost(fleet, "node-logs")
        host.enroll()
        host.checkin()  # sends its status records (the enrollment's and the check-in's)
        rows = [{"name": "pack/gough/users", "hostIdentifier": host.identifier, "action": "added",
                 "columns": {"username": "ops"}}]
        assert fleet.osquery("log", {"node_key": host.node_key, "log_type": "result", "data": rows}).status == 200
        assert _lines(str(result)) == rows
        assert [(line["severity"], line["hostIdentifier"]) for line in _lines(str(status))
                if line["message"] == "fake check-in"] == [("0", host.identifier)]
        assert fleet.logs()  # the in-memory view is unchanged
    finally:
        fleet.stop()
