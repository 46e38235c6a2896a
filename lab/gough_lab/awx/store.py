"""sqlite persistence for the AWX emulator (the lab's common SqliteStore, as the MAAS and Fleet emulators use).

One database in the state directory (``awx.sqlite3``, mode 0600, WAL, so a ``kill -9`` loses at most the request in
flight). The API works on one in-memory document (``data``: the id sequence, objects by collection, roles, tokens,
updates, surveys, jobs, callbacks); ``save()`` writes what changed since the last save in one transaction: each
object, role, token... is one row, other top-level values (the sequence, the callback list) are meta entries.
"""

import json
import os
import threading

from gough_lab.common.store import SqliteStore

from .resources import KINDS

DATABASE = "awx.sqlite3"
# Before the emulator used sqlite its state was one JSON file; a state directory that still has it is imported once.
LEGACY_FILE = "awx.json"
SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (section TEXT NOT NULL, key TEXT NOT NULL, doc TEXT NOT NULL,
                                      PRIMARY KEY (section, key));
"""
# Top-level sections that are dicts of documents; everything else at the top level is a meta entry.
DOCUMENT_SECTIONS = ("roles", "tokens", "updates", "surveys", "jobs", "lab")
OBJECTS = "objects/"


def empty_state():
    """The document of a fresh emulator."""
    return {"seq": 0, "objects": {name: {} for name in KINDS}, "roles": {}, "tokens": {}, "updates": {},
            "surveys": {}, "jobs": {}, "callbacks": []}


class Store(SqliteStore):
    """The emulator's objects: an in-memory document written through to sqlite by ``save()``.

    ``lock`` (reentrant) serialises the API: the server holds it around each request.
    """

    TABLES = SCHEMA

    def __init__(self, state_dir):
        """Open (creating if needed) ``state_dir/awx.sqlite3`` and load the document."""
        super().__init__(os.path.join(state_dir, DATABASE))
        self.lock = threading.RLock()
        self._written = {}
        self.data = self._load()
        legacy = os.path.join(state_dir, LEGACY_FILE)
        if self.get_meta("seq") is None and os.path.exists(legacy):
            with open(legacy, encoding="utf-8") as handle:
                self.data = json.load(handle)
        for name in KINDS:
            self.data["objects"].setdefault(name, {})
        # Launched jobs and provisioning callbacks, for tests to read (also served at /_lab/jobs, /_lab/callbacks)
        self.data.setdefault("jobs", {})
        self.data.setdefault("callbacks", [])
        if self.get_meta("seq") is None:
            self.save()

    def _load(self):
        data = empty_state()
        for section, key, doc in self.db.execute("SELECT section, key, doc FROM documents"):
            self._written[(section, key)] = doc
            if section.startswith(OBJECTS):
                data["objects"].setdefault(section[len(OBJECTS):], {})[key] = json.loads(doc)
            else:
                data.setdefault(section, {})[key] = json.loads(doc)
        for key, value in self.db.execute("SELECT key, value FROM meta"):
            data[key] = json.loads(value)
        return data

    def _rows(self):
        """The document as {(section, key): JSON text} rows, and the meta entries."""
        rows, meta = {}, {}
        for name, value in self.data.items():
            if name == "objects":
                for kind, objects in value.items():
                    for key, obj in objects.items():
                        rows[(OBJECTS + kind, key)] = json.dumps(obj, sort_keys=True)
            elif name in DOCUMENT_SECTIONS and isinstance(value, dict):
                for key, doc in value.items():
                    rows[(name, key)] = json.dumps(doc, sort_keys=True)
            else:
                meta[name] = value
        return rows, meta

    def save(self):
        """Write every change since the last save in one transaction."""
        rows, meta = self._rows()
        changed = [(section, key, doc) for (section, key), doc in rows.items()
                   if self._written.get((section, key)) != doc]
        gone = [item for item in self._written if item not in rows]
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany("INSERT OR REPLACE INTO documents (section, key, doc) VALUES (?, ?, ?)", changed)
            self.db.executemany("DELETE FROM documents WHERE section = ? AND key = ?", gone)
            self.db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                                [(key, json.dumps(value)) for key, value in meta.items()])
        self._written = rows

    def next_id(self):
        """A new id (one sequence for every table, so unified job template ids never collide)."""
        self.data["seq"] += 1
        return self.data["seq"]

    def objects(self, collection):
        """The dict id -> object of one collection."""
        return self.data["objects"][collection]

    def get(self, collection, object_id):
        """One object or None."""
        return self.data["objects"][collection].get(str(object_id))


def read_state(state_dir):
    """The document of the AWX emulator state in ``state_dir`` (read next to a running emulator: sqlite WAL)."""
    store = Store(state_dir)
    try:
        return store.data
    finally:
        store.close()
