"""sqlite persistence for the Fleet emulator.

One database in the state directory (mode 0600, WAL, so a ``kill -9`` loses at most the request in flight).
Objects are JSON documents keyed by kind and id; the service keeps them in memory and writes each change through.
"""

import json
import os
import sqlite3

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS objects (kind TEXT NOT NULL, id INTEGER NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (kind, id));
"""


class Store:
    """A thin, synchronous wrapper around the emulator's sqlite database (callers serialise access)."""

    def __init__(self, path):
        """Open (creating if needed) the database at ``path``, readable by the owner only."""
        self.path = path
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)
        os.chmod(path, 0o600)
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def close(self):
        """Close the database."""
        self.db.close()

    def get_meta(self, key, default=None):
        """Return a stored value, or ``default``."""
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def set_meta(self, key, value):
        """Store a value."""
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    def load(self, kind):
        """Every stored object of a kind, by id."""
        rows = self.db.execute("SELECT id, doc FROM objects WHERE kind = ? ORDER BY id", (kind,))
        return {row[0]: json.loads(row[1]) for row in rows}

    def save(self, kind, obj):
        """Insert or replace one object (it has an integer ``id``)."""
        self.db.execute("INSERT OR REPLACE INTO objects (kind, id, doc) VALUES (?, ?, ?)", (kind, obj["id"], json.dumps(obj)))

    def delete(self, kind, obj_id):
        """Remove one object."""
        self.db.execute("DELETE FROM objects WHERE kind = ? AND id = ?", (kind, obj_id))
