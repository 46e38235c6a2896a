"""Fleet's ``filesystem`` log plugin for osquery result and status logs, as the emulator's option.

Fleet (``--filesystem_result_log_file``, ``--filesystem_status_log_file``) appends every record osquery sent to
``POST /api/osquery/log`` to a file, one JSON object per line. With ``--filesystem_enable_log_rotation`` it hands
the file to lumberjack: when a write would take the file past ``--filesystem_max_size`` megabytes, the file is
renamed to ``<name>-<UTC time as 2006-01-02T15-04-05.000><ext>`` and a new one (mode 0600) is started; backups are
gzipped (``.gz``) with ``--filesystem_enable_log_compression``, those beyond ``--filesystem_max_backups`` (newest
kept) or older than ``--filesystem_max_age`` days (by the time in their name) are deleted; 0 disables either limit.
Without rotation the file grows (mode 0644). This module does the same, synchronously.
"""

import datetime
import gzip
import json
import os
import re
import shutil
import threading

MEGABYTE = 1024 * 1024
# lumberjack's backupTimeFormat (Go's reference time 2006-01-02T15-04-05.000), always UTC here (LocalTime false).
_BACKUP_TIME = "%Y-%m-%dT%H-%M-%S"


class FilesystemLogWriter:
    """Append osquery log records to ``path`` the way Fleet's filesystem plugin does (see the module docstring)."""

    def __init__(self, path, *, rotate=False, compress=False, max_size=500, max_age=28, max_backups=3, clock=None):
        if max_size <= 0 or max_age < 0 or max_backups < 0:
            raise ValueError("max_size must be positive, max_age and max_backups zero or more")
        self.path = path
        self.rotate = rotate
        self.compress = compress
        self.max_bytes = max_size * MEGABYTE
        self.max_age = max_age
        self.max_backups = max_backups
        self._clock = clock or (lambda: datetime.datetime.now(datetime.timezone.utc))
        self._lock = threading.Lock()
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        stem, self._ext = os.path.splitext(os.path.basename(path))
        self._backup = re.compile(r"^%s-(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}\.\d{3})%s(\.gz)?$"
                                  % (re.escape(stem), re.escape(self._ext)))
        self._stem = stem
        self._dir = directory

    def write(self, records):
        """Append each record (a decoded JSON value) as one line; rotate first when a line would not fit."""
        with self._lock:
            for record in records:
                line = (json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n").encode()
                if self.rotate:
                    if len(line) > self.max_bytes:
                        # lumberjack refuses a write larger than the whole file may be (Fleet logs the error).
                        raise ValueError("write length %d exceeds maximum file size %d" % (len(line), self.max_bytes))
                    size = os.path.getsize(self.path) if os.path.exists(self.path) else 0
                    if size + len(line) > self.max_bytes:
                        self._rotate()
                mode = 0o600 if self.rotate else 0o644
                descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, mode)
                with os.fdopen(descriptor, "ab") as handle:
                    handle.write(line)

    def backups(self):
        """The rotated files next to the log, oldest first, as (UTC time, path)."""
        found = []
        for name in os.listdir(self._dir):
            match = self._backup.match(name)
            if match:
                stamp = datetime.datetime.strptime(match.group(1)[:-4], _BACKUP_TIME).replace(
                    microsecond=int(match.group(1)[-3:]) * 1000, tzinfo=datetime.timezone.utc)
                found.append((stamp, os.path.join(self._dir, name)))
        return sorted(found)

    def _rotate(self):
        now = self._clock()
        stamp = now.strftime(_BACKUP_TIME) + ".%03d" % (now.microsecond // 1000)
        backup = os.path.join(self._dir, "%s-%s%s" % (self._stem, stamp, self._ext))
        os.replace(self.path, backup)
        if self.compress:
            with open(backup, "rb") as source, gzip.open(backup + ".gz", "wb") as target:
                shutil.copyfileobj(source, target)
            shutil.copymode(backup, backup + ".gz")
            os.unlink(backup)
        backups = self.backups()
        doomed = set()
        if self.max_backups:
            doomed.update(path for _stamp, path in backups[:-self.max_backups])
        if self.max_age:
            cutoff = now - datetime.timedelta(days=self.max_age)
            doomed.update(path for stamp, path in backups if stamp < cutoff)
        for path in doomed:
            os.unlink(path)


def writers_from_args(args):
    """{"result": writer, "status": writer} for the log files the command line names (either may be missing)."""
    writers = {}
    for log_type, path in (("result", args.filesystem_result_log_file), ("status", args.filesystem_status_log_file)):
        if path:
            writers[log_type] = FilesystemLogWriter(
                path, rotate=args.filesystem_enable_log_rotation, compress=args.filesystem_enable_log_compression,
                max_size=args.filesystem_max_size, max_age=args.filesystem_max_age,
                max_backups=args.filesystem_max_backups)
    return writers
