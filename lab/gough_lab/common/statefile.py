"""An emulator's state directory as one tar stream, and the check a restore runs on a scratch copy of it.

``gough-lab maas|fleet|awx dump-state`` are the lab's ``pg_dump``/``mysqldump``: they run
next to the live emulator (``docker exec``) and write its state directory to stdout as a tar stream, with every
sqlite database copied through sqlite's online backup API, so the copy is consistent while the emulator writes.
``check-state`` is the lab's "load the dump into a scratch database": ``PRAGMA integrity_check`` on each database,
then the emulator's own classes open the directory and count what they find.
"""

import io
import json
import os
import sqlite3
import tarfile
import time

SQLITE_SUFFIX = ".sqlite3"
# sqlite's side files: the online backup already holds their content, and a stale one must never be restored.
SIDE_SUFFIXES = ("-wal", "-shm", "-journal")


class StateError(Exception):
    """A state directory that cannot be dumped or opened; the message names the file."""


def snapshot(path):
    """The bytes of a consistent copy of the sqlite database at ``path`` (online backup into memory)."""
    source = sqlite3.connect(path, timeout=30)
    try:
        copy = sqlite3.connect(":memory:")
        try:
            source.backup(copy)
            return copy.serialize()
        finally:
            copy.close()
    finally:
        source.close()


def dump_state(state_dir, out):
    """Write ``state_dir`` to the binary stream ``out`` as a tar (paths relative to it, modes kept, owner 0).

    Databases (``*.sqlite3``) are consistent snapshots; sqlite's ``-wal``/``-shm``/``-journal`` files are left out.
    Returns the number of files written.
    """
    if not os.path.isdir(state_dir):
        raise StateError("%s: not a state directory" % state_dir)
    count = 0
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as archive:
        for root, dirs, files in os.walk(state_dir):
            dirs.sort()
            rel_root = os.path.relpath(root, state_dir)
            if rel_root != ".":
                info = archive.gettarinfo(root, rel_root)
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                archive.addfile(info)
            for name in sorted(files):
                path = os.path.join(root, name)
                rel = os.path.normpath(os.path.join(rel_root, name))
                if name.endswith(SIDE_SUFFIXES) or not os.path.isfile(path):
                    continue
                if name.endswith(SQLITE_SUFFIX):
                    try:
                        data = snapshot(path)
                    except sqlite3.Error as exc:
                        raise StateError("%s: cannot copy the database: %s" % (path, exc)) from exc
                    info = tarfile.TarInfo(rel)
                    info.size = len(data)
                    info.mode = 0o600
                    info.mtime = int(time.time())
                    archive.addfile(info, io.BytesIO(data))
                else:
                    info = archive.gettarinfo(path, rel)
                    info.uid = info.gid = 0
                    info.uname = info.gname = ""
                    with open(path, "rb") as handle:
                        archive.addfile(info, handle)
                count += 1
    return count


def integrity_check(path):
    """Raise StateError unless ``PRAGMA integrity_check`` of the database at ``path`` answers ``ok``."""
    try:
        db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
        try:
            rows = [row[0] for row in db.execute("PRAGMA integrity_check")]
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise StateError("%s: not a usable sqlite database: %s" % (path, exc)) from exc
    if rows != ["ok"]:
        raise StateError("%s: integrity_check failed: %s" % (path, "; ".join(rows[:5])))


def _database(state_dir, name):
    path = os.path.join(state_dir, name)
    if not os.path.isfile(path):
        raise StateError("%s: missing" % path)
    integrity_check(path)
    return path


def check_maas(state_dir):
    """Open a MAAS emulator state directory as the emulator does; return counts of what it holds."""
    # pylint: disable=import-outside-toplevel
    from gough_lab.maas.backend import SimulatedBackend
    from gough_lab.maas.config import LabConfig
    from gough_lab.maas.region import Region
    from gough_lab.maas.store import Store

    path = _database(state_dir, "maas.sqlite3")
    try:
        store = Store(path)
        try:
            config = LabConfig()
            region = Region(store, config, SimulatedBackend(config, 1))
            return {"database": path, "machines": len(region.machines), "tags": len(region.tags),
                    "users": len(region.users)}
        finally:
            store.close()
    except (sqlite3.Error, ValueError, KeyError, TypeError) as exc:
        raise StateError("%s: the MAAS emulator cannot open it: %s" % (path, exc)) from exc


def check_fleet(state_dir):
    """Open a Fleet emulator state directory as the emulator does; return counts of what it holds."""
    # pylint: disable=import-outside-toplevel
    from gough_lab.fleet.config import LabConfig
    from gough_lab.fleet.service import Fleet
    from gough_lab.fleet.store import Store

    path = _database(state_dir, "fleet.sqlite3")
    try:
        store = Store(path)
        try:
            fleet = Fleet(store, LabConfig())
            if store.get_meta("bootstrap") is None:
                raise StateError("%s: no bootstrap record (admin, API token, enroll secret)" % path)
            return {"database": path, "hosts": len(fleet.hosts), "users": len(fleet.users),
                    "enroll_secrets": len(store.get_meta("global_secrets", []))}
        finally:
            store.close()
    except (sqlite3.Error, ValueError, KeyError, TypeError) as exc:
        raise StateError("%s: the Fleet emulator cannot open it: %s" % (path, exc)) from exc


def check_awx(state_dir):
    """Open an AWX emulator state directory as the emulator does; return counts of what it holds."""
    # pylint: disable=import-outside-toplevel
    from gough_lab.awx.store import DATABASE, Store

    path = _database(state_dir, DATABASE)
    try:
        store = Store(state_dir)
        try:
            objects = store.data["objects"]
            if not objects["users"]:
                raise StateError("%s: no users (the admin is made on first start)" % path)
            return {"database": path, "users": len(objects["users"]), "organizations": len(objects["organizations"]),
                    "job_templates": len(objects["job_templates"]), "jobs": len(store.data["jobs"])}
        finally:
            store.close()
    except (sqlite3.Error, ValueError, KeyError, TypeError) as exc:
        raise StateError("%s: the AWX emulator cannot open it: %s" % (path, exc)) from exc


CHECKS = {"maas": check_maas, "fleet": check_fleet, "awx": check_awx}


def run(service, command, state_dir, stdout, stderr):
    """``gough-lab <service> dump-state|check-state --state DIR``: the exit status (0 ok, 1 failed)."""
    try:
        if command == "dump-state":
            dump_state(state_dir, stdout.buffer)
            stdout.flush()
        else:
            summary = CHECKS[service](state_dir)
            stdout.write(json.dumps(summary, sort_keys=True) + "\n")
        return 0
    except (StateError, OSError) as exc:
        stderr.write("gough-lab %s %s: %s\n" % (service, command, exc))
        return 1
