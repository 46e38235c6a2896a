"""Base of the emulators' sqlite stores: one private database (0600) in WAL mode with a meta table."""

import json
import os
import sqlite3

META_SCHEMA = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);\n"


class SqliteStore:
    """A thin, synchronous wrapper around an emulator's sqlite database; subclasses set TABLES (SQL run at open)."""

    TABLES = ""

    def __init__(self, path):
        """Open (creating if needed) the database at ``path``, readable by the owner only."""
        self.path = path
        # Tokens live here: create the database (and its -wal/-shm files, which sqlite gives the same mode)
        # readable by the owner only.
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)
        os.chmod(path, 0o600)
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        # NORMAL is durable against process crashes (kill -9) in WAL mode; only power loss could drop the tail.
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(META_SCHEMA + self.TABLES)

    def close(self):
        """Checkpoint and close the database."""
        self.db.close()

    def get_meta(self, key, default=None):
        """Return a stored setting, or ``default``."""
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def set_meta(self, key, value):
        """Store a setting."""
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))
