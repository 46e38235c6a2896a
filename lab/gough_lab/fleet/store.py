"""sqlite persistence for the Fleet emulator.

One database in the state directory (mode 0600, WAL, so a ``kill -9`` loses at most the request in flight).
Objects are JSON documents keyed by kind and id; the service keeps them in memory and writes each change through.
"""

import json

from gough_lab.common.store import SqliteStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (kind TEXT NOT NULL, id INTEGER NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (kind, id));
"""


class Store(SqliteStore):
    """A thin, synchronous wrapper around the emulator's sqlite database (callers serialise access)."""

    TABLES = SCHEMA

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
